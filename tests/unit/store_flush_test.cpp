// The flush horizon (a cluster-wide FLUSHALL as one store sees it) and the partition-subset
// iteration the cluster-wide keyspace commands use (scan_keys, count_keys).
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <set>
#include <string>

#include "apiary/data/partition.hpp"
#include "apiary/store/store.hpp"

using namespace apiary;
using namespace apiary::store;
using namespace std::chrono_literals;

namespace {

constexpr std::uint32_t kPartitions = 16;

StoreConfig config(std::uint64_t node) {
  StoreConfig c;
  c.self = NodeId{node};
  c.partition_count = kPartitions;
  c.tombstone_grace = std::chrono::hours(1);
  return c;
}

// Copies every entry of `from` into `to`, as anti-entropy or handoff would.
void ship_all(Store& from, Store& to, WallTime now) {
  for (std::uint32_t p = 0; p < kPartitions; ++p) {
    ScanCursor cursor;
    do {
      for (const auto& e : from.scan_partition(PartitionId{p}, cursor, 100, now)) {
        REQUIRE(to.merge(e.key, e.version, e.expiry, now).ok());
      }
    } while (!cursor.done());
  }
}

std::optional<std::string> value(Store& s, std::string_view key, WallTime now) {
  auto v = s.get_value(key, now);
  if (!v) return std::nullopt;
  return std::string(*v);
}

}  // namespace

TEST_CASE("flush_before drops what was written up to the horizon and keeps later writes",
          "[store][flush]") {
  Store s(config(1));
  const WallTime t{1'000'000};
  for (int i = 0; i < 100; ++i) REQUIRE(s.put_local("old" + std::to_string(i), "v", t).ok());
  REQUIRE(s.del_local("old0", t));  // a tombstone goes too
  const HlcTimestamp horizon = s.hlc().now(t);
  // A write concurrent with the flush (stamped after its horizon) survives it.
  REQUIRE(s.put_local("late", "v", t).ok());
  CHECK(s.flush_before(horizon, t) == 100);
  CHECK(s.size() == 1);
  CHECK(s.tombstones() == 0);
  CHECK(value(s, "late", t) == "v");
  CHECK(s.flush_horizon() == horizon);
  // Later writes are stamped after the horizon even when the wall clock went back.
  REQUIRE(s.put_local("after", "v", WallTime{500}).ok());
  CHECK(s.hlc().last() > horizon);
  // An older horizon changes nothing.
  CHECK(s.flush_before(HlcTimestamp{1}, t) == 0);
  CHECK(s.flush_horizon() == horizon);
  CHECK(s.size() == 2);
}

TEST_CASE("after a flush, merge drops versions from replicas that missed it", "[store][flush]") {
  const WallTime t{1'000'000};
  Store flushed(config(1));
  Store missed(config(2));  // was down during the flush
  for (int i = 0; i < 50; ++i) REQUIRE(missed.put_local("k" + std::to_string(i), "old", t).ok());
  REQUIRE(missed.del_local("k0", t));
  const HlcTimestamp horizon = HlcTimestamp::make(t.ms + 10, 0);
  flushed.flush_before(horizon, t);
  ship_all(missed, flushed, t);
  CHECK(flushed.size() == 0);
  CHECK(flushed.tombstones() == 0);
  // Writes after the flush are merged as usual.
  Store writer(config(3));
  writer.flush_before(horizon, t);
  REQUIRE(writer.put_local("k1", "new", t).ok());
  ship_all(writer, flushed, t);
  CHECK(value(flushed, "k1", t) == "new");
  CHECK(flushed.size() == 1);
}

TEST_CASE("a key rewritten after a flush is not lost to the copy a replica kept from before",
          "[store][flush]") {
  // The writer's dot counter for the key restarts after the flush (its copy is gone); the
  // old clock entry (writer, 3) must not make the new write (writer, 1) look already seen.
  const WallTime t{1'000'000};
  Store writer(config(1));
  Store missed(config(2));
  for (int i = 0; i < 3; ++i) REQUIRE(writer.put_local("key", "old", t).ok());
  ship_all(writer, missed, t);
  const HlcTimestamp horizon = writer.hlc().now(t);
  writer.flush_before(horizon, t);
  REQUIRE(writer.put_local("key", "new", t).ok());
  // The replica hears of the flush before it merges anything newer (the horizon travels
  // with every message that carries versions).
  missed.flush_before(horizon, t);
  ship_all(writer, missed, t);
  ship_all(missed, writer, t);
  CHECK(value(writer, "key", t) == "new");
  CHECK(value(missed, "key", t) == "new");
  // And a copy from before the flush arriving late changes nothing either.
  Store stale(config(3));
  REQUIRE(stale.put_local("key", "stale", WallTime{t.ms - 5}).ok());
  ship_all(stale, writer, t);
  CHECK(value(writer, "key", t) == "new");
  CHECK(writer.size() == 1);
}

