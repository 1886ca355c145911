// Private to the world: one simulated node's driver state.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "apiary/sim/world.hpp"

namespace apiary::sim {

inline constexpr std::int64_t kNoTimer = std::numeric_limits<std::int64_t>::max();

struct World::Node {
  std::unique_ptr<Process> proc;
  std::uint32_t generation = 0;      // bumped per instance, so stale timers are ignored
  std::int64_t timer_at = kNoTimer;  // virtual time of the earliest valid timer event
  bool paused = false;
  std::int64_t paused_until = 0;
  std::vector<std::uint32_t> inbox;  // message slots that arrived during a pause
  double eps = 0.0;                  // local clock rate is 1 + eps
  TimePoint started{};
  std::uint32_t restarts = 0;
};

}  // namespace apiary::sim
