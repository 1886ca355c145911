// Replicator: the replication core of one node -- quorum writes, quorum reads with read
// repair, sloppy quorum with hinted handoff, forwarding to an owner, anti-entropy and
// ownership handoff -- as a sans-IO state machine ("the coordinator executes, replicas
// merge").
//
// The driver executes a client's command against the local Store first; the Replicator then
// ships the key's whole version (Store::export_entry) to the other owners, and replicas merge
// it (Store::merge). Input: set_view(), replicate(), read(), forward(), leave(),
// handle_message() and handle_timeout(), each with the current time. Output, drained after
// every input: poll_send() (a peer's data address and an encoded envelope), poll_completion()
// (a client operation finished) and next_deadline(). Calling handle_timeout() early or more
// often is harmless.
//
// Promises:
//  - Deterministic: no clock, no threads, no sockets; the only randomness is an Rng seeded
//    from ReplicationConfig::seed. Equal inputs at equal times give equal outputs.
//  - Every client operation completes exactly once (ok, timeout or unavailable), at the
//    latest when its timeout passes -- provided the driver keeps calling handle_timeout().
//  - A partition this node no longer owns is dropped only after every new owner
//    acknowledged the last batch of a pass during which no replica write reached it.
//  - Reads during handoff: a node that gained a partition keeps asking the previous owners
//    (read_is_local() is false) until each sent its final handoff batch -- every former
//    owner sends one to every new owner, empty if it has nothing to hand over -- or went
//    away, or stayed silent for handoff_wait_timeout. A key written before a join or leave
//    is therefore not read as missing because of it.
//  - Every decoder is bounded; malformed, foreign-cluster, unknown and unmatched messages are
//    counted in stats() and dropped. Nothing here throws on hostile input.
// Not thread-safe: one per node, driven by the node's event-loop thread, sharing the Store
// with the RESP layer on that thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/status.hpp"
#include "apiary/base/time.hpp"
#include "apiary/replication/cluster_view.hpp"
#include "apiary/replication/handoff_event.hpp"
#include "apiary/replication/keyspace_query.hpp"
#include "apiary/replication/replication_config.hpp"
#include "apiary/replication/replication_stats.hpp"

namespace apiary::store {
class Store;
}

namespace apiary::replication {

struct Outgoing {
  std::string to;  // the peer's data address (ViewMember::data_addr)
  std::vector<std::uint8_t> bytes;
};

enum class OperationKind : unsigned char { write, read, forward, keyspace };

struct Completion {
  std::uint64_t id = 0;  // the completion_id the caller passed
  OperationKind kind = OperationKind::write;
  // ok; timeout (too few answers in time); unavailable (too few live replicas or owners).
  Status status;
  // Replicas that hold the write / answered the read, this node included. Forward: 0.
  std::uint32_t replicas = 0;
  // forward: the owner's RESP reply bytes (also when the owner's cluster layer failed the
  // command: status has the owner's code, reply its error text).
  std::string reply;
  // keyspace (status ok): the member's answer, the alternative of the query that was asked.
  KeyspaceAnswer answer{};
};

// Quorums a forwarded command runs with on the owner; 0 = the owner's configured value.
struct QuorumOverride {
  std::uint32_t write = 0;
  std::uint32_t read = 0;
};

// How a requester gives up a blocking forward (Replicator::cancel_forward): the owner, if it
// still holds the command, answers it with the timeout's null, with CLIENT UNBLOCK's error,
// or -- give_back: the requester wants to route it again -- with StatusCode::moved.
enum class CancelMode : std::uint8_t { timeout = 0, unblock_error = 1, give_back = 2 };

// A command another node forwarded here for execution.
struct ForwardedCommand {
  std::uint64_t token = 0;  // for reply_forwarded() when the reply comes later
  std::string from;         // the requesting member's name
  std::vector<std::string> argv;
  int protocol = 2;  // the requesting client's RESP version (2 or 3); reply in it
  QuorumOverride quorum;
  // The requesting client's ACL user, checked again here; empty: the requesting node's own
  // command (the embedding API), trusted as the member is.
  std::string user;
};
// Runs a forwarded command on this node (which owns its key). Returns the RESP reply bytes,
// or nullopt to deliver them later with Replicator::reply_forwarded(token, ...).
using Executor = std::function<std::optional<std::string>(const ForwardedCommand&)>;
// Answers a keyspace query another member asked (Replicator::ask) from this node's own data,
// at once and without asking anyone else; the answer is the query's alternative.
using KeyspaceHandler = std::function<KeyspaceAnswer(const KeyspaceQuery&, WallTime)>;

class Replicator {
 public:
  Replicator(ReplicationConfig config, store::Store& store);
  ~Replicator();
  Replicator(const Replicator&) = delete;
  Replicator& operator=(const Replicator&) = delete;

