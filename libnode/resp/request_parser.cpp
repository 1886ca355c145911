#include "apiary/resp/request_parser.hpp"

#include <cstring>
#include <limits>

#include "apiary/data/counter.hpp"

namespace apiary::resp {
namespace {

constexpr std::int64_t kMaxMultibulkLen = std::numeric_limits<int>::max();
// Never reserve more argv slots up front than this, whatever "*N" claims: the peer has to
// send the arguments before we spend memory on them.
constexpr std::size_t kMaxArgvReserve = 1024;

bool is_space(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

const char* find_byte(std::string_view buf, std::size_t from, char c) {
  if (from >= buf.size()) return nullptr;
  return static_cast<const char*>(std::memchr(buf.data() + from, c, buf.size() - from));
}

}  // namespace

bool parse_int64(std::string_view s, std::int64_t& out) { return data::parse_int64(s, out); }

bool split_inline_args(std::string_view line, std::string& scratch,
                       std::vector<std::string_view>& out) {
  std::size_t p = 0;
  const std::size_t n = line.size();
  while (true) {
    while (p < n && is_space(line[p])) ++p;
    if (p >= n) return true;
    // Tokens without quotes are views into the line; the first quote switches the token to
    // an unescaped copy in `scratch` (Redis allows quotes to start mid-token: a"b c" is "ab c").
    const std::size_t start = p;
    bool copying = false;
    std::size_t copy_start = 0;
    bool in_double = false;
    bool in_single = false;
    bool done = false;
    auto begin_copy = [&] {
      if (!copying) {
        copying = true;
        copy_start = scratch.size();
        scratch.append(line.substr(start, p - start));
      }
    };
    while (!done) {
      if (in_double) {
        if (p >= n) return false;  // unterminated quotes
        const char c = line[p];
        if (c == '\\' && p + 3 < n && line[p + 1] == 'x' && hex_value(line[p + 2]) >= 0 &&
            hex_value(line[p + 3]) >= 0) {
          scratch.push_back(
              static_cast<char>(hex_value(line[p + 2]) * 16 + hex_value(line[p + 3])));
          p += 3;
        } else if (c == '\\' && p + 1 < n) {
          ++p;
          char e = line[p];
          switch (e) {
            case 'n':
              e = '\n';
              break;
            case 'r':
              e = '\r';
              break;
            case 't':
              e = '\t';
              break;
            case 'b':
              e = '\b';
              break;
            case 'a':
              e = '\a';
              break;
            default:
              break;
          }
          scratch.push_back(e);
        } else if (c == '"') {
          // The closing quote must be followed by a space or nothing.
          if (p + 1 < n && !is_space(line[p + 1])) return false;
          done = true;
        } else {
          scratch.push_back(c);
        }
      } else if (in_single) {
        if (p >= n) return false;
        const char c = line[p];
        if (c == '\\' && p + 1 < n && line[p + 1] == '\'') {
          ++p;
          scratch.push_back('\'');
        } else if (c == '\'') {
          if (p + 1 < n && !is_space(line[p + 1])) return false;
          done = true;
        } else {
          scratch.push_back(c);
        }
      } else {
        if (p >= n || is_space(line[p])) {
          done = true;
          continue;  // do not advance past the separator twice
        }
        const char c = line[p];
        if (c == '"') {
          begin_copy();
          in_double = true;
        } else if (c == '\'') {
          begin_copy();
          in_single = true;
        } else if (copying) {
          scratch.push_back(c);
        }
      }
      if (p < n) ++p;
    }
    if (copying) {
      out.emplace_back(scratch.data() + copy_start, scratch.size() - copy_start);
    } else {
      out.push_back(line.substr(start, p - start));
    }
  }
}

void RequestParser::reset() {
  kind_ = Kind::unknown;
  pos_ = 0;
  remaining_ = 0;
  bulk_len_ = -1;
  spans_.clear();
  argv_.clear();
  scratch_.clear();
  error_.clear();
}

std::size_t RequestParser::bytes_wanted() const {
  if (kind_ != Kind::multibulk || bulk_len_ < 0) return 0;
  return static_cast<std::size_t>(bulk_len_) + 2;
}

ParseStatus RequestParser::fail(std::string message) {
  error_ = std::move(message);
  return ParseStatus::error;
}

ParseStatus RequestParser::parse(std::string_view buf) {
  if (kind_ == Kind::unknown) {
    if (buf.empty()) return ParseStatus::incomplete;
    kind_ = buf[0] == '*' ? Kind::multibulk : Kind::inline_cmd;
  }
  return kind_ == Kind::multibulk ? parse_multibulk(buf) : parse_inline(buf);
}

ParseStatus RequestParser::parse_inline(std::string_view buf) {
  const char* newline = find_byte(buf, pos_, '\n');
  if (newline == nullptr) {
    if (buf.size() > limits_.max_inline_len) {
      return fail("Protocol error: too big inline request");
    }
    pos_ = buf.size();  // nothing before here holds a newline: do not scan it again
    return ParseStatus::incomplete;
  }
  std::size_t line_end = static_cast<std::size_t>(newline - buf.data());
  pos_ = line_end + 1;
  if (line_end > 0 && buf[line_end - 1] == '\r') --line_end;
  const std::string_view line = buf.substr(0, line_end);
  argv_.clear();
  scratch_.clear();
  scratch_.reserve(line.size());
  if (!split_inline_args(line, scratch_, argv_)) {
    return fail("Protocol error: unbalanced quotes in request");
  }
  return ParseStatus::complete;
}

ParseStatus RequestParser::parse_multibulk(std::string_view buf) {
  if (pos_ == 0) {
    const char* cr = find_byte(buf, 0, '\r');
    if (cr == nullptr) {
      if (buf.size() > limits_.max_inline_len) {
        return fail("Protocol error: too big mbulk count string");
      }
      return ParseStatus::incomplete;
    }
    const std::size_t at = static_cast<std::size_t>(cr - buf.data());
    if (at + 2 > buf.size()) return ParseStatus::incomplete;  // the byte after '\r' is needed
    std::int64_t count = 0;
    if (!parse_int64(buf.substr(1, at - 1), count) || count > kMaxMultibulkLen) {
      return fail("Protocol error: invalid multibulk length");
    }
    pos_ = at + 2;
    if (count <= 0) {
      materialize(buf);
      return ParseStatus::complete;  // "*0" and "*-1" are empty commands: no reply
    }
    remaining_ = count;
    bulk_len_ = -1;
    spans_.clear();
    spans_.reserve(std::min<std::size_t>(static_cast<std::size_t>(count), kMaxArgvReserve));
  }
  while (remaining_ > 0) {
    if (bulk_len_ < 0) {
      const char* cr = find_byte(buf, pos_, '\r');
      if (cr == nullptr) {
        if (buf.size() - pos_ > limits_.max_inline_len) {
          return fail("Protocol error: too big bulk count string");
        }
        return ParseStatus::incomplete;
      }
      const std::size_t at = static_cast<std::size_t>(cr - buf.data());
      if (at + 2 > buf.size()) return ParseStatus::incomplete;
      if (buf[pos_] != '$') {
        return fail(std::string("Protocol error: expected '$', got '") + buf[pos_] + "'");
      }
      std::int64_t len = 0;
      if (!parse_int64(buf.substr(pos_ + 1, at - pos_ - 1), len) || len < 0 ||
          len > limits_.max_bulk_len) {
        return fail("Protocol error: invalid bulk length");
      }
      pos_ = at + 2;
      bulk_len_ = len;
    }
    const std::size_t need = static_cast<std::size_t>(bulk_len_) + 2;
    if (buf.size() - pos_ < need) return ParseStatus::incomplete;
    // Like Redis, the two bytes after the bulk are skipped without checking they are CRLF.
    spans_.push_back(Span{pos_, static_cast<std::size_t>(bulk_len_)});
    pos_ += need;
    bulk_len_ = -1;
    --remaining_;
  }
  materialize(buf);
  return ParseStatus::complete;
}

void RequestParser::materialize(std::string_view buf) {
  argv_.clear();
  for (const Span& s : spans_) argv_.push_back(buf.substr(s.offset, s.length));
}

}  // namespace apiary::resp
