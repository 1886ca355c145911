#include "event_log.hpp"

#include <algorithm>

namespace apiary::runtime {

namespace {

// A key in a human-readable message: control characters as \xNN, so that a binary key cannot
// break a text log line (the JSON fields carry the key itself).
std::string printable(std::string_view key) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const char c : key) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F || c == '\\') {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

EventLog::EventLog(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

std::uint64_t EventLog::record(WallTime time, std::string_view type, std::string_view message,
                               const JsonFields& fields, Level level) {
  std::uint64_t id = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    id = next_id_++;
    std::string json =
        "{\"id\":" + std::to_string(id) + ",\"time\":" + std::to_string(time.ms) + ",\"type\":\"";
    json_escape(type, json);
    json += "\",\"message\":\"";
    json_escape(message, json);
    json += '"';
    if (!fields.empty()) {
      json += ',';
      json += fields.json();
    }
    json += '}';
    ring_.push_back(Entry{id, std::move(json)});
    while (ring_.size() > capacity_) ring_.pop_front();
  }
  // Logged outside the lock: a slow log sink must not hold up the admin port's readers.
  JsonFields line;
  line.add("event_id", id).add("event", type);
  line.append(fields);
  log_with_fields(level == Level::warn ? spdlog::level::warn : spdlog::level::info,
                  "[event " + std::to_string(id) + "] ", message, line);
  return id;
}

void EventLog::write_quorum_failed(WallTime time, std::string_view command, std::string_view key,
                                   std::uint64_t count) {
  if (count == 0) return;
  if (held_.count == 0) {
    held_.command = std::string(command);
    held_.key = std::string(key);
  }
  held_.count += count;
  flush(time);
}

void EventLog::flush(WallTime time) {
  if (held_.count == 0) return;
  if (failure_recorded_ && time < last_failure_event_ + std::chrono::seconds(1)) return;
  record_failures(time);
}

void EventLog::record_failures(WallTime time) {
  JsonFields fields;
  fields.add("command", held_.command).add("key", held_.key).add("count", held_.count);
  std::string message = "write quorum not reached: " + held_.command;
  if (!held_.key.empty()) message += " " + printable(held_.key);
  if (held_.count > 1) {
    message += " and " + std::to_string(held_.count - 1) + " more write(s) answered NOREPLICAS";
  } else {
    message += " answered NOREPLICAS";
  }
  held_ = HeldFailures{};
  failure_recorded_ = true;
  last_failure_event_ = time;
  record(time, "quorum_failure", message, fields, Level::warn);
}

std::string EventLog::json_after(std::uint64_t after) const {
  std::string out = "{\"events\":[";
  std::lock_guard<std::mutex> lock(mutex_);
  // Ids are consecutive: the first event to show is at a computed offset.
  std::size_t start = 0;
  if (!ring_.empty() && after >= ring_.front().id) {
    start = static_cast<std::size_t>(
        std::min<std::uint64_t>(after - ring_.front().id + 1, ring_.size()));
  }
  bool first = true;
  for (std::size_t i = start; i < ring_.size(); ++i) {
    if (!first) out += ',';
    first = false;
    out += ring_[i].json;
  }
  out += "]}";
  return out;
}

std::uint64_t EventLog::last_id() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return next_id_ - 1;
}

}  // namespace apiary::runtime
