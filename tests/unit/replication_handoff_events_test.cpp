// Replication core: the per-peer handoff events for the node's event log
// (Replicator::poll_handoff_event): one started/finished pair per peer and direction, with the
// partitions, keys and bytes that moved, not one per partition.
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "support/replication_harness.hpp"

using namespace apiary;
using namespace apiary::test;

namespace {

using Event = replication::HandoffEvent;

std::vector<Event> drain(ReplCluster& c, std::size_t i) {
  std::vector<Event> out;
  while (auto e = c.rep(i).poll_handoff_event()) out.push_back(*e);
  return out;
}

void write_keys(ReplCluster& c, int count) {
  for (int i = 0; i < count; ++i) {
    const std::string key = "key" + std::to_string(i);
    const auto owners = c.rep(0).view().owners(c.rep(0).partition_of(key));
    const auto done = c.wait(c.index_of(owners[0]), c.put(c.index_of(owners[0]), key, "v"));
    REQUIRE(done.has_value());
    REQUIRE(done->status.ok());
  }
}

}  // namespace

TEST_CASE("a graceful leave reports one transfer per peer, with the keys each side counted",
          "[replication][handoff][events]") {
  auto config = small_config();
  config.replicas = 1;
  config.write_quorum = 1;
  config.handoff_batch_entries = 16;  // several batches per peer
  ReplCluster c(3, config);
  c.set_views(c.all());
  REQUIRE(c.run_until(
      [&] {
        return !c.rep(0).handoff_pending() && !c.rep(1).handoff_pending() &&
               !c.rep(2).handoff_pending();
      },
      10s));
  for (std::size_t i = 0; i < 3; ++i) drain(c, i);  // the first views' (empty) transfers
  const int keys = 300;
  write_keys(c, keys);
  const std::size_t held = c.store(1).size();
  REQUIRE(held > 0);

  c.rep(1).leave(c.now(), c.wall());
  REQUIRE(c.run_until([&] { return !c.rep(1).handoff_pending(); }, 60s));
  // The receivers end a transfer once its sender went quiet for a while.
  c.run_for(10s);

  const auto sent = drain(c, 1);
  std::map<std::string, Event> started;
  std::map<std::string, Event> finished;
  for (const auto& e : sent) {
    CHECK(e.direction == Event::Direction::out);
    auto& slot = e.phase == Event::Phase::started ? started : finished;
    CHECK(slot.count(e.peer) == 0);  // one pair per peer
    slot[e.peer] = e;
  }
  CHECK(started.size() == 2);
  REQUIRE(finished.size() == started.size());
  std::uint64_t keys_sent = 0;
  for (const auto& [peer, e] : finished) {
    INFO(peer);
    CHECK(e.complete);
    CHECK(e.partitions == started[peer].partitions);
    CHECK(e.keys > 0);
    CHECK(e.bytes > e.keys);
    keys_sent += e.keys;
  }
  CHECK(keys_sent == held);

  // Each receiver saw the same transfer from its side.
  for (std::size_t i : {std::size_t{0}, std::size_t{2}}) {
    const auto& name = c.node(i).name;
    INFO(name);
    std::vector<Event> from_leaver;
    for (const auto& e : drain(c, i)) {
      if (e.peer == c.node(1).name) from_leaver.push_back(e);
    }
    REQUIRE(from_leaver.size() == 2);
    CHECK(from_leaver[0].direction == Event::Direction::in);
    CHECK(from_leaver[0].phase == Event::Phase::started);
    CHECK(from_leaver[1].phase == Event::Phase::finished);
    CHECK(from_leaver[1].complete);
    CHECK(from_leaver[1].keys == finished[name].keys);
    CHECK(from_leaver[1].bytes == finished[name].bytes);
    CHECK(from_leaver[1].partitions == finished[name].partitions);
  }
}

TEST_CASE("a transfer to a peer that goes down ends incomplete", "[replication][handoff][events]") {
  auto config = small_config();
  config.replicas = 1;
  config.write_quorum = 1;
  config.handoff_batch_entries = 2;  // many batches: the stream is still going below
  ReplCluster c(2, config);
  c.set_views(c.all());
  REQUIRE(
      c.run_until([&] { return !c.rep(0).handoff_pending() && !c.rep(1).handoff_pending(); }, 10s));
  write_keys(c, 200);
  drain(c, 0);
  drain(c, 1);

  c.rep(1).leave(c.now(), c.wall());
  c.run_for(5ms);
  c.crash(0);
  c.set_views(c.all(), {0});  // n1 sees its only target down, then out of the ring
  c.set_views({1});
  const auto events = drain(c, 1);
  REQUIRE(events.size() == 2);
  CHECK(events[0].phase == Event::Phase::started);
  CHECK(events[1].phase == Event::Phase::finished);
  CHECK_FALSE(events[1].complete);
  CHECK(events[1].partitions < events[0].partitions);
}
