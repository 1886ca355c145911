// ReplCluster: several Replicators, each with its own Store, on virtual time, connected by an
// in-memory network with per-link drop rules (for the replication unit tests).
//
// Messages are delivered after a fixed latency to the node whose data address matches `to`,
// in send order. A blocked link (either direction separately) or a crashed node silently
// drops messages. Views are set explicitly by the test (set_views): a ring of member names,
// each live or not. Time jumps to the earliest of the next delivery and the nodes' next
// deadlines. Every delivered message is folded into trace_hash(), so two runs with the same
// inputs can be compared. Single-threaded and deterministic.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "apiary/data/partition.hpp"
#include "apiary/replication/replicator.hpp"
#include "apiary/store/store.hpp"

namespace apiary::test {

using namespace std::chrono_literals;

inline replication::ReplicationConfig small_config() {
  replication::ReplicationConfig c;
  c.partition_count = 64;
  c.replicas = 3;
  c.write_quorum = 2;
  c.read_quorum = 1;
  c.anti_entropy_interval = 0ms;  // tests that want it turn it on
  c.catch_up_on_start = false;    // so does this (a first view that syncs every partition)
  return c;
}

class ReplCluster {
 public:
  struct Node {
    std::string name;
    std::string addr;
    std::unique_ptr<store::Store> store;
    std::unique_ptr<replication::Replicator> rep;
    bool crashed = false;
    std::map<std::uint64_t, replication::Completion> done;  // by completion id
  };

  ReplCluster(std::size_t n, replication::ReplicationConfig config) : config_(std::move(config)) {
    for (std::size_t i = 0; i < n; ++i) add_node();
  }

  // A new node, not yet in anybody's view. Returns its index.
  std::size_t add_node() {
    Node node;
    node.name = "n" + std::to_string(nodes_.size());
    node.addr = "data://" + node.name;
    store::StoreConfig sc;
    sc.self = NodeId{nodes_.size() + 1};
    sc.partition_count = config_.partition_count;
    node.store = std::make_unique<store::Store>(sc);
    auto rc = config_;
    rc.seed = config_.seed + nodes_.size();
    node.rep = std::make_unique<replication::Replicator>(rc, *node.store);
    nodes_.push_back(std::move(node));
    return nodes_.size() - 1;
  }

