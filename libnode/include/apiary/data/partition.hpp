// Key -> partition mapping shared by the store, routing and replication.
//
// partition_of(key, count) = xxh3_64(hashed part of key) & (count - 1) with a power-of-two
// `count` (default 1024). The hashed part is the whole key, or its hash tag as in Redis
// Cluster: when the key has a '{' followed later by a '}' with at least one byte between
// them, only the bytes between the first '{' and the first '}' after it are hashed, so
// "{user:1}:cart" and "{user:1}:profile" share a partition (and multi-key commands on them
// run on one owner). A pure function of the key bytes, identical on every node and
// platform, so every node routes a key to the same partition without coordination.
// Thread-safe (pure).
#pragma once

#include <cstdint>
#include <string_view>

#include "apiary/base/ids.hpp"

namespace apiary::data {

inline constexpr std::uint32_t kDefaultPartitionCount = 1024;

// xxh3_64 of the key bytes (seed 0).
std::uint64_t key_hash(std::string_view key);

// The part of `key` that decides its partition: its hash tag, or the whole key.
constexpr std::string_view hash_tag(std::string_view key) {
  const auto open = key.find('{');
  if (open == std::string_view::npos) return key;
  const auto close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

constexpr bool valid_partition_count(std::uint32_t count) {
  return count > 0 && (count & (count - 1)) == 0;
}

// `count` must be a power of two (valid_partition_count).
inline PartitionId partition_of_hash(std::uint64_t hash, std::uint32_t count) {
  return PartitionId{static_cast<std::uint32_t>(hash & (count - 1))};
}
inline PartitionId partition_of(std::string_view key, std::uint32_t count) {
  return partition_of_hash(key_hash(hash_tag(key)), count);
}

}  // namespace apiary::data
