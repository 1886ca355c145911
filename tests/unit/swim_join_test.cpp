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

TEST_CASE("a joiner keeps retrying a seed that is down at first", "[swim][join]") {
  SwimCluster c(3);
  c.add("seed");
  c.add("joiner");
  c.join(0, {});
  c.crash(0);
  c.join(1, {SwimCluster::addr_of("seed")});
  c.run_for(5s);  // attempts at 0 s, 1 s and 3 s (backoff 1 s, 2 s, 4 s...) all lost
  CHECK(c.sent_to(0) == 3);
  CHECK(c.swim(1).alive_count() == 1);
  c.restart(0, {});
  REQUIRE(c.run_until([&] { return c.converged(2); }, 10s));
  CHECK(c.now() - TimePoint{} <= 8s);  // the attempt at 7 s gets through
  c.run_for(30s);
  CHECK(c.all_see(0, MemberState::alive));
  CHECK(c.all_see(1, MemberState::alive));
}

TEST_CASE("joining through several seeds works while one of them is unreachable", "[swim][join]") {
  SwimCluster c(4);
  c.add_cluster(3);
  REQUIRE(c.run_until([&] { return c.converged(3); }, 10s));
  const std::size_t late = c.add("late");
  c.join(late, {"nowhere:1", SwimCluster::addr_of("n1"), SwimCluster::addr_of("late")});
  REQUIRE(c.run_until([&] { return c.all_see(late, MemberState::alive); }, 10s));
  CHECK(c.swim(late).alive_count() == 4);
  c.run_for(20s);
  CHECK(c.sent_to(late) > 0);
  CHECK(c.swim(late).stats().push_pulls >= 1);
}

TEST_CASE("metadata updates reach every member as `updated`", "[swim][dissemination]") {
  SwimCluster c(5);
  c.add_cluster(10);
  REQUIRE(c.run_until([&] { return c.converged(10); }, 30s));
  c.run_for(10s);
  MemberMeta meta;
  meta.client_addr = "10.0.0.4:6379";
  meta.tags["zone"] = "b";
  const Incarnation before = c.swim(4).incarnation();
  c.swim(4).update_meta(c.now(), meta);
  CHECK(c.swim(4).incarnation() > before);
  REQUIRE(c.run_until(
      [&] {
        for (std::size_t i = 0; i < c.size(); ++i) {
          if (c.view(i, 4)->meta != meta) return false;
        }
        return true;
      },
      10s));
  CHECK(c.count_events(MemberEventKind::updated, "n4") == c.size());  // 9 peers + itself
  CHECK(c.view(0, 4)->incarnation == c.swim(4).incarnation());
}

TEST_CASE("push-pull heals a member that missed an update", "[swim][push_pull]") {
  // `late` joins while n3 is cut off. Its alive update is retransmitted only a few times (and
  // its own two early push-pulls after joining happen within 10 s), so once that is over only
  // periodic anti-entropy can tell n3 about it. With push-pull effectively off, n3 never
  // learns; with it on, n3 learns within a few intervals.
  auto run = [](Duration push_pull_interval) {
    SwimConfig config;
    config.push_pull_interval = push_pull_interval;
    SwimCluster c(6, config);
    c.add_cluster(4);
    REQUIRE(c.run_until([&] { return c.converged(4); }, 30s));
    const std::size_t late = c.add("late");
    c.isolate(3);
    c.join(late, {SwimCluster::addr_of("n0")});
    c.run_for(15s);
    c.unblock_all();
    c.run_for(60s);
    return c.view(3, late).has_value();
  };
  CHECK_FALSE(run(100000s));
  CHECK(run(5s));
}

TEST_CASE("a graceful leave is seen as `left`, not as a failure", "[swim][leave]") {
  SwimCluster c(7);
  c.add_cluster(6);
  REQUIRE(c.run_until([&] { return c.converged(6); }, 30s));
  c.run_for(5s);
  const std::size_t leaver = 2;
  c.swim(leaver).leave(c.now());
  CHECK_FALSE(c.swim(leaver).leave_done());
  REQUIRE(c.run_until([&] { return c.swim(leaver).leave_done(); }, 10s));
  c.crash(leaver);  // the process exits once the announcement is out
  REQUIRE(c.run_until([&] { return c.all_see(leaver, MemberState::left); }, 10s));
  c.run_for(30s);
  CHECK(c.count_events(MemberEventKind::left, c.name(leaver)) == c.size());  // 5 peers + itself
  CHECK(c.count_events(MemberEventKind::dead, c.name(leaver)) == 0);
  CHECK(c.count_events(MemberEventKind::suspect, c.name(leaver)) == 0);
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (i != leaver) CHECK(c.swim(i).alive_count() == 5);
  }
  // Forgotten after dead_reclaim_time (60 s).
  c.run_for(60s);
  CHECK_FALSE(c.view(0, leaver).has_value());
  CHECK(c.swim(0).member_count() == 5);
}

