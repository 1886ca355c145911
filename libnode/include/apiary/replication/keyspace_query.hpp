// Keyspace queries: what a node asks another member about the keyspace so that the commands
// without keys (DBSIZE, KEYS, SCAN, RANDOMKEY, FLUSHALL, INFO keyspace) answer for the whole
// cluster (libnode/routing/keyspace.cpp). The Replicator carries them (Replicator::ask) and
// hands those that arrive to the driver's KeyspaceHandler, which answers from the local
// store at once; this header defines only what travels.
//
// Each key lives on several replicas, so a query names the partitions the asked member is to
// answer for -- the ones it coordinates in the asker's view -- and every partition is counted
// or scanned on exactly one member, whatever the members' own views say. An answer never
// depends on another member: a query is never passed on, so it cannot loop, and every answer
// is bounded (kMaxScanCount entries visited, the answering side's byte budget).
// Plain values; thread-safety is that of a struct.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "apiary/base/hlc.hpp"
#include "apiary/base/ids.hpp"
#include "apiary/store/store.hpp"

namespace apiary::replication {

// A set of partitions, travelling as a bitmap of partition_count bits.
class PartitionSet {
 public:
  PartitionSet() = default;
  explicit PartitionSet(std::uint32_t partition_count)
      : count_(partition_count), bits_((partition_count + 7) / 8, 0) {}
  // nullopt unless `bytes` is exactly a bitmap for `partition_count` partitions.
  static std::optional<PartitionSet> from_bytes(std::uint32_t partition_count,
                                                std::span<const std::uint8_t> bytes);

  std::uint32_t partition_count() const { return count_; }
  bool contains(PartitionId p) const {
    return p.value < count_ && (bits_[p.value / 8] & (1u << (p.value % 8))) != 0;
  }
  void add(PartitionId p) {
    if (p.value < count_) bits_[p.value / 8] |= static_cast<std::uint8_t>(1u << (p.value % 8));
  }
  std::size_t size() const;
  bool empty() const { return size() == 0; }
  const std::vector<std::uint8_t>& bytes() const { return bits_; }
  friend bool operator==(const PartitionSet&, const PartitionSet&) = default;

 private:
  std::uint32_t count_ = 0;
  std::vector<std::uint8_t> bits_;
};

// Entries one scan query may visit at most (the asker caps a client's COUNT at this).
inline constexpr std::uint32_t kMaxScanCount = 16384;

// The member's HLC (HybridLogicalClock::last(), at least every stamp it holds): the first
// step of a flush, whose horizon must not be below any member's writes.
struct ClockQuery {
  friend bool operator==(const ClockQuery&, const ClockQuery&) = default;
};
struct ClockAnswer {
  HlcTimestamp last;
  friend bool operator==(const ClockAnswer&, const ClockAnswer&) = default;
};

// Live keys of `partitions`, and how many have an expiry (DBSIZE, INFO keyspace).
struct CountQuery {
  PartitionSet partitions;
  friend bool operator==(const CountQuery&, const CountQuery&) = default;
};
struct CountAnswer {
  std::uint64_t keys = 0;
  std::uint64_t expires = 0;
  friend bool operator==(const CountAnswer&, const CountAnswer&) = default;
};

// Store::scan_keys over `partitions` from `cursor`, about `count` entries visited; the keys
// matching `pattern` (a glob; empty = every key) and holding `type` (a TYPE name; empty = any)
// come back with their positions (SCAN, KEYS).
struct ScanQuery {
  PartitionSet partitions;
  std::uint64_t cursor = 0;
  std::uint32_t count = 0;
  std::string pattern;
  std::string type;
  friend bool operator==(const ScanQuery&, const ScanQuery&) = default;
};
struct ScanAnswer {
  std::vector<store::ScannedKey> keys;  // in position order
  std::uint64_t next = 0;               // where to resume; 0 = the partitions are done
  friend bool operator==(const ScanAnswer&, const ScanAnswer&) = default;
};

// A random live key of `partitions` (RANDOMKEY); none when they hold no key.
struct RandomKeyQuery {
  PartitionSet partitions;
  friend bool operator==(const RandomKeyQuery&, const RandomKeyQuery&) = default;
};
struct RandomKeyAnswer {
  std::optional<std::string> key;
  friend bool operator==(const RandomKeyAnswer&, const RandomKeyAnswer&) = default;
};

// Store::flush_before(horizon) (FLUSHALL, FLUSHDB).
struct FlushQuery {
  HlcTimestamp horizon;
  friend bool operator==(const FlushQuery&, const FlushQuery&) = default;
};
struct FlushAnswer {
  std::uint64_t removed = 0;  // entries this member dropped
  friend bool operator==(const FlushAnswer&, const FlushAnswer&) = default;
};

// What the scripting layer tells or asks another member about the scripts and FUNCTION
// libraries every member holds (libnode/script/service.cpp): an operation ("script.load",
// "function.all", ...) and its arguments, answered by the member's Server::member_handler
// with a list of values. At most kMaxMemberValues arguments or values.
struct MembersQuery {
  std::string op;
  std::vector<std::string> args;
  friend bool operator==(const MembersQuery&, const MembersQuery&) = default;
};
struct MembersAnswer {
  std::vector<std::string> values;
  friend bool operator==(const MembersAnswer&, const MembersAnswer&) = default;
};
inline constexpr std::size_t kMaxMemberValues = 65536;

// The alternatives of the two variants correspond: a query's answer has the same index.
using KeyspaceQuery =
    std::variant<ClockQuery, CountQuery, ScanQuery, RandomKeyQuery, FlushQuery, MembersQuery>;
using KeyspaceAnswer = std::variant<ClockAnswer, CountAnswer, ScanAnswer, RandomKeyAnswer,
                                    FlushAnswer, MembersAnswer>;

}  // namespace apiary::replication
