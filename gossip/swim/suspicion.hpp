// Suspicion: the Lifeguard dynamic suspicion timeout for one suspected member
// (hashicorp/memberlist suspicion.go).
//
// The timer starts at `max` and shrinks towards `min` as independent confirmations arrive
// (suspect messages about the same member from distinct accusers): after n of the k
// expected confirmations the total timeout is
//     max - (max - min) * log(n + 1) / log(k + 1),   floored to whole milliseconds, >= min.
// With k == 0 (plain SWIM, or too few members to expect confirmations) it is `min` at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/time.hpp"

namespace apiary::gossip::detail {

class Suspicion {
 public:
  Suspicion(TimePoint start, std::string_view accuser, std::uint32_t k, Duration min, Duration max);

  // Counts `from` as a confirmation if it is new and more are still expected. Returns true
  // when it counted (the deadline may have moved earlier).
  bool confirm(std::string_view from);

  // Lifeguard, after this node was stalled: the stalled time `by` does not count towards the
  // timeout (the suspect's refutation may be waiting unread), and the deadline is not before
  // `not_before` whatever confirmations arrive later.
  void postpone(Duration by, TimePoint not_before);

  TimePoint deadline() const { return deadline_; }
  std::uint32_t confirmations() const { return static_cast<std::uint32_t>(confirmers_.size()) - 1; }

 private:
  // Total timeout after n of k confirmations.
  static Duration timeout(std::uint32_t n, std::uint32_t k, Duration min, Duration max);

  TimePoint start_;
  std::uint32_t k_;
  Duration min_;
  Duration max_;
  std::vector<std::string> confirmers_;  // the accuser first; at most k + 1 names
  TimePoint not_before_{};
  TimePoint deadline_;
};

}  // namespace apiary::gossip::detail
