#include "broadcast_queue.hpp"

#include <algorithm>
#include <utility>

namespace apiary::gossip::detail {

namespace {
// The smallest encoded update is ~8 bytes; below this budget nothing more fits.
constexpr std::size_t kSmallestUpdate = 8;
// Stop scanning after this many updates too big for the space left.
constexpr std::size_t kMaxSkips = 16;
}  // namespace

void BroadcastQueue::push(std::string_view member, std::vector<std::uint8_t> update, bool pinned) {
  auto found = by_member_.find(member);
  if (found != by_member_.end()) {
    Item* old = found->second;
    by_member_.erase(found);
    queue_.erase(old->key);
  }
  const Key key{0, next_id_++};
  auto [it, inserted] =
      queue_.emplace(key, Item{std::string(member), std::move(update), key, pinned});
  by_member_.emplace(it->second.member, &it->second);
  if (queue_.size() > capacity_) drop_one();
}

void BroadcastQueue::drop_one() {
  // The end of the order: sent most often, oldest among those.
  for (auto it = queue_.end(); it != queue_.begin();) {
    --it;
    if (it->second.pinned) continue;
    by_member_.erase(it->second.member);
    queue_.erase(it);
    return;
  }
}

std::size_t BroadcastQueue::take(std::size_t budget, std::uint32_t limit,
                                 std::vector<std::uint8_t>& out) {
  limit = std::max<std::uint32_t>(limit, 1);
  std::vector<Key> picked;
  std::size_t used = 0;
  std::size_t skipped = 0;
  for (auto it = queue_.begin(); it != queue_.end() && budget - used >= kSmallestUpdate; ++it) {
    const auto& bytes = it->second.bytes;
    if (used + bytes.size() <= budget) {
      out.insert(out.end(), bytes.begin(), bytes.end());
      used += bytes.size();
      picked.push_back(it->first);
    } else if (++skipped >= kMaxSkips) {
      break;
    }
  }
  for (const Key& key : picked) {
    auto node = queue_.extract(key);
    Item& item = node.mapped();
    ++item.key.transmits;
    if (item.key.transmits >= limit) {
      by_member_.erase(item.member);
    } else {
      node.key() = item.key;
      queue_.insert(std::move(node));
    }
  }
  return picked.size();
}

}  // namespace apiary::gossip::detail
