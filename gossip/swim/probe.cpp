// Failure detection: one probe per (health-scaled) probe interval, round-robin over a
// shuffled member order.
//
//   t0                      ping target (flagged "you are suspected" when it is: buddy system)
//   t0 + timeout  no ack -> ping_req through `indirect_checks` random alive members; each pings
//                           the target, relays its ack, or sends a nack when its own timeout
//                           passes first (Lifeguard)
//   t0 + interval no ack -> suspect the target; local health worsens by the missing nacks
//                           (or by 1 without nacking relays); any ack improves it by 1.
//
// With lifeguard off the interval and timeout are not scaled, relays send no nacks and pings
// carry no suspicion flag.
#include <algorithm>

#include "state.hpp"

namespace apiary::gossip {

using detail::MemberRecord;
using detail::Slot;

namespace {
// Outstanding ping-req relays this node keeps; beyond this, requests are dropped.
constexpr std::size_t kMaxRelays = 1024;
}  // namespace

void Swim::State::probe_tick(TimePoint now) {
  finish_probe(now);
  if (left) {
    next_probe = kNever;
    return;
  }
  next_probe = now + scaled(config.probe_interval);
  const Slot slot = next_probe_target();
  if (slot == detail::kNoSlot) return;
  const MemberRecord& r = members.at(slot);
  probe = Probe{};
  probe.active = true;
  probe.target = r.name();
  probe.target_addr = r.addr();
  probe.incarnation = r.inc();
  probe.seq = next_seq++;
  probe.timeout_at = now + scaled(config.probe_timeout);
  ++stats.probes;

  const bool buddy = config.lifeguard && r.member_state() == MemberState::suspect;
  std::vector<std::uint8_t> payload;
  wire::VectorSink sink(payload);
  wire::Packer p(sink);
  detail::begin_ping(p, probe.seq, r.name(), buddy, r.inc());
  send_with_updates(r.addr(), wire::MessageType::ping, payload);
}

void Swim::State::probe_timeout_tick(TimePoint now) {
  if (!probe.active || probe.acked || probe.indirect_sent || now < probe.timeout_at) return;
  probe.indirect_sent = true;
  ++stats.indirect_probes;
  const auto helpers = random_members(config.indirect_checks, [this](const MemberRecord& r) {
    return r.member_state() == MemberState::alive && r.name() != probe.target;
  });
  for (Slot s : helpers) {
    std::vector<std::uint8_t> payload;
    wire::VectorSink sink(payload);
    wire::Packer p(sink);
    detail::begin_ping_req(p, probe.seq, probe.target, probe.target_addr, config.lifeguard);
    send_with_updates(members.at(s).addr(), wire::MessageType::ping_req, payload);
  }
  probe.expected_nacks = config.lifeguard ? helpers.size() : 0;
}

void Swim::State::finish_probe(TimePoint now) {
  if (!probe.active) return;
  probe.active = false;
  if (probe.acked) return;
  // Missing nacks mean our own messages are not getting through: blame ourselves a bit.
  const std::size_t nacks = std::min(probe.nacks, probe.expected_nacks);
  adjust_health(probe.expected_nacks > 0 ? static_cast<std::int64_t>(probe.expected_nacks - nacks)
                                         : 1);
  on_suspect(now, probe.target, probe.incarnation, self.name);
}

Slot Swim::State::next_probe_target() {
  for (int pass = 0; pass < 2; ++pass) {
    while (probe_cursor < probe_order.size()) {
      const Slot s = probe_order[probe_cursor++];
      const MemberRecord& r = members.at(s);
      if (s != self_slot && r.in_use() && r.alive_or_suspect()) return s;
    }
    if (pass == 0) rebuild_probe_order();
  }
  return detail::kNoSlot;
}

// A new pass: every member that can be probed, in a fresh random order. Dead, left and
// forgotten members drop out here, which is also when forgotten slots become reusable.
void Swim::State::rebuild_probe_order() {
  members.recycle_released();
  probe_order.clear();
  for (Slot s = 0; s < members.slot_end(); ++s) {
    const MemberRecord& r = members.at(s);
    if (s != self_slot && r.in_use() && r.alive_or_suspect()) probe_order.push_back(s);
  }
  rng.shuffle(probe_order);
  probe_cursor = 0;
}

// New members go to a random place among those not yet probed in this pass.
void Swim::State::add_to_probe_order(Slot slot) {
  probe_order.push_back(slot);
  const std::size_t pending = probe_order.size() - probe_cursor;
  const std::size_t at = probe_cursor + static_cast<std::size_t>(rng.uniform(pending));
  std::swap(probe_order[at], probe_order.back());
}

void Swim::State::on_ping(TimePoint /*now*/, const wire::EnvelopeHeader& from,
                          const detail::Message& msg) {
  if (msg.target != self.name) return;  // meant for whoever had this address before us
  if (msg.flag && !left && msg.suspected >= me().inc()) refute(msg.suspected);
  std::vector<std::uint8_t> payload;
  wire::VectorSink sink(payload);
  wire::Packer p(sink);
  detail::begin_ack(p, msg.seq);
  send_with_updates(from.sender_addr, wire::MessageType::ack, payload);
}

void Swim::State::on_ping_req(TimePoint now, const wire::EnvelopeHeader& from,
                              const detail::Message& msg) {
  if (relays.size() >= kMaxRelays || msg.target == self.name) return;
  const std::uint32_t seq = next_seq++;
  relays.emplace(seq, Relay{std::string(from.sender_addr), msg.seq, msg.flag});
  // Nack a little before the requester's own deadline, so the nack can still count there.
  relay_deadlines.emplace_back(now + config.probe_timeout * 4 / 5, seq);
  std::vector<std::uint8_t> payload;
  wire::VectorSink sink(payload);
  wire::Packer p(sink);
  detail::begin_ping(p, seq, msg.target, false, Incarnation{});
  send_with_updates(msg.target_addr, wire::MessageType::ping, payload);
}

void Swim::State::on_ack(const detail::Message& msg) {
  if (probe.active && msg.seq == probe.seq) {
    if (!probe.acked) adjust_health(-1);
    probe.acked = true;
    return;
  }
  auto it = relays.find(msg.seq);
  if (it == relays.end()) return;
  const Relay relay = std::move(it->second);
  relays.erase(it);
  std::vector<std::uint8_t> payload;
  wire::VectorSink sink(payload);
  wire::Packer p(sink);
  detail::begin_ack(p, relay.origin_seq);
  send_with_updates(relay.origin_addr, wire::MessageType::ack, payload);
}

void Swim::State::on_nack(const detail::Message& msg) {
  if (probe.active && msg.seq == probe.seq) ++probe.nacks;
}

void Swim::State::relay_tick(TimePoint now) {
  while (!relay_deadlines.empty() && relay_deadlines.front().first <= now) {
    const std::uint32_t seq = relay_deadlines.front().second;
    relay_deadlines.pop_front();
    auto it = relays.find(seq);
    if (it == relays.end()) continue;  // answered in time
    const Relay relay = std::move(it->second);
    relays.erase(it);
    if (!relay.want_nack) continue;
    std::vector<std::uint8_t> payload;
    wire::VectorSink sink(payload);
    wire::Packer p(sink);
    detail::begin_ack(p, relay.origin_seq);
    send_with_updates(relay.origin_addr, wire::MessageType::nack, payload);
  }
}

}  // namespace apiary::gossip
