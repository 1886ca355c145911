#include "apiary/data/dvv.hpp"

#include <algorithm>

#include "apiary/data/collection.hpp"

namespace apiary::data {

bool operator==(const Sibling& a, const Sibling& b) {
  if (a.dot != b.dot || a.stamp != b.stamp || a.value != b.value || a.kind != b.kind) return false;
  if (a.collection == nullptr || b.collection == nullptr) return a.collection == b.collection;
  return *a.collection == *b.collection;
}

bool lww_less(const Sibling& a, const Sibling& b) {
  if (a.stamp != b.stamp) return a.stamp < b.stamp;
  if (a.dot.actor != b.dot.actor) return a.dot.actor < b.dot.actor;
  return a.dot.counter < b.dot.counter;
}

const Sibling* lww_pick(std::span<const Sibling> siblings) {
  const Sibling* best = nullptr;
  for (const auto& s : siblings) {
    if (best == nullptr || lww_less(*best, s)) best = &s;
  }
  return best;
}

namespace {
auto clock_lower(std::vector<ClockEntry>& clock, NodeId actor) {
  return std::lower_bound(clock.begin(), clock.end(), actor,
                          [](const ClockEntry& e, NodeId a) { return e.actor < a; });
}
}  // namespace

Result<DvvSet> DvvSet::from_parts(std::vector<ClockEntry> clock, std::vector<Sibling> siblings) {
  for (std::size_t i = 0; i < clock.size(); ++i) {
    if (clock[i].counter == 0) return make_error(StatusCode::malformed, "zero clock counter");
    if (i > 0 && !(clock[i - 1].actor < clock[i].actor)) {
      return make_error(StatusCode::malformed, "clock actors not strictly increasing");
    }
  }
  DvvSet out;
  out.clock_ = std::move(clock);
  for (std::size_t i = 0; i < siblings.size(); ++i) {
    if (i > 0 && !(siblings[i - 1].dot < siblings[i].dot)) {
      return make_error(StatusCode::malformed, "sibling dots not strictly increasing");
    }
    const auto& d = siblings[i].dot;
    if (d.counter == 0 || out.counter(d.actor) < d.counter) {
      return make_error(StatusCode::malformed, "sibling dot not covered by the clock");
    }
  }
  out.siblings_ = std::move(siblings);
  return out;
}

std::uint64_t DvvSet::counter(NodeId actor) const {
  auto it = std::lower_bound(clock_.begin(), clock_.end(), actor,
                             [](const ClockEntry& e, NodeId a) { return e.actor < a; });
  return it != clock_.end() && it->actor == actor ? it->counter : 0;
}

VersionVector DvvSet::context() const {
  std::vector<VvEntry> entries;
  entries.reserve(clock_.size());
  for (const auto& e : clock_) entries.push_back(VvEntry{e.actor, e.counter});
  return VersionVector::from_entries(std::move(entries));
}

void DvvSet::absorb_context(const VersionVector& context) {
  std::erase_if(siblings_,
                [&](const Sibling& s) { return context.covers(s.dot.actor, s.dot.counter); });
  for (const auto& e : context.entries()) {
    auto it = clock_lower(clock_, e.actor);
    if (it != clock_.end() && it->actor == e.actor) {
      it->counter = std::max(it->counter, e.counter);
    } else {
      // The context does not say when the actor's events happened: stamp 0 makes such
      // entries the first candidates for pruning.
      clock_.insert(it, ClockEntry{e.actor, e.counter, HlcTimestamp{}});
    }
  }
}

std::uint64_t DvvSet::advance(NodeId self, std::uint64_t floor, HlcTimestamp stamp) {
  auto it = clock_lower(clock_, self);
  if (it == clock_.end() || it->actor != self) {
    it = clock_.insert(it, ClockEntry{self, 0, HlcTimestamp{}});
  }
  it->counter = std::max(it->counter, floor) + 1;
  it->stamp = std::max(it->stamp, stamp);
  return it->counter;
}

Dot DvvSet::update(const VersionVector& context, NodeId self, HlcTimestamp stamp,
                   std::string value, ValueKind kind) {
  const std::uint64_t floor = context.get(self);
  absorb_context(context);
  const Dot dot{self, advance(self, floor, stamp)};
  Sibling s{dot, stamp, std::move(value), kind};
  auto pos = std::lower_bound(siblings_.begin(), siblings_.end(), dot,
                              [](const Sibling& x, const Dot& d) { return x.dot < d; });
  siblings_.insert(pos, std::move(s));
  return dot;
}

Dot DvvSet::update(const VersionVector& context, NodeId self, HlcTimestamp stamp,
                   std::shared_ptr<Collection> collection, ValueKind kind) {
  const Dot dot = update(context, self, stamp, std::string(), kind);
  for (auto& s : siblings_) {
    if (s.dot == dot) s.collection = std::move(collection);
  }
  return dot;
}

Dot DvvSet::remove(const VersionVector& context, NodeId self, HlcTimestamp stamp) {
  const std::uint64_t floor = context.get(self);
  absorb_context(context);
  return Dot{self, advance(self, floor, stamp)};
}

namespace {

// The siblings of `mine` (of the set `mine_of`) joined with `theirs`'s: a sibling survives
// unless the other side has seen its dot. Moves out of `mine` when it is mutable, copies
// when it is const.
template <typename Siblings>
std::vector<Sibling> join_siblings(Siblings& mine, const DvvSet& mine_of, const DvvSet& theirs) {
  std::vector<Sibling> kept;
  kept.reserve(mine.size() + theirs.siblings().size());
  auto a = mine.begin();
  auto b = theirs.siblings().begin();
  const auto b_end = theirs.siblings().end();
  while (a != mine.end() || b != b_end) {
    if (b == b_end || (a != mine.end() && a->dot < b->dot)) {
      // Only here: the other side dropped it if it has seen its dot.
      if (theirs.counter(a->dot.actor) < a->dot.counter) kept.push_back(std::move(*a));
      ++a;
    } else if (a == mine.end() || b->dot < a->dot) {
      if (mine_of.counter(b->dot.actor) < b->dot.counter) kept.push_back(*b);
      ++b;
    } else {
      kept.push_back(std::move(*a));  // same dot, same write
      ++a;
      ++b;
    }
  }
  return kept;
}

std::vector<ClockEntry> join_clocks(const std::vector<ClockEntry>& mine,
                                    const std::vector<ClockEntry>& theirs) {
  std::vector<ClockEntry> clock;
  clock.reserve(mine.size() + theirs.size());
  auto x = mine.begin();
  auto y = theirs.begin();
  while (x != mine.end() || y != theirs.end()) {
    if (y == theirs.end() || (x != mine.end() && x->actor < y->actor)) {
      clock.push_back(*x++);
    } else if (x == mine.end() || y->actor < x->actor) {
      clock.push_back(*y++);
    } else {
      clock.push_back(
          ClockEntry{x->actor, std::max(x->counter, y->counter), std::max(x->stamp, y->stamp)});
      ++x;
      ++y;
    }
  }
  return clock;
}

}  // namespace

void DvvSet::merge(const DvvSet& other) {
  // Siblings first: joining them reads this set's clock as it was.
  siblings_ = join_siblings(siblings_, *this, other);
  clock_ = join_clocks(clock_, other.clock_);
}

DvvSet DvvSet::joined(const DvvSet& a, const DvvSet& b) {
  DvvSet out;
  out.siblings_ = join_siblings(a.siblings_, a, b);
  out.clock_ = join_clocks(a.clock_, b.clock_);
  return out;
}

PruneReport DvvSet::prune(const DvvLimits& limits, std::span<const NodeId> keep) {
  PruneReport report;
  if (siblings_.size() > limits.max_siblings) {
    std::vector<Sibling> by_lww(std::make_move_iterator(siblings_.begin()),
                                std::make_move_iterator(siblings_.end()));
    std::sort(by_lww.begin(), by_lww.end(),
              [](const Sibling& a, const Sibling& b) { return lww_less(b, a); });
    report.siblings_dropped = by_lww.size() - limits.max_siblings;
    by_lww.resize(limits.max_siblings);
    std::sort(by_lww.begin(), by_lww.end(),
              [](const Sibling& a, const Sibling& b) { return a.dot < b.dot; });
    siblings_ = std::move(by_lww);
  }
  if (clock_.size() > limits.max_clock_entries) {
    std::vector<std::size_t> candidates;
    for (std::size_t i = 0; i < clock_.size(); ++i) {
      const NodeId actor = clock_[i].actor;
      if (std::find(keep.begin(), keep.end(), actor) != keep.end()) continue;
      const bool has_sibling = std::any_of(siblings_.begin(), siblings_.end(),
                                           [&](const Sibling& s) { return s.dot.actor == actor; });
      if (!has_sibling) candidates.push_back(i);
    }
    std::sort(candidates.begin(), candidates.end(), [&](std::size_t a, std::size_t b) {
      if (clock_[a].stamp != clock_[b].stamp) return clock_[a].stamp < clock_[b].stamp;
      return clock_[a].actor < clock_[b].actor;
    });
    const std::size_t excess = clock_.size() - limits.max_clock_entries;
    candidates.resize(std::min(excess, candidates.size()));
    std::sort(candidates.begin(), candidates.end());
    for (auto it = candidates.rbegin(); it != candidates.rend(); ++it) {
      clock_.erase(clock_.begin() + static_cast<std::ptrdiff_t>(*it));
    }
    report.clock_entries_dropped = candidates.size();
  }
  return report;
}

Order compare(const DvvSet& a, const DvvSet& b) { return compare(a.context(), b.context()); }

}  // namespace apiary::data
