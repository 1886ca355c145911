#include "apiary/resp/reply_writer.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace apiary::resp {

std::size_t format_double(double d, char* buf, std::size_t size) {
  if (std::isinf(d)) {
    const char* s = d > 0 ? "inf" : "-inf";
    return static_cast<std::size_t>(std::snprintf(buf, size, "%s", s));
  }
  if (std::isnan(d)) return static_cast<std::size_t>(std::snprintf(buf, size, "nan"));
  return static_cast<std::size_t>(std::snprintf(buf, size, "%.17g", d));
}

void ReplyWriter::header(char type, std::int64_t n) {
  char buf[24];
  buf[0] = type;
  auto [end, ec] = std::to_chars(buf + 1, buf + sizeof(buf) - 2, n);
  (void)ec;
  end[0] = '\r';
  end[1] = '\n';
  out_->append(buf, static_cast<std::size_t>(end + 2 - buf));
}

void ReplyWriter::simple(std::string_view s) {
  out_->push_back('+');
  out_->append(s);
  out_->append("\r\n", 2);
}

void ReplyWriter::error(std::string_view message) {
  // Same convention as Redis's addReplyError: a message that carries its own code starts
  // with '-' ("-WRONGTYPE ..."); every other message gets the generic "ERR" code.
  if (!message.empty() && message[0] == '-') {
    message.remove_prefix(1);
    out_->push_back('-');
  } else {
    out_->append("-ERR ", 5);
  }
  const std::size_t start = out_->size();
  out_->append(message);
  for (std::size_t k = start; k < out_->size(); ++k) {
    char& c = (*out_)[k];
    if (c == '\r' || c == '\n') c = ' ';
  }
  out_->append("\r\n", 2);
}

void ReplyWriter::integer(std::int64_t v) { header(':', v); }

void ReplyWriter::bulk(std::string_view s) {
  header('$', static_cast<std::int64_t>(s.size()));
  out_->append(s);
  out_->append("\r\n", 2);
}

void ReplyWriter::null() {
  if (protocol_ >= 3) {
    out_->append("_\r\n", 3);
  } else {
    out_->append("$-1\r\n", 5);
  }
}

void ReplyWriter::null_array() {
  if (protocol_ >= 3) {
    out_->append("_\r\n", 3);
  } else {
    out_->append("*-1\r\n", 5);
  }
}

void ReplyWriter::array(std::size_t n) { header('*', static_cast<std::int64_t>(n)); }

void ReplyWriter::map(std::size_t pairs) {
  if (protocol_ >= 3) {
    header('%', static_cast<std::int64_t>(pairs));
  } else {
    header('*', static_cast<std::int64_t>(pairs * 2));
  }
}

void ReplyWriter::set(std::size_t n) {
  header(protocol_ >= 3 ? '~' : '*', static_cast<std::int64_t>(n));
}

void ReplyWriter::push(std::size_t n) {
  header(protocol_ >= 3 ? '>' : '*', static_cast<std::int64_t>(n));
}

void ReplyWriter::double_value(double d) {
  char buf[64];
  const std::size_t len = format_double(d, buf, sizeof(buf));
  if (protocol_ >= 3) {
    out_->push_back(',');
    out_->append(buf, len);
    out_->append("\r\n", 2);
  } else {
    bulk(std::string_view(buf, len));
  }
}

void ReplyWriter::boolean(bool b) {
  if (protocol_ >= 3) {
    out_->append(b ? "#t\r\n" : "#f\r\n", 4);
  } else {
    out_->append(b ? ":1\r\n" : ":0\r\n", 4);
  }
}

void ReplyWriter::big_number(std::string_view digits) {
  if (protocol_ >= 3) {
    out_->push_back('(');
    out_->append(digits);
    out_->append("\r\n", 2);
  } else {
    bulk(digits);
  }
}

void ReplyWriter::verbatim(std::string_view format, std::string_view text) {
  if (protocol_ < 3) {
    bulk(text);
    return;
  }
  // "=<len>\r\ntxt:<text>\r\n": the format is exactly three bytes.
  header('=', static_cast<std::int64_t>(text.size() + 4));
  out_->append(format.substr(0, 3));
  out_->push_back(':');
  out_->append(text);
  out_->append("\r\n", 2);
}

}  // namespace apiary::resp
