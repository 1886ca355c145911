// DvvSet: a dotted version vector set (Almeida et al., "Scalable and Accurate Causality
// Tracking for Eventually Consistent Stores"; the semantics of riak's dvvset) for one key.
//
// A DvvSet is a clock -- for each actor (a NodeId, one per node process lifetime) the number
// of events seen from it -- plus the sibling values still alive. Each sibling is tagged with
// the dot (actor, counter) of the write that created it, the writer's HLC timestamp and,
// implicitly, the writer (the dot's actor). What it promises:
//  - update(): a coordinator write with the causal context a client read. Exactly the
//    siblings that context covers are superseded; everything else stays as a sibling. A
//    client that reads and writes back repeatedly therefore never grows the sibling set.
//  - merge(): sync with another replica's version. A sibling survives unless the other side
//    has seen its dot and dropped it. Idempotent, commutative, associative (as long as
//    prune() does not cut anything, see below).
//  - context(): the join of every sibling's history, as a plain VersionVector.
//  - lww(): the sibling a single-value reader (RESP GET) sees: the largest
//    (HLC timestamp, writer NodeId); deterministic on every replica.
//
// Bounded size (prune): at most `max_siblings` siblings -- the extra ones, lowest by the LWW
// rule, are dropped as if superseded (their dots stay in the clock, so merges drop them on
// other replicas too); at most `max_clock_entries` clock entries -- actors that have no live
// sibling and are not in the caller's keep set are forgotten, oldest HLC stamp first (ties:
// smaller NodeId first). Cost of forgetting actor A's entry (counter n): a replica that
// still holds a sibling (A, k<=n) that had been superseded can bring it back as a sibling on
// the next merge, and a later write whose context lacks A does not supersede it. Pruning
// never discards a live value and never makes a write look older than it is, provided an
// actor never prunes its own entry (keep the local NodeId in `keep`).
//
// Dots must be unique: only actor A issues dots of A, from its own copy of the key. If A's
// copy disappears (eviction, tombstone collection) and A later writes the key again, it
// restarts below counters other replicas remember; keep the tombstone grace period longer
// than replication and anti-entropy delays (see docs/store.md).
//
// Plain value, not thread-safe. No msgpack here: the codec is apiary/data/codec.hpp.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "apiary/base/hlc.hpp"
#include "apiary/base/ids.hpp"
#include "apiary/base/status.hpp"
#include "apiary/data/version_vector.hpp"

namespace apiary::data {

struct Dot {
  NodeId actor;
  std::uint64_t counter = 0;
  friend auto operator<=>(const Dot&, const Dot&) = default;
};

// One actor's entry in a DvvSet clock. `stamp` is the HLC timestamp of the newest event seen
// from that actor; it only orders entries for pruning.
struct ClockEntry {
  NodeId actor;
  std::uint64_t counter = 0;
  HlcTimestamp stamp;
  friend bool operator==(const ClockEntry&, const ClockEntry&) = default;
};

// What a sibling holds: a plain string, a counter the INCR family wrote
// (apiary/data/counter.hpp), which merges with concurrent counters by adding, or a hash, a
// set, a sorted set or a list (apiary/data/collection.hpp), which merge with concurrent
// states of the same type.
enum class ValueKind : std::uint8_t {
  string = 0,
  counter = 1,
  hash = 2,
  set = 3,
  zset = 4,
  list = 5
};
inline constexpr std::uint8_t kMaxValueKind = 5;

class Collection;

struct Sibling {
  Dot dot;
  HlcTimestamp stamp;  // the writer's HLC when it coordinated the write
  std::string value;   // strings and counters
  ValueKind kind = ValueKind::string;
  // Hashes and sets (kind hash/set): shared between copies of the version and copied before
  // a write changes it (Store). Never null for those kinds.
  std::shared_ptr<Collection> collection = nullptr;
  NodeId writer() const { return dot.actor; }
  friend bool operator==(const Sibling& a, const Sibling& b);
};

// Last-writer-wins order: true when `a` loses to `b` (smaller HLC timestamp, then smaller
// writer NodeId, then smaller dot counter so that the order is total).
bool lww_less(const Sibling& a, const Sibling& b);
// The LWW winner of a sibling list, nullptr when empty.
const Sibling* lww_pick(std::span<const Sibling> siblings);

struct DvvLimits {
  std::size_t max_siblings = 16;       // riak warns at 25; 16 keeps reads small
  std::size_t max_clock_entries = 32;  // riak's default small/big vclock is 50
};

struct PruneReport {
  std::size_t siblings_dropped = 0;
  std::size_t clock_entries_dropped = 0;
  bool changed() const { return siblings_dropped + clock_entries_dropped > 0; }
};

class DvvSet {
 public:
  DvvSet() = default;

  // Validates the invariants (clock sorted by actor with counters > 0, siblings sorted by
  // dot and unique, every sibling dot covered by the clock); `malformed` otherwise.
  static Result<DvvSet> from_parts(std::vector<ClockEntry> clock, std::vector<Sibling> siblings);

  const std::vector<ClockEntry>& clock() const { return clock_; }
  const std::vector<Sibling>& siblings() const { return siblings_; }
  // No history at all (a key never written).
  bool empty() const { return clock_.empty(); }
  // History but no value: a delete that still carries the clock.
  bool is_tombstone() const { return !clock_.empty() && siblings_.empty(); }
  std::uint64_t counter(NodeId actor) const;
  VersionVector context() const;
  const Sibling* lww() const { return lww_pick(siblings_); }

  // Coordinator write at `self` with a client's causal context. Returns the new dot.
  Dot update(const VersionVector& context, NodeId self, HlcTimestamp stamp, std::string value,
             ValueKind kind = ValueKind::string);
  // The same with a hash or set as the value (kind hash or set).
  Dot update(const VersionVector& context, NodeId self, HlcTimestamp stamp,
             std::shared_ptr<Collection> collection, ValueKind kind);
  // Coordinator delete: supersedes what `context` covers and advances self's counter without
  // adding a sibling, so the tombstone is causally after what it deleted.
  Dot remove(const VersionVector& context, NodeId self, HlcTimestamp stamp);
  // Sync with another replica's version of the same key.
  void merge(const DvvSet& other);
  // merge() into a new set: `a` merged with `b`, without copying `a` first.
  static DvvSet joined(const DvvSet& a, const DvvSet& b);
  // Enforces `limits` by the rule in the header comment; `keep` lists actors whose clock
  // entries must survive (at least the local node).
  PruneReport prune(const DvvLimits& limits, std::span<const NodeId> keep);

  friend bool operator==(const DvvSet&, const DvvSet&) = default;

 private:
  void absorb_context(const VersionVector& context);
  std::uint64_t advance(NodeId self, std::uint64_t floor, HlcTimestamp stamp);

  std::vector<ClockEntry> clock_;  // sorted by actor
  std::vector<Sibling> siblings_;  // sorted by dot, each dot <= clock counter of its actor
};

// Causal order of two versions (by their clocks).
Order compare(const DvvSet& a, const DvvSet& b);

}  // namespace apiary::data
