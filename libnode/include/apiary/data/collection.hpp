// Collection: the value of a hash, a set or a sorted set key, as a state-based CRDT (an
// observed-remove map or set, as Riak's maps and ORSWOTs and Redis Active-Active's hashes,
// sets and sorted sets).
//
// A collection is a set of elements (hash fields or set members) plus a causal context: the
// key-level dots (apiary/data/dvv.hpp) whose effects it has seen. Each element carries the
// versions that wrote it -- normally one: the dot and HLC stamp of the write that set it and,
// for a hash field, the value (a plain string, or a counter that HINCRBY wrote,
// apiary/data/counter.hpp). What it promises:
//  - Writes at a coordinator (set, add, incr) replace every version of the element the
//    coordinator had seen with one new version tagged with the write's dot; remove drops the
//    versions it has seen. The caller adds the write's dot to the context (observe()).
//  - join() merges two states of one key: a version survives when both sides hold it, or when
//    the other side has not seen its dot (its context does not cover it). So an element added
//    or written concurrently with its removal survives (add wins), a removal removes only the
//    versions it observed, and concurrent writes of one field both survive as versions that
//    a reader resolves like the siblings of a string key: by the counter rules when counters
//    are involved (increments add up), else by last writer (largest stamp, then writer).
//    Idempotent, commutative and associative. Removed elements leave nothing behind: the
//    context alone remembers that their dots were seen, so there are no per-element
//    tombstones to collect.
//  - Elements are ordered by a 64-bit hash of their name (xxh3), then the name: a scan cursor
//    is that hash, and a scan visits every element present for its whole length (HSCAN,
//    SSCAN). random_element() picks by a random hash (O(log n)).
//  - Compact: the elements are packed records in pages of about 2 KiB (collection_records.hpp has the
//    layout), so a small collection is one heap block, as Redis keeps one in a listpack, and a
//    big one costs little more than its bytes. A lookup is a binary search over the pages and
//    a walk of one; a write rewrites one page.
//  - A list (kind list) is a map from position to element value: element names are positions
//    (apiary/data/list_position.hpp) minted once by the write that inserts the element, and
//    its elements are ordered by name bytes instead of by hash, so the pages hold the list in
//    order; index reads (at, index_of) count pages through prefix sums, O(log pages + page).
//    Values resolve like hash fields' (LSET: last writer).
//  - A sorted set (kind zset) is a map from member to score: a ZADD writes the score as a
//    plain version (its text, score_text()), a ZINCRBY as a counter version, so concurrent
//    increments add up and a ZADD concurrent with them is a reset, as for hash fields. It keeps
//    a ScoreIndex of (resolved score, member) beside the pages once it has more than 128
//    members, updated on every change, for O(log n) rank and range queries.
// A plain value; not thread-safe. Decoding is bounded and never throws.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/hlc.hpp"
#include "apiary/base/status.hpp"
#include "apiary/data/collection_element.hpp"
#include "apiary/data/counter.hpp"
#include "apiary/data/dvv.hpp"
#include "apiary/data/list_position.hpp"
#include "apiary/data/score_index.hpp"
#include "apiary/data/version_vector.hpp"

namespace apiary::data {

class Collection {
 public:
  // An element name with its hash: the order of elements (and of set algebra's results).
  struct Key {
    std::uint64_t hash = 0;
    std::string name;
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct KeyView {
    std::uint64_t hash = 0;
    std::string_view name;
  };
  struct Less {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return a.hash != b.hash ? a.hash < b.hash
                              : std::string_view(a.name) < std::string_view(b.name);
    }
  };

  // Walks the elements in order.
  class const_iterator {
   public:
    using value_type = ElementView;
    using difference_type = std::ptrdiff_t;
    const_iterator() = default;
    ElementView operator*() const;
    const_iterator& operator++();
    const_iterator operator++(int) {
      const_iterator was = *this;
      ++*this;
      return was;
    }
    friend bool operator==(const const_iterator&, const const_iterator&) = default;

   private:
    friend class Collection;
    const_iterator(const Collection* c, std::size_t page, std::size_t offset)
        : c_(c), page_(page), offset_(offset) {}
    const Collection* c_ = nullptr;
    std::size_t page_ = 0;
    std::size_t offset_ = 0;
  };

  explicit Collection(ValueKind kind = ValueKind::hash);
  Collection(const Collection& other);
  Collection& operator=(const Collection& other);
  Collection(Collection&&) noexcept;
  Collection& operator=(Collection&&) noexcept;
  ~Collection();

