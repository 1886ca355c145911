// The data mode of the simulator: the real node (core::NodeCore) on every simulated node,
// Redis clients sending RESP commands, and the data checkers. Each scenario asserts what a
// user of the cache would notice: counters count every acknowledged INCR once, SET NX has one
// winner, a quiet cluster answers like one Redis server, replicas agree in the end.
#include <catch2/catch.hpp>

#ifdef APIARY_SIM_HAS_DATA

#include <algorithm>

#include "apiary/sim/collection_checks.hpp"
#include "apiary/sim/node_process.hpp"
#include "apiary/sim/run.hpp"
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
  o.settle_s = 15;
  o.workload.enabled = true;
  o.workload.clients = 6;
  return o;
}

void require_clean(const RunReport& r) {
  for (const auto& f : r.failures) UNSCOPED_INFO(f);
  UNSCOPED_INFO(summary(r));
  REQUIRE(r.workload);
  CHECK(r.failures.empty());
  CHECK(r.settled);
  CHECK(r.data.ok > 1000);
  CHECK(r.data.counter_violations == 0);
  CHECK(r.data.counters_unread == 0);
  CHECK(r.data.counter_order_violations == 0);
  CHECK(r.data.set_nx_double_wins == 0);
  CHECK(r.data.converged_keys == r.data.keys);
  const CollectionReport& c = r.data.collections;
  CHECK(c.keys == 6);  // s0, s1, h0, h1, z0, z1
  CHECK(c.unread == 0);
  CHECK(c.elements_required > 0);
  CHECK(c.elements_lost == 0);
  CHECK(c.removals_unobserved == 0);
  CHECK(c.phantom_elements == 0);
  CHECK(c.counter_violations == 0);
  CHECK(c.divergent_keys == 0);
}

// A world of `nodes` real nodes, settled, with a client helper that sends one command and
// runs the world until its reply came.
struct Cluster {
  World world;
  std::uint64_t next = 1;

  explicit Cluster(std::uint32_t nodes, std::uint32_t read_quorum = 1)
      : world(config(nodes), node_factory(gossip::SwimConfig{}, options(read_quorum))) {
    world.run_until(TimePoint{} + 10s);
  }
  static WorldConfig config(std::uint32_t nodes) {
    WorldConfig wc;
    wc.seed = 3;
    wc.initial_nodes = nodes;
    return wc;
  }
  static NodeOptions options(std::uint32_t read_quorum) {
    NodeOptions o;
    o.replication.partition_count = 64;
    o.replication.read_quorum = read_quorum;
    return o;
  }
  NodeProcess& node(std::uint32_t n) { return *world.process(n)->node(); }

  // Sends at the same virtual instant to every (node, command) pair, then collects replies.
  std::vector<RespReply> at_once(
      const std::vector<std::pair<std::uint32_t, std::vector<std::string_view>>>& commands) {
    std::vector<std::uint64_t> ids;
    for (std::size_t i = 0; i < commands.size(); ++i) {
      const auto& [n, argv] = commands[i];
      const std::uint64_t id = next++;
      ids.push_back(id);
      world.call(n, [&](Process& p, TimePoint local) {
        p.node()->send(local, static_cast<std::uint32_t>(i), id, encode_command(argv));
      });
    }
    std::map<std::uint64_t, RespReply> got;
    for (int step = 0; step < 100 && got.size() < ids.size(); ++step) {
      for (std::uint32_t n = 0; n < world.started_nodes(); ++n) {
        if (world.process(n) == nullptr) continue;
        while (auto r = node(n).poll_reply()) got[r->request] = r->reply;
      }
      if (got.size() < ids.size()) world.run_until(world.now() + 10ms);
    }
    std::vector<RespReply> out;
    for (auto id : ids) out.push_back(got[id]);
    return out;
  }
  RespReply command(std::uint32_t n, std::vector<std::string_view> argv) {
    return at_once({{n, std::move(argv)}}).front();
  }

  // A key whose coordinator is `owner` and which `other` does not own.
  std::string key_owned_by(std::uint32_t owner, std::uint32_t other) {
    const auto& rep = node(owner).core().replicator();
    for (int i = 0;; ++i) {
      std::string k = "key" + std::to_string(i);
      if (rep.coordinates(k) && !node(other).core().replicator().owns(k)) return k;
    }
  }
};

}  // namespace

