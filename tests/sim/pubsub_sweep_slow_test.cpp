// Seed sweeps of the pub/sub workload (label `slow`, not in the default suite): 6 real nodes,
// 6 subscribers, 3 publishers on 4 channels (and patterns) beside the 8 data clients, 90
// simulated seconds (clients for the first 65), under a fault mix per test case, seeds 1-40.
// Judged here: the pub/sub checks only (pubsub_checks.cpp) -- per publisher in order, never
// twice, nothing after an UNSUBSCRIBE's reply, nothing lost and every PUBLISH count exact in
// stable windows. The other checkers run too and their failures are printed, but the data
// sweep is where they are claimed. Seed 34 fails both cases until the second-SUBSCRIBE race
// is fixed (pubsub_workload_test.cpp, "a second SUBSCRIBE on a node waits ...").
#include <catch2/catch.hpp>

#ifdef APIARY_SIM_HAS_DATA

#include <functional>

#include "apiary/sim/run.hpp"

using namespace apiary;
using namespace apiary::sim;

namespace {

RunOptions sweep_run(std::uint64_t seed) {
  RunOptions o;
  o.nodes = 6;
  o.duration_s = 90;
  o.seed = seed;
  o.settle_s = 25;
  o.workload.enabled = true;
  o.workload.pubsub = 6;
  o.workload.pubsub_channels = 4;
  return o;
}

struct Totals {
  std::uint64_t expected = 0, lost_near_faults = 0, count_checked = 0;
};

void check_run(const RunOptions& o, Totals& t) {
  const auto r = run_simulation(o);
  REQUIRE(r.ok());
  INFO(replay_command(o));
  for (const auto& f : r->failures) UNSCOPED_INFO(f);
  for (const auto& s : r->data.samples) UNSCOPED_INFO(s);
  const PubSubReport& p = r->data.pubsub;
  CHECK(p.published > 5000);
  CHECK(p.lost_stable == 0);
  CHECK(p.reordered == 0);
  CHECK(p.duplicated == 0);
  CHECK(p.phantoms == 0);
  CHECK(p.unsubscribed_deliveries == 0);
  CHECK(p.publish_bad_replies == 0);
  CHECK(p.count_mismatches == 0);
  t.expected += p.expected;
  t.lost_near_faults += p.lost_near_faults;
  t.count_checked += p.count_checked;
}

void sweep(std::uint64_t seeds, const std::function<void(RunOptions&)>& faults) {
  Totals t;
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    auto o = sweep_run(seed);
    faults(o);
    check_run(o, t);
  }
  // The sweep judged something: messages that had to arrive, counts in stable windows.
  CHECK(t.expected > 100000);
  CHECK(t.count_checked > 1000);
}

}  // namespace

TEST_CASE("pub/sub sweep: a crash, a pause, a join and a leave", "[sim][data][pubsub]") {
  sweep(40, [](RunOptions& o) {
    o.crash = 1;
    o.pause = 1;
    o.join = 1;
    o.leave = 1;
    o.workload.stable_after = std::chrono::seconds(16);
  });
}

TEST_CASE("pub/sub sweep: a partition 3 | 3 and a restart", "[sim][data][pubsub]") {
  sweep(40, [](RunOptions& o) {
    o.partition = "0-2|3-5";
    o.restart = 1;
    o.workload.stable_after = std::chrono::seconds(20);
  });
}

#endif  // APIARY_SIM_HAS_DATA
