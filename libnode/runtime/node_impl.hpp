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

#include <algorithm>
#include <atomic>
#include <future>
#include <mutex>
#include <random>
#include <thread>
#include <zmq.hpp>

#include "apiary/base/host_port.hpp"
#include "apiary/cluster/partition_table.hpp"
#include "apiary/data/partition.hpp"
#include "apiary/http/admin_server.hpp"
#include "apiary/node.hpp"
#include "apiary/replication/membership_view.hpp"
#include "apiary/replication/replicator.hpp"
#include "apiary/resp/server.hpp"
#include "apiary/routing/router.hpp"
#include "apiary/runtime/event_loop.hpp"
#include "apiary/runtime/resp_listener.hpp"
#include "apiary/store/store.hpp"
#include "apiary/zmq/mailbox.hpp"
#include "data_calls.hpp"
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

inline bool same_ring(const replication::ClusterView& a, const replication::ClusterView& b) {
  const auto& x = a.members();
  const auto& y = b.members();
  if (x.size() != y.size()) return false;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (x[i].name != y[i].name || x[i].data_addr != y[i].data_addr || x[i].live != y[i].live) {
      return false;
    }
  }
  return true;
}

}  // namespace node_detail

using node_detail::CoreTimer;
using node_detail::partition_event;
using node_detail::same_ring;
using runtime::core_now;
using runtime::EventLoop;

struct Node::Impl {
  NodeConfig config;
  std::string name;
  std::string advertise;
  std::string http_bound;
  std::string client_bound;

  zmq::context_t context{1};  // outlives every socket below
  std::unique_ptr<zmqx::Mailbox> gossip_box;
  std::unique_ptr<zmqx::Mailbox> data_box;
  std::string data_advertised;
  std::unique_ptr<gossip::Swim> swim;
  EventLoop loop;
  std::thread thread;
  std::unique_ptr<http::AdminServer> admin;
  // Declared in dependency order (destroyed in reverse): connections unregister from the
  // server, the router points at the server and the replicator, the replicator at the store,
  // and the listener unwatches its fds from the loop when destroyed.
  std::unique_ptr<store::Store> store;
  replication::ReplicationConfig repl_config;
  replication::RingPolicy ring_policy;
  replication::ClusterView current_view;  // the last view given to the replicator
  bool has_view = false;
  bool joined = false;  // false until a first view with other members (when seeded)
  TimePoint join_deadline;
  std::unique_ptr<replication::Replicator> replicator;
  std::unique_ptr<resp::Server> resp_server;
  std::unique_ptr<routing::Router> router;
  std::unique_ptr<runtime::RespListener> resp_listener;
  // The embedding API: data calls through the router, and event subscribers.
  std::unique_ptr<runtime::DataCalls> calls;
  runtime::Subscribers<gossip::MemberEvent> member_subscribers;
  runtime::Subscribers<PartitionEvent> partition_subscribers;
  std::atomic<SubscriptionId> next_subscription{1};
  std::atomic<bool> running{false};  // the loop thread runs (stats() asks it)
  std::atomic<bool> stopped{false};  // stop() was called: leave() has nothing left to do

  CoreTimer swim_timer;
  CoreTimer repl_timer;
  CoreTimer ring_timer;
  CoreTimer leave_timer;
  std::vector<std::uint8_t> rx;
  std::vector<std::uint8_t> data_rx;
  // Set whenever the gossip core got input; the after-batch pump skips it otherwise, so
  // client traffic does not pay for gossip bookkeeping on every loop iteration.
  bool swim_touched = true;

  mutable std::mutex snapshot_mutex;
  std::vector<gossip::Member> snapshot;
  // The replication core's table, republished whenever its ring changes.
  std::shared_ptr<const cluster::PartitionTable> table;
  gossip::SwimStats stats_snapshot;

  // A graceful leave hands data off first, then announces the departure.
  enum class LeavePhase : unsigned char { none, handoff, announce } leave_phase = LeavePhase::none;
  TimePoint leave_deadline;
  std::promise<void> left;
  std::atomic<bool> leave_incomplete{false};  // the handoff or announcement ran out of time
  std::mutex leave_mutex;
  std::shared_future<Status> leave_result;  // set by the first leave() call
  std::once_flag stop_once;

  void on_gossip_readable() {
    while (gossip_box->receive(rx)) {
      swim->handle_message(core_now(), rx);
      swim_touched = true;
    }
  }

  void refresh_snapshot() {
    auto members = swim->members();
    std::lock_guard<std::mutex> lock(snapshot_mutex);
    snapshot = std::move(members);
    stats_snapshot = swim->stats();
  }

