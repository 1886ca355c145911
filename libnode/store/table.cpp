#include "table.hpp"

#include <algorithm>
#include <cstring>

namespace apiary::store::detail {

// ---- nodes ---------------------------------------------------------------------------------

Table::Table() { root_ = new_leaf(); }

Table::~Table() { free_subtree(root_); }

Table::Leaf* Table::new_leaf() {
  auto* leaf = new Leaf();
  leaf->leaf = true;
  leaf->id = leaves_.size();
  leaves_.push_back(leaf);
  return leaf;
}

void Table::free_leaf(Leaf* leaf) {
  // Keep ids dense: the last leaf takes the freed id.
  Leaf* last = leaves_.back();
  leaves_[leaf->id] = last;
  last->id = leaf->id;
  leaves_.pop_back();
  if (leaves_.capacity() > 64 && leaves_.size() * 4 < leaves_.capacity()) leaves_.shrink_to_fit();
  delete leaf;
}

Table::Inner* Table::new_inner() {
  ++inners_;
  auto* inner = new Inner();
  for (Item& item : inner->items) item = Item{~std::uint64_t{0}, 0};
  return inner;
}

void Table::flatten(const Inner* inner, Flat& f) {
  for (std::size_t i = 0; i < inner->count; ++i) {
    f.child[f.n] = inner->child(i);
    f.count[f.n] = inner->child_count(i);
    f.key[f.n] = inner->items[i].key;
    ++f.n;
  }
}

void Table::fill(Inner* inner, const Flat& f, std::size_t from, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t k = from + i;
    inner->set(i, f.child[k], f.count[k], i + 1 < n ? f.key[k] : ~std::uint64_t{0});
    f.child[k]->parent = inner;
    f.child[k]->index = static_cast<std::uint16_t>(i);
  }
  for (std::size_t i = n; i < kFanout; ++i) inner->items[i] = Item{~std::uint64_t{0}, 0};
  inner->count = static_cast<std::uint32_t>(n);
}

void Table::free_inner(Inner* inner) {
  --inners_;
  delete inner;
}

void Table::free_subtree(Node* node) {
  if (node->leaf) {
    delete static_cast<Leaf*>(node);
    return;
  }
  auto* inner = static_cast<Inner*>(node);
  for (std::uint32_t i = 0; i < inner->count; ++i) free_subtree(inner->child(i));
  delete inner;
}

void Table::clear() {
  ++version_;
  free_subtree(root_);
  leaves_.clear();
  inners_ = 0;
  height_ = 0;
  size_ = 0;
  root_ = new_leaf();
}

std::size_t Table::bytes() const {
  return leaves_.size() * chunk_size(sizeof(Leaf)) + inners_ * chunk_size(sizeof(Inner)) +
         leaves_.capacity() * sizeof(Leaf*);
}

void Table::mirror(Node* node) {
  if (node->parent != nullptr)
    node->parent->set_count(child_index(node->parent, node), node->count);
}

// ---- lookups ---------------------------------------------------------------------------------

namespace {

// Index of the first of `n` sorted positions for which before(i) is false (n if none), where
// the values lie in [lo, hi] and about `expected` of the positions are in use. Order keys are
// hash values, so inside the range a node covers they are close to evenly spread: start at
// the interpolated position, usually a slot or two off, and gallop from there. Crowded,
// ordered or adversarial keys cost at most ~2 log2(n) probes. (A plain binary search touches
// four or five cache lines of a 1 KiB node; this usually touches one.)
template <typename Before>
std::size_t search(Before before, std::size_t n, std::size_t expected, std::uint64_t order,
                   std::uint64_t lo, std::uint64_t hi, std::uint64_t& steps) {
  std::size_t guess = 0;
  if (hi > lo && order > lo) {
    const double frac =
        order >= hi ? 1.0 : static_cast<double>(order - lo) / static_cast<double>(hi - lo);
    guess = std::min(n, static_cast<std::size_t>(frac * static_cast<double>(expected)));
  }
  // Invariant below: before(a) holds (a == -1 stands for "before everything") and b == n or
  // !before(b); the answer is in (a, b].
  std::ptrdiff_t a = -1;
  std::ptrdiff_t b = static_cast<std::ptrdiff_t>(n);
  const auto test = [&](std::ptrdiff_t i) {
    ++steps;
    return before(static_cast<std::size_t>(i));
  };
  auto g = static_cast<std::ptrdiff_t>(guess);
  // Hash keys put the answer within a slot or two of the guess: walk a few steps in the same
  // cache line before galloping.
  if (g < b && test(g)) {
    for (int walk = 0; walk < 3; ++walk) {
      if (g + 1 == b || !test(g + 1)) return static_cast<std::size_t>(g + 1);
      ++g;
    }
    a = g;
    for (std::ptrdiff_t step = 1; a + step < b; step *= 2) {
      if (!test(a + step)) {
        b = a + step;
        break;
      }
      a += step;
    }
  } else {
    for (int walk = 0; walk < 3; ++walk) {
      if (g == 0 || test(g - 1)) return static_cast<std::size_t>(g);
      --g;
    }
    b = g;
    for (std::ptrdiff_t step = 1; b - step > a; step *= 2) {
      if (test(b - step)) {
        a = b - step;
        break;
      }
      b -= step;
    }
  }
  while (b - a > 1) {
    const std::ptrdiff_t m = a + (b - a) / 2;
    if (test(m)) {
      a = m;
    } else {
      b = m;
    }
  }
  return static_cast<std::size_t>(b);
}

constexpr std::uint64_t kTop = ~std::uint64_t{0};

}  // namespace

