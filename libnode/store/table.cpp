#include "table.hpp"

#include <algorithm>
#include <cstring>
#include <new>

namespace apiary::store::detail {

// ---- one sorted array ----------------------------------------------------------------------

namespace {
Table::Slot* zeroed_slots(std::size_t n) {
  void* p = std::calloc(n, sizeof(Table::Slot));
  if (p == nullptr) throw std::bad_alloc();
  return static_cast<Table::Slot*>(p);
}
}  // namespace

void Table::Array::reset(std::size_t cap) {
  capacity = std::max(cap, kMinCapacity);
  count = capacity + 32 + capacity / 64;
  slots.reset(zeroed_slots(count));
}

std::size_t Table::Array::find(std::uint64_t order, std::string_view key) const {
  const std::size_t n = count;
  for (std::size_t i = home(order); i < n; ++i) {
    const Slot& s = slots[i];
    if (s.entry == nullptr || s.order > order) return npos;
    if (s.order == order && s.entry->key() == key) return i;
  }
  return npos;
}

std::size_t Table::Array::lower_bound(std::uint64_t order) const {
  const std::size_t n = count;
  for (std::size_t i = home(order); i < n; ++i) {
    const Slot& s = slots[i];
    // An empty slot ends the cluster: everything after it has a home past `order`'s.
    if (s.entry == nullptr) return next(i);
    if (s.order >= order) return i;
  }
  return n;
}

std::size_t Table::Array::next(std::size_t index) const {
  const std::size_t n = count;
  for (std::size_t i = index + 1; i < n; ++i) {
    if (slots[i].entry != nullptr) return i;
  }
  return n;
}

std::size_t Table::Array::insert(std::uint64_t order, Entry* entry) {
  std::size_t pos = home(order);
  while (pos < count && slots[pos].entry != nullptr && slots[pos].order <= order) ++pos;
  std::size_t hole = pos;
  while (hole < count && slots[hole].entry != nullptr) ++hole;
  if (hole == count) extend_tail(32 + capacity / 64);
  if (hole > pos) std::memmove(&slots[pos + 1], &slots[pos], (hole - pos) * sizeof(Slot));
  slots[pos] = Slot{order, entry};
  return pos;
}

void Table::Array::erase(std::size_t index) {
  // Backward-shift deletion: pull the rest of the cluster one slot closer to home.
  std::size_t end = index + 1;
  while (end < count && slots[end].entry != nullptr && home(slots[end].order) < end) {
    ++end;
  }
  if (end > index + 1) {
    std::memmove(&slots[index], &slots[index + 1], (end - index - 1) * sizeof(Slot));
  }
  slots[end - 1] = Slot{};
}

void Table::Array::extend_tail(std::size_t extra) {
  Slot* bigger = zeroed_slots(count + extra);
  std::memcpy(bigger, slots.get(), count * sizeof(Slot));
  slots.reset(bigger);
  count += extra;
}

// ---- the table: one array, or two while resizing ------------------------------------------

bool Table::is_live(std::size_t h) const {
  if (h >= slot_count()) return false;
  const Slot& s = slot(h);
  if (s.entry == nullptr) return false;
  // Entries below the boundary left in the old array have moved to the new one.
  return h < cur_.size() || s.order >= boundary_;
}

std::size_t Table::first_old() const {
  const std::size_t i = old_.lower_bound(boundary_);
  return i < old_.size() ? cur_.size() + i : slot_count();
}

std::size_t Table::find(std::uint64_t order, std::string_view key) const {
  if (in_old(order)) {
    const std::size_t i = old_.find(order, key);
    return i == npos ? npos : cur_.size() + i;
  }
  return cur_.find(order, key);
}

std::size_t Table::insert(std::uint64_t order, Entry* entry) {
  if ((size_ + 1) * 10 > cur_.capacity * 9) {
    // Still moving entries of the previous resize: finish it before starting another.
    if (rehashing()) rehash_step(npos);
    if ((size_ + 1) * 10 > cur_.capacity * 9) start_resize(cur_.capacity + cur_.capacity / 2);
  }
  if (rehashing()) rehash_step(kStepEntries);
  ++size_;
  if (in_old(order)) {
    const std::size_t i = old_.insert(order, entry);
    return cur_.size() + i;
  }
  return cur_.insert(order, entry);
}

void Table::erase(std::size_t h) {
  if (h < cur_.size()) {
    cur_.erase(h);
  } else {
    old_.erase(h - cur_.size());
  }
  --size_;
  if (rehashing()) {
    rehash_step(kStepEntries);
  } else if (cur_.capacity > 1024 && size_ * 10 < cur_.capacity) {
    start_resize(cur_.capacity / 2);
  }
}

std::size_t Table::lower_bound(std::uint64_t order) const {
  if (in_old(order)) {
    const std::size_t i = old_.lower_bound(order);
    return i < old_.size() ? cur_.size() + i : slot_count();
  }
  const std::size_t i = cur_.lower_bound(order);
  if (i < cur_.size()) return i;
  return rehashing() ? first_old() : slot_count();
}

std::size_t Table::next(std::size_t h) const {
  if (h < cur_.size()) {
    const std::size_t i = cur_.next(h);
    if (i < cur_.size()) return i;
    return rehashing() ? first_old() : slot_count();
  }
  const std::size_t i = old_.next(h - cur_.size());
  if (i >= old_.size()) return slot_count();
  // Leftovers below the boundary sort before every live entry of the old array.
  if (old_.slots[i].order < boundary_) return first_old();
  return cur_.size() + i;
}

void Table::start_resize(std::size_t capacity) {
  old_ = std::move(cur_);
  cur_ = Array{};
  cur_.reset(capacity);
  boundary_ = 0;
  if (size_ == 0) old_ = Array{};
}

bool Table::rehash_step(std::size_t budget) {
  if (!rehashing()) return false;
  std::size_t i = old_.lower_bound(boundary_);
  std::size_t moved = 0;
  while (i < old_.size()) {
    const Slot s = old_.slots[i];
    // Entries with equal order keys move together so that the boundary separates them.
    if (moved >= budget && s.order != boundary_) break;
    cur_.insert(s.order, s.entry);
    boundary_ = s.order;
    ++moved;
    i = old_.next(i);
  }
  if (i >= old_.size()) {
    old_ = Array{};
    boundary_ = 0;
    return false;
  }
  boundary_ = old_.slots[i].order;
  return true;
}

void Table::clear() {
  size_ = 0;
  old_ = Array{};
  boundary_ = 0;
  cur_.reset(kMinCapacity);
}

}  // namespace apiary::store::detail
