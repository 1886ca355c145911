// Reads during handoff: a partition this node gained stays "in transition" -- reads also ask
// the previous owners -- until every previous owner sent its final handoff batch (handoff.cpp
// makes each former owner send one to each new owner, an empty marker if it has nothing), or
// went away, or sent no batch of it for handoff_wait_timeout.
//
// Who the previous owners are is a guess from this node's own views. A node that was not an
// owner of the partition before waits for the owners of its previous view. Members that
// appear in its view (all of them on a first view) may hold partitions this node owns
// already -- it may be the one joining, and its earlier views may have missed members -- so
// for every owned partition it also waits for every appeared member; handoff.cpp makes each
// member send an appeared member a final batch for every partition that member owns.
#include <algorithm>

#include "replicator_state.hpp"

namespace apiary::replication {

namespace {

bool contains(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

std::vector<std::string> Replicator::State::appeared_members(const ClusterView& before,
                                                             bool had_view) const {
  std::vector<std::string> out;
  for (const auto& m : view.members()) {
    if (m.name == self() || !m.live) continue;
    if (!had_view || before.find(m.name) == nullptr) out.push_back(m.name);
  }
  return out;
}

void Replicator::State::set_transition_deadline(std::uint32_t pv, Transition& t, TimePoint at) {
  transition_deadlines.erase({t.deadline, pv});
  t.deadline = at;
  transition_deadlines.emplace(at, pv);
}

void Replicator::State::end_transition(std::map<std::uint32_t, Transition>::iterator it,
                                       bool completed) {
  const std::uint32_t pv = it->first;
  ++(completed ? stats.transitions_completed : stats.transitions_abandoned);
  transition_deadlines.erase({it->second.deadline, pv});
  transitions.erase(it);
}

void Replicator::State::plan_transitions(TimePoint now, const ClusterView& before, bool had_view,
                                         const std::vector<std::string>& appeared) {
  const auto wait = config.handoff_wait_timeout;
  for (auto it = recent_finals.begin(); it != recent_finals.end();) {
    it = it->second + wait <= now ? recent_finals.erase(it) : std::next(it);
  }
  lost_in_transition.clear();
  for (auto it = recent_handoff_in.begin(); it != recent_handoff_in.end();) {
    it = it->second + wait <= now ? recent_handoff_in.erase(it) : std::next(it);
  }
  for (auto it = relays.begin(); it != relays.end();) {
    it = it->second <= now ? relays.erase(it) : std::next(it);
  }
  for (std::uint32_t pv = 0; pv < view.partition_count(); ++pv) {
    const PartitionId p{pv};
    auto it = transitions.find(pv);
    if (leaving || !view.owns(self(), p)) {
      if (it != transitions.end()) {
        lost_in_transition.insert(pv);
        relays[pv] = now + wait;
        end_transition(it, false);
      }
      continue;
    }
    const bool in_transition = it != transitions.end();
    const bool was_owner = had_view && before.owns(self(), p);
    if (was_owner && !in_transition && appeared.empty()) continue;

    std::vector<std::string> candidates;
    if (had_view && !was_owner) candidates = before.owners(p);
    if (in_transition) {
      for (const auto& o : it->second.waiting) {
        if (!contains(candidates, o)) candidates.push_back(o);
      }
    }
    // A member new to this view may hold the partition already: this node may be the one
    // joining (its earlier views missed members, and which of them held the partition depends
    // on members it may not know yet either), or two sides of a partition meet again.
    for (const auto& a : appeared) {
      if (!contains(candidates, a)) candidates.push_back(a);
    }
    std::set<std::string> waiting;
    for (auto& o : candidates) {
      if (o == self() || !view.is_live(o)) continue;
      if (in_transition && it->second.done.count(o) != 0) continue;
      if (recent_finals.count({pv, o}) != 0) continue;
      waiting.insert(std::move(o));
    }
    if (waiting.empty()) {
      if (in_transition) end_transition(it, false);  // the owners it waited for went away
      continue;
    }
    bool added = !in_transition;
    if (!in_transition) {
      ++stats.transitions_started;
      it = transitions.emplace(pv, Transition{}).first;
    } else {
      for (const auto& o : waiting) added = added || it->second.waiting.count(o) == 0;
    }
    it->second.waiting = std::move(waiting);
    if (added) set_transition_deadline(pv, it->second, now + wait);
  }
}

void Replicator::State::note_handoff_batch(TimePoint now, std::uint32_t pv, std::string_view from,
                                           bool final) {
  const std::string sender(from);
  recent_handoff_in[pv] = now;
  if (final) recent_finals[{pv, sender}] = now;
  auto it = transitions.find(pv);
  if (it == transitions.end() || it->second.waiting.count(sender) == 0) return;
  set_transition_deadline(pv, it->second, now + config.handoff_wait_timeout);
  if (!final) return;
  it->second.waiting.erase(sender);
  it->second.done.insert(sender);
  if (it->second.waiting.empty()) end_transition(it, true);
}

void Replicator::State::expire_transitions(TimePoint now) {
  while (!transition_deadlines.empty() && transition_deadlines.begin()->first <= now) {
    const std::uint32_t pv = transition_deadlines.begin()->second;
    auto it = transitions.find(pv);
    if (it == transitions.end()) {
      transition_deadlines.erase(transition_deadlines.begin());
      continue;
    }
    end_transition(it, false);
  }
}

TimePoint Replicator::State::next_transition_deadline() const {
  return transition_deadlines.empty() ? kNever : transition_deadlines.begin()->first;
}

std::vector<std::string> Replicator::State::transition_sources(std::uint32_t pv) const {
  auto it = transitions.find(pv);
  if (it == transitions.end()) return {};
  // Those that finished are asked too: a co-owner that sent only a marker (another member was
  // to stream) has the data, the member streaming it may not have all of it yet.
  std::vector<std::string> out(it->second.waiting.begin(), it->second.waiting.end());
  for (const auto& d : it->second.done) {
    if (view.is_live(d)) out.push_back(d);
  }
  return out;
}

// ---- Replicator --------------------------------------------------------------------------

bool Replicator::read_is_local(std::string_view key, std::uint32_t read_quorum) const {
  const State& s = *state_;
  if (!owns(key)) return false;
  if (s.transitions.count(s.partition_of(key).value) != 0) return false;
  if (s.promoting(s.partition_of(key))) return false;
  const std::uint32_t r = read_quorum == 0 ? s.config.read_quorum : read_quorum;
  return r <= 1 || s.view.table().replicas() <= 1;
}

std::size_t Replicator::partitions_in_transition() const { return state_->transitions.size(); }

Replicator::HandoffProgress Replicator::handoff_progress() const {
  const State& s = *state_;
  HandoffProgress out;
  out.outbound_partitions = s.handoffs.size();
  for (const auto& [partition, task] : s.handoffs) {
    out.outbound_streams += task.targets.size();
    for (const auto& [target, progress] : task.targets) out.outbound_streams_done += progress.done;
  }
  out.inbound_partitions = s.transitions.size();
  for (const auto& [partition, transition] : s.transitions) {
    out.inbound_owners_waiting += transition.waiting.size();
    out.inbound_owners_done += transition.done.size();
  }
  return out;
}

}  // namespace apiary::replication
