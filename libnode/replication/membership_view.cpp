#include "apiary/replication/membership_view.hpp"

#include <algorithm>
#include <charconv>

namespace apiary::replication {

std::string ring_signature(const ReplicationConfig& config) {
  return std::to_string(config.partition_count) + "/" + std::to_string(config.replicas);
}

bool ring_compatible(const gossip::Member& m, const ReplicationConfig& config) {
  auto it = m.meta.tags.find(std::string(kRingTag));
  return it == m.meta.tags.end() || it->second == ring_signature(config);
}

std::uint32_t wire_version(const gossip::Member& m) {
  auto it = m.meta.tags.find(std::string(kWireTag));
  if (it == m.meta.tags.end()) return 1;
  std::uint32_t v = 0;
  const auto [end, ec] =
      std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  return ec == std::errc{} && end == it->second.data() + it->second.size() && v > 0 ? v : 1;
}

ClusterView view_from_members(std::string self, std::span<const gossip::Member> members,
                              TimePoint now, const ReplicationConfig& config,
                              const RingPolicy& policy) {
  std::vector<ViewMember> ring;
  ring.reserve(members.size());
  for (const auto& m : members) {
    if (m.meta.data_addr.empty() || !ring_compatible(m, config)) continue;
    switch (m.state) {
      case gossip::MemberState::alive:
      case gossip::MemberState::suspect:
        ring.push_back({m.name, m.meta.data_addr, true, wire_version(m)});
        break;
      case gossip::MemberState::dead:
        if (now < m.state_changed + policy.dead_grace) {
          ring.push_back({m.name, m.meta.data_addr, false, wire_version(m)});
        }
        break;
      case gossip::MemberState::left:
        break;
    }
  }
  return ClusterView::make(std::move(self), std::move(ring), config);
}

TimePoint next_ring_change(std::span<const gossip::Member> members, TimePoint now,
                           const RingPolicy& policy) {
  TimePoint next = kNever;
  for (const auto& m : members) {
    if (m.state != gossip::MemberState::dead || m.meta.data_addr.empty()) continue;
    const TimePoint end = m.state_changed + policy.dead_grace;
    if (end > now) next = std::min(next, end);
  }
  return next;
}

}  // namespace apiary::replication
