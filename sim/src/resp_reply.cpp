#include "apiary/sim/resp_reply.hpp"

#include <charconv>

namespace apiary::sim {

namespace {

using Status = ParsedReply::Status;

struct Parser {
  std::string_view in;
  const RespLimits& limits;
  std::size_t pos = 0;

  // The line at `pos` up to CRLF: false when incomplete; `bad` when over the limit.
  bool line(std::string_view& out, bool& bad) {
    const std::size_t end = in.find("\r\n", pos);
    if (end == std::string_view::npos) {
      bad = in.size() - pos > limits.max_line_bytes;
      return false;
    }
    if (end - pos > limits.max_line_bytes) {
      bad = true;
      return false;
    }
    out = in.substr(pos, end - pos);
    pos = end + 2;
    return true;
  }

  static bool number(std::string_view s, std::int64_t& v) {
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return !s.empty() && ec == std::errc() && p == s.data() + s.size();
  }

  Status parse(RespReply& r, std::size_t depth) {
    if (depth > limits.max_depth) return Status::malformed;
    if (pos >= in.size()) return Status::incomplete;
    const char type = in[pos++];
    std::string_view text;
    bool bad = false;
    if (!line(text, bad)) return bad ? Status::malformed : Status::incomplete;
    switch (type) {
      case '+':
        r.kind = RespReply::Kind::simple;
        r.text = text;
        return Status::complete;
      case '-':
        r.kind = RespReply::Kind::error;
        r.text = text;
        return Status::complete;
      case ':':
        r.kind = RespReply::Kind::integer;
        return number(text, r.integer) ? Status::complete : Status::malformed;
      case '$': {
        std::int64_t n = 0;
        if (!number(text, n) || n < -1) return Status::malformed;
        if (n == -1) {
          r.kind = RespReply::Kind::nil;
          return Status::complete;
        }
        const auto len = static_cast<std::size_t>(n);
        if (len > limits.max_bulk_bytes) return Status::malformed;
        if (in.size() - pos < len + 2) return Status::incomplete;
        if (in.substr(pos + len, 2) != "\r\n") return Status::malformed;
        r.kind = RespReply::Kind::bulk;
        r.text = in.substr(pos, len);
        pos += len + 2;
        return Status::complete;
      }
      case '*': {
        std::int64_t n = 0;
        if (!number(text, n) || n < -1) return Status::malformed;
        if (n == -1) {
          r.kind = RespReply::Kind::nil;
          return Status::complete;
        }
        if (static_cast<std::size_t>(n) > limits.max_elements) return Status::malformed;
        r.kind = RespReply::Kind::array;
        r.elements.resize(static_cast<std::size_t>(n));
        for (auto& e : r.elements) {
          const Status s = parse(e, depth + 1);
          if (s != Status::complete) return s;
        }
        return Status::complete;
      }
      default:
        return Status::malformed;  // RESP3 types and inline text are not expected here
    }
  }
};

}  // namespace

std::string encode_command(std::span<const std::string_view> argv) {
  std::string out = "*" + std::to_string(argv.size()) + "\r\n";
  for (auto a : argv) {
    out += "$" + std::to_string(a.size()) + "\r\n";
    out.append(a);
    out += "\r\n";
  }
  return out;
}

std::string encode_command(std::initializer_list<std::string_view> argv) {
  return encode_command(std::span<const std::string_view>(argv.begin(), argv.size()));
}

std::string RespReply::describe() const {
  switch (kind) {
    case Kind::simple:
      return "+" + text;
    case Kind::error:
      return "-" + text;
    case Kind::integer:
      return ":" + std::to_string(integer);
    case Kind::bulk:
      return "\"" + text + "\"";
    case Kind::nil:
      return "(nil)";
    case Kind::array: {
      std::string out = "[";
      for (std::size_t i = 0; i < elements.size(); ++i) {
        out += (i ? ", " : "") + elements[i].describe();
      }
      return out + "]";
    }
  }
  return "?";
}

ParsedReply parse_reply(std::string_view bytes, const RespLimits& limits) {
  ParsedReply out;
  Parser p{bytes, limits};
  out.status = p.parse(out.reply, 0);
  if (out.status == Status::complete) {
    out.used = p.pos;
  } else {
    out.reply = RespReply{};
  }
  return out;
}

}  // namespace apiary::sim
