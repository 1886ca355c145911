// Hybrid logical clock (Kulkarni et al.), used to order concurrent siblings for
// last-writer-wins reads.
//
// A timestamp packs 48 bits of wall-clock milliseconds and a 16-bit logical counter into one
// 64-bit value that compares like the pair. The clock never goes backwards even if the wall
// clock does, and it stays within the largest clock offset seen of the senders' wall clocks.
// The caller supplies wall time, so the clock is deterministic under the simulator.
// Not thread-safe: one per node, owned by its event loop.
#pragma once

#include <compare>
#include <cstdint>

#include "apiary/base/time.hpp"

namespace apiary {

struct HlcTimestamp {
  std::uint64_t packed = 0;  // (wall_ms << 16) | logical

  constexpr std::int64_t wall_ms() const { return static_cast<std::int64_t>(packed >> 16); }
  constexpr std::uint16_t logical() const { return static_cast<std::uint16_t>(packed & 0xffff); }
  static constexpr HlcTimestamp make(std::int64_t wall_ms, std::uint16_t logical) {
    return HlcTimestamp{(static_cast<std::uint64_t>(wall_ms) << 16) | logical};
  }
  friend constexpr auto operator<=>(HlcTimestamp, HlcTimestamp) = default;
};

class HybridLogicalClock {
 public:
  // A timestamp for a local event (a write this node coordinates).
  HlcTimestamp now(WallTime wall);
  // Merge a timestamp received from another node; returns the timestamp of the receive event.
  HlcTimestamp update(WallTime wall, HlcTimestamp received);
  HlcTimestamp last() const { return last_; }

 private:
  HlcTimestamp advance(std::int64_t physical_ms, HlcTimestamp floor);
  HlcTimestamp last_{};
};

}  // namespace apiary
