// ScoreIndex: the order of a sorted set's members by (score, member bytes), with O(log n)
// rank, select and range counts -- what ZRANK, ZRANGE by rank, ZCOUNT and the lex ranges ask
// for without walking the set.
//
// A data::Collection of kind zset keeps one beside its pages (which are ordered by member
// hash, the order replication, scans and merges use) and updates it on every change to a
// member: the entry holds the member's *resolved* score (its versions merged by the counter
// rules, else by last writer), recomputed whenever the member's record changes, so the index
// is a pure function of the collection's state whatever order joins happened in.
//
// A zset of at most 128 members keeps no index (Collection::kIndexedFrom): its queries sort it
// on demand, O(n log n) for n <= 128, as Redis walks a listpack of that size, and its members
// cost no tree nodes. Equal scores order by member bytes, as Redis's skiplist does. Scores are never NaN. Built
// on libstdc++'s order-statistic red-black tree (__gnu_pbds), behind a pointer so that only
// score_index.cpp includes it. A plain value; not thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace apiary::data {

class ScoreIndex {
 public:
  struct Entry {
    double score = 0;
    std::string_view member;  // valid until the index changes
  };

  ScoreIndex();
  ScoreIndex(const ScoreIndex& other);
  ScoreIndex& operator=(const ScoreIndex& other);
  ScoreIndex(ScoreIndex&&) noexcept;
  ScoreIndex& operator=(ScoreIndex&&) noexcept;
  ~ScoreIndex();

  void insert(double score, std::string_view member);
  void erase(double score, std::string_view member);
  void clear();
  std::size_t size() const;

  // The 0-based rank of a member held with `score`.
  std::size_t rank(double score, std::string_view member) const;
  // The entry at a rank (< size()).
  Entry at(std::size_t rank) const;
  // `count` entries from rank `from` on, ascending (or from rank `from` downwards when
  // `reverse`), stopping at either end.
  std::vector<Entry> range(std::size_t from, std::size_t count, bool reverse) const;
  // How many entries have a score below `score` (or at most `score` when `inclusive`).
  std::size_t count_below(double score, bool inclusive) const;
  // How many entries come before member `m` in member order (or up to it when `inclusive`),
  // by a binary search over ranks that compares members only: meaningful when every score is
  // equal (the lex commands' contract, as in Redis). O(log^2 n).
  std::size_t count_member_below(std::string_view m, bool inclusive) const;

  // Heap bytes (glibc chunks): the tree's nodes and their members' strings.
  std::size_t memory() const;

  friend bool operator==(const ScoreIndex& a, const ScoreIndex& b);

 private:
  struct Tree;
  std::unique_ptr<Tree> tree_;
  std::size_t string_heap_ = 0;
};

// The (score, member) order of one zset as queries read it (Collection::scores()): its index,
// or -- for a zset small enough to keep none -- its members sorted once when the view is
// made. Entries point into the collection: valid until it changes.
class ScoreOrder {
 public:
  using Entry = ScoreIndex::Entry;
  explicit ScoreOrder(const ScoreIndex* index) : index_(index) {}
  explicit ScoreOrder(std::vector<Entry> sorted) : sorted_(std::move(sorted)) {}

  std::size_t size() const { return index_ ? index_->size() : sorted_.size(); }
  std::size_t rank(double score, std::string_view member) const;
  Entry at(std::size_t rank) const { return index_ ? index_->at(rank) : sorted_[rank]; }
  std::vector<Entry> range(std::size_t from, std::size_t count, bool reverse) const;
  std::size_t count_below(double score, bool inclusive) const;
  std::size_t count_member_below(std::string_view m, bool inclusive) const;

 private:
  const ScoreIndex* index_ = nullptr;
  std::vector<Entry> sorted_;
};

}  // namespace apiary::data
