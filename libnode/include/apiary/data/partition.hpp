// Key -> partition mapping shared by the store, routing and replication.
//
// partition_of(key, count) = xxh3_64(key) & (count - 1) with a power-of-two `count` (default
// 1024). It is a pure function of the key bytes, identical on every node and platform, so
// every node routes a key to the same partition without coordination. Thread-safe (pure).
#pragma once

#include <cstdint>
#include <string_view>

#include "apiary/base/ids.hpp"

namespace apiary::data {

inline constexpr std::uint32_t kDefaultPartitionCount = 1024;

// xxh3_64 of the key bytes (seed 0).
std::uint64_t key_hash(std::string_view key);

constexpr bool valid_partition_count(std::uint32_t count) {
  return count > 0 && (count & (count - 1)) == 0;
}

// `count` must be a power of two (valid_partition_count).
inline PartitionId partition_of_hash(std::uint64_t hash, std::uint32_t count) {
  return PartitionId{static_cast<std::uint32_t>(hash & (count - 1))};
}
inline PartitionId partition_of(std::string_view key, std::uint32_t count) {
  return partition_of_hash(key_hash(key), count);
}

}  // namespace apiary::data
