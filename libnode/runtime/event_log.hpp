// EventLog: the node's recent events (membership changes, view changes, handoffs, quorum
// failures, the leave), each with a sequence id, kept in a bounded ring for the admin port
// (GET /v1/events) and logged through spdlog as it is recorded (runtime/json_log.hpp: the
// JSON log format carries the id, the type and the fields).
//
// An event as GET /v1/events shows it (docs/observability.md, "Logs and events"):
//   {"id":12,"time":1767323045678,"type":"member","message":"member n3 ... suspect ...",
//    "member":"n3","state":"suspect",...}
// Ids start at 1 and increase by one per event, so a reader that remembers the last id it saw
// asks for the ones after it; the ring keeps the newest `capacity` events.
// Thread-safe: recorded on the node's loop thread, read by the admin port's threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>

#include "apiary/base/time.hpp"
#include "apiary/runtime/json_log.hpp"

namespace apiary::runtime {

class EventLog {
 public:
  static constexpr std::size_t kDefaultCapacity = 1000;
  enum class Level { info, warn };

  explicit EventLog(std::size_t capacity = kDefaultCapacity);

  // Records an event of `type` ("member", "handoff", ...) at `time` with a human-readable
  // `message` and type-specific `fields` (names other than id, time, type and message), logs
  // it at `level`, and returns its id.
  std::uint64_t record(WallTime time, std::string_view type, std::string_view message,
                       const JsonFields& fields = {}, Level level = Level::info);

  // `count` writes answered NOREPLICAS, the first of them `command` on `key`: one
  // "quorum_failure" event, unless the last one was recorded less than a second ago; then
  // they are added up and recorded by a later call, or by flush() once the second passed.
  // A storm of failures thereby costs at most one event a second.
  void write_quorum_failed(WallTime time, std::string_view command, std::string_view key,
                           std::uint64_t count);
  void flush(WallTime time);  // called about once a second

  // GET /v1/events?after=N: the events with an id above `after`, oldest first, as JSON.
  std::string json_after(std::uint64_t after) const;
  std::uint64_t last_id() const;  // 0 before the first event

 private:
  struct Entry {
    std::uint64_t id;
    std::string json;  // the whole object
  };
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<Entry> ring_;  // ids ascending and consecutive
  std::uint64_t next_id_ = 1;

  // write_quorum_failed()'s held-back failures; loop thread only.
  struct HeldFailures {
    std::uint64_t count = 0;
    std::string command;
    std::string key;
  } held_;
  WallTime last_failure_event_{0};
  bool failure_recorded_ = false;
  void record_failures(WallTime time);
};

}  // namespace apiary::runtime
