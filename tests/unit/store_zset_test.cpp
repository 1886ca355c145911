// Sorted sets as replicated data types (apiary/data/collection.hpp of kind zset,
// apiary/data/score_index.hpp, docs/datatypes.md "Sorted sets"): the score index agrees with
// a naive model under random writes, removals, clears, rollbacks and joins; concurrent ZADD,
// ZINCRBY and ZREM merge by the documented rules; a zset survives encode/decode; the store
// keeps zsets as a type of their own.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "apiary/base/rng.hpp"
#include "apiary/data/collection.hpp"
#include "apiary/store/store.hpp"

using namespace apiary;
using namespace apiary::data;

namespace {

// One replica's copy of a zset, writing with its own actor as a coordinator does.
struct Replica {
  NodeId actor;
  Collection state{ValueKind::zset};
  std::uint64_t counter = 0;
  std::uint64_t clock = 0;  // HLC stand-in: grows with every write anywhere it has seen
  explicit Replica(std::uint64_t id) : actor{id} {}

  Dot next() {
    counter = std::max(counter, state.context().get(actor)) + 1;
    return Dot{actor, counter};
  }
  HlcTimestamp stamp() { return HlcTimestamp{(++clock) * 16 + actor.value}; }
  void zadd(std::string_view member, double score) {
    const Dot d = next();
    state.set(member, Collection::score_text(score), d, stamp());
    state.observe(d);
  }
  double zincrby(std::string_view member, double by) {
    const Dot d = next();
    double out = 0;
    REQUIRE(state.incr_score(member, by, d, stamp(), out));
    state.observe(d);
    return out;
  }
  void zrem(std::string_view member) {
    const Dot d = next();
    state.remove(member);
    state.observe(d);
  }
  void receive(const Replica& other) {
    state.join(other.state);
    clock = std::max(clock, other.clock);
  }
};

// The (score, member) order a naive reader computes from the pages.
std::vector<std::pair<double, std::string>> naive_order(const Collection& c) {
  std::vector<std::pair<double, std::string>> out;
  for (const ElementView e : c) out.emplace_back(Collection::score_of(e), std::string(e.name()));
  std::sort(out.begin(), out.end());
  return out;
}

// The index holds exactly the naive order, and answers rank and counts as the naive order does.
void check_index(const Collection& c) {
  const ScoreOrder index = c.scores();
  // The index exists exactly when the zset is too big to sort on demand.
  CHECK(c.indexed() == (c.size() >= Collection::kIndexedFrom));
  const auto model = naive_order(c);
  REQUIRE(index.size() == model.size());
  const auto all = index.range(0, model.size(), false);
  REQUIRE(all.size() == model.size());
  for (std::size_t i = 0; i < model.size(); ++i) {
    CHECK(all[i].score == model[i].first);
    CHECK(all[i].member == model[i].second);
    CHECK(index.rank(model[i].first, model[i].second) == i);
  }
  for (const double s : {-1.0, 0.0, 2.0, 2.5, 7.0, 1e9}) {
    const auto below = static_cast<std::size_t>(std::count_if(
        model.begin(), model.end(), [&](const auto& m) { return m.first < s; }));
    const auto upto = static_cast<std::size_t>(std::count_if(
        model.begin(), model.end(), [&](const auto& m) { return m.first <= s; }));
    CHECK(index.count_below(s, false) == below);
    CHECK(index.count_below(s, true) == upto);
  }
}

}  // namespace

TEST_CASE("Zset: the score index follows every change, as a naive model computes it", "[zset]") {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    Rng rng(seed);
    Replica a(1), b(2), c(3);
    Replica* rs[] = {&a, &b, &c};
    // Up to 300 members: zsets grow past kIndexedFrom and shrink below it.
    const std::uint64_t universe = seed % 2 == 0 ? 40 : 300;
    for (int step = 0; step < 900; ++step) {
      Replica& x = *rs[rng.uniform(3)];
      const std::string m = "m" + std::to_string(rng.uniform(universe));
      switch (rng.uniform(8)) {
        case 0:
        case 1:
          x.zadd(m, static_cast<double>(rng.uniform(10)) / 2);
          break;
        case 2:
        case 3:
          x.zincrby(m, static_cast<double>(rng.uniform(5)) - 1);
          break;
        case 4:
          x.zrem(m);
          if (step > 600) x.zrem("m" + std::to_string(rng.uniform(universe)));
          break;
        case 5:
          x.receive(*rs[rng.uniform(3)]);
          break;
        case 6: {  // a write the store refuses: run in place, then rolled back
          const Collection before = x.state;
          x.state.begin_undo();
          const Dot d = x.next();
          x.state.set(m, "3", d, x.stamp());
          x.state.remove("m" + std::to_string(rng.uniform(universe)));
          if (rng.uniform(4) == 0) x.state.clear();
          x.state.set("extra", "1", d, x.stamp());
          x.state.rollback();
          CHECK(x.state == before);
          break;
        }
        default: {  // a copy and a round trip keep the index
          auto decoded = Collection::decode(x.state.encode());
          REQUIRE(decoded.ok());
          CHECK(decoded.value() == x.state);
          check_index(decoded.value());
          Collection copy = x.state;
          check_index(copy);
          break;
        }
      }
      check_index(x.state);
    }
    a.receive(b);
    a.receive(c);
    b.receive(a);
    c.receive(a);
    CHECK(naive_order(a.state) == naive_order(b.state));
    CHECK(naive_order(a.state) == naive_order(c.state));
    check_index(b.state);
  }
}

