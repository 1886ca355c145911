// NodeCore: one cluster member's logic as a sans-IO state machine -- gossip (gossip::Swim),
// the store, replication (replication::Replicator), the Redis command layer (resp::Server)
// and routing (routing::Router), plus the decisions that tie them together: when a joining
// node starts serving data, when the ring view changes, the graceful-leave phases (hand every
// partition off, then announce the departure), active expiry, and INFO's cluster section.
//
// Two drivers move bytes and time for it: the runtime (apiary::Node: ZeroMQ mailboxes, TCP
// clients, the steady clock) and the simulator (sim::NodeProcess: a simulated network and
// virtual time). What the simulator checks therefore runs on the code that ships.
//
// Input: join(), leave(), handle_gossip(), handle_data(), handle_timeout(), and client bytes
// through resp::Connection objects the driver makes on resp_server() (their commands reach
// the Router through the server's forwarder hook); after client input the driver calls
// settle(). Output, drained after every input: poll_gossip_send(), poll_data_send(),
// poll_event(), take_client_replies() (replies of commands that went pending, for
// Connection::complete), take_call_replies() (Router::call), and next_deadline().
//
// Promises:
//  - Deterministic: no clock, no threads, no sockets, no global randomness; every random
//    choice comes from NodeCoreConfig::seed. Equal inputs at equal times give equal outputs.
//  - A node joining through seeds serves no data until a seed's member list arrived (or
//    join_timeout passed): with a view of itself alone it would own every key.
//  - leave() hands every partition off (at most handoff_timeout), then announces the
//    departure (at most leave_timeout); leave_state() tells when it is over.
// Not thread-safe: one per node, on the driver's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "apiary/base/status.hpp"
#include "apiary/base/time.hpp"
#include "apiary/cluster/partition_table.hpp"
#include "apiary/core/persistence.hpp"
#include "apiary/gossip/swim.hpp"
#include "apiary/gossip/swim_config.hpp"
#include "apiary/replication/membership_view.hpp"
#include "apiary/replication/replicator.hpp"
#include "apiary/resp/server.hpp"
#include "apiary/routing/router.hpp"
#include "apiary/store/store.hpp"

namespace apiary::core {

struct NodeCoreConfig {
  std::string name;
  gossip::SwimConfig swim;        // cluster_name is set from `cluster_name`
  gossip::MemberMeta meta;        // published addresses (data_addr must be set) and tags
  std::string gossip_addr;        // advertised gossip address
  std::string cluster_name = "apiary";
  replication::ReplicationConfig replication;  // partitions, replicas, quorums, timeouts
  replication::RingPolicy ring;
  store::StoreConfig store;        // `self`, `seed` and `partition_count` are set here
  // The AOF and snapshots (docs/persistence.md); env nullptr: nothing on disk, and SAVE,
  // BGSAVE, BGREWRITEAOF and LASTSAVE answer an error.
  PersistenceConfig persistence;
  resp::ServerIdentity identity;   // node name and run id for INFO; tcp_port
  std::uint64_t seed = 1;          // every random choice of the node
  std::chrono::milliseconds join_timeout{10000};
  std::chrono::milliseconds handoff_timeout{120000};
  std::chrono::milliseconds leave_timeout{5000};
  std::chrono::milliseconds expire_interval{100};  // Redis's hz 10
  // Between two fast expiry cycles (Redis: twice the fast cycle's 1 ms).
  std::chrono::microseconds expire_fast_interval{2000};
  // Largest command the router accepts (a replica, forward or reply must fit one message).
  std::size_t max_command_bytes = 0;  // 0: replication.max_message_bytes - 64 KiB
};

// The ring view changed: the replicator serves `table` from now on.
struct ViewChanged {
  std::shared_ptr<const cluster::PartitionTable> before;  // nullptr on the first view
  std::shared_ptr<const cluster::PartitionTable> table;
};
// A membership event, and (joined members only) whether its ring settings differ from ours.
struct MemberChanged {
  gossip::MemberEvent event;
  bool ring_mismatch = false;
};
// The graceful leave gave up waiting: the handoff or the announcement ran out of time.
struct LeaveTimedOut {
  bool during_handoff = false;
};
// Serving with the members known because no seed answered within join_timeout.
struct JoinTimedOut {};
// A line for the log from persistence (loading, background saves and rewrites, failures).
struct PersistenceLogged {
  bool error = false;
  std::string text;
};
// redis.log from a script, at notice (2) or warning (3); debug and verbose lines are dropped,
// as at Redis's default loglevel.
struct ScriptLogged {
  int level = 2;
  std::string text;
};
// A partition transfer to or from a peer started or finished.
struct HandoffChanged {
  replication::HandoffEvent event;
};
// Writes answered NOREPLICAS since the last event (at most one such event per input, so a
// storm of failures is counted, not listed): how many, and the first one's command and key.
struct WriteQuorumFailed {
  routing::QuorumFailures failures;
};
using CoreEvent = std::variant<MemberChanged, ViewChanged, LeaveTimedOut, JoinTimedOut,
                               PersistenceLogged, ScriptLogged, HandoffChanged,
                               WriteQuorumFailed>;

enum class LeaveState : unsigned char { none, handoff, announce, done };

class NodeCore {
 public:
  // Validates the configuration (partition count, quorums, eviction policy) and loads the
  // data directory when persistence has an Env (an error names the file that could not be
  // loaded); `wall` decides which loaded keys have expired.
  static Result<std::unique_ptr<NodeCore>> create(NodeCoreConfig config, TimePoint now,
                                                  WallTime wall = WallTime{});
  ~NodeCore();
  NodeCore(const NodeCore&) = delete;
  NodeCore& operator=(const NodeCore&) = delete;

