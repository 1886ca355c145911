// Hashes and sets as replicated data types (apiary/data/collection.hpp, docs/datatypes.md):
// the observed-remove join on its own (add wins, a removal removes only what it saw, HINCRBY
// increments add up, join is idempotent, commutative and associative) and in the store, where
// replicas exchange encoded versions as replication does.
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "apiary/base/rng.hpp"
#include "apiary/data/codec.hpp"
#include "apiary/data/collection.hpp"
#include "apiary/store/store.hpp"
#include "support/join_laws.hpp"

using namespace apiary;
using namespace apiary::data;
using std::chrono::milliseconds;

namespace {

const HlcTimestamp kStamp{1};

// One replica's copy of a collection, writing with its own actor as a coordinator does.
struct Replica {
  NodeId actor;
  Collection state;
  std::uint64_t counter = 0;
  explicit Replica(std::uint64_t id, ValueKind kind = ValueKind::hash)
      : actor{id}, state(kind) {}

  Dot next() {
    counter = std::max(counter, state.context().get(actor)) + 1;
    return Dot{actor, counter};
  }
  void set(std::string_view field, std::string value) {
    const Dot d = next();
    state.set(field, std::move(value), d, HlcTimestamp{d.counter * 10 + actor.value});
    state.observe(d);
  }
  void add(std::string_view member) {
    const Dot d = next();
    state.add(member, d, kStamp);
    state.observe(d);
  }
  void remove(std::string_view name) {
    const Dot d = next();
    state.remove(name);
    state.observe(d);
  }
  std::string incr(std::string_view field, std::int64_t by) {
    const Dot d = next();
    std::string text;
    REQUIRE(state.incr(field, by, d, HlcTimestamp{d.counter * 10 + actor.value}, text) ==
            CounterError::none);
    state.observe(d);
    return text;
  }
  void receive(const Replica& other) { state.join(other.state); }
};

std::map<std::string, std::string> contents(const Collection& c) {
  std::map<std::string, std::string> out;
  std::string scratch;
  for (const data::ElementView e : c) {
    out[std::string(e.name())] = std::string(e.value(scratch));
  }
  return out;
}

store::StoreConfig config_for(std::uint64_t node) {
  store::StoreConfig c;
  c.self = NodeId{node};
  c.tombstone_grace = milliseconds(60'000);
  return c;
}

// Ships `key` as replication does: the version encoded and decoded.
void ship(store::Store& from, store::Store& to, std::string_view key, WallTime now) {
  auto v = from.export_entry(key, now);
  REQUIRE(v);
  auto decoded = decode_dvv(encode_dvv(v->version));
  REQUIRE(decoded.ok());
  REQUIRE(to.merge(key, decoded.value(), v->expiry, now).ok());
}

std::set<std::string> members(store::Store& s, std::string_view key, WallTime now) {
  bool wrong = false;
  const Collection* c = s.read_collection(key, ValueKind::set, now, wrong);
  REQUIRE_FALSE(wrong);
  std::set<std::string> out;
  if (c != nullptr) {
    for (const data::ElementView e : *c) out.insert(std::string(e.name()));
  }
  return out;
}

void sadd(store::Store& s, std::string_view key, std::string_view member, WallTime now) {
  REQUIRE(s.edit_collection(key, ValueKind::set, now, [&](store::Store::CollectionEdit& e) {
             e.collection.add(member, e.dot, e.stamp);
             return true;
           }).ok());
}

void srem(store::Store& s, std::string_view key, std::string_view member, WallTime now) {
  REQUIRE(s.edit_collection(key, ValueKind::set, now, [&](store::Store::CollectionEdit& e) {
             return e.collection.remove(member);
           }).ok());
}

}  // namespace

TEST_CASE("Collection: a write concurrent with a removal survives it", "[collection]") {
  Replica a(1), b(2);
  a.set("f1", "v1");
  b.receive(a);
  a.remove("f1");      // A saw f1 and removes it
  b.set("f2", "v2");   // concurrently, B adds another field
  Replica c(3);
  c.receive(a);
  c.receive(b);
  CHECK(contents(c.state) == std::map<std::string, std::string>{{"f2", "v2"}});

  // A write of the removed field itself, concurrent with the removal, survives too.
  Replica d(4), e(5);
  d.set("x", "old");
  e.receive(d);
  d.remove("x");
  e.set("x", "new");
  d.receive(e);
  e.receive(d);
  CHECK(contents(d.state) == std::map<std::string, std::string>{{"x", "new"}});
  CHECK(d.state == e.state);
}

TEST_CASE("Collection: concurrent writes of one field resolve by last writer", "[collection]") {
  Replica a(1), b(2);
  a.set("f", "from-a");  // stamp 11
  b.set("f", "from-b");  // stamp 12: the later writer
  a.receive(b);
  b.receive(a);
  CHECK(contents(a.state) == std::map<std::string, std::string>{{"f", "from-b"}});
  CHECK(a.state == b.state);
  CHECK(a.state.find("f")->version_count() == 2);  // both versions kept until overwritten
  a.set("f", "after");                            // supersedes both
  b.receive(a);
  CHECK(b.state.find("f")->version_count() == 1);
  CHECK(contents(b.state) == std::map<std::string, std::string>{{"f", "after"}});
}

TEST_CASE("Collection: HINCRBY at two coordinators adds up", "[collection]") {
  Replica a(1), b(2), c(3);
  a.set("n", "10");
  b.receive(a);
  c.receive(a);
  CHECK(a.incr("n", 5) == "15");
  CHECK(b.incr("n", 7) == "17");
  CHECK(c.incr("n", -2) == "8");
  a.receive(b);
  a.receive(c);
  CHECK(contents(a.state).at("n") == "20");
  CHECK(a.incr("n", 1) == "21");
  // A plain write after the increments resets the field.
  b.receive(a);
  b.set("n", "0");
  a.receive(b);
  CHECK(contents(a.state).at("n") == "0");
}

TEST_CASE("Collection: an add wins over a concurrent removal of the member", "[collection]") {
  Replica a(1, ValueKind::set), b(2, ValueKind::set);
  a.add("m");
  b.receive(a);
  a.remove("m");
  b.add("m");  // re-added concurrently: a new dot the removal never saw
  a.receive(b);
  b.receive(a);
  CHECK(a.state.contains("m"));
  CHECK(a.state == b.state);
}

TEST_CASE("Collection: join is idempotent, commutative and associative", "[collection]") {
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    Rng rng(seed);
    std::vector<Replica> r;
    for (std::uint64_t i = 1; i <= 3; ++i) r.emplace_back(i);
    for (int step = 0; step < 60; ++step) {
      Replica& x = r[rng.uniform(3)];
      const std::string f = "f" + std::to_string(rng.uniform(6));
      switch (rng.uniform(5)) {
        case 0:
        case 1:
          x.set(f, std::to_string(step));  // numbers, so that incr never fails
          break;
        case 2:
          x.remove(f);
          break;
        case 3:
          x.incr(f, 1);
          break;
        default:
          x.receive(r[rng.uniform(3)]);
      }
    }
    test::check_join_laws(r[0].state, r[1].state, r[2].state);
  }
}

