// NearCache: the embedding API's bounded local cache of keys this member does not own
// (NodeConfig::near_cache_keys), kept coherent by the same invalidations as Redis clients'
// client-side caches (resp::Tracking's internal consumer). Internal to libnode/runtime.
//
// A get() of a key looks here first (any thread). On a miss the GET goes through the router
// as usual; on the loop thread, before it is sent, the key is tracked (registered at its
// owners, whose messages arrive before the forwarded read) and a fill ticket is taken; the
// reply fills the cache only if no invalidation of the key came in between, so a value read
// before a change is never cached after the change's invalidation. Keys this member owns are
// not cached (a local read is as fast). A write through this Node drops its key at once, so
// a get() after the write's completion never sees the value before it. Entries also expire
// after max_age (a bound for an invalidation lost without a view change). LRU when full.
// Thread safety: every method under one mutex.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace apiary::runtime {

struct NearCacheCounters {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t invalidations = 0;  // keys dropped because they changed (flushes count 1)
  std::uint64_t fills = 0;
  std::size_t entries = 0;
};

class NearCache {
 public:
  using Clock = std::chrono::steady_clock;
  NearCache(std::size_t capacity, std::chrono::milliseconds max_age);

  // The cached value (nullopt inside: the key was missing), or nullopt on a miss.
  std::optional<std::optional<std::string>> lookup(std::string_view key, Clock::time_point now);
  // Loop thread, before the read is routed: a ticket for fill().
  std::uint64_t begin_fill(std::string_view key);
  // Loop thread, with the read's reply: caches it unless the key was invalidated since
  // begin_fill (or another fill of it began later).
  void fill(const std::string& key, std::uint64_t ticket, std::optional<std::string> value,
            Clock::time_point now);
  // The key changed (nullopt: everything may have): drops it and any fill in progress.
  void invalidate(std::optional<std::string_view> key);
  // This member wrote the key: drop it (not counted as an invalidation).
  void erase(std::string_view key);
  NearCacheCounters counters() const;

 private:
  struct Entry {
    std::optional<std::string> value;
    Clock::time_point filled;
    std::list<std::string>::iterator lru;
  };
  void drop(const std::string& key);

  const std::size_t capacity_;
  const std::chrono::milliseconds max_age_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> lru_;  // most recently used first
  std::unordered_map<std::string, std::uint64_t> fills_;  // key -> latest ticket
  std::uint64_t next_ticket_ = 1;
  NearCacheCounters counters_;
};

}  // namespace apiary::runtime
