#include "apiary/data/score_index.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <ext/pb_ds/assoc_container.hpp>
#include <ext/pb_ds/tree_policy.hpp>

namespace apiary::data {

namespace {

struct Key {
  double score = 0;
  std::string member;
};

struct Less {
  bool operator()(const Key& a, const Key& b) const {
    if (a.score != b.score) return a.score < b.score;
    return a.member < b.member;
  }
};

using Tree = __gnu_pbds::tree<Key, __gnu_pbds::null_type, Less, __gnu_pbds::rb_tree_tag,
                              __gnu_pbds::tree_order_statistics_node_update>;

// Heap bytes of a malloc'd request with glibc's 16-byte chunks (collection.cpp's estimate).
std::size_t chunk(std::size_t request) {
  const std::size_t n = (request + 8 + 15) & ~static_cast<std::size_t>(15);
  return n < 32 ? 32 : n;
}
std::size_t string_heap(const std::string& s) {
  return s.capacity() > 15 ? chunk(s.capacity() + 1) : 0;
}
// A node: the key, three links, the colour and the subtree size.
constexpr std::size_t kNodeBytes = sizeof(Key) + 3 * sizeof(void*) + 2 * sizeof(std::size_t);

}  // namespace

struct ScoreIndex::Tree {
  apiary::data::Tree tree;
};

ScoreIndex::ScoreIndex() : tree_(std::make_unique<Tree>()) {}
ScoreIndex::ScoreIndex(const ScoreIndex& other)
    : tree_(std::make_unique<Tree>(*other.tree_)), string_heap_(other.string_heap_) {}
ScoreIndex& ScoreIndex::operator=(const ScoreIndex& other) {
  if (this != &other) *this = ScoreIndex(other);
  return *this;
}
ScoreIndex::ScoreIndex(ScoreIndex&&) noexcept = default;
ScoreIndex& ScoreIndex::operator=(ScoreIndex&&) noexcept = default;
ScoreIndex::~ScoreIndex() = default;

void ScoreIndex::insert(double score, std::string_view member) {
  Key k{score, std::string(member)};
  const std::size_t heap = string_heap(k.member);
  if (tree_->tree.insert(std::move(k)).second) string_heap_ += heap;
}

void ScoreIndex::erase(double score, std::string_view member) {
  auto it = tree_->tree.find(Key{score, std::string(member)});
  if (it == tree_->tree.end()) return;
  string_heap_ -= std::min(string_heap_, string_heap(it->member));
  tree_->tree.erase(it);
}

void ScoreIndex::clear() {
  tree_->tree.clear();
  string_heap_ = 0;
}

std::size_t ScoreIndex::size() const { return tree_->tree.size(); }

std::size_t ScoreIndex::rank(double score, std::string_view member) const {
  return tree_->tree.order_of_key(Key{score, std::string(member)});
}

ScoreIndex::Entry ScoreIndex::at(std::size_t rank) const {
  const auto it = tree_->tree.find_by_order(rank);
  return Entry{it->score, it->member};
}

std::vector<ScoreIndex::Entry> ScoreIndex::range(std::size_t from, std::size_t count,
                                                 bool reverse) const {
  std::vector<Entry> out;
  const std::size_t n = size();
  if (from >= n || count == 0) return out;
  out.reserve(std::min(count, reverse ? from + 1 : n - from));
  auto it = tree_->tree.find_by_order(from);
  while (out.size() < count) {
    out.push_back(Entry{it->score, it->member});
    if (reverse) {
      if (it == tree_->tree.begin()) break;
      --it;
    } else {
      if (++it == tree_->tree.end()) break;
    }
  }
  return out;
}

std::size_t ScoreIndex::count_below(double score, bool inclusive) const {
  // (score, "") is at or before every member holding `score`: the entries before it are those
  // scoring less. "At most score" is "less than the next double".
  if (inclusive) {
    if (score == std::numeric_limits<double>::infinity()) return size();
    score = std::nextafter(score, std::numeric_limits<double>::infinity());
  }
  return tree_->tree.order_of_key(Key{score, std::string()});
}

std::size_t ScoreIndex::count_member_below(std::string_view m, bool inclusive) const {
  std::size_t lo = 0, hi = size();
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    const std::string_view s = tree_->tree.find_by_order(mid)->member;
    if (inclusive ? s <= m : s < m) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

std::size_t ScoreIndex::memory() const {
  return size() * chunk(kNodeBytes) + string_heap_;
}

bool operator==(const ScoreIndex& a, const ScoreIndex& b) {
  if (a.size() != b.size()) return false;
  auto x = a.tree_->tree.begin();
  for (auto y = b.tree_->tree.begin(); y != b.tree_->tree.end(); ++x, ++y) {
    if (x->member != y->member || !(x->score == y->score)) return false;
  }
  return true;
}

// ---- ScoreOrder over sorted entries -------------------------------------------------------

std::size_t ScoreOrder::rank(double score, std::string_view member) const {
  if (index_) return index_->rank(score, member);
  const auto it = std::partition_point(sorted_.begin(), sorted_.end(), [&](const Entry& e) {
    return e.score != score ? e.score < score : e.member < member;
  });
  return static_cast<std::size_t>(it - sorted_.begin());
}

std::vector<ScoreOrder::Entry> ScoreOrder::range(std::size_t from, std::size_t count,
                                                 bool reverse) const {
  if (index_) return index_->range(from, count, reverse);
  std::vector<Entry> out;
  for (std::size_t i = from; i < sorted_.size() && out.size() < count; reverse ? --i : ++i) {
    out.push_back(sorted_[i]);
    if (reverse && i == 0) break;
  }
  return out;
}

std::size_t ScoreOrder::count_below(double score, bool inclusive) const {
  if (index_) return index_->count_below(score, inclusive);
  const auto it = std::partition_point(sorted_.begin(), sorted_.end(), [&](const Entry& e) {
    return inclusive ? e.score <= score : e.score < score;
  });
  return static_cast<std::size_t>(it - sorted_.begin());
}

std::size_t ScoreOrder::count_member_below(std::string_view m, bool inclusive) const {
  if (index_) return index_->count_member_below(m, inclusive);
  const auto it = std::partition_point(sorted_.begin(), sorted_.end(), [&](const Entry& e) {
    return inclusive ? e.member <= m : e.member < m;
  });
  return static_cast<std::size_t>(it - sorted_.begin());
}

}  // namespace apiary::data
