// Replicator::State: everything the replication core keeps between calls (internal to
// libnode/replication). Each concern's code lives in its own source file and works on this
// struct: replicator.cpp (envelopes, dispatch, timers), quorum.cpp, hints.cpp, forward.cpp,
// anti_entropy.cpp, handoff.cpp... Ordered containers only: output is a function of inputs.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "apiary/base/rng.hpp"
#include "apiary/data/dvv.hpp"
#include "apiary/replication/replicator.hpp"
#include "apiary/store/store.hpp"
#include "apiary/wire/envelope.hpp"
#include "handoff_sessions.hpp"
#include "messages.hpp"
#include "outbox.hpp"

namespace apiary::replication {

enum class OpKind : std::uint8_t { write, read, forward, hint, ae_digest, ae_push, keyspace };

// One request this node is waiting on (a client operation or a background step).
struct Op {
  OpKind kind = OpKind::write;
  std::uint64_t completion_id = 0;
  TimePoint deadline{};
  std::string key;
  std::uint32_t needed = 0;  // remote answers the client operation needs
  bool self_counts = true;   // read: this node's copy is one of the R answers
  std::uint32_t acks = 0;
  bool completed = false;          // the client's completion has been emitted
  std::vector<std::string> asked;  // member names
  std::uint64_t answered = 0;      // write: bit i set once asked[i] has acknowledged
  std::map<std::string, std::optional<data::DvvSet>> versions;  // read: what each replica had
  std::uint64_t sent_hash = 0;     // read: this node's version hash when it asked (0: none)
  data::VersionVector sent_context;  // read: and that version's clock
  std::vector<std::string> same;   // read: replicas that held exactly that version
  // forward: the encoded request (command, RESP version, quorums), sent as is to each owner
  std::vector<std::uint8_t> request;
  bool may_retry = true;      // forward: a timeout may try the next owner (not for writes)
  std::optional<Duration> hold;  // forward: a blocking command the owner may hold this long
  bool given_back = false;       // forward: its owner left the view and was asked to give it back
  std::vector<std::string> tried;
  // hint delivery: the intended owner; anti-entropy and keyspace: the peer
  std::string peer;
  std::size_t query_kind = 0;  // keyspace: the KeyspaceQuery alternative asked
  std::uint32_t partition = 0;
  bool promotion = false;  // ae_digest: a new coordinator's catch-up (promotion.cpp)
};

// Ownership handoff of one partition to its (new) owners.
struct HandoffTarget {
  store::ScanCursor cursor;
  bool done = false;
};
struct HandoffTask {
  bool drop_after = false;  // this node no longer owns the partition
  bool touched = false;     // a replica write arrived during the current pass
  std::map<std::string, HandoffTarget> targets;
};
struct Batch {
  std::string target;
  std::uint32_t partition = 0;
  bool final = false;
  // An empty final batch outside any task: tells a new owner this node has nothing (more)
  // for the partition. Not flow-controlled (tiny), resent until acknowledged.
  bool marker = false;
  store::ScanCursor next_cursor;
  std::vector<std::uint8_t> envelope;  // resent unchanged until acknowledged
  TimePoint resend_at{};
};

// A partition this node gained: it waits for the previous owners' final handoff batches,
// and reads ask those owners meanwhile (transition.cpp).
struct Transition {
  std::set<std::string> waiting;  // previous owners whose final batch has not arrived
  std::set<std::string> done;     // previous owners whose final batch has
  TimePoint deadline{};           // given up when no batch for it came from them until then
};

struct Hint {
  std::uint64_t seq = 0;
  std::uint64_t in_flight = 0;  // request id of a delivery in progress
};

struct Replicator::State {
  State(ReplicationConfig c, store::Store& s)
      : config(std::move(c)),
        store(s),
        rng(config.seed),
        outbox(Outbox::Limits{config.batch_max_bytes, config.max_batch_messages}) {
    // Request ids start at a random point, so that a restarted node (same name, new seed)
    // does not reuse the ids its previous life sent lately (peers drop repeated forwards).
    next_request_id = (rng.next() >> 2) | 1;
  }

  ReplicationConfig config;
  store::Store& store;
  Rng rng;
  ClusterView given_view;  // as the driver passed it
  ClusterView view;        // in force: without this node while leaving
  bool has_view = false;
  struct Identity {
    std::string name;
    std::string data_addr;
  } identity;  // set_identity(): who this node is before it has a view
  bool leaving = false;
  Executor executor;
  Replicator::ForwardCanceller canceller;
  KeyspaceHandler keyspace_handler;
  std::map<std::string, std::uint64_t, std::less<>> told_out, told_in;  // tell()'s numbers
  std::function<void(std::string_view from)> tell_gap_handler;
  ReplicationStats stats;
  std::uint64_t next_request_id = 1;
  Outbox outbox;
  std::deque<Completion> completions;
  // Ids of the replica writes of the data_batch being handled, acked together (flush_acks()).
  bool collecting_acks = false;
  std::vector<std::uint64_t> collected_acks;
  std::map<std::uint64_t, Op> ops;
  std::set<std::pair<TimePoint, std::uint64_t>> timers;  // op deadlines

