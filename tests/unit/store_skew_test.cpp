// The store with the key distributions that used to make its table quadratic: a handoff
// receiver filled partition by partition in the sender's order, and every key in one
// partition (what a hostile client can produce with ~1024 tries per key). Partition scans,
// digests, drop_partition and memory accounting must behave exactly as with random keys.
// (The cost side is checked on the table itself, in store_table_test.)
#include <algorithm>
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "apiary/base/rng.hpp"
#include "apiary/data/partition.hpp"
#include "apiary/store/store.hpp"

using namespace apiary;
using namespace apiary::store;

namespace {

constexpr std::uint32_t kPartitions = 1024;
const WallTime kNow{1'000};

StoreConfig config(std::uint64_t node) {
  StoreConfig c;
  c.self = NodeId{node};
  c.partition_count = kPartitions;
  return c;
}

// The first n keys "k<i>" that fall into `partition`.
std::vector<std::string> keys_of_partition(std::uint32_t partition, std::size_t n) {
  std::vector<std::string> keys;
  for (std::size_t i = 0; keys.size() < n; ++i) {
    std::string k = "k" + std::to_string(i);
    if (data::partition_of(k, kPartitions).value == partition) keys.push_back(std::move(k));
  }
  return keys;
}

}  // namespace

TEST_CASE("a store holding only one partition scans, digests and drops it like any other",
          "[store][skew]") {
  const std::vector<std::string> keys = keys_of_partition(517, 6000);
  Store a(config(1));
  for (const auto& k : keys) REQUIRE(a.put_local(k, "v" + k, kNow).ok());
  REQUIRE(a.size() == keys.size());
  const std::size_t baseline = Store(config(9)).used_memory();

  // A handoff: b receives the partition in a's scan order (ascending order keys), in batches.
  Store b(config(2));
  ScanCursor cursor;
  std::size_t received = 0;
  while (!cursor.done()) {
    for (const auto& e : a.scan_partition(PartitionId{517}, cursor, 100, kNow)) {
      REQUIRE(b.merge(e.key, e.version, e.expiry, kNow).ok());
      ++received;
    }
  }
  CHECK(received == keys.size());
  CHECK(b.size() == keys.size());
  CHECK(a.digest(PartitionId{517}, kNow) == b.digest(PartitionId{517}, kNow));
  CHECK(b.digest(PartitionId{517}, kNow).entries == keys.size());
  CHECK(b.digest(PartitionId{516}, kNow).entries == 0);
  CHECK(b.digest(PartitionId{518}, kNow).entries == 0);
  for (const auto& k : keys) REQUIRE(b.get_value(k, kNow) == "v" + k);

  // Every bucket lists exactly its keys; together the buckets list the partition.
  std::set<std::string> from_buckets;
  for (std::size_t bucket = 0; bucket < kDigestBuckets; ++bucket) {
    for (const auto& e : b.scan_bucket(PartitionId{517}, bucket, kNow)) {
      CHECK(from_buckets.insert(e.key).second);
    }
  }
  CHECK(from_buckets.size() == keys.size());

  // A scan with deletes and inserts of the same partition between batches still visits each
  // key present throughout exactly once.
  Rng rng(4);
  const std::vector<std::string> extra = keys_of_partition(517, 7000);
  std::multiset<std::string> visited;
  std::set<std::string> touched;
  ScanCursor c2;
  while (!c2.done()) {
    for (const auto& e : b.scan_partition(PartitionId{517}, c2, 37, kNow)) visited.insert(e.key);
    for (int j = 0; j < 20; ++j) {
      const std::string& k = extra[6000 + rng.uniform(1000)];
      REQUIRE(b.put_local(k, "n", kNow).ok());
      touched.insert(k);
    }
    const std::string& victim = keys[rng.uniform(keys.size())];
    if (b.del_local(victim, kNow)) touched.insert(victim);
  }
  for (const auto& k : keys) {
    if (touched.count(k) == 0) CHECK(visited.count(k) == 1);
  }
  for (const auto& k : visited) CHECK(visited.count(k) == 1);

  // drop_partition empties it, and the memory goes back to an empty store's.
  CHECK(b.entries_memory() == b.recompute_entries_memory());
  const std::size_t dropped = b.drop_partition(PartitionId{517});
  CHECK(dropped >= keys.size());
  CHECK(b.size() == 0);
  CHECK(b.tombstones() == 0);
  CHECK(b.entries_memory() == 0);
  CHECK(b.used_memory() < baseline + 64 * 1024);
}

TEST_CASE("eviction samples a store crowded into one partition", "[store][skew]") {
  StoreConfig c = config(1);
  c.maxmemory = 256 * 1024;
  c.policy = EvictionPolicy::allkeys_random;
  Store s(c);
  const std::vector<std::string> keys = keys_of_partition(3, 4000);
  for (const auto& k : keys) REQUIRE(s.put_local(k, std::string(64, 'x'), kNow).ok());
  CHECK(s.stats().evicted > 0);
  CHECK(s.used_memory() <= c.maxmemory + 1024);
  // Random eviction keeps a spread of the keys, not just the earliest or latest written.
  std::size_t first_half = 0;
  for (std::size_t i = 0; i < keys.size() / 2; ++i) first_half += s.exists(keys[i], kNow);
  CHECK(first_half > 0);
  CHECK(first_half < s.size());
}
