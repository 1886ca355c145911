// The data mode of the simulator: the real Store and Replicator on every node, clients
// issuing GET/SET, and the data checkers. Each scenario asserts what a user of the cache would
// notice: acknowledged writes survive, replicas agree in the end, keys written before a join
// or leave are still found, concurrent writes are kept as siblings.
#include <catch2/catch.hpp>

#ifdef APIARY_SIM_HAS_DATA

#include <algorithm>

#include "apiary/sim/data_process.hpp"
#include "apiary/sim/run.hpp"
#include "apiary/sim/swim_process.hpp"
#include "apiary/sim/world.hpp"

using namespace apiary;
using namespace apiary::sim;
using namespace std::chrono_literals;

namespace {

RunOptions data_run(std::uint32_t nodes, double duration_s, std::uint64_t seed) {
  RunOptions o;
  o.nodes = nodes;
  o.duration_s = duration_s;
  o.seed = seed;
  o.settle_s = 20;
  o.workload.enabled = true;
  o.workload.keys = 300;
  o.workload.clients = 4;
  return o;
}

void require_clean(const RunReport& r) {
  for (const auto& f : r.failures) UNSCOPED_INFO(f);
  UNSCOPED_INFO(summary(r));
  REQUIRE(r.workload);
  CHECK(r.failures.empty());
  CHECK(r.settled);
  CHECK(r.data.acked_writes > 1000);
  CHECK(r.data.lost_writes == 0);
  CHECK(r.data.sibling_violations == 0);
  CHECK(r.data.stale_reads_membership == 0);
  CHECK(r.data.converged_keys == r.data.keys);
}

}  // namespace

TEST_CASE("a steady workload without faults loses nothing and converges", "[sim][data]") {
  const auto r = run_simulation(data_run(5, 40, 1));
  REQUIRE(r.ok());
  require_clean(*r);
  CHECK(r->data.failed_writes == 0);
  CHECK(r->data.failed_reads == 0);
  CHECK(r->data.forwarded > 0);  // clients hit non-owners, which forward
}

TEST_CASE("a crash of one node of five (N=3, W=2) loses no acknowledged write",
          "[sim][data][crash]") {
  for (std::uint64_t seed : {1, 2}) {
    auto o = data_run(5, 60, seed);
    o.crash = 1;
    const auto r = run_simulation(o);
    REQUIRE(r.ok());
    INFO("seed " << seed);
    require_clean(*r);
    CHECK(r->crashes == 1);
    CHECK(r->data.lost_writes_excused == 0);
  }
}

TEST_CASE("a join and a graceful leave during the workload: keys stay readable, handoff ends",
          "[sim][data][handoff]") {
  for (std::uint64_t seed : {1, 2}) {
    auto o = data_run(5, 60, seed);
    o.join = 1;
    o.leave = 1;
    const auto r = run_simulation(o);
    REQUIRE(r.ok());
    INFO("seed " << seed);
    require_clean(*r);
    REQUIRE(r->data.handoff_s.size() == 2);
    for (double h : r->data.handoff_s) {
      CHECK(h >= 0);
      CHECK(h < 15);
    }
  }
}

TEST_CASE("the same seed gives the same trace with the workload on", "[sim][data][determinism]") {
  auto o = data_run(4, 20, 7);
  o.join = 1;
  o.settle_s = 10;
  const auto a = run_simulation(o);
  const auto b = run_simulation(o);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->trace_hash == b->trace_hash);
  CHECK(a->data.acked_writes == b->data.acked_writes);
  o.seed = 8;
  const auto c = run_simulation(o);
  REQUIRE(c.ok());
  CHECK(c->trace_hash != a->trace_hash);
}

TEST_CASE("concurrent writes to one key through two owners are kept as siblings",
          "[sim][data][siblings]") {
  WorldConfig wc;
  wc.seed = 3;
  wc.initial_nodes = 4;
  DataConfig dc;
  dc.replication.partition_count = 64;
  World world(wc, data_factory(gossip::SwimConfig{}, dc));
  world.run_until(TimePoint{} + 10s);

  auto data_of = [&](std::uint32_t n) { return world.process(n)->data(); };
  // A key whose first two owners are n0 and n1 (both coordinate it locally).
  const auto& view = data_of(0)->replicator().view();
  REQUIRE(view.members().size() == 4);
  std::string key;
  for (int i = 0; key.empty(); ++i) {
    const std::string k = "k" + std::to_string(i);
    const auto owners = view.owners(data_of(0)->replicator().partition_of(k));
    if (owners[0] == "n0" && owners[1] == "n1") key = k;
  }
  // Both write at the same virtual instant: neither has seen the other's value.
  for (std::uint32_t n : {0u, 1u}) {
    world.call(n, [&](Process& p, TimePoint local) {
      p.data()->client_op(local, ClientOp{n + 1, true, key, "from-n" + std::to_string(n)});
    });
  }
  world.run_until(world.now() + 5s);
  for (std::uint32_t n : {0u, 1u}) {
    // Completions are drained by the workload in a run; here nobody drained them yet.
    std::optional<ClientResult> r;
    while (auto x = data_of(n)->poll_result()) r = x;
    REQUIRE(r.has_value());
    CHECK(r->ok);
  }
  for (const auto& owner : view.owners(data_of(0)->replicator().partition_of(key))) {
    const auto index = parse_node_index(owner);
    REQUIRE(index.has_value());
    const auto entry = data_of(*index)->entry(key, world.local_time(*index, world.now()));
    REQUIRE(entry.has_value());
    std::vector<std::string> values;
    for (const auto& s : entry->version.siblings()) values.push_back(s.value);
    std::sort(values.begin(), values.end());
    INFO("on " << owner);
    CHECK(values == std::vector<std::string>{"from-n0", "from-n1"});
  }
}

#endif  // APIARY_SIM_HAS_DATA
