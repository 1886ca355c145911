// Replication core: anti-entropy, concurrent writes kept as siblings, hinted handoff,
// hostile input and determinism.
#include <catch2/catch.hpp>

#include "apiary/base/rng.hpp"
#include "apiary/wire/envelope.hpp"
#include "support/replication_harness.hpp"

using namespace apiary;
using namespace apiary::test;

namespace {

replication::ReplicationConfig ae_config() {
  auto c = small_config();
  c.anti_entropy_interval = 20ms;
  return c;
}

// True when every owner of every partition has the same digest as the partition's first owner.
bool digests_equal(ReplCluster& c) {
  const auto& view = c.rep(0).view();
  for (std::uint32_t p = 0; p < view.partition_count(); ++p) {
    const auto owners = view.owners(PartitionId{p});
    const auto first = c.store(c.index_of(owners[0])).digest(PartitionId{p}, c.wall());
    for (const auto& o : owners) {
      if (!(c.store(c.index_of(o)).digest(PartitionId{p}, c.wall()) == first)) return false;
    }
  }
  return true;
}

}  // namespace

TEST_CASE("anti-entropy converges replicas that missed writes", "[replication][ae]") {
  ReplCluster c(4, ae_config());
  c.set_views(c.all());
  c.isolate(3);  // n3 misses everything, without anyone noticing
  std::size_t written = 0;
  for (int i = 0; i < 200; ++i) {
    const std::string key = "key" + std::to_string(i);
    const auto owners = c.rep(0).view().owners(c.rep(0).partition_of(key));
    const std::size_t coord = c.index_of(owners[0] == "n3" ? owners[1] : owners[0]);
    c.put(coord, key, "v" + std::to_string(i), 1);
    ++written;
  }
  c.run_for(200ms);
  REQUIRE_FALSE(digests_equal(c));
  c.unblock_all();
  REQUIRE(c.run_until([&] { return digests_equal(c); }, 30s));
  std::uint64_t exchanged = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    exchanged += c.rep(i).stats().anti_entropy_keys_received;
  }
  CHECK(exchanged > 0);
  // n3 now holds every key of the partitions it owns.
  for (std::size_t i = 0; i < written; ++i) {
    const std::string key = "key" + std::to_string(i);
    if (c.rep(3).owns(key)) CHECK(c.value(3, key) == "v" + std::to_string(i));
  }
}

TEST_CASE("concurrent writes through two coordinators become siblings everywhere",
          "[replication][ae]") {
  ReplCluster c(3, ae_config());
  c.set_views(c.all());
  c.isolate(0);
  c.isolate(1);
  c.isolate(2);
  c.put(0, "k", "from-n0", 1);
  c.put(1, "k", "from-n1", 1);
  c.run_for(100ms);
  c.unblock_all();
  auto siblings = [&](std::size_t i) {
    auto r = c.store(i).get("k", c.wall());
    return r.ok() ? r->siblings.size() : 0;
  };
  REQUIRE(
      c.run_until([&] { return siblings(0) == 2 && siblings(1) == 2 && siblings(2) == 2; }, 30s));
  // Every replica shows readers the same winner.
  CHECK(c.value(0, "k") == c.value(1, "k"));
  CHECK(c.value(1, "k") == c.value(2, "k"));
}

TEST_CASE("hinted handoff delivers to an owner that comes back", "[replication][hints]") {
  ReplCluster c(4, small_config());
  c.set_views(c.all());
  // A key owned by n0 (coordinator) and n3 (down); the non-owner stands in.
  const auto view = c.rep(0).view();
  const auto key = find_key(view, [](const auto& o) {
    return o[0] == "n0" && std::find(o.begin(), o.end(), "n3") != o.end();
  });
  std::size_t standin = 0;
  for (std::size_t i = 1; i < 3; ++i) {
    if (!view.owns(c.node(i).name, c.rep(0).partition_of(key))) standin = i;
  }
  REQUIRE(standin != 0);
  c.crash(3);
  c.set_views(c.all(), {3});
  const auto done = c.wait(0, c.put(0, key, "hinted", 3));
  REQUIRE(done.has_value());
  CHECK(done->status.ok());  // sloppy quorum: the stand-in counts
  CHECK(done->replicas == 3);
  CHECK(c.rep(0).stats().hinted_writes == 1);
  CHECK(c.rep(standin).hint_count() == 1);
  CHECK(c.value(standin, key) == "hinted");

  c.restore(3);
  c.set_views(c.all());
  REQUIRE(c.run_until([&] { return c.value(3, key) == "hinted"; }, 10s));
  REQUIRE(c.run_until([&] { return c.rep(standin).hint_count() == 0; }, 10s));
  CHECK(c.rep(standin).stats().hints_delivered == 1);
  // The stand-in does not own the partition: it hands it over and drops its copy (after
  // handoff_drop_delay, for forwards from members whose view is older).
  REQUIRE(c.run_until([&] { return !c.rep(standin).handoff_pending(); }, 10s));
  REQUIRE(c.run_until([&] { return !c.value(standin, key).has_value(); },
                      std::chrono::duration_cast<Duration>(c.config().handoff_drop_delay) + 1s));
  for (const auto& o : view.owners(c.rep(0).partition_of(key))) {
    CHECK(c.value(c.index_of(o), key) == "hinted");
  }
}

