// RouterCluster: K nodes in one process on virtual time, each with a Store, a Replicator, a
// resp::Server and a routing::Router wired the way libnode/runtime/node.cpp wires them, and
// RESP client connections whose output the test reads (for the Router unit tests).
//
// Promises:
//  - After every input (client bytes, a delivered message, a timeout) every node is pumped
//    exactly like Node::Impl::pump_data(): Replicator completions go to Router::on_completion,
//    Router::take_replies() to Connection::complete, Replicator::poll_send() to the network,
//    repeated until nothing moves.
//  - The network is a FIFO queue with no latency that the test drains with settle(). Messages
//    to a node can be held (kept in the queue until released: a slow node) or dropped (a dead
//    node). advance() moves virtual time through every deadline on the way, so timeouts fire
//    in order.
//  - Views are set explicitly (ClusterView::make over all nodes, each live or not).
// Single-threaded and deterministic; not thread-safe.
#pragma once

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../resp_test_support.hpp"
#include "apiary/data/partition.hpp"
#include "apiary/replication/cluster_view.hpp"
#include "apiary/replication/replicator.hpp"
#include "apiary/resp/connection.hpp"
#include "apiary/resp/server.hpp"
#include "apiary/routing/router.hpp"
#include "apiary/store/store.hpp"

namespace apiary::test {

using namespace std::chrono_literals;

// A RESP request as a client library encodes it.
inline std::string resp_cmd(std::initializer_list<std::string_view> args) {
  return resp_test::cmd(args);
}

inline std::string bulk(std::string_view v) {
  return "$" + std::to_string(v.size()) + "\r\n" + std::string(v) + "\r\n";
}

inline replication::ReplicationConfig routing_config(std::uint32_t n, std::uint32_t w,
                                                     std::uint32_t r) {
  replication::ReplicationConfig c;
  c.partition_count = 64;
  c.replicas = n;
  c.write_quorum = w;
  c.read_quorum = r;
  c.anti_entropy_interval = 0ms;  // keeps the message queue to what the commands cause
  return c;
}

class RouterCluster {
 public:
  struct Node {
    std::string name;
    std::string addr;
    std::unique_ptr<store::Store> store;
    std::unique_ptr<replication::Replicator> rep;
    std::unique_ptr<resp::Server> server;
    std::unique_ptr<routing::Router> router;
  };

  // `route` is every node's RouterConfig (0 = the Replicator's W and R). `ring` (default: all
  // nodes) are the nodes that get a view at once; the others have none until set_views().
  RouterCluster(std::size_t k, replication::ReplicationConfig config,
                routing::RouterConfig route = {}, std::vector<std::size_t> ring = {})
      : config_(std::move(config)) {
    nodes_.reserve(k);
    for (std::size_t i = 0; i < k; ++i) {
      auto n = std::make_unique<Node>();
      n->name = "n" + std::to_string(i);
      n->addr = "data://" + n->name;
      store::StoreConfig sc;
      sc.self = NodeId{i + 1};
      sc.partition_count = config_.partition_count;
      n->store = std::make_unique<store::Store>(sc);
      auto rc = config_;
      rc.seed = config_.seed + i;
      n->rep = std::make_unique<replication::Replicator>(rc, *n->store);
      resp::ServerIdentity id;
      id.node_name = n->name;
      n->server = std::make_unique<resp::Server>(id);
      n->server->attach_store(n->store.get());
      n->router = std::make_unique<routing::Router>(
          *n->server, *n->rep, route, [this] { return std::make_pair(now_, wall()); });
      nodes_.push_back(std::move(n));
    }
    set_views({}, std::move(ring));
    settle_transitions();
  }

  ~RouterCluster() {
    clients_.clear();  // connections before their servers
  }

  std::size_t size() const { return nodes_.size(); }
  Node& node(std::size_t i) { return *nodes_.at(i); }
  store::Store& store(std::size_t i) { return *nodes_.at(i)->store; }
  replication::Replicator& rep(std::size_t i) { return *nodes_.at(i)->rep; }
  routing::Router& router(std::size_t i) { return *nodes_.at(i)->router; }
  const replication::ReplicationConfig& config() const { return config_; }
  TimePoint now() const { return now_; }
  WallTime wall() const { return WallTime{1'700'000'000'000 + to_nanos(now_) / 1'000'000}; }

  // Every node in `ring` (default: all nodes) gets the view of the ring with `down` not live;
  // nodes outside the ring keep the view they had. Settles afterwards unless told not to (a
  // test that wants to act before handoff messages arrive).
  void set_views(const std::set<std::size_t>& down = {}, std::vector<std::size_t> ring = {},
                 bool settle_after = true) {
    if (ring.empty()) {
      for (std::size_t i = 0; i < nodes_.size(); ++i) ring.push_back(i);
    }
    ring_ = std::move(ring);
    for (auto i : ring_) {
      rep(i).set_view(now_, wall(), view_for(i, down));
      router(i).on_view_change(now_, wall());
    }
    if (settle_after) settle();
  }
  replication::ClusterView view_for(std::size_t self, const std::set<std::size_t>& down = {},
                                    const std::vector<std::size_t>& ring = {}) const {
    std::vector<replication::ViewMember> members;
    for (auto i : ring.empty() ? ring_ : ring) {
      members.push_back({nodes_[i]->name, nodes_[i]->addr, down.count(i) == 0});
    }
    return replication::ClusterView::make(nodes_[self]->name, std::move(members), config_);
  }

