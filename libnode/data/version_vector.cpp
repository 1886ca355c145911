#include "apiary/data/version_vector.hpp"

#include <algorithm>

namespace apiary::data {

const char* to_string(Order order) {
  switch (order) {
    case Order::equal:
      return "equal";
    case Order::before:
      return "before";
    case Order::after:
      return "after";
    case Order::concurrent:
      return "concurrent";
  }
  return "?";
}

VersionVector VersionVector::from_entries(std::vector<VvEntry> entries) {
  std::sort(entries.begin(), entries.end(), [](const VvEntry& a, const VvEntry& b) {
    return a.actor < b.actor || (a.actor == b.actor && a.counter > b.counter);
  });
  VersionVector out;
  for (const auto& e : entries) {
    if (e.counter == 0) continue;
    if (!out.entries_.empty() && out.entries_.back().actor == e.actor) continue;
    out.entries_.push_back(e);
  }
  return out;
}

std::uint64_t VersionVector::get(NodeId actor) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), actor,
                             [](const VvEntry& e, NodeId a) { return e.actor < a; });
  return it != entries_.end() && it->actor == actor ? it->counter : 0;
}

void VersionVector::raise(NodeId actor, std::uint64_t counter) {
  if (counter == 0) return;
  auto it = std::lower_bound(entries_.begin(), entries_.end(), actor,
                             [](const VvEntry& e, NodeId a) { return e.actor < a; });
  if (it != entries_.end() && it->actor == actor) {
    it->counter = std::max(it->counter, counter);
  } else {
    entries_.insert(it, VvEntry{actor, counter});
  }
}

void VersionVector::join(const VersionVector& other) {
  std::vector<VvEntry> out;
  out.reserve(entries_.size() + other.entries_.size());
  auto a = entries_.begin();
  auto b = other.entries_.begin();
  while (a != entries_.end() || b != other.entries_.end()) {
    if (b == other.entries_.end() || (a != entries_.end() && a->actor < b->actor)) {
      out.push_back(*a++);
    } else if (a == entries_.end() || b->actor < a->actor) {
      out.push_back(*b++);
    } else {
      out.push_back(VvEntry{a->actor, std::max(a->counter, b->counter)});
      ++a;
      ++b;
    }
  }
  entries_ = std::move(out);
}

Order compare(const VersionVector& a, const VersionVector& b) {
  bool a_more = false;  // some event in a that b lacks
  bool b_more = false;
  auto x = a.entries().begin();
  auto y = b.entries().begin();
  const auto xe = a.entries().end();
  const auto ye = b.entries().end();
  while (x != xe || y != ye) {
    if (y == ye || (x != xe && x->actor < y->actor)) {
      a_more = true;
      ++x;
    } else if (x == xe || y->actor < x->actor) {
      b_more = true;
      ++y;
    } else {
      if (x->counter > y->counter) a_more = true;
      if (y->counter > x->counter) b_more = true;
      ++x;
      ++y;
    }
    if (a_more && b_more) return Order::concurrent;
  }
  if (a_more) return Order::after;
  if (b_more) return Order::before;
  return Order::equal;
}

}  // namespace apiary::data
