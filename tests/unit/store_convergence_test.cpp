// End to end: several replicas take random writes, deletes, expiry changes and partial
// replication; anti-entropy that only exchanges the keys of differing digest buckets then
// makes every replica hold identical versions of every key.
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "apiary/base/rng.hpp"
#include "apiary/store/store.hpp"

using namespace apiary;
using namespace apiary::store;

namespace {

constexpr std::uint32_t kPartitions = 8;

std::unique_ptr<Store> make_replica(std::uint64_t id) {
  StoreConfig c;
  c.self = NodeId{id};
  c.partition_count = kPartitions;
  c.tombstone_grace = std::chrono::hours(1);
  return std::make_unique<Store>(c);
}

// One anti-entropy exchange from `from` to `to`; returns how many entries were shipped.
std::size_t anti_entropy(Store& from, Store& to, WallTime now) {
  std::size_t shipped = 0;
  for (std::uint32_t p = 0; p < kPartitions; ++p) {
    const PartitionDigest a = from.digest(PartitionId{p}, now);
    const PartitionDigest b = to.digest(PartitionId{p}, now);
    for (std::size_t bucket = 0; bucket < kDigestBuckets; ++bucket) {
      if (a.buckets[bucket] == b.buckets[bucket]) continue;
      for (const auto& e : from.scan_bucket(PartitionId{p}, bucket, now)) {
        REQUIRE(to.merge(e.key, e.version, e.expiry, now).ok());
        ++shipped;
      }
    }
  }
  return shipped;
}

}  // namespace

TEST_CASE("digest-driven anti-entropy converges replicas after random histories",
          "[store][convergence]") {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    Rng rng(seed);
    std::vector<std::unique_ptr<Store>> nodes;
    for (std::uint64_t i = 1; i <= 3; ++i) nodes.push_back(make_replica(i));
    std::int64_t now = 1'000'000;
    for (int step = 0; step < 1500; ++step) {
      now += 1;
      const WallTime t{now};
      Store& n = *nodes[rng.uniform(3)];
      Store& other = *nodes[rng.uniform(3)];
      const std::string key = "key" + std::to_string(rng.uniform(200));
      switch (rng.uniform(7)) {
        case 0:
        case 1:
          REQUIRE(n.put_local(key, "v" + std::to_string(step), t).ok());
          break;
        case 2: {  // a client reads at one replica and writes through another
          auto read = other.get(key, t);
          const data::VersionVector ctx = read.ok() ? read->context : data::VersionVector{};
          REQUIRE(n.put(key, "c" + std::to_string(step), ctx, t).ok());
          break;
        }
        case 3:
          n.del_local(key, t);
          break;
        case 4:
          n.set_expiry(key, WallTime{now + 10'000'000 + step}, t);
          break;
        default:  // partial replication of one key
          if (auto e = n.export_entry(key, t)) {
            REQUIRE(other.merge(key, e->version, e->expiry, t).ok());
          }
      }
    }
    const WallTime t{now};
    std::size_t rounds = 0;
    for (; rounds < 4; ++rounds) {
      std::size_t shipped = 0;
      for (std::size_t a = 0; a < 3; ++a) {
        for (std::size_t b = 0; b < 3; ++b) {
          if (a != b) shipped += anti_entropy(*nodes[a], *nodes[b], t);
        }
      }
      if (shipped == 0) break;
    }
    INFO("seed " << seed);
    CHECK(rounds <= 2);
    for (std::size_t i = 1; i < 3; ++i) {
      CHECK(nodes[i]->size() == nodes[0]->size());
      CHECK(nodes[i]->tombstones() == nodes[0]->tombstones());
      for (int k = 0; k < 200; ++k) {
        const std::string key = "key" + std::to_string(k);
        const auto x = nodes[0]->export_entry(key, t);
        const auto y = nodes[i]->export_entry(key, t);
        REQUIRE(x.has_value() == y.has_value());
        if (!x) continue;
        CHECK(data::compare(x->version, y->version) == data::Order::equal);
        CHECK(x->version.siblings() == y->version.siblings());
        CHECK(x->expiry == y->expiry);
        // Every replica shows RESP readers the same value.
        CHECK(nodes[0]->get_value(key, t) == nodes[i]->get_value(key, t));
      }
    }
  }
}
