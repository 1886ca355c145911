#include "suspicion.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace apiary::gossip::detail {

Suspicion::Suspicion(TimePoint start, std::string_view accuser, std::uint32_t k, Duration min,
                     Duration max)
    : start_(start), k_(k), min_(min), max_(std::max(min, max)) {
  confirmers_.emplace_back(accuser);
  deadline_ = start_ + timeout(0, k_, min_, max_);
}

bool Suspicion::confirm(std::string_view from) {
  if (confirmations() >= k_) return false;
  if (std::find(confirmers_.begin(), confirmers_.end(), from) != confirmers_.end()) return false;
  confirmers_.emplace_back(from);
  deadline_ = std::max(start_ + timeout(confirmations(), k_, min_, max_), not_before_);
  return true;
}

void Suspicion::postpone(Duration by, TimePoint not_before) {
  start_ += by;
  not_before_ = std::max(not_before_, not_before);
  deadline_ = std::max(start_ + timeout(confirmations(), k_, min_, max_), not_before_);
}

Duration Suspicion::timeout(std::uint32_t n, std::uint32_t k, Duration min, Duration max) {
  if (k == 0) return min;
  const double frac =
      std::log(static_cast<double>(n) + 1.0) / std::log(static_cast<double>(k) + 1.0);
  const double max_s = std::chrono::duration<double>(max).count();
  const double min_s = std::chrono::duration<double>(min).count();
  const double raw_s = max_s - frac * (max_s - min_s);
  const Duration t =
      std::chrono::milliseconds(static_cast<std::int64_t>(std::floor(1000.0 * raw_s)));
  return std::max(t, min);
}

}  // namespace apiary::gossip::detail
