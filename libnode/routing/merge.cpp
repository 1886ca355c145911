#include "merge.hpp"

#include <charconv>

namespace apiary::routing {
namespace {

constexpr int kMaxDepth = 8;

// Parses the integer between `from` and the next CRLF; advances `end` past the CRLF.
std::optional<std::int64_t> line_int(std::string_view bytes, std::size_t from, std::size_t& end) {
  const std::size_t crlf = bytes.find("\r\n", from);
  if (crlf == std::string_view::npos) return std::nullopt;
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(bytes.data() + from, bytes.data() + crlf, v);
  if (ec != std::errc() || ptr != bytes.data() + crlf) return std::nullopt;
  end = crlf + 2;
  return v;
}

}  // namespace

std::string error_reply(std::string_view message) {
  std::string out = "-";
  out.append(message);
  out.append("\r\n");
  return out;
}

Merge merge_kind(const resp::CommandSpec& spec) {
  const std::string_view n = spec.name;
  if (n == "mget") return Merge::array;
  if (n == "mset") return Merge::ok;
  if (n == "del" || n == "unlink" || n == "exists" || n == "touch") return Merge::sum;
  return Merge::none;
}

std::vector<std::size_t> key_indices(const resp::CommandSpec& spec, std::size_t argc) {
  std::vector<std::size_t> out;
  if (!spec.has_keys() || spec.key_step <= 0) return out;
  const auto n = static_cast<std::int64_t>(argc);
  const std::int64_t last = spec.last_key < 0 ? n + spec.last_key : spec.last_key;
  for (std::int64_t i = spec.first_key; i <= last && i < n; i += spec.key_step) {
    out.push_back(static_cast<std::size_t>(i));
  }
  return out;
}

std::vector<std::size_t> key_indices(const resp::CommandSpec& spec,
                                     std::span<const std::string_view> argv) {
  return resp::command_keys(spec, argv);
}

std::vector<std::string> sub_command(std::span<const std::string_view> argv,
                                     const resp::CommandSpec& spec,
                                     std::span<const std::size_t> keys) {
  std::vector<std::string> out;
  out.emplace_back(argv[0]);
  const auto step = static_cast<std::size_t>(spec.key_step);
  for (std::size_t k : keys) {
    for (std::size_t j = k; j < k + step && j < argv.size(); ++j) out.emplace_back(argv[j]);
  }
  return out;
}

std::optional<std::size_t> value_length(std::string_view bytes, int depth) {
  if (bytes.empty() || depth > kMaxDepth) return std::nullopt;
  std::size_t end = 0;
  switch (bytes[0]) {
    case '+':
    case '-':
    case ':':
    case '_':
    case ',':
    case '#':
    case '(': {
      const std::size_t crlf = bytes.find("\r\n");
      if (crlf == std::string_view::npos) return std::nullopt;
      return crlf + 2;
    }
    case '$':
    case '=':
    case '!': {
      auto len = line_int(bytes, 1, end);
      if (!len || *len < -1) return std::nullopt;
      if (*len == -1) return end;
      if (static_cast<std::uint64_t>(*len) > bytes.size()) return std::nullopt;
      const auto total = end + static_cast<std::size_t>(*len) + 2;
      if (total > bytes.size() || bytes.substr(total - 2, 2) != "\r\n") return std::nullopt;
      return total;
    }
    case '*':
    case '~':
    case '>':
    case '%': {
      auto count = line_int(bytes, 1, end);
      if (!count || *count < -1) return std::nullopt;
      if (*count == -1) return end;
      // Every element takes at least 3 bytes: a count beyond the input cannot be real.
      if (static_cast<std::uint64_t>(*count) > bytes.size()) return std::nullopt;
      const std::int64_t elements = bytes[0] == '%' ? *count * 2 : *count;
      for (std::int64_t i = 0; i < elements; ++i) {
        auto len = value_length(bytes.substr(end), depth + 1);
        if (!len) return std::nullopt;
        end += *len;
      }
      return end;
    }
    default:
      return std::nullopt;
  }
}

std::string merge_replies(Merge merge, std::span<const std::string> replies,
                          std::span<const std::vector<std::size_t>> positions,
                          std::size_t key_count) {
  for (const auto& r : replies) {
    if (!r.empty() && r[0] == '-') return r;
  }
  const std::string bad = error_reply("ERR a node answered part of the command unexpectedly");
  switch (merge) {
    case Merge::sum: {
      std::int64_t total = 0;
      for (const auto& r : replies) {
        std::size_t end = 0;
        auto v = r.empty() || r[0] != ':' ? std::nullopt : line_int(r, 1, end);
        if (!v || end != r.size()) return bad;
        total += *v;
      }
      return ":" + std::to_string(total) + "\r\n";
    }
    case Merge::ok:
      for (const auto& r : replies) {
        if (r != "+OK\r\n") return bad;
      }
      return "+OK\r\n";
    case Merge::array: {
      std::vector<std::string_view> elements(key_count);
      for (std::size_t part = 0; part < replies.size(); ++part) {
        std::string_view r = replies[part];
        std::size_t end = 0;
        auto count = r.empty() || r[0] != '*' ? std::nullopt : line_int(r, 1, end);
        if (!count || static_cast<std::size_t>(*count) != positions[part].size()) return bad;
        for (std::size_t pos : positions[part]) {
          auto len = value_length(r.substr(end));
          if (!len || pos >= key_count) return bad;
          elements[pos] = r.substr(end, *len);
          end += *len;
        }
        if (end != r.size()) return bad;
      }
      std::string out = "*" + std::to_string(key_count) + "\r\n";
      for (auto e : elements) out.append(e);
      return out;
    }
    case Merge::none:
      break;
  }
  return bad;
}

}  // namespace apiary::routing
