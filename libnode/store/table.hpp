// Internal: an ordered linear-probing hash table of Entry pointers (Amble & Knuth's ordered
// hash table, with the home slot computed by multiply-high so any capacity works).
//
// Slots hold (order key, entry) and are kept sorted by order key, where the order key is a
// fixed bit rotation of the key's xxh3 hash that puts the partition id in the top bits. So:
//  - a partition, and a digest bucket within it, is one contiguous range of slots;
//  - a cursor that remembers an order key resumes exactly where it stopped, whatever was
//    inserted, erased or rehashed in between (positions move, order keys do not);
//  - unsuccessful lookups stop at the first larger key, as cheap as successful ones.
// Capacity grows by 1.5x at 90% load; a rebuild is one linear pass because the order is kept.
// Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "entry.hpp"

namespace apiary::store::detail {

class Table {
 public:
  struct Slot {
    std::uint64_t order = 0;
    Entry* entry = nullptr;
  };
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  Table() { rebuild(kMinCapacity); }

  std::size_t size() const { return size_; }
  std::size_t slot_count() const { return slots_.size(); }
  std::size_t bytes() const { return slots_.capacity() * sizeof(Slot); }
  const Slot& slot(std::size_t i) const { return slots_[i]; }
  Entry*& entry_at(std::size_t i) { return slots_[i].entry; }

  std::size_t find(std::uint64_t order, std::string_view key) const;
  // Inserts an entry whose key is absent; returns its slot.
  std::size_t insert(std::uint64_t order, Entry* entry);
  // Removes the slot (the entry itself is the caller's to free). May shrink the table.
  void erase(std::size_t index);
  // First occupied slot at or after the place where `order` belongs, i.e. the first entry
  // whose order key is >= `order`; slot_count() when there is none.
  std::size_t lower_bound(std::uint64_t order) const;
  // Next occupied slot after `index`, or slot_count().
  std::size_t next(std::size_t index) const;
  // Drops every slot (entries are the caller's to free first).
  void clear() {
    size_ = 0;
    rebuild(kMinCapacity);
  }

 private:
  static constexpr std::size_t kMinCapacity = 16;
  std::size_t home(std::uint64_t order) const {
    __extension__ using u128 = unsigned __int128;
    return static_cast<std::size_t>((static_cast<u128>(order) * capacity_) >> 64);
  }
  void rebuild(std::size_t capacity);
  void extend_tail(std::size_t extra);

  std::vector<Slot> slots_;  // capacity_ home slots plus an overflow tail
  std::size_t capacity_ = 0;
  std::size_t size_ = 0;
};

}  // namespace apiary::store::detail