  struct Incoming {
    std::string reply_to;
    std::uint64_t id = 0;
    std::vector<std::string> carry;  // keys whose versions the reply carries (carry())
  };
  std::map<std::uint64_t, Incoming> forwarded;  // token -> where the reply goes
  // Forwarded commands run lately, (requester, request id): a duplicated message must not
  // run a command twice (INCR, SET NX). Kept for twice the forward timeout.
  std::set<std::pair<std::string, std::uint64_t>> forwards_seen;
  std::deque<std::pair<TimePoint, std::pair<std::string, std::uint64_t>>> forwards_seen_order;
  std::uint64_t next_token = 1;

  std::map<std::pair<std::string, std::string>, Hint> hints;                // (owner, key)
  std::map<std::uint64_t, std::pair<std::string, std::string>> hint_order;  // seq -> hint
  std::uint64_t next_hint_seq = 1;
  std::size_t hints_in_flight = 0;
  TimePoint hint_next = kNever;

  TimePoint ae_next = kNever;
  std::uint32_t ae_cursor = 0;  // next partition id to consider

  std::map<std::uint32_t, HandoffTask> handoffs;
  std::map<std::uint64_t, Batch> batches;             // by request id
  std::map<std::string, std::uint64_t> busy_targets;  // target -> batch in flight
  std::map<std::string, std::uint32_t> handoff_rr;    // target -> next partition to serve
  std::size_t markers_in_flight = 0;
  // Per-peer transfers for the event log, and whether the tasks changed since the last sync.
  HandoffSessions handoff_sessions{3 * std::chrono::duration_cast<Duration>(config.handoff_retry)};
  bool handoff_tasks_changed = false;
  std::map<std::uint32_t, Transition> transitions;
  std::set<std::pair<TimePoint, std::uint32_t>> transition_deadlines;
  std::set<std::uint32_t> lost_in_transition;  // lost in this set_view() mid-transition
  // Lost mid-transition -> until when data arriving for them goes on to their owners.
  std::map<std::uint32_t, TimePoint> relays;
  // (partition, sender) -> when a final batch came: one that arrives before this node's own
  // view says it gained the partition still counts.
  std::map<std::pair<std::uint32_t, std::string>, TimePoint> recent_finals;
  std::map<std::uint32_t, TimePoint> recent_handoff_in;  // when a member last handed it here
  std::map<std::uint32_t, TimePoint> pending_drops;  // handed off: drop the copy at this time

  // Partitions this node became the coordinator of while another owner coordinated them,
  // -> the other live owners it has not caught up with yet (promotion.cpp).
  std::map<std::uint32_t, std::set<std::string>> promotions;
  std::set<std::pair<std::uint32_t, std::string>> promotion_syncs;  // digest requests in flight
  // `promotions` that are a first view's catch-up (catch_up_on_start), kept while owned.
  std::set<std::uint32_t> start_catch_ups;

  // --- replicator.cpp ---
  std::uint64_t new_id() { return next_request_id++; }
  // False (and counted) when `to` has no known address.
  bool send_to(std::string_view member, wire::MessageType type,
               std::vector<std::uint8_t> payload);
  void send_addr(std::string_view addr, wire::MessageType type,
                 std::vector<std::uint8_t> payload);
  wire::EnvelopeHeader envelope_header(wire::MessageType type) const;  // views into this state
  std::vector<std::uint8_t> envelope(wire::MessageType type,
                                     std::span<const std::uint8_t> payload) const;
  // Handles one data message (alone in its envelope, or one of a data_batch).
  void dispatch(TimePoint now, WallTime wall, wire::MessageType type,
                std::span<const std::uint8_t> payload, std::string_view from,
                std::string_view reply_to);
  std::uint64_t add_op(Op op);
  void erase_op(std::uint64_t id);
  void complete(const Op& op, OperationKind kind, Status status, std::uint32_t replicas,
                std::string reply = {});
  void on_op_timeout(TimePoint now, WallTime wall, std::uint64_t id);
  const std::string& self() const { return view.self(); }
  PartitionId partition_of(std::string_view key) const;
  bool merge_entry(const store::VersionedEntry& e, WallTime wall);  // false: the store refused
  bool merge_entry(store::VersionedEntry&& e, WallTime wall);       // ... taking e's version