TEST_CASE("a client's commands through a node that does not own the key", "[sim][data]") {
  Cluster c(5);
  const std::string key = c.key_owned_by(0, 4);
  CHECK(c.command(4, {"GET", key}).kind == RespReply::Kind::nil);
  CHECK(c.command(4, {"SET", key, "a"}).is_ok());
  CHECK(c.command(4, {"GET", key}).text == "a");
  CHECK(c.command(4, {"SET", key, "b", "NX"}).kind == RespReply::Kind::nil);
  CHECK(c.command(4, {"DEL", key}).integer == 1);
  CHECK(c.command(4, {"INCR", key}).integer == 1);
  CHECK(c.command(0, {"INCR", key}).integer == 2);
  CHECK(c.node(4).core().router().stats().forwarded >= 5);
}

TEST_CASE("SET NX sent through every node at one instant has one winner", "[sim][data]") {
  Cluster c(5);
  std::vector<std::pair<std::uint32_t, std::vector<std::string_view>>> commands;
  std::vector<std::string> values;
  for (std::uint32_t n = 0; n < 5; ++n) values.push_back("from-n" + std::to_string(n));
  for (std::uint32_t n = 0; n < 5; ++n) commands.push_back({n, {"SET", "lock", values[n], "NX"}});
  const auto replies = c.at_once(commands);
  std::size_t winners = 0;
  std::string winner;
  for (std::uint32_t n = 0; n < 5; ++n) {
    INFO("n" << n << " " << replies[n].describe());
    CHECK((replies[n].is_ok() || replies[n].kind == RespReply::Kind::nil));
    if (replies[n].is_ok()) {
      ++winners;
      winner = values[n];
    }
  }
  CHECK(winners == 1);
  for (std::uint32_t n = 0; n < 5; ++n) CHECK(c.command(n, {"GET", "lock"}).text == winner);
}

TEST_CASE("a steady workload without faults: counters exact, histories linearizable with R=2",
          "[sim][data]") {
  auto o = data_run(5, 25, 1);
  o.workload.read_quorum = 2;
  const auto r = run_simulation(o);
  REQUIRE(r.ok());
  require_clean(*r);
  CHECK(r->data.errors == 0);
  CHECK(r->data.timeouts == 0);
  CHECK(r->data.forwarded > 0);  // clients hit non-owners, which forward
  CHECK(r->data.linearizability_claimed);
  CHECK(r->data.histories_checked >= 8);
  CHECK(r->data.histories_skipped == 0);
  CHECK(r->data.linearizability_violations == 0);
  CHECK(r->data.increments_ambiguous == 0);
  CHECK(r->data.set_nx_wins > 0);
}

TEST_CASE("with R=1 a read on a lagging replica is stale: counted, not claimed", "[sim][data]") {
  const auto r = run_simulation(data_run(5, 25, 1));
  REQUIRE(r.ok());
  require_clean(*r);
  CHECK_FALSE(r->data.linearizability_claimed);
}

TEST_CASE("a crash, a join and a graceful leave during the workload", "[sim][data][faults]") {
  auto o = data_run(6, 40, 2);
  o.crash = 1;
  o.join = 1;
  o.leave = 1;
  o.workload.read_quorum = 2;
  const auto r = run_simulation(o);
  REQUIRE(r.ok());
  require_clean(*r);
  REQUIRE(r->data.handoff_s.size() == 2);
  for (double h : r->data.handoff_s) CHECK(h >= 0);
}

// The checkers can fail: with one replica a crash loses what the node held, and the counter
// check says so (the survivors take its partitions over empty-handed).
TEST_CASE("with N=1 a crash loses counters and the counter check catches it", "[sim][data]") {
  auto o = data_run(4, 30, 1);
  o.crash = 1;
  o.workload.replicas = 1;
  o.workload.write_quorum = 1;
  o.workload.counters = 8;
  const auto r = run_simulation(o);
  REQUIRE(r.ok());
  INFO(summary(*r));
  CHECK(r->data.counter_violations > 0);
  CHECK_FALSE(r->failures.empty());
}

// Disks: when every node loses power at once, only what is on disk comes back. Without disks
// the counters lose their acknowledged increments; with appendfsync always none is lost, even
// with torn and zeroed AOF tails; with everysec about the last second may go.
TEST_CASE("every node loses power at once: only appendfsync always keeps every acknowledged INCR",
          "[sim][data][disk]") {
  auto o = data_run(6, 40, 5);
  o.restart = 6;
  o.workload.read_quorum = 2;
  SECTION("no disks: the counter check catches the loss") {
    const auto r = run_simulation(o);
    REQUIRE(r.ok());
    INFO(summary(*r));
    CHECK(r->data.counter_violations > 0);
  }
  SECTION("appendfsync always: nothing acknowledged is lost") {
    o.workload.appendfsync = "always";
    o.workload.zeroed_tail_probability = 0.5;
    const auto r = run_simulation(o);
    REQUIRE(r.ok());
    require_clean(*r);
  }
}

