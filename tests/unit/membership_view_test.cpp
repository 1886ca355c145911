// The ring policy (replication::view_from_members): which gossip members own data, and
// whether writes can reach them -- what decides whether a failure moves partitions.
#include "apiary/replication/membership_view.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

using apiary::TimePoint;
using apiary::gossip::Member;
using apiary::gossip::MemberState;
using apiary::replication::next_ring_change;
using apiary::replication::ReplicationConfig;
using apiary::replication::RingPolicy;
using apiary::replication::view_from_members;
using namespace std::chrono_literals;

namespace {

Member member(std::string name, MemberState state, TimePoint changed = TimePoint{},
              std::string data = "") {
  Member m;
  m.name = name;
  m.addr = name + ":7946";
  m.state = state;
  m.state_changed = changed;
  m.meta.data_addr = data.empty() ? name + ":7947" : data;
  return m;
}

}  // namespace

TEST_CASE("alive and suspect members own data and are live", "[replication][ring]") {
  const std::vector<Member> members = {member("a", MemberState::alive),
                                       member("b", MemberState::suspect)};
  const auto view = view_from_members("a", members, TimePoint{} + 1s, ReplicationConfig{}, {});
  REQUIRE(view.members().size() == 2);
  CHECK(view.is_live("a"));
  CHECK(view.is_live("b"));
  CHECK(view.addr_of("b") == std::optional<std::string>("b:7947"));
}

TEST_CASE("a dead member keeps its partitions for the grace period, then leaves the ring",
          "[replication][ring]") {
  RingPolicy policy;
  policy.dead_grace = 10s;
  const TimePoint died = TimePoint{} + 100s;
  const std::vector<Member> members = {member("a", MemberState::alive),
                                       member("b", MemberState::alive),
                                       member("c", MemberState::dead, died)};
  ReplicationConfig config;
  config.partition_count = 64;
  const auto during = view_from_members("a", members, died + 9s, config, policy);
  REQUIRE(during.find("c") != nullptr);
  CHECK_FALSE(during.is_live("c"));
  CHECK(during.table().members().size() == 3);  // its partitions stay where they were
  CHECK(next_ring_change(members, died + 9s, policy) == died + 10s);

  const auto after = view_from_members("a", members, died + 10s, config, policy);
  CHECK(after.find("c") == nullptr);
  CHECK(after.table().members().size() == 2);
  CHECK(next_ring_change(members, died + 10s, policy) == apiary::kNever);
}

TEST_CASE("a member that left, or serves no data, is never in the ring", "[replication][ring]") {
  Member no_data = member("d", MemberState::alive);
  no_data.meta.data_addr.clear();
  const std::vector<Member> members = {member("a", MemberState::alive),
                                       member("b", MemberState::left, TimePoint{} + 1s), no_data};
  const auto view = view_from_members("a", members, TimePoint{} + 2s, ReplicationConfig{}, {});
  REQUIRE(view.members().size() == 1);
  CHECK(view.members().front().name == "a");
  CHECK(next_ring_change(members, TimePoint{} + 2s, {}) == apiary::kNever);
}

TEST_CASE("every node builds the same table from the same member list", "[replication][ring]") {
  std::vector<Member> members;
  for (int i = 0; i < 7; ++i)
    members.push_back(member("n" + std::to_string(i), MemberState::alive));
  std::vector<Member> reversed(members.rbegin(), members.rend());
  const auto x = view_from_members("n0", members, TimePoint{}, ReplicationConfig{}, {});
  const auto y = view_from_members("n6", reversed, TimePoint{}, ReplicationConfig{}, {});
  for (std::uint32_t p = 0; p < x.partition_count(); ++p) {
    REQUIRE(x.owners(apiary::PartitionId{p}) == y.owners(apiary::PartitionId{p}));
  }
}

TEST_CASE("members with other ring settings get no partitions", "[replication][ring]") {
  ReplicationConfig config;
  config.partition_count = 64;
  config.replicas = 2;
  REQUIRE(apiary::replication::ring_signature(config) == "64/2");
  auto same = member("same", MemberState::alive);
  same.meta.tags[std::string(apiary::replication::kRingTag)] = "64/2";
  auto other_count = member("other-count", MemberState::alive);
  other_count.meta.tags[std::string(apiary::replication::kRingTag)] = "1024/2";
  auto other_n = member("other-n", MemberState::alive);
  other_n.meta.tags[std::string(apiary::replication::kRingTag)] = "64/3";
  auto untagged = member("untagged", MemberState::alive);  // publishes nothing: taken as is
  const std::vector<Member> members = {same, other_count, other_n, untagged};
  const auto view = view_from_members("same", members, TimePoint{} + 1s, config, {});
  std::vector<std::string> names;
  for (const auto& m : view.members()) names.push_back(m.name);
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"same", "untagged"});
}

TEST_CASE("a member's wire version comes from its tag, and is 1 without one (the previous release)",
          "[replication][ring]") {
  using apiary::replication::kWireTag;
  std::vector<Member> members = {member("a", MemberState::alive), member("b", MemberState::alive),
                                 member("c", MemberState::alive)};
  members[1].meta.tags[std::string(kWireTag)] = "2";
  members[2].meta.tags[std::string(kWireTag)] = "two";  // unreadable: the lowest version
  const auto view = view_from_members("a", members, TimePoint{} + 1s, ReplicationConfig{}, {});
  REQUIRE(view.members().size() == 3);
  CHECK(view.find("a")->wire == 1);
  CHECK(view.find("b")->wire == 2);
  CHECK(view.find("c")->wire == 1);
}
