// ReplicationStats: counters of the replication core, for INFO, /metrics and tests.
// A plain value; thread-safety is that of a struct.
#pragma once

#include <cstdint>

namespace apiary::replication {

struct ReplicationStats {
  // Transport.
  std::uint64_t messages_sent = 0;   // data messages, batched or not
  std::uint64_t envelopes_sent = 0;  // what went to the transport: one per message or batch
  std::uint64_t batches_sent = 0;    // envelopes carrying several messages (data_batch)
  std::uint64_t bytes_sent = 0;      // envelope bytes
  std::uint64_t messages_received = 0;  // envelopes
  std::uint64_t batched_messages_received = 0;  // messages that arrived inside a data_batch
  std::uint64_t bytes_received = 0;
  std::uint64_t malformed_dropped = 0;        // undecodable envelope or payload
  std::uint64_t foreign_cluster_dropped = 0;  // another cluster's name
  std::uint64_t unsupported_dropped = 0;      // unknown version or a non-data message type
  std::uint64_t unmatched_dropped = 0;        // answers to requests no longer pending
  std::uint64_t unroutable = 0;               // a message for a member without an address

  // Writes (coordinator side) and replica merges.
  std::uint64_t writes = 0;
  std::uint64_t write_acks = 0;
  std::uint64_t writes_ok = 0;
  std::uint64_t writes_together = 0;  // multi-key writes replicated as one unit
  std::uint64_t write_timeouts = 0;
  std::uint64_t writes_unavailable = 0;
  std::uint64_t delta_writes = 0;     // hash/set writes shipped as their changes (deltas)
  std::uint64_t delta_fallbacks = 0;  // a replica lacked a delta's base: the entry went whole
  std::uint64_t replica_merges = 0;  // replicate requests applied on this node
  std::uint64_t merge_errors = 0;    // Store::merge failed (out of memory)

  // Reads.
  std::uint64_t reads = 0;
  std::uint64_t reads_ok = 0;
  std::uint64_t read_timeouts = 0;
  std::uint64_t reads_unavailable = 0;
  std::uint64_t read_repairs = 0;  // repair messages sent
  std::uint64_t reads_same = 0;    // read requests answered "the asker's version" (no entry)
  std::uint64_t reads_same_retried = 0;  // reads that asked again: the asker's copy changed

  // Hinted handoff.
  std::uint64_t hinted_writes = 0;    // writes this coordinator sent to a stand-in
  std::uint64_t hints_stored = 0;     // hints this node took as a stand-in
  std::uint64_t hints_delivered = 0;  // acknowledged by the intended owner
  std::uint64_t hints_dropped = 0;    // over max_hints, or the key vanished

  // Forwarding.
  std::uint64_t forwards = 0;
  std::uint64_t forwards_ok = 0;
  std::uint64_t forward_retries = 0;
  std::uint64_t forward_timeouts = 0;
  std::uint64_t forwards_unavailable = 0;
  std::uint64_t forwards_executed = 0;  // commands other nodes forwarded here

  // Keyspace queries (commands without keys answered for the whole cluster) and flushes.
  std::uint64_t keyspace_queries = 0;           // asked of other members
  std::uint64_t keyspace_query_failures = 0;    // timed out or refused
  std::uint64_t keyspace_queries_answered = 0;  // other members' queries answered here
  std::uint64_t keyspace_notices_sent = 0;      // one-way messages (Replicator::tell)
  std::uint64_t told_gaps = 0;                  // told messages from a member went missing
  std::uint64_t flush_horizons_adopted = 0;     // a message carried a newer flush horizon

  // Anti-entropy.
  std::uint64_t anti_entropy_rounds = 0;  // digest exchanges this node started
  std::uint64_t anti_entropy_buckets_differ = 0;
  std::uint64_t anti_entropy_keys_sent = 0;
  std::uint64_t anti_entropy_keys_received = 0;

  // Ownership handoff.
  std::uint64_t handoff_batches_sent = 0;
  std::uint64_t handoff_batches_resent = 0;
  std::uint64_t handoff_entries_sent = 0;
  std::uint64_t handoff_bytes_sent = 0;
  std::uint64_t handoff_entries_received = 0;
  std::uint64_t handoff_passes_repeated = 0;  // a replica write arrived during a pass
  std::uint64_t partitions_dropped = 0;
  std::uint64_t handoff_markers_sent = 0;  // empty final batches (nothing to hand over)

  // Reads during handoff (partitions this node gained and is still receiving).
  std::uint64_t transitions_started = 0;
  std::uint64_t transitions_completed = 0;  // every previous owner sent its final batch
  std::uint64_t transitions_abandoned = 0;  // a previous owner went silent or away
  std::uint64_t handoff_reads = 0;          // reads that also asked previous owners

  // A new coordinator catching up with the other owners (promotion.cpp).
  std::uint64_t promotions_started = 0;    // partitions this node took over as coordinator
  std::uint64_t promotions_completed = 0;  // ... and caught up on (start catch-ups included)
  std::uint64_t start_catch_ups = 0;       // partitions a first view made catch up
  std::uint64_t promotion_syncs = 0;       // digest exchanges sent for them

  // Versions that came back with the reply to a write this node forwarded to the key's
  // coordinator (it is a replica of the key: no separate replica write was sent to it).
  std::uint64_t carried_versions_received = 0;
  // Forwarded commands refused before this node had a view (the requester tries another).
  std::uint64_t forwards_refused = 0;
  // Forwarded commands an owner refused without running them, sent on to the next owner.
  std::uint64_t forwards_redirected = 0;
  // Copies of a forwarded command already run here (a network that duplicated a message).
  std::uint64_t forwards_duplicate_dropped = 0;
};

}  // namespace apiary::replication