  // Rebuilds the replication view from the member list (the ring policy decides who is in
  // the ring and live) and hands it to the replicator when it changed.
  void update_view() {
    const TimePoint now = core_now();
    const auto members = swim->members();
    // A node joining through seeds would own every key in a view of itself alone (and answer
    // "missing" for keys the cluster holds): it waits for a seed's member list, or for the
    // join to time out (then it serves with the members it knows, maybe only itself).
    if (!joined) {
      // Not before a seed's member list arrived: a node joining at the same moment may be
      // the first member gossip brings, and a view of the two would own every key.
      if (swim->joining() && now < join_deadline) {
        ring_timer.follow(loop, join_deadline, [this] { update_view(); });
        return;
      }
      if (swim->joining())
        spdlog::warn("no seed answered within 10 s; serving data with the members known");
      joined = true;
    }
    auto view = replication::view_from_members(name, members, now, repl_config, ring_policy);
    if (!has_view || !same_ring(view, current_view)) {
      has_view = true;
      current_view = view;
      auto published = std::make_shared<const cluster::PartitionTable>(view.table());
      const WallTime wall = runtime::wall_now();
      replicator->set_view(now, wall, std::move(view));
      std::shared_ptr<const cluster::PartitionTable> before;
      {
        std::lock_guard<std::mutex> lock(snapshot_mutex);
        before = std::move(table);
        table = published;
      }
      calls->set_ready(now, wall);
      if (!partition_subscribers.empty()) {
        partition_subscribers.publish(partition_event(before.get(), *published, name));
      }
    }
    ring_timer.follow(loop, replication::next_ring_change(members, now, ring_policy),
                      [this] { update_view(); });
  }

  // After every batch of callbacks: drain the cores' output and re-arm their timers.
  void pump() {
    pump_gossip();
    pump_data();
    check_leave();
  }

  void pump_gossip() {
    if (!swim_touched && leave_phase != LeavePhase::announce) return;
    swim_touched = false;
    const TimePoint now = core_now();
    on_gossip_readable();  // ZeroMQ's fd is edge-like: never leave messages unread
    while (auto out = swim->poll_send()) gossip_box->send(out->to, out->bytes, now);
    bool changed = false;
    while (auto event = swim->poll_event()) {
      changed = true;
      const auto& m = event->member;
      spdlog::info("member {} ({}) {} incarnation={}", m.name, m.addr,
                   gossip::to_string(event->kind), m.incarnation.value);
      if (event->kind == gossip::MemberEventKind::joined &&
          !replication::ring_compatible(m, repl_config)) {
        spdlog::error(
            "member {} uses partitions/replicas {} but this node {}: it gets no partitions here "
            "(every member must use the same --partitions and --replicas)",
            m.name, m.meta.tags.at(std::string(replication::kRingTag)),
            replication::ring_signature(repl_config));
      }
      member_subscribers.publish(*event);
    }
    if (changed) {
      refresh_snapshot();
      update_view();
    } else if (!joined && !swim->joining()) {
      update_view();  // the join completed without news: gossip brought every member first
    }
    swim_timer.follow(loop, swim->next_deadline(), [this] {
      swim->handle_timeout(core_now());
      swim_touched = true;
    });
  }

  // Moves data messages, completions and client replies until nothing is left to do:
  // delivering a reply resumes the client's pipeline, which may start new operations.
  void pump_data() {
    const TimePoint now = core_now();
    const WallTime wall = runtime::wall_now();
    while (data_box->receive(data_rx)) replicator->handle_message(now, wall, data_rx);
    for (bool progress = true; progress;) {
      progress = false;
      while (auto c = replicator->poll_completion()) {
        progress = true;
        router->on_completion(*c, now, wall);
      }
      for (auto& reply : router->take_replies()) {
        progress = true;
        if (resp_listener) resp_listener->complete(reply.client, reply.token.value, reply.bytes);
      }
      if (auto replies = router->take_call_replies(); !replies.empty()) {
        progress = true;
        calls->deliver(std::move(replies));
      }
      while (auto out = replicator->poll_send()) data_box->send(out->to, out->bytes, now);
    }
    if (resp_listener) resp_listener->flush_completed();
    repl_timer.follow(loop, replicator->next_deadline(),
                      [this] { replicator->handle_timeout(core_now(), runtime::wall_now()); });
  }

