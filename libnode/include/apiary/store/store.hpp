// Store: the node's in-memory table of versioned entries.
//
// Keys and values are binary-safe byte strings. Each entry holds a DvvSet (siblings plus
// clock, see apiary/data/dvv.hpp), an absolute expiry (WallTime, or none) and LRU/LFU
// bookkeeping. A sibling holds a string, a counter, or a hash or set (data/collection.hpp;
// docs/datatypes.md). The common case -- one value written by one actor -- is stored inline in a
// single allocation with the key; anything else keeps a DvvSet behind the entry.
//
// Promises:
//  - Deterministic: time comes from the caller (`now`), randomness from an Rng seeded by
//    StoreConfig::seed. Iteration order is a function of the key hashes only.
//  - Expired keys are never returned (lazy expiry on access); active_expire_cycle() removes
//    them in bounded steps. Tombstones are invisible to reads and collected after
//    StoreConfig::tombstone_grace.
//  - used_memory() is a running total of per-entry estimates (key, values, clock, overhead)
//    plus the table; with maxmemory set, writes first evict by the policy and fail with
//    StatusCode::out_of_memory when nothing can be evicted. Deletes never fail.
//  - scan_partition() visits each entry of a partition exactly once across batches, even
//    with writes and deletes between batches (entries added or removed meanwhile may or may
//    not be seen). scan() gives the same guarantee over all keys.
//  - Views (string_view, const Sibling&) stay valid until the next non-const call.
// Not thread-safe: one Store per node, owned by its event loop.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/hlc.hpp"
#include "apiary/base/status.hpp"
#include "apiary/base/time.hpp"
#include "apiary/data/dvv.hpp"
#include "apiary/store/store_config.hpp"
#include "apiary/store/store_types.hpp"

namespace apiary::store {

// The change feed (DESIGN.md, Wave 2): told of every change to the table after it happened --
// a write, a replicated merge, an expiry, an eviction, a collected tombstone, a dropped
// partition, a flush. Persistence (the AOF) is its consumer. Calls come from inside Store
// methods: a listener must not call back into the store from them.
class ChangeListener {
 public:
  virtual ~ChangeListener() = default;
  // The key's entry was added, rewritten or removed: export_entry(key) says what it is now.
  virtual void key_changed(std::string_view key) = 0;
  // flush_before(horizon) ran. The entries it kept are reported as changed after this call.
  virtual void flushed(HlcTimestamp horizon) = 0;
  // The change just reported by key_changed(delta.key) was exactly `delta` applied to the
  // key's previous version: a committed write to a hash or set (edit_collection at the
  // coordinator, apply_delta at a replica, EXPIRE/PERSIST of a hash or set). Store::
  // replay_delta on that previous version rebuilds the new one. Every other change (a merge,
  // read repair, expiry, eviction, DEL, restore, a flush...) is reported by key_changed only.
  virtual void collection_delta(const CollectionDelta& delta) { (void)delta; }
  // The key's live entry is about to be removed because it expired (lazily, by the active
  // cycle, or as a merged version that had expired) or was evicted; key_changed follows.
  virtual void key_expired(std::string_view key) { (void)key; }
  virtual void key_evicted(std::string_view key) { (void)key; }
};

// What Store::replay_delta did with a delta.
enum class ReplayOutcome : unsigned char {
  applied,          // the entry was its base: it now holds the delta's write
  already_applied,  // the entry's clock covers the delta's dot: nothing to do
  base_mismatch,    // the entry is neither: the delta cannot be applied, nothing changed
};

class Store {
 public:
  explicit Store(StoreConfig config);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const StoreConfig& config() const { return config_; }
  // CONFIG SET maxmemory / maxmemory-policy / maxmemory-samples at run time. Lowering the
  // limit does not evict at once: the next write evicts (or is refused) as usual. Switching
  // between LRU and LFU reinterprets the per-entry access field, as Redis does.
  void set_memory_policy(std::size_t maxmemory, EvictionPolicy policy, std::size_t samples) {
    config_.maxmemory = maxmemory;
    config_.policy = policy;
    config_.maxmemory_samples = samples == 0 ? 1 : samples;
  }

