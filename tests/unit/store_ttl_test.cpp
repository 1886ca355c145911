// TTL: lazy expiry on access and the incremental active cycle.
#include <catch2/catch.hpp>
#include <optional>
#include <string>

#include "apiary/store/store.hpp"

using namespace apiary;
using namespace apiary::store;

namespace {
Store make_store() {
  StoreConfig c;
  c.self = NodeId{1};
  return Store(c);
}
}  // namespace

TEST_CASE("keys expire lazily on access", "[store][ttl]") {
  Store s = make_store();
  const WallTime t{1'000'000};
  REQUIRE(s.put_local("k", "v", t, ExpiryUpdate::set(WallTime{t.ms + 100})).ok());
  REQUIRE(s.put_local("forever", "v", t).ok());
  CHECK(s.ttl("k", t).expiry == std::optional<WallTime>(WallTime{t.ms + 100}));
  CHECK(s.ttl("forever", t).exists);
  CHECK_FALSE(s.ttl("forever", t).expiry);
  CHECK_FALSE(s.ttl("missing", t).exists);
  CHECK(s.get_value("k", WallTime{t.ms + 100}));  // Redis: expired only when now > at
  CHECK_FALSE(s.get_value("k", WallTime{t.ms + 101}));
  CHECK(s.stats().expired == 1);
  CHECK(s.size() == 1);
  CHECK_FALSE(s.ttl("k", WallTime{t.ms + 101}).exists);
}

