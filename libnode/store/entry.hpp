// Internal: the memory layout of one store entry (one malloc'd block per key).
//
//   Header (16 B) | [ExpiryBlock (16 B)] | InlineClock x n (24 B each) or DvvSet* (8 B) |
//   key | [value]
//
// Inline form: one sibling and up to kMaxInlineActors clock entries, the sibling being the
// newest write of one of those actors (its dot and stamp are that clock entry). That covers
// the overwhelmingly common cases -- a key written by one coordinator, or rewritten by a
// second one after a failover -- with no allocation beyond the block.
// Complex form: anything else (siblings, more actors, tombstones) behind a DvvSet*. A single
// counter sibling stays inline, marked kCounter (its value is the counter's encoding).
// The ExpiryBlock is present only for keys with an expiry (the absolute time and the entry's
// index in the store's volatile-key vector) and for tombstones (collection time, no index).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "apiary/data/dvv.hpp"

namespace apiary::store::detail {

inline constexpr std::uint8_t kComplex = 1;
inline constexpr std::uint8_t kHasExpiry = 2;
inline constexpr std::uint8_t kTombstone = 4;
inline constexpr std::uint8_t kCounter = 8;  // inline form: the value is a counter's encoding
inline constexpr std::uint32_t kNotVolatile = 0xffffffffu;
inline constexpr std::uint8_t kLfuInitial = 5;  // Redis LFU_INIT_VAL
inline constexpr std::size_t kMaxInlineActors = 4;

struct ExpiryBlock {
  std::int64_t at_ms;  // expiry (live keys) or collection time (tombstones)
  std::uint32_t volatile_index;
  std::uint32_t reserved;
};

struct InlineClock {
  std::uint64_t actor;
  std::uint64_t counter;
  std::uint64_t stamp;
};

struct Entry {
  std::uint32_t key_len;
  std::uint32_t value_len;  // inline form only
  std::uint32_t access_s;   // last access, wall seconds (LRU clock, LFU decay)
  std::uint8_t lfu;         // logarithmic access counter
  std::uint8_t flags;
  std::uint8_t clock_n;        // inline form: number of clock entries (>= 1)
  std::uint8_t sibling_index;  // inline form: the clock entry whose dot the value carries

  bool complex() const { return (flags & kComplex) != 0; }
  bool has_expiry_block() const { return (flags & kHasExpiry) != 0; }
  bool tombstone() const { return (flags & kTombstone) != 0; }
  bool inline_counter() const { return (flags & kCounter) != 0; }

  std::byte* base() { return reinterpret_cast<std::byte*>(this); }
  const std::byte* base() const { return reinterpret_cast<const std::byte*>(this); }
  std::size_t expiry_offset() const { return sizeof(Entry); }
  std::size_t clock_offset() const { return sizeof(Entry) + (has_expiry_block() ? 16 : 0); }
  std::size_t key_offset() const {
    return clock_offset() + (complex() ? 8 : sizeof(InlineClock) * clock_n);
  }

  ExpiryBlock* expiry() { return reinterpret_cast<ExpiryBlock*>(base() + expiry_offset()); }
  const ExpiryBlock* expiry() const {
    return reinterpret_cast<const ExpiryBlock*>(base() + expiry_offset());
  }
  // Inline form: the clock entries, sorted by actor.
  InlineClock* clock() { return reinterpret_cast<InlineClock*>(base() + clock_offset()); }
  const InlineClock* clock() const {
    return reinterpret_cast<const InlineClock*>(base() + clock_offset());
  }
  // Inline form: the clock entry of the value's writer (its dot and stamp).
  InlineClock* sibling_clock() { return clock() + sibling_index; }
  const InlineClock* sibling_clock() const { return clock() + sibling_index; }
  data::DvvSet* dvv() const {
    data::DvvSet* p;
    std::memcpy(&p, base() + clock_offset(), sizeof(p));
    return p;
  }
  void set_dvv(data::DvvSet* p) { std::memcpy(base() + clock_offset(), &p, sizeof(p)); }
  std::string_view key() const {
    return {reinterpret_cast<const char*>(base() + key_offset()), key_len};
  }
  char* value_ptr() { return reinterpret_cast<char*>(base() + key_offset() + key_len); }
  std::string_view inline_value() const {
    return {reinterpret_cast<const char*>(base() + key_offset() + key_len), value_len};
  }
  // A live (non-tombstone) entry whose expiry has passed; Redis: expired when now > at.
  bool expired(std::int64_t now_ms) const {
    return has_expiry_block() && !tombstone() && now_ms > expiry()->at_ms;
  }
  bool has_expiry() const { return has_expiry_block() && !tombstone(); }
};
static_assert(sizeof(Entry) == 16);

std::size_t entry_block_size(std::uint8_t flags, std::size_t key_len, std::size_t value_len,
                             std::size_t clock_n = 1);
// Allocates a block with the header and key filled in; the caller fills clock/value/expiry.
Entry* allocate_entry(std::uint8_t flags, std::string_view key, std::size_t value_len,
                      std::size_t clock_n = 1);
// Frees the block and, for the complex form, its DvvSet.
void free_entry(Entry* e);
// Estimated heap bytes of the entry, as a malloc with 16-byte chunks and 8 bytes of header
// would use them (glibc's layout).
std::size_t entry_memory(const Entry* e);
std::size_t chunk_size(std::size_t request);

// No live value: no sibling, or only emptied hashes and sets (a DEL of a collection keeps an
// empty one, so that its removals merge with concurrent writes). Stored as a tombstone.
bool is_dead(const data::DvvSet& v);
// The sibling that decides what a key holds: the last writer's among the live ones (strings,
// counters, non-empty collections); nullptr when the version is dead.
const data::Sibling* live_winner(const data::DvvSet& v);

// The entry's version as a DvvSet (a copy for the inline form).
data::DvvSet load_version(const Entry* e);
// The index of the clock entry that carries `v`'s only sibling when `v` fits the inline
// form, -1 otherwise.
int inline_sibling_index(const data::DvvSet& v);

}  // namespace apiary::store::detail