  // ---- Reads (lazy expiry; count hits/misses; touch LRU/LFU) -------------------------
  // The value a single-value reader sees, without copying when it can: the LWW sibling, or
  // the merge of its counters (apiary/data/counter.hpp); nullopt when missing, expired or a
  // tombstone.
  // `wrong_type`, when given, is set when the key holds a hash or a set (nullopt returned).
  std::optional<std::string_view> get_value(std::string_view key, WallTime now,
                                            bool* wrong_type = nullptr);
  // Every sibling (counters as their text) and the causal context; not_found when there is
  // no live value.
  Result<ReadResult> get(std::string_view key, WallTime now);
  bool exists(std::string_view key, WallTime now);  // no hit/miss counting, no touch
  // CLIENT NO-TOUCH: while on, no access changes the keys' LRU/LFU fields (the connection
  // turns it on around each command of a no-touch client, TOUCH excepted).
  void set_touch_suppressed(bool on);
  KeyType type(std::string_view key, WallTime now);  // no hit/miss counting, no touch

  // ---- Hashes and sets (apiary/data/collection.hpp) -------------------------------------
  // The key's hash or set (kind hash or set) as a reader sees it: its siblings of that type
  // joined. nullptr when the key is missing (or empty); `wrong_type` when it holds another
  // type. Counts a hit or miss and touches. Valid until the next non-const call.
  const data::Collection* read_collection(std::string_view key, data::ValueKind kind,
                                          WallTime now, bool& wrong_type);
  // A write to the key's hash or set at this coordinator. `edit` changes the collection (an
  // empty one when the key is missing; the elements' writes use `dot` and `stamp`) and
  // returns whether it changed anything; a change is committed under the new dot, and a
  // collection left empty deletes the key (its removals still merge with concurrent writes).
  // The expiry is kept. Fails with wrong_type (another type, nothing called) or
  // out_of_memory.
  struct CollectionEdit {
    data::Collection& collection;
    data::Dot dot;
    HlcTimestamp stamp;
  };
  Status edit_collection(std::string_view key, data::ValueKind kind, WallTime now,
                         const std::function<bool(CollectionEdit&)>& edit);
  // Delta replication. take_delta(): the delta of the last write edit_collection() committed
  // for `key`, when nothing changed the key since (the replication of that write ships it
  // instead of the entry); nullopt otherwise. A delta not taken soon is forgotten.
  std::optional<CollectionDelta> take_delta(std::string_view key);
  bool has_delta(std::string_view key) const;
  // At a replica: applies `delta` when the local version is its base exactly (true), else
  // leaves the key alone and fails with not_found: the sender must send the full entry.
  // A delta whose write a flush removed (stamp at or before the horizon) changes nothing.
  Result<bool> apply_delta(const CollectionDelta& delta, WallTime now);
  // The store's seeded generator (HRANDFIELD, SRANDMEMBER, SPOP pick with it).
  std::uint64_t random();
  // COPY / RENAME: src's value (a string's text, a counter's total, a hash or a set) and
  // expiry written to dst as a local write. False when src is missing.
  Result<bool> copy(std::string_view src, std::string_view dst, WallTime now);

  // ---- Writes (may evict first; out_of_memory under noeviction when full) -------------
  // Local coordinator put (RESP SET): supersedes every version this node holds for the key.
  Status put_local(std::string_view key, std::string_view value, WallTime now,
                   ExpiryUpdate expiry = ExpiryUpdate::clear());
  // Coordinator put with a client's context: supersedes what the context covers only.
  Status put(std::string_view key, std::string_view value, const data::VersionVector& context,
             WallTime now, ExpiryUpdate expiry = ExpiryUpdate::clear());
  // The INCR family as a coordinator: the key's value (its siblings merged by the counter
  // rules, apiary/data/counter.hpp) plus `delta`, written as a counter that keeps the key's
  // expiry. A missing key counts as 0.
  IncrOutcome incr(std::string_view key, std::int64_t delta, WallTime now);
  IncrOutcome incr_float(std::string_view key, long double delta, WallTime now);
  // Merge a version received from another replica (replication, handoff, read repair,
  // anti-entropy). Returns true when the local entry changed.
  Result<bool> merge(std::string_view key, const data::DvvSet& remote,
                     std::optional<WallTime> expiry, WallTime now);
  // The same, taking `remote` when it becomes the key's version (a key new here).
  Result<bool> merge(std::string_view key, data::DvvSet&& remote, std::optional<WallTime> expiry,
                     WallTime now);
  // Local coordinator delete: leaves a tombstone with the clock. False when no live key.
  bool del_local(std::string_view key, WallTime now);
  // Delete with a client's context (siblings it did not see survive).
  bool del(std::string_view key, const data::VersionVector& context, WallTime now);

