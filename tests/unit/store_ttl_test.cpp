// TTL: lazy expiry on access and the incremental active cycle.
#include <catch2/catch.hpp>
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

TEST_CASE("the active cycle removes expired keys in bounded steps", "[store][ttl]") {
  Store s = make_store();
  const WallTime t{1'000'000};
  for (int i = 0; i < 2000; ++i) {
    const auto exp = ExpiryUpdate::set(WallTime{t.ms + (i % 2 == 0 ? 10 : 1'000'000)});
    REQUIRE(s.put_local("key" + std::to_string(i), "v", t, exp).ok());
  }
  for (int i = 0; i < 500; ++i) REQUIRE(s.put_local("plain" + std::to_string(i), "v", t).ok());
  const WallTime later{t.ms + 20};
  // One call does bounded work: at most max_loops * 20 samples.
  bool exhausted = false;
  std::size_t expired = 0;
  for (int i = 0; i < 3; ++i) {
    const auto r = s.active_expire_cycle(later, 4);
    CHECK(r.sampled <= 80);
    expired += r.expired;
    exhausted |= r.budget_exhausted;  // half the sample expired: it wanted to go on
  }
  CHECK(expired > 0);
  CHECK(exhausted);
  // Repeated calls bring the share of expired keys among keys with a TTL down to about
  // the 25% threshold, without touching keys that have no TTL.
  for (int i = 0; i < 200; ++i) s.active_expire_cycle(later, 16);
  // size() still counts expired keys the cycle has not reached: 500 plain + 1000 live.
  REQUIRE(s.size() >= 1500);
  const std::size_t expired_left = s.size() - 1500;
  const std::size_t volatile_left = s.size() - 500;
  CHECK(expired_left * 100 <= volatile_left * 25);
  CHECK(s.stats().expired + expired_left == 1000);
  for (int i = 0; i < 500; ++i) CHECK(s.exists("plain" + std::to_string(i), later));
  // Whatever the cycle left behind is still invisible to readers.
  CHECK_FALSE(s.get_value("key0", later));
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
