// The ring policy: which gossip members the replication core sees, and as what.
//
// One function shared by the runtime driver (libnode/runtime/node.cpp) and the simulator, so
// both build the same ClusterView from the same member list:
//  - alive and suspect members are ring members and live (a suspect may be merely slow;
//    moving its partitions on every suspicion would cost more than a stand-in's hints);
//  - a dead member stays in the ring, not live, for `dead_grace` after it was declared dead:
//    its writes go to stand-ins with hints, so a short outage moves no partitions;
//  - after the grace period, and at once for a member that left gracefully (it handed its
//    data off), the member is out of the ring and the remaining owners re-replicate.
// Members without a data address (not serving data) are never ring members, nor are members
// whose ring settings (partition count, replicas; the kRingTag metadata tag) differ from this
// node's: with another partition count they would route keys to other owners. Members that
// publish no such tag are taken as they are.
// Pure functions of their arguments; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "apiary/base/time.hpp"
#include "apiary/gossip/member.hpp"
#include "apiary/replication/cluster_view.hpp"
#include "apiary/replication/replication_config.hpp"

namespace apiary::replication {

// The metadata tag in which a node publishes its ring settings, and its value for `config`
// ("<partitions>/<replicas>").
inline constexpr std::string_view kRingTag = "apiary.ring";
std::string ring_signature(const ReplicationConfig& config);
// False when `m` publishes ring settings other than `config`'s.
bool ring_compatible(const gossip::Member& m, const ReplicationConfig& config);

// The data protocol a node speaks, published in the metadata tag kWireTag so that members of
// two adjacent releases work together during a rolling upgrade: a sender uses a field or a
// message a peer would refuse only when the peer's version has it. A member without the tag
// speaks version 1 (releases up to 0.1.0). Versions:
//   1  the data messages of release 0.1.0, except the forward's trailing ACL user field
//   2  a forward may carry its client's ACL user (messages.hpp, encode_forward)
// A new optional field or message type bumps kWireVersion (cluster_view.hpp) and is sent only
// to members whose wire_version() is at least the new one.
inline constexpr std::string_view kWireTag = "apiary.wire";
std::uint32_t wire_version(const gossip::Member& m);

struct RingPolicy {
  Duration dead_grace = std::chrono::seconds(10);
};

// `members` as gossip::Swim::members() reports them (the local node included).
ClusterView view_from_members(std::string self, std::span<const gossip::Member> members,
                              TimePoint now, const ReplicationConfig& config,
                              const RingPolicy& policy);

// When the ring of view_from_members() changes next without a membership event (a dead
// member's grace period ends); kNever if no such change is pending.
TimePoint next_ring_change(std::span<const gossip::Member> members, TimePoint now,
                           const RingPolicy& policy);

}  // namespace apiary::replication
