#include "apiary/runtime/json_log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace apiary::runtime {

namespace {

constexpr const char* kTextPattern = "%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v";

// The fields of the line being logged on this thread (log_with_fields), read by the JSON
// formatter: spdlog's synchronous loggers format on the caller's thread.
struct LineFields {
  std::string_view json;
  std::size_t text_prefix = 0;  // bytes of the payload that only the text format shows
};
thread_local const LineFields* t_fields = nullptr;

std::string_view level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

// Length of the UTF-8 sequence starting at in[i], or 0 when it is not a valid one.
std::size_t utf8_length(std::string_view in, std::size_t i) {
  const auto b = static_cast<unsigned char>(in[i]);
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if (b < 0x80) return 1;
  if ((b & 0xE0) == 0xC0) {
    n = 2;
    cp = b & 0x1F;
  } else if ((b & 0xF0) == 0xE0) {
    n = 3;
    cp = b & 0x0F;
  } else if ((b & 0xF8) == 0xF0) {
    n = 4;
    cp = b & 0x07;
  } else {
    return 0;
  }
  if (i + n > in.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto c = static_cast<unsigned char>(in[i + k]);
    if ((c & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3F);
  }
  // Overlong forms, surrogates and code points beyond Unicode are not valid UTF-8.
  static constexpr std::uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

void append_u(unsigned value, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\u00";
  out += kHex[(value >> 4) & 0xF];
  out += kHex[value & 0xF];
}

}  // namespace

struct JsonLogFormatter::Shared {
  std::mutex mutex;
  std::string node;  // already escaped
};

namespace {

std::shared_ptr<JsonLogFormatter::Shared> shared_state() {
  static const auto state = std::make_shared<JsonLogFormatter::Shared>();
  return state;
}

}  // namespace

std::optional<LogFormat> parse_log_format(std::string_view name) {
  if (name == "text") return LogFormat::text;
  if (name == "json") return LogFormat::json;
  return std::nullopt;
}

void set_log_node(std::string node) {
  std::string escaped;
  json_escape(node, escaped);
  auto state = shared_state();
  std::lock_guard<std::mutex> lock(state->mutex);
  state->node = std::move(escaped);
}

void set_log_node_if_unset(std::string node) {
  std::string escaped;
  json_escape(node, escaped);
  auto state = shared_state();
  std::lock_guard<std::mutex> lock(state->mutex);
  if (state->node.empty()) state->node = std::move(escaped);
}

void set_log_format(LogFormat format, std::string node) {
  set_log_node(std::move(node));
  if (format == LogFormat::json) {
    spdlog::set_formatter(std::make_unique<JsonLogFormatter>(shared_state()));
  } else {
    spdlog::set_pattern(kTextPattern);
  }
}

void json_escape(std::string_view in, std::string& out) {
  for (std::size_t i = 0; i < in.size();) {
    const char c = in[i];
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) {
      const std::size_t n = utf8_length(in, i);
      if (n == 0) {
        append_u(u, out);  // a lone byte: its Latin-1 code point
        ++i;
      } else {
        out.append(in.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20 || u == 0x7F) {
          append_u(u, out);
        } else {
          out += c;
        }
    }
    ++i;
  }
}

JsonFields& JsonFields::add(std::string_view name, std::string_view value) {
  std::string quoted = "\"";
  json_escape(value, quoted);
  quoted += '"';
  return add_raw(name, quoted);
}

JsonFields& JsonFields::add_raw(std::string_view name, std::string_view value) {
  if (!json_.empty()) json_ += ',';
  json_ += '"';
  json_escape(name, json_);
  json_ += "\":";
  json_ += value;
  return *this;
}

JsonFields& JsonFields::append(const JsonFields& other) {
  if (other.json_.empty()) return *this;
  if (!json_.empty()) json_ += ',';
  json_ += other.json_;
  return *this;
}

void log_with_fields(spdlog::level::level_enum level, std::string_view text_prefix,
                     std::string_view message, const JsonFields& fields) {
  const LineFields line{fields.json(), text_prefix.size()};
  const LineFields* outer = t_fields;
  t_fields = &line;
  spdlog::log(level, "{}{}", text_prefix, message);
  t_fields = outer;
}

std::string json_line(spdlog::level::level_enum level, std::string_view message,
                      const JsonFields& fields) {
  const LineFields line{fields.json(), 0};
  const LineFields* outer = t_fields;
  t_fields = &line;
  spdlog::details::log_msg msg(spdlog::string_view_t(), level,
                               spdlog::string_view_t(message.data(), message.size()));
  spdlog::memory_buf_t buf;
  JsonLogFormatter(shared_state()).format(msg, buf);
  t_fields = outer;
  return std::string(buf.data(), buf.size());
}

JsonLogFormatter::JsonLogFormatter(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}

void JsonLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  std::string line;
  line.reserve(128 + msg.payload.size());
  const auto since_epoch = msg.time.time_since_epoch();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  ::gmtime_r(&secs, &utc);
  char ts[96];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(ms % 1000));
  line += "{\"ts\":\"";
  line += ts;
  line += "\",\"level\":\"";
  line += level_name(msg.level);
  line += "\",\"msg\":\"";
  std::string_view payload(msg.payload.data(), msg.payload.size());
  const LineFields* fields = t_fields;
  if (fields != nullptr && fields->text_prefix <= payload.size()) {
    payload.remove_prefix(fields->text_prefix);
  }
  json_escape(payload, line);
  line += "\",\"node\":\"";
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    line += shared_->node;
  }
  line += '"';
  if (fields != nullptr && !fields->json.empty()) {
    line += ',';
    line += fields->json;
  }
  line += "}\n";
  dest.append(line.data(), line.data() + line.size());
}

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const {
  return std::make_unique<JsonLogFormatter>(shared_);
}

}  // namespace apiary::runtime
