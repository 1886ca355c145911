// The log's two formats: `text` (one human line: "2026-01-02T03:04:05.678 info message") and
// `json` (one JSON object a line with stable field names, for log shippers):
//
//   {"ts":"2026-01-02T03:04:05.678Z","level":"info","msg":"...","node":"n1", ...}
//
// `ts` is RFC 3339 in UTC with milliseconds, `level` one of trace, debug, info, warn, error,
// critical, `node` the member's name. A line logged with fields (log_with_fields: the node's
// events, docs/observability.md "Logs and events") carries them after `node`, e.g.
// "event_id":12,"event":"member","member":"n3","state":"suspect","incarnation":4.
//
// Both install a formatter on spdlog's default logger: the format belongs to the process
// (apiaryd), not to a node. Every function here is thread-safe; set_log_format() is meant
// to be called once at start, before other threads log.
#pragma once

#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace apiary::runtime {

enum class LogFormat { text, json };

// "text" or "json"; nullopt for anything else.
std::optional<LogFormat> parse_log_format(std::string_view name);

// Sets the format of spdlog's default logger. `node` names the member in JSON lines (may be
// empty until set_log_node() knows it).
void set_log_format(LogFormat format, std::string node = {});
// The member's name in JSON lines from now on.
void set_log_node(std::string node);
// The same unless a name is set already: Node::start tells its name (a default one when the
// configuration has none), which the process's logs then carry.
void set_log_node_if_unset(std::string node);

// Appends `in` to `out` as the inside of a JSON string: quotes, backslashes and control
// characters escaped; bytes that are not valid UTF-8 (keys are binary-safe) become the code
// point of the same number (\u00XX), so that every line stays valid JSON.
void json_escape(std::string_view in, std::string& out);

// `"name":value` pairs, comma-separated, without braces: the structured fields of one line.
class JsonFields {
 public:
  JsonFields& add(std::string_view name, std::string_view value);
  JsonFields& add(std::string_view name, const char* value) {
    return add(name, std::string_view(value));
  }
  JsonFields& add(std::string_view name, const std::string& value) {
    return add(name, std::string_view(value));
  }
  template <std::integral T>
  JsonFields& add(std::string_view name, T value) {
    if constexpr (std::same_as<T, bool>) {
      return add_raw(name, value ? "true" : "false");
    } else {
      return add_raw(name, std::to_string(value));
    }
  }
  // `value` is JSON already (a number, an array, ...).
  JsonFields& add_raw(std::string_view name, std::string_view value);
  JsonFields& append(const JsonFields& other);
  const std::string& json() const { return json_; }
  bool empty() const { return json_.empty(); }

 private:
  std::string json_;
};

// Logs `message` at `level` with `fields`: the text format shows `text_prefix` then the
// message ("[event 12] member n3 ... suspect"), the JSON format the message alone as `msg`
// followed by the fields.
void log_with_fields(spdlog::level::level_enum level, std::string_view text_prefix,
                     std::string_view message, const JsonFields& fields);

// One JSON line (with its newline) as the JSON format writes it, whatever the log level:
// apiaryd's "ready" line, which scripts wait for.
std::string json_line(spdlog::level::level_enum level, std::string_view message,
                      const JsonFields& fields);

// The JSON format's formatter (set_log_format installs it; exposed for tests and for
// embedding applications with loggers of their own).
class JsonLogFormatter final : public spdlog::formatter {
 public:
  struct Shared;  // the node name, shared by the clones spdlog makes for its sinks
  explicit JsonLogFormatter(std::shared_ptr<Shared> shared);
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace apiary::runtime
