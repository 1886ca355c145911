// Memory accounting: the running total matches a recomputation after any mix of operations;
// keyspace helpers (RANDOMKEY, FLUSHALL, OBJECT, MEMORY USAGE).
#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "apiary/base/rng.hpp"
#include "apiary/store/store.hpp"

using namespace apiary;
using namespace apiary::store;

TEST_CASE("memory total stays equal to a recomputation under random operations",
          "[store][memory]") {
  Rng rng(5);
  StoreConfig c;
  c.self = NodeId{1};
  c.tombstone_grace = std::chrono::milliseconds(50);
  Store s(c);
  StoreConfig rc;
  rc.self = NodeId{2};
  Store remote(rc);
  std::int64_t now = 1'000'000;
  for (int i = 0; i < 20'000; ++i) {
    now += static_cast<std::int64_t>(rng.uniform(3));
    const WallTime t{now};
    const std::string key = "key" + std::to_string(rng.uniform(500));
    const std::string value(rng.uniform(100), 'v');
    switch (rng.uniform(8)) {
      case 0:
        REQUIRE(s.put_local(key, value, t, ExpiryUpdate::set(WallTime{now + 20})).ok());
        break;
      case 1:
        s.del_local(key, t);
        break;
      case 2: {
        REQUIRE(remote.put_local(key, value, t).ok());
        REQUIRE(s.merge(key, remote.export_entry(key, t)->version, {}, t).ok());
        break;
      }
      case 3:
        s.active_expire_cycle(t);
        break;
      case 4:
        s.set_expiry(key, WallTime{now + 10}, t);
        break;
      case 5:
        s.get_value(key, t);
        break;
      default:
        REQUIRE(s.put_local(key, value, t, ExpiryUpdate::keep()).ok());
    }
    if (i % 1000 == 0) REQUIRE(s.entries_memory() == s.recompute_entries_memory());
  }
  CHECK(s.entries_memory() == s.recompute_entries_memory());
  CHECK(s.used_memory() > s.entries_memory());
  s.clear();
  CHECK(s.size() == 0);
  CHECK(s.entries_memory() == 0);
  CHECK_FALSE(s.random_key(WallTime{now}));
}

TEST_CASE("per-key memory, idle time, frequency and random keys", "[store][memory]") {
  StoreConfig c;
  c.self = NodeId{1};
  c.policy = EvictionPolicy::allkeys_lfu;
  Store s(c);
  const WallTime t{10'000'000};
  REQUIRE(s.put_local("small", "v", t).ok());
  REQUIRE(s.put_local("big", std::string(10'000, 'x'), t).ok());
  CHECK(*s.memory_usage("big") > 10'000);
  CHECK(*s.memory_usage("small") < 200);
  CHECK_FALSE(s.memory_usage("none"));
  CHECK(s.idle_time("small", WallTime{t.ms + 65'000}) == std::chrono::seconds(65));
  CHECK(s.lfu_frequency("small", t) == 5);                            // Redis LFU_INIT_VAL
  CHECK(s.lfu_frequency("small", WallTime{t.ms + 3 * 60'000}) == 2);  // decays 1 per minute
  for (int i = 0; i < 1000; ++i) s.get_value("small", t);
  CHECK(*s.lfu_frequency("small", t) > 10);
  std::set<std::string> keys;
  for (int i = 0; i < 100; ++i) keys.insert(*s.random_key(t));
  CHECK(keys == std::set<std::string>{"big", "small"});
  std::set<std::string> all;
  s.for_each_key(t, [&](std::string_view k) { all.insert(std::string(k)); });
  CHECK(all == keys);
}

TEST_CASE("a value rewritten by a second coordinator stays compact", "[store][memory]") {
  StoreConfig ca;
  ca.self = NodeId{1};
  StoreConfig cb;
  cb.self = NodeId{2};
  Store a(ca);
  Store b(cb);
  const WallTime t{1'000};
  const std::string value(32, 'v');
  REQUIRE(a.put_local("key:000000000001", value, t).ok());
  const std::size_t single = *a.memory_usage("key:000000000001");
  REQUIRE(b.merge("key:000000000001", a.export_entry("key:000000000001", t)->version, {}, t).ok());
  CHECK(*b.memory_usage("key:000000000001") == single);
  // b coordinates the next writes (a failover): two actors in the clock, still one block.
  for (int i = 0; i < 3; ++i) REQUIRE(b.put_local("key:000000000001", value, t).ok());
  const auto read = b.get("key:000000000001", t);
  REQUIRE(read.ok());
  CHECK(read->context.size() == 2);
  CHECK(read->siblings.size() == 1);
  CHECK(*b.memory_usage("key:000000000001") <= single + 32);
  // Siblings need the general form, which costs more but is still accounted exactly.
  REQUIRE(a.put_local("key:000000000001", "concurrent", t).ok());
  REQUIRE(b.merge("key:000000000001", a.export_entry("key:000000000001", t)->version, {}, t).ok());
  CHECK(b.get("key:000000000001", t)->siblings.size() == 2);
  CHECK(*b.memory_usage("key:000000000001") > single + 32);
  CHECK(b.entries_memory() == b.recompute_entries_memory());
  // Resolving the siblings brings the key back to the compact form.
  REQUIRE(b.put_local("key:000000000001", value, t).ok());
  CHECK(*b.memory_usage("key:000000000001") <= single + 32);
}
