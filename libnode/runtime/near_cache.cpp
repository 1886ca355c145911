#include "near_cache.hpp"

namespace apiary::runtime {

NearCache::NearCache(std::size_t capacity, std::chrono::milliseconds max_age)
    : capacity_(capacity), max_age_(max_age) {}

std::optional<std::optional<std::string>> NearCache::lookup(std::string_view key,
                                                            Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(std::string(key));
  if (it == entries_.end()) {
    ++counters_.misses;
    return std::nullopt;
  }
  if (max_age_.count() > 0 && now - it->second.filled > max_age_) {
    drop(it->first);
    ++counters_.misses;
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  ++counters_.hits;
  return it->second.value;
}

std::uint64_t NearCache::begin_fill(std::string_view key) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::uint64_t ticket = next_ticket_++;
  fills_[std::string(key)] = ticket;
  return ticket;
}

void NearCache::fill(const std::string& key, std::uint64_t ticket,
                     std::optional<std::string> value, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto f = fills_.find(key);
  if (f == fills_.end() || f->second != ticket) return;  // invalidated, or a later fill
  fills_.erase(f);
  if (capacity_ == 0) return;
  drop(key);
  while (entries_.size() >= capacity_ && !lru_.empty()) drop(std::string(lru_.back()));
  lru_.push_front(key);
  entries_.emplace(key, Entry{std::move(value), now, lru_.begin()});
  ++counters_.fills;
}

void NearCache::invalidate(std::optional<std::string_view> key) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++counters_.invalidations;
  if (!key) {
    entries_.clear();
    lru_.clear();
    fills_.clear();
    return;
  }
  const std::string k(*key);
  fills_.erase(k);
  drop(k);
}

void NearCache::erase(std::string_view key) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string k(key);
  fills_.erase(k);
  drop(k);
}

void NearCache::drop(const std::string& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  lru_.erase(it->second.lru);
  entries_.erase(it);
}

NearCacheCounters NearCache::counters() const {
  std::lock_guard<std::mutex> lock(mutex_);
  NearCacheCounters out = counters_;
  out.entries = entries_.size();
  return out;
}

}  // namespace apiary::runtime
