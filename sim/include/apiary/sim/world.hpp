// World: the single-threaded discrete-event simulation of a cluster.
//
// Virtual time jumps from one event to the next (EventQueue, ordered by time then sequence).
// One master seed drives everything: each process instance gets an Rng split from it, and the
// network and fault choices draw from their own splits, so a seed replays bit for bit. The
// world drives each node's Process like the runtime does (deliver, timeout, drain), applies
// the Network model to every datagram, executes the fault schedule (crash, restart, leave,
// pause, join, partitions, network changes), and reports every membership event to the
// Checker. Each node's local clock runs at rate 1+eps relative to virtual time.
//
// An Agent (the data workload, sim/workload.hpp) runs beside the nodes: it gets wake-ups it
// asked for, calls into running nodes through call(), sees every node after each call, and
// hears every status change.
//
// The trace hash folds every delivered message (time, sender, receiver, content hash) and
// every membership event (time, observer, subject, kind, incarnation): two runs with the same
// seed and configuration give the same hash. Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "apiary/base/rng.hpp"
#include "apiary/base/time.hpp"
#include "apiary/sim/checker.hpp"
#include "apiary/sim/event_queue.hpp"
#include "apiary/sim/network.hpp"
#include "apiary/sim/process.hpp"
#include "apiary/sim/scenario.hpp"

namespace apiary::sim {

struct WorldConfig {
  std::uint64_t seed = 1;
  std::uint32_t initial_nodes = 10;
  std::uint32_t capacity = 0;  // most nodes that ever exist (initial + joins); 0 = initial
  NetworkConfig network;
  double clock_skew = 0.0;       // each node's clock rate is uniform in [1-skew, 1+skew]
  std::uint32_t seed_nodes = 3;  // a (re)joining node contacts this many running nodes
  Duration start_spacing = 2ms;  // initial nodes after the first `seed_nodes` start this far apart
  // Every initial node starts at time 0 and (re)joins through the same seed list, every initial
  // node's address with its own (what a DNS name over a StatefulSet's pods gives), instead of
  // a few random running nodes. Nodes added later by `join` still pick running seeds.
  bool simultaneous_start = false;
  // With simultaneous_start: this partition is in place from time 0, so each side forms a
  // cluster of its own. It is a disturbance from 0 until the views agree after a `heal` action
  // healed it: the merge, not the heal, ends it.
  std::optional<PartitionRule> split_start;
  Duration leave_timeout = 10s;
  // On resume from a pause, run overdue timers before the queued messages (an event loop that
  // checks timers first) or after them (one that drains sockets first).
  bool timers_first_on_resume = true;   // a leaving node is stopped after this even if not done
  Duration false_positive_grace = 30s;  // after a restart, dead marks are not counted
  // After a heal: suspicions raised during the partition may still expire (nobody told the
  // suspect), so the run uses the protocol's longest suspicion timeout here.
  Duration heal_grace = 30s;
  // Optional observer of every membership event (debugging: apiary-sim --watch).
  std::function<void(TimePoint, std::uint32_t observer, const gossip::MemberEvent&)> on_event;
};

struct WorldStats {
  std::uint64_t events = 0;  // events processed
  std::uint64_t messages_sent = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t messages_delivered = 0;
  std::uint64_t dropped_loss = 0;
  std::uint64_t dropped_partition = 0;
  std::uint64_t dropped_dead = 0;  // arrived at a node that was not running
  std::uint64_t unroutable = 0;
  std::uint64_t duplicated = 0;
  std::uint64_t membership_events = 0;
};

// A span of virtual time during which a fault disturbed the cluster: a crash, restart or join
// is an instant; a pause lasts until the node resumes, a graceful leave until the node
// stopped, a partition until it is healed (`to` is kNever while it lasts; the split start's
// from time 0 until every view agrees after its heal). The data workload's checkers only
// judge what happened away from these (workload.hpp).
struct Disturbance {
  static constexpr std::uint32_t kEveryNode = 0xffffffffu;
  TimePoint from;
  TimePoint to;
  std::uint32_t node = kEveryNode;  // a pause: the paused node
};

// Message load since the last reset_load(), for per-node figures.
struct LoadWindow {
  TimePoint start;
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  double node_seconds = 0.0;  // integral of the running node count
};

class World;

class Agent {
 public:
  virtual ~Agent() = default;
  virtual void on_wake(World& world, std::uint32_t tag) = 0;
  // After every call into `node` (a message, a timer, join, leave, or call()).
  virtual void after_call(World& world, std::uint32_t node, Process& process) = 0;
  virtual void on_status(World& world, std::uint32_t node, NodeStatus status) = 0;
  // A partition healed (a heal action, a timed heal, or the split start's).
  virtual void on_heal(World& world) { (void)world; }
};

class World {
 public:
  World(WorldConfig config, ProcessFactory factory);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  // Adds a scheduled action (absolute virtual time). Random targets are drawn when it runs.
  void schedule(Action action);
  // Runs every event up to and including `end`. `tick` (optional) is called once per virtual
  // second, e.g. for a progress display.
  void run_until(TimePoint end, const std::function<void(TimePoint)>& tick = {});

