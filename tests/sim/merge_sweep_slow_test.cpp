// Seed sweeps of the two cluster shapes users meet on Kubernetes (label `slow`, not in the
// default suite): every initial node started at the same instant with one shared seed list
// (every initial node's address, its own included: a DNS name over a StatefulSet's pods), and
// two clusters formed apart -- the halves partitioned from the first instant -- merging after
// the heal through seed re-contact. 6-9 real nodes (core::NodeCore) under the workload's
// clients on both sides, 40 seeds per case, R=2 (stable windows must be linearizable) and R=1;
// plus the gossip core alone with larger, uneven splits. A failure prints the command line
// that replays it. docs/simulator.md ("Simultaneous starts and merges") has the figures.
#include <catch2/catch.hpp>
#include <functional>
#include <string>

#include "apiary/sim/run.hpp"

using namespace apiary;
using namespace apiary::sim;

namespace {

constexpr std::uint64_t kSeeds = 40;

std::uint32_t nodes_for(std::uint64_t seed) { return 6 + static_cast<std::uint32_t>(seed % 4); }

// Nodes 0..cut-1 against cut..nodes-1.
std::string split_at(std::uint32_t cut, std::uint32_t nodes) {
  return "0-" + std::to_string(cut - 1) + "|" + std::to_string(cut) + "-" +
         std::to_string(nodes - 1);
}

double convergence_s(const RunReport& r, const std::string& label) {
  for (const auto& c : r.convergence) {
    if (c.label == label) return c.seconds;
  }
  return -2;
}

void check_run(const RunOptions& o, bool merge) {
  const auto r = run_simulation(o);
  REQUIRE(r.ok());
  INFO(replay_command(o));
  for (const auto& f : r->failures) UNSCOPED_INFO(f);
  CHECK(r->failures.empty());
  CHECK(r->bootstrap_converged);
  CHECK(r->settled);
  CHECK(r->converged);
  if (merge) CHECK(convergence_s(*r, "merge") > 0);
  if (!r->workload) return;
  const WorkloadReport& d = r->data;
  CHECK(d.counter_violations == 0);
  CHECK(d.counters_unread == 0);
  CHECK(d.counter_order_violations == 0);
  CHECK(d.set_nx_double_wins == 0);
  CHECK(d.converged_keys == d.keys);
  CHECK(d.histories_skipped == 0);
  if (d.linearizability_claimed) CHECK(d.linearizability_violations == 0);
  CHECK_FALSE(d.collections.failed());
  CHECK(d.collections.elements_required > 0);
  CHECK(d.lists.lost == 0);
  CHECK(d.lists.phantoms == 0);
  CHECK(d.lists.double_pops == 0);
  CHECK(d.lists.blocked_unanswered == 0);
  if (merge && o.crash == 0 && o.pause == 0) CHECK(d.split_stable_s > 0);
  if (merge) {
    REQUIRE(d.heal_handoff_s.size() == 1);
    CHECK(d.heal_handoff_s[0] >= 0);
  }
}

void sweep(const std::function<void(RunOptions&)>& shape, bool merge) {
  for (std::uint32_t rq : {2u, 1u}) {
    for (std::uint64_t seed = 1; seed <= kSeeds; ++seed) {
      RunOptions o;
      o.nodes = nodes_for(seed);
      o.seed = seed;
      o.workload.enabled = true;
      o.workload.read_quorum = rq;
      shape(o);
      check_run(o, merge);
    }
  }
}

void simultaneous(RunOptions& o) {
  o.duration_s = 60;
  o.settle_s = 20;
  o.simultaneous_start = true;
}

// The heal 20 s in; a merge takes up to ~45 s (seed re-contact runs once per 30 s push-pull
// round per node), then 30 s until the checkers judge a stable window again: 120 s leaves one.
void split(RunOptions& o) {
  o.duration_s = 120;
  o.settle_s = 25;
  o.split_start = split_at(o.nodes / 2, o.nodes);
  o.heal_at_s = 20;
}

}  // namespace

#ifdef APIARY_SIM_HAS_DATA

TEST_CASE("merge sweep: a simultaneous start", "[sim][merge][sweep]") {
  sweep(simultaneous, false);
}

TEST_CASE("merge sweep: a split start, healed and merged", "[sim][merge][sweep]") {
  sweep(split, true);
}

TEST_CASE("merge sweep: a simultaneous start with a crash and a pause", "[sim][merge][sweep]") {
  sweep(
      [](RunOptions& o) {
        simultaneous(o);
        o.crash = 1;
        o.pause = 1;
      },
      false);
}

TEST_CASE("merge sweep: an uneven split start (1 to N-1 nodes on one side), a crash, a pause",
          "[sim][merge][sweep]") {
  sweep(
      [](RunOptions& o) {
        split(o);
        o.split_start = split_at(1 + static_cast<std::uint32_t>(o.seed % (o.nodes - 1)), o.nodes);
        o.crash = 1;
        o.pause = 1;
      },
      true);
}

#endif  // APIARY_SIM_HAS_DATA

#ifdef APIARY_SIM_HAS_SWIM

TEST_CASE("merge sweep: the gossip core alone, 20-50 nodes, uneven splits",
          "[sim][swim][merge][sweep]") {
  for (std::uint64_t seed = 1; seed <= kSeeds; ++seed) {
    const auto nodes = static_cast<std::uint32_t>(20 + seed % 31);
    const std::uint32_t cut = 1 + static_cast<std::uint32_t>(seed % (nodes - 1));
    RunOptions o;
    o.nodes = nodes;
    o.seed = seed;
    o.duration_s = 120;
    o.settle_s = 40;
    o.network.loss = seed % 2 == 0 ? 0.01 : 0.0;
    o.split_start = split_at(cut, nodes);
    o.heal_at_s = 20;
    check_run(o, true);
    RunOptions at_once = o;
    at_once.split_start.clear();
    at_once.heal_at_s.reset();
    at_once.simultaneous_start = true;
    check_run(at_once, false);
  }
}

#endif  // APIARY_SIM_HAS_SWIM
