// Replicator: public entry points, envelopes, dispatch of incoming messages and timers.
#include "apiary/replication/replicator.hpp"

#include <algorithm>

#include "apiary/data/partition.hpp"
#include "apiary/wire/envelope.hpp"
#include "replicator_state.hpp"

namespace apiary::replication {

// ---- State helpers -------------------------------------------------------------------

wire::EnvelopeHeader Replicator::State::envelope_header(wire::MessageType type) const {
  // Before the first view only the identity the driver gave is known (set_identity).
  const std::string& name = has_view ? view.self() : identity.name;
  // A leaving node's view (and a view whose ring left this node out) does not hold it: its
  // replies must still find it.
  const std::string* self_addr = has_view ? view.addr_ref(view.self()) : nullptr;
  if (self_addr == nullptr && has_view) self_addr = given_view.addr_ref(view.self());
  if (self_addr == nullptr) self_addr = &identity.data_addr;
  return wire::EnvelopeHeader{config.cluster_name, type, name,
                              self_addr != nullptr ? std::string_view(*self_addr)
                                                   : std::string_view()};
}

std::vector<std::uint8_t> Replicator::State::envelope(wire::MessageType type,
                                                     std::span<const std::uint8_t> payload) const {
  return wire::encode_envelope(envelope_header(type), payload);
}

void Replicator::State::send_addr(std::string_view addr, wire::MessageType type,
                                  std::vector<std::uint8_t> payload) {
  ++stats.messages_sent;
  outbox.add(addr, type, std::move(payload));
}

bool Replicator::State::send_to(std::string_view member, wire::MessageType type,
                                std::vector<std::uint8_t> payload) {
  const std::string* addr = view.addr_ref(member);
  if (addr == nullptr) addr = given_view.addr_ref(member);
  if (addr == nullptr || addr->empty()) {
    ++stats.unroutable;
    return false;
  }
  send_addr(*addr, type, std::move(payload));
  return true;
}

std::uint64_t Replicator::State::add_op(Op op) {
  const std::uint64_t id = new_id();
  timers.emplace(op.deadline, id);
  ops.emplace(id, std::move(op));
  return id;
}

void Replicator::State::erase_op(std::uint64_t id) {
  auto it = ops.find(id);
  if (it == ops.end()) return;
  timers.erase({it->second.deadline, id});
  ops.erase(it);
}

void Replicator::State::complete(const Op& op, OperationKind kind, Status status,
                                 std::uint32_t replicas, std::string reply) {
  completions.push_back(
      Completion{op.completion_id, kind, std::move(status), replicas, std::move(reply)});
}

PartitionId Replicator::State::partition_of(std::string_view key) const {
  return data::partition_of(key, config.partition_count);
}

bool Replicator::State::merge_entry(const store::VersionedEntry& e, WallTime wall) {
  auto r = store.merge(e.key, e.version, e.expiry, wall);
  if (!r.ok()) ++stats.merge_errors;
  return r.ok();
}

bool Replicator::State::merge_entry(store::VersionedEntry&& e, WallTime wall) {
  auto r = store.merge(e.key, std::move(e.version), e.expiry, wall);
  if (!r.ok()) ++stats.merge_errors;
  return r.ok();
}

void Replicator::State::on_op_timeout(TimePoint now, WallTime wall, std::uint64_t id) {
  auto it = ops.find(id);
  if (it == ops.end()) return;
  Op& op = it->second;
  switch (op.kind) {
    case OpKind::write:
      if (!op.completed) {
        ++stats.write_timeouts;
        complete(op, OperationKind::write,
                 make_error(StatusCode::timeout, "write quorum not reached in time"), op.acks + 1);
      }
      erase_op(id);
      return;
    case OpKind::read:
      finish_read(wall, id, true);
      return;
    case OpKind::forward:
      on_forward_timeout(now, id);
      return;
    case OpKind::hint:
      on_hint_timeout(op);
      erase_op(id);
      return;
    case OpKind::ae_digest:
      if (op.promotion) {
        const std::uint32_t pv = op.partition;
        const std::string peer = op.peer;
        erase_op(id);
        on_promotion_sync(now, wall, pv, peer, false);
        return;
      }
      erase_op(id);
      return;
    case OpKind::ae_push:
      erase_op(id);
      return;
    case OpKind::keyspace:
      on_keyspace_timeout(op);
      erase_op(id);
      return;
  }
}

// ---- Replicator ----------------------------------------------------------------------

Replicator::Replicator(ReplicationConfig config, store::Store& store)
    : state_(std::make_unique<State>(std::move(config), store)) {}

Replicator::~Replicator() = default;

void Replicator::set_view(TimePoint now, WallTime wall, ClusterView view) {
  State& s = *state_;
  const ClusterView before = s.view;
  const bool had_view = s.has_view;
  s.given_view = std::move(view);
  s.view = s.leaving ? s.given_view.without(s.given_view.self(), s.config) : s.given_view;
  s.has_view = true;
  if (s.ae_next == kNever && s.config.anti_entropy_interval.count() > 0) {
    s.ae_next = now + s.config.anti_entropy_interval;
  }
  const auto appeared = s.appeared_members(before, had_view);
  s.plan_transitions(now, before, had_view, appeared);
  s.plan_promotions(now, wall, before, had_view);
  s.plan_handoff(now, before, had_view, wall, appeared);
  s.pump_handoff(now, wall);
  s.deliver_hints(now, wall);
  s.recall_blocking_forwards(now);
}

const ClusterView& Replicator::view() const { return state_->view; }
const ReplicationConfig& Replicator::config() const { return state_->config; }

void Replicator::set_executor(Executor executor) { state_->executor = std::move(executor); }

void Replicator::set_identity(std::string name, std::string data_addr) {
  state_->identity = {std::move(name), std::move(data_addr)};
}

void Replicator::leave(TimePoint now, WallTime wall) {
  State& s = *state_;
  if (s.leaving) return;
  s.leaving = true;
  if (s.has_view) set_view(now, wall, s.given_view);
}

bool Replicator::leaving() const { return state_->leaving; }

bool Replicator::handoff_pending() const {
  return !state_->handoffs.empty() || state_->markers_in_flight != 0;
}

void Replicator::handle_message(TimePoint now, WallTime wall, std::span<const std::uint8_t> bytes) {
  State& s = *state_;
  ++s.stats.messages_received;
  s.stats.bytes_received += bytes.size();
  wire::EnvelopeLimits limits;
  limits.max_message_bytes = s.config.max_message_bytes;
  auto env = wire::decode_envelope(bytes, s.config.cluster_name, limits);
  if (!env.ok()) {
    const auto code = env.status().code();
    if (code == StatusCode::wrong_cluster) {
      ++s.stats.foreign_cluster_dropped;
    } else if (code == StatusCode::unsupported) {
      ++s.stats.unsupported_dropped;
    } else {
      ++s.stats.malformed_dropped;
    }
    return;
  }
  const auto type = env->header.type;
  const std::string_view from = env->header.sender_name;
  const std::string_view reply_to = env->header.sender_addr;
  if (type != wire::MessageType::data_batch) {
    s.dispatch(now, wall, type, env->payload, from, reply_to);
  } else {
    auto batch = decode_batch(env->payload, s.config.max_batch_messages);
    if (!batch.ok()) {
      if (batch.status().code() == StatusCode::unsupported) {
        ++s.stats.unsupported_dropped;
      } else {
        ++s.stats.malformed_dropped;
      }
      return;
    }
    s.stats.batched_messages_received += batch->size();
    s.collecting_acks = true;
    for (const BatchedMessage& m : *batch) s.dispatch(now, wall, m.type, m.payload, from, reply_to);
    s.flush_acks(reply_to);
  }
  s.pump_handoff(now, wall);
}

void Replicator::State::dispatch(TimePoint now, WallTime wall, wire::MessageType type,
                                 std::span<const std::uint8_t> payload, std::string_view from,
                                 std::string_view reply_to) {
  State& s = *this;
  if (static_cast<std::uint16_t>(type) < 32) {
    ++s.stats.unsupported_dropped;
    return;
  }
  auto msg = decode_message(type, payload, s.config);
  if (!msg.ok()) {
    if (msg.status().code() == StatusCode::unsupported) {
      ++s.stats.unsupported_dropped;
    } else {
      ++s.stats.malformed_dropped;
    }
    return;
  }
  Message& m = *msg;  // mutable: a forwarded command's arguments move into the executor
  if (!s.has_view) {
    // Not serving yet (a joining node waits for a seed's member list). A forwarded command
    // is refused at once rather than left to time out, so that the requester knows it did
    // not run and may try the next owner; a read is answered from the local copy (what this
    // node holds: nothing has been merged into it yet), so that owners waiting for this
    // newly appeared member (docs/replication.md, "Reads during handoff") are not held up.
    // Everything else waits for the view.
    if (type == wire::MessageType::data_request && !s.identity.name.empty()) {
      if (m.kind == RequestKind::forward) {
        ++s.stats.forwards_refused;
        s.send_addr(reply_to, wire::MessageType::data_response,
                    encode_forward_response(m.id, StatusCode::unavailable, {}, {},
                                            s.store.flush_horizon()));
      } else if (m.kind == RequestKind::read) {
        s.on_read_request(wall, m, reply_to);
      }
    }
    return;
  }
  // Before anything of the message is merged: old and new versions of flushed keys must
  // never meet (a node's dot counters restart after a flush, see store_flush.cpp).
  s.adopt_horizon(m.horizon, wall);
  using wire::MessageType;
  switch (type) {
    case MessageType::data_request:
      switch (m.kind) {
        case RequestKind::replicate:
        case RequestKind::replicate_many:
          s.on_replicate_request(wall, m, from, reply_to);
          break;
        case RequestKind::read:
          s.on_read_request(wall, m, reply_to);
          break;
        case RequestKind::forward:
          s.on_forward_request(now, wall, m, from, reply_to);
          break;
        case RequestKind::entries:
          s.on_entries_request(wall, m, reply_to);
          break;
        case RequestKind::replicate_delta:
          s.on_delta_request(wall, m, reply_to);
          break;
        case RequestKind::forward_cancel:
          s.on_forward_cancel(m, reply_to);
          break;
        case RequestKind::acks:  // a response kind: decode_message refuses it as a request
          ++s.stats.malformed_dropped;
          break;
      }
      break;
    case MessageType::data_response: {
      if (m.kind == RequestKind::acks) {
        for (const std::uint64_t id : m.numbers) s.on_ack(id, StatusCode::ok, m.kind, from);
        break;
      }
      if (m.id == 0) break;  // answer to a fire-and-forget repair
      if (m.kind == RequestKind::replicate_delta && m.code == StatusCode::not_found) {
        s.on_delta_refused(wall, m, from);
        break;
      }
      if (m.kind == RequestKind::replicate || m.kind == RequestKind::replicate_many ||
          m.kind == RequestKind::replicate_delta) {
        s.on_ack(m.id, m.code, m.kind, from);
        break;
      }
      auto it = s.ops.find(m.id);
      if (it == s.ops.end()) {
        ++s.stats.unmatched_dropped;
        break;
      }
      const OpKind kind = it->second.kind;
      if (kind == OpKind::read && m.kind == RequestKind::read) {
        s.on_read_response(wall, m, from);
      } else if (kind == OpKind::forward && m.kind == RequestKind::forward) {
        s.on_forward_response(now, wall, m, from);
      } else if (kind == OpKind::ae_push && m.kind == RequestKind::entries) {
        s.erase_op(m.id);
      } else {
        ++s.stats.unmatched_dropped;
      }
      break;
    }
    case MessageType::handoff_batch:
      s.on_handoff_batch(now, wall, m, from, reply_to);
      break;
    case MessageType::handoff_ack:
      s.on_handoff_ack(now, wall, m, from);
      break;
    case MessageType::digest_request:
      s.on_digest_request(wall, m, reply_to);
      break;
    case MessageType::digest_response:
      s.on_digest_response(now, wall, m, from);
      break;
    case MessageType::keyspace_request:
      s.on_keyspace_request(wall, m, from, reply_to);
      break;
    case MessageType::keyspace_response:
      s.on_keyspace_response(m, from);
      break;
    default:
      ++s.stats.unsupported_dropped;
      break;
  }
}

void Replicator::handle_timeout(TimePoint now, WallTime wall) {
  State& s = *state_;
  while (!s.timers.empty() && s.timers.begin()->first <= now) {
    const std::uint64_t id = s.timers.begin()->second;
    s.timers.erase(s.timers.begin());
    // on_op_timeout may re-arm the op (forward retry) under a new deadline.
    auto it = s.ops.find(id);
    if (it == s.ops.end()) continue;
    s.timers.emplace(it->second.deadline, id);  // erase_op expects the entry to exist
    s.on_op_timeout(now, wall, id);
  }
  if (s.has_view && s.ae_next <= now) {
    s.anti_entropy_tick(now, wall);
    s.ae_next = now + s.config.anti_entropy_interval;
  }
  if (s.hint_next <= now) {
    s.hint_next = kNever;
    s.deliver_hints(now, wall);
  }
  s.expire_transitions(now);
  s.handoff_sessions.handle_timeout(now);
  s.resend_batches(now);
  s.drop_handed_off(now);
  s.pump_handoff(now, wall);
}

TimePoint Replicator::next_deadline() const {
  const State& s = *state_;
  TimePoint t = kNever;
  if (!s.timers.empty()) t = s.timers.begin()->first;
  if (s.has_view) t = std::min(t, s.ae_next);
  t = std::min(t, s.hint_next);
  t = std::min(t, s.next_batch_deadline());
  t = std::min(t, s.next_transition_deadline());
  t = std::min(t, s.handoff_sessions.next_deadline());
  return t;
}

std::optional<Outgoing> Replicator::poll_send() {
  State& s = *state_;
  auto out = s.outbox.poll([&s](wire::MessageType type, std::vector<std::uint8_t>& bytes) {
    return wire::begin_envelope(s.envelope_header(type), bytes);
  });
  const auto& counted = s.outbox.counters();
  s.stats.envelopes_sent = counted.envelopes;
  s.stats.batches_sent = counted.batches;
  s.stats.bytes_sent = counted.bytes;
  return out;
}

std::optional<HandoffEvent> Replicator::poll_handoff_event() {
  return state_->handoff_sessions.poll();
}

std::optional<Completion> Replicator::poll_completion() {
  State& s = *state_;
  if (s.completions.empty()) return std::nullopt;
  Completion c = std::move(s.completions.front());
  s.completions.pop_front();
  return c;
}

PartitionId Replicator::partition_of(std::string_view key) const {
  return state_->partition_of(key);
}

bool Replicator::owns(std::string_view key) const {
  const State& s = *state_;
  return s.has_view && s.view.owns(s.view.self(), s.partition_of(key));
}

std::string Replicator::coordinator(std::string_view key) const {
  const State& s = *state_;
  if (!s.has_view) return {};
  const std::string* c = s.view.first_live_owner(s.partition_of(key));
  return c == nullptr ? std::string() : *c;
}

bool Replicator::coordinates(std::string_view key) const {
  const State& s = *state_;
  if (!s.has_view) return false;
  const std::string* c = s.view.first_live_owner(s.partition_of(key));
  return c != nullptr && *c == s.view.self();
}

const ReplicationStats& Replicator::stats() const { return state_->stats; }

std::size_t Replicator::hint_count() const { return state_->hints.size(); }

std::size_t Replicator::pending_operations() const {
  std::size_t n = 0;
  for (const auto& [id, op] : state_->ops) {
    if ((op.kind == OpKind::write || op.kind == OpKind::read || op.kind == OpKind::forward ||
         op.kind == OpKind::keyspace) &&
        !op.completed) {
      ++n;
    }
  }
  return n;
}

}  // namespace apiary::replication
