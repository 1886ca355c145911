// Failure detection: probing, indirect probes, suspicion, refutation, the (dynamic)
// suspicion timeout, and plain SWIM with Lifeguard off.
#include <catch2/catch.hpp>
#include <chrono>

#include "support/swim_harness.hpp"

using namespace apiary;
using namespace apiary::gossip;
using apiary::test::SwimCluster;

namespace {

SwimCluster started(std::uint64_t seed, std::size_t n, SwimConfig config = {}) {
  SwimCluster c(seed, std::move(config));
  c.add_cluster(n);
  REQUIRE(c.run_until([&] { return c.converged(c.size()); }, 30s));
  return c;
}

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

// Time from the first `suspect` to the first `dead` event about `member` seen by `observer`.
Duration time_to_dead(SwimCluster& c, std::size_t observer, std::size_t member) {
  auto s = c.first_event(MemberEventKind::suspect, c.name(member), c.name(observer));
  auto d = c.first_event(MemberEventKind::dead, c.name(member), c.name(observer));
  REQUIRE(s.has_value());
  REQUIRE(d.has_value());
  return d->at - s->at;
}

}  // namespace

TEST_CASE("a silent member is suspected, then declared dead everywhere", "[swim][detection]") {
  auto c = started(11, 5);
  const std::size_t victim = 3;
  c.crash(victim);
  const TimePoint crashed = c.now();
  REQUIRE(c.run_until([&] { return c.all_see(victim, MemberState::dead); }, 60s));
  INFO("detected in " << seconds(c.now() - crashed) << " s");
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (i == victim) continue;
    CHECK(c.swim(i).alive_count() == 4);
    CHECK(c.first_event(MemberEventKind::dead, c.name(victim), c.name(i)).has_value());
  }
  CHECK(c.count_events(MemberEventKind::suspect, c.name(victim)) >= 1);
  // Nobody else was harmed.
  for (std::size_t m = 0; m < c.size(); ++m) {
    if (m != victim) CHECK(c.count_events(MemberEventKind::dead, c.name(m)) == 0);
  }
}

TEST_CASE("an indirect probe keeps a member alive when only its link to the prober is cut",
          "[swim][detection]") {
  auto c = started(12, 5);
  c.block_both(0, 1);
  const auto indirect_before = c.swim(0).stats().indirect_probes;
  c.run_for(120s);
  CHECK(c.swim(0).stats().indirect_probes > indirect_before);  // the direct pings did fail
  CHECK(c.count_events(MemberEventKind::suspect, c.name(0)) == 0);
  CHECK(c.count_events(MemberEventKind::suspect, c.name(1)) == 0);
  CHECK(c.all_see(0, MemberState::alive));
  CHECK(c.all_see(1, MemberState::alive));
}

TEST_CASE("a falsely suspected member refutes and stays alive", "[swim][detection]") {
  auto c = started(13, 5);
  const std::size_t victim = 2;
  // Cut the victim off until somebody suspects it, then heal the network.
  c.isolate(victim);
  REQUIRE(c.run_until([&] { return c.count_events(MemberEventKind::suspect, c.name(victim)) > 0; },
                      30s));
  c.unblock_all();
  REQUIRE(c.run_until([&] { return c.all_see(victim, MemberState::alive); }, 30s));
  c.run_for(30s);
  CHECK(c.count_events(MemberEventKind::dead, c.name(victim)) == 0);
  CHECK(c.count_events(MemberEventKind::alive, c.name(victim)) >= 1);
  CHECK(c.swim(victim).stats().refutations >= 1);
  CHECK(c.swim(victim).incarnation().value >= 1);
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (i == victim) continue;
    CHECK(c.view(i, victim)->incarnation == c.swim(victim).incarnation());
  }
}