  // A new membership view. Starts handoff of partitions this node no longer owns (and of
  // copies to owners that replaced departed ones) and delivers hints to members live again.
  // `wall` is needed to skip expired entries while scanning the store.
  void set_view(TimePoint now, WallTime wall, ClusterView view);
  const ClusterView& view() const;
  const ReplicationConfig& config() const;
  void set_executor(Executor executor);
  // This node's member name and data address, for the messages it sends before its first
  // view (it refuses forwarded commands then, so that the requester can try another owner).
  void set_identity(std::string name, std::string data_addr);

  // The driver has just written `key` to the local store as a coordinator. Ships the
  // key's version to the other owners (stand-ins with hints for owners that are not live)
  // and completes after `write_quorum - 1` acks; 0 = the configured W. W is capped at the
  // owner count.
  // `carrier`: a live owner that will get the version in the reply to its forwarded command
  // (carry()) and merge it before it answers its client: it is not sent a replica write, and
  // it counts towards W.
  void replicate(TimePoint now, WallTime wall, std::string_view key, std::uint32_t write_quorum,
                 std::uint64_t completion_id, std::string_view carrier = {});
  // replicate() for several keys one command wrote, as one unit: when they all have the same
  // owners and every owner is live, each replica gets one message with all their versions
  // and acknowledges it once, and the one completion comes when W replicas hold them all.
  // Returns false, having done nothing, otherwise (different owners, an owner down, more
  // than replicate_together_max_keys keys, or too many bytes for one message): the caller
  // then replicates each key. A hash, set, sorted set or list write goes key by key as its
  // changes (a delta) unless `whole` asks for the unit anyway (a transaction or script):
  // then the delta is dropped and the key's whole entry travels in the unit.
  bool replicate_together(TimePoint now, WallTime wall, std::span<const std::string_view> keys,
                          std::uint32_t write_quorum, std::uint64_t completion_id,
                          std::string_view carrier = {}, bool whole = false);
  // Asks `read_quorum - 1` other live owners (0 = configured R) for their version, merges
  // every answer into the local store, completes when R replicas (this one first) answered,
  // then repairs the asked replicas whose version was older or concurrent. The driver reads
  // the merged value from the local store after the completion.
  // While the key's partition is in transition (this node gained it and a previous owner's
  // handoff has not arrived yet) the previous owners are asked as well, and at least one of
  // them must answer. While this node catches up on the partition as its new coordinator,
  // every other live owner is asked and all of them must answer. On a node that does not own
  // the key (a stale view, or leaving) the local copy does not count: the live owners are
  // asked and R of them must answer.
  void read(TimePoint now, WallTime wall, std::string_view key, std::uint32_t read_quorum,
            std::uint64_t completion_id);
  // True when this node owns `key` and its local copy alone answers a read of quorum R
  // (R <= 1, the key's partition is not waiting for a handoff into this node, and this node
  // is not catching up on it as its new coordinator). When false, the driver calls read()
  // and reads the local store after the completion.
  bool read_is_local(std::string_view key, std::uint32_t read_quorum) const;
  // Sends `argv` to the first live owner of `key` other than this node; the completion
  // carries the owner's reply bytes. With `may_retry` a timed-out attempt is retried once on
  // the next live owner (reads: the answer is as good); without it (writes, which must not
  // run twice when the first owner was merely slow) the timeout completes the operation.
  // `protocol` is the client's RESP version (2 or 3): the owner replies in it; `quorum`
  // travels with the command (ForwardedCommand::quorum).
  // `hold`: a blocking command (BLPOP ...) that the owner may keep for that long before it
  // answers (Duration::max(): for ever); the operation then waits that much longer and is
  // never retried. When the owner leaves the live members (it may be dead, or leaving and
  // still serving) it is asked to give the command back (CancelMode::give_back); whatever it
  // answers within a forward timeout completes the operation (an element it served, its
  // null, or StatusCode::moved), and silence completes it with StatusCode::moved: the caller
  // then routes the command again.
  void forward(TimePoint now, std::string_view key, std::span<const std::string_view> argv,
               int protocol, std::uint64_t completion_id, QuorumOverride quorum = {},
               bool may_retry = true, std::optional<Duration> hold = std::nullopt,
               std::string_view user = {});
  // Gives up the blocking forward `completion_id`: asks its owner to answer it now, as `mode`
  // says; the completion follows as usual. Nothing when no such forward is in flight.
  void cancel_forward(std::uint64_t completion_id, CancelMode mode);
  // Called (on the owner) when a requester cancels a forwarded command that is still held:
  // the executor answers it now through reply_forwarded(token, ...).
  using ForwardCanceller = std::function<void(std::uint64_t token, CancelMode mode)>;
  void set_forward_canceller(ForwardCanceller canceller);
  // The deferred reply for a ForwardedCommand whose executor returned nullopt. `code` other
  // than ok: the command failed in this node's cluster layer (its quorum, its own forward);
  // the requester's completion then has that code, with `reply` as its text.
  void reply_forwarded(TimePoint now, WallTime wall, std::uint64_t token, std::string_view reply,
                       StatusCode code = StatusCode::ok);
  // The reply to the ForwardedCommand `token` (immediate or deferred) carries the versions of
  // `keys` as this node holds them when it is sent; the requester merges them before it
  // relays the reply. For writes whose requester is one of the keys' owners: one message
  // instead of a replica write, its ack and the reply.
  void carry(std::uint64_t token, std::vector<std::string> keys);

