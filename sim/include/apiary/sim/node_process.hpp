// NodeProcess: one simulated member running the node's real logic, core::NodeCore -- gossip,
// store, replication, the Redis command layer and the Router -- driven the way the runtime
// drives it (libnode/runtime/node_impl.hpp: pump(), deliver(), on_events()), with the
// simulated network instead of ZeroMQ and virtual time instead of the steady clock.
//
// Addresses: gossip datagrams go to "n<i>:7946", data messages to "n<i>:data" (published as
// the member's data_addr), over the same simulated network, so latency, loss, partitions,
// pauses and crashes hit both. Time is the node's local TimePoint; the wall clock is a fixed
// epoch plus local time (wall_of), enough for TTLs, tombstone grace and the HLC.
//
// Clients: send() feeds one RESP command to a resp::Connection on the core's resp::Server,
// one connection per simulated client (made at first use, kept for the instance's life), as
// runtime::RespListener feeds the bytes it reads from a socket. A reply leaves either at once
// or once the cluster answered (NodeCore::take_client_replies -> Connection::complete, looped
// until quiet, as the runtime's deliver() does). Replies are parsed (resp_reply.hpp) and
// handed out by poll_reply(), tagged with the request id the client gave, in the order of the
// connection's requests -- which is the order Redis promises on one connection. A crash
// destroys the connections with the core: their pending requests never get a reply.
//
// join/leave/leave_done map to NodeCore::join, NodeCore::leave and leave_state() == done.
//
// Disks: with NodeOptions::appendfsync set, the core persists to `disk` ("/data", an AOF) and
// loads it when the process starts again. Replies and data messages leave only after the
// core's settle() (which syncs under `always`), as in the runtime. A node whose AOF fails
// under `always` stops answering anything (the runtime exits).
// Deterministic: the core's seed comes from the Rng the factory gets. Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/status.hpp"
#include "apiary/core/node_core.hpp"
#include "apiary/gossip/swim_config.hpp"
#include "apiary/persist/env.hpp"
#include "apiary/replication/membership_view.hpp"
#include "apiary/replication/replication_config.hpp"
#include "apiary/resp/connection.hpp"
#include "apiary/sim/process.hpp"
#include "apiary/sim/resp_reply.hpp"

namespace apiary::sim {

struct NodeOptions {
  replication::ReplicationConfig replication;  // partitions, replicas, quorums, intervals
  replication::RingPolicy ring;
  // The world stops a leaving node after WorldConfig::leave_timeout (10 s): the handoff and
  // the announcement must fit in it, or the others would see a crash instead of a leave.
  std::chrono::milliseconds handoff_timeout{7000};
  std::chrono::milliseconds leave_timeout{2000};
  // Persistence (WorkloadOptions::appendfsync): "" none. The disks outlive the processes:
  // node_factory keeps one SimEnv per node index and crashes it before every restart.
  std::string appendfsync;
  // The AOF is rewritten (compacted) once it passes this size and has doubled since the last
  // rewrite. Far below the runtime's 64 MiB: a hash or set write logs the key's whole state,
  // and the simulated disk copies the file on every sync, so without rewrites the workload's
  // sets made a 90 s run with appendfsync always take minutes (quadratic in the file size).
  std::uint64_t aof_rewrite_min_size = 256u << 10;
  double zeroed_tail_probability = 0.0;
  std::uint64_t disk_seed = 1;
};

// A reply one of the process's client connections received.
struct ClientReply {
  std::uint32_t client = 0;
  std::uint64_t request = 0;  // the id given to send(); 0 for a push
  RespReply reply;
  // A pub/sub message (RESP2 "message"/"pmessage"/"smessage" array), not a command's reply.
  bool push = false;
};

class NodeProcess final : public Process {
 public:
  // Use node_factory(); `options` must be valid (check_node_options).
  NodeProcess(const gossip::SwimConfig& swim, const NodeOptions& options, const ProcessSpec& spec,
              Rng rng, TimePoint now, persist::Env* disk = nullptr);
  ~NodeProcess() override;

  void join(TimePoint now, std::vector<std::string> seeds) override;
  void leave(TimePoint now) override;
  bool leave_done() const override;
  void handle_message(TimePoint now, std::span<const std::uint8_t> bytes) override;
  void handle_data_message(TimePoint now, std::span<const std::uint8_t> bytes) override;
  void handle_timeout(TimePoint now) override;
  TimePoint next_deadline() const override;
  std::optional<gossip::Outgoing> poll_send() override;
  std::optional<gossip::MemberEvent> poll_event() override;
  std::vector<gossip::Member> members() const override;
  ProcessCounters counters() const override;
  NodeProcess* node() override { return this; }

  // One RESP command from `client` (a simulated connection of its own on this node), or a
  // pipeline of `replies` commands fed at once: each of their replies carries `request`.
  void send(TimePoint now, std::uint32_t client, std::uint64_t request, std::string_view bytes,
            std::uint32_t replies = 1);
  std::optional<ClientReply> poll_reply();
  // The client closes its connection (its subscriptions go with it, as a socket's close).
  void disconnect(TimePoint now, std::uint32_t client);

  core::NodeCore& core() { return *core_; }
  const core::NodeCore& core() const { return *core_; }
  std::uint32_t index() const { return index_; }
  static WallTime wall_of(TimePoint local);

 private:
  struct Client {
    std::uint32_t index = 0;
    std::unique_ptr<resp::Connection> conn;
    std::deque<std::uint64_t> requests;  // sent, not answered yet (replies come in this order)
  };

  // After every input: replies to clients, data messages and events out, until quiet.
  void pump(TimePoint now);
  void drain_output(Client& client);
  Client* client_by_id(resp::ClientId id);

  std::uint32_t index_ = 0;
  // Declared before the clients: a connection unregisters from the core's server when it
  // goes, so the clients must be destroyed first.
  std::unique_ptr<core::NodeCore> core_;
  std::map<std::uint32_t, Client> clients_;  // by the workload's client index
  std::map<resp::ClientId, std::uint32_t> by_id_;
  std::deque<replication::Outgoing> data_out_;
  std::deque<gossip::MemberEvent> events_;
  std::deque<ClientReply> replies_;
  bool dead_ = false;  // persistence_fatal(): the process would have exited
};

// The check NodeCore::create makes (partition count, quorums), without making a node.
Status check_node_options(const NodeOptions& options);
ProcessFactory node_factory(gossip::SwimConfig swim, NodeOptions options);

}  // namespace apiary::sim