TEST_CASE("Collection: encoding round-trips and hostile bytes are refused", "[collection]") {
  Replica a(1), b(2);
  a.set("f1", "v1");
  a.incr("n", 3);
  b.set("f1", "other");
  a.receive(b);
  const std::string bytes = a.state.encode();
  auto back = Collection::decode(bytes);
  REQUIRE(back.ok());
  CHECK(back.value() == a.state);
  CHECK(back.value().memory() == a.state.memory());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    CHECK_FALSE(Collection::decode(bytes.substr(0, n)).ok());
  }
  Rng rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string mutated = bytes;
    mutated[rng.uniform(mutated.size())] = static_cast<char>(rng.next());
    (void)Collection::decode(mutated);  // never crashes or throws
  }
}

TEST_CASE("Collection: scan visits every element once across calls", "[collection]") {
  Replica a(1, ValueKind::set);
  for (int i = 0; i < 1000; ++i) a.add("m" + std::to_string(i));
  std::set<std::string> seen;
  std::uint64_t cursor = 0;
  int calls = 0;
  do {
    std::vector<data::ElementView> batch;
    cursor = a.state.scan(cursor, 37, batch);
    for (const auto e : batch) CHECK(seen.insert(std::string(e.name())).second);
    ++calls;
  } while (cursor != 0);
  CHECK(seen.size() == 1000);
  CHECK(calls >= 27);
}

