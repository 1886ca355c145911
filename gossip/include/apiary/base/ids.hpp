// Strong identifiers. Each wraps an integer so that a partition id cannot be passed where an
// incarnation is expected; arithmetic is limited to what the protocol needs.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>

namespace apiary {

// A replica actor in version vectors: one per node *process lifetime*. A node that restarts
// with the same name gets a new NodeId (its name hashed with a start nonce), so counters it
// issues after losing its memory can never collide with dots it issued before.
struct NodeId {
  std::uint64_t value = 0;
  friend constexpr auto operator<=>(NodeId, NodeId) = default;
};

// SWIM incarnation number: only its owner increases it, to refute suspicion or to rejoin.
struct Incarnation {
  std::uint64_t value = 0;
  constexpr Incarnation next() const { return Incarnation{value + 1}; }
  friend constexpr auto operator<=>(Incarnation, Incarnation) = default;
};

// A partition of the key space, in [0, partition_count).
struct PartitionId {
  std::uint32_t value = 0;
  friend constexpr auto operator<=>(PartitionId, PartitionId) = default;
};

std::string to_string(NodeId id);  // 16 lowercase hex digits

}  // namespace apiary

template <>
struct std::hash<apiary::NodeId> {
  std::size_t operator()(apiary::NodeId id) const noexcept {
    return std::hash<std::uint64_t>{}(id.value);
  }
};
template <>
struct std::hash<apiary::PartitionId> {
  std::size_t operator()(apiary::PartitionId id) const noexcept {
    return std::hash<std::uint32_t>{}(id.value);
  }
};