TEST_CASE("the buddy system lets a suspect refute from the ping itself", "[swim][detection]") {
  // No piggyback room, no gossip, no periodic push-pull, no indirect probes: the suspicion
  // flag in a ping is the only way the victim can learn that it is suspected. Each node
  // joins through all earlier ones, so push-pull at join time still introduces everyone.
  auto run = [](bool lifeguard) {
    SwimConfig config;
    config.lifeguard = lifeguard;
    config.indirect_checks = 0;
    config.max_packet_bytes = 1;
    config.gossip_nodes = 0;
    config.push_pull_interval = 100000s;
    SwimCluster c(14, config);
    std::vector<std::string> seeds;
    for (int k = 0; k < 4; ++k) {
      c.add("n" + std::to_string(k));
      c.join(static_cast<std::size_t>(k), seeds);
      seeds.push_back(SwimCluster::addr_of("n" + std::to_string(k)));
    }
    REQUIRE(c.run_until([&] { return c.converged(c.size()); }, 10s));
    const std::size_t victim = 3;
    c.block(victim, 0);  // the victim hears node 0's pings, but its acks are lost
    REQUIRE(c.run_until(
        [&] { return c.count_events(MemberEventKind::suspect, c.name(victim)) > 0; }, 30s));
    c.run_until([&] { return c.swim(victim).stats().refutations > 0; }, 30s);
    return c.swim(victim).stats().refutations;
  };
  CHECK(run(true) >= 1);
  CHECK(run(false) == 0);  // plain SWIM has no buddy system: the victim never finds out
}

TEST_CASE("a suspect is declared dead after the suspicion timeout", "[swim][detection]") {
  // Plain SWIM: the timeout is fixed at suspicion_mult * max(1, log10(n)) * probe_interval.
  SwimConfig config;
  config.lifeguard = false;
  auto c = started(15, 5, config);
  const std::size_t victim = 4;
  c.crash(victim);
  REQUIRE(c.run_until([&] { return c.all_see(victim, MemberState::dead); }, 60s));
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (i == victim) continue;
    // Every observer waits at most the timeout after its own first suspicion (another
    // node's expiry may tell it sooner).
    const Duration waited = time_to_dead(c, i, victim);
    CHECK(waited <= 4s);
  }
  // And whoever declared it dead itself waited the whole timeout.
  bool someone_waited_full = false;
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (i != victim && time_to_dead(c, i, victim) == 4s) someone_waited_full = true;
  }
  CHECK(someone_waited_full);
}

TEST_CASE("independent confirmations shorten the suspicion timeout (Lifeguard)",
          "[swim][detection][lifeguard]") {
  // n = 8 live members: min timeout 4 s, max 24 s, k = 2 confirmations expected.
  // Observer 0 probes normally; in the `lonely` run nobody else probes, so only 0 suspects the
  // victim and nothing confirms. In the `crowd` run the others probe too and confirm.
  auto measure = [](bool crowd) {
    SwimConfig quiet;
    quiet.probe_interval = crowd ? 1s : 10000s;
    SwimCluster c(16);
    c.add("n0");
    for (int k = 1; k < 8; ++k) c.add("n" + std::to_string(k), quiet);
    c.join(0, {});
    for (std::size_t k = 1; k < 8; ++k) c.join(k, {SwimCluster::addr_of("n0")});
    REQUIRE(c.run_until([&] { return c.converged(c.size()); }, 30s));
    const std::size_t victim = 7;
    c.crash(victim);
    REQUIRE(c.run_until([&] { return c.view(0, victim)->state == MemberState::dead; }, 120s));
    return time_to_dead(c, 0, victim);
  };
  const Duration lonely = measure(false);
  const Duration crowd = measure(true);
  INFO("one suspecter: " << seconds(lonely) << " s, several: " << seconds(crowd) << " s");
  CHECK(lonely == 24s);  // max timeout: 6 x the 4 s minimum
  CHECK(crowd < 12s);    // two confirmations bring it down to the minimum
}

TEST_CASE("local health rises when this node's own probes go unanswered",
          "[swim][detection][lifeguard]") {
  auto c = started(17, 6);
  CHECK(c.swim(0).stats().local_health == 0);
  c.isolate(0);
  c.run_for(8s);
  const auto health = c.swim(0).stats().local_health;
  CHECK(health >= 2);
  CHECK(health <= 7);  // capped at awareness_max_multiplier - 1
  // An unhealthy node probes less often.
  const auto probes_before = c.swim(0).stats().probes;
  c.run_for(10s);
  CHECK(c.swim(0).stats().probes - probes_before < 10);
  c.unblock_all();
  c.run_for(60s);
  CHECK(c.swim(0).stats().local_health == 0);
}

TEST_CASE("with Lifeguard off a silent member is still detected", "[swim][detection]") {
  SwimConfig config;
  config.lifeguard = false;
  auto c = started(18, 6, config);
  c.crash(1);
  REQUIRE(c.run_until([&] { return c.all_see(1, MemberState::dead); }, 60s));
  for (std::size_t i = 0; i < c.size(); ++i) {
    CHECK(c.swim(i).stats().local_health == 0);  // no awareness without Lifeguard
  }
}
