// Internal: the store's ordered index of Entry pointers, a B+tree keyed by the order key.
//
// The order key is a fixed bit rotation of the key's xxh3 hash that puts the partition id in
// the top bits, so keeping entries sorted by it gives:
//  - a partition, and a digest bucket within it, is one contiguous run of entries;
//  - a cursor that remembers an order key resumes exactly where it stopped, whatever was
//    inserted or erased in between (positions move, order keys do not).
//
// Why a B+tree and not the ordered linear-probing hash table this replaced: that table put an
// entry's home slot at multiply-high(order key, capacity), i.e. it assumed the keys present
// are spread evenly over the whole order-key range. Whenever they are not -- a handoff
// receiver filling partition after partition, a client writing keys of one partition (about
// 1024 tries per key to find), keys of one digest bucket -- all homes fall into a narrow band
// of the array and every insert walks and shifts one giant cluster: quadratic, 77x slower than
// random order at 100k keys partition by partition and 334x for one partition. No home
// function fixed in advance can avoid that for keys arriving in sorted order (the keys present
// are always a prefix of the final range). A comparison-based tree does not care how the keys
// are distributed or in which order they come: every operation is O(log n) node visits plus
// at most one leaf's worth of slots moved, for random, sorted, clustered or adversarial keys
// alike. There is no resize either, so no single write ever moves more than a few nodes.
//
// Shape: leaves hold up to kLeafSlots (order, entry) slots sorted by order key and are linked
// in order; inner nodes hold up to kFanout children and the separating order keys. A leaf that
// overflows splits in half, except that an insert at either end of a full leaf starts a new
// leaf with just that key, so keys arriving in ascending or descending order fill leaves
// completely. A leaf or inner node below a quarter full borrows from or merges with a sibling,
// so memory follows the number of keys down as well as up. Separators only bound the keys of
// their children (max(left) <= separator <= min(right)), which also holds with duplicate order
// keys (64-bit hash collisions) spread over several leaves.
//
// Lookups start each node's search at the position interpolated from the node's key range
// (hash keys are evenly spread, so it is usually a slot or two off) and gallop from there, so
// skewed keys cost a few more comparisons, never more than ~2 log2(n). They never wait for a
// node's header: a parent's item holds both the separator and the child pointer, with the
// child's count in the pointer's low bits. The price against the hash table is lookups that
// follow one more dependent memory access (see docs/store.md, docs/benchmarks.md).
//
// Handles (size_t) are the address of a 64-byte-aligned leaf plus the position in it, so a
// handle reaches its slot without any lookup; they are valid until the next insert, erase or
// clear, and end() (npos) is past the last entry. Leaves also have dense ids
// (0 .. leaves-1), which lets sample() pick an entry uniformly by drawing a leaf and a
// position and rejecting the unused slots. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/rng.hpp"
#include "entry.hpp"

namespace apiary::store::detail {

class Table {
 public:
  struct Slot {
    std::uint64_t order = 0;
    Entry* entry = nullptr;
  };
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  static constexpr std::size_t kLeafSlots = 64;  // 1 KiB of slots per leaf
  static constexpr std::size_t kFanout = 256;    // children per inner node (4 KiB)

  Table();
  ~Table();
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;

  std::size_t size() const { return size_; }
  // Changes with every insert, erase and clear: a handle taken at an unchanged version is
  // still valid.
  std::uint64_t version() const { return version_; }
  // The handle past the last entry (what lower_bound and next return at the end).
  static constexpr std::size_t end() { return npos; }
  // Heap bytes of the nodes (glibc chunk sizes) and of the leaf directory.
  std::size_t bytes() const;

  const Slot& slot(std::size_t h) const { return leaf_of(h)->slots[h % kLeafSlots]; }
  Entry*& entry_at(std::size_t h) { return leaf_of(h)->slots[h % kLeafSlots].entry; }
  // A handle that holds an entry.
  bool is_live(std::size_t h) const { return h != end() && h % kLeafSlots < leaf_of(h)->count; }

  std::size_t find(std::uint64_t order, std::string_view key) const;
  // Inserts an entry whose key is absent (after any entries with the same order key);
  // returns its handle.
  std::size_t insert(std::uint64_t order, Entry* entry);
  // Removes the entry at `h` from the table (freeing it is the caller's job).
  void erase(std::size_t h);
  // First entry whose order key is >= `order`; end() when there is none.
  std::size_t lower_bound(std::uint64_t order) const;
  // The entry after `h` in order, or end().
  std::size_t next(std::size_t h) const;
  // A uniformly random entry's handle; npos when the table is empty.
  std::size_t sample(Rng& rng) const;
  // Drops every slot (entries are the caller's to free first).
  void clear();

  // Test hook: keys compared, slots shifted or moved by every operation so far. Tests use it
  // to check that no key order makes writes expensive, without timing anything.
  std::uint64_t work() const { return work_; }
  std::size_t height() const { return height_; }  // 0 while the root is a leaf
  // Test hook: "" when every structural invariant holds, else the first one broken.
  std::string check() const;