  // The metadata this node publishes (its addresses and tags), before join() only: a driver
  // learns the client port it bound after the core (whose server the listener needs) exists.
  void set_meta(gossip::MemberMeta meta);
  // Joins through `seeds` (none: the first node, which serves at once). `seeds_pending`: the
  // seeds come later through set_seeds() (a DNS name being resolved); until one answers the
  // node serves nothing, and after join_timeout it serves with the members it knows (the
  // name listed only this node, or nothing: it is the first member).
  void join(TimePoint now, WallTime wall, std::vector<std::string> seeds,
            bool seeds_pending = false);
  // Replaces the seed addresses (gossip::Swim::set_seeds): the driver re-resolved a name.
  void set_seeds(TimePoint now, std::vector<std::string> addrs);
  // Contacts a member of another cluster now and keeps it as a seed (gossip::Swim::meet).
  void meet(TimePoint now, std::string gossip_addr);
  void leave(TimePoint now, WallTime wall);
  LeaveState leave_state() const;
  bool leave_incomplete() const;  // the leave ended by a timeout

  void handle_gossip(TimePoint now, WallTime wall, std::span<const std::uint8_t> bytes);
  // A gossip message that arrived while a long script runs (resp::Server::BusyWatch): the
  // failure detector answers it (acks, indirect probes) so that peers do not suspect this
  // node, and nothing else moves: membership events wait for the next handle_gossip or
  // settle. Its replies come out of poll_gossip_send().
  void handle_gossip_while_busy(TimePoint now, std::span<const std::uint8_t> bytes);
  void handle_data(TimePoint now, WallTime wall, std::span<const std::uint8_t> bytes);
  void handle_timeout(TimePoint now, WallTime wall);
  // After client input: moves completions to the router and replies out, until quiet; then
  // appends the pass's changes to the AOF and syncs it by policy. The driver calls it before
  // it sends the pass's replies and data messages (so `appendfsync always` holds them until
  // their writes are on disk), and must check persistence_fatal() before sending anything.
  void settle(TimePoint now, WallTime wall);
  // Under `appendfsync always` the AOF failed: the last writes cannot be made durable, so the
  // node must stop without sending the replies or acknowledgements it holds.
  bool persistence_fatal() const;
  // A clean stop of persistence (sync the AOF; a snapshot when save rules are set).
  Status close_persistence(TimePoint now, WallTime wall);
  Persistence* persistence();  // nullptr without an Env
  TimePoint next_deadline() const;

  std::optional<gossip::Outgoing> poll_gossip_send();
  std::optional<replication::Outgoing> poll_data_send();
  std::optional<CoreEvent> poll_event();
  std::vector<routing::ClientReply> take_client_replies();
  std::vector<routing::CallReply> take_call_replies();

  const std::string& name() const;
  const NodeId& actor() const;  // this instance's replica actor (store dots)
  bool serving() const;         // a first ring view is set
  const NodeCoreConfig& config() const;
  gossip::Swim& swim();
  const gossip::Swim& swim() const;
  store::Store& store();
  replication::Replicator& replicator();
  const replication::Replicator& replicator() const;
  resp::Server& resp_server();
  routing::Router& router();

  struct Impl;

 private:
  explicit NodeCore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The replica actor id of one node instance: its name mixed with the instance's seed, so a
// restarted node never reuses the dots it issued before it lost its memory.
NodeId actor_for(std::string_view name, std::uint64_t seed);

}  // namespace apiary::core
