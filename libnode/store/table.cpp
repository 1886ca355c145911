#include "table.hpp"

#include <algorithm>
#include <cstring>

namespace apiary::store::detail {

std::size_t Table::find(std::uint64_t order, std::string_view key) const {
  const std::size_t n = slots_.size();
  for (std::size_t i = home(order); i < n; ++i) {
    const Slot& s = slots_[i];
    if (s.entry == nullptr || s.order > order) return npos;
    if (s.order == order && s.entry->key() == key) return i;
  }
  return npos;
}

std::size_t Table::lower_bound(std::uint64_t order) const {
  const std::size_t n = slots_.size();
  for (std::size_t i = home(order); i < n; ++i) {
    const Slot& s = slots_[i];
    if (s.entry != nullptr && s.order >= order) return i;
    // An empty slot ends the cluster: everything after it has a home past `order`'s.
    if (s.entry == nullptr) return next(i);
  }
  return n;
}

std::size_t Table::next(std::size_t index) const {
  const std::size_t n = slots_.size();
  for (std::size_t i = index + 1; i < n; ++i) {
    if (slots_[i].entry != nullptr) return i;
  }
  return n;
}

std::size_t Table::insert(std::uint64_t order, Entry* entry) {
  if ((size_ + 1) * 10 > capacity_ * 9) rebuild(capacity_ + capacity_ / 2);
  std::size_t pos = home(order);
  while (pos < slots_.size() && slots_[pos].entry != nullptr && slots_[pos].order <= order) ++pos;
  std::size_t hole = pos;
  while (hole < slots_.size() && slots_[hole].entry != nullptr) ++hole;
  if (hole == slots_.size()) extend_tail(32 + capacity_ / 64);
  if (hole > pos) {
    std::memmove(&slots_[pos + 1], &slots_[pos], (hole - pos) * sizeof(Slot));
  }
  slots_[pos] = Slot{order, entry};
  ++size_;
  return pos;
}

void Table::erase(std::size_t index) {
  // Backward-shift deletion: pull the rest of the cluster one slot closer to home.
  std::size_t end = index + 1;
  while (end < slots_.size() && slots_[end].entry != nullptr && home(slots_[end].order) < end) {
    ++end;
  }
  if (end > index + 1) {
    std::memmove(&slots_[index], &slots_[index + 1], (end - index - 1) * sizeof(Slot));
  }
  slots_[end - 1] = Slot{};
  --size_;
  if (capacity_ > 1024 && size_ * 10 < capacity_) rebuild(capacity_ / 2);
}

void Table::rebuild(std::size_t capacity) {
  std::vector<Slot> old;
  old.swap(slots_);
  capacity_ = std::max(capacity, kMinCapacity);
  const std::size_t tail = 32 + capacity_ / 64;
  slots_.reserve(capacity_ + tail);
  slots_.resize(capacity_ + tail);
  std::size_t pos = 0;
  for (const Slot& s : old) {
    if (s.entry == nullptr) continue;
    pos = std::max(pos, home(s.order));
    if (pos >= slots_.size()) extend_tail(tail);
    slots_[pos++] = s;
  }
}

void Table::extend_tail(std::size_t extra) {
  std::vector<Slot> bigger;
  bigger.reserve(slots_.size() + extra);
  bigger.assign(slots_.begin(), slots_.end());
  bigger.resize(slots_.size() + extra);
  slots_.swap(bigger);
}

}  // namespace apiary::store::detail