// Lookups never wait for a node's header: the parent's item carries the child's count and the
// level says whether a node is a leaf, so the slot a lookup wants is addressed as soon as the
// leaf pointer is known (a leaf's header is a cache line of its own, and handles are made
// from the leaf's address, so a lookup never reads it unless it runs off the leaf's end).
Table::Path Table::descend(std::uint64_t order, bool upper) const {
  Path p;
  p.lo = 0;
  p.hi = kTop;
  Node* n = root_;
  std::size_t count = root_->count;
  for (std::size_t level = height_; level > 0; --level) {
    const auto* inner = static_cast<const Inner*>(n);
    const Item* items = inner->items;
    std::size_t c = 0;
    if (upper) {
      c = search([items, order](std::size_t k) { return items[k].key <= order; }, count - 1,
                 count - 1, order, p.lo, p.hi, work_);
    } else {
      c = search([items, order](std::size_t k) { return items[k].key < order; }, count - 1,
                 count - 1, order, p.lo, p.hi, work_);
    }
    // Separators bound their children's keys: narrow the range for the next guess.
    if (c > 0) p.lo = std::max(p.lo, items[c - 1].key);
    if (c + 1 < count) p.hi = std::min(p.hi, items[c].key);
    count = inner->child_count(c);
    p.index = c;
    n = inner->child(c);
  }
  p.leaf = static_cast<Leaf*>(n);
  p.count = count;
  return p;
}

std::size_t Table::lower_bound(std::uint64_t order) const {
  const Path p = descend(order, false);
  const Leaf* leaf = p.leaf;
  const Slot* slots = leaf->slots;
  const std::size_t pos = search([slots, order](std::size_t k) { return slots[k].order < order; },
                                 p.count, p.count, order, p.lo, p.hi, work_);
  if (pos < p.count) return handle(leaf, pos);
  // Everything in this leaf is smaller: the answer is the next leaf's first entry.
  return leaf->next != nullptr ? handle(leaf->next, 0) : end();
}

std::size_t Table::find(std::uint64_t order, std::string_view key) const {
  const Path p = descend(order, false);
  const Slot* slots = p.leaf->slots;
  std::size_t pos = search([slots, order](std::size_t k) { return slots[k].order < order; },
                           p.count, p.count, order, p.lo, p.hi, work_);
  for (; pos < p.count && slots[pos].order == order; ++pos) {
    if (slots[pos].entry->key() == key) return handle(p.leaf, pos);
  }
  if (pos < p.count) {
    // A larger key follows in this leaf: the missing key would go right here.
    hint_ = Hint{order, p.leaf, p.index, pos, version_};
    return npos;
  }
  // Equal order keys (64-bit hash collisions) may continue in the next leaves.
  for (std::size_t h = p.leaf->next != nullptr ? handle(p.leaf->next, 0) : end(); h < end();
       h = next(h)) {
    const Slot& s = slot(h);
    if (s.order != order) return npos;
    if (s.entry->key() == key) return h;
  }
  return npos;
}

