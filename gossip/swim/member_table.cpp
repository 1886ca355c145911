#include "member_table.hpp"

#include <functional>
#include <utility>

namespace apiary::gossip::detail {

Member MemberRecord::to_member() const {
  Member m;
  m.name = name;
  m.addr = addr;
  m.state = member_state();
  m.incarnation = inc();
  if (meta) m.meta = *meta;
  m.state_changed = changed;
  return m;
}

std::size_t MemberTable::bucket_of(std::string_view name) const {
  return std::hash<std::string_view>{}(name) & (index_.size() - 1);
}

Slot MemberTable::find(std::string_view name) const {
  if (index_.empty()) return kNoSlot;
  for (std::size_t b = bucket_of(name);; b = (b + 1) & (index_.size() - 1)) {
    const Slot s = index_[b];
    if (s == kEmpty) return kNoSlot;
    if (at(s).name == name) return s;
  }
}

void MemberTable::grow_index() {
  std::vector<Slot> old = std::move(index_);
  index_.assign(old.empty() ? 16 : old.size() * 2, kEmpty);
  for (Slot s : old) {
    if (s != kEmpty) index_insert(s);
  }
}

void MemberTable::index_insert(Slot slot) {
  std::size_t b = bucket_of(at(slot).name);
  while (index_[b] != kEmpty) b = (b + 1) & (index_.size() - 1);
  index_[b] = slot;
}

void MemberTable::index_erase(std::string_view name) {
  const std::size_t mask = index_.size() - 1;
  std::size_t hole = bucket_of(name);
  while (at(index_[hole]).name != name) hole = (hole + 1) & mask;
  // Backward-shift deletion: pull later entries of the run into the hole when their home
  // bucket does not lie (cyclically) between the hole and their current position.
  for (std::size_t next = (hole + 1) & mask; index_[next] != kEmpty; next = (next + 1) & mask) {
    const std::size_t home = bucket_of(at(index_[next]).name);
    const bool movable =
        hole <= next ? (home <= hole || home > next) : (home <= hole && home > next);
    if (movable) {
      index_[hole] = index_[next];
      hole = next;
    }
  }
  index_[hole] = kEmpty;
}

Slot MemberTable::insert(MemberRecord record) {
  if ((live_ + 1) * 4 > index_.size() * 3) grow_index();
  Slot slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    if (end_ % kChunk == 0) chunks_.push_back(std::make_unique<MemberRecord[]>(kChunk));
    slot = end_++;
  }
  at(slot) = std::move(record);
  index_insert(slot);
  ++live_;
  return slot;
}

void MemberTable::erase(Slot slot) {
  index_erase(at(slot).name);
  at(slot) = MemberRecord{};
  released_.push_back(slot);
  --live_;
}

void MemberTable::recycle_released() {
  free_.insert(free_.end(), released_.begin(), released_.end());
  released_.clear();
}

std::size_t MemberTable::memory_bytes() const {
  return chunks_.size() * kChunk * sizeof(MemberRecord) + chunks_.capacity() * sizeof(void*) +
         (index_.capacity() + free_.capacity() + released_.capacity()) * sizeof(Slot);
}

}  // namespace apiary::gossip::detail
