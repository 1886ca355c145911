// Node::Impl: the state of one running member, shared by node.cpp (start, leave, stop) and
// node_api.cpp (the embedding API). Internal to libnode/runtime.
// Thread safety: everything below belongs to the loop thread, except what is marked as
// guarded by a mutex or atomic (snapshots, subscribers, the call registry, lifecycle flags).
#pragma once

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <future>
#include <mutex>
#include <random>
#include <thread>
#include <zmq.hpp>

#include "apiary/base/host_port.hpp"
#include "apiary/cluster/partition_table.hpp"
#include "apiary/core/node_core.hpp"
#include "apiary/data/partition.hpp"
#include "apiary/http/admin_server.hpp"
#include "apiary/node.hpp"
#include "apiary/persist/posix_env.hpp"
#include "apiary/replication/membership_view.hpp"
#include "apiary/replication/replicator.hpp"
#include "apiary/resp/server.hpp"
#include "apiary/routing/router.hpp"
#include "apiary/runtime/data_link.hpp"
#include "apiary/runtime/event_loop.hpp"
#include "apiary/runtime/resp_listener.hpp"
#include "apiary/runtime/seed_resolver.hpp"
#include "apiary/store/store.hpp"
#include "apiary/zmq/mailbox.hpp"
#include "cluster_keys.hpp"
#include "data_calls.hpp"
#include "event_log.hpp"
#include "migrator.hpp"
#include "subscribers.hpp"

namespace apiary {

namespace node_detail {

using runtime::core_now;
using runtime::EventLoop;

// A loop timer that follows a core's next_deadline(): re-armed only when the deadline moves.
struct CoreTimer {
  EventLoop::TimerId id = 0;
  TimePoint at = kNever;

  template <typename Fire>
  void follow(EventLoop& loop, TimePoint deadline, Fire fire) {
    if (deadline == at) return;
    if (id != 0) loop.cancel(id);
    id = 0;
    at = deadline;
    if (deadline == kNever) return;
    id = loop.schedule(deadline, [this, fire] {
      id = 0;
      at = kNever;
      fire();
    });
  }
};

inline std::vector<PartitionOwners> owners_of(const cluster::PartitionTable& table) {
  std::vector<PartitionOwners> out(table.partition_count());
  for (std::uint32_t p = 0; p < table.partition_count(); ++p) {
    out[p].partition = p;
    for (std::uint32_t i : table.owner_indices(PartitionId{p})) {
      out[p].owners.push_back(table.members()[i]);
    }
  }
  return out;
}

// The event for a new table: every partition's owners, and what `self` gained and lost
// compared with `before` (nullptr: the first table).
inline PartitionEvent partition_event(const cluster::PartitionTable* before,
                                      const cluster::PartitionTable& now, const std::string& self) {
  PartitionEvent event;
  event.partition_count = now.partition_count();
  event.replicas = now.replicas();
  event.partitions = owners_of(now);
  for (std::uint32_t p = 0; p < now.partition_count(); ++p) {
    const bool had =
        before != nullptr && p < before->partition_count() && before->owns(self, PartitionId{p});
    const bool has = now.owns(self, PartitionId{p});
    if (has && !had) event.gained.push_back(p);
    if (had && !has) event.lost.push_back(p);
  }
  return event;
}

}  // namespace node_detail

using node_detail::CoreTimer;
using node_detail::partition_event;
using runtime::core_now;
using runtime::EventLoop;

struct Node::Impl {
  NodeConfig config;
  std::string name;
  std::string advertise;
  std::string http_bound;
  std::string client_bound;
  std::string tls_bound;  // the Redis port's TLS listener; empty: none
  const TimePoint created = core_now();  // the uptime /v1/stats reports

  zmq::context_t context{1};  // outlives every socket below
  std::unique_ptr<zmqx::Mailbox> gossip_box;
  std::string data_advertised;
  EventLoop loop;
  std::unique_ptr<runtime::DataLink> data_link;  // after the loop: it unwatches on destruction
  // Seeds given by name (node_seeds.cpp); null when every seed is an address. After the
  // loop: its callback posts there.
  std::unique_ptr<runtime::SeedResolver> seed_resolver;
  bool seed_lookup_running = false;
  TimePoint next_seed_lookup = kNever;
  std::vector<std::string> seed_addrs;  // the last list given to the core
  std::string seed_errors;              // the last lookup's errors (logged when they change)
  std::thread thread;
  std::unique_ptr<http::AdminServer> admin;
  // The node's logic (sans-IO); this driver moves bytes and time for it. Declared before
  // the listener: connections unregister from the core's server when the listener goes.
  persist::PosixEnv disk;  // the files persistence reads and writes (NodeConfig::dir)
  std::unique_ptr<core::NodeCore> core;
  std::unique_ptr<runtime::RespListener> resp_listener;
  // The embedding API: data calls through the router, and event subscribers.
  std::unique_ptr<runtime::NearCache> near_cache;  // before calls, which points at it
  std::unique_ptr<runtime::DataCalls> calls;
  // MIGRATE's outbound side (the core's server holds a pointer to it).
  std::unique_ptr<runtime::Migrator> migrator;
  runtime::Subscribers<gossip::MemberEvent> member_subscribers;
  runtime::Subscribers<PartitionEvent> partition_subscribers;
  std::atomic<SubscriptionId> next_subscription{1};
  std::atomic<bool> running{false};  // the loop thread runs (stats() asks it)
  std::atomic<bool> stopped{false};  // stop() was called: leave() has nothing left to do
  std::atomic<bool> leaving{false};  // leave() was called: a busy script is stopped

