// The workload's end-of-run checks: convergence of every key's owners, lost writes and
// sibling preservation against the final versions.
#include <algorithm>

#include "apiary/sim/workload.hpp"

namespace apiary::sim {

namespace {

bool covers(const std::vector<data::ClockEntry>& clock, const data::Dot& dot) {
  for (const auto& e : clock) {
    if (e.actor == dot.actor) return e.counter >= dot.counter;
  }
  return false;
}

// A version's siblings as comparable values: (actor, counter, value), sorted.
std::vector<std::tuple<std::uint64_t, std::uint64_t, std::string>> sibling_set(
    const std::optional<store::VersionedEntry>& e) {
  std::vector<std::tuple<std::uint64_t, std::uint64_t, std::string>> out;
  if (!e) return out;
  for (const auto& s : e->version.siblings()) {
    out.emplace_back(s.dot.actor.value, s.dot.counter, s.value);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

WorkloadReport Workload::finish(World& world) {
  WorkloadReport r = report_;
  r.keys = options_.keys;
  for (const TimePoint t : open_handoffs_) {
    (void)t;
    r.handoff_s.push_back(-1.0);
  }
  const TimePoint now = world.now();
  for (std::uint32_t k = 0; k < options_.keys; ++k) {
    const std::string key = "key" + std::to_string(k);
    // Every running owner's copy, and their merge (the final version of the key).
    bool converged = true;
    bool first = true;
    std::vector<std::tuple<std::uint64_t, std::uint64_t, std::string>> reference;
    data::DvvSet merged;
    for (const auto& owner : owners_at(now, key)) {
      const auto index = parse_node_index(owner);
      Process* p = index ? world.process(*index) : nullptr;
      DataProcess* d = p == nullptr ? nullptr : p->data();
      if (d == nullptr) continue;
      const auto entry = d->entry(key, world.local_time(*index, now));
      const auto set = sibling_set(entry);
      if (first) {
        reference = set;
        first = false;
      } else if (set != reference) {
        converged = false;
      }
      if (entry) merged.merge(entry->version);
    }
    if (converged) {
      ++r.converged_keys;
    } else {
      note(key + ": owners hold different sibling sets");
    }
    r.max_siblings = std::max<std::uint64_t>(r.max_siblings, merged.siblings().size());

    auto it = writes_.find(key);
    if (it == writes_.end()) continue;
    const auto& writes = it->second;
    const bool unknown_write = std::any_of(writes.begin(), writes.end(),
                                           [](const WriteRecord& w) { return !w.outcome_known; });
    for (const auto& w : writes) {
      if (!w.acked || !w.dot) continue;
      if (!covers(merged.clock(), *w.dot)) {
        // Excused when W or more of the key's owners crashed after the write started.
        std::uint32_t crashed = 0;
        const auto owners = owners_at(w.completed, key);
        for (const auto& [node, at] : crashes_) {
          if (at >= w.started &&
              std::find(owners.begin(), owners.end(), node_name(node)) != owners.end()) {
            ++crashed;
          }
        }
        if (crashed >= options_.write_quorum) {
          ++r.lost_writes_excused;
        } else {
          ++r.lost_writes;
          note("lost write " + w.value + " of " + key);
        }
        continue;
      }
      const bool present = std::any_of(merged.siblings().begin(), merged.siblings().end(),
                                       [&](const data::Sibling& s) { return s.dot == *w.dot; });
      if (present || unknown_write) continue;
      const bool seen = std::any_of(writes.begin(), writes.end(), [&](const WriteRecord& o) {
        return o.op != w.op && o.outcome_known && covers(o.clock, *w.dot);
      });
      if (!seen) {
        ++r.sibling_violations;
        note("write " + w.value + " of " + key + " vanished though no write saw it");
      }
    }
  }
  return r;
}

}  // namespace apiary::sim
