// The workload's clients and its online check of handoff time; the end-of-run checks are in
// workload_checks.cpp.
#include "apiary/sim/workload.hpp"

#include <algorithm>

#include "apiary/data/partition.hpp"

namespace apiary::sim {

namespace {

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

Workload::Workload(WorkloadOptions options, Rng rng)
    : options_(std::move(options)), rng_(rng), clients_(options_.clients) {
  for (std::uint32_t k = 0; k < options_.keys; ++k) keys_.push_back("k" + std::to_string(k));
  for (std::uint32_t c = 0; c < options_.counters; ++c) keys_.push_back("c" + std::to_string(c));
  for (std::uint32_t k = 0; k < options_.sets; ++k) keys_.push_back("s" + std::to_string(k));
  for (std::uint32_t k = 0; k < options_.hashes; ++k) keys_.push_back("h" + std::to_string(k));
  for (std::uint32_t k = 0; k < options_.zsets; ++k) keys_.push_back("z" + std::to_string(k));
  for (std::uint32_t k = 0; k < options_.lists; ++k) keys_.push_back("l" + std::to_string(k));
  for (std::uint32_t p = 0; p < options_.transfers; ++p) {
    keys_.push_back("{acct:" + std::to_string(p) + "}:a");
    keys_.push_back("{acct:" + std::to_string(p) + "}:b");
  }
  if (options_.pubsub > 0) {
    // A stream of its own, derived from a copy: the other clients draw exactly as without it.
    Rng copy = rng_;
    pubsub_.emplace(options_, copy.split());
  }
}

void Workload::note(std::string what) {
  if (report_.samples.size() < 10) report_.samples.push_back(std::move(what));
}

void Workload::start(World& world, TimePoint from, TimePoint stop, TimePoint verify_at) {
  from_ = from;
  stop_ = stop;
  started_ = true;
  for (std::uint32_t c = 0; c < clients_.size(); ++c) world.wake_at(from, c);
  if (pubsub_) pubsub_->start(world, from, stop);
  if (keys_.size() > options_.keys) world.wake_at(verify_at, kVerify);
}

// ---- Ground truth: which nodes are in the ring -------------------------------------------

void Workload::ring_changed(TimePoint at) {
  std::vector<std::string> names;
  for (auto n : ring_) names.push_back(node_name(n));
  RingEpoch e;
  e.at = at;
  e.table = cluster::PartitionTable::build(std::move(names),
                                           {options_.partitions, options_.replicas, 1.25});
  epochs_.push_back(std::move(e));
}

std::vector<std::string> Workload::owners_at(TimePoint t, const std::string& key) const {
  // The last epoch at or before t (epochs_ is in time order; the first starts at time 0).
  auto it = std::upper_bound(epochs_.begin(), epochs_.end(), t,
                             [](TimePoint x, const RingEpoch& e) { return x < e.at; });
  if (epochs_.empty()) return {};
  const RingEpoch& e = it == epochs_.begin() ? epochs_.front() : *std::prev(it);
  if (e.table.members().empty()) return {};
  return e.table.owners(data::partition_of(key, options_.partitions));
}

void Workload::on_status(World& world, std::uint32_t node, NodeStatus status) {
  const TimePoint now = world.now();
  switch (status) {
    case NodeStatus::running: {
      const bool first_start = started_nodes_.insert(node).second;
      ring_.insert(node);
      ring_changed(now);
      if (started_ && first_start) open_handoffs_.push_back(now);
      break;
    }
    case NodeStatus::leaving:
      // Still in the ring while it hands off; the change comes when it stops.
      if (started_) open_handoffs_.push_back(now);
      node_exits_.emplace_back(node, now);
      break;
    case NodeStatus::left:
    case NodeStatus::crashed:
      node_exits_.emplace_back(node, now);
      ring_.erase(node);
      ring_changed(now);
      break;
    case NodeStatus::absent:
      break;
  }
  if (pubsub_) pubsub_->on_status(world, node, status);
  if (!open_handoffs_.empty() && !checking_) {
    checking_ = true;
    world.wake_at(now + 100ms, kCheck);
  }
}

void Workload::on_heal(World& world) {
  if (!started_) return;
  open_heals_.push_back(world.now());
  if (!checking_) {
    checking_ = true;
    world.wake_at(world.now() + 100ms, kCheck);
  }
}

// ---- Clients -------------------------------------------------------------------------------

void Workload::on_wake(World& world, std::uint32_t tag) {
  if (tag == kCheck) {
    check_handoff(world);
    return;
  }
  if (tag == kVerify) {
    verify(world);
    return;
  }
  if ((tag & PubSubWorkload::kWakeBit) != 0) {
    if (pubsub_) pubsub_->on_wake(world, tag & ~PubSubWorkload::kWakeBit);
    return;
  }
  if ((tag & kTimeout) != 0) {
    const std::uint32_t c = tag & ~kTimeout;
    Client& client = clients_.at(c);
    if (!client.in_flight) return;
    OpRecord& op = ops_.at(client.op - 1);
    if (op.invoked + options_.op_timeout + op.block > world.now()) return;  // an older op's
    op.outcome = Outcome::timeout;
    ++report_.timeouts;
    client.in_flight = false;
    world.wake_at(world.now(), c);
    return;
  }
  issue(world, tag);
}

void Workload::issue(World& world, std::uint32_t c) {
  Client& client = clients_.at(c);
  if (client.in_flight || world.now() >= stop_) return;
  const std::vector<std::uint32_t> candidates = ready_nodes(world);
  if (candidates.empty()) {
    world.wake_at(world.now() + 100ms, c);
    return;
  }
  const std::uint32_t node = candidates[rng_.uniform(candidates.size())];
  OpKind kind = OpKind::get;
  std::uint32_t key = 0;
  std::string element;
  const std::uint32_t collections =
      options_.sets + options_.hashes + options_.zsets + options_.lists;
  if (options_.transfers > 0 && rng_.unit() < options_.transfer_ratio) {
    kind = pick_transfer_op(key);
  } else if (collections > 0 && rng_.unit() < options_.collection_ratio) {
    key = collections_from() + static_cast<std::uint32_t>(rng_.uniform(collections));
    if (is_list(key)) {
      kind = pick_list_op(key);
    } else {
      pick_collection_op(c, key, kind, element);
    }
  } else {
    if (rng_.unit() >= options_.read_ratio) {
      const double u = rng_.unit();
      kind = u < 0.4   ? OpKind::set
             : u < 0.6 ? OpKind::set_nx
             : u < 0.7 ? OpKind::del
                       : OpKind::incr;
      if (kind == OpKind::incr && options_.counters == 0) kind = OpKind::set;
    }
    key = kind == OpKind::incr
              ? options_.keys + static_cast<std::uint32_t>(rng_.uniform(options_.counters))
              : static_cast<std::uint32_t>(rng_.uniform(options_.keys));
  }
  const auto [id, bytes] = record(world, c, node, kind, key, std::move(element));
  client.in_flight = true;
  client.op = id;
  // A blocking pop may wait its timeout before anything answers it.
  world.wake_at(world.now() + options_.op_timeout + ops_.back().block, kTimeout | c);
  // The reply may come at once; it is taken in after_call, after the client is marked busy.
  const std::uint32_t replies = is_pipelined(kind) ? 4 : 1;
  world.call(node, [&](Process& p, TimePoint local) {
    if (NodeProcess* n = p.node()) n->send(local, c, id, bytes, replies);
  });
}

std::pair<std::uint64_t, std::string> Workload::record(World& world, std::uint32_t client,
                                                       std::uint32_t node, OpKind kind,
                                                       std::uint32_t key, std::string element) {
  OpRecord op;
  op.id = ops_.size() + 1;
  op.client = client;
  op.node = node;
  op.kind = kind;
  op.key = key;
  op.invoked = world.now();
  op.element = std::move(element);
  const std::string id = std::to_string(op.id);
  const std::string& k = keys_.at(key);
  std::string bytes;
  switch (kind) {
    case OpKind::get:
      ++report_.gets;
      bytes = encode_command({"GET", k});
      break;
    case OpKind::set:
      ++report_.sets;
      op.value = "v" + std::to_string(op.id);
      bytes = encode_command({"SET", k, op.value});
      break;
    case OpKind::set_nx:
      ++report_.set_nx;
      op.value = "v" + std::to_string(op.id);
      bytes = encode_command({"SET", k, op.value, "NX"});
      break;
    case OpKind::del:
      ++report_.dels;
      bytes = encode_command({"DEL", k});
      break;
    case OpKind::incr:
      ++report_.incrs;
      bytes = encode_command({"INCR", k});
      break;
    case OpKind::sadd:
      ++report_.sadds;
      if (op.element.empty()) op.element = "m" + id;
      bytes = encode_command({"SADD", k, op.element});
      break;
    case OpKind::srem:
      ++report_.srems;
      bytes = encode_command({"SREM", k, op.element});
      break;
    case OpKind::smembers:
      ++report_.smembers;
      bytes = encode_command({"SMEMBERS", k});
      break;
    case OpKind::hset:
      ++report_.hsets;
      if (op.element.empty()) op.element = "f" + id;
      op.value = "v" + id;
      bytes = encode_command({"HSET", k, op.element, op.value});
      break;
    case OpKind::hdel:
      ++report_.hdels;
      bytes = encode_command({"HDEL", k, op.element});
      break;
    case OpKind::hincrby:
      ++report_.hincrbys;
      bytes = encode_command({"HINCRBY", k, op.element, "1"});
      break;
    case OpKind::hgetall:
      ++report_.hgetalls;
      bytes = encode_command({"HGETALL", k});
      break;
    case OpKind::zadd:
      ++report_.zadds;
      if (op.element.empty()) op.element = "m" + id;
      op.value = std::to_string(rng_.uniform(1000));  // scores repeat: ties order by member
      bytes = encode_command({"ZADD", k, op.value, op.element});
      break;
    case OpKind::zrem:
      ++report_.zrems;
      bytes = encode_command({"ZREM", k, op.element});
      break;
    case OpKind::zincrby:
      ++report_.zincrbys;
      bytes = encode_command({"ZINCRBY", k, "1", op.element});
      break;
    case OpKind::zrange:
      ++report_.zranges;
      bytes = encode_command({"ZRANGE", k, "0", "-1", "WITHSCORES"});
      break;
    case OpKind::transfer_multi:
    case OpKind::transfer_eval:
    case OpKind::audit_multi:
    case OpKind::audit_eval:
      bytes = transfer_command(op);
      break;
    default:
      bytes = list_command(op);
      break;
  }
  ops_.push_back(std::move(op));
  return {ops_.back().id, std::move(bytes)};
}

void Workload::after_call(World& world, std::uint32_t node, Process& process) {
  (void)node;
  NodeProcess* n = process.node();
  if (n == nullptr) return;
  while (auto r = n->poll_reply()) {
    if (pubsub_ && PubSubWorkload::owns(r->client)) {
      pubsub_->on_reply(world, *r);
    } else {
      on_reply(world, *r);
    }
  }
}

void Workload::on_reply(World& world, const ClientReply& r) {
  if (r.request == 0 || r.request > ops_.size()) return;
  OpRecord& op = ops_[r.request - 1];
  if (take_queued(op, r.reply)) return;
  if (op.outcome == Outcome::ok || op.outcome == Outcome::error) return;
  const bool late = op.outcome == Outcome::timeout;
  op.returned = world.now();
  op.reply = r.reply;
  op.late = late;
  op.outcome = r.reply.is_error() ? Outcome::error : Outcome::ok;
  ++(op.outcome == Outcome::ok ? report_.ok : report_.errors);
  if (op.outcome == Outcome::ok && is_collection(op.key)) learn(op);
  if (op.outcome == Outcome::ok && is_audit(op.kind)) judge_audit(op);
  if (late) {
    // It settles what the command did; the client had moved on.
    --report_.timeouts;
    ++report_.late_replies;
    return;
  }
  if (op.client < clients_.size()) {
    Client& client = clients_[op.client];
    if (client.in_flight && client.op == op.id) {
      client.in_flight = false;
      world.wake_at(world.now(), op.client);  // the next command (not from inside a node's call)
    }
  }
}

std::vector<std::uint32_t> Workload::ready_nodes(const World& world) const {
  std::vector<std::uint32_t> out;
  for (auto n : ring_) {
    if (world.status(n) == NodeStatus::running && !world.paused(n)) out.push_back(n);
  }
  return out;
}

// The counters' final values, read through the cluster once the faults are over; a read that
// fails is tried again on another node (three rounds, a second apart). The hash and set keys
// are read through every node (verify_collections).
void Workload::verify(World& world) {
  const std::vector<std::uint32_t> candidates = ready_nodes(world);
  bool missing = !verify_collections(world, candidates);
  for (std::uint32_t c = 0; c < options_.counters; ++c) {
    const std::uint32_t key = options_.keys + c;
    auto it = verify_reads_.find(key);
    if (it != verify_reads_.end() && ops_.at(it->second - 1).outcome == Outcome::ok) continue;
    missing = true;
    if (candidates.empty()) continue;
    const std::uint32_t node = candidates[rng_.uniform(candidates.size())];
    // Client ids past the workload's clients: one connection per counter for these reads.
    const std::uint32_t client = static_cast<std::uint32_t>(clients_.size()) + c;
    const auto [id, bytes] = record(world, client, node, OpKind::get, key);
    verify_reads_[key] = id;
    world.call(node, [&](Process& p, TimePoint local) {
      if (NodeProcess* n = p.node()) n->send(local, client, id, bytes);
    });
  }
  if (missing && ++verify_attempts_ < 3) world.wake_at(world.now() + 1s, kVerify);
}

// ---- Handoff time ----------------------------------------------------------------------------

void Workload::check_handoff(World& world) {
  checking_ = false;
  if (open_handoffs_.empty() && open_heals_.empty()) return;
  std::vector<std::string> running;
  for (auto n : ring_) running.push_back(node_name(n));
  std::sort(running.begin(), running.end());  // as the view lists members: by name
  bool quiet = true;
  for (auto n : ring_) {
    Process* p = world.process(n);
    NodeProcess* node = p == nullptr ? nullptr : p->node();
    if (node == nullptr) continue;
    const auto& rep = node->core().replicator();
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
    for (const TimePoint t : open_heals_)
      report_.heal_handoff_s.push_back(seconds(world.now() - t));
    open_heals_.clear();
    return;
  }
  checking_ = true;
  world.wake_at(world.now() + 100ms, kCheck);
}

}  // namespace apiary::sim
