// Named scenarios run against the real SWIM + Lifeguard core (apiary::gossip::Swim) in the
// simulated world. Each asserts what an operator would notice: failures found, no healthy
// node thrown out, views agreeing again after the trouble ends.
#include <catch2/catch.hpp>

#ifdef APIARY_SIM_HAS_SWIM

#include "apiary/sim/run.hpp"

using namespace apiary;
using namespace apiary::sim;
using namespace std::chrono_literals;

namespace {

RunOptions swim_run(std::uint32_t nodes, double duration_s, std::uint64_t seed) {
  RunOptions o;
  o.nodes = nodes;
  o.duration_s = duration_s;
  o.seed = seed;
  o.settle_s = 40;
  return o;
}

void require_pass(const RunReport& r) {
  for (const auto& f : r.failures) UNSCOPED_INFO(f);
  UNSCOPED_INFO(summary(r));
  CHECK(r.bootstrap_converged);
  CHECK(r.failures.empty());
  CHECK(r.settled);
  CHECK(r.converged);
}

}  // namespace

TEST_CASE("crashed nodes are detected within SWIM's bounds", "[sim][swim]") {
  auto o = swim_run(60, 90, 1);
  o.crash = 5;
  o.network.loss = 0.01;
  const auto r = run_simulation(o);
  REQUIRE(r.ok());
  require_pass(*r);
  CHECK(r->crashes == 5);
  CHECK(r->crashes_detected == 5);
  // First suspicion needs a probe of the dead node: ~1.6 probe periods on average; ten
  // periods is a generous bound for the worst of five.
  CHECK(r->first_detection_s.max < 10.0);
  // Dead everywhere: the suspicion timeout (at most suspicion_max_timeout_mult times
  // 4 * log10(60) probe periods) plus dissemination.
  const double max_suspicion = 6 * 4 * std::log10(60.0);
  CHECK(r->detection_s.max < max_suspicion + 10.0);
  CHECK(r->false_positives == 0);
}

TEST_CASE("suspected nodes refute under 5% loss with Lifeguard", "[sim][swim]") {
  for (std::uint64_t seed : {1, 2}) {
    auto o = swim_run(40, 120, seed);
    o.network.loss = 0.05;
    const auto r = run_simulation(o);
    REQUIRE(r.ok());
    INFO("seed " << seed);
    require_pass(*r);
    CHECK(r->false_positives == 0);
  }
}

TEST_CASE("a partition that heals converges again", "[sim][swim]") {
  auto o = swim_run(30, 150, 3);
  o.scenario_text = "at 5s partition 0-14 | 15-29\nat 50s heal\n";
  const auto r = run_simulation(o);
  REQUIRE(r.ok());
  require_pass(*r);
  bool healed = false;
  for (const auto& c : r->convergence) {
    if (c.label != "heal") continue;
    healed = true;
    CHECK(c.seconds >= 0);
  }
  CHECK(healed);
}

TEST_CASE("half the cluster restarting at once converges", "[sim][swim]") {
  auto o = swim_run(40, 120, 4);
  o.scenario_text = "at 10s restart random 20\n";
  const auto r = run_simulation(o);
  REQUIRE(r.ok());
  require_pass(*r);
  bool restarted = false;
  for (const auto& c : r->convergence) {
    if (c.label == "restart") restarted = c.seconds >= 0;
  }
  CHECK(restarted);
}

TEST_CASE("ten percent new nodes join and every view learns them", "[sim][swim]") {
  auto o = swim_run(50, 60, 5);
  o.join = 5;
  const auto r = run_simulation(o);
  REQUIRE(r.ok());
  require_pass(*r);
  CHECK(r->nodes_ever == 55);
  bool joined = false;
  for (const auto& c : r->convergence) {
    if (c.label == "join") joined = c.seconds >= 0;
  }
  CHECK(joined);
}

TEST_CASE("a SWIM run replays from its seed", "[sim][swim]") {
  auto o = swim_run(30, 40, 9);
  o.crash = 2;
  o.pause = 2;
  o.network.loss = 0.02;
  o.network.duplicate = 0.01;
  o.clock_skew = 0.001;
  o.check = false;
  const auto a = run_simulation(o);
  const auto b = run_simulation(o);
  o.seed = 10;
  const auto c = run_simulation(o);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(c.ok());
  CHECK(a->trace_hash == b->trace_hash);
  CHECK(a->events == b->events);
  CHECK(a->trace_hash != c->trace_hash);
}

#endif  // APIARY_SIM_HAS_SWIM
