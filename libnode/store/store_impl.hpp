// Internal: the state behind Store (table, volatile-key index, eviction pool, tombstone
// queue, sampling generator) and the helpers the store_*.cpp files share.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "apiary/base/rng.hpp"
#include "apiary/data/collection.hpp"
#include "apiary/store/store.hpp"
#include "entry.hpp"
#include "table.hpp"

namespace apiary::store {

struct PoolEntry {
  std::uint64_t score = 0;  // larger = better eviction candidate
  std::string key;
};

struct Store::Impl {
  Impl(Store& owner, std::uint64_t seed, std::uint32_t partition_count);

  // ---- entry lifecycle (store.cpp) ----
  // Slot of the key's entry (live or tombstone), after removing it if it has expired.
  std::size_t find(std::string_view key, std::uint64_t order, WallTime now);
  // Slot of a live, unexpired entry or npos.
  std::size_t find_live(std::string_view key, std::uint64_t order, WallTime now);
  std::size_t insert_entry(std::uint64_t order, detail::Entry* e);
  void erase_slot(std::size_t slot);
  // Tells the change listener (Store::set_change_listener), if any.
  void changed(std::string_view key) {
    if (s.listener_ != nullptr) s.listener_->key_changed(key);
    if (s.observer_ != nullptr) s.observer_->key_changed(key);
  }
  // A live entry expired or was evicted (told before it is erased).
  void expiring(const detail::Entry* e) {
    if (s.observer_ != nullptr && !e->tombstone()) s.observer_->key_expired(e->key());
  }
  void evicting(std::string_view key) {
    if (s.observer_ != nullptr) s.observer_->key_evicted(key);
  }
  // Swaps a freshly built entry into `slot`, keeping the access bookkeeping.
  void replace(std::size_t slot, detail::Entry* fresh);
  detail::Entry* build(std::string_view key, data::DvvSet&& version, std::optional<WallTime> expiry,
                       WallTime now);
  // Writes `version` (already updated) back for `key`; slot may be npos for a new key.
  void store_version(std::string_view key, std::uint64_t order, std::size_t slot,
                     data::DvvSet&& version, std::optional<WallTime> expiry, WallTime now);
  void register_volatile(detail::Entry* e);
  // What a live entry holds (TYPE).
  KeyType type_of(const detail::Entry* e) const;
  // The joined hash or set of a live entry of that kind (may point into `joined`).
  const data::Collection* collection_of(const detail::Entry* e, data::ValueKind kind);
  // What a single-value reader sees of a live entry (may point into `scratch`).
  std::string_view read_value(const detail::Entry* e);
  // The INCR family (store_counter.cpp).
  IncrOutcome increment(std::string_view key, bool is_float, std::int64_t delta,
                        long double fdelta, WallTime now);
  bool increment_in_place(detail::Entry* e, bool is_float, std::int64_t delta, WallTime now,
                          IncrOutcome& out);
  // Rewrites a live entry under a new local dot with a new expiry, keeping what it holds (a
  // counter stays a counter). False when the key is missing.
  bool rewrite_expiry(std::string_view key, std::optional<WallTime> at, WallTime now);
  // A write to the hash or set of delta.key at `slot` (npos: none) by `actor`, stamped
  // delta.stamp: `mutate` changes the state it builds on; when it returns true the new state
  // is committed under the actor's next dot, with `expiry` (nullopt: the entry's own kept), and
  // delta's base, base_dots, dot and expiry say what it was built on and became. A write that
  // `mutate` refuses (returns false) leaves the state as it was, even when run in place.
  bool write_collection(std::uint64_t order, std::size_t slot, CollectionDelta& delta,
                        NodeId actor, std::optional<std::optional<WallTime>> expiry,
                        WallTime now, const std::function<bool(data::Collection&)>& mutate);
  void remember(CollectionDelta&& delta);
  // The same for a live hash or set at `slot` (store_collection.cpp).
  bool rewrite_collection_expiry(std::size_t slot, std::optional<WallTime> at, WallTime now);
  void unregister_volatile(detail::Entry* e);

  // ---- access bookkeeping and eviction (store_eviction.cpp) ----
  void touch(detail::Entry* e, WallTime now);
  bool touch_suppressed = false;  // Store::set_touch_suppressed
  std::uint8_t lfu_decayed(const detail::Entry* e, WallTime now) const;
  Status make_room(WallTime now);
  bool evict_one(WallTime now);
  detail::Entry* sample_any();
  void populate_pool(WallTime now, bool volatile_only);

  // ---- active expiry (store_expiry.cpp) ----
  // Up to `max_keys` tombstones whose grace has passed; false when due ones remain.
  bool collect_tombstones(WallTime now, std::size_t max_keys, ExpireCycleReport& report);

  Store& s;

  // Order key: the hash rotated so that the partition id (its low bits) comes first.
  std::uint64_t order_of(std::uint64_t hash) const {
    return partition_bits == 0 ? hash : (hash >> partition_bits) | (hash << (64 - partition_bits));
  }
  std::uint64_t order_of_key(std::string_view key) const;
  // First order key of a partition and of the next one (0 when it is the last).
  std::uint64_t partition_begin(PartitionId p) const {
    return partition_bits == 0 ? 0 : static_cast<std::uint64_t>(p.value) << (64 - partition_bits);
  }
  std::uint64_t bucket_of(std::uint64_t order) const {
    return (order << partition_bits) >> (64 - 6);
  }
  PartitionId partition_of_order(std::uint64_t order) const {
    return PartitionId{
        partition_bits == 0 ? 0u : static_cast<std::uint32_t>(order >> (64 - partition_bits))};
  }

  detail::Table table;
  std::vector<detail::Entry*> volatile_keys;  // entries with an expiry, any order
  std::size_t expire_cursor = 0;              // where the next active-expiry loop starts
  bool expire_stopped_on_budget = false;      // the last cycle's budget_exhausted
  double expire_stale_percent = 0;            // running estimate (expired_stale_percent())
  std::vector<PoolEntry> pool;                // sorted by score, ascending
  std::deque<std::pair<std::int64_t, std::string>> tombstone_queue;  // (collect at, key)
  Rng rng;
  unsigned partition_bits = 0;
  std::string scratch;  // a merged counter's text, for read_value
  std::unique_ptr<data::Collection> joined;  // concurrent collections joined, for reads
  std::deque<CollectionDelta> deltas;         // the last collection writes (take_delta)
};

namespace detail {
// The flush horizon (store_flush.cpp). The newest stamp of a version (clock and siblings);
// whether any of its stamps is at or before `horizon`; and what is left of it after dropping
// those (nullopt when nothing is).
HlcTimestamp newest_stamp(const data::DvvSet& v);
bool crosses_horizon(const data::DvvSet& v, HlcTimestamp horizon);
std::optional<data::DvvSet> after_horizon(const data::DvvSet& v, HlcTimestamp horizon);
}  // namespace detail

}  // namespace apiary::store
