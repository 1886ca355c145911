// Reads during handoff: a partition this node gained stays "in transition" -- reads also ask
// the previous owners -- until every previous owner sent its final handoff batch (handoff.cpp
// makes each former owner send one to each new owner, an empty marker if it has nothing), or
// went away, or sent nothing at all for handoff_wait_timeout.
//
// Who the previous owners are is a guess from this node's own views. A node that was not an
// owner of the partition before waits for the owners of its previous view. A node whose
// previous view held nobody else (its first view, or a node that just joined and saw only
// itself) cannot know the partition's history, so it waits for the owners the partition
// would have without it -- where the data lives if the rest of the cluster was stable.
#include <algorithm>

#include "replicator_state.hpp"

namespace apiary::replication {

namespace {

bool contains(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

void Replicator::State::plan_transitions(TimePoint now, const ClusterView& before, bool had_view) {
  const auto wait = config.handoff_wait_timeout;
  for (auto it = recent_finals.begin(); it != recent_finals.end();) {
    it = it->second + wait <= now ? recent_finals.erase(it) : std::next(it);
  }
  if (leaving) {
    transitions.clear();
    return;
  }
  const bool was_alone = !had_view || before.members().size() <= 1;
  // The ring as if this node were not in it: where a joining node's partitions live now.
  ClusterView without_self;
  bool have_without_self = false;
  for (std::uint32_t pv = 0; pv < view.partition_count(); ++pv) {
    const PartitionId p{pv};
    auto it = transitions.find(pv);
    if (!view.owns(self(), p)) {
      if (it != transitions.end()) transitions.erase(it);
      continue;
    }
    const bool in_transition = it != transitions.end();
    if (!was_alone && !in_transition && before.owns(self(), p)) continue;

    std::vector<std::string> candidates;
    if (was_alone || in_transition) {
      if (!have_without_self) {
        without_self = view.without(self(), config);
        have_without_self = true;
      }
      candidates = without_self.owners(p);
    }
    if (!was_alone) {
      for (auto& o : before.owners(p)) {
        if (!contains(candidates, o)) candidates.push_back(std::move(o));
      }
    }
    if (in_transition) {
      for (const auto& o : it->second.waiting) {
        if (!contains(candidates, o)) candidates.push_back(o);
      }
    }
    std::set<std::string> waiting;
    for (auto& o : candidates) {
      if (o == self() || !view.is_live(o)) continue;
      if (in_transition && it->second.done.count(o) != 0) continue;
      if (recent_finals.count({pv, o}) != 0) continue;
      waiting.insert(std::move(o));
    }
    if (waiting.empty()) {
      if (in_transition) {
        ++stats.transitions_abandoned;  // the owners it waited for went away
        transitions.erase(it);
      }
      continue;
    }
    if (!in_transition) {
      ++stats.transitions_started;
      it = transitions.emplace(pv, Transition{}).first;
    }
    for (const auto& o : waiting) {
      if (it->second.waiting.count(o) != 0) continue;
      auto& deadline = source_deadline[o];
      deadline = std::max(deadline, now + wait);
    }
    it->second.waiting = std::move(waiting);
  }
}

void Replicator::State::note_handoff_batch(TimePoint now, std::uint32_t pv, std::string_view from,
                                           bool final) {
  const std::string sender(from);
  if (auto d = source_deadline.find(sender); d != source_deadline.end()) {
    d->second = std::max(d->second, now + config.handoff_wait_timeout);
  }
  if (!final) return;
  recent_finals[{pv, sender}] = now;
  auto it = transitions.find(pv);
  if (it == transitions.end() || it->second.waiting.erase(sender) == 0) return;
  it->second.done.insert(sender);
  if (it->second.waiting.empty()) {
    ++stats.transitions_completed;
    transitions.erase(it);
  }
}

void Replicator::State::expire_sources(TimePoint now) {
  for (auto d = source_deadline.begin(); d != source_deadline.end();) {
    if (d->second > now) {
      ++d;
      continue;
    }
    const std::string silent = d->first;
    d = source_deadline.erase(d);
    for (auto it = transitions.begin(); it != transitions.end();) {
      if (it->second.waiting.erase(silent) != 0 && it->second.waiting.empty()) {
        ++stats.transitions_abandoned;
        it = transitions.erase(it);
      } else {
        ++it;
      }
    }
  }
}

TimePoint Replicator::State::next_source_deadline() const {
  TimePoint t = kNever;
  for (const auto& [name, deadline] : source_deadline) t = std::min(t, deadline);
  return t;
}

std::vector<std::string> Replicator::State::transition_sources(std::uint32_t pv) const {
  auto it = transitions.find(pv);
  if (it == transitions.end()) return {};
  return {it->second.waiting.begin(), it->second.waiting.end()};
}

// ---- Replicator --------------------------------------------------------------------------

bool Replicator::read_is_local(std::string_view key, std::uint32_t read_quorum) const {
  const State& s = *state_;
  if (!owns(key)) return false;
  if (s.transitions.count(s.partition_of(key).value) != 0) return false;
  const std::uint32_t r = read_quorum == 0 ? s.config.read_quorum : read_quorum;
  return r <= 1 || s.view.table().replicas() <= 1;
}

std::size_t Replicator::partitions_in_transition() const { return state_->transitions.size(); }

}  // namespace apiary::replication
