// Store tunables and the eviction policy names (Redis's), with commented defaults.
// Plain values; thread-safety is that of a struct.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "apiary/base/ids.hpp"
#include "apiary/data/dvv.hpp"
#include "apiary/data/partition.hpp"

namespace apiary::store {

enum class EvictionPolicy : unsigned char {
  noeviction,  // writes fail with StatusCode::out_of_memory once maxmemory is reached
  allkeys_lru,
  allkeys_lfu,
  allkeys_random,
  volatile_lru,  // volatile-*: only keys with an expiry are candidates
  volatile_lfu,
  volatile_random,
  volatile_ttl,  // soonest expiry first
};
std::string_view to_string(EvictionPolicy policy);  // "allkeys-lru", as Redis spells it
std::optional<EvictionPolicy> parse_eviction_policy(std::string_view name);

struct StoreConfig {
  NodeId self;                                                   // actor for local writes
  std::uint32_t partition_count = data::kDefaultPartitionCount;  // power of two
  std::size_t maxmemory = 0;                                     // bytes; 0 = no limit
  EvictionPolicy policy = EvictionPolicy::noeviction;
  std::size_t maxmemory_samples = 5;    // Redis maxmemory-samples
  std::size_t eviction_pool_size = 16;  // Redis EVPOOL_SIZE
  std::uint32_t lfu_log_factor = 10;    // Redis lfu-log-factor
  std::uint32_t lfu_decay_minutes = 1;  // Redis lfu-decay-time
  std::chrono::milliseconds tombstone_grace{std::chrono::minutes(10)};
  data::DvvLimits limits;
  // A write that would grow a hash or set past this many encoded bytes is refused
  // (too_large): a whole collection must fit one data message for handoff, anti-entropy and
  // repair (docs/datatypes.md, "Size limit"). 0 = no limit. NodeCore derives it from
  // ReplicationConfig::max_message_bytes.
  std::size_t max_collection_bytes = 0;
  std::vector<NodeId> keep_actors;  // never pruned from clocks (self is always kept)
  std::uint64_t seed = 0x5eed;      // sampling for eviction, expiry, random_key
  // Active expiry (Redis activeExpireCycle; docs/store.md, "Active expiry"). A cycle walks
  // the keys with an expiry in loops of `expire_keys_per_loop` and loops again while more than
  // `expire_acceptable_stale_percent` of a loop had expired, until its budget of keys looked
  // at runs out. The store has no clock, so the budgets are work, sized from
  // bench/expiry_bench.cpp (release build: ~0.01 us per live key looked at, 0.15-0.4 us per
  // expired key removed): the slow cycle (every 100 ms) about Redis's 25% of the interval
  // when every key it meets has expired, the fast cycle about Redis's 1 ms.
  std::size_t expire_keys_per_loop = 20;               // Redis ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP
  std::uint32_t expire_acceptable_stale_percent = 10;  // Redis ..._ACCEPTABLE_STALE
  std::size_t expire_slow_cycle_keys = 60'000;
  std::size_t expire_fast_cycle_keys = 2'500;
};

}  // namespace apiary::store
