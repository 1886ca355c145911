// Seed sweeps of the data mode (label `slow`, not in the default suite): 6 real nodes
// (core::NodeCore), 8 clients on 8 register keys and 2 counters, 90 simulated seconds, one
// fault mix per test case and 40 seeds each, with R=2 (reads consult the coordinator, so
// stable windows must be linearizable) and with R=1 (apiaryd's default: linearizability is
// only counted). A failure prints the command line that replays it. Every run also sends a
// fifth of its commands to 2 set and 2 hash keys (SADD/SREM/SMEMBERS, HSET/HDEL/HINCRBY/
// HGETALL), judged by the collection checkers (sim/collection_checks.hpp). The [disk] cases
// give every node an AOF on a simulated disk (WorkloadOptions::appendfsync).
#include <catch2/catch.hpp>

#ifdef APIARY_SIM_HAS_DATA

#include <functional>

#include "apiary/sim/run.hpp"

using namespace apiary;
using namespace apiary::sim;

namespace {

constexpr std::uint64_t kSeeds = 40;

RunOptions sweep_run(std::uint64_t seed, std::uint32_t read_quorum) {
  RunOptions o;
  o.nodes = 6;
  o.duration_s = 90;
  o.seed = seed;
  o.settle_s = 25;
  o.workload.enabled = true;
  o.workload.read_quorum = read_quorum;
  return o;
}

void check_run(const RunOptions& o) {
  const auto r = run_simulation(o);
  REQUIRE(r.ok());
  INFO(replay_command(o));
  for (const auto& f : r->failures) UNSCOPED_INFO(f);
  CHECK(r->failures.empty());
  CHECK(r->settled);
  CHECK(r->data.counter_violations == 0);
  CHECK(r->data.counters_unread == 0);
  CHECK(r->data.counter_order_violations == 0);
  CHECK(r->data.set_nx_double_wins == 0);
  CHECK(r->data.converged_keys == r->data.keys);
  CHECK(r->data.histories_skipped == 0);
  if (r->data.linearizability_claimed) CHECK(r->data.linearizability_violations == 0);
  if (r->data.linearizability_claimed) CHECK(r->data.durability_violations == 0);
  // Hashes, sets and sorted sets (WorkloadOptions::sets, hashes, zsets: on by default).
  const CollectionReport& c = r->data.collections;
  CHECK(c.keys == 6);
  CHECK(c.unread == 0);
  CHECK(c.elements_required > 0);
  CHECK(c.elements_lost == 0);
  CHECK(c.removals_unobserved == 0);
  CHECK(c.phantom_elements == 0);
  CHECK(c.counter_violations == 0);
  CHECK(c.divergent_keys == 0);
  // Lists and blocking pops (WorkloadOptions::lists: on by default; list_checks.hpp).
  const ListReport& l = r->data.lists;
  CHECK(l.keys == 2);
  CHECK(l.unread == 0);
  CHECK(l.lost == 0);
  CHECK(l.phantoms == 0);
  CHECK(l.double_pops == 0);
  CHECK(l.blocked_unanswered == 0);
}

void sweep(const std::function<void(RunOptions&)>& faults) {
  for (std::uint32_t rq : {2u, 1u}) {
    for (std::uint64_t seed = 1; seed <= kSeeds; ++seed) {
      auto o = sweep_run(seed, rq);
      faults(o);
      check_run(o);
    }
  }
}

}  // namespace

TEST_CASE("data sweep: a crash", "[sim][data][sweep]") {
  sweep([](RunOptions& o) { o.crash = 1; });
}

TEST_CASE("data sweep: a join", "[sim][data][sweep]") {
  sweep([](RunOptions& o) { o.join = 1; });
}

TEST_CASE("data sweep: a graceful leave", "[sim][data][sweep]") {
  sweep([](RunOptions& o) { o.leave = 1; });
}

TEST_CASE("data sweep: two pauses of 3 s", "[sim][data][sweep]") {
  sweep([](RunOptions& o) { o.pause = 2; });
}

TEST_CASE("data sweep: a partition 3 | 3", "[sim][data][sweep]") {
  sweep([](RunOptions& o) { o.partition = "0-2|3-5"; });
}

TEST_CASE("data sweep: a restart", "[sim][data][sweep]") {
  sweep([](RunOptions& o) { o.restart = 1; });
}

TEST_CASE("data sweep: a crash, a join, a leave and a pause", "[sim][data][sweep]") {
  sweep([](RunOptions& o) {
    o.crash = 1;
    o.join = 1;
    o.leave = 1;
    o.pause = 1;
  });
}

// Disks: every node runs an AOF with appendfsync always on a simulated disk that survives its
// restarts, torn or zeroed where a power loss leaves it. The checkers above then say that no
// acknowledged write is lost even when every owner loses power.
TEST_CASE("data sweep: every node loses power at once, appendfsync always",
          "[sim][data][sweep][disk]") {
  sweep([](RunOptions& o) {
    o.restart = o.nodes;
    o.workload.appendfsync = "always";
  });
}

TEST_CASE("data sweep: a crash and two restarts on disks, appendfsync always",
          "[sim][data][sweep][disk]") {
  sweep([](RunOptions& o) {
    o.crash = 1;
    o.restart = 2;
    o.workload.appendfsync = "always";
  });
}

TEST_CASE("data sweep: one replica per key, every node loses power at once, appendfsync always",
          "[sim][data][sweep][disk]") {
  // With N=1 every key lives on one disk only: the durability check (claimed with N=1) sees
  // a missing AOF record at once.
  for (std::uint64_t seed = 1; seed <= kSeeds; ++seed) {
    auto o = sweep_run(seed, 1);
    o.restart = o.nodes;
    o.workload.replicas = 1;
    o.workload.write_quorum = 1;
    o.workload.appendfsync = "always";
    check_run(o);
  }
}

#endif  // APIARY_SIM_HAS_DATA
