// Counters: the INCR family on a store writes counter values, and versions written at two
// coordinators at once merge by adding (docs/cluster.md, "Counters"). Each case plays two or
// three replicas by hand: stores with their own NodeId exchanging export_entry/merge.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "apiary/base/rng.hpp"
#include "apiary/data/codec.hpp"
#include "apiary/data/counter.hpp"
#include "apiary/store/store.hpp"

using namespace apiary;
using namespace apiary::store;
using std::chrono::milliseconds;

namespace {

StoreConfig config_for(std::uint64_t node) {
  StoreConfig c;
  c.self = NodeId{node};
  c.tombstone_grace = milliseconds(60'000);
  return c;
}

// Ships `key` from one store to another, as replication does.
void ship(Store& from, Store& to, std::string_view key, WallTime now) {
  auto v = from.export_entry(key, now);
  REQUIRE(v);
  REQUIRE(to.merge(key, v->version, v->expiry, now).ok());
}

// Both directions: afterwards the two stores hold the same version.
void sync(Store& a, Store& b, std::string_view key, WallTime now) {
  ship(a, b, key, now);
  ship(b, a, key, now);
}

std::string get(Store& s, std::string_view key, WallTime now) {
  auto v = s.get_value(key, now);
  return v ? std::string(*v) : std::string("(nil)");
}

std::string incr(Store& s, std::string_view key, std::int64_t by, WallTime now) {
  const IncrOutcome r = s.incr(key, by, now);
  REQUIRE(r.error == IncrError::none);
  return r.value;
}

}  // namespace

TEST_CASE("INCR on one coordinator reads like Redis", "[store][counter]") {
  Store s(config_for(1));
  const WallTime t{10'000};
  CHECK(incr(s, "c", 1, t) == "1");
  CHECK(incr(s, "c", 41, t) == "42");
  CHECK(incr(s, "c", -50, t) == "-8");
  CHECK(get(s, "c", t) == "-8");
  REQUIRE(s.put_local("n", "10", t).ok());
  CHECK(incr(s, "n", 5, t) == "15");
  REQUIRE(s.put_local("text", "abc", t).ok());
  CHECK(s.incr("text", 1, t).error == IncrError::not_integer);
  CHECK(s.incr_float("text", 1, t).error == IncrError::not_float);
  REQUIRE(s.put_local("big", "9223372036854775807", t).ok());
  CHECK(s.incr("big", 1, t).error == IncrError::overflow);
  CHECK(get(s, "big", t) == "9223372036854775807");
  CHECK(s.incr_float("f", 10.5L, t).value == "10.5");
  CHECK(s.incr_float("f", 0.1L, t).value == "10.6");
  CHECK(s.incr("f", 1, t).error == IncrError::not_integer);
  CHECK(s.incr_float("i", 3, t).value == "3");
  CHECK(incr(s, "i", 1, t) == "4");  // a float counter holding an integer goes on as one
  // The embedding view of a counter sibling is its text.
  auto r = s.get("c", t);
  REQUIRE(r.ok());
  CHECK(r->siblings.size() == 1);
  CHECK(r->siblings[0].value == "-8");
}

TEST_CASE("increments at two coordinators at once add up", "[store][counter]") {
  Store a(config_for(1));
  Store b(config_for(2));
  Store c(config_for(3));
  WallTime t{10'000};
  incr(a, "ctr", 5, t);
  sync(a, b, "ctr", t);
  ship(a, c, "ctr", t);
  // A failover: both a and b coordinate the key for a while.
  for (int i = 0; i < 10; ++i) {
    t.ms += 1;
    incr(a, "ctr", 1, t);
    incr(b, "ctr", 2, t);
  }
  CHECK(get(a, "ctr", t) == "15");
  CHECK(get(b, "ctr", t) == "25");
  // Merging in any order gives 5 + 10 + 20 everywhere.
  ship(b, c, "ctr", t);
  ship(a, c, "ctr", t);
  sync(a, b, "ctr", t);
  CHECK(get(a, "ctr", t) == "35");
  CHECK(get(b, "ctr", t) == "35");
  CHECK(get(c, "ctr", t) == "35");
  // The next increment builds on the merge, and supersedes it.
  t.ms += 1;
  CHECK(incr(c, "ctr", 1, t) == "36");
  sync(c, a, "ctr", t);
  sync(c, b, "ctr", t);
  CHECK(get(a, "ctr", t) == "36");
  CHECK(a.export_entry("ctr", t)->version.siblings().size() == 1);
  // Merging the same versions again changes nothing (idempotent).
  sync(a, b, "ctr", t);
  CHECK(get(b, "ctr", t) == "36");
}

TEST_CASE("float increments at two coordinators at once add up", "[store][counter]") {
  Store a(config_for(1));
  Store b(config_for(2));
  WallTime t{10'000};
  REQUIRE(a.put_local("f", "1.5", t).ok());
  sync(a, b, "f", t);
  t.ms += 1;
  CHECK(a.incr_float("f", 0.25L, t).value == "1.75");
  CHECK(b.incr_float("f", 1, t).value == "2.5");
  sync(a, b, "f", t);
  CHECK(get(a, "f", t) == "2.75");
  CHECK(get(b, "f", t) == "2.75");
}

TEST_CASE("concurrent pairs: SET wins over INCR, INCR over DEL, a later SET resets",
          "[store][counter]") {
  WallTime t{10'000};
  SECTION("SET concurrent with INCR: the SET's value") {
    Store a(config_for(1));
    Store b(config_for(2));
    incr(a, "k", 7, t);
    sync(a, b, "k", t);
    t.ms += 1;
    incr(a, "k", 1, t);
    t.ms += 1;
    REQUIRE(b.put_local("k", "100", t).ok());
    sync(a, b, "k", t);
    CHECK(get(a, "k", t) == "100");
    CHECK(get(b, "k", t) == "100");
    t.ms += 1;
    CHECK(incr(a, "k", 1, t) == "101");
  }
  SECTION("DEL concurrent with INCR: the increment survives with the value it produced") {
    Store a(config_for(1));
    Store b(config_for(2));
    incr(a, "k", 7, t);
    sync(a, b, "k", t);
    t.ms += 1;
    REQUIRE(b.del_local("k", t));
    incr(a, "k", 1, t);
    sync(a, b, "k", t);
    CHECK(get(a, "k", t) == "8");
    CHECK(get(b, "k", t) == "8");
  }
  SECTION("INCR on both sides after a DEL merges from zero") {
    Store a(config_for(1));
    Store b(config_for(2));
    incr(a, "k", 7, t);
    t.ms += 1;
    REQUIRE(a.del_local("k", t));
    sync(a, b, "k", t);
    t.ms += 1;
    CHECK(incr(a, "k", 1, t) == "1");
    CHECK(incr(b, "k", 1, t) == "1");
    sync(a, b, "k", t);
    CHECK(get(a, "k", t) == "2");
  }
  SECTION("a SET after the increments resets the counter") {
    Store a(config_for(1));
    Store b(config_for(2));
    incr(a, "k", 7, t);
    sync(a, b, "k", t);
    t.ms += 1;
    REQUIRE(b.put_local("k", "0", t).ok());
    sync(a, b, "k", t);
    t.ms += 1;
    CHECK(incr(a, "k", 1, t) == "1");
    CHECK(incr(b, "k", 2, t) == "2");
    sync(a, b, "k", t);
    CHECK(get(a, "k", t) == "3");
  }
  SECTION("EXPIRE concurrent with INCR: both apply") {
    Store a(config_for(1));
    Store b(config_for(2));
    incr(a, "k", 7, t);
    sync(a, b, "k", t);
    t.ms += 1;
    REQUIRE(b.set_expiry("k", WallTime{t.ms + 60'000}, t));
    incr(a, "k", 1, t);
    sync(a, b, "k", t);
    CHECK(get(a, "k", t) == "8");
    CHECK(get(b, "k", t) == "8");
    // The expiry survives the merge when the increment's version had one too; otherwise
    // the rule for concurrent expiries applies (no expiry wins, docs/cluster.md).
    CHECK(b.export_entry("k", t)->version.siblings().size() == 2);
  }
}

TEST_CASE("counter values travel in the version codec and hostile ones never crash",
          "[store][counter][codec]") {
  data::Counter c;
  c.tag = data::BaseTag{HlcTimestamp{77}, NodeId{3}};
  c.base = -12;
  c.entries = {{NodeId{1}, HlcTimestamp{5}, 4, 0}, {NodeId{9}, HlcTimestamp{6}, -2, 0}};
  data::render_counter(c);
  CHECK(c.text == "-10");
  const std::string bytes = data::encode_counter(c);
  auto back = data::decode_counter(bytes);
  REQUIRE(back);
  CHECK(back->text == "-10");
  CHECK(back->entries.size() == 2);
  CHECK(data::counter_text(bytes) == "-10");

  data::DvvSet v;
  v.update({}, NodeId{1}, HlcTimestamp{100}, bytes, data::ValueKind::counter);
  auto decoded = data::decode_dvv(data::encode_dvv(v));
  REQUIRE(decoded.ok());
  CHECK(*decoded == v);
  CHECK(decoded->siblings()[0].kind == data::ValueKind::counter);

  // Truncations and random bytes decode to nothing or to something bounded, never crash.
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    CHECK_FALSE(data::decode_counter(bytes.substr(0, cut)));
  }
  Rng rng(7);
  for (int i = 0; i < 5000; ++i) {
    std::string junk(rng.uniform(64), '\0');
    for (auto& ch : junk) ch = static_cast<char>(rng.next());
    (void)data::decode_counter(junk);
    (void)data::counter_text(junk);
    data::Sibling sib{{NodeId{1}, 1}, HlcTimestamp{1}, junk, data::ValueKind::counter};
    (void)data::resolve(std::span<const data::Sibling>(&sib, 1));
  }
  // A store that merges a counter sibling that does not decode reads it as its text (here:
  // nothing), and INCR refuses it like any value that is no integer.
  Store s(config_for(2));
  data::DvvSet bad;
  bad.update({}, NodeId{1}, HlcTimestamp{100}, "\x05garbage", data::ValueKind::counter);
  REQUIRE(s.merge("bad", bad, std::nullopt, WallTime{1}).ok());
  CHECK(get(s, "bad", WallTime{1}).empty());
  CHECK(s.incr("bad", 1, WallTime{1}).error == IncrError::not_integer);
}
