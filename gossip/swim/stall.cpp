// Lifeguard: noticing that this node itself was stalled.
//
// The driver calls handle_timeout() at next_deadline() (the runtime's loop timer, the
// simulator's event queue), and there is always a deadline within one gossip interval. An
// input that comes long after the deadline therefore means this node was not running in
// between: a GC or CPU stall, a VM pause, an overloaded event loop. Whatever arrived for it
// meanwhile is still queued, unread, and the driver may hand it over before or after the
// overdue timers. Session measurements with the simulator showed that nearly every false
// "dead" under pauses came from a node in exactly this position, expiring suspicions whose
// refutations sat in its own queue. So, with Lifeguard on:
//
// - This node is the unhealthy one: its local health score rises by one per probe interval
//   stalled (at least one), which scales up its probe interval and timeout until successful
//   probes bring it back (Lifeguard's local health multiplier, fed by one more signal).
// - The timers that decide other members' fate do not count the stalled time: the running
//   probe's timeout and end, and every suspicion, move later by the stall. None of them
//   expires sooner than one probe timeout after the stall was noticed, so the queued acks and
//   refutations are read first whatever order the driver uses.
//
// - Until then, "dead" accusations about other members read from the queue wait: the
//   accused member's refutation may be further down the same queue, and a dead mark that is
//   refuted a moment later is still a false positive to whoever consumes our events. At the
//   end of the grace they are applied, unless a refutation has overtaken them.
//
// Timers that only make this node speak (gossip, push-pull, join retries) are left alone:
// after a stall it has refutations and news to send. With Lifeguard off nothing changes.
#include <algorithm>

#include "state.hpp"

namespace apiary::gossip {

void Swim::State::notice_stall(TimePoint now) {
  // Having handled an input at `last_input`, we were running then: a driver that delivers the
  // queued messages before the overdue timers shows us the same stall only once.
  const TimePoint since = std::max(next_deadline(), last_input);
  last_input = std::max(last_input, now);
  if (!config.lifeguard || left || join_state == JoinState::idle || since == kNever ||
      now - since < config.stall_threshold) {
    return;
  }
  const Duration stalled = now - since;
  ++stats.stalls;
  adjust_health(1 + stalled / config.probe_interval);

  const TimePoint not_before = now + config.probe_timeout;
  stall_recovery_end = not_before;
  if (probe.active) probe.timeout_at = std::max(probe.timeout_at + stalled, not_before);
  if (next_probe != kNever) next_probe = std::max(next_probe + stalled, not_before);

  // Every deadline moves, so the ordered set is rebuilt rather than re-keyed in place.
  suspicion_deadlines.clear();
  for (auto& [name, suspicion] : suspicions) {
    suspicion.postpone(stalled, not_before);
    suspicion_deadlines.emplace(suspicion.deadline(), name);
  }
}

bool Swim::State::defer_death(TimePoint now, const detail::UpdateView& update) {
  if (!config.lifeguard || now >= stall_recovery_end || update.name == self.name) return false;
  // Bounded by what one stall can queue; past that, accusations apply at once.
  if (deferred_deaths.size() >= config.max_queued_updates) return false;
  deferred_deaths.push_back(DeferredDeath{std::string(update.name), update.incarnation,
                                          std::string(update.addr_or_from)});
  return true;
}

void Swim::State::apply_deferred_deaths(TimePoint now) {
  if (deferred_deaths.empty() || now < stall_recovery_end) return;
  std::vector<DeferredDeath> pending = std::move(deferred_deaths);
  deferred_deaths.clear();
  // on_dead ignores an accusation below the member's current incarnation, i.e. refuted.
  for (const auto& d : pending) on_dead(now, d.name, d.incarnation, d.from, MemberState::dead);
}

}  // namespace apiary::gossip
