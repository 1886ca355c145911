// One-way member messages (Replicator::tell): a members query told to another member reaches
// its keyspace handler and is never answered; told messages are numbered per receiver, so a
// message lost on the way (a broken link, a full send buffer) is noticed by the receiver at
// the next one (set_tell_gap_handler), and one that could not be sent is not counted.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "support/replication_harness.hpp"

using namespace apiary;
using namespace apiary::test;

TEST_CASE("told members queries arrive in order and a lost one is noticed", "[replication]") {
  ReplCluster c(2, small_config());
  c.set_views(c.all());
  std::vector<std::string> heard;
  std::vector<std::string> gaps;
  c.rep(1).set_keyspace_handler([&](const replication::KeyspaceQuery& q, WallTime) {
    if (const auto* m = std::get_if<replication::MembersQuery>(&q)) heard.push_back(m->op);
    return replication::KeyspaceAnswer{replication::MembersAnswer{}};
  });
  c.rep(1).set_tell_gap_handler([&](std::string_view from) { gaps.emplace_back(from); });
  const std::string to = c.rep(1).view().self();
  const std::string from = c.rep(0).view().self();

  for (const char* op : {"a", "b", "c"}) {
    REQUIRE(c.rep(0).tell(to, replication::MembersQuery{op, {}}));
  }
  c.run_for(std::chrono::milliseconds(50));
  CHECK(heard == std::vector<std::string>{"a", "b", "c"});
  CHECK(gaps.empty());
  CHECK(c.rep(0).stats().keyspace_notices_sent == 3);
  CHECK(c.rep(1).stats().keyspace_queries_answered == 0);  // nothing answered

  // "d" is lost on the way; "e" arrives after the gap and is handled after it is reported.
  c.block(0, 1);
  REQUIRE(c.rep(0).tell(to, replication::MembersQuery{"d", {}}));
  c.run_for(std::chrono::milliseconds(50));
  c.unblock_all();
  REQUIRE(c.rep(0).tell(to, replication::MembersQuery{"e", {}}));
  c.run_for(std::chrono::milliseconds(50));
  CHECK(heard == std::vector<std::string>{"a", "b", "c", "e"});
  CHECK(gaps == std::vector<std::string>{from});
  CHECK(c.rep(1).stats().told_gaps == 1);

  // Nothing is told to this node itself.
  CHECK_FALSE(c.rep(0).tell(from, replication::MembersQuery{"self", {}}));
}
