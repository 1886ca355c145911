// Store sibling semantics: concurrent writes kept, causally newer ones replace, merges are
// idempotent and order-independent; tombstones carry the clock and are collected after the
// grace period.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "apiary/base/rng.hpp"
#include "apiary/store/store.hpp"

using namespace apiary;
using namespace apiary::store;
using std::chrono::milliseconds;

namespace {
StoreConfig config_for(std::uint64_t node) {
  StoreConfig c;
  c.self = NodeId{node};
  c.tombstone_grace = milliseconds(1000);
  return c;
}
std::vector<std::string> values_of(Store& s, std::string_view key, WallTime now) {
  auto r = s.get(key, now);
  std::vector<std::string> out;
  if (!r.ok()) return out;
  for (const auto& sib : r->siblings) out.push_back(sib.value);
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

TEST_CASE("local puts overwrite, binary-safe keys and values", "[store]") {
  Store s(config_for(1));
  const WallTime t{1'000'000};
  const std::string key("k\0ey", 4);
  const std::string value("va\0lue", 6);
  REQUIRE(s.put_local(key, value, t).ok());
  CHECK(s.get_value(key, t) == std::optional<std::string_view>(value));
  CHECK_FALSE(s.get_value("k", t));
  REQUIRE(s.put_local(key, "second", t).ok());
  REQUIRE(s.put_local(key, "third-longer-value", t).ok());
  CHECK(values_of(s, key, t) == std::vector<std::string>{"third-longer-value"});
  CHECK(s.size() == 1);
  CHECK(s.stats().hits == 2);
  CHECK(s.stats().misses == 1);
  REQUIRE(s.put_local("", "", t).ok());  // empty key and value are fine
  CHECK(s.get_value("", t) == std::optional<std::string_view>(""));
}

TEST_CASE("concurrent writes on two nodes become siblings, a write with the context wins",
          "[store]") {
  Store a(config_for(1));
  Store b(config_for(2));
  const WallTime t{5'000};
  REQUIRE(a.put_local("k", "from-a", t).ok());
  REQUIRE(b.put_local("k", "from-b", WallTime{t.ms + 1}).ok());
  auto va = a.export_entry("k", t);
  auto vb = b.export_entry("k", t);
  REQUIRE(va);
  REQUIRE(vb);
  CHECK(*a.merge("k", vb->version, vb->expiry, t));
  CHECK(*b.merge("k", va->version, va->expiry, t));
  CHECK(values_of(a, "k", t) == std::vector<std::string>{"from-a", "from-b"});
  CHECK(values_of(b, "k", t) == values_of(a, "k", t));
  // Both replicas show the same single value to RESP readers (LWW: later HLC).
  CHECK(a.get_value("k", t) == b.get_value("k", t));
  CHECK(a.get_value("k", t) == std::optional<std::string_view>("from-b"));
  // Merging again changes nothing (idempotent).
  CHECK_FALSE(*a.merge("k", vb->version, vb->expiry, t));
  // A client reads both and writes back through b: one value everywhere after a merge.
  auto read = b.get("k", t);
  REQUIRE(read.ok());
  REQUIRE(b.put("k", "resolved", read->context, t).ok());
  auto resolved = b.export_entry("k", t);
  CHECK(*a.merge("k", resolved->version, resolved->expiry, t));
  CHECK(values_of(a, "k", t) == std::vector<std::string>{"resolved"});
  // An older version arriving late does not bring anything back.
  CHECK_FALSE(*a.merge("k", va->version, va->expiry, t));
  CHECK(values_of(a, "k", t) == std::vector<std::string>{"resolved"});
}

TEST_CASE("a put with a stale context keeps the newer value as a sibling", "[store]") {
  Store s(config_for(1));
  const WallTime t{1};
  REQUIRE(s.put_local("k", "v1", t).ok());
  const auto ctx1 = s.get("k", t)->context;
  REQUIRE(s.put_local("k", "v2", t).ok());
  REQUIRE(s.put("k", "v3", ctx1, t).ok());  // saw v1 only
  CHECK(values_of(s, "k", t) == std::vector<std::string>{"v2", "v3"});
  REQUIRE(s.put("k", "v4", s.get("k", t)->context, t).ok());
  CHECK(values_of(s, "k", t) == std::vector<std::string>{"v4"});
}

TEST_CASE("merge order does not matter across replicas", "[store]") {
  Rng rng(3);
  std::vector<std::unique_ptr<Store>> nodes;
  for (std::uint64_t i = 1; i <= 3; ++i) nodes.push_back(std::make_unique<Store>(config_for(i)));
  const WallTime t{10'000};
  std::vector<VersionedEntry> shipped;
  for (int i = 0; i < 300; ++i) {
    Store& n = *nodes[rng.uniform(3)];
    const std::string key = "key" + std::to_string(rng.uniform(20));
    if (rng.chance(0.2)) {
      n.del_local(key, t);
    } else {
      REQUIRE(n.put_local(key, "v" + std::to_string(i), t).ok());
    }
    if (auto e = n.export_entry(key, t)) shipped.push_back(*e);
  }
  // Two fresh replicas receive every shipped version in different orders.
  Store x(config_for(10));
  Store y(config_for(11));
  std::vector<std::size_t> order(shipped.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  for (std::size_t i : order) REQUIRE(x.merge(shipped[i].key, shipped[i].version, {}, t).ok());
  rng.shuffle(order);
  for (std::size_t i : order) REQUIRE(y.merge(shipped[i].key, shipped[i].version, {}, t).ok());
  for (std::size_t i : order) REQUIRE(y.merge(shipped[i].key, shipped[i].version, {}, t).ok());
  for (std::uint32_t p = 0; p < x.config().partition_count; ++p) {
    REQUIRE(x.digest(PartitionId{p}, t) == y.digest(PartitionId{p}, t));
  }
  CHECK(x.size() == y.size());
  CHECK(x.tombstones() == y.tombstones());
}

TEST_CASE("deletes leave tombstones that suppress older versions until collected", "[store]") {
  Store s(config_for(1));
  const WallTime t{100'000};
  REQUIRE(s.put_local("k", "v", t).ok());
  const auto before_delete = *s.export_entry("k", t);
  CHECK(s.del_local("k", t));
  CHECK_FALSE(s.del_local("k", t));
  CHECK_FALSE(s.get_value("k", t));
  CHECK_FALSE(s.exists("k", t));
  CHECK(s.size() == 0);
  CHECK(s.tombstones() == 1);
  const auto tomb = s.export_entry("k", t);
  REQUIRE(tomb);
  CHECK(tomb->version.is_tombstone());
  // A stale replica's copy does not resurrect the key.
  CHECK_FALSE(*s.merge("k", before_delete.version, {}, t));
  CHECK_FALSE(s.get_value("k", t));
  // A replica that receives the tombstone drops its copy.
  Store other(config_for(2));
  REQUIRE(other.merge("k", before_delete.version, {}, t).ok());
  REQUIRE(other.get_value("k", t));
  REQUIRE(*other.merge("k", tomb->version, {}, t));
  CHECK_FALSE(other.get_value("k", t));
  // Not collected before the grace period, collected after.
  CHECK(s.active_expire_cycle(WallTime{t.ms + 999}).tombstones_collected == 0);
  CHECK(s.tombstones() == 1);
  CHECK(s.active_expire_cycle(WallTime{t.ms + 1000}).tombstones_collected == 1);
  CHECK(s.tombstones() == 0);
  CHECK_FALSE(s.export_entry("k", t));
  // Writing again after a delete works and is newer than the tombstone.
  REQUIRE(other.put_local("k", "again", t).ok());
  CHECK(other.get_value("k", t) == std::optional<std::string_view>("again"));
}

TEST_CASE("a delete with a context keeps siblings it did not see", "[store]") {
  Store a(config_for(1));
  Store b(config_for(2));
  const WallTime t{1};
  REQUIRE(a.put_local("k", "a", t).ok());
  const auto ctx = a.get("k", t)->context;
  REQUIRE(b.put_local("k", "b", t).ok());
  REQUIRE(a.merge("k", b.export_entry("k", t)->version, {}, t).ok());
  CHECK(a.del("k", ctx, t));
  CHECK(values_of(a, "k", t) == std::vector<std::string>{"b"});
}

TEST_CASE("clocks and sibling sets stay bounded in the store", "[store]") {
  StoreConfig c = config_for(1);
  c.limits = data::DvvLimits{4, 8};
  Store s(c);
  const WallTime t{1};
  // A context naming 1000 actors (say, from a misbehaving client) does not bloat the entry.
  std::vector<data::VvEntry> many;
  for (std::uint64_t a = 100; a < 1100; ++a) many.push_back({NodeId{a}, a});
  REQUIRE(s.put("k", "v", data::VersionVector::from_entries(many), t).ok());
  CHECK(s.get("k", t)->context.size() <= 8);
  CHECK(s.get("k", t)->context.get(NodeId{1}) == 1);  // the local actor is always kept
  // Twenty concurrent writers: at most four siblings survive, the LWW winners.
  for (std::uint64_t n = 2; n < 22; ++n) {
    Store w(config_for(n));
    REQUIRE(w.put_local("k", "w" + std::to_string(n), WallTime{static_cast<std::int64_t>(n)}).ok());
    REQUIRE(s.merge("k", w.export_entry("k", t)->version, {}, t).ok());
  }
  const auto r = s.get("k", t);
  CHECK(r->siblings.size() == 4);
  CHECK(r->lww().value == "w21");
  CHECK(s.entries_memory() == s.recompute_entries_memory());
}
