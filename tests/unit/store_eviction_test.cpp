// maxmemory and each eviction policy.
#include <catch2/catch.hpp>
#include <string>

#include "apiary/store/store.hpp"

using namespace apiary;
using namespace apiary::store;

namespace {
StoreConfig limited(EvictionPolicy policy, std::size_t maxmemory) {
  StoreConfig c;
  c.self = NodeId{1};
  c.policy = policy;
  c.maxmemory = maxmemory;
  return c;
}
std::string key_of(const char* prefix, int i) { return prefix + std::to_string(i); }
const std::string kValue(32, 'x');
}  // namespace

TEST_CASE("noeviction refuses writes once full and keeps serving reads and deletes",
          "[store][eviction]") {
  Store s(limited(EvictionPolicy::noeviction, 64 * 1024));
  const WallTime t{1'000'000};
  int written = 0;
  Status st;
  for (; written < 10'000; ++written) {
    st = s.put_local(key_of("k", written), kValue, t);
    if (!st.ok()) break;
  }
  REQUIRE(st.code() == StatusCode::out_of_memory);
  CHECK(written > 100);
  CHECK(s.size() == static_cast<std::size_t>(written));
  CHECK(s.get_value("k0", t));
  CHECK(s.stats().evicted == 0);
  CHECK(s.stats().oom_rejections >= 1);
  // Deleting makes room again (after the tombstones are collected).
  for (int i = 0; i < written / 2; ++i) CHECK(s.del_local(key_of("k", i), t));
  s.active_expire_cycle(WallTime{t.ms + 3'600'000}, 1000);
  CHECK(s.put_local("fresh", kValue, WallTime{t.ms + 3'600'000}).ok());
}

TEST_CASE("allkeys-lru keeps a hot set under a cold scan", "[store][eviction]") {
  Store s(limited(EvictionPolicy::allkeys_lru, 200 * 1024));
  std::int64_t now = 1'000'000'000;
  for (int i = 0; i < 100; ++i) REQUIRE(s.put_local(key_of("hot", i), kValue, WallTime{now}).ok());
  for (int round = 0; round < 200; ++round) {
    now += 1000;  // the LRU clock has one-second resolution, like Redis's
    for (int i = 0; i < 100; ++i) s.get_value(key_of("hot", i), WallTime{now});
    for (int i = 0; i < 50; ++i) {
      REQUIRE(s.put_local(key_of("cold", round * 50 + i), kValue, WallTime{now}).ok());
    }
  }
  CHECK(s.stats().evicted > 5000);
  CHECK(s.used_memory() <= 200 * 1024 + 1024);
  int hot_left = 0;
  for (int i = 0; i < 100; ++i) hot_left += s.exists(key_of("hot", i), WallTime{now}) ? 1 : 0;
  CHECK(hot_left >= 95);
}

TEST_CASE("allkeys-lfu keeps frequently used keys", "[store][eviction]") {
  StoreConfig c = limited(EvictionPolicy::allkeys_lfu, 200 * 1024);
  Store s(c);
  std::int64_t now = 1'000'000'000;
  for (int i = 0; i < 100; ++i) REQUIRE(s.put_local(key_of("hot", i), kValue, WallTime{now}).ok());
  for (int rep = 0; rep < 200; ++rep) {
    for (int i = 0; i < 100; ++i) s.get_value(key_of("hot", i), WallTime{now});
  }
  for (int i = 0; i < 100; ++i) CHECK(*s.lfu_frequency(key_of("hot", i), WallTime{now}) > 5);
  // Cold keys are written once; hot keys keep being read now and then. Recency alone would
  // not protect them (each was last read up to 100 writes ago); frequency does.
  for (int i = 0; i < 10'000; ++i) {
    now += 10;
    REQUIRE(s.put_local(key_of("cold", i), kValue, WallTime{now}).ok());
    if (i % 100 == 99) {
      for (int h = 0; h < 100; ++h) s.get_value(key_of("hot", h), WallTime{now});
    }
  }
  int hot_left = 0;
  for (int i = 0; i < 100; ++i) hot_left += s.exists(key_of("hot", i), WallTime{now}) ? 1 : 0;
  CHECK(hot_left >= 95);
  CHECK(s.stats().evicted > 5000);
}

TEST_CASE("volatile policies never evict keys without an expiry", "[store][eviction]") {
  for (auto policy : {EvictionPolicy::volatile_lru, EvictionPolicy::volatile_lfu,
                      EvictionPolicy::volatile_random, EvictionPolicy::volatile_ttl}) {
    INFO(to_string(policy));
    Store s(limited(policy, 128 * 1024));
    const WallTime t{1'000'000};
    for (int i = 0; i < 300; ++i) REQUIRE(s.put_local(key_of("keep", i), kValue, t).ok());
    Status st;
    int i = 0;
    for (; i < 5000 && st.ok(); ++i) {
      st =
          s.put_local(key_of("ttl", i), kValue, t, ExpiryUpdate::set(WallTime{t.ms + 100'000 + i}));
    }
    CHECK(s.stats().evicted > 0);
    for (int k = 0; k < 300; ++k) CHECK(s.exists(key_of("keep", k), t));
    // With only persistent keys left to evict, writes fail like noeviction.
    Status full;
    for (int k = 0; k < 5000 && full.ok(); ++k) full = s.put_local(key_of("more", k), kValue, t);
    CHECK(full.code() == StatusCode::out_of_memory);
    for (int k = 0; k < 300; ++k) CHECK(s.exists(key_of("keep", k), t));
  }
}

TEST_CASE("volatile-ttl evicts the soonest expiry first", "[store][eviction]") {
  Store s(limited(EvictionPolicy::volatile_ttl, 96 * 1024));
  const WallTime t{1'000'000};
  for (int i = 0; i < 20'000 && s.stats().evicted < 200; ++i) {
    REQUIRE(
        s.put_local(key_of("k", i), kValue, t, ExpiryUpdate::set(WallTime{t.ms + 1000 + i})).ok());
  }
  REQUIRE(s.stats().evicted >= 200);
  // Approximate, as in Redis: the survivors are mostly the later expiries.
  int early_left = 0;
  for (int i = 0; i < 200; ++i) early_left += s.exists(key_of("k", i), t) ? 1 : 0;
  CHECK(early_left < 100);
}

TEST_CASE("allkeys-random evicts and stays under the limit", "[store][eviction]") {
  Store s(limited(EvictionPolicy::allkeys_random, 64 * 1024));
  const WallTime t{1'000'000};
  for (int i = 0; i < 5000; ++i) REQUIRE(s.put_local(key_of("k", i), kValue, t).ok());
  CHECK(s.stats().evicted > 3000);
  CHECK(s.used_memory() <= 64 * 1024 + 1024);
  CHECK(s.size() + s.stats().evicted == 5000);
}

TEST_CASE("policy names parse like Redis's", "[store][eviction]") {
  CHECK(parse_eviction_policy("allkeys-lru") == EvictionPolicy::allkeys_lru);
  CHECK(parse_eviction_policy("VOLATILE-TTL") == EvictionPolicy::volatile_ttl);
  CHECK_FALSE(parse_eviction_policy("allkeys_lru"));
  for (auto p :
       {EvictionPolicy::noeviction, EvictionPolicy::allkeys_lfu, EvictionPolicy::volatile_random}) {
    CHECK(parse_eviction_policy(to_string(p)) == p);
  }
}