std::size_t Table::next(std::size_t h) const {
  const Leaf* leaf = leaf_of(h);
  if (h % kLeafSlots + 1 < leaf->count) return h + 1;
  return leaf->next != nullptr ? handle(leaf->next, 0) : end();
}

std::size_t Table::sample(Rng& rng) const {
  if (size_ == 0) return npos;
  // Rejection over all slots of all leaves: uniform over entries whatever each leaf's fill.
  // Leaves are at least a quarter full, so this rarely takes more than a few draws.
  const Leaf* leaf = nullptr;
  for (int attempt = 0; attempt < 64; ++attempt) {
    const auto r = static_cast<std::size_t>(rng.uniform(leaves_.size() * kLeafSlots));
    leaf = leaves_[r / kLeafSlots];
    if (r % kLeafSlots < leaf->count) return handle(leaf, r % kLeafSlots);
  }
  return leaf->count > 0 ? handle(leaf, 0) : lower_bound(0);
}

// ---- insert ---------------------------------------------------------------------------------

std::size_t Table::insert(std::uint64_t order, Entry* entry) {
  ++size_;
  Leaf* leaf = nullptr;
  std::size_t index = 0;
  std::size_t pos = 0;
  if (hint_.version == version_ && hint_.order == order) {
    // Between two keys of one leaf, after any equal ones: where the descent would also go.
    leaf = hint_.leaf;
    index = hint_.index;
    pos = hint_.pos;
  } else {
    const Path p = descend(order, true);
    const Slot* slots = p.leaf->slots;
    leaf = p.leaf;
    index = p.index;
    pos = search([slots, order](std::size_t k) { return slots[k].order <= order; }, p.count,
                 p.count, order, p.lo, p.hi, work_);
  }
  ++version_;
  if (leaf->count == kLeafSlots) return split_leaf(leaf, pos, order, entry);
  std::memmove(&leaf->slots[pos + 1], &leaf->slots[pos], (leaf->count - pos) * sizeof(Slot));
  work_ += leaf->count - pos;
  leaf->slots[pos] = Slot{order, entry};
  ++leaf->count;
  if (leaf->parent != nullptr) leaf->parent->set_count(index, leaf->count);
  return handle(leaf, pos);
}

std::size_t Table::split_leaf(Leaf* leaf, std::size_t pos, std::uint64_t order, Entry* entry) {
  Leaf* right = new_leaf();
  right->next = leaf->next;
  right->prev = leaf;
  if (leaf->next != nullptr) leaf->next->prev = right;
  leaf->next = right;
  // Ascending keys keep landing at the end of the last leaf and descending keys at the start
  // of the first: leave the full leaf full and start a new one, instead of leaving a trail of
  // half-empty leaves behind.
  std::size_t at = kLeafSlots / 2;
  if (pos == kLeafSlots) at = kLeafSlots;
  if (pos == 0) at = 0;
  const std::size_t moved = kLeafSlots - at;
  std::memcpy(right->slots, &leaf->slots[at], moved * sizeof(Slot));
  std::fill(&leaf->slots[at], &leaf->slots[kLeafSlots], Slot{});
  right->count = static_cast<std::uint32_t>(moved);
  leaf->count = static_cast<std::uint32_t>(at);
  work_ += moved;
  Leaf* target = leaf;
  std::size_t tpos = pos;
  if (pos > at || (pos == at && at == kLeafSlots)) {
    target = right;
    tpos = pos - at;
  }
  std::memmove(&target->slots[tpos + 1], &target->slots[tpos],
               (target->count - tpos) * sizeof(Slot));
  target->slots[tpos] = Slot{order, entry};
  ++target->count;
  insert_child(leaf, right->slots[0].order, right);
  return handle(target, tpos);
}

