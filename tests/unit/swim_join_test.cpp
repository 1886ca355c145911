// Joining, dissemination of joins and metadata, push-pull anti-entropy, graceful leave and
// the restart of a member under the same name.
#include <catch2/catch.hpp>

#include "support/swim_harness.hpp"

using namespace apiary;
using namespace apiary::gossip;
using apiary::test::SwimCluster;

namespace {

bool everyone_knows_everyone_alive(SwimCluster& c) {
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (c.swim(i).alive_count() != c.size()) return false;
  }
  for (std::size_t m = 0; m < c.size(); ++m) {
    if (!c.all_see(m, MemberState::alive)) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("a node joining with no seeds is a cluster of one", "[swim][join]") {
  SwimCluster c(1);
  c.add("solo");
  c.join(0, {});
  c.run_for(10s);
  CHECK(c.swim(0).alive_count() == 1);
  CHECK(c.swim(0).members().size() == 1);
  CHECK(c.swim(0).stats().messages_sent == 0);
  REQUIRE(c.events().size() == 1);
  CHECK(c.events()[0].kind == MemberEventKind::joined);
  CHECK(c.events()[0].member == "solo");
}

TEST_CASE("joins through a seed reach all 20 members", "[swim][join][dissemination]") {
  SwimCluster c(2);
  c.add_cluster(20);
  REQUIRE(c.run_until([&] { return everyone_knows_everyone_alive(c); }, 30s));
  // Each node reported every other node joining exactly once (plus itself).
  for (std::size_t m = 0; m < c.size(); ++m) {
    CHECK(c.count_events(MemberEventKind::joined, c.name(m)) == c.size());
  }
  c.run_for(60s);
  CHECK(everyone_knows_everyone_alive(c));
  for (std::size_t m = 0; m < c.size(); ++m) {
    CHECK(c.count_events(MemberEventKind::suspect, c.name(m)) == 0);
  }
}
