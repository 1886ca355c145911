// The values Store (apiary/store/store.hpp) takes and returns: expiry updates, read results,
// scan cursors, statistics and reports. Plain values.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "apiary/base/ids.hpp"
#include "apiary/base/time.hpp"
#include "apiary/data/collection.hpp"
#include "apiary/data/dvv.hpp"
#include "apiary/data/version_vector.hpp"

namespace apiary::store {

// What a put does to the key's expiry.
struct ExpiryUpdate {
  enum class Kind : unsigned char { clear, keep, set };
  Kind kind = Kind::clear;
  WallTime at{};
  static ExpiryUpdate clear() { return {}; }               // Redis SET without KEEPTTL
  static ExpiryUpdate keep() { return {Kind::keep, {}}; }  // KEEPTTL, INCR, APPEND
  static ExpiryUpdate set(WallTime t) { return {Kind::set, t}; }
};

// A full read: every sibling, the context to write back with, and the expiry.
struct ReadResult {
  std::vector<data::Sibling> siblings;  // sorted by dot; never empty
  data::VersionVector context;
  std::optional<WallTime> expiry;
  const data::Sibling& lww() const { return *data::lww_pick(siblings); }
};

// A versioned entry as replication, handoff and anti-entropy ship it. A tombstone is a
// version with a clock and no siblings.
struct VersionedEntry {
  std::string key;
  data::DvvSet version;
  std::optional<WallTime> expiry;
};

// Why an increment was refused (the RESP layer renders Redis's error for each).
enum class IncrError : unsigned char {
  none,
  not_integer,      // the value is not an integer (INCR family)
  not_float,        // the value is not a number (INCRBYFLOAT)
  overflow,         // the result would leave the int64 range
  nan_or_infinity,  // INCRBYFLOAT would produce NaN or an infinity
  out_of_memory,    // maxmemory reached under noeviction
  wrong_type,       // the key holds a hash or a set
};
struct IncrOutcome {
  IncrError error = IncrError::none;
  std::string value;  // the new value, as GET shows it
};

// A live key found by scan_keys(), with its position in the scan order (a cursor resuming
// at `position` visits it again).
struct ScannedKey {
  std::uint64_t position = 0;
  std::string key;
  friend bool operator==(const ScannedKey&, const ScannedKey&) = default;
};

// Live keys, and how many of them have an expiry (count_keys()).
struct KeyCount {
  std::size_t keys = 0;
  std::size_t expires = 0;
};

struct KeyTtl {
  bool exists = false;
  std::optional<WallTime> expiry;  // none: the key never expires
};

struct StoreStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t expired = 0;  // removed by lazy or active expiry
  std::uint64_t evicted = 0;
  std::uint64_t tombstones_collected = 0;
  std::uint64_t oom_rejections = 0;
};

// Which budget an active_expire_cycle() call gets (StoreConfig): the slow cycle runs on a
// timer (every 100 ms), the fast one between those while expire_backlog() says so.
enum class ExpireCycle : unsigned char { slow, fast };

// Work done by one active_expire_cycle() call.
struct ExpireCycleReport {
  std::size_t sampled = 0;  // keys with an expiry looked at
  std::size_t expired = 0;
  std::size_t tombstones_collected = 0;
  bool budget_exhausted = false;  // stopped on the budget: more expired keys are probably waiting
};

// Resumable position in scan() / scan_partition(). Start from {} ; done() when finished.
struct ScanCursor {
  std::uint64_t position = 0;  // opaque; 0 = start (and, after a call, = done)
  bool started = false;
  bool done() const { return started && position == 0; }
  // For SCAN replies: Redis cursors are one integer, 0 meaning start/done.
  std::uint64_t to_redis() const { return position; }
  static ScanCursor from_redis(std::uint64_t v) { return ScanCursor{v, false}; }
};

// 64 buckets per partition; bucket i sums a hash of (key, clock, sibling dots, expiry) of
// the keys whose hash falls in bucket i. Replicas compare bucket by bucket and exchange only
// the keys of differing buckets (scan_bucket).
inline constexpr std::size_t kDigestBuckets = 64;
struct PartitionDigest {
  std::array<std::uint64_t, kDigestBuckets> buckets{};
  std::uint64_t entries = 0;
  friend bool operator==(const PartitionDigest&, const PartitionDigest&) = default;
};

// A coordinator's write to a hash or set as a delta: the element changes it made, on top of
// the version the coordinator held. A replica whose version is that same base applies the
// changes and reaches the coordinator's new version without the whole collection travelling;
// any other replica needs the full entry (Store::apply_delta).
struct CollectionDelta {
  std::string key;
  data::ValueKind kind = data::ValueKind::hash;
  data::VersionVector base;  // the key's clock before the write
  std::vector<data::Dot> base_dots;  // the dots of its siblings before the write, in order
  data::Dot dot;             // the write's dot and stamp
  HlcTimestamp stamp;
  std::vector<data::ElementChange> changes;
  std::optional<WallTime> expiry;  // the key's expiry after the write
  friend bool operator==(const CollectionDelta&, const CollectionDelta&) = default;
};

// What a key holds, as TYPE names it.
enum class KeyType : unsigned char { none, string, hash, set, zset, list };
std::string_view type_name(KeyType type);  // "none", "string", "hash", "set", "zset", "list"
// Whether `type` is held by a data::Collection (a hash, a set, a sorted set or a list).
inline bool is_collection_type(KeyType type) {
  return type == KeyType::hash || type == KeyType::set || type == KeyType::zset ||
         type == KeyType::list;
}
// The sibling kind that holds a collection (`type` is KeyType::hash, set, zset or list).
inline data::ValueKind collection_kind(KeyType type) {
  switch (type) {
    case KeyType::hash:
      return data::ValueKind::hash;
    case KeyType::zset:
      return data::ValueKind::zset;
    case KeyType::list:
      return data::ValueKind::list;
    default:
      return data::ValueKind::set;
  }
}

}  // namespace apiary::store
