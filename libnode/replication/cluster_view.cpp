#include "apiary/replication/cluster_view.hpp"

#include <algorithm>
#include <cassert>

namespace apiary::replication {

ClusterView ClusterView::make(std::string self, std::vector<ViewMember> members,
                              const ReplicationConfig& config) {
  ClusterView v;
  v.self_ = std::move(self);
  std::stable_sort(members.begin(), members.end(),
                   [](const ViewMember& a, const ViewMember& b) { return a.name < b.name; });
  members.erase(
      std::unique(members.begin(), members.end(),
                  [](const ViewMember& a, const ViewMember& b) { return a.name == b.name; }),
      members.end());
  v.members_ = std::move(members);
  std::vector<std::string> names;
  names.reserve(v.members_.size());
  for (const auto& m : v.members_) names.push_back(m.name);
  v.table_ = cluster::PartitionTable::build(
      std::move(names), {config.partition_count, config.replicas, config.load_factor});
  assert(v.table_.members().size() == v.members_.size());  // is_live_at() indexes both
  return v;
}

ClusterView ClusterView::without(std::string_view name, const ReplicationConfig& config) const {
  std::vector<ViewMember> rest;
  for (const auto& m : members_) {
    if (m.name != name) rest.push_back(m);
  }
  ClusterView v = make(self_, std::move(rest), config);
  // The departing node still needs its own address on outgoing envelopes.
  if (const ViewMember* me = find(self_); me != nullptr && v.find(self_) == nullptr) {
    v.self_addr_ = me->data_addr;
  }
  return v;
}

const ViewMember* ClusterView::find(std::string_view name) const {
  auto it = std::lower_bound(members_.begin(), members_.end(), name,
                             [](const ViewMember& m, std::string_view n) { return m.name < n; });
  if (it == members_.end() || it->name != name) return nullptr;
  return &*it;
}

const std::string* ClusterView::first_live_owner(PartitionId p) const {
  for (auto i : table_.owner_indices(p)) {
    if (is_live_at(i)) return &table_.members()[i];
  }
  return nullptr;
}

bool ClusterView::is_live(std::string_view name) const {
  const ViewMember* m = find(name);
  return m != nullptr && m->live;
}

std::optional<std::string> ClusterView::addr_of(std::string_view name) const {
  const std::string* addr = addr_ref(name);
  if (addr == nullptr) return std::nullopt;
  return *addr;
}

const std::string* ClusterView::addr_ref(std::string_view name) const {
  if (const ViewMember* m = find(name); m != nullptr) return &m->data_addr;
  if (name == self_ && !self_addr_.empty()) return &self_addr_;
  return nullptr;
}

std::vector<std::string> ClusterView::standins(PartitionId p) const {
  std::vector<std::pair<std::uint64_t, const std::string*>> scored;
  for (const auto& m : members_) {
    if (!m.live || table_.owns(m.name, p)) continue;
    scored.emplace_back(cluster::rendezvous_score(p, m.name), &m.name);
  }
  std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : *a.second < *b.second;
  });
  std::vector<std::string> out;
  out.reserve(scored.size());
  for (const auto& s : scored) out.push_back(*s.second);
  return out;
}

}  // namespace apiary::replication
