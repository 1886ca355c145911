// Publish/subscribe in the simulator's data workload (--pubsub): subscribers on random nodes
// (SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, resubscribing after a crash) and publishers on others,
// on the real nodes under faults. What a subscriber would notice: a message twice, out of its
// publisher's order, after its UNSUBSCRIBE, lost although nothing failed, or a PUBLISH that
// counts receivers that did not get the message. The checker is shown to fail when the
// clients drop or repeat messages themselves.
#include <catch2/catch.hpp>

#ifdef APIARY_SIM_HAS_DATA

#include "apiary/sim/run.hpp"
#include "apiary/sim/scenario.hpp"

using namespace apiary;
using namespace apiary::sim;

namespace {

RunOptions pubsub_run(std::uint64_t seed) {
  RunOptions o;
  o.nodes = 6;
  o.duration_s = 30;
  o.seed = seed;
  o.settle_s = 10;
  o.workload.enabled = true;
  o.workload.clients = 2;  // a little data traffic beside the pub/sub
  o.workload.pubsub = 6;
  o.workload.pubsub_channels = 4;
  return o;
}

void require_pubsub_clean(const RunReport& r) {
  for (const auto& f : r.failures) UNSCOPED_INFO(f);
  UNSCOPED_INFO(summary(r));
  REQUIRE(r.workload);
  // Only the pub/sub checks are judged here: the run is too short after its faults for the
  // keys' convergence (data_workload_test.cpp and the data sweeps judge those).
  const PubSubReport& p = r.data.pubsub;
  CHECK_FALSE(p.failed());
  CHECK(p.subscribers == 6);
  CHECK(p.published > 1000);
  CHECK(p.publish_bad_replies == 0);
  CHECK(p.subscribes > 6);
  CHECK(p.unsubscribes > 0);
  CHECK(p.delivered > p.published);
  CHECK(p.expected > 1000);
  CHECK(p.lost_stable == 0);
  CHECK(p.reordered == 0);
  CHECK(p.duplicated == 0);
  CHECK(p.phantoms == 0);
  CHECK(p.unsubscribed_deliveries == 0);
  CHECK(p.count_mismatches == 0);
}

}  // namespace

TEST_CASE("pub/sub in a quiet cluster: every message once, in order, counted exactly",
          "[sim][data][pubsub]") {
  for (std::uint64_t seed : {1, 2}) {
    const auto o = pubsub_run(seed);
    INFO(replay_command(o));
    const auto r = run_simulation(o);
    REQUIRE(r.ok());
    require_pubsub_clean(*r);
    CHECK(r->failures.empty());
    // Nothing failed, so nothing may be missing, and every count is judged somewhere.
    CHECK(r->data.pubsub.lost_near_faults == 0);
    CHECK(r->data.pubsub.count_checked > 100);
    CHECK(r->data.pubsub.sessions > 6 + 3);  // clients moved to other nodes now and then
  }
}

TEST_CASE("pub/sub under a crash and a partition: at most once, never out of order",
          "[sim][data][pubsub][faults]") {
  std::uint64_t lost = 0;
  for (std::uint64_t seed : {1, 2, 3}) {
    auto o = pubsub_run(seed);
    o.crash = 1;
    o.partition = "0-2|3-5";
    // Judged again 20 s after a fault: the crash is seen within ~8 s, a registry message lost
    // on the cut is repaired by the next 15 s summary.
    o.workload.stable_after = std::chrono::seconds(20);
    INFO(replay_command(o));
    const auto r = run_simulation(o);
    REQUIRE(r.ok());
    require_pubsub_clean(*r);
    lost += r->data.pubsub.lost_near_faults;
  }
  // The partition cost messages (allowed: at most once).
  CHECK(lost > 0);
}

// A bug this checker found (fixed): a SUBSCRIBE that made a second subscriber of a channel on
// its node answered at once, even while the first subscriber's SUBSCRIBE still waited for the
// members to confirm that channel, when nobody else knew it yet. Seed 34, no fault at all:
// c16777218 on n3 sent SUBSCRIBE ch1 at 0.0269 s (answered at 0.0373 s, after the members
// confirmed), c16777219 on n3 sent SUBSCRIBE ch1 at 0.0281 s and was answered at once; PUBLISH
// ch1 through n1 at 0.029 s answered :0 and never reached c16777219 (apiary-sim --nodes 6
// --duration 60 --settle 10 --workload --pubsub 6 --seed 34).
TEST_CASE("pub/sub: a second SUBSCRIBE on a node waits for the first one's confirmation",
          "[sim][data][pubsub]") {
  auto o = pubsub_run(34);
  o.duration_s = 60;
  o.workload.clients = 8;
  INFO(replay_command(o));
  const auto r = run_simulation(o);
  REQUIRE(r.ok());
  for (const auto& s : r->data.samples) UNSCOPED_INFO(s);
  CHECK(r->data.pubsub.lost_stable == 0);
}

TEST_CASE("pub/sub checker: messages a client drops are lost, repeated ones duplicates",
          "[sim][data][pubsub]") {
  auto o = pubsub_run(3);
  o.workload.pubsub_drop_every = 97;
  o.workload.pubsub_repeat_every = 89;
  const auto r = run_simulation(o);
  REQUIRE(r.ok());
  INFO(summary(*r));
  CHECK(r->data.pubsub.lost_stable > 0);
  CHECK(r->data.pubsub.duplicated > 0);
  CHECK(r->data.pubsub.count_mismatches > 0);
  CHECK_FALSE(r->failures.empty());
}

TEST_CASE("a workload line sets the pub/sub clients", "[sim][scenario]") {
  const auto sc = parse_scenario("workload pubsub=5 pubsub-channels=3 pubsub-publishers=2\n");
  REQUIRE(sc.ok());
  REQUIRE(sc->workload.has_value());
  CHECK(sc->workload->pubsub == 5);
  CHECK(sc->workload->pubsub_channels == 3);
  CHECK(sc->workload->pubsub_publishers == 2);
  CHECK_FALSE(parse_scenario("workload pubsub-channels=0").ok());
}

#endif  // APIARY_SIM_HAS_DATA