TEST_CASE("a write made after the flush on top of an unflushed copy keeps the new writes",
          "[store][flush]") {
  // A replica that has not heard of the flush yet writes the key on top of its old copy:
  // its version carries the old clock entry (writer, 3). Merged as it is, that entry would
  // cover the writer's new dot (writer, 1) and drop the writer's new value.
  const WallTime t{1'000'000};
  Store writer(config(1));
  Store missed(config(2));
  for (int i = 0; i < 3; ++i) REQUIRE(writer.put_local("key", "old", t).ok());
  ship_all(writer, missed, t);
  const HlcTimestamp horizon = writer.hlc().now(t);
  writer.flush_before(horizon, t);
  REQUIRE(writer.put_local("key", "new", t).ok());
  REQUIRE(missed.put_local("key", "other", WallTime{t.ms + 1'000}).ok());
  ship_all(missed, writer, t);
  auto versions = writer.get("key", t);
  REQUIRE(versions.ok());
  std::set<std::string> values;
  for (const auto& sib : versions->siblings) values.insert(sib.value);
  CHECK(values == std::set<std::string>{"new", "other"});
}

TEST_CASE("merge keeps the HLC above every stamp it receives, tombstones included",
          "[store][flush]") {
  const WallTime t{1'000'000};
  Store ahead(config(1));
  Store behind(config(2));
  REQUIRE(ahead.put_local("k", "v", WallTime{t.ms + 60'000}).ok());
  REQUIRE(ahead.del_local("k", WallTime{t.ms + 60'000}));
  const auto tomb = ahead.export_entry("k", t);
  REQUIRE(tomb);
  REQUIRE(behind.merge("k", tomb->version, tomb->expiry, t).ok());
  CHECK(behind.hlc().last().wall_ms() >= t.ms + 60'000);
}

TEST_CASE("scan_keys visits only the chosen partitions, each key once, in one global order",
          "[store][flush]") {
  const WallTime t{1'000'000};
  Store s(config(1));
  std::set<std::string> chosen;
  auto in = [](PartitionId p) { return p.value % 3 == 1; };
  for (int i = 0; i < 2000; ++i) {
    const std::string k = "key" + std::to_string(i);
    if (i % 7 == 0) {
      REQUIRE(s.put_local(k, "v", t, ExpiryUpdate::set(WallTime{t.ms + 100'000})).ok());
    } else {
      REQUIRE(s.put_local(k, "v", t).ok());
    }
    if (in(data::partition_of(k, kPartitions))) chosen.insert(k);
  }
  REQUIRE(s.del_local("key1", t));
  chosen.erase("key1");
  std::multiset<std::string> seen;
  std::uint64_t last = 0;
  ScanCursor cursor;
  int calls = 0;
  do {
    for (const auto& k : s.scan_keys(cursor, 25, in, t)) {
      CHECK(in(data::partition_of(k.key, kPartitions)));
      CHECK(k.position >= last);
      last = k.position;
      seen.insert(k.key);
    }
    ++calls;
  } while (!cursor.done());
  CHECK(std::set<std::string>(seen.begin(), seen.end()) == chosen);
  CHECK(seen.size() == chosen.size());
  CHECK(calls > 20);
  // Positions are scan()'s: a scan of all keys lists the chosen ones in the same order.
  std::vector<std::string> all_order;
  ScanCursor all;
  do {
    for (auto& k : s.scan(all, 100, t)) {
      if (chosen.count(k) != 0) all_order.push_back(k);
    }
  } while (!all.done());
  std::vector<std::string> subset_order;
  ScanCursor again;
  do {
    for (auto& k : s.scan_keys(again, 100, in, t)) subset_order.push_back(k.key);
  } while (!again.done());
  CHECK(subset_order == all_order);

  const KeyCount count = s.count_keys(in, t);
  CHECK(count.keys == chosen.size());
  std::size_t expiring = 0;
  for (const auto& k : chosen) expiring += std::stoi(k.substr(3)) % 7 == 0;
  CHECK(count.expires == expiring);
  CHECK(s.count_keys([](PartitionId) { return true; }, t).keys == s.size());
  CHECK(s.count_keys([](PartitionId) { return false; }, t).keys == 0);
}