  // The node index of each owner of `key`, in preference order, in `ring` (default: the
  // current ring).
  std::vector<std::size_t> owners(std::string_view key,
                                  const std::vector<std::size_t>& ring = {}) const {
    const auto view = view_for(ring.empty() ? ring_.front() : ring.front(), {}, ring);
    std::vector<std::size_t> out;
    for (const auto& name : view.owners(data::partition_of(key, view.partition_count()))) {
      out.push_back(static_cast<std::size_t>(std::stoul(name.substr(1))));
    }
    return out;
  }
  // The first "<prefix><i>" whose first owner is node `owner`, or "" when none is found.
  std::string key_owned_by(std::size_t owner, const std::string& prefix = "key") const {
    for (int i = 0; i < 100000; ++i) {
      std::string k = prefix + std::to_string(i);
      if (owners(k).front() == owner) return k;
    }
    return {};
  }
  std::optional<std::string> value(std::size_t i, std::string_view key) {
    auto v = store(i).get_value(key, wall());
    if (!v) return std::nullopt;
    return std::string(*v);
  }

  // Lets time pass until no node waits on a handoff into a partition it owns (on a first view
  // every member may hold data, so reads ask them until each sent its final batch), so a test
  // starts from a cluster in steady state. Bounded by twice handoff_wait_timeout.
  void settle_transitions();

  // ---- Network -------------------------------------------------------------------------
  // Messages to a held node wait in the queue (a slow node); release() lets them through.
  void hold(std::size_t i) { held_.insert(i); }
  void release(std::size_t i) {
    held_.erase(i);
    settle();
  }
  // Messages to and from a dropped node vanish (a dead or unreachable node).
  void drop(std::size_t i) { dropped_.insert(i); }
  void undrop(std::size_t i) { dropped_.erase(i); }
  std::size_t queued() const { return queue_.size(); }

  // Delivers every deliverable message, pumping after each, until none is left.
  void settle();

  // Moves virtual time forward by `d`, firing every Replicator and Server deadline on the way
  // and settling after each.
  void advance(Duration d);

  // ---- Clients -------------------------------------------------------------------------
  // A new client of node `i`; returns its handle.
  std::size_t connect(std::size_t i) {
    auto conn = node(i).server->connect(
        now_, resp::ClientAddress{"10.0.0.1:" + std::to_string(40000 + clients_.size()),
                                  nodes_[i]->name + ":6379", -1});
    clients_.push_back(Client{i, std::move(conn)});
    return clients_.size() - 1;
  }
  // Closes a client's connection as the driver does when the socket goes away.
  void disconnect(std::size_t c) {
    clients_.at(c).conn.reset();
    settle();
  }
  resp::Connection& conn(std::size_t c) { return *clients_.at(c).conn; }
  // Feeds bytes from the client and lets the cluster run until quiet (no time passes).
  void feed(std::size_t c, std::string_view bytes) {
    Client& cl = clients_.at(c);
    cl.conn->feed(now_, wall(), bytes);
    pump(cl.node);
    settle();
  }
  // Everything the client has to read so far (drained).
  std::string read(std::size_t c) {
    resp::Connection& cn = conn(c);
    std::string out(cn.output());
    cn.consume_output(out.size());
    return out;
  }
  // One command, then what the client read.
  std::string call(std::size_t c, std::initializer_list<std::string_view> args) {
    feed(c, resp_cmd(args));
    return read(c);
  }

  // Replies handed to Connection::complete for a client id no connection has (any more).
  std::uint64_t orphan_replies() const { return orphan_replies_; }

 private:
  struct InFlight {
    std::size_t from;
    std::size_t to;
    std::vector<std::uint8_t> bytes;
  };
  struct Client {
    std::size_t node;
    std::unique_ptr<resp::Connection> conn;
  };

  std::size_t index_by_addr(const std::string& addr) const {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i]->addr == addr) return i;
    }
    return nodes_.size();
  }

  // Node::Impl::pump_data() without the socket read.
  void pump(std::size_t i);
  void pump_all() {
    for (std::size_t i = 0; i < nodes_.size(); ++i) pump(i);
  }

  replication::ReplicationConfig config_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<Client> clients_;
  std::deque<InFlight> queue_;
  std::set<std::size_t> held_;
  std::set<std::size_t> dropped_;
  std::vector<std::size_t> ring_;
  TimePoint now_ = from_nanos(1'000'000'000);
  std::uint64_t orphan_replies_ = 0;
};

}  // namespace apiary::test
