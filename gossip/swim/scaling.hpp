// How the protocol's timers and counts scale with cluster size (the formulas of
// hashicorp/memberlist util.go, so behaviour can be compared with it).
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "apiary/base/time.hpp"

namespace apiary::gossip::detail {

// Times each update is retransmitted: mult * ceil(log10(n + 1)).
inline std::uint32_t retransmit_limit(std::size_t mult, std::size_t n) {
  const double scale = std::ceil(std::log10(static_cast<double>(n) + 1.0));
  return static_cast<std::uint32_t>(mult * static_cast<std::size_t>(scale));
}

// Lifeguard's minimum suspicion timeout: mult * max(1, log10(n)) * probe interval, with the
// node scale kept to three decimals as memberlist does.
inline Duration suspicion_min_timeout(std::size_t mult, std::size_t n, Duration interval) {
  const double scale = std::max(1.0, std::log10(std::max(1.0, static_cast<double>(n))));
  const auto milli_scale = static_cast<std::int64_t>(scale * 1000.0);
  return static_cast<std::int64_t>(mult) * milli_scale * interval / 1000;
}

// Push-pull interval: unchanged up to 32 members, then multiplied by
// ceil(log2(n) - log2(32)) + 1 so the total full-sync traffic grows slowly.
inline Duration push_pull_scale(Duration interval, std::size_t n) {
  constexpr std::size_t kThreshold = 32;
  if (n <= kThreshold) return interval;
  const double mult =
      std::ceil(std::log2(static_cast<double>(n)) - std::log2(double{kThreshold})) + 1.0;
  return interval * static_cast<std::int64_t>(mult);
}

}  // namespace apiary::gossip::detail
