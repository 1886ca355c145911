// Sending, with membership updates piggybacked on every message, and periodic gossip to a
// few random members (including recently dead ones, so a member wrongly declared dead hears
// about it and can refute).
#include <algorithm>

#include "scaling.hpp"
#include "state.hpp"

namespace apiary::gossip {

using detail::MemberRecord;

void Swim::State::send(std::string_view to, wire::MessageType type,
                       std::span<const std::uint8_t> payload) {
  const wire::EnvelopeHeader header{config.cluster_name, type, self.name, self.addr};
  Outgoing out{std::string(to), wire::encode_envelope(header, payload)};
  ++stats.messages_sent;
  stats.bytes_sent += out.bytes.size();
  outbox.push_back(std::move(out));
}

std::size_t Swim::State::add_updates(std::vector<std::uint8_t>& payload,
                                     std::span<const std::uint8_t> forced,
                                     std::size_t forced_count) {
  const std::size_t fixed = envelope_bytes + payload.size() + detail::kUpdatesHeaderBytes;
  const std::size_t budget = config.max_packet_bytes > fixed ? config.max_packet_bytes - fixed : 0;
  scratch.assign(forced.begin(), forced.end());
  std::size_t count = forced_count;
  if (budget > scratch.size()) {
    count += broadcasts.take(budget - scratch.size(), retransmit_limit(), scratch);
  }
  detail::append_updates(payload, count, scratch);
  return count;
}

void Swim::State::send_with_updates(std::string_view to, wire::MessageType type,
                                    std::vector<std::uint8_t>& payload) {
  add_updates(payload);
  send(to, type, payload);
}

std::uint32_t Swim::State::retransmit_limit() const {
  return detail::retransmit_limit(config.retransmit_mult, alive_members);
}

void Swim::State::gossip_tick(TimePoint now) {
  next_gossip = now + config.gossip_interval;
  // Nothing queued and nobody died recently: skip picking targets (each pick is a cache miss
  // on a large table). The newest reclaim entry is the latest death or leave.
  const bool recent_death =
      !reclaim_queue.empty() &&
      reclaim_queue.back().first - config.dead_reclaim_time + config.gossip_to_dead > now;
  if (broadcasts.empty() && !recent_death) return;
  auto recently_dead = [&](const MemberRecord& r) {
    return r.member_state() == MemberState::dead && now - r.changed < config.gossip_to_dead;
  };
  const auto targets = random_members(config.gossip_nodes, [&](const MemberRecord& r) {
    return r.alive_or_suspect() || recently_dead(r);
  });
  for (detail::Slot s : targets) {
    const MemberRecord& r = members.at(s);
    // A member we hold dead is told so first: if it is in fact running (a false positive, or
    // a restart) it refutes at once.
    std::vector<std::uint8_t> forced;
    if (recently_dead(r)) {
      forced = detail::encode_accusation(MemberState::dead, r.name(), r.inc(), self.name);
    } else if (broadcasts.empty()) {
      continue;
    }
    std::vector<std::uint8_t> payload;
    wire::VectorSink sink(payload);
    wire::Packer p(sink);
    detail::begin_gossip(p);
    if (add_updates(payload, forced, forced.empty() ? 0 : 1) == 0) continue;
    send(r.addr(), wire::MessageType::gossip, payload);
  }
}

}  // namespace apiary::gossip
