#include "apiary/base/hlc.hpp"

#include <algorithm>

namespace apiary {

namespace {
constexpr std::int64_t kMaxWallMs = (std::int64_t{1} << 48) - 1;

std::int64_t clamp_wall(WallTime wall) { return std::clamp<std::int64_t>(wall.ms, 0, kMaxWallMs); }
}  // namespace

HlcTimestamp HybridLogicalClock::advance(std::int64_t physical_ms, HlcTimestamp floor) {
  // The new timestamp is the smallest one greater than both `floor` and `last_` whose wall
  // part is at least `physical_ms`.
  const HlcTimestamp high = std::max(floor, last_);
  if (physical_ms > high.wall_ms()) {
    last_ = HlcTimestamp::make(physical_ms, 0);
  } else if (high.logical() == 0xffff) {
    // Logical counter exhausted within one millisecond: borrow the next millisecond rather
    // than wrap (wrapping would order this event before earlier ones).
    last_ = HlcTimestamp::make(std::min(high.wall_ms() + 1, kMaxWallMs), 0);
  } else {
    last_ = HlcTimestamp{high.packed + 1};
  }
  return last_;
}

HlcTimestamp HybridLogicalClock::now(WallTime wall) { return advance(clamp_wall(wall), last_); }

HlcTimestamp HybridLogicalClock::update(WallTime wall, HlcTimestamp received) {
  return advance(clamp_wall(wall), received);
}

}  // namespace apiary
