#include "apiary/sim/world.hpp"

#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "world_node.hpp"

namespace apiary::sim {
World::World(WorldConfig config, ProcessFactory factory)
    : config_(std::move(config)),
      factory_(std::move(factory)),
      master_(config_.seed),
      net_rng_(master_.split()),
      fault_rng_(master_.split()),
      network_(config_.network, config_.seed, std::max(config_.capacity, config_.initial_nodes)),
      checker_(std::max(config_.capacity, config_.initial_nodes)) {
  config_.capacity = std::max(config_.capacity, config_.initial_nodes);
  nodes_.resize(config_.capacity);
  Rng skew_rng = master_.split();
  for (auto& n : nodes_) {
    if (config_.clock_skew > 0) n.eps = (skew_rng.unit() * 2.0 - 1.0) * config_.clock_skew;
  }
  next_index_ = config_.initial_nodes;
  if (config_.split_start) {
    config_.simultaneous_start = true;
    split_rule_ = network_.add_partition(*config_.split_start);
    open_partitions_[split_rule_] = open_disturbance();
    split_disturbance_ = open_partitions_[split_rule_];
  }
  for (std::uint32_t k = 0; k < config_.initial_nodes; ++k) {
    std::uint32_t step = k < config_.seed_nodes ? 0 : k - config_.seed_nodes + 1;
    if (config_.simultaneous_start) step = 0;
    queue_.push(TimePoint{} + config_.start_spacing * step, EventKind::control, kStartNode, k);
  }
}

World::~World() = default;

void World::schedule(Action action) {
  const auto index = static_cast<std::uint32_t>(actions_.size());
  const TimePoint at = TimePoint{} + action.at;
  actions_.push_back(std::move(action));
  queue_.push(at, EventKind::action, index);
}

void World::run_until(TimePoint end, const std::function<void(TimePoint)>& tick) {
  TimePoint next_tick = TimePoint{} +
                        std::chrono::duration_cast<std::chrono::seconds>(now_.time_since_epoch()) +
                        std::chrono::seconds(1);
  while (!queue_.empty() && queue_.next_time() <= end) {
    if (tick && queue_.next_time() >= next_tick) {
      now_ = next_tick;
      tick(now_);
      next_tick += std::chrono::seconds(1);
      continue;
    }
    const Event e = queue_.pop();
    now_ = from_nanos(e.time);
    ++stats_.events;
    dispatch(e);
  }
  if (end > now_) now_ = end;
  // Called in one-second steps (the warm-up loop), the loop above never reaches a tick.
  if (tick && now_ >= next_tick) tick(now_);
}

void World::dispatch(const Event& e) {
  switch (e.kind) {
    case EventKind::deliver:
      deliver(e.a);
      break;
    case EventKind::timer:
      on_timer(e.a, e.b, e.time);
      break;
    case EventKind::resume:
      on_resume(e.a, e.b);
      break;
    case EventKind::action:
      run_action(actions_[e.a]);
      break;
    case EventKind::control:
      if (e.a == kStartNode) {
        start_node(e.b);
      } else if (e.a == kHealRule) {
        network_.heal(e.b);
        last_heal_ = now_;
        healed_once_ = true;
        disturb();
        bool merge = false;
        if (auto it = open_partitions_.find(e.b); it != open_partitions_.end()) {
          merge = healed(it->first, it->second);
          open_partitions_.erase(it);
        }
        checker_.open_convergence(now_, merge ? "merge" : "heal");
        if (agent_ != nullptr) agent_->on_heal(*this);
      } else if (e.a == kLeaveDeadline) {
        if (checker_.status(e.b) == NodeStatus::leaving) stop_node(e.b);
      } else if (e.a == kAgentWake) {
        if (agent_ != nullptr) agent_->on_wake(*this, e.b);
      }
      break;
  }
}

TimePoint World::local_time(std::uint32_t node, TimePoint virtual_time) const {
  const std::int64_t v = to_nanos(virtual_time);
  const double eps = nodes_[node].eps;
  if (eps == 0.0) return virtual_time;
  return from_nanos(v + static_cast<std::int64_t>(std::floor(static_cast<double>(v) * eps)));
}

std::int64_t World::to_virtual(std::uint32_t node, TimePoint local) const {
  if (local == kNever) return kNoTimer;
  const std::int64_t d = to_nanos(local);
  const double eps = nodes_[node].eps;
  if (eps == 0.0) return d;
  auto local_at = [&](std::int64_t v) { return to_nanos(local_time(node, from_nanos(v))); };
  std::int64_t v = static_cast<std::int64_t>(std::floor(static_cast<double>(d) / (1.0 + eps)));
  while (local_at(v) < d) ++v;
  while (v > 0 && local_at(v - 1) >= d) --v;
  return v;
}

bool World::paused(std::uint32_t node) const { return nodes_[node].paused; }

Process* World::process(std::uint32_t node) {
  return node < nodes_.size() ? nodes_[node].proc.get() : nullptr;
}

void World::fold(std::uint64_t a, std::uint64_t b, std::uint64_t c, std::uint64_t d) {
  for (std::uint64_t x : {a, b, c, d}) {
    std::uint64_t state = hash_ ^ x;
    hash_ = splitmix64(state);
  }
}

std::uint32_t World::alloc_slot() {
  if (!free_slots_.empty()) {
    const std::uint32_t s = free_slots_.back();
    free_slots_.pop_back();
    return s;
  }
  slots_.emplace_back();
  return static_cast<std::uint32_t>(slots_.size() - 1);
}

void World::free_slot(std::uint32_t slot) {
  slots_[slot].bytes.clear();
  slots_[slot].bytes.shrink_to_fit();
  free_slots_.push_back(slot);
}

void World::process_one(std::uint32_t node, Slot& slot) {
  ++stats_.messages_delivered;
  const std::uint64_t content = XXH3_64bits(slot.bytes.data(), slot.bytes.size());
  fold(static_cast<std::uint64_t>(to_nanos(now_)), slot.from, slot.to, content);
  if (slot.data) {
    nodes_[node].proc->handle_data_message(local_time(node, now_), slot.bytes);
  } else {
    nodes_[node].proc->handle_message(local_time(node, now_), slot.bytes);
  }
}

void World::wake_at(TimePoint at, std::uint32_t tag) {
  queue_.push(std::max(at, now_), EventKind::control, kAgentWake, tag);
}

bool World::call(std::uint32_t node, const std::function<void(Process&, TimePoint)>& fn) {
  if (node >= nodes_.size()) return false;
  Node& n = nodes_[node];
  if (!n.proc || n.paused) return false;
  fn(*n.proc, local_time(node, now_));
  after_call(node);
  return true;
}

void World::deliver(std::uint32_t slot) {
  const std::uint32_t to = slots_[slot].to;
  Node& n = nodes_[to];
  if (!n.proc) {
    ++stats_.dropped_dead;
    free_slot(slot);
    return;
  }
  if (n.paused) {
    n.inbox.push_back(slot);
    return;
  }
  process_one(to, slots_[slot]);
  free_slot(slot);
  after_call(to);
}

void World::on_timer(std::uint32_t node, std::uint32_t generation, std::int64_t at) {
  Node& n = nodes_[node];
  if (!n.proc || n.generation != generation || n.timer_at != at) return;
  n.timer_at = kNoTimer;
  if (n.paused) return;  // resume reschedules
  const TimePoint local = local_time(node, now_);
  if (local >= n.proc->next_deadline()) n.proc->handle_timeout(local);
  after_call(node);
}

void World::on_resume(std::uint32_t node, std::uint32_t generation) {
  Node& n = nodes_[node];
  if (!n.proc || n.generation != generation || !n.paused) return;
  if (to_nanos(now_) < n.paused_until) return;  // extended; a later resume event follows
  n.paused = false;
  n.timer_at = kNoTimer;
  // Timers first is the harsher order: the node's probe and suspicion deadlines pass before
  // it reads the acks and refutations waiting for it (the slow-node case of Lifeguard).
  if (config_.timers_first_on_resume) run_overdue_timer(node);
  std::vector<std::uint32_t> inbox = std::move(nodes_[node].inbox);
  nodes_[node].inbox.clear();
  for (const std::uint32_t slot : inbox) {
    if (nodes_[node].proc) {
      process_one(node, slots_[slot]);
      free_slot(slot);
      after_call(node);
    } else {
      free_slot(slot);
    }
  }
  if (!config_.timers_first_on_resume && nodes_[node].proc) run_overdue_timer(node);
}

void World::run_overdue_timer(std::uint32_t node) {
  Process* p = nodes_[node].proc.get();
  if (!p) return;
  const TimePoint local = local_time(node, now_);
  if (local >= p->next_deadline()) p->handle_timeout(local);
  after_call(node);
}

void World::after_call(std::uint32_t node) {
  Process* p = nodes_[node].proc.get();
  while (auto out = p->poll_send()) {
    ++stats_.messages_sent;
    stats_.bytes_sent += out->bytes.size();
    ++load_.messages;
    load_.bytes += out->bytes.size();
    const auto to = parse_node_index(out->to);
    if (!to || *to >= config_.capacity) {
      ++stats_.unroutable;
      continue;
    }
    if (network_.blocked(node, *to)) {
      ++stats_.dropped_partition;
      continue;
    }
    network_.sample(node, *to, net_rng_, delays_);
    if (delays_.empty()) {
      ++stats_.dropped_loss;
      continue;
    }
    if (delays_.size() > 1) ++stats_.duplicated;
    for (std::size_t i = 0; i < delays_.size(); ++i) {
      const std::uint32_t slot = alloc_slot();
      Slot& s = slots_[slot];
      s.from = node;
      s.to = *to;
      s.data = is_data_addr(out->to);
      if (i + 1 == delays_.size()) {
        s.bytes = std::move(out->bytes);
      } else {
        s.bytes = out->bytes;
      }
      queue_.push(now_ + delays_[i], EventKind::deliver, slot);
    }
  }
  while (auto ev = p->poll_event()) {
    ++stats_.membership_events;
    const auto subject = parse_node_index(ev->member.name);
    if (!subject || *subject >= config_.capacity) continue;
    fold(static_cast<std::uint64_t>(to_nanos(now_)), node, *subject,
         static_cast<std::uint64_t>(ev->kind) | (ev->member.incarnation.value << 8));
    checker_.on_event(now_, node, *subject, ev->member.state, healthy(*subject));
    if (config_.on_event) config_.on_event(now_, node, *ev);
  }
  end_merge_if_converged();
  if (agent_ != nullptr) agent_->after_call(*this, node, *p);
  if (checker_.status(node) == NodeStatus::leaving && p->leave_done()) {
    stop_node(node);
    return;
  }
  reschedule(node);
}

void World::reschedule(std::uint32_t node) {
  Node& n = nodes_[node];
  if (!n.proc) return;
  std::int64_t v = to_virtual(node, n.proc->next_deadline());
  if (v == kNoTimer) return;
  v = std::max(v, to_nanos(now_));
  if (v < n.timer_at) {
    n.timer_at = v;
    queue_.push(from_nanos(v), EventKind::timer, node, n.generation);
  }
}

bool World::healthy(std::uint32_t node) const {
  const Node& n = nodes_[node];
  if (checker_.status(node) != NodeStatus::running || n.paused) return false;
  if (network_.partitioned()) return false;
  if (n.restarts > 0 && now_ - n.started < config_.false_positive_grace) return false;
  if (healed_once_ && now_ - last_heal_ < config_.heal_grace) return false;
  return true;
}

void World::disturb() { last_disturbance_ = now_; }

void World::disturb_for(TimePoint until) {
  disturb();
  disturbances_.push_back(Disturbance{now_, until});
}

std::size_t World::open_disturbance() {
  disturb();
  disturbances_.push_back(Disturbance{now_, kNever});
  return disturbances_.size() - 1;
}

void World::close_disturbance(std::size_t index) { disturbances_.at(index).to = now_; }

bool World::healed(std::uint32_t rule, std::size_t disturbance) {
  if (rule != split_rule_) {
    close_disturbance(disturbance);
    return false;
  }
  // Two clusters that formed apart are not one when the network heals: they still have to
  // find each other (seed re-contact) and merge. Until every view agrees the data may still
  // have two coordinators per key, so the split's disturbance lasts until then.
  split_rule_ = 0;
  merge_disturbance_ = disturbance;
  split_healed_at_ = now_;
  return true;
}

void World::end_merge_if_converged() {
  if (!merge_disturbance_ || !checker_.converged()) return;
  close_disturbance(*merge_disturbance_);
  merge_disturbance_.reset();
  disturb();
}

void World::set_status(std::uint32_t node, NodeStatus status) {
  const bool was = checker_.status(node) == NodeStatus::running;
  const bool is = status == NodeStatus::running;
  if (was != is) {
    load_.node_seconds += running_ * std::chrono::duration<double>(now_ - load_mark_).count();
    load_mark_ = now_;
    running_ = is ? running_ + 1 : running_ - 1;
  }
  checker_.set_status(now_, node, status);
  end_merge_if_converged();
  if (agent_ != nullptr) agent_->on_status(*this, node, status);
}

void World::reset_load() {
  load_ = LoadWindow{now_, 0, 0, 0.0};
  load_mark_ = now_;
}

LoadWindow World::load() const {
  LoadWindow w = load_;
  w.node_seconds += running_ * std::chrono::duration<double>(now_ - load_mark_).count();
  return w;
}

}  // namespace apiary::sim
