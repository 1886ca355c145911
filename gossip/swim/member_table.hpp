// MemberTable: every member this node knows (itself included), stored compactly.
//
// The simulator keeps ~10,000 tables of ~10,000 members in one process, so a record is 40
// bytes: name, address and metadata are interned handles (interned.hpp: one copy per
// process of each distinct value), incarnation and state share one word, then the
// state-change time. Records live in fixed-size chunks (no 2x vector slack, and a record
// never moves), and the name index is an open-addressing table of 32-bit slot numbers that
// rehashes with the hash kept in each interned name. Together that is ~48 bytes per member.
//
// Slots are stable handles. An erased slot is not handed out again until
// recycle_released() (the probe scheduler calls it when it rebuilds its order, so a stale
// slot number in the old order can never name a different member).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/ids.hpp"
#include "apiary/base/time.hpp"
#include "apiary/gossip/member.hpp"
#include "interned.hpp"
#include "meta_pool.hpp"

namespace apiary::gossip::detail {

using Slot = std::uint32_t;
inline constexpr Slot kNoSlot = UINT32_MAX;

struct MemberRecord {
  InternedString name_handle;  // null: free slot
  InternedString addr_handle;
  MetaPtr meta;  // null: empty metadata
  std::uint64_t incarnation : 62 = 0;
  std::uint64_t state : 2 = 0;
  TimePoint changed{};

  std::string_view name() const { return name_handle ? *name_handle : std::string_view(); }
  std::string_view addr() const { return addr_handle ? *addr_handle : std::string_view(); }
  void set_name(std::string_view n) { name_handle = InternedString::of(n); }
  void set_addr(std::string_view a) { addr_handle = InternedString::of(a); }
  MemberState member_state() const { return static_cast<MemberState>(state); }
  void set_state(MemberState s) { state = static_cast<std::uint8_t>(s); }
  Incarnation inc() const { return Incarnation{incarnation}; }
  void set_inc(Incarnation i) { incarnation = i.value; }
  bool in_use() const { return static_cast<bool>(name_handle); }
  bool alive_or_suspect() const {
    return member_state() == MemberState::alive || member_state() == MemberState::suspect;
  }
  Member to_member() const;
};

class MemberTable {
 public:
  MemberTable() = default;
  MemberTable(const MemberTable&) = delete;
  MemberTable& operator=(const MemberTable&) = delete;

  Slot find(std::string_view name) const;
  // `record.name()` must be non-empty and not present. Returns kNoSlot when the table is full
  // (16 million records).
  Slot insert(MemberRecord record);
  void erase(Slot slot);
  // Makes slots erased so far available to insert().
  void recycle_released();

  MemberRecord& at(Slot slot) { return chunks_[slot / kChunk][slot % kChunk]; }
  const MemberRecord& at(Slot slot) const { return chunks_[slot / kChunk][slot % kChunk]; }

  std::size_t size() const { return live_; }
  // Slots are [0, slot_end()); skip those whose record is not in_use().
  Slot slot_end() const { return end_; }

  // Bytes held by the table itself (records, index, free lists), not counting the interned
  // names, addresses and metadata it shares.
  std::size_t memory_bytes() const;

 private:
  static constexpr std::size_t kChunk = 256;
  // Index entries pack a slot (24 bits) with an 8-bit fingerprint of the name's hash, so a
  // lookup skips almost every non-matching entry without touching its record (with thousands
  // of tables in one process, each record touched is a cache miss).
  using Entry = std::uint32_t;
  static constexpr Entry kEmpty = UINT32_MAX;
  static constexpr Slot kMaxSlots = (Slot{1} << 24) - 1;

  static std::size_t hash_of(std::string_view name);
  static Entry entry(Slot slot, std::size_t hash) {
    return (slot << 8) | static_cast<Entry>(hash >> (8 * sizeof(std::size_t) - 8));
  }
  void index_insert(Slot slot, std::size_t hash);
  void index_erase(std::string_view name);
  void grow_index();

  std::vector<std::unique_ptr<MemberRecord[]>> chunks_;
  Slot end_ = 0;
  std::size_t live_ = 0;
  std::vector<Slot> free_;
  std::vector<Slot> released_;
  std::vector<Entry> index_;  // open addressing, linear probing; kEmpty marks a hole
};

}  // namespace apiary::gossip::detail
