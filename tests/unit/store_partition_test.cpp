// Partition iteration (handoff) and digests (anti-entropy); SCAN over all keys.
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>

#include "apiary/base/rng.hpp"
#include "apiary/data/partition.hpp"
#include "apiary/store/store.hpp"

using namespace apiary;
using namespace apiary::store;

namespace {
StoreConfig small_partitions(std::uint64_t node) {
  StoreConfig c;
  c.self = NodeId{node};
  c.partition_count = 16;
  return c;
}
}  // namespace

TEST_CASE("partition_of is xxh3 masked to the partition count", "[store][partition]") {
  CHECK(data::partition_of("", 1024).value == (data::key_hash("") & 1023));
  CHECK(data::partition_of("foo", 1).value == 0);
  std::set<std::uint32_t> seen;
  for (int i = 0; i < 5000; ++i) seen.insert(data::partition_of("k" + std::to_string(i), 16).value);
  CHECK(seen.size() == 16);
  CHECK(*seen.rbegin() == 15);
}

TEST_CASE("hash tags: keys sharing a {tag} share a partition, as in Redis Cluster",
          "[store][partition]") {
  CHECK(data::hash_tag("{user:1}:cart") == "user:1");
  CHECK(data::hash_tag("cart:{user:1}") == "user:1");
  CHECK(data::hash_tag("{a}{b}") == "a");             // the first tag only
  CHECK(data::hash_tag("{}{b}") == "{}{b}");          // an empty tag: the whole key
  CHECK(data::hash_tag("no}brace{") == "no}brace{");  // no '}' after the '{'
  CHECK(data::hash_tag("plain") == "plain");
  CHECK(data::partition_of("{user:1}:cart", 1024) == data::partition_of("{user:1}:profile", 1024));
  CHECK(data::partition_of("{user:1}:cart", 1024) == data::partition_of("user:1", 1024));
  // Untagged keys map as before (xxh3 of the whole key).
  CHECK(data::partition_of("k7", 1024).value == (data::key_hash("k7") & 1023));

  // The store files tagged keys under the tag's partition, and spreads them over its buckets.
  Store s(small_partitions(1));
  const WallTime t{1'000};
  std::set<std::string> tagged;
  for (int i = 0; i < 200; ++i) {
    tagged.insert("{same}:" + std::to_string(i));
    REQUIRE(s.put_local("{same}:" + std::to_string(i), "v", t).ok());
    REQUIRE(s.put_local("other" + std::to_string(i), "v", t).ok());
  }
  const PartitionId p = data::partition_of("same", 16);
  std::set<std::string> scanned;
  ScanCursor cursor;
  do {
    for (auto& e : s.scan_partition(p, cursor, 50, t)) {
      if (e.key.rfind("{same}", 0) == 0) scanned.insert(e.key);
      CHECK(data::partition_of(e.key, 16) == p);
    }
  } while (!cursor.done());
  CHECK(scanned == tagged);
  std::size_t buckets = 0;
  for (std::size_t b = 0; b < kDigestBuckets; ++b) {
    buckets += s.scan_bucket(p, b, t).empty() ? 0 : 1;
  }
  CHECK(buckets > 32);
  CHECK(s.get_value("{same}:7", t) == std::optional<std::string_view>("v"));
  CHECK(s.drop_partition(p) >= 200);
  CHECK_FALSE(s.exists("{same}:7", t));
}

TEST_CASE("partition iteration visits each entry exactly once with writes between batches",
          "[store][partition]") {
  Rng rng(11);
  Store s(small_partitions(1));
  const WallTime t{1'000};
  for (int i = 0; i < 4000; ++i) REQUIRE(s.put_local("k" + std::to_string(i), "v", t).ok());
  for (std::uint32_t p = 0; p < 16; ++p) {
    const PartitionId pid{p};
    std::set<std::string> present_throughout;
    for (int i = 0; i < 4000; ++i) {
      const std::string k = "k" + std::to_string(i);
      if (data::partition_of(k, 16) == pid) present_throughout.insert(k);
    }
    std::multiset<std::string> visited;
    std::set<std::string> touched;  // inserted or deleted during the scan
    ScanCursor cursor;
    int batches = 0;
    while (!cursor.done()) {
      for (const auto& e : s.scan_partition(pid, cursor, 7, t)) {
        CHECK(data::partition_of(e.key, 16) == pid);
        visited.insert(e.key);
      }
      ++batches;
      // Between batches: new keys (forcing the table to grow), deletes, overwrites.
      for (int j = 0; j < 40; ++j) {
        const std::string k = "new" + std::to_string(rng.next() % 100000);
        REQUIRE(s.put_local(k, "n", t).ok());
        touched.insert(k);
      }
      const std::string victim = "k" + std::to_string(rng.uniform(4000));
      if (s.del_local(victim, t)) touched.insert(victim);
      REQUIRE(s.put_local("k" + std::to_string(rng.uniform(4000)), "over", t).ok());
    }
    CHECK(batches > 10);
    for (const auto& k : visited) CHECK(visited.count(k) == 1);
    for (const auto& k : present_throughout) {
      if (!touched.count(k)) CHECK(visited.count(k) == 1);
    }
  }
}

TEST_CASE("SCAN returns every key exactly once while the table grows and shrinks",
          "[store][partition]") {
  Store s(small_partitions(1));
  const WallTime t{1};
  for (int i = 0; i < 3000; ++i) REQUIRE(s.put_local("k" + std::to_string(i), "v", t).ok());
  std::multiset<std::string> seen;
  ScanCursor cursor;
  int round = 0;
  do {
    for (auto& k : s.scan(cursor, 10, t)) seen.insert(std::move(k));
    // Grow past a rehash, then delete enough to shrink; keys k* are never touched.
    for (int j = 0; j < 50; ++j)
      REQUIRE(s.put_local("x" + std::to_string(round * 50 + j), "v", t).ok());
    if (round % 3 == 2) {
      for (int j = 0; j < 150; ++j) s.del_local("x" + std::to_string((round - 2) * 50 + j), t);
    }
    ++round;
  } while (!cursor.done());
  for (int i = 0; i < 3000; ++i) CHECK(seen.count("k" + std::to_string(i)) == 1);
  // A cursor in Redis form resumes the same way.
  auto c = ScanCursor::from_redis(0);
  auto first = s.scan(c, 5, t);
  CHECK(c.to_redis() != 0);
}

TEST_CASE("digests are equal iff partition contents are equal, buckets locate the keys",
          "[store][partition]") {
  Store a(small_partitions(1));
  Store b(small_partitions(2));
  const WallTime t{1'000};
  for (int i = 0; i < 2000; ++i) {
    const std::string k = "k" + std::to_string(i);
    REQUIRE(a.put_local(k, "v", t).ok());
    const auto e = a.export_entry(k, t);
    REQUIRE(b.merge(k, e->version, e->expiry, t).ok());
  }
  for (std::uint32_t p = 0; p < 16; ++p) {
    CHECK(a.digest(PartitionId{p}, t) == b.digest(PartitionId{p}, t));
  }
  // Each kind of difference shows up in exactly the partition and bucket of the key.
  auto differing = [&](const std::string& key) {
    const PartitionId p = data::partition_of(key, 16);
    for (std::uint32_t q = 0; q < 16; ++q) {
      if (q != p.value) REQUIRE(a.digest(PartitionId{q}, t) == b.digest(PartitionId{q}, t));
    }
    const auto da = a.digest(p, t);
    const auto db = b.digest(p, t);
    std::set<std::string> keys;
    for (std::size_t bucket = 0; bucket < kDigestBuckets; ++bucket) {
      if (da.buckets[bucket] == db.buckets[bucket]) continue;
      for (const auto& e : a.scan_bucket(p, bucket, t)) keys.insert(e.key);
      for (const auto& e : b.scan_bucket(p, bucket, t)) keys.insert(e.key);
    }
    CHECK(keys.count(key) == 1);
    CHECK(keys.size() < 100);  // the bucket narrows it to ~2000/16/64 keys
    return da != db;
  };
  REQUIRE(a.put_local("k1", "changed", t).ok());  // newer version on a
  CHECK(differing("k1"));
  REQUIRE(b.merge("k1", a.export_entry("k1", t)->version, {}, t).ok());
  REQUIRE(a.set_expiry("k2", WallTime{1'000'000}, t));  // expiry only
  CHECK(differing("k2"));
  REQUIRE(b.merge("k2", a.export_entry("k2", t)->version, WallTime{1'000'000}, t).ok());
  REQUIRE(a.del_local("k3", t));  // tombstone vs live value
  CHECK(differing("k3"));
  REQUIRE(b.merge("k3", a.export_entry("k3", t)->version, {}, t).ok());
  REQUIRE(a.put_local("only-on-a", "v", t).ok());  // missing key
  CHECK(differing("only-on-a"));
  REQUIRE(b.merge("only-on-a", a.export_entry("only-on-a", t)->version, {}, t).ok());
  for (std::uint32_t p = 0; p < 16; ++p) {
    CHECK(a.digest(PartitionId{p}, t) == b.digest(PartitionId{p}, t));
  }
}

TEST_CASE("drop_partition removes exactly one partition", "[store][partition]") {
  Store s(small_partitions(1));
  const WallTime t{1};
  for (int i = 0; i < 1000; ++i) REQUIRE(s.put_local("k" + std::to_string(i), "v", t).ok());
  const std::size_t dropped = s.drop_partition(PartitionId{3});
  CHECK(dropped > 20);
  CHECK(s.size() == 1000 - dropped);
  for (int i = 0; i < 1000; ++i) {
    const std::string k = "k" + std::to_string(i);
    CHECK(s.exists(k, t) == (data::partition_of(k, 16).value != 3));
  }
  CHECK(s.digest(PartitionId{3}, t).entries == 0);
  CHECK(s.entries_memory() == s.recompute_entries_memory());
}