TEST_CASE("a stand-in keeps at most max_hints hints", "[replication][hints]") {
  auto config = small_config();
  config.max_hints = 5;
  ReplCluster c(4, config);
  c.crash(3);
  c.set_views(c.all(), {3});
  const auto& view = c.rep(0).view();
  int hinted = 0;
  for (int i = 0; hinted < 12; ++i) {
    const std::string key = "h" + std::to_string(i);
    const auto owners = view.owners(c.rep(0).partition_of(key));
    if (owners[0] != "n0" || std::find(owners.begin(), owners.end(), "n3") == owners.end()) {
      continue;
    }
    c.wait(0, c.put(0, key, "v", 2));
    ++hinted;
  }
  std::size_t held = 0;
  std::uint64_t dropped = 0;
  for (std::size_t i = 1; i < 3; ++i) {
    CHECK(c.rep(i).hint_count() <= 5);
    held += c.rep(i).hint_count();
    dropped += c.rep(i).stats().hints_dropped;
  }
  CHECK(dropped > 0);
  CHECK(held + dropped == 12);
}

TEST_CASE("malformed and foreign messages are dropped and counted", "[replication][malformed]") {
  ReplCluster c(2, small_config());
  c.set_views(c.all());
  auto& stats = c.rep(1).stats();
  c.inject(1, {0x01, 0x02, 0x03});
  CHECK(stats.malformed_dropped == 1);

  const std::vector<std::uint8_t> junk = {0x93, 0x01, 0x02};
  c.inject(1, wire::encode_envelope({"other", wire::MessageType::data_request, "n0", "data://n0"},
                                    junk));
  CHECK(stats.foreign_cluster_dropped == 1);
  c.inject(1, wire::encode_envelope({"apiary", wire::MessageType::ping, "n0", "data://n0"}, junk));
  CHECK(stats.unsupported_dropped == 1);
  c.inject(1, wire::encode_envelope({"apiary", wire::MessageType::data_request, "n0", "data://n0"},
                                    junk));
  CHECK(stats.malformed_dropped == 2);

  // Mutations of real traffic never crash a node; the node keeps working afterwards.
  c.rep(0).set_executor(
      [](const replication::ForwardedCommand&) { return std::optional<std::string>("+OK\r\n"); });
  c.record(true);
  c.wait(0, c.put(0, "k", "v", 2));
  c.wait(0, c.put(0, "k2", std::string(300, 'x'), 2));
  c.wait(1, c.read(1, "k", 2));
  c.wait(1, c.forward(1, "k", {"GET", "k"}));
  c.add_node();
  c.set_views(c.all());  // handoff batches and acks
  c.run_for(1s);
  c.record(false);
  const auto samples = c.recorded();
  REQUIRE(samples.size() > 8);
  Rng rng(42);
  for (int i = 0; i < 3000; ++i) {
    auto bytes = samples[rng.uniform(samples.size())];
    const int flips = 1 + static_cast<int>(rng.uniform(4));
    for (int f = 0; f < flips; ++f) {
      bytes[rng.uniform(bytes.size())] = static_cast<std::uint8_t>(rng.next());
    }
    if (rng.chance(0.2)) bytes.resize(rng.uniform(bytes.size()));
    c.inject(1, bytes);
  }
  CHECK(stats.malformed_dropped > 2);
  c.run_for(2s);
  const auto done = c.wait(0, c.put(0, "after", "ok", 2));
  REQUIRE(done.has_value());
  CHECK(done->status.ok());
}

TEST_CASE("the same inputs give the same message trace", "[replication][determinism]") {
  auto scenario = [](std::uint64_t seed) {
    auto config = ae_config();
    config.seed = seed;
    ReplCluster c(4, config);
    c.set_views(c.all());
    c.block(0, 2);
    for (int i = 0; i < 50; ++i) c.put(i % 4, "k" + std::to_string(i % 17), std::to_string(i), 2);
    c.run_for(500ms);
    c.unblock_all();
    c.add_node();
    c.set_views(c.all());
    c.run_for(3s);
    return std::make_pair(c.trace_hash(), c.delivered());
  };
  const auto a = scenario(7);
  const auto b = scenario(7);
  CHECK(a.second > 100);
  CHECK(a == b);
}