void Table::insert_child(Node* left, std::uint64_t separator, Node* right) {
  Inner* parent = left->parent;
  Flat f;
  if (parent == nullptr) {
    auto* root = new_inner();
    root->leaf_children = left->leaf;
    f.child[0] = left;
    f.count[0] = left->count;
    f.key[0] = separator;
    f.child[1] = right;
    f.count[1] = right->count;
    f.n = 2;
    fill(root, f, 0, 2);
    root_ = root;
    ++height_;
    return;
  }
  const std::size_t at = child_index(parent, left) + 1;  // where `right` goes
  flatten(parent, f);
  // Shift everything from `at` on by one; `left` keeps its place, now followed by `right`.
  for (std::size_t i = f.n; i > at; --i) {
    f.child[i] = f.child[i - 1];
    f.count[i] = f.count[i - 1];
    f.key[i] = f.key[i - 1];
  }
  ++f.n;
  f.child[at] = right;
  f.count[at] = right->count;
  f.key[at] = f.key[at - 1];  // what followed `left` now follows `right`
  f.key[at - 1] = separator;
  f.count[at - 1] = left->count;
  work_ += f.n;
  if (f.n <= kFanout) {
    fill(parent, f, 0, f.n);
    mirror(parent);
    return;
  }
  // Full: cut in two; the separator at the cut moves up. As for leaves, a child appended at
  // the end starts a new node instead of halving this one (with two children: every inner
  // node but the root keeps at least two, so it always has a sibling to borrow from or
  // merge with).
  const std::size_t left_count = at == kFanout ? kFanout - 1 : (kFanout + 1) / 2;
  Inner* sibling = new_inner();
  sibling->leaf_children = parent->leaf_children;
  const std::uint64_t up = f.key[left_count - 1];
  fill(parent, f, 0, left_count);
  fill(sibling, f, left_count, f.n - left_count);
  insert_child(parent, up, sibling);
}

// ---- erase ----------------------------------------------------------------------------------

void Table::erase(std::size_t h) {
  ++version_;
  Leaf* leaf = leaf_of(h);
  const std::size_t pos = h % kLeafSlots;
  std::memmove(&leaf->slots[pos], &leaf->slots[pos + 1], (leaf->count - pos - 1) * sizeof(Slot));
  work_ += leaf->count - pos;
  --leaf->count;
  leaf->slots[leaf->count] = Slot{};
  --size_;
  if (leaf->parent == nullptr) return;
  if (leaf->count < kMinLeaf) {
    rebalance_leaf(leaf);
  } else {
    mirror(leaf);
  }
}

void Table::rebalance_leaf(Leaf* leaf) {
  Inner* parent = leaf->parent;
  const std::size_t i = child_index(parent, leaf);
  // Pair the leaf with its right sibling, or its left one when it is the last child.
  const std::size_t sep = i + 1 < parent->count ? i : i - 1;
  auto* left = static_cast<Leaf*>(parent->child(sep));
  auto* right = static_cast<Leaf*>(parent->child(sep + 1));
  const std::size_t total = left->count + right->count;
  work_ += total;
  if (total <= kLeafSlots * 3 / 4) {
    std::memcpy(&left->slots[left->count], right->slots, right->count * sizeof(Slot));
    left->count = static_cast<std::uint32_t>(total);
    left->next = right->next;
    if (right->next != nullptr) right->next->prev = left;
    parent->set_count(sep, total);
    remove_child(parent, sep);
    free_leaf(right);
    rebalance_inner(parent);
    return;
  }
  // Share the slots evenly; the separator becomes the right leaf's new first key.
  const std::size_t want = total / 2;
  if (left->count < want) {
    const std::size_t n = want - left->count;
    std::memcpy(&left->slots[left->count], right->slots, n * sizeof(Slot));
    std::memmove(right->slots, &right->slots[n], (right->count - n) * sizeof(Slot));
    std::fill(&right->slots[right->count - n], &right->slots[right->count], Slot{});
  } else {
    const std::size_t n = left->count - want;
    std::memmove(&right->slots[n], right->slots, right->count * sizeof(Slot));
    std::memcpy(right->slots, &left->slots[want], n * sizeof(Slot));
    std::fill(&left->slots[want], &left->slots[left->count], Slot{});
  }
  left->count = static_cast<std::uint32_t>(want);
  right->count = static_cast<std::uint32_t>(total - want);
  parent->set_count(sep, left->count);
  parent->set_count(sep + 1, right->count);
  parent->items[sep].key = right->slots[0].order;
}

void Table::remove_child(Inner* parent, std::size_t separator_index) {
  // Drops child[separator_index + 1]; the separator after it now follows its left neighbour.
  Flat f;
  flatten(parent, f);
  const std::size_t gone = separator_index + 1;
  f.key[separator_index] = f.key[gone];
  for (std::size_t i = gone; i + 1 < f.n; ++i) {
    f.child[i] = f.child[i + 1];
    f.count[i] = f.count[i + 1];
    f.key[i] = f.key[i + 1];
  }
  --f.n;
  fill(parent, f, 0, f.n);
  mirror(parent);
}