  // ---- Expiry (EXPIRE / PERSIST / TTL). Changing it is a local write (new dot). --------
  bool set_expiry(std::string_view key, WallTime at, WallTime now);  // false: no such key
  bool clear_expiry(std::string_view key, WallTime now);             // false: no key or no expiry
  KeyTtl ttl(std::string_view key, WallTime now);
  // Active expiry: walks the keys with an expiry from where the last cycle stopped (every key
  // is met once per pass), removing the expired ones, in loops of expire_keys_per_loop; loops
  // again while more than expire_acceptable_stale_percent of a loop had expired. Looks at no
  // more than `max_keys` keys (the overload: the budget of the cycle's kind), and collects up
  // to as many due tombstones.
  ExpireCycleReport active_expire_cycle(WallTime now, ExpireCycle kind = ExpireCycle::slow);
  ExpireCycleReport active_expire_cycle(WallTime now, std::size_t max_keys);
  // Redis's condition for a fast cycle: the last cycle stopped on its budget, or the running
  // estimate of the share of expired keys among those looked at (each cycle weighs 5%) is at
  // or above the acceptable share.
  bool expire_backlog() const;
  double expired_stale_percent() const;  // that estimate, as Redis's INFO expired_stale_perc

  // ---- Keyspace (DBSIZE, SCAN, KEYS, RANDOMKEY, FLUSHALL, OBJECT, MEMORY USAGE) --------
  std::size_t size() const { return live_keys_; }  // live keys (may include expired ones)
  std::size_t tombstones() const { return tombstones_; }
  // Up to about `count` live keys from `cursor` on; advances the cursor.
  std::vector<std::string> scan(ScanCursor& cursor, std::size_t count, WallTime now);
  void for_each_key(WallTime now, const std::function<void(std::string_view)>& fn) const;
  std::optional<std::string> random_key(WallTime now);
  // Cluster-wide keyspace commands ask each node for the partitions it coordinates only.
  // scan_keys() is scan() restricted to the partitions `include` accepts (the others are
  // skipped a partition at a time): about `count` entries visited, live keys returned with
  // their position. Positions are one order over all partitions that depends only on the key
  // and the partition count, the same on every node, so the scans of disjoint partition sets
  // on several nodes merge by position. count_keys() costs O(keys of those partitions).
  std::vector<ScannedKey> scan_keys(ScanCursor& cursor, std::size_t count,
                                    const std::function<bool(PartitionId)>& include,
                                    WallTime now) const;
  KeyCount count_keys(const std::function<bool(PartitionId)>& include, WallTime now) const;
  void clear();
  std::optional<std::uint8_t> lfu_frequency(std::string_view key, WallTime now) const;
  std::optional<std::chrono::seconds> idle_time(std::string_view key, WallTime now) const;
  // RESTORE ... IDLETIME / FREQ, as Redis's objectSetLRUOrLFU: under an LFU policy sets the
  // key's counter to `freq` (when given), otherwise makes the key `idle` idle (when given).
  // This node's bookkeeping only, like every access. False when nothing was set.
  bool set_access(std::string_view key, WallTime now, std::optional<std::chrono::seconds> idle,
                  std::optional<std::uint8_t> freq);
  std::optional<std::size_t> memory_usage(std::string_view key) const;