  CoreTimer core_timer;
  std::vector<std::uint8_t> rx;
  std::vector<std::uint8_t> data_rx;
  // Node-to-node encryption (docs/security.md); null without a cluster key, and then every
  // message goes out and comes in as the core made it.
  std::unique_ptr<runtime::ClusterKeys> cluster_keys;
  std::vector<std::uint8_t> sealed;  // the outgoing message, sealed
  std::vector<std::uint8_t> opened;  // the incoming message, opened
  TimePoint key_file_checked{};

  mutable std::mutex snapshot_mutex;
  std::vector<gossip::Member> snapshot;
  // The replication core's table, republished whenever its ring changes.
  std::shared_ptr<const cluster::PartitionTable> table;
  gossip::SwimStats stats_snapshot;

  // A graceful leave: the core hands data off, then announces the departure.
  bool leave_signalled = false;
  std::promise<void> left;
  std::atomic<bool> leave_incomplete{false};  // the handoff or announcement ran out of time
  std::mutex leave_mutex;
  std::shared_future<Status> leave_result;  // set by the first leave() or drain() call
  // A drain (Node::drain, POST /v1/drain) is a leave that keeps the loop and the admin port
  // running once done, until stop(): GET /readyz then answers "drained". Its result is set
  // on the loop thread when the leave finishes, or by stop() when it never did.
  std::atomic<bool> draining{false};
  std::atomic<bool> drained{false};
  std::promise<Status> drain_done;
  bool drain_done_set = false;  // loop thread, then stop() after joining it
  std::once_flag stop_once;
  // Recent membership, handoff and quorum events (GET /v1/events); thread-safe.
  runtime::EventLog events;

  // Runs `fn` on the loop thread and returns its result (at once when called there or when
  // the loop has stopped); nullopt when the loop did not answer within `wait` (stuck in a
  // long script, or stopping meanwhile). For the admin port's threads.
  template <class T, class Fn>
  std::optional<T> ask_loop(Fn fn, std::chrono::milliseconds wait = std::chrono::seconds(5)) {
    if (calls->on_loop_thread() || !running.load()) return fn();
    auto task = std::make_shared<std::packaged_task<T()>>(std::move(fn));
    auto result = task->get_future();
    loop.post([task] { (*task)(); });
    if (result.wait_for(wait) != std::future_status::ready) return std::nullopt;
    return result.get();
  }

  void refresh_snapshot();
  // Sends a message of the core's on its channel, sealed when the node has a cluster key.
  void send_gossip(const std::string& to, std::span<const std::uint8_t> bytes, TimePoint now) {
    if (!cluster_keys) {
      gossip_box->send(to, bytes, now);
    } else if (cluster_keys->seal(runtime::KeyChannel::gossip, bytes, sealed)) {
      gossip_box->send(to, sealed, now);
    }
  }
  void send_data(const std::string& to, std::span<const std::uint8_t> bytes, TimePoint now) {
    if (!cluster_keys) {
      data_link->send(to, bytes, now);
    } else if (cluster_keys->seal(runtime::KeyChannel::data, bytes, sealed)) {
      data_link->send(to, sealed, now);
    }
  }
  // Feeds the core what arrived, opening each message with the keyring; what does not open
  // is dropped (counted and logged by ClusterKeys).
  void receive_sealed(TimePoint now, WallTime wall);
  // After every batch of callbacks: feed the core what arrived, drain its output and re-arm
  // its timer.
  void pump();
  // Moves replies and data messages until nothing is left to do: delivering a reply resumes
  // the client's pipeline, which may start new operations.
  void deliver(TimePoint now, WallTime wall);
  void on_events(TimePoint now, WallTime wall);
  void check_leave();
  void start_leave();
  // Starts a drain unless a leave or drain already runs; the first one's result either way.
  std::shared_future<Status> begin_drain();
  void finish_drain(Status status);  // loop thread, or stop() after the loop has stopped
  void housekeeping();
  Status start_core(std::uint64_t seed);
  Status meet(std::string_view gossip_addr);  // Node::meet, also for POST /v1/meet
  // node_seeds.cpp: joins through the seeds (names resolved on the resolver's thread), asks
  // for a new lookup when one is due (a loop timer every second), and hands results to the
  // core.
  Status join_seeds(const std::vector<runtime::SeedSpec>& specs);
  void refresh_seeds(TimePoint now);
  void on_seeds(TimePoint now, runtime::ResolvedSeeds resolved);
  Status setup_acl(resp::Server& server);
  // The Redis port: the listener feeds client bytes to connections on the core's server.
  Status start_listener();
  // CONFIG SET of tls-*: loads the new TLS context and (re)binds tls-port; "" or the error.
  std::string apply_tls_config(const resp::ServerConfig& next);
};

}  // namespace apiary
