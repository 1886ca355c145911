#include "member_table.hpp"

#include <functional>
#include <utility>

namespace apiary::gossip::detail {

Member MemberRecord::to_member() const {
  Member m;
  m.name = name();
  m.addr = addr();
  m.state = member_state();
  m.incarnation = inc();
  if (meta) m.meta = *meta;
  m.state_changed = changed;
  return m;
}

// The same hash the interned names carry, so the index can rehash without reading them.
std::size_t MemberTable::hash_of(std::string_view name) {
  return InternTraits<std::string>::hash(name);
}

Slot MemberTable::find(std::string_view name) const {
  if (index_.empty()) return kNoSlot;
  const std::size_t hash = hash_of(name);
  const std::size_t mask = index_.size() - 1;
  const Entry fingerprint = entry(0, hash);
  for (std::size_t b = hash & mask;; b = (b + 1) & mask) {
    const Entry e = index_[b];
    if (e == kEmpty) return kNoSlot;
    if ((e & 0xff) == fingerprint && at(e >> 8).name() == name) return e >> 8;
  }
}

void MemberTable::grow_index() {
  std::vector<Entry> old = std::move(index_);
  index_.assign(old.empty() ? 16 : old.size() * 2, kEmpty);
  for (Entry e : old) {
    if (e != kEmpty) index_insert(e >> 8, at(e >> 8).name_handle.hash());
  }
}

void MemberTable::index_insert(Slot slot, std::size_t hash) {
  const std::size_t mask = index_.size() - 1;
  std::size_t b = hash & mask;
  while (index_[b] != kEmpty) b = (b + 1) & mask;
  index_[b] = entry(slot, hash);
}

void MemberTable::index_erase(std::string_view name) {
  const std::size_t mask = index_.size() - 1;
  std::size_t hole = hash_of(name) & mask;
  while (at(index_[hole] >> 8).name() != name) hole = (hole + 1) & mask;
  // Backward-shift deletion: pull later entries of the run into the hole when their home
  // bucket does not lie (cyclically) between the hole and their current position.
  for (std::size_t next = (hole + 1) & mask; index_[next] != kEmpty; next = (next + 1) & mask) {
    const std::size_t home = at(index_[next] >> 8).name_handle.hash() & mask;
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
  if (free_.empty() && end_ >= kMaxSlots) return kNoSlot;
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
  index_insert(slot, at(slot).name_handle.hash());
  ++live_;
  return slot;
}

void MemberTable::erase(Slot slot) {
  index_erase(at(slot).name());
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
         index_.capacity() * sizeof(Entry) +
         (free_.capacity() + released_.capacity()) * sizeof(Slot);
}

}  // namespace apiary::gossip::detail
