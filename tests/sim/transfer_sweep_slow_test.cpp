// Seed sweeps of the transfer workload (label `slow`, not in the default suite): 6 real nodes,
// 6 clients, 4 pairs of accounts taking 40% of the commands (MULTI/EXEC and EVAL transfers,
// MULTI and EVAL_RO reads of both accounts), 55 simulated seconds (clients for the first 25),
// under a fault mix per test case. Judged here: the transfer checks only (transfer_checks.cpp)
// -- no torn read, no partial EXEC, and on every owner at the end a + b == 0 with b between
// the acknowledged and the sent amounts. The other checkers run too and their failures are
// printed, but the data sweep (data_sweep_slow_test.cpp) is where they are claimed.
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
  // Faults in [1 s, 25 s], clients for 25 s, then 30 quiet seconds: a crash at 25 s is detected
  // about 6 s later and its partitions move after the 10 s dead grace, so with 15 quiet
  // seconds the checkers' owners (computed from the running nodes) would not hold them yet.
  o.duration_s = 55;
  o.seed = seed;
  o.settle_s = 30;
  o.workload.enabled = true;
  o.workload.clients = 6;
  o.workload.transfers = 4;
  o.workload.transfer_ratio = 0.4;
  return o;
}

void check_run(const RunOptions& o) {
  const auto r = run_simulation(o);
  REQUIRE(r.ok());
  INFO(replay_command(o));
  for (const auto& f : r->failures) UNSCOPED_INFO(f);
  CHECK(r->settled);
  const TransferReport& t = r->data.transfers;
  CHECK(t.acked > 500);
  CHECK(t.reads_ok > 100);
  CHECK(t.torn_reads == 0);
  CHECK(t.exec_partial == 0);
  CHECK(t.owners_checked >= 4);
  CHECK(t.unbalanced == 0);
  CHECK(t.out_of_bounds == 0);
  CHECK(t.unreadable == 0);
}

void sweep(std::uint64_t seeds, const std::function<void(RunOptions&)>& faults) {
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    auto o = sweep_run(seed);
    faults(o);
    check_run(o);
  }
}

}  // namespace

TEST_CASE("transfer sweep: a crash, a pause, a join and a leave", "[sim][data][transfers]") {
  sweep(100, [](RunOptions& o) {
    o.crash = 1;
    o.pause = 1;
    o.pause_length = std::chrono::milliseconds(3000);
    o.join = 1;
    o.leave = 1;
  });
}

TEST_CASE("transfer sweep: a partition 3 | 3", "[sim][data][transfers]") {
  sweep(40, [](RunOptions& o) { o.partition = "0-2|3-5"; });
}

TEST_CASE("transfer sweep: R=2, a crash and two restarts on disks, appendfsync always",
          "[sim][data][transfers][disk]") {
  sweep(40, [](RunOptions& o) {
    o.crash = 1;
    o.restart = 2;
    o.workload.read_quorum = 2;
    o.workload.appendfsync = "always";
  });
}

#endif  // APIARY_SIM_HAS_DATA
