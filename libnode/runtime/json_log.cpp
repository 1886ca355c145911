#include "apiary/runtime/json_log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "apiary/base/json.hpp"

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

void json_escape(std::string_view in, std::string& out) { append_json_escaped(out, in); }

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
