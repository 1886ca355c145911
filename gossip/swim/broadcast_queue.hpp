// BroadcastQueue: membership updates waiting to be piggybacked (memberlist's
// TransmitLimitedQueue).
//
// At most one update per member is queued: a newer update about a member replaces the older
// one (the owner only queues updates it has just accepted as newer). take() fills one
// message: updates sent the fewest times first, the newest first among those, as many as fit
// in the byte budget. Each update is sent `limit` times (retransmit_mult * ceil(log10(n+1)),
// computed by the caller from the current cluster size) and then dropped.
// The queue holds at most `capacity` updates: beyond that the one sent most often (the
// oldest among those) is dropped, except pinned ones (this node's own announcements). In a
// join storm every member is news to everyone at once; without a cap each instance would hold
// an update per member, and the dropped ones have already been spread.
//
// Layout, for the simulator's thousands of instances with full queues: the items sit in a
// slab (released when the queue drains), ordered by a set of 64-bit keys that carry the
// slab index, and found by member through an open-addressing index of slab indices. About
// 170 bytes per queued update, encoded bytes included (the node-based map and hash map it
// replaces took ~250). Cost: O(log q) per queued update and
// O(k log q) per message carrying k updates.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace apiary::gossip::detail {

class BroadcastQueue {
 public:
  // At most 65,535 updates (the slab index is 16 bits of the order key).
  explicit BroadcastQueue(std::size_t capacity)
      : capacity_(std::clamp<std::size_t>(capacity, 1, kMaxItems)) {}

  void push(std::string_view member, std::vector<std::uint8_t> update, bool pinned = false);

  // Appends the chosen updates to `out` back to back; returns how many.
  std::size_t take(std::size_t budget, std::uint32_t limit, std::vector<std::uint8_t>& out);

  bool contains(std::string_view member) const { return find(member) != kNone; }
  bool empty() const { return order_.empty(); }
  std::size_t size() const { return order_.size(); }

 private:
  static constexpr std::size_t kMaxItems = 0xffff;
  static constexpr std::uint32_t kNone = UINT32_MAX;
  // Order key, ascending = sent first: transmits (8 bits), then the newest first (the
  // complement of a 40-bit insertion counter), then the slab index (16 bits).
  using Key = std::uint64_t;
  static Key make_key(std::uint32_t transmits, std::uint64_t id, std::uint32_t slot) {
    constexpr std::uint64_t kIdMask = (std::uint64_t{1} << 40) - 1;
    return (std::uint64_t{transmits} << 56) | ((kIdMask - (id & kIdMask)) << 16) | slot;
  }
  static std::uint32_t slot_of(Key k) { return static_cast<std::uint32_t>(k & 0xffff); }
  static std::uint32_t transmits_of(Key k) { return static_cast<std::uint32_t>(k >> 56); }

  struct Item {
    std::string member;  // empty: free
    std::vector<std::uint8_t> bytes;
    Key key = 0;
    bool pinned = false;
  };

  std::uint32_t find(std::string_view member) const;
  void index_insert(std::uint32_t slot);
  void index_erase(std::uint32_t slot);
  void remove(std::uint32_t slot);  // from the order, the index and the slab
  void drop_one();

  std::set<Key> order_;
  std::vector<Item> items_;
  std::vector<std::uint32_t> free_;
  std::vector<std::uint32_t> index_;  // slab index per bucket, kNone when empty
  std::uint64_t next_id_ = 0;
  std::size_t capacity_;
};

}  // namespace apiary::gossip::detail
