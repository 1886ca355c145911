// EventLog: the node's recent events (membership changes, handoffs, quorum failures), each
// with a sequence id, kept in a bounded ring for the admin port (GET /v1/events) and logged
// through spdlog as it is recorded. Thread-safe: recorded on the loop thread, read by the
// admin port's threads.
#pragma once

#include <cstdint>
#include <string>

namespace apiary::runtime {

class EventLog {
 public:
  // GET /v1/events?after=N: the events with an id above `after`, oldest first, as JSON.
  std::string json_after(std::uint64_t after) const;
};

}  // namespace apiary::runtime
