#include "entry.hpp"

#include <cstdlib>
#include <new>
#include <utility>

#include "apiary/data/collection.hpp"

namespace apiary::store::detail {

std::size_t entry_block_size(std::uint8_t flags, std::size_t key_len, std::size_t value_len,
                             std::size_t clock_n) {
  std::size_t n = sizeof(Entry) + ((flags & kHasExpiry) != 0 ? 16 : 0);
  n += (flags & kComplex) != 0 ? 8 : sizeof(InlineClock) * clock_n + value_len;
  return n + key_len;
}

Entry* allocate_entry(std::uint8_t flags, std::string_view key, std::size_t value_len,
                      std::size_t clock_n) {
  const bool complex = (flags & kComplex) != 0;
  const std::size_t size = entry_block_size(flags, key.size(), value_len, complex ? 0 : clock_n);
  void* mem = std::malloc(size);
  if (mem == nullptr) throw std::bad_alloc();
  Entry* e = new (mem) Entry{};
  e->key_len = static_cast<std::uint32_t>(key.size());
  e->value_len = (flags & kComplex) != 0 ? 0 : static_cast<std::uint32_t>(value_len);
  e->lfu = kLfuInitial;
  e->flags = flags;
  e->clock_n = complex ? 0 : static_cast<std::uint8_t>(clock_n);
  if (e->has_expiry_block()) *e->expiry() = ExpiryBlock{0, kNotVolatile, 0};
  if (!key.empty()) std::memcpy(e->base() + e->key_offset(), key.data(), key.size());
  return e;
}

void free_entry(Entry* e) {
  if (e == nullptr) return;
  if (e->complex()) delete e->dvv();
  std::free(e);
}

std::size_t chunk_size(std::size_t request) {
  const std::size_t n = (request + 8 + 15) & ~static_cast<std::size_t>(15);
  return n < 32 ? 32 : n;
}

namespace {
template <typename T>
std::size_t vector_bytes(const std::vector<T>& v) {
  return v.capacity() == 0 ? 0 : chunk_size(v.capacity() * sizeof(T));
}
}  // namespace

std::size_t entry_memory(const Entry* e) {
  std::size_t n = chunk_size(entry_block_size(e->flags, e->key_len, e->value_len, e->clock_n));
  if (e->complex()) {
    const data::DvvSet* v = e->dvv();
    n += chunk_size(sizeof(data::DvvSet)) + vector_bytes(v->clock()) + vector_bytes(v->siblings());
    for (const auto& s : v->siblings()) {
      // libstdc++ keeps strings of up to 15 bytes inside the object.
      if (s.value.capacity() > 15) n += chunk_size(s.value.capacity() + 1);
      if (s.collection != nullptr) {
        n += chunk_size(sizeof(data::Collection) + 16) + s.collection->memory();
      }
    }
  }
  return n;
}

namespace {
bool live(const data::Sibling& s) { return s.collection == nullptr || !s.collection->empty(); }
}  // namespace

bool is_dead(const data::DvvSet& v) {
  for (const auto& s : v.siblings()) {
    if (live(s)) return false;
  }
  return true;
}

const data::Sibling* live_winner(const data::DvvSet& v) {
  const data::Sibling* best = nullptr;
  for (const auto& s : v.siblings()) {
    if (live(s) && (best == nullptr || data::lww_less(*best, s))) best = &s;
  }
  return best;
}

data::DvvSet load_version(const Entry* e) {
  if (e->complex()) return *e->dvv();
  std::vector<data::ClockEntry> clock;
  clock.reserve(e->clock_n);
  for (std::size_t i = 0; i < e->clock_n; ++i) {
    const InlineClock& c = e->clock()[i];
    clock.push_back({NodeId{c.actor}, c.counter, HlcTimestamp{c.stamp}});
  }
  const InlineClock* s = e->sibling_clock();
  std::vector<data::Sibling> siblings;
  siblings.push_back(data::Sibling{
      {NodeId{s->actor}, s->counter}, HlcTimestamp{s->stamp}, std::string(e->inline_value()),
      e->inline_counter() ? data::ValueKind::counter : data::ValueKind::string});
  return std::move(data::DvvSet::from_parts(std::move(clock), std::move(siblings))).value();
}

int inline_sibling_index(const data::DvvSet& v) {
  if (v.siblings().size() != 1 || v.clock().empty() || v.clock().size() > kMaxInlineActors ||
      data::is_collection(v.siblings()[0].kind)) {
    return -1;
  }
  const auto& s = v.siblings()[0];
  for (std::size_t i = 0; i < v.clock().size(); ++i) {
    const auto& c = v.clock()[i];
    if (c.actor == s.dot.actor) {
      return c.counter == s.dot.counter && c.stamp == s.stamp ? static_cast<int>(i) : -1;
    }
  }
  return -1;
}

}  // namespace apiary::store::detail
