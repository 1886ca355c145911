// Seed sweeps (label `slow`): many seeds of mixed faults against the real SWIM core. Any
// failure prints the apiary-sim command line that replays it.
#include <catch2/catch.hpp>

#ifdef APIARY_SIM_HAS_SWIM

#include "apiary/sim/run.hpp"

using namespace apiary;
using namespace apiary::sim;

namespace {

void sweep(RunOptions o, std::uint64_t first, std::uint64_t count) {
  for (std::uint64_t seed = first; seed < first + count; ++seed) {
    o.seed = seed;
    const auto r = run_simulation(o);
    REQUIRE(r.ok());
    std::string failures;
    for (const auto& f : r->failures) failures += f + "\n";
    INFO("replay: " << replay_command(o) << "\ntrace hash " << hex64(r->trace_hash) << "\n"
                    << failures);
    CHECK(r->failures.empty());
  }
}

}  // namespace

TEST_CASE("sweep: crashes, pauses and restarts under loss", "[sim][swim][sweep]") {
  RunOptions o;
  o.nodes = 60;
  o.duration_s = 220;
  o.network.loss = 0.03;
  o.network.duplicate = 0.01;
  o.clock_skew = 0.001;
  o.crash = 4;
  o.pause = 4;
  o.restart = 10;
  o.leave = 2;
  sweep(o, 1, 30);
}

TEST_CASE("sweep: partitions and joins", "[sim][swim][sweep]") {
  RunOptions o;
  o.nodes = 50;
  o.duration_s = 260;
  o.network.loss = 0.01;
  o.partition = "0-24|25-49";
  o.join = 5;
  sweep(o, 100, 20);
}

#endif  // APIARY_SIM_HAS_SWIM