TEST_CASE("Zset: equal scores order by member bytes, counts and lex counts", "[zset]") {
  Replica a(1);
  for (const char* m : {"b", "a", "\xff", "c", "ab"}) a.zadd(m, 1);
  a.zadd("z", 0);
  a.zadd("inf", std::numeric_limits<double>::infinity());
  a.zadd("-inf", -std::numeric_limits<double>::infinity());
  const ScoreOrder index = a.state.scores();
  std::vector<std::string> order;
  for (const auto& e : index.range(0, 100, false)) order.emplace_back(e.member);
  CHECK(order == std::vector<std::string>{"-inf", "z", "a", "ab", "b", "c", "\xff", "inf"});
  std::vector<std::string> reverse;
  for (const auto& e : index.range(7, 3, true)) reverse.emplace_back(e.member);
  CHECK(reverse == std::vector<std::string>{"inf", "\xff", "c"});
  CHECK(index.count_below(1, false) == 2);
  CHECK(index.count_below(1, true) == 7);
  CHECK(index.count_below(std::numeric_limits<double>::infinity(), true) == 8);
  CHECK(index.count_below(-std::numeric_limits<double>::infinity(), false) == 0);
  CHECK(index.at(2).member == "a");
  // Members compare as unsigned bytes, as Redis's memcmp does.
  Replica lex(2);
  for (const char* m : {"a", "b", "c", "\xff"}) lex.zadd(m, 0);
  CHECK(lex.state.scores().count_member_below("b", false) == 1);
  CHECK(lex.state.scores().count_member_below("b", true) == 2);
  CHECK(lex.state.scores().count_member_below("\x80", false) == 3);
}

TEST_CASE("Zset: concurrent ZINCRBYs add up, and the index sees the merged score", "[zset]") {
  Replica a(1), b(2), c(3);
  a.zadd("m", 10);
  b.receive(a);
  c.receive(a);
  CHECK(a.zincrby("m", 1) == 11);
  CHECK(b.zincrby("m", 2) == 12);
  CHECK(c.zincrby("m", 4) == 14);
  a.receive(b);
  a.receive(c);
  CHECK(a.state.score("m") == 17);
  CHECK(a.state.scores().at(0).score == 17);
  // Idempotent: receiving the same versions again changes nothing.
  a.receive(b);
  CHECK(a.state.score("m") == 17);
  b.receive(a);
  CHECK(b.zincrby("m", 1) == 18);
}

TEST_CASE("Zset: ZADD scores resolve by last writer, ZADD after increments is a reset", "[zset]") {
  Replica a(1), b(2);
  a.zadd("m", 1);
  b.receive(a);
  a.zadd("m", 5);
  b.zadd("m", 7);  // the later stamp (b has seen a's write)
  a.receive(b);
  b.receive(a);
  CHECK(a.state.score("m") == 7);
  CHECK(b.state.score("m") == 7);
  // ZINCRBY at a, concurrent ZADD at b after it (a later stamp): the ZADD resets.
  a.zincrby("m", 100);
  b.clock = a.clock + 1;
  b.zadd("m", 2);
  a.receive(b);
  CHECK(a.state.score("m") == 2);
}

TEST_CASE("Zset: an add or increment wins over a concurrent ZREM, ZREM removes what it saw",
          "[zset]") {
  Replica a(1), b(2);
  a.zadd("m", 1);
  a.zadd("n", 2);
  b.receive(a);
  a.zrem("m");
  b.zincrby("m", 3);
  b.zrem("n");
  a.zadd("n", 9);
  a.receive(b);
  b.receive(a);
  CHECK(a.state.score("m") == 4);
  CHECK(a.state.score("n") == 9);
  CHECK(a.state == b.state);
  check_index(a.state);
  // A removal of both, observed everywhere, leaves nothing.
  a.zrem("m");
  a.zrem("n");
  b.receive(a);
  CHECK(b.state.empty());
  CHECK(b.state.scores().size() == 0);
}