TEST_CASE("a member that left comes back when it restarts under the same name",
          "[swim][leave][restart]") {
  SwimCluster c(11);
  c.add_cluster(4);
  REQUIRE(c.run_until([&] { return c.converged(4); }, 30s));
  c.swim(2).leave(c.now());
  const Incarnation left_at = c.swim(2).incarnation();
  REQUIRE(c.run_until([&] { return c.swim(2).leave_done(); }, 10s));
  c.crash(2);
  REQUIRE(c.run_until([&] { return c.all_see(2, MemberState::left); }, 10s));
  c.run_for(5s);
  c.restart(2, {SwimCluster::addr_of("n0")});
  REQUIRE(c.run_until([&] { return c.all_see(2, MemberState::alive); }, 30s));
  CHECK(c.swim(2).incarnation() > left_at);
  CHECK(c.view(1, 2)->incarnation == c.swim(2).incarnation());
  CHECK(c.first_event(MemberEventKind::joined, "n2", "n1")->at < c.now() - 5s);  // the first join
  CHECK(c.count_events(MemberEventKind::joined, "n2") >= 2 * 3);                 // each peer, twice
}

TEST_CASE("a member restarted at another address is accepted with the new address",
          "[swim][restart]") {
  SwimCluster c(12);
  c.add_cluster(4);
  REQUIRE(c.run_until([&] { return c.converged(4); }, 30s));
  c.crash(3);
  c.run_for(500ms);  // not yet suspected: everyone still holds the old address
  c.restart_at(3, "moved:9000", {SwimCluster::addr_of("n0")});
  REQUIRE(c.run_until(
      [&] {
        for (std::size_t i = 0; i < 3; ++i) {
          auto m = c.view(i, 3);
          if (!m || m->addr != "moved:9000" || m->state != MemberState::alive) return false;
        }
        return true;
      },
      30s));
  CHECK(c.count_events(MemberEventKind::updated, "n3") >= 3);
  CHECK(c.swim(3).incarnation().value >= 1);  // it had to announce itself above its old life
  c.run_for(60s);
  CHECK(c.all_see(3, MemberState::alive));
  CHECK(c.count_events(MemberEventKind::dead, "n3") == 0);
}

TEST_CASE("leave with nobody else around is done at once", "[swim][leave]") {
  SwimCluster c(8);
  c.add("solo");
  c.join(0, {});
  c.swim(0).leave(c.now());
  CHECK(c.swim(0).leave_done());
  CHECK(c.swim(0).find("solo")->state == MemberState::left);
}

TEST_CASE("a restarted node with the same name comes back alive at a higher incarnation",
          "[swim][restart]") {
  SwimCluster c(9);
  c.add_cluster(5);
  REQUIRE(c.run_until([&] { return c.converged(5); }, 30s));
  const std::size_t node = 3;
  // Give it some history: a metadata change bumps its incarnation to 1.
  c.swim(node).update_meta(c.now(), MemberMeta{"a:1", "", "", {}});
  c.run_for(10s);
  c.crash(node);
  REQUIRE(c.run_until([&] { return c.all_see(node, MemberState::dead); }, 60s));
  const Incarnation old = c.view(0, node)->incarnation;
  CHECK(old.value >= 1);

  c.restart(node, {SwimCluster::addr_of("n1")});  // a new Swim at incarnation 0
  CHECK(c.swim(node).incarnation().value == 0);
  REQUIRE(c.run_until([&] { return c.all_see(node, MemberState::alive); }, 30s));
  CHECK(c.swim(node).incarnation() > old);
  for (std::size_t i = 0; i < c.size(); ++i) {
    CHECK(c.view(i, node)->incarnation == c.swim(node).incarnation());
  }
  CHECK(c.swim(node).alive_count() == 5);
  c.run_for(60s);
  CHECK(c.all_see(node, MemberState::alive));
}

TEST_CASE("a mass restart converges", "[swim][restart]") {
  SwimCluster c(10);
  c.add_cluster(12);
  REQUIRE(c.run_until([&] { return c.converged(12); }, 30s));
  c.run_for(5s);
  // Half the cluster, the seed among them, goes down; some are declared dead before they
  // come back, some come back before anyone noticed.
  for (std::size_t i = 0; i < 6; ++i) c.crash(i * 2);
  c.run_for(5s);
  for (std::size_t i = 0; i < 3; ++i) c.restart(i * 2, {SwimCluster::addr_of("n0")});
  c.run_for(20s);
  for (std::size_t i = 3; i < 6; ++i) c.restart(i * 2, {SwimCluster::addr_of("n0")});
  REQUIRE(c.run_until(
      [&] {
        for (std::size_t m = 0; m < c.size(); ++m) {
          if (!c.all_see(m, MemberState::alive) || c.swim(m).alive_count() != c.size())
            return false;
        }
        return true;
      },
      300s));
  INFO("converged at " << std::chrono::duration<double>(c.now() - TimePoint{}).count() << " s");
  c.run_for(60s);  // let the last refutations spread
  for (std::size_t m = 0; m < c.size(); ++m) {
    CHECK(c.all_see(m, MemberState::alive));
    for (std::size_t i = 0; i < c.size(); ++i) {
      INFO(c.name(i) << " sees " << c.name(m));
      CHECK(c.view(i, m)->incarnation == c.swim(m).incarnation());
    }
  }
}

TEST_CASE("the same seeds give the same event sequence", "[swim][determinism]") {
  auto run = [](std::uint64_t seed) {
    SwimCluster c(seed);
    c.add_cluster(8);
    c.run_for(20s);
    c.crash(5);
    c.block_both(1, 2);
    c.run_for(30s);
    c.swim(3).leave(c.now());
    c.run_for(30s);
    return c.events();
  };
  const auto a = run(42);
  const auto b = run(42);
  CHECK(a.size() > 60);
  CHECK(a == b);
  CHECK_FALSE(a == run(43));
}
