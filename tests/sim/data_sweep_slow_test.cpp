// Seed sweeps of the data mode (label `slow`, not in the default suite): 8 nodes, a minute of
// workload, one fault kind per run. Each run takes about a second of real time (Debug -O1).
#include <catch2/catch.hpp>

#ifdef APIARY_SIM_HAS_DATA

#include "apiary/sim/run.hpp"

using namespace apiary;
using namespace apiary::sim;

namespace {

RunOptions sweep_run(std::uint64_t seed) {
  RunOptions o;
  o.nodes = 8;
  o.duration_s = 60;
  o.seed = seed;
  o.settle_s = 25;
  o.workload.enabled = true;
  o.workload.keys = 1000;
  o.workload.clients = 8;
  return o;
}

void check_run(const RunOptions& o) {
  const auto r = run_simulation(o);
  REQUIRE(r.ok());
  INFO(replay_command(o));
  for (const auto& f : r->failures) UNSCOPED_INFO(f);
  CHECK(r->failures.empty());
  CHECK(r->data.lost_writes == 0);
  CHECK(r->data.stale_reads_membership == 0);
  CHECK(r->data.converged_keys == r->data.keys);
}

}  // namespace

TEST_CASE("data sweep: one crash or join or leave per run over ten seeds", "[sim][data][sweep]") {
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    auto crash = sweep_run(seed);
    crash.crash = 1;
    check_run(crash);
    auto join = sweep_run(seed);
    join.join = 1;
    check_run(join);
    auto leave = sweep_run(seed);
    leave.leave = 1;
    check_run(leave);
  }
}

// Two joins at the same instant and mixed faults: both failed on most seeds before the join
// handoff rule of docs/replication.md ("Ownership handoff") -- every remaining owner copies.
TEST_CASE("data sweep: two joins at once and a join + leave + crash per run",
          "[sim][data][sweep]") {
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    auto joins = sweep_run(seed);
    joins.join = 2;
    check_run(joins);
    auto mixed = sweep_run(seed);
    mixed.join = 1;
    mixed.leave = 1;
    mixed.crash = 1;
    check_run(mixed);
  }
}

#endif  // APIARY_SIM_HAS_DATA