  // Sends a keyspace query to `member` (another ring member; the caller answers its own
  // share itself). The completion (OperationKind::keyspace) carries the member's answer, or
  // `timeout` after keyspace_timeout, or `unavailable` (no view, no address for the member,
  // or it has no handler). Never retried nor sent to another member: the asker chose which
  // member answers for which partitions.
  void ask(TimePoint now, std::string_view member, KeyspaceQuery query,
           std::uint64_t completion_id);
  // One way: the member runs `query` through its handler and sends nothing back (pub/sub
  // messages and subscriptions, tracking notices, script loads). Messages to one member
  // arrive in the order they were told, or not at all (a broken connection drops them).
  // False when the member has no address or the message could not be queued.
  bool tell(std::string_view member, const KeyspaceQuery& query);
  // Called (before the message is handled) when a told members query arrives from `from`
  // after a gap: one or more messages `from` told this node were lost, or `from` restarted.
  void set_tell_gap_handler(std::function<void(std::string_view from)> handler);
  void set_keyspace_handler(KeyspaceHandler handler);

  // Graceful leave: from now on this node owns nothing and hands every partition it holds
  // to the remaining owners. The driver may exit once handoff_pending() is false.
  void leave(TimePoint now, WallTime wall);
  bool leaving() const;
  // True while this node still has partitions (or empty final batches) to hand over.
  bool handoff_pending() const;
  // Partitions this node gained and still waits on a previous owner's handoff for.
  std::size_t partitions_in_transition() const;
  // The handoffs in progress now, for the admin port's dashboard: partitions this node hands
  // over and their (partition, new owner) streams, how many of those streams sent their
  // final batch; partitions it gained and the previous owners it still waits for.
  struct HandoffProgress {
    std::size_t outbound_partitions = 0;
    std::size_t outbound_streams = 0;
    std::size_t outbound_streams_done = 0;
    std::size_t inbound_partitions = 0;
    std::size_t inbound_owners_waiting = 0;
    std::size_t inbound_owners_done = 0;
  };
  HandoffProgress handoff_progress() const;
  // Partitions this node became the coordinator of and has not caught up on with the other
  // live owners yet: reads and writes of them ask every other live owner first.
  std::size_t partitions_promoting() const;

  void handle_message(TimePoint now, WallTime wall, std::span<const std::uint8_t> bytes);
  void handle_timeout(TimePoint now, WallTime wall);
  TimePoint next_deadline() const;
  std::optional<Outgoing> poll_send();
  std::optional<Completion> poll_completion();
  // Transfers of partitions to and from peers that started or finished (for the event log).
  std::optional<HandoffEvent> poll_handoff_event();

  // Routing helpers for the driver.
  PartitionId partition_of(std::string_view key) const;
  bool owns(std::string_view key) const;  // false while leaving
  // The key's coordinator: its first live owner, which runs every write of the key (and
  // every command that answers from its current state) so that they are serialized.
  // Empty when no live node owns the key's partition.
  std::string coordinator(std::string_view key) const;
  // True when this node is the key's coordinator (never while leaving).
  bool coordinates(std::string_view key) const;

  const ReplicationStats& stats() const;
  std::size_t hint_count() const;
  std::size_t pending_operations() const;  // client operations not yet completed

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace apiary::replication
