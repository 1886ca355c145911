// The world's fault schedule: node lifecycle (start, crash, restart, leave, pause) and the
// network changes a scenario can make.
#include <algorithm>
#include <limits>

#include "apiary/sim/world.hpp"
#include "world_node.hpp"

namespace apiary::sim {

std::vector<std::uint32_t> World::pick(const NodeSelector& sel, bool running_only) {
  std::vector<std::uint32_t> out;
  if (sel.random_count == 0) {
    for (auto n : sel.nodes) {
      if (n < next_index_) out.push_back(n);
    }
    return out;
  }
  std::vector<std::uint32_t> candidates;
  for (std::uint32_t n = 0; n < next_index_; ++n) {
    const NodeStatus s = checker_.status(n);
    if (s == NodeStatus::running || (!running_only && s == NodeStatus::crashed)) {
      candidates.push_back(n);
    }
  }
  for (auto i : fault_rng_.sample(candidates.size(), sel.random_count)) {
    out.push_back(candidates[i]);
  }
  return out;
}

void World::run_action(const Action& a) {
  switch (a.kind) {
    case ActionKind::crash:
      for (auto n : pick(a.targets, true)) crash_node(n);
      disturb_for(now_);
      break;
    case ActionKind::restart: {
      // Random restarts hit running nodes (a process restart); explicit ones may also bring
      // back a crashed node.
      for (auto n : pick(a.targets, true)) restart_node(n);
      disturb_for(now_);
      checker_.open_convergence(now_, "restart");
      break;
    }
    case ActionKind::leave:
      disturb();
      for (auto n : pick(a.targets, true)) leave_node(n);
      break;
    case ActionKind::pause:
      disturb();
      for (auto n : pick(a.targets, true)) pause_node(n, a.length);
      break;
    case ActionKind::join:
      for (std::uint32_t k = 0; k < a.count && next_index_ < config_.capacity; ++k) {
        start_node(next_index_++);
      }
      disturb_for(now_);
      checker_.open_convergence(now_, "join");
      break;
    case ActionKind::partition: {
      const std::uint32_t id = network_.add_partition(a.rule);
      if (a.length.count() > 0) {
        queue_.push(now_ + a.length, EventKind::control, kHealRule, id);
      }
      open_partitions_[id] = open_disturbance();
      break;
    }
    case ActionKind::heal: {
      network_.heal_all();
      last_heal_ = now_;
      healed_once_ = true;
      disturb();
      bool merge = false;
      for (const auto& [id, index] : open_partitions_) merge = healed(id, index) || merge;
      open_partitions_.clear();
      checker_.open_convergence(now_, merge ? "merge" : "heal");
      end_merge_if_converged();
      if (agent_ != nullptr) agent_->on_heal(*this);
      break;
    }
    case ActionKind::set_loss:
      network_.config().loss = a.value;
      break;
    case ActionKind::set_duplicate:
      network_.config().duplicate = a.value;
      break;
    case ActionKind::set_latency:
      network_.config().latency_min = a.lo;
      network_.config().latency_max = a.hi;
      break;
    case ActionKind::set_jitter:
      network_.config().jitter = a.lo;
      break;
  }
}

void World::start_node(std::uint32_t node) {
  if (node >= config_.capacity || nodes_[node].proc) return;
  Node& n = nodes_[node];
  // Seeds: a few running nodes, found by random probing (cheap at 10,000 nodes), falling
  // back to a scan when most nodes are down.
  std::vector<std::string> seeds;
  std::vector<std::uint32_t> chosen;
  if (config_.simultaneous_start && node < config_.initial_nodes) {
    // The shared list, whoever is up: every initial node, this one included.
    for (std::uint32_t c = 0; c < config_.initial_nodes; ++c) chosen.push_back(c);
  }
  const std::uint32_t want =
      chosen.empty() ? std::min<std::uint32_t>(config_.seed_nodes, running_) : 0;
  for (std::uint32_t tries = 0; chosen.size() < want && tries < 16 * want; ++tries) {
    const auto c = static_cast<std::uint32_t>(fault_rng_.uniform(next_index_));
    if (c == node || checker_.status(c) != NodeStatus::running) continue;
    if (std::find(chosen.begin(), chosen.end(), c) != chosen.end()) continue;
    chosen.push_back(c);
  }
  for (std::uint32_t c = 0; want > 0 && chosen.empty() && c < next_index_; ++c) {
    if (c != node && checker_.status(c) == NodeStatus::running) chosen.push_back(c);
  }
  for (auto c : chosen) seeds.push_back(node_addr(c));

  checker_.reset_view(node);
  ProcessSpec spec{node, node_name(node), node_addr(node)};
  const TimePoint local = local_time(node, now_);
  n.proc = factory_(spec, master_.split(), local);
  n.started = now_;
  n.timer_at = std::numeric_limits<std::int64_t>::max();
  n.paused = false;
  ++n.generation;
  set_status(node, NodeStatus::running);
  n.proc->join(local, std::move(seeds));
  after_call(node);
}

void World::end_leave(std::uint32_t node) {
  if (auto it = open_leaves_.find(node); it != open_leaves_.end()) {
    close_disturbance(it->second);
    open_leaves_.erase(it);
  }
}

void World::drop_inbox(std::uint32_t node) {
  for (auto slot : nodes_[node].inbox) free_slot(slot);
  nodes_[node].inbox.clear();
}

void World::crash_node(std::uint32_t node) {
  Node& n = nodes_[node];
  if (!n.proc) return;
  end_leave(node);
  n.proc.reset();
  ++n.generation;
  n.paused = false;
  drop_inbox(node);
  set_status(node, NodeStatus::crashed);
}

void World::restart_node(std::uint32_t node) {
  crash_node(node);
  ++nodes_[node].restarts;
  start_node(node);
}

void World::leave_node(std::uint32_t node) {
  Node& n = nodes_[node];
  if (!n.proc || checker_.status(node) != NodeStatus::running) return;
  open_leaves_[node] = open_disturbance();
  set_status(node, NodeStatus::leaving);
  n.proc->leave(local_time(node, now_));
  queue_.push(now_ + config_.leave_timeout, EventKind::control, kLeaveDeadline, node);
  if (!n.paused) after_call(node);
}

void World::stop_node(std::uint32_t node) {
  end_leave(node);
  Node& n = nodes_[node];
  n.proc.reset();
  ++n.generation;
  n.paused = false;
  drop_inbox(node);
  set_status(node, NodeStatus::left);
}

void World::pause_node(std::uint32_t node, Duration length) {
  Node& n = nodes_[node];
  if (!n.proc) return;
  n.paused = true;
  n.paused_until = std::max(n.paused_until, to_nanos(now_ + length));
  disturbances_.push_back(Disturbance{now_, from_nanos(n.paused_until), node});
  queue_.push(from_nanos(n.paused_until), EventKind::resume, node, n.generation);
}

}  // namespace apiary::sim