TEST_CASE("Store: hashes and sets by type, with WRONGTYPE across types", "[store][collection]") {
  store::Store s(config_for(1));
  const WallTime t{10'000};
  sadd(s, "s", "a", t);
  sadd(s, "s", "b", t);
  REQUIRE(s.put_local("str", "v", t).ok());
  CHECK(s.type("s", t) == store::KeyType::set);
  CHECK(s.type("str", t) == store::KeyType::string);
  CHECK(s.type("nothing", t) == store::KeyType::none);
  CHECK(members(s, "s", t) == std::set<std::string>{"a", "b"});
  bool wrong = false;
  CHECK(s.get_value("s", t, &wrong) == std::nullopt);
  CHECK(wrong);
  CHECK(s.incr("s", 1, t).error == store::IncrError::wrong_type);
  const Status st = s.edit_collection("str", ValueKind::set, t, [](auto&) { return true; });
  CHECK(st.code() == StatusCode::wrong_type);
  CHECK(s.edit_collection("s", ValueKind::hash, t, [](auto&) { return true; }).code() ==
        StatusCode::wrong_type);
  CHECK(s.size() == 2);
  // Removing the last member deletes the key.
  srem(s, "s", "a", t);
  srem(s, "s", "b", t);
  CHECK(s.type("s", t) == store::KeyType::none);
  CHECK(s.size() == 1);
  CHECK(s.used_memory() > 0);
  CHECK(s.entries_memory() == s.recompute_entries_memory());
  // SET over a set replaces it, as in Redis.
  sadd(s, "s2", "x", t);
  REQUIRE(s.put_local("s2", "now a string", t).ok());
  CHECK(s.type("s2", t) == store::KeyType::string);
}

TEST_CASE("Store: a DEL of a set keeps members added concurrently elsewhere",
          "[store][collection]") {
  store::Store a(config_for(1)), b(config_for(2));
  const WallTime t{10'000};
  sadd(a, "k", "old", t);
  ship(a, b, "k", t);
  CHECK(a.del_local("k", t));  // A removes what it saw: "old"
  sadd(b, "k", "new", t);      // concurrently B adds "new"
  ship(a, b, "k", t);
  ship(b, a, "k", t);
  CHECK(members(a, "k", t) == std::set<std::string>{"new"});
  CHECK(members(b, "k", t) == std::set<std::string>{"new"});
  CHECK(a.entries_memory() == a.recompute_entries_memory());
  CHECK(b.entries_memory() == b.recompute_entries_memory());
}

TEST_CASE("Store: concurrent SADDs at three coordinators all survive", "[store][collection]") {
  std::vector<std::unique_ptr<store::Store>> r;
  for (std::uint64_t i = 1; i <= 3; ++i) r.push_back(std::make_unique<store::Store>(config_for(i)));
  const WallTime t{10'000};
  std::set<std::string> expected;
  for (int i = 0; i < 90; ++i) {
    const std::string m = "m" + std::to_string(i);
    sadd(*r[static_cast<std::size_t>(i % 3)], "k", m, t);
    expected.insert(m);
    if (i % 10 == 9) ship(*r[0], *r[1], "k", t);  // occasional partial syncs
  }
  for (int round = 0; round < 2; ++round) {
    for (std::size_t i = 0; i < 3; ++i) {
      for (std::size_t j = 0; j < 3; ++j) {
        if (i != j) ship(*r[i], *r[j], "k", t);
      }
    }
  }
  for (auto& s : r) CHECK(members(*s, "k", t) == expected);
  // A write on the merged state collapses the siblings into one version.
  sadd(*r[0], "k", "last", t);
  auto v = r[0]->export_entry("k", t);
  REQUIRE(v);
  CHECK(v->version.siblings().size() == 1);
}

TEST_CASE("Store: EXPIRE, COPY and eviction work on collections", "[store][collection]") {
  store::Store s(config_for(1));
  const WallTime t{10'000};
  sadd(s, "k", "a", t);
  REQUIRE(s.set_expiry("k", WallTime{20'000}, t));
  CHECK(s.type("k", t) == store::KeyType::set);
  CHECK(s.ttl("k", t).expiry == WallTime{20'000});
  REQUIRE(s.copy("k", "dst", t).value());
  CHECK(members(s, "dst", t) == std::set<std::string>{"a"});
  CHECK(s.ttl("dst", t).expiry == WallTime{20'000});
  CHECK(s.type("k", WallTime{20'001}) == store::KeyType::none);  // expired
  CHECK(s.entries_memory() == s.recompute_entries_memory());
}

TEST_CASE("Collection: rollback undoes sets, removals and clears exactly", "[collection]") {
  Replica a(1);
  for (int i = 0; i < 20; ++i) a.set("f" + std::to_string(i), "v" + std::to_string(i));
  const Collection before = a.state;
  const std::size_t memory = a.state.memory();
  const std::size_t wire = a.state.encoded_size();
  a.state.begin_undo();
  a.state.set("f1", "changed", Dot{NodeId{1}, 99}, kStamp);
  a.state.set("new", "x", Dot{NodeId{1}, 99}, kStamp);
  a.state.remove("f2");
  a.state.clear();
  a.state.set("f3", "after clear", Dot{NodeId{1}, 99}, kStamp);
  std::string text;
  a.state.incr("n", 5, Dot{NodeId{1}, 99}, kStamp, text);
  a.state.rollback();
  CHECK(a.state == before);
  CHECK(a.state.memory() == memory);
  CHECK(a.state.encoded_size() == wire);
}

// The packed pages (collection.cpp) against a plain model: thousands of elements across many
// pages, values from empty to longer than a page, every operation checked by what a reader
// sees, the element order, the encoding, the accounting and rollback.
TEST_CASE("Collection: pages hold what a map would, in order, across splits and merges",
          "[collection]") {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    Rng rng(seed);
    Replica a(1);
    std::map<std::string, std::string> model;
    const auto value = [&] {
      const std::uint64_t shape = rng.uniform(20);
      const std::size_t n = shape == 0 ? 0 : shape == 1 ? 3000 + rng.uniform(3000) : rng.uniform(40);
      return std::string(n, static_cast<char>('a' + rng.uniform(26)));
    };
    const auto check = [&] {
      REQUIRE(a.state.size() == model.size());
      std::vector<std::pair<std::uint64_t, std::string>> order;
      std::string scratch;
      for (const ElementView e : a.state) {
        order.emplace_back(e.hash(), std::string(e.name()));
        const auto it = model.find(std::string(e.name()));
        REQUIRE(it != model.end());
        CHECK(e.value(scratch) == it->second);
      }
      CHECK(order.size() == model.size());
      CHECK(std::is_sorted(order.begin(), order.end()));
      for (const auto& [name, v] : model) {
        const auto e = a.state.find(name);
        REQUIRE(e);
        CHECK(e->value(scratch) == v);
      }
      CHECK_FALSE(a.state.contains("absent"));
      const std::string bytes = a.state.encode();
      CHECK(bytes.size() <= a.state.encoded_size());
      auto back = Collection::decode(bytes);
      REQUIRE(back.ok());
      CHECK(back.value() == a.state);
      const Collection copy = a.state;
      CHECK(copy == a.state);
    };
    for (int round = 0; round < 4; ++round) {
      for (int step = 0; step < 1500; ++step) {
        const std::string f = "field:" + std::to_string(rng.uniform(2000));
        if (rng.uniform(4) == 0) {
          a.remove(f);
          model.erase(f);
        } else {
          std::string v = value();
          a.set(f, v);
          model[f] = std::move(v);
        }
      }
      check();
      // Undo restores exactly, across page splits and empties.
      const Collection before = a.state;
      const std::size_t memory = a.state.memory();
      a.state.begin_undo();
      for (int step = 0; step < 300; ++step) {
        const std::string f = "field:" + std::to_string(rng.uniform(2500));
        if (rng.uniform(3) == 0) {
          a.state.remove(f);
        } else {
          a.state.set(f, value(), Dot{NodeId{1}, 1u << 30}, kStamp);
        }
        if (step == 150 && round % 2 == 1) a.state.clear();
      }
      a.state.rollback();
      CHECK(a.state == before);
      // The same elements; pages split meanwhile may stay split.
      CHECK(a.state.memory() <= memory + memory / 4 + 4096);
      check();
    }
    // Removing everything one by one leaves nothing behind.
    for (const auto& [name, v] : model) a.remove(name);
    model.clear();
    check();
    CHECK(a.state.memory() <= 32);  // the context's one actor
  }
}

TEST_CASE("Collection: a small hash costs about its bytes", "[collection]") {
  Replica a(1);
  for (int i = 0; i < 10; ++i) a.set("field:" + std::to_string(i), "value:0000000" + std::to_string(i));
  // 10 fields of 7 bytes with 14-byte values: 45 bytes of record each, in one heap block,
  // plus the page table and the context (about 100 bytes).
  CHECK(a.state.memory() <= 10 * 45 + 128);
  Replica s(1, ValueKind::set);
  for (int i = 0; i < 1000; ++i) s.add("member:" + std::to_string(i));
  CHECK(s.state.memory() < 1000 * 48);
}

TEST_CASE("Store: over maxmemory a collection may shrink but not grow", "[store][collection]") {
  store::StoreConfig c = config_for(1);
  c.maxmemory = 1;  // always full
  c.policy = store::EvictionPolicy::noeviction;
  store::Store s(c);
  const WallTime t{10'000};
  // (A load past maxmemory, as a restart may do.)
  data::DvvSet v;
  auto state = std::make_shared<Collection>(ValueKind::set);
  state->add("a", Dot{NodeId{2}, 1}, kStamp);
  state->add("b", Dot{NodeId{2}, 1}, kStamp);
  state->observe(Dot{NodeId{2}, 1});
  v.update({}, NodeId{2}, kStamp, state, ValueKind::set);
  s.restore("k", v, std::nullopt, t);
  const Status grow = s.edit_collection("k", ValueKind::set, t, [](auto& e) {
    e.collection.add("c", e.dot, e.stamp);
    return true;
  });
  CHECK(grow.code() == StatusCode::out_of_memory);
  CHECK(members(s, "k", t) == std::set<std::string>{"a", "b"});
  srem(s, "k", "a", t);
  CHECK(members(s, "k", t) == std::set<std::string>{"b"});
  CHECK(s.entries_memory() == s.recompute_entries_memory());
}
