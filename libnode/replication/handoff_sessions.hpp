// HandoffSessions: turns the handoff's per-partition work into per-peer transfers with a
// start and an end (replication::HandoffEvent), for the node's event log. Internal to
// libnode/replication (handoff.cpp feeds it).
//
// Outgoing: a transfer to a peer lasts while some handoff task still has a partition to
// send it (sync_out() after every change of the tasks). Incoming: the receiver cannot know
// what a sender still has, so a transfer from a peer lasts from its first non-empty batch
// until no batch came from it for `quiet` (core time). Deterministic: ordered containers,
// no clock.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "apiary/base/time.hpp"
#include "apiary/replication/handoff_event.hpp"

namespace apiary::replication {

class HandoffSessions {
 public:
  explicit HandoffSessions(Duration quiet) : quiet_(quiet) {}

  // The partitions each peer still waits for from this node (absent: none).
  void sync_out(const std::map<std::string, std::uint32_t>& pending);
  void batch_sent(const std::string& peer, std::uint64_t keys, std::uint64_t bytes);
  void partition_sent(const std::string& peer, std::uint32_t partition);

  void batch_received(TimePoint now, std::string_view peer, std::uint32_t partition,
                      std::uint64_t keys, std::uint64_t bytes, bool final);
  void handle_timeout(TimePoint now);  // ends incoming transfers that went quiet
  TimePoint next_deadline() const;

  std::optional<HandoffEvent> poll();

 private:
  struct Session {
    std::uint32_t planned = 0;         // out: partitions to send, as planned so far
    std::uint32_t pending = 0;         // out: as of the last sync
    std::set<std::uint32_t> started;   // in: partitions a batch came for
    std::set<std::uint32_t> finished;  // out: sent completely; in: final batch arrived
    std::uint64_t keys = 0;
    std::uint64_t bytes = 0;
    TimePoint last{};  // in: the last batch
  };
  void finish(HandoffEvent::Direction direction, const std::string& peer, const Session& s,
              bool complete);

  Duration quiet_;
  std::map<std::string, Session> out_;
  std::map<std::string, Session, std::less<>> in_;
  std::deque<HandoffEvent> events_;
};

}  // namespace apiary::replication
