// The workload's clients and its online checks (stale reads, handoff time); the end-of-run
// checks are in workload_checks.cpp.
#include "apiary/sim/workload.hpp"

#include <algorithm>

#include "apiary/data/partition.hpp"

namespace apiary::sim {

namespace {

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

Workload::Workload(WorkloadOptions options, Rng rng)
    : options_(std::move(options)), rng_(rng), clients_(options_.clients) {}

void Workload::note(std::string what) {
  if (report_.samples.size() < 10) report_.samples.push_back(std::move(what));
}

void Workload::start(World& world, TimePoint from, TimePoint stop) {
  stop_ = stop;
  started_ = true;
  for (std::uint32_t c = 0; c < clients_.size(); ++c) world.wake_at(from, c);
}

// ---- Ground truth: which nodes are in the ring -------------------------------------------

void Workload::ring_changed(TimePoint at, bool membership) {
  std::vector<std::string> names;
  for (auto n : ring_) names.push_back(node_name(n));
  RingEpoch e;
  e.at = at;
  e.membership = membership;
  e.table = cluster::PartitionTable::build(std::move(names),
                                           {options_.partitions, options_.replicas, 1.25});
  epochs_.push_back(std::move(e));
}

const Workload::RingEpoch& Workload::epoch_at(TimePoint t) const {
  // The last epoch at or before t (epochs_ is in time order; the first starts at time 0).
  auto it = std::upper_bound(epochs_.begin(), epochs_.end(), t,
                             [](TimePoint x, const RingEpoch& e) { return x < e.at; });
  return it == epochs_.begin() ? epochs_.front() : *std::prev(it);
}

std::vector<std::string> Workload::owners_at(TimePoint t, const std::string& key) const {
  if (epochs_.empty()) return {};
  const auto& e = epoch_at(t);
  if (e.table.members().empty()) return {};
  return e.table.owners(data::partition_of(key, options_.partitions));
}

void Workload::on_status(World& world, std::uint32_t node, NodeStatus status) {
  const TimePoint now = world.now();
  switch (status) {
    case NodeStatus::running: {
      const bool first_start = std::none_of(crashes_.begin(), crashes_.end(),
                                            [&](const auto& c) { return c.first == node; });
      ring_.insert(node);
      ring_changed(now, first_start);
      if (started_ && first_start) open_handoffs_.push_back(now);
      break;
    }
    case NodeStatus::leaving:
      // Still in the ring while it hands off; the change comes when it stops.
      if (started_) open_handoffs_.push_back(now);
      break;
    case NodeStatus::left:
      ring_.erase(node);
      ring_changed(now, true);
      break;
    case NodeStatus::crashed:
      crashes_.emplace_back(node, now);
      ring_.erase(node);
      ring_changed(now, false);
      break;
    case NodeStatus::absent:
      break;
  }
  if (!open_handoffs_.empty() && !checking_) {
    checking_ = true;
    world.wake_at(now + 100ms, kCheck);
  }
}

// ---- Clients -------------------------------------------------------------------------------

void Workload::on_wake(World& world, std::uint32_t tag) {
  if (tag == kCheck) {
    check_handoff(world);
    return;
  }
  if ((tag & kTimeout) != 0) {
    const std::uint32_t c = tag & ~kTimeout;
    Client& client = clients_.at(c);
    if (client.in_flight && client.started + options_.op_timeout <= world.now()) {
      complete(world, c, nullptr);
    }
    return;
  }
  issue(world, tag);
}

void Workload::issue(World& world, std::uint32_t c) {
  Client& client = clients_.at(c);
  if (client.in_flight || world.now() >= stop_) return;
  std::vector<std::uint32_t> candidates;
  for (auto n : ring_) {
    if (world.status(n) == NodeStatus::running && !world.paused(n)) candidates.push_back(n);
  }
  if (candidates.empty()) {
    world.wake_at(world.now() + 100ms, c);
    return;
  }
  const std::uint32_t node = candidates[rng_.uniform(candidates.size())];
  ClientOp op;
  op.id = next_op_++;
  op.write = rng_.unit() >= options_.read_ratio;
  op.key = "key" + std::to_string(rng_.uniform(options_.keys));
  if (op.write) op.value = "v" + std::to_string(op.id);
  client.in_flight = true;
  client.op = op.id;
  client.started = world.now();
  client.request = op;
  op_client_[op.id] = c;
  if (op.write) {
    ++report_.writes;
  } else {
    ++report_.reads;
  }
  world.wake_at(world.now() + options_.op_timeout, kTimeout | c);
  world.call(node, [&](Process& p, TimePoint local) {
    if (DataProcess* d = p.data()) d->client_op(local, op);
  });
}

void Workload::after_call(World& world, std::uint32_t node, Process& process) {
  (void)node;
  DataProcess* d = process.data();
  if (d == nullptr) return;
  while (auto r = d->poll_result()) {
    auto it = op_client_.find(r->id);
    if (it == op_client_.end()) continue;  // timed out already
    complete(world, it->second, &*r);
  }
}

void Workload::complete(World& world, std::uint32_t c, const ClientResult* result) {
  Client& client = clients_.at(c);
  op_client_.erase(client.op);
  client.in_flight = false;
  const TimePoint now = world.now();
  const ClientOp& op = client.request;
  const bool ok = result != nullptr && result->ok;
  if (result != nullptr && result->forwarded) ++report_.forwarded;
  if (op.write) {
    WriteRecord w;
    w.op = op.id;
    w.value = op.value;
    w.started = client.started;
    w.completed = now;
    w.acked = ok;
    if (result != nullptr && result->dot) {
      w.outcome_known = true;
      w.dot = result->dot;
      w.clock = result->clock;
    }
    if (ok) {
      ++report_.acked_writes;
    } else {
      ++report_.failed_writes;
    }
    writes_[op.key].push_back(std::move(w));
  } else if (!ok) {
    ++report_.failed_reads;
  } else if (result->values.empty()) {
    // Missing: stale if an acknowledged write of the key completed before this read started.
    const WriteRecord* last = nullptr;
    if (auto it = writes_.find(op.key); it != writes_.end()) {
      for (const auto& w : it->second) {
        if (w.acked && w.completed <= client.started) last = &w;
      }
    }
    if (last != nullptr) {
      ++report_.stale_reads;
      bool membership = false;
      for (const auto& e : epochs_) {
        membership = membership || (e.membership && e.at > last->completed && e.at <= now);
      }
      const auto before = owners_at(last->completed, op.key);
      const auto reader = node_name(result->executed_on);
      const bool new_owner = std::find(before.begin(), before.end(), reader) == before.end();
      if (membership && new_owner && owners_at(client.started, op.key) != before) {
        ++report_.stale_reads_membership;
        note("stale read of " + op.key + " at " + reader +
             " (t=" + std::to_string(seconds(client.started.time_since_epoch())) +
             "s) after write " + last->value +
             " acked at t=" + std::to_string(seconds(last->completed.time_since_epoch())) +
             "s; owners changed by a join/leave in between");
      }
    }
  }
  world.wake_at(now, c);  // the next operation (not from inside a node's call)
}

// ---- Handoff time ----------------------------------------------------------------------------

void Workload::check_handoff(World& world) {
  checking_ = false;
  if (open_handoffs_.empty()) return;
  std::vector<std::string> running;
  for (auto n : ring_) running.push_back(node_name(n));
  std::sort(running.begin(), running.end());  // as the view lists members: by name
  bool quiet = true;
  for (auto n : ring_) {
    Process* p = world.process(n);
    DataProcess* d = p == nullptr ? nullptr : p->data();
    if (d == nullptr) continue;
    const auto& rep = d->replicator();
    if (rep.handoff_pending() || rep.partitions_in_transition() != 0) {
      quiet = false;
      break;
    }
    std::vector<std::string> live;
    for (const auto& m : rep.view().members()) {
      if (m.live) live.push_back(m.name);
    }
    if (live != running) {
      quiet = false;
      break;
    }
  }
  if (quiet) {
    for (const TimePoint t : open_handoffs_) report_.handoff_s.push_back(seconds(world.now() - t));
    open_handoffs_.clear();
    return;
  }
  checking_ = true;
  world.wake_at(world.now() + 100ms, kCheck);
}

}  // namespace apiary::sim
