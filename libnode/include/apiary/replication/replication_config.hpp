// ReplicationConfig: every tunable of the replication core (apiary/replication/replicator.hpp)
// with commented defaults. A plain value; thread-safety is that of a struct.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "apiary/data/partition.hpp"

namespace apiary::replication {

struct ReplicationConfig {
  // Members only accept data messages carrying the same cluster name (as in SwimConfig).
  std::string cluster_name = "apiary";

  // --- Partition table (every node must agree on these) ---
  std::uint32_t partition_count = data::kDefaultPartitionCount;  // power of two
  std::uint32_t replicas = 3;  // N: preference-list length, capped at the member count
  double load_factor = 1.25;   // PartitionTable bounded-load cap (<= 1 disables)

  // --- Quorums (per-request values override these; both capped at the owner count) ---
  std::uint32_t write_quorum = 2;  // W, counting the coordinator's local write
  std::uint32_t read_quorum = 1;   // R, counting the coordinator's local copy

  // --- Timeouts ---
  std::chrono::milliseconds write_timeout{1000};  // W-1 acks must arrive within this
  std::chrono::milliseconds read_timeout{1000};   // R-1 answers must arrive within this
  // Each forwarding attempt; a timed-out read is retried once on the next live owner (a
  // write is not: it may have run). Longer than the owner's own worst case, a read before
  // the write (read_timeout) and then the write quorum (write_timeout), so that an owner
  // that is only slow answers with its own error instead.
  std::chrono::milliseconds forward_timeout{3000};
  std::uint32_t forward_retries = 1;
  // A handoff batch, hint delivery or anti-entropy step not answered within this is resent
  // (handoff, hints) or abandoned until the next round (anti-entropy).
  std::chrono::milliseconds transfer_timeout{2000};
  // A keyspace query (DBSIZE, SCAN, FLUSHALL, ... asked of every member) not answered within
  // this fails; the command then answers an error.
  std::chrono::milliseconds keyspace_timeout{2000};

  // --- Hinted handoff ---
  std::size_t max_hints = 100000;  // beyond this the oldest hint is dropped (and counted)
  std::chrono::milliseconds hint_retry_interval{1000};  // scan for deliverable hints
  std::size_t max_hints_in_flight = 64;                 // per node, across all owners

  // --- Anti-entropy ---
  // Every interval, one partition this node owns (round-robin) is compared with one other
  // live owner. Zero turns anti-entropy off. With 1024 partitions, N=3 and 3 nodes each node
  // owns every partition, so one node's full cycle takes 1024 intervals (17 minutes at 1 s);
  // the three nodes together compare each partition about every 6 minutes.
  std::chrono::milliseconds anti_entropy_interval{1000};
  // At most this many entries (and bytes) go into one anti-entropy message; the rest of a
  // differing bucket waits for the partition's next round.
  std::size_t anti_entropy_max_entries = 256;
  std::size_t anti_entropy_max_bytes = 256 * 1024;
  // A node that becomes the coordinator of partitions another owner coordinated catches up
  // with the other live owners by digest exchanges (promotion.cpp); at most this many at once.
  std::size_t promotion_syncs_in_flight = 16;
  // A node's first view: every partition it owns (any rank) that other live owners hold too
  // catches up with them the same way before it answers from its own copy. A restarted node
  // (empty, or loaded from its data directory) has missed the writes made while it was down.
  bool catch_up_on_start = true;

  // --- Ownership handoff ---
  std::size_t handoff_batch_entries = 256;        // entries per batch (one in flight per target)
  std::size_t handoff_batch_bytes = 256 * 1024;   // approximate encoded bytes per batch
  std::chrono::milliseconds handoff_retry{1000};  // resend an unacknowledged batch after this
  // A node that handed a partition to its new owners keeps its copy this long before dropping
  // it: members whose view is older still forward the partition's commands here, and an
  // increment run on an emptied copy restarts this node's counter entries below the sums it
  // acknowledged before (data/counter.hpp), losing them. Views agree well within this.
  std::chrono::milliseconds handoff_drop_delay{10000};
  // A node that gained a partition reads it from the previous owners too until each of them
  // sent its final handoff batch; when none of them sent a batch of the partition for this
  // long, it stops waiting (they may not know this node owns the partition now).
  std::chrono::milliseconds handoff_wait_timeout{10000};

  // --- Batching (outbox.hpp) ---
  // Messages for one peer queued during one loop batch travel in one data_batch envelope of
  // at most this many payload bytes and messages (a larger message travels alone).
  std::size_t batch_max_bytes = 1u << 20;
  std::size_t max_batch_messages = 1024;  // also the most a received batch may hold
  // Most keys of one command replicated in one message (Replicator::replicate_together).
  std::size_t replicate_together_max_keys = 512;

  // --- Decoding bounds ---
  std::size_t max_message_bytes = 8u << 20;  // whole envelope; larger messages are dropped
  std::size_t max_key_bytes = 1u << 20;      // keys longer than this are not replicated
  std::size_t max_forward_args = 1u << 16;   // argv elements of a forwarded command
  std::size_t max_reply_bytes = 8u << 20;    // forwarded reply

  std::uint64_t seed = 0x7e91;  // anti-entropy peer choice
};

}  // namespace apiary::replication