  TimePoint now() const { return now_; }
  Checker& checker() { return checker_; }
  const Checker& checker() const { return checker_; }
  Network& network() { return network_; }
  const WorldStats& stats() const { return stats_; }
  std::uint64_t trace_hash() const { return hash_; }
  std::uint32_t capacity() const { return config_.capacity; }
  std::uint32_t started_nodes() const { return next_index_; }
  std::uint32_t running_count() const { return running_; }
  NodeStatus status(std::uint32_t node) const { return checker_.status(node); }
  bool paused(std::uint32_t node) const;
  // nullptr unless the node is running or leaving.
  Process* process(std::uint32_t node);
  TimePoint local_time(std::uint32_t node, TimePoint virtual_time) const;
  // The last time a fault, heal or join disturbed the cluster (for settle checks).
  TimePoint last_disturbance() const { return last_disturbance_; }
  // Every fault so far, in the order they began (network setting changes are not faults).
  const std::vector<Disturbance>& disturbances() const { return disturbances_; }
  // The split start (WorldConfig::split_start), its disturbance's index in disturbances(), and
  // when a heal ended it (nullopt while it lasts).
  const std::optional<PartitionRule>& split_start() const { return config_.split_start; }
  std::optional<std::size_t> split_disturbance() const { return split_disturbance_; }
  std::optional<TimePoint> split_healed_at() const { return split_healed_at_; }
  std::uint32_t initial_nodes() const { return config_.initial_nodes; }

  void reset_load();
  LoadWindow load() const;

  // At most one agent; not owned. Set before running.
  void set_agent(Agent* agent) { agent_ = agent; }
  // Agent::on_wake(tag) at `at` (virtual time).
  void wake_at(TimePoint at, std::uint32_t tag);
  // Runs `fn` on a node that is running (or leaving) and not paused, with its local time,
  // then routes what it sent. False (and `fn` not called) otherwise.
  bool call(std::uint32_t node, const std::function<void(Process&, TimePoint local)>& fn);

 private:
  struct Node;
  struct Slot {
    std::vector<std::uint8_t> bytes;
    std::uint32_t from = 0;
    std::uint32_t to = 0;
    bool data = false;  // sent to the node's data address
  };
  enum Control : std::uint32_t { kStartNode, kHealRule, kLeaveDeadline, kAgentWake };

  void dispatch(const Event& e);
  void deliver(std::uint32_t slot);
  void on_timer(std::uint32_t node, std::uint32_t generation, std::int64_t at);
  void on_resume(std::uint32_t node, std::uint32_t generation);
  void run_overdue_timer(std::uint32_t node);
  void run_action(const Action& action);
  void after_call(std::uint32_t node);
  void reschedule(std::uint32_t node);
  void process_one(std::uint32_t node, Slot& slot);

  std::vector<std::uint32_t> pick(const NodeSelector& sel, bool running_only);
  void start_node(std::uint32_t node);
  void crash_node(std::uint32_t node);
  void restart_node(std::uint32_t node);
  void leave_node(std::uint32_t node);
  void pause_node(std::uint32_t node, Duration length);
  void stop_node(std::uint32_t node);
  void drop_inbox(std::uint32_t node);
  void end_leave(std::uint32_t node);  // closes the node's leave Disturbance, if any
  void set_status(std::uint32_t node, NodeStatus status);
  bool healthy(std::uint32_t node) const;

  std::uint32_t alloc_slot();
  void free_slot(std::uint32_t slot);
  std::int64_t to_virtual(std::uint32_t node, TimePoint local) const;
  void fold(std::uint64_t a, std::uint64_t b, std::uint64_t c, std::uint64_t d);
  void disturb();
  void disturb_for(TimePoint until);  // disturb() and a Disturbance [now, until]
  std::size_t open_disturbance();     // disturb() and a Disturbance that lasts until closed
  void close_disturbance(std::size_t index);
  // A partition rule healed: closes its disturbance, unless it is the split start's, which
  // waits for the merge (returns true then).
  bool healed(std::uint32_t rule, std::size_t disturbance);
  void end_merge_if_converged();

  WorldConfig config_;
  ProcessFactory factory_;
  Rng master_;
  Rng net_rng_;
  Rng fault_rng_;
  Network network_;
  Checker checker_;
  EventQueue queue_;
  std::vector<Node> nodes_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::vector<Action> actions_;
  std::vector<Duration> delays_;  // scratch
  TimePoint now_{};
  TimePoint last_heal_{};
  TimePoint last_disturbance_{};
  std::vector<Disturbance> disturbances_;
  std::map<std::uint32_t, std::size_t> open_leaves_;      // node -> its Disturbance
  std::map<std::uint32_t, std::size_t> open_partitions_;  // rule id -> its Disturbance
  bool healed_once_ = false;
  std::uint32_t split_rule_ = 0;                  // the split start's rule id while active
  std::optional<std::size_t> merge_disturbance_;  // healed split, views not agreeing yet
  std::optional<std::size_t> split_disturbance_;
  std::optional<TimePoint> split_healed_at_;
  std::uint32_t next_index_ = 0;
  std::uint32_t running_ = 0;
  std::uint64_t hash_ = 0x9e3779b97f4a7c15ULL;
  WorldStats stats_;
  LoadWindow load_;
  TimePoint load_mark_{};
  Agent* agent_ = nullptr;
};

}  // namespace apiary::sim
