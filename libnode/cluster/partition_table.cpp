#include "apiary/cluster/partition_table.hpp"

#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace apiary::cluster {

std::uint64_t rendezvous_score(PartitionId p, std::string_view member) {
  // Seeding by the partition id keeps one hash pass per (partition, member) pair.
  return XXH3_64bits_withSeed(member.data(), member.size(), 0x9e3779b97f4a7c15ULL ^ p.value);
}

PartitionTable PartitionTable::build(std::vector<std::string> members,
                                     PartitionTableOptions options) {
  PartitionTable t;
  std::sort(members.begin(), members.end());
  members.erase(std::unique(members.begin(), members.end()), members.end());
  t.options_ = options;
  t.members_ = std::move(members);
  const auto n = static_cast<std::uint32_t>(t.members_.size());
  t.replicas_ = std::min(options.replicas, n);
  if (n == 0 || t.replicas_ == 0) return t;
  const std::uint32_t parts = options.partition_count;
  t.owners_.assign(static_cast<std::size_t>(parts) * t.replicas_, 0);

  const bool bounded = options.load_factor > 1.0;
  const auto cap = static_cast<std::uint32_t>(
      std::ceil(options.load_factor * static_cast<double>(parts) / static_cast<double>(n)));
  // load[rank][member]
  std::vector<std::vector<std::uint32_t>> load(t.replicas_, std::vector<std::uint32_t>(n, 0));

  std::vector<std::pair<std::uint64_t, std::uint32_t>> ranked(n);
  for (std::uint32_t p = 0; p < parts; ++p) {
    for (std::uint32_t m = 0; m < n; ++m) {
      ranked[m] = {rendezvous_score(PartitionId{p}, t.members_[m]), m};
    }
    // Highest score first; ties (astronomically rare) broken by name order.
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    std::vector<bool> used(n, false);
    for (std::uint32_t rank = 0; rank < t.replicas_; ++rank) {
      std::uint32_t chosen = n;
      for (const auto& [score, m] : ranked) {
        if (used[m]) continue;
        if (bounded && load[rank][m] >= cap) continue;
        chosen = m;
        break;
      }
      if (chosen == n) {  // every remaining member is at the cap: take the best unused
        for (const auto& [score, m] : ranked) {
          if (!used[m]) {
            chosen = m;
            break;
          }
        }
      }
      used[chosen] = true;
      ++load[rank][chosen];
      t.owners_[static_cast<std::size_t>(p) * t.replicas_ + rank] = chosen;
    }
  }
  return t;
}

std::span<const std::uint32_t> PartitionTable::owner_indices(PartitionId p) const {
  if (replicas_ == 0 || p.value >= options_.partition_count) return {};
  return std::span<const std::uint32_t>(owners_).subspan(
      static_cast<std::size_t>(p.value) * replicas_, replicas_);
}

std::vector<std::string> PartitionTable::owners(PartitionId p) const {
  std::vector<std::string> out;
  for (auto i : owner_indices(p)) out.push_back(members_[i]);
  return out;
}

const std::string& PartitionTable::primary(PartitionId p) const {
  static const std::string none;
  auto idx = owner_indices(p);
  return idx.empty() ? none : members_[idx[0]];
}

bool PartitionTable::owns(std::string_view member, PartitionId p) const {
  for (auto i : owner_indices(p)) {
    if (members_[i] == member) return true;
  }
  return false;
}

std::vector<PartitionId> PartitionTable::partitions_of(std::string_view member) const {
  std::vector<PartitionId> out;
  for (std::uint32_t p = 0; p < options_.partition_count && replicas_ > 0; ++p) {
    if (owns(member, PartitionId{p})) out.push_back(PartitionId{p});
  }
  return out;
}

std::vector<std::uint32_t> PartitionTable::load_at_rank(std::uint32_t rank) const {
  std::vector<std::uint32_t> load(members_.size(), 0);
  if (rank >= replicas_) return load;
  for (std::uint32_t p = 0; p < options_.partition_count; ++p) {
    ++load[owners_[static_cast<std::size_t>(p) * replicas_ + rank]];
  }
  return load;
}

std::uint64_t PartitionTable::fingerprint() const {
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  for (const auto& m : members_) XXH3_64bits_update(state, m.data(), m.size() + 1);
  XXH3_64bits_update(state, owners_.data(), owners_.size() * sizeof(std::uint32_t));
  const std::uint64_t h = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return h;
}

}  // namespace apiary::cluster
