// What pruning a DvvSet costs: the sibling cap drops the LWW losers (as if superseded,
// everywhere); forgetting clock entries can bring back a superseded sibling from a replica
// that still has it, as an extra sibling, but never loses a live value.
#include <catch2/catch.hpp>
#include <vector>

#include "apiary/data/dvv.hpp"

using apiary::HlcTimestamp;
using apiary::NodeId;
using namespace apiary::data;

TEST_CASE("sibling cap keeps the LWW winners and the drop spreads by merge", "[dvv][prune]") {
  DvvSet x;
  for (std::uint64_t i = 1; i <= 6; ++i) {
    DvvSet w;
    w.update({}, NodeId{i}, HlcTimestamp{i * 10}, "v" + std::to_string(i));
    x.merge(w);
  }
  DvvSet full = x;
  REQUIRE(x.siblings().size() == 6);
  const PruneReport r = x.prune(DvvLimits{4, 32}, {});
  CHECK(r.siblings_dropped == 2);
  REQUIRE(x.siblings().size() == 4);
  for (const auto& s : x.siblings()) CHECK(s.stamp.packed >= 30);
  CHECK(x.lww()->value == "v6");  // single-value readers see the same value as before
  // A replica that still had all six adopts the drop on merge: no resurrection.
  full.merge(x);
  CHECK(full.siblings().size() == 4);
}

TEST_CASE("clock pruning forgets the oldest sibling-less actors outside the keep set",
          "[dvv][prune]") {
  DvvSet x;
  VersionVector ctx;
  for (std::uint64_t i = 1; i <= 10; ++i) {
    x.update(ctx, NodeId{i}, HlcTimestamp{100 + i}, "v" + std::to_string(i));
    ctx = x.context();  // each write reads the previous: one sibling, ten actors
  }
  REQUIRE(x.clock().size() == 10);
  REQUIRE(x.siblings().size() == 1);
  const std::vector<NodeId> keep = {NodeId{1}};
  const PruneReport r = x.prune(DvvLimits{16, 4}, keep);
  CHECK(r.clock_entries_dropped == 6);
  std::vector<std::uint64_t> actors;
  for (const auto& e : x.clock()) actors.push_back(e.actor.value);
  // Kept: actor 1 (keep set), 10 (has the sibling), then the newest stamps 9 and 8.
  CHECK(actors == std::vector<std::uint64_t>{1, 8, 9, 10});
  CHECK(x.siblings()[0].value == "v10");
}

TEST_CASE("the documented cost of clock pruning: a superseded value may come back",
          "[dvv][prune]") {
  // Replica A wrote v1; replica B read it and wrote v2 (superseding v1). A still has v1.
  DvvSet a;
  a.update({}, NodeId{1}, HlcTimestamp{1}, "v1");
  DvvSet b = a;
  b.update(b.context(), NodeId{2}, HlcTimestamp{2}, "v2");
  DvvSet pruned = b;
  pruned.prune(DvvLimits{16, 1}, std::vector<NodeId>{NodeId{2}});
  REQUIRE(pruned.clock().size() == 1);  // B forgot that it had seen A's write
  DvvSet unpruned = b;
  unpruned.merge(a);
  CHECK(unpruned.siblings().size() == 1);  // without pruning, v1 stays superseded
  pruned.merge(a);
  REQUIRE(pruned.siblings().size() == 2);  // with pruning, v1 is back as a sibling...
  CHECK(pruned.lww()->value == "v2");      // ...but LWW readers still see the newer v2
  // Nothing live is ever lost: v2 survives in both.
  bool has_v2 = false;
  for (const auto& s : pruned.siblings()) has_v2 |= s.value == "v2";
  CHECK(has_v2);
}