TEST_CASE("Zset: scores as Redis computes them, infinities absorb, NaN is refused", "[zset]") {
  Replica a(1);
  CHECK(a.zincrby("x", 0.1) == 0.1);
  CHECK(a.zincrby("x", 0.2) == 0.1 + 0.2);  // double arithmetic: 0.30000000000000004
  CHECK(Collection::score_text(*a.state.score("x")) == "0.30000000000000004");
  a.zadd("i", std::numeric_limits<double>::infinity());
  CHECK(a.zincrby("i", 5) == std::numeric_limits<double>::infinity());
  const Dot d = a.next();
  double out = 0;
  CHECK_FALSE(a.state.incr_score("i", -std::numeric_limits<double>::infinity(), d, a.stamp(), out));
  CHECK(a.state.score("i") == std::numeric_limits<double>::infinity());
  CHECK(Collection::score_text(-std::numeric_limits<double>::infinity()) == "-inf");
  CHECK(Collection::score_text(1e-20) == "9.9999999999999995e-21");
}

TEST_CASE("Zset: memory counts the index, COPY rewrites scores, the store types it", "[zset]") {
  Replica a(1), h(2);
  h.state = Collection(ValueKind::hash);
  for (int i = 0; i < 1000; ++i) {
    a.zadd("member:" + std::to_string(i), i);
  }
  // The index adds a node per member on top of the packed records.
  CHECK(a.state.indexed());
  CHECK(a.state.memory() > 1000 * 64);
  Collection copy(ValueKind::zset);
  copy.replace_with(a.state, Dot{NodeId{9}, 1}, HlcTimestamp{1});
  CHECK(naive_order(copy) == naive_order(a.state));
  check_index(copy);

  store::StoreConfig config;
  config.self = NodeId{1};
  store::Store s(config);
  const WallTime t{1000};
  REQUIRE(s.edit_collection("z", ValueKind::zset, t, [](store::Store::CollectionEdit& e) {
               e.collection.set("m", "1.5", e.dot, e.stamp);
               return true;
             }).ok());
  CHECK(s.type("z", t) == store::KeyType::zset);
  CHECK(store::type_name(s.type("z", t)) == "zset");
  bool wrong = false;
  CHECK(s.read_collection("z", ValueKind::hash, t, wrong) == nullptr);
  CHECK(wrong);
  const Collection* z = s.read_collection("z", ValueKind::zset, t, wrong);
  REQUIRE(z != nullptr);
  CHECK(z->score("m") == 1.5);
  REQUIRE(s.copy("z", "z2", t).value());
  CHECK(s.type("z2", t) == store::KeyType::zset);
  CHECK(s.read_collection("z2", ValueKind::zset, t, wrong)->score("m") == 1.5);
}

TEST_CASE("Zset: a replica reaches the coordinator's zset by delta and by whole entry, "
          "and concurrent ZINCRBYs at two stores add up",
          "[zset]") {
  const auto config = [](std::uint64_t node) {
    store::StoreConfig c;
    c.self = NodeId{node};
    return c;
  };
  store::Store a(config(1)), b(config(2));
  const WallTime t{1000};
  const auto ship = [&](store::Store& from, store::Store& to) {
    auto v = from.export_entry("z", t);
    REQUIRE(v);
    REQUIRE(to.merge("z", v->version, v->expiry, t).ok());
  };
  const auto zincrby = [&](store::Store& s, double by) {
    double out = 0;
    REQUIRE(s.edit_collection("z", ValueKind::zset, t, [&](store::Store::CollectionEdit& e) {
                 return e.collection.incr_score("m", by, e.dot, e.stamp, out);
               }).ok());
    return out;
  };
  const auto score = [&](store::Store& s) {
    bool wrong = false;
    const Collection* c = s.read_collection("z", ValueKind::zset, t, wrong);
    REQUIRE(c != nullptr);
    return *c->score("m");
  };
  for (int i = 0; i < 200; ++i) {  // past the index threshold
    REQUIRE(a.edit_collection("z", ValueKind::zset, t, [&](store::Store::CollectionEdit& e) {
                 e.collection.set("p" + std::to_string(i), Collection::score_text(i), e.dot,
                                  e.stamp);
                 return true;
               }).ok());
  }
  ship(a, b);
  CHECK(zincrby(a, 2.5) == 2.5);
  auto delta = a.take_delta("z");
  REQUIRE(delta);
  CHECK(delta->kind == ValueKind::zset);
  auto applied = b.apply_delta(*delta, t);
  REQUIRE(applied.ok());
  CHECK(applied.value());
  CHECK(score(b) == 2.5);
  // Both coordinate at once (a failover window): the increments add up after an exchange.
  CHECK(zincrby(a, 1) == 3.5);
  CHECK(zincrby(b, 10) == 12.5);
  ship(a, b);
  ship(b, a);
  CHECK(score(a) == 13.5);
  CHECK(score(b) == 13.5);
  bool wrong = false;
  const Collection* c = b.read_collection("z", ValueKind::zset, t, wrong);
  REQUIRE(c != nullptr);
  CHECK(c->indexed());
  CHECK(c->scores().rank(13.5, "m") == 14);  // after p0..p13
}
