#include "broadcast_queue.hpp"

#include <functional>
#include <utility>

namespace apiary::gossip::detail {

namespace {
// The smallest encoded update is ~8 bytes; below this budget nothing more fits.
constexpr std::size_t kSmallestUpdate = 8;
// Stop scanning after this many updates too big for the space left.
constexpr std::size_t kMaxSkips = 16;

std::size_t hash_of(std::string_view member) { return std::hash<std::string_view>{}(member); }
}  // namespace

std::uint32_t BroadcastQueue::find(std::string_view member) const {
  if (index_.empty()) return kNone;
  const std::size_t mask = index_.size() - 1;
  for (std::size_t b = hash_of(member) & mask;; b = (b + 1) & mask) {
    const std::uint32_t slot = index_[b];
    if (slot == kNone) return kNone;
    if (items_[slot].member == member) return slot;
  }
}

void BroadcastQueue::index_insert(std::uint32_t slot) {
  // Kept at most half full; rebuilt at twice the size when it would pass that.
  if ((order_.size() + 1) * 2 > index_.size()) {
    std::vector<std::uint32_t> old = std::move(index_);
    index_.assign(std::max<std::size_t>(16, old.size() * 2), kNone);
    for (std::uint32_t s : old) {
      if (s != kNone) index_insert(s);
    }
  }
  const std::size_t mask = index_.size() - 1;
  std::size_t b = hash_of(items_[slot].member) & mask;
  while (index_[b] != kNone) b = (b + 1) & mask;
  index_[b] = slot;
}

void BroadcastQueue::index_erase(std::uint32_t slot) {
  const std::size_t mask = index_.size() - 1;
  std::size_t hole = hash_of(items_[slot].member) & mask;
  while (index_[hole] != slot) hole = (hole + 1) & mask;
  // Backward-shift deletion (as in MemberTable): no tombstones.
  for (std::size_t next = (hole + 1) & mask; index_[next] != kNone; next = (next + 1) & mask) {
    const std::size_t home = hash_of(items_[index_[next]].member) & mask;
    const bool movable =
        hole <= next ? (home <= hole || home > next) : (home <= hole && home > next);
    if (movable) {
      index_[hole] = index_[next];
      hole = next;
    }
  }
  index_[hole] = kNone;
}

void BroadcastQueue::remove(std::uint32_t slot) {
  Item& item = items_[slot];
  order_.erase(item.key);
  index_erase(slot);
  item = Item{};
  free_.push_back(slot);
  // A drained queue lets go of its slab and index: after a join storm thousands of instances
  // would otherwise each keep room for `capacity` updates.
  if (order_.empty() && items_.size() > 64) {
    std::vector<Item>().swap(items_);
    std::vector<std::uint32_t>().swap(free_);
    std::vector<std::uint32_t>().swap(index_);
  }
}

void BroadcastQueue::push(std::string_view member, std::vector<std::uint8_t> update, bool pinned) {
  if (const std::uint32_t old = find(member); old != kNone) remove(old);
  std::uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(items_.size());
    items_.emplace_back();
  }
  Item& item = items_[slot];
  item.member.assign(member);
  item.bytes = std::move(update);
  item.pinned = pinned;
  item.key = make_key(0, next_id_++, slot);
  index_insert(slot);
  order_.insert(item.key);
  if (order_.size() > capacity_) drop_one();
}

void BroadcastQueue::drop_one() {
  // The end of the order: sent most often, oldest among those.
  for (auto it = order_.end(); it != order_.begin();) {
    --it;
    const std::uint32_t slot = slot_of(*it);
    if (items_[slot].pinned) continue;
    remove(slot);
    return;
  }
}

std::size_t BroadcastQueue::take(std::size_t budget, std::uint32_t limit,
                                 std::vector<std::uint8_t>& out) {
  limit = std::clamp<std::uint32_t>(limit, 1, 0xff);  // the key holds 8 bits of transmits
  std::vector<Key> picked;
  std::size_t used = 0;
  std::size_t skipped = 0;
  for (auto it = order_.begin(); it != order_.end() && budget - used >= kSmallestUpdate; ++it) {
    const auto& bytes = items_[slot_of(*it)].bytes;
    if (used + bytes.size() <= budget) {
      out.insert(out.end(), bytes.begin(), bytes.end());
      used += bytes.size();
      picked.push_back(*it);
    } else if (++skipped >= kMaxSkips) {
      break;
    }
  }
  for (const Key key : picked) {
    const std::uint32_t slot = slot_of(key);
    const std::uint32_t transmits = transmits_of(key) + 1;
    if (transmits >= limit) {
      remove(slot);
      continue;
    }
    // Same insertion order, one more transmit.
    auto node = order_.extract(key);
    const Key next = (key & ~(Key{0xff} << 56)) | (Key{transmits} << 56);
    node.value() = next;
    order_.insert(std::move(node));
    items_[slot].key = next;
  }
  return picked.size();
}

}  // namespace apiary::gossip::detail
