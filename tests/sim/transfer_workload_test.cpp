// Transactions and scripts in the simulator's data workload (--transfers): clients move
// amounts between the two accounts of a pair with MULTI/EXEC and with EVAL, and read both
// atomically (MULTI GET GET EXEC, EVAL_RO), on the real nodes under faults. What a user of a
// ledger would notice: a read that sees one half of a transfer, money created or destroyed,
// an acknowledged transfer lost. The checks themselves are shown to fail when a transfer is
// not atomic and when a crash loses acknowledged transfers.
#include <catch2/catch.hpp>

#ifdef APIARY_SIM_HAS_DATA

#include "apiary/sim/run.hpp"
#include "apiary/sim/scenario.hpp"

using namespace apiary;
using namespace apiary::sim;

namespace {

RunOptions transfer_run(std::uint64_t seed) {
  RunOptions o;
  o.nodes = 6;
  o.duration_s = 40;
  o.seed = seed;
  o.settle_s = 15;
  o.network.latency_min = std::chrono::milliseconds(1);
  o.network.latency_max = std::chrono::milliseconds(5);
  o.network.jitter = std::chrono::milliseconds(1);
  o.workload.enabled = true;
  o.workload.clients = 6;
  o.workload.transfers = 4;
  o.workload.transfer_ratio = 0.4;
  return o;
}

void require_transfers_clean(const RunReport& r) {
  for (const auto& f : r.failures) UNSCOPED_INFO(f);
  UNSCOPED_INFO(summary(r));
  REQUIRE(r.workload);
  CHECK(r.failures.empty());
  CHECK(r.settled);
  const TransferReport& t = r.data.transfers;
  CHECK(t.pairs == 4);
  CHECK(t.multi > 500);
  CHECK(t.eval > 500);
  CHECK(t.acked > 1000);
  CHECK(t.reads_ok > 200);
  CHECK(t.torn_reads == 0);
  CHECK(t.queue_refused == 0);
  CHECK(t.exec_partial == 0);
  CHECK(t.owners_checked >= 4 * 3);
  CHECK(t.unbalanced == 0);
  CHECK(t.out_of_bounds == 0);
  CHECK(t.unreadable == 0);
  CHECK(r.data.converged_keys == r.data.keys);
}

}  // namespace

TEST_CASE("transfers in a quiet cluster: every read balanced, every acknowledged amount kept",
          "[sim][data][transfers]") {
  const auto r = run_simulation(transfer_run(1));
  REQUIRE(r.ok());
  require_transfers_clean(*r);
  CHECK(r->data.transfers.ambiguous == 0);
}

TEST_CASE("transfers under a crash, a pause, a join and a leave: atomic and exact",
          "[sim][data][transfers][faults]") {
  for (std::uint64_t seed : {1, 2, 3}) {
    auto o = transfer_run(seed);
    o.crash = 1;
    o.pause = 1;
    o.pause_length = std::chrono::milliseconds(3000);
    o.join = 1;
    o.leave = 1;
    INFO(replay_command(o));
    const auto r = run_simulation(o);
    REQUIRE(r.ok());
    require_transfers_clean(*r);
  }
}

TEST_CASE("transfer checker: a transfer that applies only one half is seen torn and unbalanced",
          "[sim][data][transfers]") {
  auto o = transfer_run(4);
  o.workload.transfers = 1;
  o.workload.transfers_unsafe = true;
  const auto r = run_simulation(o);
  REQUIRE(r.ok());
  INFO(summary(*r));
  CHECK(r->data.transfers.torn_reads > 0);
  CHECK(r->data.transfers.unbalanced > 0);
  CHECK_FALSE(r->failures.empty());
}

TEST_CASE("transfer checker: with N=1 a crash loses acknowledged transfers", "[sim][data]") {
  auto o = transfer_run(1);
  o.crash = 2;
  o.workload.replicas = 1;
  o.workload.write_quorum = 1;
  o.workload.transfers = 16;
  const auto r = run_simulation(o);
  REQUIRE(r.ok());
  INFO(summary(*r));
  CHECK(r->data.transfers.out_of_bounds > 0);
  CHECK_FALSE(r->failures.empty());
}

TEST_CASE("a workload line sets the transfers", "[sim][scenario]") {
  const auto sc = parse_scenario("workload transfers=3 transfer-ratio=0.5\n");
  REQUIRE(sc.ok());
  REQUIRE(sc->workload.has_value());
  CHECK(sc->workload->transfers == 3);
  CHECK(sc->workload->transfer_ratio == Approx(0.5));
  CHECK_FALSE(parse_scenario("workload transfer-ratio=2").ok());
}

#endif  // APIARY_SIM_HAS_DATA