  // ---- Partitions (handoff, anti-entropy) -----------------------------------------------
  // Up to about `max_entries` entries (live and tombstones, not expired) of one partition.
  std::vector<VersionedEntry> scan_partition(PartitionId partition, ScanCursor& cursor,
                                             std::size_t max_entries, WallTime now);
  PartitionDigest digest(PartitionId partition, WallTime now) const;
  std::vector<VersionedEntry> scan_bucket(PartitionId partition, std::size_t bucket,
                                          WallTime now) const;
  std::optional<VersionedEntry> export_entry(std::string_view key, WallTime now) const;
  // export_entry(key) packed by the entry codec (store/entry_codec.hpp) without building it
  // first: what a replicated write ships. Empty when export_entry(key) would be.
  std::vector<std::uint8_t> packed_entry(std::string_view key, WallTime now) const;
  // A hash of what replicas agree on in export_entry(key) -- clock, sibling dots (a dot names
  // one write's value), expiry -- never 0; nullopt when there is no entry. Equal hashes mean
  // the same version (a quorum read skips sending it, replication/quorum.cpp).
  std::optional<std::uint64_t> version_hash(std::string_view key, WallTime now) const;
  // Drops every entry of a partition (after handoff was acknowledged).
  std::size_t drop_partition(PartitionId partition);

  // ---- Change feed and loading from disk ------------------------------------------------
  // nullptr stops the feed. Not owned.
  void set_change_listener(ChangeListener* listener) { listener_ = listener; }
  // A second consumer of the same feed (the node's tracking and keyspace events), told
  // after the listener. nullptr stops it. Not owned.
  void set_change_observer(ChangeListener* observer) { observer_ = observer; }
  // Sets the key's entry to exactly `version` and `expiry`, as it was saved (no merge, no
  // eviction: a load may exceed maxmemory, and the next write evicts, as Redis does). A
  // version that expired by `now` removes the key instead. The HLC absorbs its stamps. Not
  // reported to the change listener.
  void restore(std::string_view key, data::DvvSet version, std::optional<WallTime> expiry,
               WallTime now);
  // Replays a collection delta from the AOF (ChangeListener::collection_delta): like
  // apply_delta, but the key's entry is looked at even when it has expired by `now` (a later
  // delta may be an EXPIRE or PERSIST), the result is kept even when it has expired (the
  // caller removes such keys when the load ends), nothing is evicted (a load may exceed
  // maxmemory, as restore) and nothing is reported to the change listener. The HLC absorbs the
  // delta's stamp.
  ReplayOutcome replay_delta(const CollectionDelta& delta, WallTime now);
  // Removes the key's entry without leaving a tombstone (replaying a removal). False when
  // there was none. Not reported to the change listener.
  bool remove(std::string_view key);

  // Evicts by the policy until used memory is within maxmemory; out_of_memory when it cannot
  // (noeviction, or nothing left to evict). Every write does this first; the RESP server does
  // it before each denyoom command, as Redis does before running one.
  Status make_room(WallTime now);

  // ---- Accounting --------------------------------------------------------------------
  std::size_t used_memory() const;
  std::size_t entries_memory() const { return entries_bytes_; }
  std::size_t recompute_entries_memory() const;  // for tests: sum over all entries
  const StoreStats& stats() const { return stats_; }
  void reset_stats() { stats_ = {}; }
  HybridLogicalClock& hlc() { return hlc_; }

  // ---- Flush horizon (cluster-wide FLUSHALL, docs/cluster.md) ---------------------------
  // Forgets every write stamped at or before `horizon`: siblings and clock entries with such
  // stamps go, and so do keys left with nothing. From then on merge() drops such remote
  // siblings and clock entries too (a remote version left with nothing is not stored), so
  // replicas that missed the flush cannot bring flushed keys back. The HLC absorbs the
  // horizon, so later local writes are stamped after it. A horizon not above the current one
  // changes nothing. Returns the number of entries removed. O(entries).
  std::size_t flush_before(HlcTimestamp horizon, WallTime now);
  HlcTimestamp flush_horizon() const { return horizon_; }

 private:
  struct Impl;
  Result<bool> merge_version(std::string_view key, const data::DvvSet& incoming,
                             data::DvvSet* owned, std::optional<WallTime> expiry, WallTime now);
  StoreConfig config_;
  HybridLogicalClock hlc_;
  HlcTimestamp horizon_{};  // flush_before(); zero = never flushed
  StoreStats stats_;
  std::size_t live_keys_ = 0;
  std::size_t tombstones_ = 0;
  std::size_t entries_bytes_ = 0;
  ChangeListener* listener_ = nullptr;
  ChangeListener* observer_ = nullptr;
  std::unique_ptr<Impl> impl_;
};

}  // namespace apiary::store
