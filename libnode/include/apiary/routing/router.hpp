// Router: makes the cluster answer like one Redis server. It sits between the RESP layer
// (resp::Server) and the replication core (replication::Replicator) of one node:
//
//  - A command whose keys this node owns runs here. A read runs at once when the local copy
//    answers it (Replicator::read_is_local), otherwise after a quorum read merged the other
//    replicas' versions into the local store. A write runs at once against the local store
//    (the coordinator advances its dot) and its reply is held until the write quorum
//    acknowledged every key it touched; a quorum that is not reached answers an error
//    (NOREPLICAS), as does a write the store refused (the refusal itself is the reply).
//  - A command whose keys one other node owns is forwarded whole to that owner over the data
//    channel and its reply relayed; forwarded commands run here through the same path.
//  - A multi-key command whose keys several nodes own (MGET, MSET, DEL, UNLINK, EXISTS, TOUCH)
//    is split into one sub-command per owner, sent in parallel, and the replies are merged in
//    the order of the keys. Other multi-key commands (RENAME, COPY, MSETNX) spanning owners
//    answer CROSSSLOT, as Redis Cluster does. Clients never see a redirect.
//  - The keyspace commands without keys (DBSIZE, KEYS, SCAN, RANDOMKEY, FLUSHALL/FLUSHDB,
//    INFO keyspace) answer for the whole cluster: each live member answers for the
//    partitions it coordinates (libnode/routing/keyspace.hpp). INFO's "localkeyspace"
//    section keeps this node's own copy in view.
//
// Sans-IO: the Router reads no clock of its own (the driver's `Clock` supplies time for
// commands forwarded from peers), owns no socket or thread. The driver hands it every
// Replicator completion (on_completion) and drains take_replies() after each batch, giving
// each reply to the client's connection (Connection::complete) and flushing it. Replies are
// never delivered from inside the forwarder hook, so a connection is always waiting when its
// reply arrives.
// Thread safety: none; one per node, on the node's event-loop thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "apiary/base/time.hpp"
#include "apiary/replication/replicator.hpp"
#include "apiary/resp/connection.hpp"

namespace apiary::resp {
class Server;
}

namespace apiary::routing {

struct RouterConfig {
  std::uint32_t write_quorum = 0;  // W per client write; 0 = the Replicator's configured W
  std::uint32_t read_quorum = 0;   // R per client read; 0 = the Replicator's configured R
  // Commands whose arguments add up to more are refused at once: a replica, forward or
  // reply must fit one data message (ReplicationConfig::max_message_bytes).
  std::size_t max_command_bytes = (8u << 20) - (64u << 10);
  // ...and so are commands with more arguments than a forward may carry
  // (ReplicationConfig::max_forward_args): a big transaction is one command.
  std::size_t max_command_args = 1u << 16;
};

struct RouterStats {
  std::uint64_t local = 0;             // commands run here as an owner (clients and peers)
  std::uint64_t forwarded = 0;         // sent whole to another owner
  std::uint64_t fanned_out = 0;        // split across owners
  std::uint64_t run_for_peers = 0;     // forwarded here by another node
  std::uint64_t quorum_reads = 0;      // reads that waited for other replicas
  std::uint64_t write_failures = 0;    // writes answered NOREPLICAS
  std::uint64_t forward_failures = 0;  // forwards answered CLUSTERDOWN
  std::uint64_t cross_slot = 0;        // multi-key commands refused
  // Commands without keys answered for the whole cluster (DBSIZE, KEYS, SCAN, RANDOMKEY,
  // FLUSHALL, INFO keyspace), and those that could not reach every member.
  std::uint64_t keyspace_commands = 0;
  std::uint64_t keyspace_failures = 0;
};

// Writes answered NOREPLICAS since the last Router::take_quorum_failures(): how many, and the
// first one's command and key (for the node's event log: a storm of failures is one entry).
struct QuorumFailures {
  std::uint64_t count = 0;
  std::string command;  // lower case, as the command table names it
  std::string key;
};

// A reply for a client whose command went pending.
struct ClientReply {
  resp::ClientId client = 0;
  resp::PendingToken token;
  std::string bytes;
};

// What an embedding call (Router::call) ended in: the command's RESP3 reply, or -- when the
// cluster could not run it (quorum not reached, owner unreachable, no live owner, CROSSSLOT,
// too large) -- a typed Status whose message is the text a RESP client would read.
struct CallReply {
  std::uint64_t call = 0;
  std::string bytes;  // when status is ok
  Status status;
};

class Router {
 public:
  using Clock = std::function<std::pair<TimePoint, WallTime>()>;

  // Installs itself as `server`'s forwarder and `replicator`'s executor; both must outlive
  // the Router (whose destructor uninstalls the hooks).
  Router(resp::Server& server, replication::Replicator& replicator, RouterConfig config,
         Clock clock);
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // A keyed command from the embedding application (apiary::Node's data calls), routed as a
  // client's would be, with per-call quorums (0 = the configured ones) and replies in RESP3.
  // Returns the outcome when it is known now; otherwise it comes out of take_call_replies()
  // with `call_id`. Unknown, keyless or wrong-arity commands fail (invalid_argument) at once.
  std::optional<CallReply> call(std::span<const std::string_view> argv,
                                  replication::QuorumOverride quorum, std::uint64_t call_id,
                                  TimePoint now, WallTime wall);
  std::vector<CallReply> take_call_replies();

  // Every completion the Replicator produces, in order.
  void on_completion(const replication::Completion& completion, TimePoint now, WallTime wall);
  // Replies that became ready since the last call.
  std::vector<ClientReply> take_replies();

  // Blocking commands (BLPOP, BZPOPMIN, ...) parked here, as their keys' coordinator, until
  // a write gives them something, their timeout passes or their client leaves. The driver
  // calls settle() after each batch (parked commands whose keys were written run then, in
  // the order they arrived), on_timer() at next_deadline() (timeouts; every second while
  // commands are parked, a check of their keys), and on_view_change() after every new
  // replication view (commands whose keys another node now coordinates move there).
  void settle(TimePoint now, WallTime wall);
  TimePoint next_deadline() const;
  void on_timer(TimePoint now, WallTime wall);
  void on_view_change(TimePoint now, WallTime wall);
  std::size_t parked() const;

  std::size_t pending() const;  // commands (clients' and peers') waiting for the cluster
  const RouterStats& stats() const;
  QuorumFailures take_quorum_failures();  // count 0: none since the last call

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace apiary::routing
