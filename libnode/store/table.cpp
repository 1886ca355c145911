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
  seal(inner);
  return inner;
}

void Table::seal(Inner* inner) {
  const std::size_t used = inner->count == 0 ? 0 : inner->count - 1;
  std::fill(inner->keys + used, inner->keys + kFanout - 1, ~std::uint64_t{0});
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
  for (std::uint32_t i = 0; i < inner->count; ++i) free_subtree(inner->child[i]);
  delete inner;
}

void Table::clear() {
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
  if (node->parent != nullptr) {
    node->parent->counts[child_index(node->parent, node)] = static_cast<std::uint8_t>(node->count);
  }
}

std::size_t Table::child_index(const Inner* parent, const Node* child) {
  std::size_t i = 0;
  while (parent->child[i] != child) ++i;
  return i;
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

// Lookups never wait for a node's header: a parent mirrors its children's counts and the
// level says whether a node is a leaf, so the slot a lookup wants is addressed as soon as the
// leaf pointer is known. A leaf's header is a cache line of its own; loading it only for the
// handle (the leaf id), in parallel with the slots, saves a memory round trip per lookup.
Table::Path Table::descend(std::uint64_t order, bool upper) const {
  Path p;
  p.lo = 0;
  p.hi = kTop;
  Node* n = root_;
  std::size_t count = root_->count;
  for (std::size_t level = height_; level > 0; --level) {
    const auto* inner = static_cast<const Inner*>(n);
    const std::uint64_t* keys = inner->keys;
    std::size_t c = 0;
    if (upper) {
      c = search([keys, order](std::size_t k) { return keys[k] <= order; }, count - 1, count - 1,
                 order, p.lo, p.hi, work_);
    } else {
      c = search([keys, order](std::size_t k) { return keys[k] < order; }, count - 1, count - 1,
                 order, p.lo, p.hi, work_);
    }
    // Separators bound their children's keys: narrow the range for the next guess.
    if (c > 0) p.lo = std::max(p.lo, keys[c - 1]);
    if (c + 1 < count) p.hi = std::min(p.hi, keys[c]);
    count = inner->counts[c];
    p.index = c;
    n = inner->child[c];
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
  for (std::size_t h = lower_bound(order); h < end(); h = next(h)) {
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
  const Path p = descend(order, true);
  Leaf* leaf = p.leaf;
  const Slot* slots = leaf->slots;
  const std::size_t pos = search([slots, order](std::size_t k) { return slots[k].order <= order; },
                                 p.count, p.count, order, p.lo, p.hi, work_);
  if (leaf->count == kLeafSlots) return split_leaf(leaf, pos, order, entry);
  std::memmove(&leaf->slots[pos + 1], &leaf->slots[pos], (leaf->count - pos) * sizeof(Slot));
  work_ += leaf->count - pos;
  leaf->slots[pos] = Slot{order, entry};
  ++leaf->count;
  if (leaf->parent != nullptr)
    leaf->parent->counts[p.index] = static_cast<std::uint8_t>(leaf->count);
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
  if (parent == nullptr) {
    auto* root = new_inner();
    root->count = 2;
    root->child[0] = left;
    root->child[1] = right;
    root->counts[0] = static_cast<std::uint8_t>(left->count);
    root->counts[1] = static_cast<std::uint8_t>(right->count);
    root->keys[0] = separator;
    seal(root);
    left->parent = root;
    right->parent = root;
    root_ = root;
    ++height_;
    return;
  }
  const std::size_t at = child_index(parent, left) + 1;  // where `right` goes
  if (parent->count == kFanout) {
    split_inner(parent, at, separator, right);
    return;
  }
  const std::size_t n = parent->count;
  std::memmove(&parent->keys[at], &parent->keys[at - 1], (n - at) * sizeof(std::uint64_t));
  std::memmove(&parent->child[at + 1], &parent->child[at], (n - at) * sizeof(Node*));
  std::memmove(&parent->counts[at + 1], &parent->counts[at], n - at);
  parent->keys[at - 1] = separator;
  parent->child[at] = right;
  parent->counts[at - 1] = static_cast<std::uint8_t>(left->count);
  parent->counts[at] = static_cast<std::uint8_t>(right->count);
  right->parent = parent;
  ++parent->count;
  mirror(parent);
  work_ += n - at;
}

void Table::split_inner(Inner* node, std::size_t at, std::uint64_t separator, Node* right) {
  // The node's children and keys with the new child in place, then cut in two; the key at
  // the cut moves up.
  Node* children[kFanout + 1];
  std::uint8_t counts[kFanout + 1];
  std::uint64_t keys[kFanout];
  std::copy(node->child, node->child + at, children);
  children[at] = right;
  std::copy(node->child + at, node->child + kFanout, children + at + 1);
  std::copy(node->counts, node->counts + at, counts);
  counts[at - 1] = static_cast<std::uint8_t>(children[at - 1]->count);  // the node just split
  counts[at] = static_cast<std::uint8_t>(right->count);
  std::copy(node->counts + at, node->counts + kFanout, counts + at + 1);
  std::copy(node->keys, node->keys + at - 1, keys);
  keys[at - 1] = separator;
  std::copy(node->keys + at - 1, node->keys + kFanout - 1, keys + at);
  // As for leaves: a child appended at the end starts a new node instead of halving this one
  // (with two children: every inner node but the root keeps at least two, so it always has
  // a sibling to borrow from or merge with).
  const std::size_t left_count = at == kFanout ? kFanout - 1 : (kFanout + 1) / 2;
  Inner* sibling = new_inner();
  node->count = static_cast<std::uint32_t>(left_count);
  sibling->count = static_cast<std::uint32_t>(kFanout + 1 - left_count);
  std::copy(children, children + left_count, node->child);
  std::copy(counts, counts + left_count, node->counts);
  std::copy(keys, keys + left_count - 1, node->keys);
  std::copy(children + left_count, children + kFanout + 1, sibling->child);
  std::copy(counts + left_count, counts + kFanout + 1, sibling->counts);
  std::copy(keys + left_count, keys + kFanout, sibling->keys);
  for (std::size_t i = 0; i < node->count; ++i) node->child[i]->parent = node;
  for (std::size_t i = 0; i < sibling->count; ++i) sibling->child[i]->parent = sibling;
  seal(node);
  seal(sibling);
  work_ += kFanout;
  insert_child(node, keys[left_count - 1], sibling);
}

// ---- erase ----------------------------------------------------------------------------------

void Table::erase(std::size_t h) {
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
  auto* left = static_cast<Leaf*>(parent->child[sep]);
  auto* right = static_cast<Leaf*>(parent->child[sep + 1]);
  const std::size_t total = left->count + right->count;
  work_ += total;
  if (total <= kLeafSlots * 3 / 4) {
    std::memcpy(&left->slots[left->count], right->slots, right->count * sizeof(Slot));
    left->count = static_cast<std::uint32_t>(total);
    left->next = right->next;
    if (right->next != nullptr) right->next->prev = left;
    parent->counts[sep] = static_cast<std::uint8_t>(total);
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
  parent->counts[sep] = static_cast<std::uint8_t>(left->count);
  parent->counts[sep + 1] = static_cast<std::uint8_t>(right->count);
  parent->keys[sep] = right->slots[0].order;
}

void Table::remove_child(Inner* parent, std::size_t separator_index) {
  // Drops keys[separator_index] and child[separator_index + 1].
  const std::size_t n = parent->count;
  std::copy(parent->keys + separator_index + 1, parent->keys + n - 1,
            parent->keys + separator_index);
  std::copy(parent->child + separator_index + 2, parent->child + n,
            parent->child + separator_index + 1);
  std::copy(parent->counts + separator_index + 2, parent->counts + n,
            parent->counts + separator_index + 1);
  --parent->count;
  seal(parent);
  mirror(parent);
}

void Table::rebalance_inner(Inner* node) {
  if (node->parent == nullptr) {
    if (node->count == 1) {  // the root has one child left: that child becomes the root
      root_ = node->child[0];
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
  auto* left = static_cast<Inner*>(parent->child[sep]);
  auto* right = static_cast<Inner*>(parent->child[sep + 1]);
  // Every inner node has children; saying so (on local copies: the uint8_t count stores below
  // may alias anything) also keeps GCC 12's -Wstringop-overflow from assuming `lc - 1` wraps.
  const std::size_t lc = left->count;
  const std::size_t rc = right->count;
  if (lc == 0 || rc == 0) return;
  const std::size_t total = lc + rc;
  work_ += total;
  // Both nodes with the parent's separator between them form one valid sequence of
  // children and keys; merging concatenates it, sharing cuts it at another child.
  Node* children[2 * kFanout];
  std::uint8_t counts[2 * kFanout];
  std::uint64_t keys[2 * kFanout];
  std::copy(left->child, left->child + lc, children);
  std::copy(right->child, right->child + rc, children + lc);
  std::copy(left->counts, left->counts + lc, counts);
  std::copy(right->counts, right->counts + rc, counts + lc);
  std::copy(left->keys, left->keys + lc - 1, keys);
  keys[lc - 1] = parent->keys[sep];
  std::copy(right->keys, right->keys + rc - 1, keys + lc);
  if (total <= kFanout * 3 / 4) {
    std::copy(children, children + total, left->child);
    std::copy(counts, counts + total, left->counts);
    std::copy(keys, keys + total - 1, left->keys);
    left->count = static_cast<std::uint32_t>(total);
    parent->counts[sep] = static_cast<std::uint8_t>(total);
    for (std::size_t c = 0; c < total; ++c) left->child[c]->parent = left;
    seal(left);
    remove_child(parent, sep);
    free_inner(right);
    rebalance_inner(parent);
    return;
  }
  const std::size_t want = total / 2;
  std::copy(children, children + want, left->child);
  std::copy(counts, counts + want, left->counts);
  std::copy(keys, keys + want - 1, left->keys);
  parent->keys[sep] = keys[want - 1];
  std::copy(children + want, children + total, right->child);
  std::copy(counts + want, counts + total, right->counts);
  std::copy(keys + want, keys + total - 1, right->keys);
  left->count = static_cast<std::uint32_t>(want);
  right->count = static_cast<std::uint32_t>(total - want);
  parent->counts[sep] = static_cast<std::uint8_t>(left->count);
  parent->counts[sep + 1] = static_cast<std::uint8_t>(right->count);
  for (std::size_t c = 0; c < left->count; ++c) left->child[c]->parent = left;
  for (std::size_t c = 0; c < right->count; ++c) right->child[c]->parent = right;
  seal(left);
  seal(right);
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
    for (std::size_t i = 0; i < kFanout - 1; ++i) {
      if (i + 1 < inner->count) {
        if (inner->keys[i] < lo || inner->keys[i] > hi) err = "separator out of bounds";
        if (i > 0 && inner->keys[i - 1] > inner->keys[i]) err = "separators out of order";
      } else if (inner->keys[i] != kTop) {
        err = "unused separator not sealed";
      }
    }
    for (std::size_t i = 0; i < inner->count; ++i) {
      const Node* c = inner->child[i];
      if (c->parent != inner) err = "parent pointer";
      if (inner->counts[i] != c->count) err = "mirrored count";
      self(self, c, depth + 1, i > 0 ? inner->keys[i - 1] : lo,
           i + 1 < inner->count ? inner->keys[i] : hi);
    }
  };
  visit(visit, root_, 0, 0, kTop);
  if (err.empty() && leaf_depth != height_) err = "height";
  if (err.empty() && prev != nullptr && prev->next != nullptr) err = "leaf list too long";
  if (err.empty() && entries != size_) err = "size";
  return err;
}

}  // namespace apiary::store::detail
