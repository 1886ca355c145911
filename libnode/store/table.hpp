// Internal: an ordered linear-probing hash table of Entry pointers (Amble & Knuth's ordered
// hash table, with the home slot computed by multiply-high so any capacity works).
//
// Slots hold (order key, entry) and are kept sorted by order key, where the order key is a
// fixed bit rotation of the key's xxh3 hash that puts the partition id in the top bits. So:
//  - a partition, and a digest bucket within it, is one contiguous range of slots;
//  - a cursor that remembers an order key resumes exactly where it stopped, whatever was
//    inserted, erased or resized in between (positions move, order keys do not);
//  - unsuccessful lookups stop at the first larger key, as cheap as successful ones.
//
// Resizing is incremental, like Redis's rehashing, so no single write pays for moving a
// million entries: growth (1.5x at 90% load) or shrinking (at 10%) allocates the new array
// and every insert/erase -- plus rehash_step() from the store's periodic cycle -- moves the
// next few entries in order. During the move, entries with order key < boundary_ are in the
// new array and the rest in the old one, so every operation knows where to look and
// iteration (new array, then the old array from the boundary) stays in order.
//
// Handles (size_t) index the new array followed by the old one; they are valid until the
// next insert, erase, rehash_step or clear. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "entry.hpp"

namespace apiary::store::detail {

class Table {
 public:
  struct Slot {
    std::uint64_t order = 0;
    Entry* entry = nullptr;
  };
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  static constexpr std::size_t kStepEntries = 64;  // entries moved per insert/erase

  Table() { cur_.reset(kMinCapacity); }

  std::size_t size() const { return size_; }
  // One past the largest handle.
  std::size_t slot_count() const { return cur_.size() + old_.size(); }
  std::size_t bytes() const { return (cur_.size() + old_.size()) * sizeof(Slot); }
  bool rehashing() const { return old_.size() != 0; }

  const Slot& slot(std::size_t h) const {
    return h < cur_.size() ? cur_.slots[h] : old_.slots[h - cur_.size()];
  }
  Entry*& entry_at(std::size_t h) {
    return h < cur_.size() ? cur_.slots[h].entry : old_.slots[h - cur_.size()].entry;
  }
  // A handle that holds an entry (not empty, not a moved-out leftover of the old array).
  bool is_live(std::size_t h) const;

  std::size_t find(std::uint64_t order, std::string_view key) const;
  // Inserts an entry whose key is absent; returns its handle.
  std::size_t insert(std::uint64_t order, Entry* entry);
  // Removes the entry at `h` from the table (freeing it is the caller's job).
  void erase(std::size_t h);
  // First entry whose order key is >= `order`; slot_count() when there is none.
  std::size_t lower_bound(std::uint64_t order) const;
  // The entry after `h` in order, or slot_count().
  std::size_t next(std::size_t h) const;
  // Moves up to `budget` entries of an ongoing resize; false once no resize is pending.
  bool rehash_step(std::size_t budget);
  // Drops every slot (entries are the caller's to free first).
  void clear();

 private:
  static constexpr std::size_t kMinCapacity = 16;

  struct FreeDeleter {
    void operator()(Slot* p) const { std::free(p); }
  };
  // Slots come from calloc: a large array is fresh zeroed pages from the kernel, faulted in
  // as the resize fills them instead of all at once (an all-zero Slot is an empty slot).
  struct Array {
    std::unique_ptr<Slot[], FreeDeleter> slots;  // `capacity` home slots plus a tail
    std::size_t count = 0;
    std::size_t capacity = 0;

    std::size_t size() const { return count; }
    std::size_t home(std::uint64_t order) const {
      __extension__ using u128 = unsigned __int128;
      return static_cast<std::size_t>((static_cast<u128>(order) * capacity) >> 64);
    }
    void reset(std::size_t cap);
    std::size_t find(std::uint64_t order, std::string_view key) const;
    std::size_t insert(std::uint64_t order, Entry* entry);
    void erase(std::size_t index);
    std::size_t lower_bound(std::uint64_t order) const;
    std::size_t next(std::size_t index) const;
    void extend_tail(std::size_t extra);
  };

  void start_resize(std::size_t capacity);
  bool in_old(std::uint64_t order) const { return rehashing() && order >= boundary_; }
  std::size_t first_old() const;  // handle of the first live entry of the old array

  Array cur_;
  Array old_;                   // non-empty only while resizing
  std::uint64_t boundary_ = 0;  // while resizing: order keys < boundary_ are in cur_
  std::size_t size_ = 0;
};

}  // namespace apiary::store::detail
