// Collection (apiary/data/collection.hpp): what a list (kind list) adds -- index reads through
// the pages' prefix counts, and inserts under newly minted positions (list_position.hpp).
#include <bit>

#include "apiary/data/collection.hpp"
#include "collection_records.hpp"

namespace apiary::data {

using namespace records;

const Collection::PageCounts& Collection::page_counts() const {
  if (counts_.valid) return counts_;
  const std::size_t n = pages_.size();
  counts_.tree.assign(n + 1, 0);
  for (std::size_t i = 1; i <= n; ++i) {
    counts_.tree[i] += pages_[i - 1].count;
    const std::size_t up = i + (i & (~i + 1));
    if (up <= n) counts_.tree[up] += counts_.tree[i];
  }
  counts_.valid = true;
  return counts_;
}

void Collection::count_changed(std::size_t page, int delta) {
  if (!counts_.valid || delta == 0) return;
  auto& tree = counts_.tree;
  for (std::size_t i = page + 1; i < tree.size(); i += i & (~i + 1)) {
    tree[i] = static_cast<std::uint32_t>(static_cast<std::int64_t>(tree[i]) + delta);
  }
}

Collection::const_iterator Collection::at(std::size_t index) const {
  if (index >= size_) return end();
  const auto& tree = page_counts().tree;
  const std::size_t n = pages_.size();
  // The last page whose preceding pages hold at most `index` elements.
  std::size_t page = 0;
  std::size_t rest = index;
  for (std::size_t step = std::bit_floor(n); step > 0; step >>= 1) {
    if (page + step <= n && tree[page + step] <= rest) {
      page += step;
      rest -= tree[page];
    }
  }
  const_iterator it(this, page, 0);
  for (; rest > 0; --rest) ++it;
  return it;
}

std::size_t Collection::index_of(const const_iterator& it) const {
  if (it.page_ >= pages_.size()) return size_;
  const auto& tree = page_counts().tree;
  std::size_t index = 0;
  for (std::size_t i = it.page_; i > 0; i -= i & (~i + 1)) index += tree[i];
  for (const_iterator walk(this, it.page_, 0); walk != it; ++walk) ++index;
  return index;
}

std::string Collection::insert(std::optional<std::string_view> left,
                               std::optional<std::string_view> right, std::string_view value,
                               Dot dot, HlcTimestamp stamp, list_position::Bias bias) {
  if (dot != mint_dot_) {
    mint_dot_ = dot;
    mint_next_ = 0;
  }
  std::string name = list_position::mint(left, right, dot, mint_next_++, bias);
  set(name, value, dot, stamp);
  return name;
}

std::string Collection::push_front(std::string_view value, Dot dot, HlcTimestamp stamp) {
  std::optional<std::string_view> first;
  if (!empty()) first = (*begin()).name();
  return insert(std::nullopt, first, value, dot, stamp);
}

std::string Collection::push_back(std::string_view value, Dot dot, HlcTimestamp stamp) {
  std::optional<std::string_view> tail;
  if (!empty()) tail = (*last()).name();
  return insert(tail, std::nullopt, value, dot, stamp);
}

}  // namespace apiary::data