  void check_leave() {
    const TimePoint now = core_now();
    if (leave_phase == LeavePhase::handoff &&
        (!replicator->handoff_pending() || now >= leave_deadline)) {
      if (replicator->handoff_pending()) {
        leave_incomplete = true;
        spdlog::warn("leave: handoff did not finish within {} ms; leaving anyway",
                     config.handoff_timeout.count());
      } else {
        spdlog::info("leave: every partition handed off");
      }
      swim->leave(now);
      swim_touched = true;
      leave_phase = LeavePhase::announce;
      leave_deadline = now + config.leave_timeout;
      leave_timer.follow(loop, leave_deadline, [] {});
      pump_gossip();
    }
    if (leave_phase == LeavePhase::announce && (swim->leave_done() || now >= leave_deadline)) {
      leave_phase = LeavePhase::none;
      if (!swim->leave_done()) {
        leave_incomplete = true;
        spdlog::warn("leave timed out before the announcement finished");
      }
      refresh_snapshot();
      left.set_value();
      loop.stop();
    }
  }

  void start_leave() {
    const TimePoint now = core_now();
    spdlog::info("leave: handing partitions off");
    replicator->leave(now, runtime::wall_now());
    leave_phase = LeavePhase::handoff;
    leave_deadline = now + config.handoff_timeout;
    leave_timer.follow(loop, leave_deadline, [] {});  // wakes check_leave() at the deadline
  }

  void housekeeping() {
    refresh_snapshot();
    gossip_box->close_idle_peers(core_now());
    loop.schedule(core_now() + std::chrono::seconds(1), [this] { housekeeping(); });
  }

  // Redis runs its active expiry 10 times a second (hz 10); so do we.
  void expire_cycle() {
    store->active_expire_cycle(runtime::wall_now());
    loop.schedule(core_now() + std::chrono::milliseconds(100), [this] { expire_cycle(); });
  }

  void cluster_info(std::string& out) {
    std::lock_guard<std::mutex> lock(snapshot_mutex);
    std::size_t alive = 0;
    for (const auto& m : snapshot) {
      if (m.state == gossip::MemberState::alive || m.state == gossip::MemberState::suspect) {
        ++alive;
      }
    }
    out += "cluster_name:" + config.cluster_name + "\r\n";
    out += "cluster_node:" + name + "\r\n";
    out += "cluster_known_members:" + std::to_string(snapshot.size()) + "\r\n";
    out += "cluster_alive_members:" + std::to_string(alive) + "\r\n";
    if (table) {
      std::size_t primary = 0, owned = 0;
      for (std::uint32_t p = 0; p < table->partition_count(); ++p) {
        auto owners = table->owner_indices(PartitionId{p});
        for (std::size_t r = 0; r < owners.size(); ++r) {
          if (table->members()[owners[r]] != name) continue;
          ++owned;
          if (r == 0) ++primary;
        }
      }
      out += "cluster_partitions:" + std::to_string(table->partition_count()) + "\r\n";
      out += "cluster_replicas:" + std::to_string(table->replicas()) + "\r\n";
      out += "cluster_partitions_primary:" + std::to_string(primary) + "\r\n";
      out += "cluster_partitions_owned:" + std::to_string(owned) + "\r\n";
    }
    const auto& r = replicator->stats();
    const auto& routed = router->stats();
    auto put = [&out](std::string_view key, std::uint64_t v) {
      out.append(key);
      out += ":" + std::to_string(v) + "\r\n";
    };
    put("cluster_write_quorum", config.write_quorum);
    put("cluster_read_quorum", config.read_quorum);
    // What members must agree on (partitions/replicas): see replication::ring_compatible.
    out += "cluster_ring:" + replication::ring_signature(repl_config) + "\r\n";
    put("cluster_handoff_pending", replicator->handoff_pending() ? 1 : 0);
    put("cluster_partitions_promoting", replicator->partitions_promoting());
    put("cluster_pending_operations", replicator->pending_operations() + router->pending());
    put("cluster_hints", replicator->hint_count());
    put("cluster_commands_local", routed.local);
    put("cluster_commands_forwarded", routed.forwarded);
    put("cluster_commands_fanned_out", routed.fanned_out);
    put("cluster_commands_run_for_peers", routed.run_for_peers);
    put("cluster_write_quorum_failures", routed.write_failures);
    put("cluster_forward_failures", routed.forward_failures);
    put("cluster_writes_ok", r.writes_ok);
    put("cluster_write_timeouts", r.write_timeouts);
    put("cluster_read_repairs", r.read_repairs);
    put("cluster_hints_delivered", r.hints_delivered);
    put("cluster_anti_entropy_rounds", r.anti_entropy_rounds);
    put("cluster_anti_entropy_keys_received", r.anti_entropy_keys_received);
    put("cluster_handoff_entries_sent", r.handoff_entries_sent);
    put("cluster_handoff_bytes_sent", r.handoff_bytes_sent);
    put("cluster_handoff_entries_received", r.handoff_entries_received);
    put("cluster_partitions_dropped", r.partitions_dropped);
    put("cluster_promotions", r.promotions_started);
    put("cluster_promotions_completed", r.promotions_completed);
    put("cluster_data_malformed_dropped", r.malformed_dropped);
    std::size_t i = 0;
    for (const auto& m : snapshot) {
      out += "member" + std::to_string(i++) + ":name=" + m.name + ",addr=" + m.addr +
             ",state=" + std::string(gossip::to_string(m.state)) +
             ",incarnation=" + std::to_string(m.incarnation.value) +
             ",client_addr=" + (m.meta.client_addr.empty() ? "-" : m.meta.client_addr) + "\r\n";
    }
  }

