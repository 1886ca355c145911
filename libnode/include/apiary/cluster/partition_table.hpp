// PartitionTable: which members own which partition, as a pure function of the member set.
//
// Each partition's preference list (its owners, in order) is computed by rendezvous
// (highest-random-weight) hashing: every member gets the score xxh3(partition, member name)
// and the highest scores win. A join or leave therefore moves only the partitions whose top
// scores change -- about 1/N of them -- and every node that sees the same live members
// computes the same table with no coordinator.
//
// Bounded load: plain rendezvous hashing can give one member noticeably more partitions
// than the mean. A second pass caps every member at ceil(load_factor * mean) partitions per
// preference-list rank: a partition whose natural choice is full takes its next-best member.
// The pass visits partitions in id order, so the result is still a pure function of the
// member set.
//
// Thread safety: immutable after build(); share it freely.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/ids.hpp"

namespace apiary::cluster {

struct PartitionTableOptions {
  std::uint32_t partition_count = 1024;  // power of two
  std::uint32_t replicas = 3;            // preference-list length, capped at the member count
  double load_factor = 1.25;             // per-rank cap relative to the mean; <= 1 disables
};

class PartitionTable {
 public:
  PartitionTable() = default;
  // `members` are member names; order and duplicates do not matter.
  static PartitionTable build(std::vector<std::string> members, PartitionTableOptions options);

  std::uint32_t partition_count() const { return options_.partition_count; }
  std::uint32_t replicas() const { return replicas_; }
  const std::vector<std::string>& members() const { return members_; }  // sorted

  // Owners of `p`, best first; indices into members().
  std::span<const std::uint32_t> owner_indices(PartitionId p) const;
  std::vector<std::string> owners(PartitionId p) const;
  const std::string& primary(PartitionId p) const;
  bool owns(std::string_view member, PartitionId p) const;

  // Partitions in which `member` appears anywhere in the preference list.
  std::vector<PartitionId> partitions_of(std::string_view member) const;
  // How many partitions each member appears in at rank `rank` (0 = primary).
  std::vector<std::uint32_t> load_at_rank(std::uint32_t rank) const;

  // A stable fingerprint of the whole table (equal tables, equal fingerprints).
  std::uint64_t fingerprint() const;

 private:
  PartitionTableOptions options_;
  std::uint32_t replicas_ = 0;
  std::vector<std::string> members_;
  std::vector<std::uint32_t> owners_;  // partition_count * replicas_, row-major
};

// Rendezvous score of `member` for partition `p` (exposed for tests and tools).
std::uint64_t rendezvous_score(PartitionId p, std::string_view member);

}  // namespace apiary::cluster
