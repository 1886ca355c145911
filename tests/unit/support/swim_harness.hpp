// SwimCluster: several Swim cores on virtual time, connected by a tiny in-memory network.
//
// Outgoing bytes are delivered, after a fixed latency, to the node whose self().addr matches
// `to`. Links can be blocked per direction, nodes can be crashed (they receive nothing and
// are no longer driven) and restarted (a new Swim with the same name and address, at
// incarnation 0). Time jumps to the earliest of the next delivery and the nodes' next
// deadlines. A node can be paused (a stall: not driven, its messages queue) and resumed.
// Every event any node reports is recorded with its time and observer.
// Single-threaded and deterministic: the same seed and calls give the same trace.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "apiary/base/rng.hpp"
#include "apiary/base/time.hpp"
#include "apiary/gossip/swim.hpp"

namespace apiary::test {

using namespace std::chrono_literals;

struct RecordedEvent {
  TimePoint at;
  std::string observer;
  gossip::MemberEventKind kind;
  std::string member;
  Incarnation incarnation;
  friend bool operator==(const RecordedEvent&, const RecordedEvent&) = default;
};

class SwimCluster {
 public:
  explicit SwimCluster(std::uint64_t seed, gossip::SwimConfig config = {})
      : rng_(seed), config_(std::move(config)) {}

  static std::string addr_of(const std::string& name) { return name + ":7946"; }

  // Creates a node (not yet joined). Returns its index.
  std::size_t add(const std::string& name, std::optional<gossip::SwimConfig> config = {},
                  gossip::MemberMeta meta = {}) {
    Node n;
    n.name = name;
    n.addr = addr_of(name);
    n.config = config.value_or(config_);
    n.meta = std::move(meta);
    n.swim = make_swim(n);
    nodes_.push_back(std::move(n));
    by_addr_[addr_of(name)] = nodes_.size() - 1;
    schedule(nodes_.size() - 1);
    return nodes_.size() - 1;
  }

  void join(std::size_t i, std::vector<std::string> seeds) {
    nodes_[i].seeds = seeds;
    nodes_[i].swim->join(now_, std::move(seeds));
    drain(i);
  }

  // Any other input to node i (set_seeds, meet, join with seeds pending) at the current time,
  // with its output sent.
  void input(std::size_t i, const std::function<void(gossip::Swim&, TimePoint)>& fn) {
    fn(*nodes_[i].swim, now_);
    drain(i);
  }

  // Adds `count` nodes named prefix0..; node 0 starts the cluster, the rest join through it.
  void add_cluster(std::size_t count, const std::string& prefix = "n") {
    const std::size_t first = nodes_.size();
    for (std::size_t k = 0; k < count; ++k) add(prefix + std::to_string(k));
    join(first, {});
    for (std::size_t k = 1; k < count; ++k) join(first + k, {addr_of(nodes_[first].name)});
  }

  gossip::Swim& swim(std::size_t i) { return *nodes_[i].swim; }
  const std::string& name(std::size_t i) const { return nodes_[i].name; }
  std::size_t size() const { return nodes_.size(); }
  TimePoint now() const { return now_; }

  // Crashed nodes get no messages and no timeouts; messages to them are lost.
  void crash(std::size_t i) { nodes_[i].up = false; }
  // A new process with the same name and address: a fresh Swim at incarnation 0.
  void restart(std::size_t i, std::vector<std::string> seeds) {
    restart_at(i, nodes_[i].addr, std::move(seeds));
  }
  // The same, listening on another address (the old one becomes unreachable).
  void restart_at(std::size_t i, const std::string& addr, std::vector<std::string> seeds) {
    by_addr_.erase(nodes_[i].addr);
    nodes_[i].addr = addr;
    by_addr_[addr] = i;
    nodes_[i].swim = make_swim(nodes_[i]);
    nodes_[i].up = true;
    join(i, std::move(seeds));
    schedule(i);
  }
  // A stall (GC, CPU starvation): the node is not driven; messages to it wait in its queue.
  void pause(std::size_t i) { nodes_[i].paused = true; }
  // Ends a stall the way an event loop does: the overdue timeout and the queued messages in
  // arrival order, timers first or messages first.
  void resume(std::size_t i, bool timers_first = true) {
    Node& n = nodes_[i];
    n.paused = false;
    auto overdue = [&] {
      if (now_ >= n.swim->next_deadline()) n.swim->handle_timeout(now_);
      drain(i);
    };
    if (timers_first) overdue();
    std::vector<std::vector<std::uint8_t>> queued = std::move(n.queued);
    n.queued.clear();
    for (const auto& bytes : queued) {
      ++delivered_;
      n.swim->handle_message(now_, bytes);
      drain(i);
    }
    if (!timers_first) overdue();
  }
  void block(std::size_t from, std::size_t to) { blocked_.insert({from, to}); }
  void block_both(std::size_t a, std::size_t b) {
    block(a, b);
    block(b, a);
  }
  void isolate(std::size_t i) {
    for (std::size_t k = 0; k < nodes_.size(); ++k) {
      if (k != i) block_both(i, k);
    }
  }
  void unblock_all() { blocked_.clear(); }
  // Extra drop rule, consulted for every message: return true to drop it.
  void set_drop_rule(std::function<bool(std::size_t from, std::size_t to)> rule) {
    drop_rule_ = std::move(rule);
  }
  // Delivers raw bytes to node i now, as if from the network.
  void inject(std::size_t i, std::span<const std::uint8_t> bytes) {
    nodes_[i].swim->handle_message(now_, bytes);
    drain(i);
  }

