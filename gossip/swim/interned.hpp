// Interned<T>: one shared, immutable copy of each distinct value, behind an 8-byte handle.
//
// The simulator keeps thousands of Swim instances in one process, each holding every member's
// name, address and metadata: interned, a name is stored once per process instead of once per
// (instance, member) pair, and a member record holds three 8-byte handles instead of two
// 32-byte strings and a 16-byte shared_ptr. In the runtime (one instance) it costs a hash
// lookup when a member is learned or changes, nothing per message.
//
// Interned<T>::of(value) returns the pooled copy equal to `value` (making it when there is
// none); a default handle is null. Handles are reference-counted (intrusive, atomic); the
// last one to go deletes the value and its pool entry, so a long-lived node does not keep the
// names of members that are long gone. Thread-safe: one mutex per T, taken only by of() and
// by the release of a last reference; copying and reading a handle take no lock. Pointer
// identity never reaches any output, so interning does not affect determinism.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apiary::gossip::detail {

// How a value of T is hashed and compared with its lookup key K (std::string is looked up by
// std::string_view without a copy).
template <typename T>
struct InternTraits {
  using Key = const T&;
  static std::size_t hash(const T& v) { return std::hash<T>{}(v); }
  static T make(const T& k) { return k; }
};
template <>
struct InternTraits<std::string> {
  using Key = std::string_view;
  static std::size_t hash(std::string_view v) { return std::hash<std::string_view>{}(v); }
  static std::string make(std::string_view k) { return std::string(k); }
};

template <typename T>
class Interned {
 public:
  using Traits = InternTraits<T>;
  using Key = typename Traits::Key;

  Interned() = default;
  Interned(const Interned& other) : node_(other.node_) {
    if (node_ != nullptr) node_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  Interned(Interned&& other) noexcept : node_(std::exchange(other.node_, nullptr)) {}
  Interned& operator=(Interned other) noexcept {
    std::swap(node_, other.node_);
    return *this;
  }
  ~Interned() { release(); }

  static Interned of(Key value) {
    const std::size_t h = Traits::hash(value);
    Pool& p = pool();
    std::lock_guard lock(p.mu);
    if (!p.slots.empty()) {
      const std::size_t mask = p.slots.size() - 1;
      for (std::size_t b = h & mask; p.slots[b] != nullptr; b = (b + 1) & mask) {
        Node* n = p.slots[b];
        // A node whose count already reached zero is being deleted by its last owner (who
        // waits for this mutex to unlink it): do not revive it, make a fresh one.
        if (n->hash == h && n->value == value && acquire_if_live(n)) return Interned(n);
      }
    }
    Node* n = new Node{{1}, h, Traits::make(value)};
    p.insert(n);
    return Interned(n);
  }

  const T* get() const { return node_ == nullptr ? nullptr : &node_->value; }
  const T& operator*() const { return node_->value; }
  const T* operator->() const { return &node_->value; }
  explicit operator bool() const { return node_ != nullptr; }
  // The hash of the value (0 for null), computed once when it was interned.
  std::size_t hash() const { return node_ == nullptr ? 0 : node_->hash; }
  // Equal handles hold equal values (one copy per distinct value).
  friend bool operator==(const Interned& a, const Interned& b) { return a.node_ == b.node_; }

 private:
  struct Node {
    std::atomic<std::uint32_t> refs;
    std::size_t hash;
    T value;
  };
  // Open addressing with linear probing on the node's hash, at most half full; never
  // iterated in an output order.
  struct Pool {
    std::mutex mu;
    std::vector<Node*> slots;
    std::size_t count = 0;

    void insert(Node* n) {
      if ((count + 1) * 2 > slots.size()) {
        std::vector<Node*> old = std::move(slots);
        slots.assign(std::max<std::size_t>(64, old.size() * 2), nullptr);
        for (Node* o : old) {
          if (o != nullptr) place(o);
        }
      }
      place(n);
      ++count;
    }
    void place(Node* n) {
      const std::size_t mask = slots.size() - 1;
      std::size_t b = n->hash & mask;
      while (slots[b] != nullptr) b = (b + 1) & mask;
      slots[b] = n;
    }
    void erase(Node* n) {
      const std::size_t mask = slots.size() - 1;
      std::size_t hole = n->hash & mask;
      while (slots[hole] != n) hole = (hole + 1) & mask;
      // Backward-shift deletion: no tombstones.
      for (std::size_t next = (hole + 1) & mask; slots[next] != nullptr; next = (next + 1) & mask) {
        const std::size_t home = slots[next]->hash & mask;
        const bool movable =
            hole <= next ? (home <= hole || home > next) : (home <= hole && home > next);
        if (movable) {
          slots[hole] = slots[next];
          hole = next;
        }
      }
      slots[hole] = nullptr;
      --count;
    }
  };
  // Leaked on purpose: handles held by static objects may outlive any destructor order.
  static Pool& pool() {
    static Pool* p = new Pool;
    return *p;
  }
  static bool acquire_if_live(Node* n) {
    std::uint32_t r = n->refs.load(std::memory_order_relaxed);
    while (r != 0) {
      if (n->refs.compare_exchange_weak(r, r + 1, std::memory_order_relaxed)) return true;
    }
    return false;
  }

  explicit Interned(Node* n) : node_(n) {}
  void release() {
    Node* n = std::exchange(node_, nullptr);
    if (n == nullptr || n->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    {
      Pool& p = pool();
      std::lock_guard lock(p.mu);
      p.erase(n);
    }
    delete n;
  }

  Node* node_ = nullptr;
};

using InternedString = Interned<std::string>;

}  // namespace apiary::gossip::detail
