// Seeds that change while a node runs (Swim::set_seeds: a DNS name re-resolved), seeds that
// come only later (join with seeds pending), and meeting another cluster (Swim::meet).
#include <catch2/catch.hpp>

#include "support/swim_harness.hpp"

using namespace apiary;
using namespace apiary::gossip;
using apiary::test::SwimCluster;

namespace {

// Two clusters of three that formed apart: a0..a2 (indexes 0..2) and b0..b2 (3..5).
void two_clusters(SwimCluster& c) {
  c.add_cluster(3, "a");
  c.add_cluster(3, "b");
  REQUIRE(c.run_until([&] { return c.converged(3); }, 10s));
  c.run_for(5s);
  REQUIRE(c.swim(0).alive_count() == 3);
  REQUIRE(c.swim(3).alive_count() == 3);
}

}  // namespace

TEST_CASE("a seed list that starts naming the other cluster merges two clusters at once",
          "[swim][seeds]") {
  SwimCluster c(11);
  two_clusters(c);
  const TimePoint start = c.now();
  // b1's name now lists its own cluster, itself and a0.
  c.input(4, [](Swim& s, TimePoint now) {
    s.set_seeds(now, {SwimCluster::addr_of("b0"), SwimCluster::addr_of("b1"),
                      SwimCluster::addr_of("b2"), SwimCluster::addr_of("a0")});
  });
  // Far sooner than a push-pull round (30 s): the new seed is contacted at once.
  REQUIRE(c.run_until([&] { return c.converged(6); }, 10s));
  CHECK(c.now() - start < 10s);
  CHECK(c.swim(4).seeds() == std::vector<std::string>{SwimCluster::addr_of("b0"),
                                                      SwimCluster::addr_of("b2"),
                                                      SwimCluster::addr_of("a0")});
  c.run_for(30s);
  CHECK(c.converged(6));
  for (std::size_t m = 0; m < c.size(); ++m) CHECK(c.all_see(m, MemberState::alive));
}

TEST_CASE("seeds that are live members or this node itself are not contacted again",
          "[swim][seeds]") {
  SwimCluster c(12);
  c.add_cluster(3, "a");
  REQUIRE(c.run_until([&] { return c.converged(3); }, 10s));
  c.run_for(5s);
  const std::uint64_t to_a0 = c.sent_to(0);
  const std::uint64_t pushes = c.swim(0).stats().push_pulls;
  c.input(1, [](Swim& s, TimePoint now) {
    s.set_seeds(now, {SwimCluster::addr_of("a0"), SwimCluster::addr_of("a1")});
  });
  CHECK(c.sent_to(0) == to_a0);  // nothing sent at once: a0 is a live member
  CHECK(c.swim(1).seeds() == std::vector<std::string>{SwimCluster::addr_of("a0")});
  c.run_for(100ms);
  CHECK(c.swim(0).stats().push_pulls == pushes);
}

TEST_CASE("a node whose seeds are pending waits for them instead of starting alone",
          "[swim][seeds][join]") {
  SwimCluster c(13);
  c.add_cluster(2, "a");
  REQUIRE(c.run_until([&] { return c.converged(2); }, 10s));
  const std::size_t late = c.add("late");
  c.input(late, [](Swim& s, TimePoint now) { s.join(now, {}, /*seeds_pending=*/true); });
  c.run_for(20s);
  CHECK(c.swim(late).joining());  // no seeds yet: still joining, not a cluster of one
  CHECK(c.swim(late).alive_count() == 1);
  // The name resolves at last (to this node and a1).
  c.input(late, [](Swim& s, TimePoint now) {
    s.set_seeds(now, {SwimCluster::addr_of("late"), SwimCluster::addr_of("a1")});
  });
  REQUIRE(c.run_until([&] { return c.converged(3); }, 2s));
  CHECK_FALSE(c.swim(late).joining());
}

TEST_CASE("meet joins two clusters and keeps the address as a seed", "[swim][seeds][meet]") {
  SwimCluster c(14);
  two_clusters(c);
  c.input(5, [](Swim& s, TimePoint now) { s.meet(now, SwimCluster::addr_of("a2")); });
  REQUIRE(c.run_until([&] { return c.converged(6); }, 10s));
  // A later seed list (say a re-resolved name) does not drop the met address.
  c.input(5, [](Swim& s, TimePoint now) { s.set_seeds(now, {SwimCluster::addr_of("b0")}); });
  CHECK(c.swim(5).seeds() ==
        std::vector<std::string>{SwimCluster::addr_of("b0"), SwimCluster::addr_of("a2")});
  // Meeting oneself does nothing.
  c.input(5, [](Swim& s, TimePoint now) { s.meet(now, SwimCluster::addr_of("b2")); });
  CHECK(c.swim(5).seeds().size() == 2);
}

TEST_CASE("a met cluster that was forgotten is found again by the per-round re-contact",
          "[swim][seeds][meet]") {
  SwimCluster c(15);
  two_clusters(c);
  c.input(3, [](Swim& s, TimePoint now) { s.meet(now, SwimCluster::addr_of("a0")); });
  REQUIRE(c.run_until([&] { return c.converged(6); }, 10s));
  // Cut the two halves apart until each has declared the other dead and forgotten it.
  for (std::size_t a = 0; a < 3; ++a) {
    for (std::size_t b = 3; b < 6; ++b) c.block_both(a, b);
  }
  REQUIRE(c.run_until(
      [&] { return c.swim(0).member_count() == 3 && c.swim(3).member_count() == 3; }, 300s));
  c.unblock_all();
  // b0 (index 3) re-contacts its met seed a0 in a push-pull round (30 s, scaled and jittered).
  REQUIRE(c.run_until([&] { return c.converged(6); }, 120s));
}

TEST_CASE("meet tries again with backoff when its first exchange is lost", "[swim][seeds][meet]") {
  SwimCluster c(16);
  two_clusters(c);
  c.block(3, 0);  // b0's push-pulls to a0 are lost for a while
  c.input(3, [](Swim& s, TimePoint now) { s.meet(now, SwimCluster::addr_of("a0")); });
  c.run_for(2500ms);  // the first try and the retry after 1 s lost
  CHECK(c.swim(3).alive_count() == 3);
  c.unblock_all();
  const TimePoint unblocked = c.now();
  // The next retry (2 s after the last) gets through: far sooner than a push-pull round.
  REQUIRE(c.run_until([&] { return c.converged(6); }, 10s));
  CHECK(c.now() - unblocked < 5s);
}
