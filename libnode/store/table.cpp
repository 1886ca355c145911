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
  return new Inner();
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

std::size_t Table::child_index(const Inner* parent, const Node* child) {
  std::size_t i = 0;
  while (parent->child[i] != child) ++i;
  return i;
}

// ---- lookups ---------------------------------------------------------------------------------

Table::Leaf* Table::descend(std::uint64_t order, bool upper) const {
  Node* n = root_;
  while (!n->leaf) {
    const auto* inner = static_cast<const Inner*>(n);
    const std::uint64_t* keys = inner->keys;
    const std::uint64_t* end = keys + inner->count - 1;
    const std::uint64_t* it =
        upper ? std::upper_bound(keys, end, order) : std::lower_bound(keys, end, order);
    n = inner->child[it - keys];
  }
  return static_cast<Leaf*>(n);
}

namespace {
bool order_less(const Table::Slot& s, std::uint64_t order) { return s.order < order; }
}  // namespace

std::size_t Table::lower_bound(std::uint64_t order) const {
  const Leaf* leaf = descend(order, false);
  const std::size_t pos =
      std::lower_bound(leaf->slots, leaf->slots + leaf->count, order, order_less) - leaf->slots;
  // Everything in this leaf is smaller: the answer is the next leaf's first entry.
  if (pos < leaf->count) return handle(leaf, pos);
  return leaf->next != nullptr ? handle(leaf->next, 0) : slot_count();
}

std::size_t Table::find(std::uint64_t order, std::string_view key) const {
  for (std::size_t h = lower_bound(order); h < slot_count(); h = next(h)) {
    const Slot& s = slot(h);
    if (s.order != order) return npos;
    if (s.entry->key() == key) return h;
  }
  return npos;
}

std::size_t Table::next(std::size_t h) const {
  const Leaf* leaf = leaves_[h / kLeafSlots];
  if (h % kLeafSlots + 1 < leaf->count) return h + 1;
  return leaf->next != nullptr ? handle(leaf->next, 0) : slot_count();
}

std::size_t Table::sample(Rng& rng) const {
  if (size_ == 0) return npos;
  // Rejection over all slots of all leaves: uniform over entries whatever each leaf's fill.
  // Leaves are at least a quarter full, so this rarely takes more than a few draws.
  std::size_t h = 0;
  for (int attempt = 0; attempt < 64; ++attempt) {
    h = static_cast<std::size_t>(rng.uniform(slot_count()));
    if (is_live(h)) return h;
  }
  const Leaf* leaf = leaves_[h / kLeafSlots];
  return leaf->count > 0 ? handle(leaf, 0) : lower_bound(0);
}

// ---- insert ---------------------------------------------------------------------------------

std::size_t Table::insert(std::uint64_t order, Entry* entry) {
  ++size_;
  Leaf* leaf = descend(order, true);
  work_ += height_ + 1;
  const std::size_t pos =
      std::upper_bound(leaf->slots, leaf->slots + leaf->count, order,
                       [](std::uint64_t o, const Slot& s) { return o < s.order; }) -
      leaf->slots;
  if (leaf->count == kLeafSlots) return split_leaf(leaf, pos, order, entry);
  std::memmove(&leaf->slots[pos + 1], &leaf->slots[pos], (leaf->count - pos) * sizeof(Slot));
  work_ += leaf->count - pos;
  leaf->slots[pos] = Slot{order, entry};
  ++leaf->count;
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
    root->keys[0] = separator;
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
  parent->keys[at - 1] = separator;
  parent->child[at] = right;
  right->parent = parent;
  ++parent->count;
  work_ += n - at;
}

void Table::split_inner(Inner* node, std::size_t at, std::uint64_t separator, Node* right) {
  // The node's children and keys with the new child in place, then cut in two; the key at
  // the cut moves up.
  Node* children[kFanout + 1];
  std::uint64_t keys[kFanout];
  std::copy(node->child, node->child + at, children);
  children[at] = right;
  std::copy(node->child + at, node->child + kFanout, children + at + 1);
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
  std::copy(keys, keys + left_count - 1, node->keys);
  std::copy(children + left_count, children + kFanout + 1, sibling->child);
  std::copy(keys + left_count, keys + kFanout, sibling->keys);
  for (std::size_t i = 0; i < node->count; ++i) node->child[i]->parent = node;
  for (std::size_t i = 0; i < sibling->count; ++i) sibling->child[i]->parent = sibling;
  work_ += kFanout;
  insert_child(node, keys[left_count - 1], sibling);
}

// ---- erase ----------------------------------------------------------------------------------

void Table::erase(std::size_t h) {
  Leaf* leaf = leaves_[h / kLeafSlots];
  const std::size_t pos = h % kLeafSlots;
  std::memmove(&leaf->slots[pos], &leaf->slots[pos + 1], (leaf->count - pos - 1) * sizeof(Slot));
  work_ += leaf->count - pos;
  --leaf->count;
  leaf->slots[leaf->count] = Slot{};
  --size_;
  if (leaf->parent != nullptr && leaf->count < kMinLeaf) rebalance_leaf(leaf);
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
  parent->keys[sep] = right->slots[0].order;
}

void Table::remove_child(Inner* parent, std::size_t separator_index) {
  // Drops keys[separator_index] and child[separator_index + 1].
  const std::size_t n = parent->count;
  std::copy(parent->keys + separator_index + 1, parent->keys + n - 1,
            parent->keys + separator_index);
  std::copy(parent->child + separator_index + 2, parent->child + n,
            parent->child + separator_index + 1);
  --parent->count;
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
  const std::size_t total = left->count + right->count;
  work_ += total;
  // Both nodes with the parent's separator between them form one valid sequence of
  // children and keys; merging concatenates it, sharing cuts it at another child.
  Node* children[2 * kFanout];
  std::uint64_t keys[2 * kFanout];
  std::copy(left->child, left->child + left->count, children);
  std::copy(right->child, right->child + right->count, children + left->count);
  std::copy(left->keys, left->keys + left->count - 1, keys);
  keys[left->count - 1] = parent->keys[sep];
  std::copy(right->keys, right->keys + right->count - 1, keys + left->count);
  if (total <= kFanout * 3 / 4) {
    std::copy(children, children + total, left->child);
    std::copy(keys, keys + total - 1, left->keys);
    left->count = static_cast<std::uint32_t>(total);
    for (std::size_t c = 0; c < total; ++c) left->child[c]->parent = left;
    remove_child(parent, sep);
    free_inner(right);
    rebalance_inner(parent);
    return;
  }
  const std::size_t want = total / 2;
  std::copy(children, children + want, left->child);
  std::copy(keys, keys + want - 1, left->keys);
  parent->keys[sep] = keys[want - 1];
  std::copy(children + want, children + total, right->child);
  std::copy(keys + want, keys + total - 1, right->keys);
  left->count = static_cast<std::uint32_t>(want);
  right->count = static_cast<std::uint32_t>(total - want);
  for (std::size_t c = 0; c < left->count; ++c) left->child[c]->parent = left;
  for (std::size_t c = 0; c < right->count; ++c) right->child[c]->parent = right;
}

}  // namespace apiary::store::detail
