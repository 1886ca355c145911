// Delta replication of hashes and sets (docs/replication.md, "Deltas"): a write to one field of
// a large hash travels as its change, not as the hash; a replica that missed a write refuses
// the next delta and gets the whole entry; every replica ends with the coordinator's version.
#include <catch2/catch.hpp>

#include "apiary/data/codec.hpp"
#include "support/replication_harness.hpp"

using namespace apiary;
using namespace apiary::test;

namespace {

// HSET key field value at `node` as a coordinator, then replicated with quorum `w`.
std::uint64_t hset(ReplCluster& c, std::size_t node, const std::string& key,
                   const std::string& field, const std::string& value, std::uint32_t w = 3) {
  REQUIRE(c.store(node)
              .edit_collection(key, data::ValueKind::hash, c.wall(),
                               [&](store::Store::CollectionEdit& e) {
                                 e.collection.set(field, value, e.dot, e.stamp);
                                 return true;
                               })
              .ok());
  return c.put_existing(node, key, w);
}

std::optional<data::DvvSet> version(ReplCluster& c, std::size_t node, const std::string& key) {
  auto e = c.store(node).export_entry(key, c.wall());
  if (!e) return std::nullopt;
  return e->version;
}

}  // namespace

TEST_CASE("a hash write replicates as its change, and replicas hold the same version",
          "[replication][delta]") {
  ReplCluster c(3, small_config());
  c.set_views(c.all());
  const std::string key = "big";
  // A hash of 2,000 fields, built by one write.
  REQUIRE(c.store(0)
              .edit_collection(key, data::ValueKind::hash, c.wall(),
                               [&](store::Store::CollectionEdit& e) {
                                 for (int i = 0; i < 2000; ++i) {
                                   e.collection.set("field:" + std::to_string(i),
                                                    std::string(20, 'x'), e.dot, e.stamp);
                                 }
                                 return true;
                               })
              .ok());
  REQUIRE(c.wait(0, c.put_existing(0, key, 3))->status.ok());
  c.run_for(100ms);
  const auto sent_before = c.rep(0).stats().bytes_sent;
  const auto deltas_before = c.rep(0).stats().delta_writes;
  for (int i = 0; i < 50; ++i) {
    REQUIRE(c.wait(0, hset(c, 0, key, "field:" + std::to_string(i), "new"))->status.ok());
  }
  c.run_for(100ms);
  const auto per_write = (c.rep(0).stats().bytes_sent - sent_before) / 50;
  CHECK(per_write < 400);  // two replicas, a few dozen bytes each; the hash is ~100 KB
  CHECK(c.rep(0).stats().delta_writes - deltas_before == 50);
  CHECK(c.rep(0).stats().delta_fallbacks == 0);
  const auto v0 = version(c, 0, key);
  REQUIRE(v0);
  CHECK(version(c, 1, key) == v0);
  CHECK(version(c, 2, key) == v0);

  // A quorum read (R=3) where the replicas agree moves no fields: they answer "the same
  // version" to its hash. One that differs sends its version and is repaired.
  const auto read_bytes = [&](std::size_t node) {
    const auto before = c.rep(1).stats().bytes_sent + c.rep(2).stats().bytes_sent +
                        c.rep(0).stats().bytes_sent;
    const auto done = c.wait(node, c.read(node, key, 3));
    REQUIRE(done.has_value());
    CHECK(done->status.ok());
    c.run_for(100ms);
    return c.rep(1).stats().bytes_sent + c.rep(2).stats().bytes_sent +
           c.rep(0).stats().bytes_sent - before;
  };
  CHECK(read_bytes(0) < 400);
  CHECK(c.rep(1).stats().reads_same + c.rep(2).stats().reads_same == 2);
  c.block(0, 2);
  REQUIRE(c.wait(0, hset(c, 0, key, "field:7", "missed by n2", 2))->status.ok());
  c.run_for(100ms);
  c.unblock_all();
  CHECK(read_bytes(1) > 20'000);  // n2's whole (stale) hash, then its repair
  CHECK(version(c, 2, key) == version(c, 0, key));
  CHECK(read_bytes(2) < 400);
}

TEST_CASE("a replica that missed a delta refuses the next one and gets the whole entry",
          "[replication][delta]") {
  ReplCluster c(3, small_config());
  c.set_views(c.all());
  const std::string key = "h";
  REQUIRE(c.wait(0, hset(c, 0, key, "a", "1"))->status.ok());
  c.run_for(100ms);
  c.block(0, 2);  // n2 misses the next write
  REQUIRE(c.wait(0, hset(c, 0, key, "b", "2", 2))->status.ok());
  c.run_for(100ms);
  c.unblock_all();
  REQUIRE(c.wait(0, hset(c, 0, key, "c", "3"))->status.ok());
  c.run_for(100ms);
  CHECK(c.rep(0).stats().delta_fallbacks == 1);
  const auto v0 = version(c, 0, key);
  CHECK(version(c, 1, key) == v0);
  CHECK(version(c, 2, key) == v0);
  bool wrong = false;
  const data::Collection* h = c.store(2).read_collection(key, data::ValueKind::hash, c.wall(), wrong);
  REQUIRE(h != nullptr);
  CHECK(h->size() == 3);
}

TEST_CASE("a delta against another base is refused, and hostile deltas never apply",
          "[replication][delta]") {
  store::StoreConfig sc;
  sc.self = NodeId{9};
  store::Store s(sc);
  const WallTime t{10'000};
  store::CollectionDelta d;
  d.key = "k";
  d.kind = data::ValueKind::set;
  d.base = data::VersionVector::from_entries({{NodeId{1}, 4}});
  d.base_dots = {data::Dot{NodeId{1}, 4}};
  d.dot = data::Dot{NodeId{1}, 5};
  d.stamp = HlcTimestamp{77};
  d.changes.push_back({data::ElementChange::Kind::set, "m", "", data::ValueKind::string});
  auto r = s.apply_delta(d, t);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::not_found);
  CHECK(s.type("k", t) == store::KeyType::none);
  // From nothing, a delta whose base is empty applies.
  d.base = {};
  d.base_dots = {};
  d.dot = data::Dot{NodeId{1}, 1};
  REQUIRE(s.apply_delta(d, t).ok());
  CHECK(s.type("k", t) == store::KeyType::set);
  // The same delta again: its base is gone, so it is refused (idempotence comes from the
  // coordinator resending the entry, which merges).
  CHECK_FALSE(s.apply_delta(d, t).ok());
  CHECK(s.entries_memory() == s.recompute_entries_memory());
}

TEST_CASE("a 100,000-field hash moves to a new owner in one message and repairs a replica",
          "[replication][delta][handoff]") {
  auto config = small_config();
  config.replicas = 2;
  ReplCluster c(2, config);
  c.set_views(c.all());
  const std::string key = "huge";
  REQUIRE(c.store(0)
              .edit_collection(key, data::ValueKind::hash, c.wall(),
                               [&](store::Store::CollectionEdit& e) {
                                 for (int i = 0; i < 100'000; ++i) {
                                   e.collection.set("f" + std::to_string(i), "value" +
                                                    std::to_string(i), e.dot, e.stamp);
                                 }
                                 return true;
                               })
              .ok());
  REQUIRE(c.wait(0, c.put_existing(0, key, 2))->status.ok());
  c.run_for(100ms);
  const auto v0 = version(c, 0, key);
  REQUIRE(v0);
  CHECK(version(c, 1, key) == v0);
  // A third member joins; with N=2 some partitions move to it, perhaps this key's.
  const std::size_t newcomer = c.add_node();
  c.set_views(c.all());
  REQUIRE(c.run_until(
      [&] {
        for (std::size_t i = 0; i < c.size(); ++i) {
          if (c.rep(i).handoff_pending()) return false;
        }
        return true;
      },
      60s));
  const auto owners = c.rep(0).view().owners(c.rep(0).partition_of(key));
  for (const auto& o : owners) CHECK(version(c, c.index_of(o), key) == v0);
  std::uint64_t dropped = 0;
  for (std::size_t i = 0; i < c.size(); ++i) dropped += c.rep(i).stats().malformed_dropped;
  CHECK(dropped == 0);  // no message too large for the data channel
  (void)newcomer;
}

TEST_CASE("a write that would grow a hash past the data-channel bound is refused",
          "[replication][delta]") {
  store::StoreConfig sc;
  sc.self = NodeId{1};
  sc.max_collection_bytes = 20'000;
  store::Store s(sc);
  const WallTime t{10'000};
  const auto add = [&](int from, int to) {
    return s.edit_collection("h", data::ValueKind::hash, t, [&](store::Store::CollectionEdit& e) {
      for (int i = from; i < to; ++i) {
        e.collection.set("f" + std::to_string(i), std::string(50, 'v'), e.dot, e.stamp);
      }
      return true;
    });
  };
  REQUIRE(add(0, 100).ok());
  const Status refused = add(100, 400);
  CHECK(refused.code() == StatusCode::too_large);
  bool wrong = false;
  const data::Collection* h = s.read_collection("h", data::ValueKind::hash, t, wrong);
  REQUIRE(h != nullptr);
  CHECK(h->size() == 100);  // nothing of the refused write
  // Removing fields of a large hash is always allowed.
  CHECK(s.edit_collection("h", data::ValueKind::hash, t, [](store::Store::CollectionEdit& e) {
           return e.collection.remove("f1");
         }).ok());
  CHECK(s.entries_memory() == s.recompute_entries_memory());
}

TEST_CASE("a replica holding a concurrent version refuses one delta, then takes deltas again",
          "[replication][delta]") {
  ReplCluster c(3, small_config());
  c.set_views(c.all());
  const std::string key = "h";
  REQUIRE(c.wait(0, hset(c, 0, key, "a", "1"))->status.ok());
  c.run_for(100ms);
  // n1 coordinated the key for a moment (a view change): a write n0 has not seen.
  REQUIRE(c.store(1)
              .edit_collection(key, data::ValueKind::hash, c.wall(),
                               [](store::Store::CollectionEdit& e) {
                                 e.collection.set("from-n1", "x", e.dot, e.stamp);
                                 return true;
                               })
              .ok());
  (void)c.store(1).take_delta(key);
  for (int i = 0; i < 6; ++i) {
    REQUIRE(c.wait(0, hset(c, 0, key, "b" + std::to_string(i), "2"))->status.ok());
    c.run_for(100ms);
  }
  // n1 refused once (n0 then merged n1's version and sent the result), and so did n2 at the
  // next write (its base lacked n1's write); every later delta applied on both.
  CHECK(c.rep(0).stats().delta_fallbacks == 2);
  const auto v0 = version(c, 0, key);
  CHECK(version(c, 1, key) == v0);
  CHECK(version(c, 2, key) == v0);
  bool wrong = false;
  const data::Collection* h = c.store(2).read_collection(key, data::ValueKind::hash, c.wall(), wrong);
  REQUIRE(h != nullptr);
  CHECK(h->contains("from-n1"));
  CHECK(h->size() == 8);
}

TEST_CASE("an EXPIRE of a hash replicates as a delta and replicas take the expiry",
          "[replication][delta]") {
  ReplCluster c(3, small_config());
  c.set_views(c.all());
  const std::string key = "h";
  REQUIRE(c.wait(0, hset(c, 0, key, "a", "1"))->status.ok());
  c.run_for(100ms);
  const auto deltas = c.rep(0).stats().delta_writes;
  const WallTime at{c.wall().ms + 60'000};
  REQUIRE(c.store(0).set_expiry(key, at, c.wall()));
  REQUIRE(c.wait(0, c.put_existing(0, key, 3))->status.ok());
  c.run_for(100ms);
  CHECK(c.rep(0).stats().delta_writes == deltas + 1);
  CHECK(c.rep(0).stats().delta_fallbacks == 0);
  for (std::size_t n = 0; n < 3; ++n) CHECK(c.store(n).ttl(key, c.wall()).expiry == at);
  CHECK(version(c, 1, key) == version(c, 0, key));
}