  // --- quorum.cpp ---
  // A write waiting for W-1 acknowledgements, one fewer when `carrier` (a live owner other
  // than this node, which forwarded the write) holds it before its client hears; `carried`
  // says whether it does.
  Op write_op(TimePoint now, std::uint64_t completion_id, std::uint32_t write_quorum,
              std::span<const std::uint32_t> owners, std::string_view carrier,
              bool& carried) const;
  // Registers a write sent to `sent` under request `id` and completes it at once when no ack
  // is needed or too few replicas were reached.
  void launch_write(Op op, std::uint64_t id, std::vector<std::string> sent);
  void on_replicate_request(WallTime wall, Message& m, std::string_view from,
                            std::string_view reply_to);
  void on_read_request(WallTime wall, const Message& m, std::string_view reply_to);
  void on_write_ack(std::uint64_t id, StatusCode code, std::string_view from);
  // An acknowledgement of a replica write or a hint delivery (alone, or one of an acks list).
  void on_ack(std::uint64_t id, StatusCode code, RequestKind kind, std::string_view from);
  // A hash/set write as a delta (store::CollectionDelta): applied when this replica holds its
  // base, else refused so that the coordinator sends the whole entry (on_delta_refused).
  void on_delta_request(WallTime wall, const Message& m, std::string_view reply_to);
  void on_delta_refused(WallTime wall, const Message& m, std::string_view from);
  // Sends the acknowledgements collected while a batch was handled: one message for all.
  void flush_acks(std::string_view reply_to);
  void on_read_response(WallTime wall, const Message& m, std::string_view from);
  void finish_read(WallTime wall, std::uint64_t id, bool timed_out);

  // --- hints.cpp ---
  void add_hint(std::string owner, std::string key);
  void deliver_hints(TimePoint now, WallTime wall);
  void on_hint_ack(std::uint64_t id, StatusCode code, std::string_view from);
  void on_hint_timeout(const Op& op);

  // --- forward.cpp ---
  bool send_forward(TimePoint now, Op& op, std::uint64_t id);
  void on_forward_cancel(const Message& m, std::string_view reply_to);
  void recall_blocking_forwards(TimePoint now);  // owner no longer live: ask it back
  void on_forward_request(TimePoint now, WallTime wall, Message& m, std::string_view from,
                          std::string_view reply_to);
  void on_forward_response(TimePoint now, WallTime wall, Message& m,
                           std::string_view from);
  void send_forward_reply(const Incoming& to, std::string_view reply, WallTime wall,
                          StatusCode code = StatusCode::ok);
  void on_forward_timeout(TimePoint now, std::uint64_t id);

  // --- keyspace.cpp ---
  void on_keyspace_request(WallTime wall, const Message& m, std::string_view from,
                           std::string_view reply_to);
  void on_keyspace_response(const Message& m, std::string_view from);
  void on_keyspace_timeout(const Op& op);
  // A message carried a newer flush horizon than this node's: apply it before merging.
  void adopt_horizon(HlcTimestamp horizon, WallTime wall);

  // --- anti_entropy.cpp ---
  void anti_entropy_tick(TimePoint now, WallTime wall);
  void on_digest_request(WallTime wall, const Message& m, std::string_view reply_to);
  void on_digest_response(TimePoint now, WallTime wall, const Message& m, std::string_view from);
  void on_entries_request(WallTime wall, const Message& m, std::string_view reply_to);

  // --- handoff.cpp ---
  void plan_handoff(TimePoint now, const ClusterView& before, bool had_view, WallTime wall,
                    const std::vector<std::string>& appeared);
  void pump_handoff(TimePoint now, WallTime wall);
  void send_batch(TimePoint now, WallTime wall, const std::string& target, const std::string& addr,
                  std::uint32_t pv, const HandoffTarget& progress, bool more_passes);
  void send_marker(TimePoint now, const std::string& target, std::uint32_t pv);
  // Removes a batch (and its flow-control slot) and returns it.
  Batch take_batch(std::map<std::uint64_t, Batch>::iterator it);
  void on_handoff_batch(TimePoint now, WallTime wall, const Message& m, std::string_view from,
                        std::string_view reply_to);
  void on_handoff_ack(TimePoint now, WallTime wall, const Message& m, std::string_view from);
  void resend_batches(TimePoint now);
  void note_replica_write(PartitionId p);
  void sync_handoff_sessions();
  void drop_handed_off(TimePoint now);  // pending_drops whose time came
  TimePoint next_batch_deadline() const;  // batches to resend, pending_drops

  // --- transition.cpp ---
  // Live members of the view that the previous view did not list (all others on a first view).
  std::vector<std::string> appeared_members(const ClusterView& before, bool had_view) const;
  void plan_transitions(TimePoint now, const ClusterView& before, bool had_view,
                        const std::vector<std::string>& appeared);
  void note_handoff_batch(TimePoint now, std::uint32_t pv, std::string_view from, bool final);
  void expire_transitions(TimePoint now);
  TimePoint next_transition_deadline() const;
  void set_transition_deadline(std::uint32_t pv, Transition& t, TimePoint at);
  void end_transition(std::map<std::uint32_t, Transition>::iterator it, bool completed);
  // The previous owners a read of partition `pv` must also ask (empty: none).
  std::vector<std::string> transition_sources(std::uint32_t pv) const;

  // --- promotion.cpp ---
  void plan_promotions(TimePoint now, WallTime wall, const ClusterView& before, bool had_view);
  void send_promotion_syncs(TimePoint now, WallTime wall);
  // A promotion digest exchange with `peer` ended; `complete`: this node now holds everything
  // the peer held.
  void on_promotion_sync(TimePoint now, WallTime wall, std::uint32_t pv, const std::string& peer,
                         bool complete);
  bool promoting(PartitionId p) const { return promotions.count(p.value) != 0; }
};

}  // namespace apiary::replication
