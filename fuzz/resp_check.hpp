// A strict checker of the reply stream a client reads: RESP2 and RESP3 (HELLO 3) types, so
// the fuzz targets can trap on a reply that a client could not parse. Not a general parser:
// it says whether `bytes` starts with one well-formed reply, and how long it is.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace apiary::fuzz {

enum class Check : unsigned char { complete, incomplete, malformed };

class ReplyChecker {
 public:
  explicit ReplyChecker(std::string_view bytes) : in_(bytes) {}
  Check one(std::size_t depth = 0) {
    if (depth > 64) return Check::malformed;
    if (pos_ >= in_.size()) return Check::incomplete;
    const char type = in_[pos_++];
    std::string_view line;
    if (Check c = read_line(line); c != Check::complete) return c;
    switch (type) {
      case '+':
      case '-':
      case ',':  // double: text like inf, -inf, nan, 1.5e3
        return Check::complete;
      case '(':  // big number
        return !line.empty() && line.find_first_not_of("-0123456789") == line.npos
                   ? Check::complete
                   : Check::malformed;
      case ':':
        return integer(line).has ? Check::complete : Check::malformed;
      case '_':
        return line.empty() ? Check::complete : Check::malformed;
      case '#':
        return line == "t" || line == "f" ? Check::complete : Check::malformed;
      case '$':
      case '!':
      case '=': {
        const Int n = integer(line);
        if (!n.has || n.value < -1 || (n.value == -1 && type != '$')) return Check::malformed;
        if (n.value == -1) return Check::complete;
        const auto len = static_cast<std::size_t>(n.value);
        if (in_.size() - pos_ < len + 2) return Check::incomplete;
        if (in_.substr(pos_ + len, 2) != "\r\n") return Check::malformed;
        if (type == '=' && (len < 4 || in_[pos_ + 3] != ':')) return Check::malformed;
        pos_ += len + 2;
        return Check::complete;
      }
      case '*':
      case '~':
      case '>':
      case '%':
      case '|': {
        const Int n = integer(line);
        if (!n.has || n.value < -1 || (n.value == -1 && type != '*')) return Check::malformed;
        const std::int64_t items = (type == '%' || type == '|') ? 2 * n.value : n.value;
        for (std::int64_t i = 0; i < items; ++i) {
          if (Check c = one(depth + 1); c != Check::complete) return c;
        }
        // An attribute comes before the reply it describes.
        return type == '|' ? one(depth + 1) : Check::complete;
      }
      default:
        return Check::malformed;
    }
  }
  std::size_t used() const { return pos_; }

 private:
  struct Int {
    bool has = false;
    std::int64_t value = 0;
  };
  static Int integer(std::string_view s) {
    Int out;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out.value);
    out.has = ec == std::errc() && end == s.data() + s.size() && !s.empty();
    return out;
  }
  Check read_line(std::string_view& line) {
    const std::size_t end = in_.find("\r\n", pos_);
    if (end == in_.npos) {
      // A bare '\n' or '\r' inside a line would end it early for some clients.
      return in_.find('\n', pos_) == in_.npos ? Check::incomplete : Check::malformed;
    }
    line = in_.substr(pos_, end - pos_);
    pos_ = end + 2;
    return line.find_first_of("\r\n") == line.npos ? Check::complete : Check::malformed;
  }

  std::string_view in_;
  std::size_t pos_ = 0;
};

}  // namespace apiary::fuzz