  std::size_t size() const { return nodes_.size(); }
  Node& node(std::size_t i) { return nodes_.at(i); }
  store::Store& store(std::size_t i) { return *nodes_.at(i).store; }
  replication::Replicator& rep(std::size_t i) { return *nodes_.at(i).rep; }
  std::size_t index_of(const std::string& name) const {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i].name == name) return i;
    }
    return nodes_.size();
  }
  const replication::ReplicationConfig& config() const { return config_; }
  TimePoint now() const { return now_; }
  WallTime wall() const { return WallTime{1'700'000'000'000 + to_nanos(now_) / 1'000'000}; }

  // The view of `ring` (node indices) with the given nodes not live, from `self`'s side.
  replication::ClusterView view_for(std::size_t self, const std::vector<std::size_t>& ring,
                                    const std::set<std::size_t>& down = {}) const {
    std::vector<replication::ViewMember> members;
    for (auto i : ring) {
      members.push_back({nodes_[i].name, nodes_[i].addr, down.count(i) == 0});
    }
    return replication::ClusterView::make(nodes_[self].name, std::move(members), config_);
  }
  // Gives every node in `ring` (and any in `also`) the same view.
  void set_views(const std::vector<std::size_t>& ring, const std::set<std::size_t>& down = {},
                 const std::vector<std::size_t>& also = {}) {
    auto targets = ring;
    targets.insert(targets.end(), also.begin(), also.end());
    for (auto i : targets) {
      if (nodes_[i].crashed) continue;
      nodes_[i].rep->set_view(now_, wall(), view_for(i, ring, down));
    }
    pump();
  }
  std::vector<std::size_t> all() const {
    std::vector<std::size_t> v;
    for (std::size_t i = 0; i < nodes_.size(); ++i) v.push_back(i);
    return v;
  }

  // ---- Network ---------------------------------------------------------------------------
  void block(std::size_t from, std::size_t to) { blocked_.insert({from, to}); }
  void block_both(std::size_t a, std::size_t b) {
    block(a, b);
    block(b, a);
  }
  void isolate(std::size_t a) {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (i != a) block_both(a, i);
    }
  }
  void unblock_all() { blocked_.clear(); }
  void crash(std::size_t i) { nodes_[i].crashed = true; }
  void restore(std::size_t i) { nodes_[i].crashed = false; }
  // Raw bytes to a node, as if from the network.
  void inject(std::size_t to, std::vector<std::uint8_t> bytes) {
    nodes_[to].rep->handle_message(now_, wall(), bytes);
    pump();
  }
  // Keeps a copy of every delivered message from now on (for mutation tests).
  void record(bool on) { record_ = on; }
  const std::vector<std::vector<std::uint8_t>>& recorded() const { return recorded_; }
  std::uint64_t trace_hash() const { return trace_; }
  std::uint64_t delivered() const { return delivered_; }

  // ---- Client operations -----------------------------------------------------------------
  // SET through `coordinator`: local write, then replication. Returns the completion id.
  std::uint64_t put(std::size_t coordinator, const std::string& key, const std::string& value,
                    std::uint32_t w = 0) {
    Node& n = nodes_[coordinator];
    REQUIRE(n.store->put_local(key, value, wall()).ok());
    const std::uint64_t id = next_completion_++;
    n.rep->replicate(now_, wall(), key, w, id);
    pump();
    return id;
  }
  // Replicates what `coordinator`'s store already holds for `key` (a write the test made
  // through the store itself, e.g. Store::edit_collection).
  std::uint64_t put_existing(std::size_t coordinator, const std::string& key,
                             std::uint32_t w = 0) {
    const std::uint64_t id = next_completion_++;
    nodes_[coordinator].rep->replicate(now_, wall(), key, w, id);
    pump();
    return id;
  }
  std::uint64_t read(std::size_t coordinator, const std::string& key, std::uint32_t r = 0) {
    const std::uint64_t id = next_completion_++;
    nodes_[coordinator].rep->read(now_, wall(), key, r, id);
    pump();
    return id;
  }
  std::uint64_t forward(std::size_t from, const std::string& key,
                        std::vector<std::string_view> argv, std::string_view user = {}) {
    const std::uint64_t id = next_completion_++;
    nodes_[from].rep->forward(now_, key, argv, 2, id, {}, true, std::nullopt, user);
    pump();
    return id;
  }
  // Runs until `coordinator` reported completion `id` (or `limit` passes).
  std::optional<replication::Completion> wait(std::size_t coordinator, std::uint64_t id,
                                              Duration limit = 10s) {
    auto& done = nodes_[coordinator].done;
    run_until([&] { return done.count(id) != 0; }, limit);
    auto it = done.find(id);
    if (it == done.end()) return std::nullopt;
    return it->second;
  }
  std::optional<std::string> value(std::size_t i, const std::string& key) {
    auto v = nodes_[i].store->get_value(key, wall());
    if (!v) return std::nullopt;
    return std::string(*v);
  }

  // ---- Time --------------------------------------------------------------------------------
  // Runs events until `pred` holds or `limit` of virtual time passed; `step` runs after every
  // event. Returns pred().
  bool run_until(const std::function<bool()>& pred, Duration limit,
                 const std::function<void()>& step = {}) {
    const TimePoint end = now_ + limit;
    pump();
    while (!pred()) {
      TimePoint next = end;
      if (!queue_.empty()) next = std::min(next, queue_.front().at);
      for (auto& n : nodes_) {
        if (!n.crashed) next = std::min(next, n.rep->next_deadline());
      }
      if (next >= end && (queue_.empty() || queue_.front().at > end)) {
        now_ = end;
        return pred();
      }
      now_ = std::max(now_, next);
      if (!queue_.empty() && queue_.front().at <= now_) {
        deliver_one();
      } else {
        for (auto& n : nodes_) {
          if (!n.crashed && n.rep->next_deadline() <= now_) n.rep->handle_timeout(now_, wall());
        }
      }
      pump();
      if (step) step();
    }
    return true;
  }
  void run_for(Duration d, const std::function<void()>& step = {}) {
    run_until([] { return false; }, d, step);
  }

 private:
  struct InFlight {
    TimePoint at;
    std::size_t from;
    std::size_t to;
    std::vector<std::uint8_t> bytes;
  };

  void pump() {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      Node& n = nodes_[i];
      while (auto out = n.rep->poll_send()) {
        const std::size_t to = index_by_addr(out->to);
        if (n.crashed || to >= nodes_.size() || blocked_.count({i, to}) != 0) continue;
        queue_.push_back(InFlight{now_ + latency_, i, to, std::move(out->bytes)});
      }
      while (auto c = n.rep->poll_completion()) {
        REQUIRE(n.done.count(c->id) == 0);  // every operation completes exactly once
        n.done.emplace(c->id, std::move(*c));
      }
    }
  }
  void deliver_one() {
    InFlight m = std::move(queue_.front());
    queue_.pop_front();
    Node& to = nodes_[m.to];
    if (to.crashed || blocked_.count({m.from, m.to}) != 0) return;
    ++delivered_;
    if (record_) recorded_.push_back(m.bytes);
    for (auto b : m.bytes) trace_ = (trace_ ^ b) * 0x100000001b3ULL;
    trace_ = (trace_ ^ m.to) * 0x100000001b3ULL;
    to.rep->handle_message(now_, wall(), m.bytes);
  }
  std::size_t index_by_addr(const std::string& addr) const {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i].addr == addr) return i;
    }
    return nodes_.size();
  }

  replication::ReplicationConfig config_;
  std::vector<Node> nodes_;
  std::set<std::pair<std::size_t, std::size_t>> blocked_;
  std::deque<InFlight> queue_;
  TimePoint now_{};
  Duration latency_ = 1ms;
  std::uint64_t trace_ = 0xcbf29ce484222325ULL;
  std::uint64_t delivered_ = 0;
  bool record_ = false;
  std::vector<std::vector<std::uint8_t>> recorded_;
  std::uint64_t next_completion_ = 1;
};

// The first key "<prefix><i>" whose preference list in `view` satisfies `pred`.
inline std::string find_key(const replication::ClusterView& view,
                            const std::function<bool(const std::vector<std::string>&)>& pred,
                            const std::string& prefix = "key") {
  for (int i = 0; i < 100000; ++i) {
    std::string k = prefix + std::to_string(i);
    if (pred(view.owners(data::partition_of(k, view.partition_count())))) return k;
  }
  FAIL("no key with the requested owners");
  return {};
}

}  // namespace apiary::test
