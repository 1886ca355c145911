// Access bookkeeping and maxmemory eviction (active expiry: store_expiry.cpp).
//
// Eviction follows Redis's approximated algorithms: each eviction samples
// `maxmemory_samples` keys (from all keys, or from the keys with an expiry for volatile-*),
// scores them (LRU: idle seconds; LFU: 255 minus the decayed logarithmic counter; TTL: the
// sooner the expiry the higher), merges them into a pool of the best `eviction_pool_size`
// candidates kept across calls, and evicts the best candidate that still exists.
#include <algorithm>
#include <limits>

#include "apiary/data/partition.hpp"
#include "store_impl.hpp"

namespace apiary::store {

using detail::Entry;
using detail::Table;

namespace {
bool is_lfu(EvictionPolicy p) {
  return p == EvictionPolicy::allkeys_lfu || p == EvictionPolicy::volatile_lfu;
}
std::uint32_t now_seconds(WallTime now) { return static_cast<std::uint32_t>(now.ms / 1000); }
}  // namespace

std::uint8_t Store::Impl::lfu_decayed(const Entry* e, WallTime now) const {
  const std::int64_t now_min = now.ms / 60000;
  const std::int64_t last_min = static_cast<std::int64_t>(e->access_s) / 60;
  const std::int64_t elapsed = std::max<std::int64_t>(0, now_min - last_min);
  const std::uint32_t decay = s.config_.lfu_decay_minutes;
  const std::int64_t periods = decay == 0 ? 0 : elapsed / decay;
  return periods >= e->lfu ? 0 : static_cast<std::uint8_t>(e->lfu - periods);
}

bool Store::set_access(std::string_view key, WallTime now, std::optional<std::chrono::seconds> idle,
                       std::optional<std::uint8_t> freq) {
  const std::size_t slot = impl_->table.find(impl_->order_of_key(key), key);
  if (slot == detail::Table::npos) return false;
  Entry* e = impl_->table.slot(slot).entry;
  if (e->tombstone() || e->expired(now.ms)) return false;
  if (is_lfu(config_.policy)) {
    if (!freq) return false;
    e->lfu = *freq;
    e->access_s = now_seconds(now);
  } else {
    if (!idle) return false;
    const std::int64_t at = now.ms / 1000 - std::min<std::int64_t>(idle->count(), now.ms / 1000);
    e->access_s = static_cast<std::uint32_t>(at);
  }
  return true;
}

void Store::set_touch_suppressed(bool on) { impl_->touch_suppressed = on; }

void Store::Impl::touch(Entry* e, WallTime now) {
  if (touch_suppressed) return;
  if (is_lfu(s.config_.policy)) {
    std::uint8_t counter = lfu_decayed(e, now);
    if (counter < 255) {
      // Redis LFULogIncr: the higher the counter, the less likely an access raises it.
      const double base = counter > detail::kLfuInitial ? counter - detail::kLfuInitial : 0;
      const double p = 1.0 / (base * s.config_.lfu_log_factor + 1.0);
      if (rng.unit() < p) ++counter;
    }
    e->lfu = counter;
  }
  e->access_s = now_seconds(now);
}

Entry* Store::Impl::sample_any() {
  if (s.live_keys_ == 0) return nullptr;
  const std::size_t n = table.end();
  for (int attempt = 0; attempt < 32; ++attempt) {
    std::size_t i = table.sample(rng);
    // Walk a little past tombstones before drawing again.
    for (int step = 0; step < 8 && i < n; ++step, i = table.next(i)) {
      Entry* e = table.slot(i).entry;
      if (!e->tombstone()) return e;
    }
  }
  return nullptr;
}

void Store::Impl::populate_pool(WallTime now, bool volatile_only) {
  const std::size_t cap = std::max<std::size_t>(1, s.config_.eviction_pool_size);
  for (std::size_t k = 0; k < s.config_.maxmemory_samples; ++k) {
    Entry* e = nullptr;
    if (volatile_only) {
      if (volatile_keys.empty()) break;
      e = volatile_keys[rng.uniform(volatile_keys.size())];
    } else {
      e = sample_any();
    }
    if (e == nullptr) break;
    std::uint64_t score = 0;
    switch (s.config_.policy) {
      case EvictionPolicy::allkeys_lfu:
      case EvictionPolicy::volatile_lfu:
        score = 255 - lfu_decayed(e, now);
        break;
      case EvictionPolicy::volatile_ttl:
        score = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() -
                                           e->expiry()->at_ms);
        break;
      default: {
        const std::uint32_t t = now_seconds(now);
        score = t > e->access_s ? t - e->access_s : 0;
      }
    }
    const std::string_view key = e->key();
    if (std::any_of(pool.begin(), pool.end(), [&](const PoolEntry& p) { return p.key == key; })) {
      continue;
    }
    if (pool.size() >= cap && score <= pool.front().score) continue;
    auto pos = std::upper_bound(pool.begin(), pool.end(), score,
                                [](std::uint64_t v, const PoolEntry& p) { return v < p.score; });
    pool.insert(pos, PoolEntry{score, std::string(key)});
    if (pool.size() > cap) pool.erase(pool.begin());
  }
}

bool Store::Impl::evict_one(WallTime now) {
  const EvictionPolicy policy = s.config_.policy;
  const bool volatile_only =
      policy == EvictionPolicy::volatile_lru || policy == EvictionPolicy::volatile_lfu ||
      policy == EvictionPolicy::volatile_random || policy == EvictionPolicy::volatile_ttl;
  Entry* victim = nullptr;
  if (policy == EvictionPolicy::allkeys_random) {
    victim = sample_any();
  } else if (policy == EvictionPolicy::volatile_random) {
    if (!volatile_keys.empty()) victim = volatile_keys[rng.uniform(volatile_keys.size())];
  } else {
    for (int round = 0; round < 4 && victim == nullptr; ++round) {
      populate_pool(now, volatile_only);
      while (!pool.empty() && victim == nullptr) {
        const std::string key = std::move(pool.back().key);
        pool.pop_back();
        const std::size_t slot = table.find(order_of_key(key), key);
        if (slot == Table::npos) continue;
        Entry* e = table.entry_at(slot);
        if (e->tombstone() || (volatile_only && !e->has_expiry())) continue;
        victim = e;
      }
    }
  }
  if (victim == nullptr) return false;
  const std::string key(victim->key());
  evicting(key);
  erase_slot(table.find(order_of_key(key), key));
  ++s.stats_.evicted;
  return true;
}

Status Store::Impl::make_room(WallTime now) {
  if (s.config_.maxmemory == 0) return Status::Ok();
  while (s.used_memory() > s.config_.maxmemory) {
    if (s.config_.policy == EvictionPolicy::noeviction || !evict_one(now)) {
      ++s.stats_.oom_rejections;
      return make_error(StatusCode::out_of_memory,
                        "command not allowed when used memory > 'maxmemory'.");
    }
  }
  return Status::Ok();
}

}  // namespace apiary::store