void Table::rebalance_inner(Inner* node) {
  if (node->parent == nullptr) {
    if (node->count == 1) {  // the root has one child left: that child becomes the root
      root_ = node->child(0);
      root_->parent = nullptr;
      free_inner(node);
      --height_;
    }
    return;
  }
  if (node->count >= kMinFanout) return;
  Inner* parent = node->parent;
  const std::size_t i = child_index(parent, node);
  const std::size_t sep = i + 1 < parent->count ? i : i - 1;
  auto* left = static_cast<Inner*>(parent->child(sep));
  auto* right = static_cast<Inner*>(parent->child(sep + 1));
  // Both nodes with the parent's separator between them form one valid sequence of
  // children and keys; merging concatenates it, sharing cuts it at another child.
  Flat f;
  flatten(left, f);
  f.key[f.n - 1] = parent->items[sep].key;
  flatten(right, f);
  work_ += f.n;
  if (f.n <= kFanout * 3 / 4) {
    fill(left, f, 0, f.n);
    parent->set_count(sep, f.n);
    remove_child(parent, sep);
    free_inner(right);
    rebalance_inner(parent);
    return;
  }
  const std::size_t want = f.n / 2;
  fill(left, f, 0, want);
  fill(right, f, want, f.n - want);
  parent->items[sep].key = f.key[want - 1];
  parent->set_count(sep, want);
  parent->set_count(sep + 1, f.n - want);
}

// ---- invariants (tests) ------------------------------------------------------------------

std::string Table::check() const {
  std::size_t entries = 0;
  std::size_t leaf_depth = npos;
  const Leaf* prev = nullptr;
  std::string err;
  // Depth-first, left to right: leaves come out in list order.
  auto visit = [&](auto&& self, const Node* n, std::size_t depth, std::uint64_t lo,
                   std::uint64_t hi) -> void {
    if (!err.empty()) return;
    if (n->leaf) {
      const auto* leaf = static_cast<const Leaf*>(n);
      if (leaf_depth == npos) leaf_depth = depth;
      if (depth != leaf_depth) err = "leaves at different depths";
      if (leaf->id >= leaves_.size() || leaves_[leaf->id] != leaf) err = "leaf id";
      if (leaf->prev != prev || (prev != nullptr && prev->next != leaf)) err = "leaf links";
      if (leaf->count == 0 && leaf != root_) err = "empty leaf";
      for (std::size_t i = 0; i < kLeafSlots; ++i) {
        const Slot& sl = leaf->slots[i];
        if (i < leaf->count) {
          if (sl.entry == nullptr || sl.order < lo || sl.order > hi) err = "slot out of bounds";
          if (i > 0 && leaf->slots[i - 1].order > sl.order) err = "slots out of order";
        } else if (sl.entry != nullptr) {
          err = "unused slot not empty";
        }
      }
      entries += leaf->count;
      prev = leaf;
      return;
    }
    const auto* inner = static_cast<const Inner*>(n);
    if (inner->count < 2 && inner != root_) err = "inner node with fewer than two children";
    for (std::size_t i = 0; i < kFanout; ++i) {
      const std::uint64_t key = inner->items[i].key;
      if (i + 1 < inner->count) {
        if (key < lo || key > hi) err = "separator out of bounds";
        if (i > 0 && inner->items[i - 1].key > key) err = "separators out of order";
      } else if (key != kTop || (i >= inner->count && inner->items[i].child != 0)) {
        err = "unused item not sealed";
      }
    }
    for (std::size_t i = 0; i < inner->count; ++i) {
      const Node* c = inner->child(i);
      if (c->parent != inner || c->index != i) err = "parent pointer";
      if (c->leaf != inner->leaf_children) err = "leaf_children";
      if (inner->child_count(i) != c->count) err = "mirrored count";
      self(self, c, depth + 1, i > 0 ? inner->items[i - 1].key : lo,
           i + 1 < inner->count ? inner->items[i].key : hi);
    }
  };
  visit(visit, root_, 0, 0, kTop);
  if (err.empty() && leaf_depth != height_) err = "height";
  if (err.empty() && prev != nullptr && prev->next != nullptr) err = "leaf list too long";
  if (err.empty() && entries != size_) err = "size";
  return err;
}

}  // namespace apiary::store::detail
