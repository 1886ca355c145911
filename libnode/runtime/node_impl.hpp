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
#include "apiary/core/node_core.hpp"
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

  zmq::context_t context{1};  // outlives every socket below
  std::unique_ptr<zmqx::Mailbox> gossip_box;
  std::unique_ptr<zmqx::Mailbox> data_box;
  std::string data_advertised;
  EventLoop loop;
  std::thread thread;
  std::unique_ptr<http::AdminServer> admin;
  // The node's logic (sans-IO); this driver moves bytes and time for it. Declared before
  // the listener: connections unregister from the core's server when the listener goes.
  std::unique_ptr<core::NodeCore> core;
  std::unique_ptr<runtime::RespListener> resp_listener;
  // The embedding API: data calls through the router, and event subscribers.
  std::unique_ptr<runtime::DataCalls> calls;
  runtime::Subscribers<gossip::MemberEvent> member_subscribers;
  runtime::Subscribers<PartitionEvent> partition_subscribers;
  std::atomic<SubscriptionId> next_subscription{1};
  std::atomic<bool> running{false};  // the loop thread runs (stats() asks it)
  std::atomic<bool> stopped{false};  // stop() was called: leave() has nothing left to do

  CoreTimer core_timer;
  std::vector<std::uint8_t> rx;
  std::vector<std::uint8_t> data_rx;

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
  std::shared_future<Status> leave_result;  // set by the first leave() call
  std::once_flag stop_once;

  void refresh_snapshot() {
    auto members = core->swim().members();
    std::lock_guard<std::mutex> lock(snapshot_mutex);
    snapshot = std::move(members);
    stats_snapshot = core->swim().stats();
  }

  // After every batch of callbacks: feed the core what arrived, drain its output and re-arm
  // its timer.
  void pump() {
    const TimePoint now = core_now();
    const WallTime wall = runtime::wall_now();
    // ZeroMQ's fds are edge-like: never leave messages unread.
    while (gossip_box->receive(rx)) core->handle_gossip(now, wall, rx);
    while (data_box->receive(data_rx)) core->handle_data(now, wall, data_rx);
    deliver(now, wall);
    while (auto out = core->poll_gossip_send()) gossip_box->send(out->to, out->bytes, now);
    on_events(now, wall);
    check_leave();
    core_timer.follow(loop, core->next_deadline(),
                      [this] { core->handle_timeout(core_now(), runtime::wall_now()); });
  }

  // Moves replies and data messages until nothing is left to do: delivering a reply resumes
  // the client's pipeline, which may start new operations.
  void deliver(TimePoint now, WallTime wall) {
    for (bool progress = true; progress;) {
      progress = false;
      core->settle(now, wall);
      for (auto& reply : core->take_client_replies()) {
        progress = true;
        if (resp_listener) resp_listener->complete(reply.client, reply.token.value, reply.bytes);
      }
      if (auto replies = core->take_call_replies(); !replies.empty()) {
        progress = true;
        calls->deliver(std::move(replies));
      }
      while (auto out = core->poll_data_send()) data_box->send(out->to, out->bytes, now);
    }
    if (resp_listener) resp_listener->flush_completed();
  }

  void on_events(TimePoint now, WallTime wall) {
    bool members_changed = false;
    while (auto event = core->poll_event()) {
      if (auto* m = std::get_if<core::MemberChanged>(&*event)) {
        members_changed = true;
        const auto& member = m->event.member;
        spdlog::info("member {} ({}) {} incarnation={}", member.name, member.addr,
                     gossip::to_string(m->event.kind), member.incarnation.value);
        if (m->ring_mismatch) {
          spdlog::error(
              "member {} uses partitions/replicas {} but this node {}: it gets no partitions "
              "here (every member must use the same --partitions and --replicas)",
              member.name, member.meta.tags.at(std::string(replication::kRingTag)),
              replication::ring_signature(core->config().replication));
        }
        member_subscribers.publish(m->event);
      } else if (auto* v = std::get_if<core::ViewChanged>(&*event)) {
        {
          std::lock_guard<std::mutex> lock(snapshot_mutex);
          table = v->table;
        }
        calls->set_ready(now, wall);
        if (!partition_subscribers.empty()) {
          partition_subscribers.publish(partition_event(v->before.get(), *v->table, name));
        }
      } else if (auto* t = std::get_if<core::LeaveTimedOut>(&*event)) {
        leave_incomplete = true;
        if (t->during_handoff) {
          spdlog::warn("leave: handoff did not finish within {} ms; leaving anyway",
                       config.handoff_timeout.count());
        } else {
          spdlog::warn("leave timed out before the announcement finished");
        }
      } else if (std::holds_alternative<core::JoinTimedOut>(*event)) {
        spdlog::warn("no seed answered within 10 s; serving data with the members known");
      }
    }
    if (members_changed) refresh_snapshot();
  }

  void check_leave() {
    if (leave_signalled || core->leave_state() != core::LeaveState::done) return;
    leave_signalled = true;
    if (!core->leave_incomplete()) spdlog::info("leave: every partition handed off");
    refresh_snapshot();
    left.set_value();
    loop.stop();
  }

  void start_leave() {
    spdlog::info("leave: handing partitions off");
    core->leave(core_now(), runtime::wall_now());
  }

  void housekeeping() {
    refresh_snapshot();
    gossip_box->close_idle_peers(core_now());
    loop.schedule(core_now() + std::chrono::seconds(1), [this] { housekeeping(); });
  }

  Status start_core(std::uint64_t seed) {
    core::NodeCoreConfig c;
    c.name = name;
    c.swim = config.swim;
    c.gossip_addr = advertise;
    c.cluster_name = config.cluster_name;
    c.replication = config.replication;
    c.replication.partition_count = config.partition_count;
    c.replication.replicas = config.replicas;
    c.replication.write_quorum = config.write_quorum;
    c.replication.read_quorum = config.read_quorum;
    c.ring.dead_grace = config.dead_grace;
    c.store.maxmemory = config.maxmemory;
    auto policy = store::parse_eviction_policy(config.maxmemory_policy);
    if (!policy) {
      return make_error(StatusCode::invalid_argument,
                        "unknown maxmemory policy '" + config.maxmemory_policy + "'");
    }
    c.store.policy = *policy;
    c.seed = seed;
    c.handoff_timeout = config.handoff_timeout;
    c.leave_timeout = config.leave_timeout;
    char run_id[41];
    std::uint64_t id_state = seed;
    for (int i = 0; i < 40; i += 16) {
      std::snprintf(run_id + i, sizeof run_id - static_cast<std::size_t>(i), "%016llx",
                    static_cast<unsigned long long>(splitmix64(id_state)));
    }
    run_id[40] = 0;
    c.identity.run_id = run_id;
    c.identity.tcp_port = 0;
    if (!config.client_addr.empty()) {
      auto client = parse_host_port(config.client_addr);
      if (!client.ok()) {
        return make_error(StatusCode::invalid_argument,
                          "client address " + client.status().message());
      }
      c.identity.tcp_port = client->port;
    }
    auto made = core::NodeCore::create(std::move(c), core_now());
    if (!made.ok()) return made.status();
    core = std::move(made).value();
    calls = std::make_unique<runtime::DataCalls>(loop, config.replicas);
    calls->set_router(&core->router());
    return Status::Ok();
  }

  // The Redis port: the listener feeds client bytes to connections on the core's server.
  Status start_listener() {
    if (config.client_addr.empty()) return Status::Ok();
    auto listener = runtime::RespListener::start(loop, core->resp_server(), config.client_addr);
    if (!listener.ok()) return listener.status();
    resp_listener = std::move(listener).value();
    client_bound = resp_listener->bound_addr();
    const HostPort bound = *parse_host_port(client_bound);
    core->resp_server().config().set_readonly("port", std::to_string(bound.port));
    core->resp_server().config().set_readonly("bind", bound.host);
    return Status::Ok();
  }
};

}  // namespace apiary