  Status start_data_path(std::uint64_t seed) {
    store::StoreConfig store_config;
    // One actor id per process lifetime: the name hashed with a random nonce, so a restarted
    // node never reuses dots it issued before it lost its memory.
    std::uint64_t mix = seed;
    for (char c : name) mix = (mix ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    store_config.self = NodeId{splitmix64(mix)};
    store_config.seed = seed;
    // The store scans and drops whole partitions for handoff: it must split keys exactly as
    // the replication core does.
    store_config.partition_count = config.partition_count;
    store_config.maxmemory = config.maxmemory;
    auto policy = store::parse_eviction_policy(config.maxmemory_policy);
    if (!policy) {
      return make_error(StatusCode::invalid_argument,
                        "unknown maxmemory policy '" + config.maxmemory_policy + "'");
    }
    store_config.policy = *policy;
    store = std::make_unique<store::Store>(store_config);

    repl_config = config.replication;
    repl_config.cluster_name = config.cluster_name;
    repl_config.partition_count = config.partition_count;
    repl_config.replicas = config.replicas;
    repl_config.write_quorum = config.write_quorum;
    repl_config.read_quorum = config.read_quorum;
    repl_config.seed = seed;
    ring_policy.dead_grace = config.dead_grace;
    replicator = std::make_unique<replication::Replicator>(repl_config, *store);

    // The RESP server runs commands for peers (forwarded to this owner) even when no client
    // port is open; the listener only exists with a client address.
    resp::ServerIdentity identity;
    identity.node_name = name;
    char run_id[41];
    std::uint64_t id_state = seed;
    for (int i = 0; i < 40; i += 16) {
      std::snprintf(run_id + i, sizeof run_id - static_cast<std::size_t>(i), "%016llx",
                    static_cast<unsigned long long>(splitmix64(id_state)));
    }
    run_id[40] = 0;
    identity.run_id = run_id;
    identity.tcp_port = 0;
    if (!config.client_addr.empty()) {
      auto client = parse_host_port(config.client_addr);
      if (!client.ok()) {
        return make_error(StatusCode::invalid_argument,
                          "client address " + client.status().message());
      }
      identity.tcp_port = client->port;
    }
    resp_server = std::make_unique<resp::Server>(identity);
    resp_server->attach_store(store.get());
    // CONFIG SET of the memory parameters applies to the running store.
    resp_server->config().set_listener([this](const std::vector<std::string>&) {
      const auto& c = resp_server->config();
      auto p = store::parse_eviction_policy(c.maxmemory_policy());
      store->set_memory_policy(static_cast<std::size_t>(c.maxmemory()),
                               p ? *p : store->config().policy,
                               static_cast<std::size_t>(c.maxmemory_samples()));
    });
    resp_server->set_info_section("cluster", [this](std::string& out) { cluster_info(out); });
    routing::RouterConfig route;
    route.write_quorum = config.write_quorum;
    route.read_quorum = config.read_quorum;
    // Room for the envelope, the key's version vector and siblings.
    route.max_command_bytes = repl_config.max_message_bytes - (64u << 10);
    router = std::make_unique<routing::Router>(*resp_server, *replicator, route, [] {
      return std::make_pair(core_now(), runtime::wall_now());
    });
    calls = std::make_unique<runtime::DataCalls>(loop, config.replicas);
    calls->set_router(router.get());
    if (config.client_addr.empty()) return Status::Ok();
    auto listener = runtime::RespListener::start(loop, *resp_server, config.client_addr);
    if (!listener.ok()) return listener.status();
    resp_listener = std::move(listener).value();
    client_bound = resp_listener->bound_addr();
    const HostPort bound = *parse_host_port(client_bound);
    resp_server->config().set_readonly("port", std::to_string(bound.port));
    resp_server->config().set_readonly("bind", bound.host);
    return Status::Ok();
  }
};

}  // namespace apiary
