// Time for protocol cores.
//
// Cores never read a clock: every method that needs the time takes a `TimePoint` from its
// driver. `TimePoint` is a std::chrono time_point on `CoreClock`, a clock with no now(), so a
// std::chrono::steady_clock::time_point cannot be passed where a TimePoint is expected; the
// runtime converts at its edge (see `from_steady` in libnode/runtime) and the simulator
// counts virtual nanoseconds from zero. Durations are ordinary std::chrono durations: a span
// of time means the same thing in both worlds.
//
// `WallTime` is the separate notion of calendar time (milliseconds since the Unix epoch) that
// the hybrid logical clock and absolute TTLs need; it too is handed in by the driver.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>

namespace apiary {

using Duration = std::chrono::nanoseconds;

// A clock that cannot be read: it only gives TimePoint a type of its own.
struct CoreClock {
  using duration = Duration;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<CoreClock, Duration>;
  static constexpr bool is_steady = true;
};

using TimePoint = CoreClock::time_point;

// Nanoseconds since the core's epoch, for logs and wire formats.
constexpr std::int64_t to_nanos(TimePoint t) { return t.time_since_epoch().count(); }
constexpr TimePoint from_nanos(std::int64_t ns) { return TimePoint(Duration(ns)); }

// Milliseconds since the Unix epoch: absolute expiry times and HLC physical components.
struct WallTime {
  std::int64_t ms = 0;
  friend constexpr auto operator<=>(WallTime, WallTime) = default;
};

constexpr WallTime operator+(WallTime w, std::chrono::milliseconds d) {
  return WallTime{w.ms + d.count()};
}
constexpr std::chrono::milliseconds operator-(WallTime a, WallTime b) {
  return std::chrono::milliseconds(a.ms - b.ms);
}

// A deadline that never fires; next_deadline() returns it when a core has nothing scheduled.
inline constexpr TimePoint kNever = TimePoint::max();

}  // namespace apiary
