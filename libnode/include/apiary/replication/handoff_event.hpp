// HandoffEvent: a partition transfer with one peer started or finished, as the replication
// core reports it (Replicator::poll_handoff_event) for the node's event log. One transfer is
// everything that moves between this node and that peer in one direction until it goes
// quiet: a leave or a join makes one event pair per peer, not one per partition (a node has
// 1024 of them). Carries no time: the driver stamps it. A plain value.
#pragma once

#include <cstdint>
#include <string>

namespace apiary::replication {

struct HandoffEvent {
  enum class Direction : unsigned char { out, in };  // to the peer, from the peer
  enum class Phase : unsigned char { started, finished };
  Direction direction = Direction::out;
  Phase phase = Phase::started;
  std::string peer;
  // started (out): the partitions to hand over; finished: those handed over completely
  // (out) or whose final batch arrived (in).
  std::uint32_t partitions = 0;
  std::uint64_t keys = 0;   // finished: entries moved
  std::uint64_t bytes = 0;  // finished: encoded batch bytes moved (resends not counted)
  // finished: every partition went over. False when the transfer was given up (the peer
  // went down, a newer view gave the partitions to someone else) or, incoming, when the
  // peer went quiet before a partition's final batch.
  bool complete = true;
};

}  // namespace apiary::replication