// With one replica per key every acknowledged write lives on one disk: the durability check
// judges the first read of every register after the power loss.
TEST_CASE("one replica, every node loses power: every acknowledged SET and INCR comes back",
          "[sim][data][disk]") {
  auto o = data_run(6, 40, 5);
  o.restart = 6;
  o.workload.replicas = 1;
  o.workload.write_quorum = 1;
  o.workload.appendfsync = "always";
  const auto r = run_simulation(o);
  REQUIRE(r.ok());
  require_clean(*r);
  CHECK(r->data.durability_checked > 0);
  CHECK(r->data.durability_violations == 0);
}

TEST_CASE("the same seed gives the same trace with the workload on", "[sim][data][determinism]") {
  auto o = data_run(4, 15, 7);
  o.join = 1;
  o.settle_s = 8;
  const auto a = run_simulation(o);
  const auto b = run_simulation(o);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->trace_hash == b->trace_hash);
  CHECK(a->data.ok == b->data.ok);
  CHECK(a->data.increments_acked == b->data.increments_acked);
  o.seed = 8;
  const auto c = run_simulation(o);
  REQUIRE(c.ok());
  CHECK(c->trace_hash != a->trace_hash);
}

// Hashes and sets (on by default in every workload): under a crash, a join, a leave and a
// pause, every acknowledged SADD/HSET that no SREM/HDEL can have removed is in the final
// SMEMBERS/HGETALL through every node, HINCRBY fields count every acknowledged increment once,
// and all nodes read the same elements.
TEST_CASE("hashes, sets and zsets under faults: no acknowledged element lost, counters exact",
          "[sim][data][collections]") {
  for (std::uint64_t seed : {11u, 12u, 13u}) {
    auto o = data_run(6, 40, seed);
    o.crash = 1;
    o.join = 1;
    o.leave = 1;
    o.pause = 1;
    o.workload.read_quorum = seed % 2 == 0 ? 2 : 1;
    o.workload.collection_ratio = 0.5;
    const auto r = run_simulation(o);
    REQUIRE(r.ok());
    INFO(replay_command(o));
    require_clean(*r);
    CHECK(r->data.sadds > 100);
    CHECK(r->data.srems > 50);
    CHECK(r->data.hsets > 100);
    CHECK(r->data.hdels > 50);
    CHECK(r->data.zadds > 100);
    CHECK(r->data.zrems > 50);
    CHECK(r->data.zincrbys > 50);
    CHECK(r->data.collections.increments_acked > 100);
    CHECK(r->data.collections.counter_fields == 8);  // n0, n1 of h0, h1, z0, z1
    CHECK(r->data.collections.readds_required > 0);  // removed, added again, still there
    CHECK(r->data.collections.reads == 6 * 5);       // every key through each of the 5 left
  }
}

// The checkers themselves, on tiny hand-made histories.
namespace {

TimePoint at(int ms) { return TimePoint{} + std::chrono::milliseconds(ms); }

ElementCommand command(ElementCommand::Kind kind, std::uint64_t id, std::string element,
                       int invoked, int returned, bool acked = true, std::int64_t reply = 1) {
  ElementCommand x;
  x.kind = kind;
  x.id = id;
  x.key = "s0";
  x.element = std::move(element);
  x.invoked = at(invoked);
  x.returned = at(returned);
  x.acked = acked;
  x.reply = reply;
  return x;
}
ElementCommand add(std::uint64_t id, std::string e, int inv, int ret, bool acked = true) {
  return command(ElementCommand::Kind::add, id, std::move(e), inv, ret, acked);
}
ElementCommand remove(std::uint64_t id, std::string e, int inv, int ret, bool acked = true,
                      std::int64_t reply = 1) {
  return command(ElementCommand::Kind::remove, id, std::move(e), inv, ret, acked, reply);
}
FinalRead read(std::uint64_t id, std::vector<std::string> members, std::uint32_t node = 0) {
  FinalRead r;
  r.id = id;
  r.key = "s0";
  r.node = node;
  r.invoked = at(1000);
  r.returned = at(1001);
  for (auto& m : members) r.elements[m];
  return r;
}

}  // namespace

