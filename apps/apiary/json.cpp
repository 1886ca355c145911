#include "json.hpp"

#include <cctype>
#include <charconv>

namespace apiary::cli {

namespace {

constexpr int kMaxDepth = 32;

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Result<Json> document() {
    Json value;
    if (!parse(value, 0)) return error();
    skip_space();
    if (at_ != text_.size()) {
      problem_ = "trailing characters";
      return error();
    }
    return value;
  }

 private:
  Status error() const {
    return make_error(StatusCode::malformed,
                      "invalid JSON at offset " + std::to_string(at_) + ": " + problem_);
  }
  bool fail(const char* what) {
    problem_ = what;
    return false;
  }
  void skip_space() {
    while (at_ < text_.size() &&
           (text_[at_] == ' ' || text_[at_] == '\n' || text_[at_] == '\r' || text_[at_] == '\t')) {
      ++at_;
    }
  }
  bool literal(std::string_view word) {
    if (text_.substr(at_, word.size()) != word) return fail("unknown literal");
    at_ += word.size();
    return true;
  }

  bool parse(Json& out, int depth) {
    if (depth > kMaxDepth) return fail("nested too deeply");
    skip_space();
    if (at_ >= text_.size()) return fail("unexpected end");
    switch (text_[at_]) {
      case '{':
        out.kind = Json::Kind::object;
        return sequence('}', [&] {
          std::string name;
          skip_space();
          if (!string(name)) return false;
          skip_space();
          if (at_ >= text_.size() || text_[at_] != ':') return fail("expected ':'");
          ++at_;
          out.fields.emplace_back(std::move(name), Json{});
          return parse(out.fields.back().second, depth + 1);
        });
      case '[':
        out.kind = Json::Kind::array;
        return sequence(']', [&] {
          out.items.emplace_back();
          return parse(out.items.back(), depth + 1);
        });
      case '"':
        out.kind = Json::Kind::string;
        return string(out.text);
      case 't':
        out.kind = Json::Kind::boolean;
        out.boolean = true;
        return literal("true");
      case 'f':
        out.kind = Json::Kind::boolean;
        return literal("false");
      case 'n':
        return literal("null");
      default:
        out.kind = Json::Kind::number;
        return number(out.text);
    }
  }

  // `{`/`[` at at_; elements separated by commas until `close`.
  template <typename Element>
  bool sequence(char close, Element element) {
    ++at_;
    skip_space();
    if (at_ < text_.size() && text_[at_] == close) {
      ++at_;
      return true;
    }
    while (true) {
      if (!element()) return false;
      skip_space();
      if (at_ >= text_.size()) return fail("unexpected end");
      const char c = text_[at_++];
      if (c == close) return true;
      if (c != ',') return fail("expected ',' or the end of the list");
    }
  }

  bool number(std::string& out) {
    const std::size_t start = at_;
    while (at_ < text_.size() &&
           (std::isdigit(static_cast<unsigned char>(text_[at_])) || text_[at_] == '-' ||
            text_[at_] == '+' || text_[at_] == '.' || text_[at_] == 'e' || text_[at_] == 'E')) {
      ++at_;
    }
    if (at_ == start) return fail("unexpected character");
    out = std::string(text_.substr(start, at_ - start));
    return true;
  }

  bool string(std::string& out) {
    if (at_ >= text_.size() || text_[at_] != '"') return fail("expected a string");
    ++at_;
    while (at_ < text_.size()) {
      const char c = text_[at_++];
      if (c == '"') return true;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_ >= text_.size()) break;
      const char e = text_[at_++];
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'u':
          if (!unicode(out)) return false;
          break;
        default:
          out += e;  // \" \\ \/
      }
    }
    return fail("unterminated string");
  }

  bool unicode(std::string& out) {
    unsigned code = 0;
    if (at_ + 4 > text_.size()) return fail("short \\u escape");
    const auto [end, ec] = std::from_chars(text_.data() + at_, text_.data() + at_ + 4, code, 16);
    if (ec != std::errc() || end != text_.data() + at_ + 4) return fail("bad \\u escape");
    at_ += 4;
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xc0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3f));
    } else {
      out += static_cast<char>(0xe0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (code & 0x3f));
    }
    return true;
  }

  std::string_view text_;
  std::size_t at_ = 0;
  std::string problem_;
};

}  // namespace

const Json* Json::find(std::string_view name) const {
  for (const auto& [field, value] : fields) {
    if (field == name) return &value;
  }
  return nullptr;
}

std::optional<std::int64_t> Json::as_int() const {
  if (kind != Kind::number) return std::nullopt;
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::optional<std::string> Json::as_string() const {
  if (kind != Kind::string) return std::nullopt;
  return text;
}

Result<Json> parse_json(std::string_view text) { return Parser(text).document(); }

}  // namespace apiary::cli
