// ClusterView: what the replication core knows about the cluster, as one immutable value.
//
// The driver rebuilds it from the membership core on every membership change and hands it to
// Replicator::set_view(). It lists the ring members (the names the PartitionTable is built
// from), the data address each one receives node-to-node data messages on, and whether the
// member is live right now. A ring member that is not live keeps its partitions (writes for
// it go to a stand-in with a hint, see replicator.hpp); the driver decides when a dead member
// leaves the ring (for example after a grace period), which moves its partitions for good.
// A typical driver puts alive and suspect members in the ring as live, and dead ones as not
// live until the grace period ends.
//
// Thread safety: a plain value, immutable after make(); share or copy it freely.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/ids.hpp"
#include "apiary/cluster/partition_table.hpp"
#include "apiary/replication/replication_config.hpp"

namespace apiary::replication {

// The data protocol version this build speaks (membership_view.hpp, kWireTag, lists them).
inline constexpr std::uint32_t kWireVersion = 2;

struct ViewMember {
  std::string name;
  std::string data_addr;  // where this member's data messages go (host:port or a sim address)
  bool live = true;       // reachable as far as membership knows (alive or suspect)
  std::uint32_t wire = kWireVersion;  // the data protocol it speaks (membership_view.hpp)
};

class ClusterView {
 public:
  ClusterView() = default;
  // `members` in any order (duplicates: the first wins); `self` should be one of them.
  static ClusterView make(std::string self, std::vector<ViewMember> members,
                          const ReplicationConfig& config);
  // The same members with `name` removed from the ring (a node handing off before leaving).
  ClusterView without(std::string_view name, const ReplicationConfig& config) const;

  const std::string& self() const { return self_; }
  const std::vector<ViewMember>& members() const { return members_; }  // sorted by name
  const cluster::PartitionTable& table() const { return table_; }
  std::uint32_t partition_count() const { return table_.partition_count(); }

  const ViewMember* find(std::string_view name) const;
  bool is_live(std::string_view name) const;
  std::optional<std::string> addr_of(std::string_view name) const;
  // The same without a copy (every data message looks its address up): nullptr when unknown.
  const std::string* addr_ref(std::string_view name) const;

  // Owners of `p` in preference order (the table's list).
  std::vector<std::string> owners(PartitionId p) const { return table_.owners(p); }
  // The same as indices into the table's members, without copying a name (the write path).
  std::span<const std::uint32_t> owner_indices(PartitionId p) const {
    return table_.owner_indices(p);
  }
  const std::string& member_name(std::uint32_t index) const { return table_.members()[index]; }
  // is_live(member_name(index)) without looking the name up: the table's members and
  // members() are the same names in the same (sorted) order.
  bool is_live_at(std::uint32_t index) const { return members_[index].live; }
  bool owns(std::string_view name, PartitionId p) const { return table_.owns(name, p); }
  // The first live owner of `p` -- its coordinator -- or nullptr. No allocation: it runs for
  // every write.
  const std::string* first_live_owner(PartitionId p) const;
  // Live ring members that are not owners of `p`, in rendezvous order for `p` (best first):
  // the stand-ins a sloppy quorum uses when owners are down.
  std::vector<std::string> standins(PartitionId p) const;

 private:
  std::string self_;
  std::string self_addr_;  // only when self is not a ring member (see without())
  std::vector<ViewMember> members_;
  cluster::PartitionTable table_;
};

}  // namespace apiary::replication