TEST_CASE("the set checker: an acknowledged SADD nothing removed must be read",
          "[sim][data][collections]") {
  const std::vector<ElementCommand> h = {add(1, "a", 0, 10), add(2, "b", 5, 15, false),
                                         add(3, "c", 20, 30), remove(4, "c", 40, 50, true, 0)};
  SECTION("all there") {
    const auto r = check_collections(h, {read(9, {"a", "c"})});
    CHECK_FALSE(r.failed());
    CHECK(r.elements_required == 2);  // b was never acknowledged; c's SREM removed nothing
  }
  SECTION("a lost") {
    const auto r = check_collections(h, {read(9, {"c", "b"})});
    CHECK(r.elements_lost == 1);
    CHECK(r.failed());
    REQUIRE(r.samples.size() == 1);
    CHECK(r.samples[0].find("a missing") != std::string::npos);
  }
  SECTION("c lost, though its only SREM replied 0") {
    CHECK(check_collections(h, {read(9, {"a"})}).elements_lost == 1);
  }
  SECTION("a member removed after its add returned is counted when read again") {
    auto h2 = h;
    h2.push_back(remove(5, "a", 20, 25));
    const auto r = check_collections(h2, {read(9, {"a", "c"})});
    CHECK(r.resurrected == 1);
    CHECK_FALSE(r.failed());
  }
  SECTION("a member never added is a phantom") {
    CHECK(check_collections(h, {read(9, {"a", "c", "z"})}).phantom_elements == 1);
  }
  SECTION("two nodes read different members") {
    const auto r = check_collections(h, {read(8, {"a", "c"}, 0), read(9, {"a", "c", "b"}, 1)});
    CHECK(r.divergent_keys == 1);
    CHECK(r.reads == 2);
  }
}

TEST_CASE("the set checker: a removal takes only what it could have observed",
          "[sim][data][collections]") {
  SECTION("an SREM that returned before the SADD was sent cannot remove it") {
    const std::vector<ElementCommand> h = {add(1, "a", 0, 10), remove(2, "a", 20, 30),
                                           add(3, "a", 40, 50)};
    const auto r = check_collections(h, {read(9, {})});
    CHECK(r.removals_unobserved == 1);
    CHECK(r.elements_lost == 0);
    const auto ok = check_collections(h, {read(9, {"a"})});
    CHECK(ok.elements_required == 1);
    CHECK(ok.readds_required == 1);
  }
  SECTION("an SREM concurrent with the SADD may remove it") {
    const std::vector<ElementCommand> h = {add(1, "a", 0, 10), remove(2, "a", 5, 30)};
    const auto r = check_collections(h, {read(9, {})});
    CHECK_FALSE(r.failed());
    CHECK(r.elements_required == 0);
  }
  SECTION("an ambiguous SREM may take effect any time") {
    const std::vector<ElementCommand> h = {remove(2, "a", 0, 0, false), add(3, "a", 40, 50)};
    CHECK_FALSE(check_collections(h, {read(9, {})}).failed());
  }
}

TEST_CASE("the hash checker: HINCRBY fields between acknowledged and sent increments",
          "[sim][data][collections]") {
  std::vector<ElementCommand> h;
  for (std::uint64_t i = 1; i <= 5; ++i) {
    h.push_back(command(ElementCommand::Kind::incr, i, "n0", int(i) * 10, int(i) * 10 + 5,
                        /*acked=*/i != 5, static_cast<std::int64_t>(i)));
  }
  ElementCommand set = add(6, "f6", 100, 110);
  set.value = "v6";
  h.push_back(set);
  auto hash_read = [](std::string n0, std::string f6) {
    FinalRead r = read(9, {});
    r.elements = {{"n0", std::move(n0)}, {"f6", std::move(f6)}};
    return r;
  };
  CHECK_FALSE(check_collections(h, {hash_read("4", "v6")}).failed());
  CHECK_FALSE(check_collections(h, {hash_read("5", "v6")}).failed());  // the ambiguous one ran
  CHECK(check_collections(h, {hash_read("3", "v6")}).counter_violations == 1);
  CHECK(check_collections(h, {hash_read("6", "v6")}).counter_violations == 1);
  CHECK(check_collections(h, {hash_read("4", "v7")}).phantom_elements == 1);  // not its value
  FinalRead without = hash_read("4", "v6");
  without.elements.erase("f6");
  CHECK(check_collections(h, {without}).elements_lost == 1);
}

TEST_CASE("the sorted set checker: a member's score is one a ZADD of it wrote",
          "[sim][data][collections]") {
  ElementCommand first = add(1, "m1", 10, 20);
  first.value = "7";
  ElementCommand again = add(2, "m1", 30, 40);  // re-scored
  again.value = "3";
  const std::vector<ElementCommand> z = {first, again};
  auto zset_read = [](std::string score) {
    FinalRead r = read(9, {});
    r.elements = {{"m1", std::move(score)}};
    return r;
  };
  CHECK_FALSE(check_collections(z, {zset_read("3")}).failed());
  CHECK_FALSE(check_collections(z, {zset_read("7")}).failed());  // concurrent writers: either
  CHECK(check_collections(z, {zset_read("5")}).phantom_elements == 1);
  CHECK(check_collections(z, {zset_read("3"), zset_read("7")}).divergent_keys == 1);
}

#endif  // APIARY_SIM_HAS_DATA