  void run_for(Duration d) { run_until_time(now_ + d); }
  void run_until_time(TimePoint end) {
    while (step(end)) {
    }
    now_ = std::max(now_, end);
  }
  // Runs until `done()` holds (checked after every step) or `limit` passes; returns done().
  bool run_until(const std::function<bool()>& done, Duration limit);

  const std::vector<RecordedEvent>& events() const { return events_; }
  // Large runs (benchmarks) can skip recording; events are then only counted.
  void record_events(bool on) { record_events_ = on; }
  std::uint64_t event_count() const { return event_count_; }
  std::uint64_t delivered() const { return delivered_; }
  std::uint64_t dropped() const { return dropped_; }
  // Messages sent to node `to` so far (delivered or not).
  std::uint64_t sent_to(std::size_t to) const { return nodes_[to].sent_to; }

  // Helpers for assertions.
  std::optional<gossip::Member> view(std::size_t observer, std::size_t member) {
    return nodes_[observer].swim->find(nodes_[member].name);
  }
  bool all_see(std::size_t member, gossip::MemberState state, bool include_self = false) {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (!nodes_[i].up || (i == member && !include_self)) continue;
      auto m = view(i, member);
      if (!m || m->state != state) return false;
    }
    return true;
  }
  // Every running node counts `n` alive members (itself included).
  bool converged(std::size_t n) {
    for (const auto& node : nodes_) {
      if (node.up && node.swim->alive_count() != n) return false;
    }
    return true;
  }
  std::size_t count_events(gossip::MemberEventKind kind, const std::string& member) const {
    std::size_t n = 0;
    for (const auto& e : events_) n += (e.kind == kind && e.member == member) ? 1 : 0;
    return n;
  }
  std::optional<RecordedEvent> first_event(gossip::MemberEventKind kind, const std::string& member,
                                           const std::string& observer = "") const {
    for (const auto& e : events_) {
      if (e.kind == kind && e.member == member && (observer.empty() || e.observer == observer)) {
        return e;
      }
    }
    return std::nullopt;
  }

 private:
  struct Node {
    std::string name;
    std::string addr;
    gossip::SwimConfig config;
    gossip::MemberMeta meta;
    std::unique_ptr<gossip::Swim> swim;
    std::vector<std::string> seeds;
    bool up = true;
    bool paused = false;
    std::vector<std::vector<std::uint8_t>> queued;  // arrived while paused
    std::uint64_t sent_to = 0;
  };
  struct Delivery {
    std::size_t from;
    std::size_t to;
    std::vector<std::uint8_t> bytes;
  };
  using Wakeup = std::pair<TimePoint, std::size_t>;

  std::unique_ptr<gossip::Swim> make_swim(const Node& n) {
    return std::make_unique<gossip::Swim>(n.config, gossip::LocalNode{n.name, n.addr, n.meta},
                                          rng_.split(), now_);
  }

  void schedule(std::size_t i) {
    if (nodes_[i].up && !nodes_[i].paused) wakeups_.push({nodes_[i].swim->next_deadline(), i});
  }

  void drain(std::size_t i);

  // Advances to the next delivery or deadline not after `end`; false when there is none.
  bool step(TimePoint end);

  Rng rng_;
  gossip::SwimConfig config_;
  TimePoint now_{};
  Duration latency_ = 1ms;
  std::vector<Node> nodes_;
  std::map<std::string, std::size_t> by_addr_;
  std::set<std::pair<std::size_t, std::size_t>> blocked_;
  std::function<bool(std::size_t, std::size_t)> drop_rule_;
  std::map<std::pair<TimePoint, std::uint64_t>, Delivery> in_flight_;
  std::priority_queue<Wakeup, std::vector<Wakeup>, std::greater<>> wakeups_;
  std::uint64_t seq_ = 0;
  std::vector<RecordedEvent> events_;
  bool record_events_ = true;
  std::uint64_t event_count_ = 0;
  std::uint64_t delivered_ = 0;
  std::uint64_t dropped_ = 0;
};

}  // namespace apiary::test
