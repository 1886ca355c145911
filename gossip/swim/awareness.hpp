// Awareness: Lifeguard's local health score (hashicorp/memberlist awareness.go).
//
// The score rises when this node sees evidence that it is itself slow or cut off (probes that
// fail without the expected nacks, having to refute a suspicion) and falls with each
// successful probe. Probe interval and probe timeout are multiplied by (score + 1), so an
// unhealthy node probes less often and waits longer before it accuses anyone.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "apiary/base/time.hpp"

namespace apiary::gossip::detail {

class Awareness {
 public:
  // Score range is [0, max_multiplier - 1].
  explicit Awareness(std::size_t max_multiplier)
      : max_(static_cast<std::int64_t>(std::max<std::size_t>(max_multiplier, 1)) - 1) {}

  void apply(std::int64_t delta) { score_ = std::clamp<std::int64_t>(score_ + delta, 0, max_); }
  std::uint32_t score() const { return static_cast<std::uint32_t>(score_); }
  Duration scale(Duration d) const { return d * (score_ + 1); }

 private:
  std::int64_t max_;
  std::int64_t score_ = 0;
};

}  // namespace apiary::gossip::detail