 private:
  struct Inner;
  struct Node {
    Inner* parent = nullptr;
    std::uint32_t count = 0;  // slots (leaf) or children (inner)
    std::uint16_t index = 0;  // position in the parent
    bool leaf = false;
  };
  // Aligned to kLeafSlots bytes so that a handle's low bits are free for the position.
  struct alignas(kLeafSlots) Leaf : Node {
    Leaf* prev = nullptr;
    Leaf* next = nullptr;
    std::size_t id = 0;  // index in leaves_
    Slot slots[kLeafSlots];
  };
  // A separator and the child before it share a 16-byte item, so the cache line a lookup
  // reads to pick a child also holds the child's pointer; the pointer's low bits (leaves are
  // 64-byte aligned, inner nodes 256-byte aligned) hold the child's count - 1, so the lookup
  // knows the child's size before the child's header arrives from memory. items[i].key
  // separates child i and child i + 1; the last child's key and unused items hold kTop, the
  // largest order key.
  struct Item {
    std::uint64_t key;
    std::uintptr_t child;
  };
  struct alignas(256) Inner : Node {
    bool leaf_children = false;  // the level just above the leaves
    Item items[kFanout];
    std::uintptr_t low() const { return leaf_children ? 63 : 255; }
    Node* child(std::size_t i) const { return reinterpret_cast<Node*>(items[i].child & ~low()); }
    std::size_t child_count(std::size_t i) const { return (items[i].child & low()) + 1; }
    void set(std::size_t i, Node* node, std::size_t node_count, std::uint64_t key) {
      items[i].key = key;
      items[i].child = reinterpret_cast<std::uintptr_t>(node) | (node_count - 1);
    }
    void set_count(std::size_t i, std::size_t node_count) {
      items[i].child = (items[i].child & ~low()) | (node_count - 1);
    }
  };
  static_assert(kLeafSlots <= 64 && kFanout <= 256, "counts - 1 must fit in the low bits");
  // An inner node's children, counts and separators laid out flat for restructuring.
  struct Flat {
    Node* child[2 * kFanout];
    std::size_t count[2 * kFanout];
    std::uint64_t key[2 * kFanout];  // key[i] separates child[i] and child[i + 1]
    std::size_t n = 0;
  };
  static void flatten(const Inner* inner, Flat& f);  // appends
  // Writes children [from, from + n) of `f` into `inner` (and their parent pointers).
  static void fill(Inner* inner, const Flat& f, std::size_t from, std::size_t n);

  static constexpr std::uint32_t kMinLeaf = kLeafSlots / 4;
  static constexpr std::uint32_t kMinFanout = kFanout / 4;

  Leaf* new_leaf();
  void free_leaf(Leaf* leaf);
  Inner* new_inner();
  void free_inner(Inner* inner);
  void free_subtree(Node* node);

  // Where a search lands: the leaf, its entry count, its index in its parent and the range
  // [lo, hi] the separators bound its keys to.
  struct Path {
    Leaf* leaf = nullptr;
    std::size_t count = 0;
    std::size_t index = 0;
    std::uint64_t lo = 0;
    std::uint64_t hi = 0;
  };
  // The leaf to search for the first entry >= order (lower) or to insert after equal keys.
  Path descend(std::uint64_t order, bool upper) const;
  // Copies a node's count into its parent's mirror.
  static void mirror(Node* node);
  static std::size_t handle(const Leaf* leaf, std::size_t pos) {
    return reinterpret_cast<std::uintptr_t>(leaf) + pos;
  }
  static Leaf* leaf_of(std::size_t h) {
    return reinterpret_cast<Leaf*>(h & ~std::size_t{kLeafSlots - 1});
  }
  static std::size_t child_index(const Inner*, const Node* child) { return child->index; }

  std::size_t split_leaf(Leaf* leaf, std::size_t pos, std::uint64_t order, Entry* entry);
  void insert_child(Node* left, std::uint64_t separator, Node* right);
  void rebalance_leaf(Leaf* leaf);
  void rebalance_inner(Inner* node);
  void remove_child(Inner* parent, std::size_t separator_index);

  Node* root_ = nullptr;
  std::vector<Leaf*> leaves_;  // by id
  std::size_t inners_ = 0;
  std::size_t height_ = 0;
  std::size_t size_ = 0;
  mutable std::uint64_t work_ = 0;
  // Where the last unsuccessful find() stopped inside a leaf. The store looks a key up before
  // inserting it; insert() starts from there when nothing changed in between, instead of
  // descending again.
  struct Hint {
    std::uint64_t order = 0;
    Leaf* leaf = nullptr;
    std::size_t index = 0;  // of the leaf in its parent
    std::size_t pos = 0;
    std::uint64_t version = 0;
  };
  mutable Hint hint_;
  std::uint64_t version_ = 1;  // bumped by every insert, erase and clear
};

}  // namespace apiary::store::detail
