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
  std::vector<NodeId> keep_actors;  // never pruned from clocks (self is always kept)
  std::uint64_t seed = 0x5eed;      // sampling for eviction, expiry, random_key
  // Active expiry (Redis activeExpireCycle): keys sampled per loop, and the share of expired
  // keys in a loop above which the cycle loops again.
  std::size_t expire_samples_per_loop = 20;
  std::uint32_t expire_repeat_percent = 25;
};

}  // namespace apiary::store
