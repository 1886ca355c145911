// Active expiry: Redis's activeExpireCycle with the budget counted in keys looked at.
//
// Redis bounds a cycle by time (25% of each 100 ms for the slow cycle, 1 ms for the fast
// one) and reads its clock every 16 loops. The store has no clock -- the same inputs must
// give the same result in the simulator -- so the caller gives a budget in keys, sized from
// what a key costs (StoreConfig). The rest follows Redis 6+: the keys with an expiry are
// walked with a cursor that survives between cycles (Redis scans its expires dict), so an
// expired key is met within one pass however few of its neighbours have expired; a cycle
// loops again while a loop found more than the acceptable share expired; and a running
// estimate of that share, together with whether the last cycle stopped on its budget, says
// whether fast cycles are wanted between the slow ones.
#include <algorithm>

#include "store_impl.hpp"

namespace apiary::store {

using detail::Entry;
using detail::Table;

namespace {
constexpr double kEstimateWeight = 0.05;  // Redis: each cycle counts 5% in the running average
}  // namespace

bool Store::Impl::collect_tombstones(WallTime now, std::size_t max_keys,
                                     ExpireCycleReport& report) {
  for (std::size_t done = 0; done < max_keys; ++done) {
    if (tombstone_queue.empty() || tombstone_queue.front().first > now.ms) return true;
    const std::string key = std::move(tombstone_queue.front().second);
    tombstone_queue.pop_front();
    const std::size_t slot = table.find(order_of_key(key), key);
    if (slot == Table::npos) continue;
    const Entry* e = table.entry_at(slot);
    // Rewritten since it was queued: live again, or deleted again with a later grace.
    if (!e->tombstone() || e->expiry()->at_ms > now.ms) continue;
    erase_slot(slot);
    ++report.tombstones_collected;
    ++s.stats_.tombstones_collected;
  }
  return tombstone_queue.empty() || tombstone_queue.front().first > now.ms;
}

ExpireCycleReport Store::active_expire_cycle(WallTime now, ExpireCycle kind) {
  return active_expire_cycle(now, kind == ExpireCycle::slow ? config_.expire_slow_cycle_keys
                                                            : config_.expire_fast_cycle_keys);
}

ExpireCycleReport Store::active_expire_cycle(WallTime now, std::size_t max_keys) {
  ExpireCycleReport report;
  Impl& m = *impl_;
  std::vector<Entry*>& keys = m.volatile_keys;
  const std::size_t per_loop = std::max<std::size_t>(1, config_.expire_keys_per_loop);
  bool wants_more = false;  // the last loop found more than the acceptable share expired
  while (!keys.empty()) {
    if (report.sampled >= max_keys) {
      report.budget_exhausted = wants_more;
      break;
    }
    const std::size_t n = std::min({per_loop, keys.size(), max_keys - report.sampled});
    std::size_t expired = 0;
    for (std::size_t k = 0; k < n && !keys.empty(); ++k) {
      if (m.expire_cursor >= keys.size()) m.expire_cursor = 0;
      Entry* e = keys[m.expire_cursor];
      ++report.sampled;
      if (!e->expired(now.ms)) {
        ++m.expire_cursor;
        continue;
      }
      // Removing the entry moves the last key with an expiry into the cursor's place, so the
      // cursor stays and looks at that one next.
      m.expiring(e);
      m.erase_slot(m.table.find(m.order_of_key(e->key()), e->key()));
      ++expired;
    }
    report.expired += expired;
    stats_.expired += expired;
    wants_more = expired * 100 > n * config_.expire_acceptable_stale_percent;
    if (!wants_more) break;
  }
  if (!m.collect_tombstones(now, max_keys, report)) report.budget_exhausted = true;

  const double share = report.sampled == 0 ? 0.0
                                           : 100.0 * static_cast<double>(report.expired) /
                                                 static_cast<double>(report.sampled);
  m.expire_stale_percent = kEstimateWeight * share + (1 - kEstimateWeight) * m.expire_stale_percent;
  m.expire_stopped_on_budget = report.budget_exhausted;
  return report;
}

bool Store::expire_backlog() const {
  return impl_->expire_stopped_on_budget ||
         impl_->expire_stale_percent >= config_.expire_acceptable_stale_percent;
}

double Store::expired_stale_percent() const { return impl_->expire_stale_percent; }

}  // namespace apiary::store