  ValueKind kind() const { return kind_; }  // ValueKind::hash, set, zset or list
  const VersionVector& context() const { return context_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const_iterator begin() const { return const_iterator(this, 0, 0); }
  const_iterator end() const { return const_iterator(this, pages_.size(), 0); }

  static std::uint64_t hash_of(std::string_view name);
  // The 64 bits elements are ordered by before their names: hash_of(name), or for a list
  // (`positional`) the name's first 8 bytes big-endian, so that the order is the names' bytes.
  static std::uint64_t order_key(std::string_view name, bool positional);
  std::uint64_t key_of(std::string_view name) const { return order_key(name, positional()); }

  // ---- reads ----------------------------------------------------------------------------
  std::optional<ElementView> find(std::string_view name) const;
  bool contains(std::string_view name) const { return find(name).has_value(); }
  static std::string_view value_of(ElementView e, std::string& scratch) { return e.value(scratch); }
  // About `count` elements from `cursor` on (0 = the start); returns the next cursor (0 = done).
  std::uint64_t scan(std::uint64_t cursor, std::size_t count, std::vector<ElementView>& out) const;
  // The element at or after a random hash (wrapping); end() when empty.
  const_iterator random_element(std::uint64_t random) const;

  // ---- sorted sets (kind zset) --------------------------------------------------------
  // The (score, member) order (kind zset): O(log n) a query through the index a zset of at
  // least kIndexedFrom members keeps; a smaller one is sorted when the view is made.
  static constexpr std::size_t kIndexedFrom = 129;
  ScoreOrder scores() const;
  bool indexed() const { return index_.has_value(); }
  // A member's score as a reader sees it: its versions resolved (counters add up, else the
  // last writer's score).
  static double score_of(ElementView e);
  std::optional<double> score(std::string_view name) const;
  // How a score is kept in a version: "%.17g" (exact for a double), "inf", "-inf".
  static std::string score_text(double score);
  // ZINCRBY: the member's score plus `delta`, written as a counter version (a plain version
  // when the sum or the score is infinite: infinities absorb increments, so nothing is left
  // to merge). False, writing nothing, when the sum is NaN (inf + -inf). `result` is the sum
  // in double arithmetic, as Redis computes it.
  bool incr_score(std::string_view name, double delta, Dot dot, HlcTimestamp stamp, double& result);

  // ---- lists (kind list) --------------------------------------------------------------
  // begin()..end() is the list in order. The element at a 0-based index (< size()), and the
  // index of an element: O(log pages) through the pages' prefix counts, then a walk of one
  // page.
  const_iterator at(std::size_t index) const;
  std::size_t index_of(const const_iterator& it) const;
  const_iterator last() const { return empty() ? end() : at(size_ - 1); }
  // Inserts `value` under a new name between the elements named `left` and `right` (nullopt:
  // the list's ends), minted for the write `dot` (list_position::mint); returns the name.
  std::string insert(std::optional<std::string_view> left, std::optional<std::string_view> right,
                     std::string_view value, Dot dot, HlcTimestamp stamp,
                     list_position::Bias bias = list_position::Bias::longer);
  std::string push_front(std::string_view value, Dot dot, HlcTimestamp stamp);
  std::string push_back(std::string_view value, Dot dot, HlcTimestamp stamp);

  // ---- writes at a coordinator (the caller then observe()s the write's dot) --------------
  // Sets a hash field (or a zset member's score text); true when the field is new.
  bool set(std::string_view name, std::string_view value, Dot dot, HlcTimestamp stamp,
           ValueKind kind = ValueKind::string);
  // Adds a set member (re-tagging an existing one, so that the add wins over a concurrent
  // removal of what was there); true when the member is new.
  bool add(std::string_view name, Dot dot, HlcTimestamp stamp);
  // Removes an element; false when it was not there.
  bool remove(std::string_view name);
  // Removes every element (a DEL of the key keeps the context, so the removal merges).
  void clear();
  // HINCRBY / HINCRBYFLOAT: the field's value (its versions merged by the counter rules, a
  // plain number becoming the base) plus the delta, written as a counter version. On success
  // `text` is the new value as HGET shows it.
  CounterError incr(std::string_view name, std::int64_t delta, Dot dot, HlcTimestamp stamp,
                    std::string& text) {
    return increment(name, false, delta, 0, dot, stamp, text);
  }
  CounterError incr_float(std::string_view name, long double delta, Dot dot, HlcTimestamp stamp,
                          std::string& text) {
    return increment(name, true, 0, delta, dot, stamp, text);
  }
  void observe(Dot dot) { context_.raise(dot.actor, dot.counter); }
  void observe(const VersionVector& context) { context_.join(context); }
  // While set, set/add/remove/clear/incr/replace_with append what they change to `journal`
  // (nullptr stops it). Never assign to a collection during an edit: an assignment drops the
  // journal and the undo log (a store then ships the whole entry, and cannot undo the write).
  void set_journal(std::vector<ElementChange>* journal) { journal_ = journal; }
  const std::vector<ElementChange>* journal() const { return journal_; }
  // Replays a recorded change as a write with `dot` and `stamp`.
  void apply(const ElementChange& change, Dot dot, HlcTimestamp stamp);
  // Between begin_undo() and end_undo(), set/add/remove/clear/incr keep what they replace, and
  // rollback() puts the elements back exactly as they were at begin_undo() (a write the store
  // refuses after running it in place). O(elements changed).
  void begin_undo();
  void rollback();
  void end_undo();

  // ---- merging and shipping --------------------------------------------------------------
  void join(const Collection& other);
  // A write that replaces every element with `source`'s, each holding one version: its value
  // as a reader sees it, tagged with `dot` (COPY, RENAME). Recorded like other writes.
  void replace_with(const Collection& source, Dot dot, HlcTimestamp stamp);
  // Heap bytes (glibc chunks), for the store's memory accounting.
  std::size_t memory() const;
  // About the bytes encode() produces (a little more, never less), kept as elements change.
  std::size_t encoded_size() const { return 16 + 18 * context_.size() + wire_; }

  friend bool operator==(const Collection& a, const Collection& b);  // not the journal

  // Layout: [kind, context, [name, [actor, counter, stamp, kind, value, ...], ...]]; set
  // members carry no kind or value (3 fields per version).
  std::string encode() const;
  static Result<Collection> decode(std::string_view bytes, const CollectionLimits& limits = {});

 private:
  // Elements live in pages: runs of records in element order, each page's bytes one heap
  // block of at most about kPageBytes (a lone record may be longer), as Redis keeps a small
  // hash in one listpack. A small collection is one page.
  struct Page {
    std::string bytes;
    std::uint64_t first_hash = 0;  // of its first record
    std::uint32_t count = 0;
  };
  struct Spot {  // where an element is, or would go
    std::size_t page = 0;
    std::size_t offset = 0;
    std::size_t length = 0;  // of the record found (0: not found)
  };
  struct UndoLog;
  class Builder;
  Spot locate(std::uint64_t hash, std::string_view name) const;
  // The first element whose hash is at least `hash`.
  const_iterator lower_bound(std::uint64_t hash) const;
  // The record an iterator is at.
  std::string_view raw(const const_iterator& it) const;
  // Replaces the `spot.length` bytes at `spot` with `record` (either may be empty), splitting
  // a page that grew too long and dropping one left empty.
  void splice(const Spot& spot, std::string_view record);
  void splice_pages(const Spot& spot, std::string_view record);
  void keep_undo(std::string_view name, const Spot& spot);
  void rebuild_accounting();
  void rebuild_index();
  bool valued() const { return kind_ != ValueKind::set; }  // versions carry values
  bool positional() const { return kind_ == ValueKind::list; }
  // A list's page counts as a Fenwick tree, built by the first index read after the pages
  // were split, dropped or replaced, and kept up to date by writes that change one page's
  // count (collection_list.cpp).
  struct PageCounts {
    std::vector<std::uint32_t> tree;  // 1-based
    bool valid = false;
  };
  void count_changed(std::size_t page, int delta);
  const PageCounts& page_counts() const;
  static std::size_t page_memory(const Page& p);
  CounterError increment(std::string_view name, bool is_float, std::int64_t delta,
                         long double fdelta, Dot dot, HlcTimestamp stamp, std::string& text);

  ValueKind kind_;
  VersionVector context_;
  std::vector<Page> pages_;
  std::size_t size_ = 0;
  std::size_t pages_memory_ = 0;  // heap bytes of the pages' bytes
  std::size_t wire_ = 0;          // encoded bytes of the elements (encoded_size())
  std::vector<ElementChange>* journal_ = nullptr;
  std::unique_ptr<UndoLog> undo_;    // while begin_undo() .. end_undo()
  std::optional<ScoreIndex> index_;  // kind zset of at least kIndexedFrom members
  mutable PageCounts counts_;        // kind list, for index reads
  // The names a write mints are numbered within it (list_position::suffix).
  Dot mint_dot_;
  std::uint32_t mint_next_ = 0;
};

bool is_collection(ValueKind kind);

}  // namespace apiary::data
