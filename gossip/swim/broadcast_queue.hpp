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
// an update per member (~300 bytes each), and the dropped ones have already been spread.
// Cost: O(log q) per queued update and O(k log q) per message carrying k updates.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace apiary::gossip::detail {

class BroadcastQueue {
 public:
  explicit BroadcastQueue(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

  void push(std::string_view member, std::vector<std::uint8_t> update, bool pinned = false);

  // Appends the chosen updates to `out` back to back; returns how many.
  std::size_t take(std::size_t budget, std::uint32_t limit, std::vector<std::uint8_t>& out);

  bool contains(std::string_view member) const { return by_member_.contains(member); }
  bool empty() const { return queue_.empty(); }

 private:
  struct Key {
    std::uint32_t transmits = 0;
    std::uint64_t id = 0;  // insertion order; higher is newer
    friend bool operator<(const Key& a, const Key& b) {
      return a.transmits != b.transmits ? a.transmits < b.transmits : a.id > b.id;
    }
  };
  struct Item {
    std::string member;
    std::vector<std::uint8_t> bytes;
    Key key;  // its key in queue_
    bool pinned = false;
  };
  void drop_one();

  // Items live in queue_'s nodes, which keep their address when re-keyed (extract/insert),
  // so by_member_ can point at them and key its entries by views of their names. It is only
  // looked up, never iterated, so its order cannot reach the output.
  std::map<Key, Item> queue_;
  std::unordered_map<std::string_view, Item*> by_member_;
  std::uint64_t next_id_ = 0;
  std::size_t capacity_;
};

}  // namespace apiary::gossip::detail