TEST_CASE("SET clears the expiry, KEEPTTL keeps it, PERSIST removes it", "[store][ttl]") {
  Store s = make_store();
  const WallTime t{1'000};
  REQUIRE(s.put_local("k", "v", t, ExpiryUpdate::set(WallTime{5'000})).ok());
  REQUIRE(s.put_local("k", "w", t, ExpiryUpdate::keep()).ok());
  CHECK(s.ttl("k", t).expiry == std::optional<WallTime>(WallTime{5'000}));
  REQUIRE(s.put_local("k", "x", t).ok());
  CHECK_FALSE(s.ttl("k", t).expiry);
  CHECK(s.set_expiry("k", WallTime{9'000}, t));
  CHECK(s.get_value("k", t) == std::optional<std::string_view>("x"));
  CHECK(s.ttl("k", t).expiry == std::optional<WallTime>(WallTime{9'000}));
  CHECK(s.clear_expiry("k", t));
  CHECK_FALSE(s.clear_expiry("k", t));
  CHECK_FALSE(s.ttl("k", t).expiry);
  CHECK_FALSE(s.set_expiry("missing", WallTime{9'000}, t));
  // An expiry change is a new version: a replica that merges it adopts the expiry.
  CHECK(s.set_expiry("k", WallTime{7'000}, t));
  StoreConfig c;
  c.self = NodeId{2};
  Store replica(c);
  const auto e = s.export_entry("k", t);
  REQUIRE(replica.merge("k", e->version, e->expiry, t).ok());
  CHECK(replica.ttl("k", t).expiry == std::optional<WallTime>(WallTime{7'000}));
}

namespace {
void put_keys(Store& s, const char* prefix, int count, WallTime now, std::optional<WallTime> at) {
  for (int i = 0; i < count; ++i) {
    const auto exp = at ? ExpiryUpdate::set(*at) : ExpiryUpdate::clear();
    REQUIRE(s.put_local(prefix + std::to_string(i), "v", now, exp).ok());
  }
}
}  // namespace

TEST_CASE("an active cycle looks at no more keys than its budget", "[store][ttl]") {
  Store s = make_store();
  const WallTime t{1'000'000};
  put_keys(s, "dead", 1000, t, WallTime{t.ms + 10});
  put_keys(s, "live", 1000, t, WallTime{t.ms + 1'000'000});
  put_keys(s, "plain", 500, t, std::nullopt);
  const WallTime later{t.ms + 20};
  std::size_t expired = 0;
  for (int i = 0; i < 3; ++i) {
    const auto r = s.active_expire_cycle(later, std::size_t{50});
    CHECK(r.sampled == 50);     // half of what it meets has expired: it uses all of it
    CHECK(r.budget_exhausted);  // and says it wanted to go on
    expired += r.expired;
  }
  CHECK(expired > 0);
  CHECK(s.stats().expired == expired);
  CHECK(s.size() == 2500 - expired);  // size() counts expired keys not yet removed
}

TEST_CASE("a slow cycle keeps looping while many of the keys it meets have expired",
          "[store][ttl]") {
  // Redis's rule: loop again while more than 10% of a loop had expired. 20,000 keys expiring
  // together (bench/expiry_compare.sh) are gone after one slow cycle, not a fixed count.
  Store s = make_store();
  const WallTime t{1'000'000};
  put_keys(s, "dead", 20'000, t, WallTime{t.ms + 200});
  put_keys(s, "live", 1'000, t, WallTime{t.ms + 1'000'000});
  put_keys(s, "plain", 500, t, std::nullopt);
  const auto r = s.active_expire_cycle(WallTime{t.ms + 201}, ExpireCycle::slow);
  CHECK(r.sampled <= StoreConfig{}.expire_slow_cycle_keys);
  CHECK_FALSE(r.budget_exhausted);
  // It stops once a loop finds 10% or less expired: a few expired keys may be left among the
  // live ones, never more than the acceptable share.
  CHECK(r.expired >= 19'900);
  CHECK((s.size() - 1'500) * 100 <= (s.size() - 500) * 10);
  for (int i = 0; i < 500; ++i) CHECK(s.exists("plain" + std::to_string(i), WallTime{t.ms + 201}));
  for (int i = 0; i < 1000; ++i) CHECK(s.exists("live" + std::to_string(i), WallTime{t.ms + 201}));
}

TEST_CASE("the cycle meets every key with an expiry once per pass", "[store][ttl]") {
  // The cycle walks the keys with an expiry from where it stopped, so one expired key among
  // 1,000 live ones goes within one pass (50 cycles of one 20-key loop each); random
  // sampling would miss it in about a third of such runs.
  Store s = make_store();
  const WallTime t{1'000'000};
  put_keys(s, "live", 500, t, WallTime{t.ms + 1'000'000});
  REQUIRE(s.put_local("dead", "v", t, ExpiryUpdate::set(WallTime{t.ms + 5})).ok());
  put_keys(s, "more", 500, t, WallTime{t.ms + 1'000'000});
  const WallTime later{t.ms + 10};
  std::size_t sampled = 0;
  for (int i = 0; i < 51; ++i) {
    const auto r = s.active_expire_cycle(later, ExpireCycle::slow);
    CHECK(r.sampled <= 20);  // nothing (or one in 20) expired: one loop and stop
    sampled += r.sampled;
  }
  CHECK(sampled <= 51 * 20);
  CHECK(s.stats().expired == 1);
  CHECK(s.size() == 1000);
}

TEST_CASE("fast cycles are wanted while a backlog remains, and not after", "[store][ttl]") {
  StoreConfig c;
  c.self = NodeId{1};
  c.expire_fast_cycle_keys = 100;
  Store s(c);
  const WallTime t{1'000'000};
  CHECK_FALSE(s.expire_backlog());
  put_keys(s, "dead", 1'000, t, WallTime{t.ms + 10});
  put_keys(s, "live", 1'000, t, WallTime{t.ms + 1'000'000});
  const WallTime later{t.ms + 20};
  const auto first = s.active_expire_cycle(later, ExpireCycle::fast);
  CHECK(first.sampled == 100);
  CHECK(first.budget_exhausted);
  CHECK(s.expire_backlog());  // stopped on the budget
  int fast_cycles = 1;
  while (s.expire_backlog() && fast_cycles < 1000) {
    s.active_expire_cycle(later, ExpireCycle::fast);
    ++fast_cycles;
  }
  // The backlog is gone; the running estimate (5% per cycle) took a while to come down.
  CHECK(fast_cycles < 200);
  CHECK(s.expired_stale_percent() < 10);
  CHECK(s.size() - 1000 <= 100);
  // Nothing expired any more: the estimate only falls, no fast cycle is wanted.
  for (int i = 0; i < 50; ++i) {
    s.active_expire_cycle(later, ExpireCycle::slow);
    CHECK_FALSE(s.expire_backlog());
  }
}

TEST_CASE("due tombstones are collected within the budget", "[store][ttl]") {
  StoreConfig c;
  c.self = NodeId{1};
  c.tombstone_grace = std::chrono::milliseconds(1000);
  Store s(c);
  const WallTime t{1'000};
  put_keys(s, "k", 30, t, std::nullopt);
  for (int i = 0; i < 30; ++i) REQUIRE(s.del_local("k" + std::to_string(i), t));
  CHECK(s.tombstones() == 30);
  const auto r = s.active_expire_cycle(WallTime{t.ms + 1001}, std::size_t{20});
  CHECK(r.tombstones_collected == 20);
  CHECK(r.budget_exhausted);
  CHECK(s.expire_backlog());
  CHECK(s.active_expire_cycle(WallTime{t.ms + 1001}, std::size_t{20}).tombstones_collected == 10);
  CHECK(s.tombstones() == 0);
}

TEST_CASE("a merged version that has already expired is not stored", "[store][ttl]") {
  Store a = make_store();
  const WallTime t{1'000};
  REQUIRE(a.put_local("k", "v", t, ExpiryUpdate::set(WallTime{2'000})).ok());
  const auto e = a.export_entry("k", t);
  StoreConfig c;
  c.self = NodeId{2};
  Store b(c);
  CHECK_FALSE(*b.merge("k", e->version, e->expiry, WallTime{3'000}));
  CHECK(b.size() == 0);
  CHECK(*b.merge("k", e->version, e->expiry, WallTime{1'500}));
  CHECK_FALSE(b.get_value("k", WallTime{2'001}));
}
