// Swim's public API, message dispatch and timer dispatch.
#include "apiary/gossip/swim.hpp"

#include <algorithm>
#include <utility>

#include "meta_pool.hpp"
#include "state.hpp"

namespace apiary::gossip {

namespace {

using namespace std::chrono_literals;

// Non-positive durations would make timers spin; clamp them to something that still works.
SwimConfig sanitized(SwimConfig c) {
  auto at_least = [](Duration& d, Duration min) { d = std::max(d, min); };
  at_least(c.probe_interval, 1ms);
  at_least(c.probe_timeout, 1ms);
  at_least(c.gossip_interval, 1ms);
  at_least(c.push_pull_interval, 1ms);
  at_least(c.join_retry_initial, 1ms);
  at_least(c.join_retry_max, c.join_retry_initial);
  at_least(c.dead_reclaim_time, 0ms);
  at_least(c.gossip_to_dead, 0ms);
  c.awareness_max_multiplier = std::max<std::size_t>(c.awareness_max_multiplier, 1);
  c.max_members_per_message = std::max<std::size_t>(c.max_members_per_message, 1);
  return c;
}

}  // namespace

Swim::State::State(SwimConfig cfg, LocalNode local, Rng random, TimePoint now)
    : config(sanitized(std::move(cfg))),
      self(std::move(local)),
      rng(random),
      awareness(config.awareness_max_multiplier),
      broadcasts(config.max_queued_updates) {
  self.meta = detail::within_limits(std::move(self.meta));
  detail::MemberRecord record;
  record.set_name(self.name);
  record.set_addr(self.addr);
  record.meta = detail::intern_meta(self.meta);
  record.set_state(MemberState::alive);
  record.changed = now;
  self_slot = members.insert(std::move(record));
  alive_members = 1;
  last_input = now;

  envelope_limits.max_message_bytes = config.max_message_bytes;
  envelope_limits.max_cluster_name =
      std::max(envelope_limits.max_cluster_name, config.cluster_name.size());
  envelope_limits.max_sender_name = detail::kMaxNameBytes;
  envelope_limits.max_sender_addr = detail::kMaxAddrBytes;
  envelope_bytes = detail::envelope_overhead(config.cluster_name, self.name, self.addr);

  // Random phases, so that nodes started together do not probe and gossip in lockstep.
  auto phase = [this](Duration d) { return Duration(rng.uniform(d.count())); };
  next_probe = now + phase(config.probe_interval);
  next_gossip = now + phase(config.gossip_interval);
  next_push_pull = now + phase(config.push_pull_interval);
}

void Swim::State::handle_message(TimePoint now, std::span<const std::uint8_t> bytes) {
  notice_stall(now);
  ++stats.messages_received;
  stats.bytes_received += bytes.size();
  auto env = wire::decode_envelope(bytes, config.cluster_name, envelope_limits);
  if (!env.ok()) {
    switch (env.status().code()) {
      case StatusCode::wrong_cluster:
        ++stats.foreign_cluster_dropped;
        break;
      case StatusCode::unsupported:
        ++stats.unsupported_dropped;
        break;
      default:
        ++stats.malformed_dropped;
        break;
    }
    return;
  }
  const wire::EnvelopeHeader& from = env->header;
  if (static_cast<std::uint16_t>(from.type) >= 32) {  // data-layer traffic is not ours
    ++stats.unsupported_dropped;
    return;
  }
  if (from.sender_name.empty() || from.sender_addr.empty() ||
      from.sender_name.size() > detail::kMaxNameBytes) {
    ++stats.malformed_dropped;
    return;
  }
  // Our own messages come back only through a misconfiguration (a seed address that is an
  // alias of ours); answering them would make this node "join" itself.
  if (from.sender_name == self.name) return;
  // Decoded fresh each time: keeping a push-pull's decoded tree around would cost more memory
  // per instance than its whole member table.
  detail::Message message;
  if (!detail::decode_message(from.type, env->payload, config.max_members_per_message, message)
           .ok()) {
    ++stats.malformed_dropped;
    return;
  }

  const std::uint64_t refutations_before = stats.refutations;
  switch (from.type) {
    case wire::MessageType::push_pull:
    case wire::MessageType::push_pull_reply:
      on_push_pull(now, from, message);
      break;
    default:
      for (const auto& update : message.updates) apply_update(now, update);
      break;
  }
  switch (from.type) {
    case wire::MessageType::ping:
      on_ping(now, from, message);
      break;
    case wire::MessageType::ping_req:
      on_ping_req(now, from, message);
      break;
    case wire::MessageType::ack:
      on_ack(message);
      break;
    case wire::MessageType::nack:
      on_nack(message);
      break;
    default:
      break;
  }
  if (stats.refutations != refutations_before) contact_unknown_accuser(now, from);
  if (stale_accusation) answer_stale_accusation(now, from);
}

void Swim::State::handle_timeout(TimePoint now) {
  notice_stall(now);
  apply_deferred_deaths(now);
  join_retry_tick(now);
  meet_retry_tick(now);
  relay_tick(now);
  probe_timeout_tick(now);
  if (now >= next_probe) probe_tick(now);
  suspicion_tick(now);
  if (now >= next_gossip) gossip_tick(now);
  if (now >= next_push_pull) push_pull_tick(now);
  reclaim_tick(now);
}

TimePoint Swim::State::next_deadline() const {
  TimePoint t = std::min({next_probe, next_gossip, next_push_pull});
  if (probe.active && !probe.acked && !probe.indirect_sent) t = std::min(t, probe.timeout_at);
  if (join_state == JoinState::joining) t = std::min(t, next_join_retry);
  t = std::min(t, next_meet_retry);
  if (!relay_deadlines.empty()) t = std::min(t, relay_deadlines.front().first);
  if (!suspicion_deadlines.empty()) t = std::min(t, suspicion_deadlines.begin()->first);
  if (!reclaim_queue.empty()) t = std::min(t, reclaim_queue.front().first);
  if (!deferred_deaths.empty()) t = std::min(t, stall_recovery_end);
  return t;
}

// ---- Swim ----------------------------------------------------------------------------------

Swim::Swim(SwimConfig config, LocalNode self, Rng rng, TimePoint now)
    : state_(std::make_unique<State>(std::move(config), std::move(self), rng, now)) {}

Swim::~Swim() = default;

void Swim::join(TimePoint now, std::vector<std::string> seeds, bool seeds_pending) {
  state_->join(now, std::move(seeds), seeds_pending);
}
void Swim::set_seeds(TimePoint now, std::vector<std::string> seeds) {
  state_->set_seeds(now, std::move(seeds));
}
void Swim::meet(TimePoint now, std::string addr) { state_->meet(now, std::move(addr)); }
std::vector<std::string> Swim::seeds() const {
  std::vector<std::string> out = state_->seeds;
  out.insert(out.end(), state_->met.begin(), state_->met.end());
  return out;
}
void Swim::leave(TimePoint now) { state_->leave(now); }
bool Swim::leave_done() const { return state_->leave_done(); }
bool Swim::joining() const { return state_->join_state == State::JoinState::joining; }
void Swim::update_meta(TimePoint /*now*/, MemberMeta meta) { state_->update_meta(std::move(meta)); }

void Swim::handle_message(TimePoint now, std::span<const std::uint8_t> bytes) {
  state_->handle_message(now, bytes);
}
void Swim::handle_timeout(TimePoint now) { state_->handle_timeout(now); }

std::optional<Outgoing> Swim::poll_send() {
  if (state_->outbox.empty()) return std::nullopt;
  Outgoing out = std::move(state_->outbox.front());
  state_->outbox.pop_front();
  return out;
}

std::optional<MemberEvent> Swim::poll_event() {
  if (state_->events.empty()) return std::nullopt;
  MemberEvent event = std::move(state_->events.front());
  state_->events.pop_front();
  // A push-pull can queue thousands of events; a drained deque keeps its block map, so let
  // go of it after a burst (with thousands of instances in one process this adds up).
  if (state_->events.empty() && state_->events_since_shrink > 256) {
    state_->events.shrink_to_fit();
    state_->events_since_shrink = 0;
  }
  return event;
}

TimePoint Swim::next_deadline() const { return state_->next_deadline(); }

std::vector<Member> Swim::members() const {
  std::vector<Member> out;
  out.reserve(state_->members.size());
  for (detail::Slot s = 0; s < state_->members.slot_end(); ++s) {
    const auto& r = state_->members.at(s);
    if (r.in_use()) out.push_back(r.to_member());
  }
  std::sort(out.begin(), out.end(),
            [](const Member& a, const Member& b) { return a.name < b.name; });
  return out;
}

std::optional<Member> Swim::find(std::string_view name) const {
  const detail::Slot s = state_->members.find(name);
  if (s == detail::kNoSlot) return std::nullopt;
  return state_->members.at(s).to_member();
}

std::size_t Swim::alive_count() const { return state_->alive_members; }
std::size_t Swim::member_count() const { return state_->members.size(); }
const LocalNode& Swim::self() const { return state_->self; }
Incarnation Swim::incarnation() const { return state_->me().inc(); }
const SwimStats& Swim::stats() const { return state_->stats; }
const SwimConfig& Swim::config() const { return state_->config; }

std::size_t Swim::memory_bytes() const {
  const auto& s = *state_;
  return sizeof(State) + s.members.memory_bytes() + s.probe_order.capacity() * sizeof(detail::Slot);
}

}  // namespace apiary::gossip
