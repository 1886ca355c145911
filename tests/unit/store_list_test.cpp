// Lists as a replicated data type (a Collection of kind list, apiary/data/collection.hpp, and
// docs/datatypes.md, "Lists"): concurrent pushes at two or three coordinators all survive a
// merge, in a stable order, and never twice; pops remove only what they saw; LSETs resolve by
// last writer; join is idempotent, commutative and associative; a list write replicates as
// its change; encoding round-trips and refuses hostile bytes; a refused write rolls back; index
// reads on a 100,000-element list agree with a model.
#include <catch2/catch.hpp>
#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "apiary/base/rng.hpp"
#include "apiary/data/collection.hpp"
#include "apiary/store/store.hpp"
#include "support/join_laws.hpp"

using namespace apiary;
using namespace apiary::data;

namespace {

// One coordinator's copy of a list, writing with its own actor.
struct Replica {
  NodeId actor;
  Collection state{ValueKind::list};
  std::uint64_t counter = 0;
  explicit Replica(std::uint64_t id) : actor{id} {}

  Dot next() {
    counter = std::max(counter, state.context().get(actor)) + 1;
    return Dot{actor, counter};
  }
  HlcTimestamp stamp(Dot d) const { return HlcTimestamp{d.counter * 10 + actor.value}; }
  void push(bool left, const std::string& value) {
    const Dot d = next();
    if (left) {
      state.push_front(value, d, stamp(d));
    } else {
      state.push_back(value, d, stamp(d));
    }
    state.observe(d);
  }
  std::optional<std::string> pop(bool left) {
    if (state.empty()) return std::nullopt;
    const Dot d = next();
    const ElementView e = left ? *state.begin() : *state.last();
    std::string scratch;
    std::string value(e.value(scratch));
    state.remove(std::string(e.name()));
    state.observe(d);
    return value;
  }
  void lset(std::size_t index, const std::string& value) {
    const Dot d = next();
    const std::string name((*state.at(index)).name());
    state.set(name, value, d, stamp(d));
    state.observe(d);
  }
  void insert_at(std::size_t index, const std::string& value) {
    const Dot d = next();
    std::optional<std::string> left, right;
    if (index > 0) left = std::string((*state.at(index - 1)).name());
    if (index < state.size()) right = std::string((*state.at(index)).name());
    state.insert(left, right, value, d, stamp(d));
    state.observe(d);
  }
  void receive(const Replica& other) { state.join(other.state); }
};

std::vector<std::string> values(const Collection& c) {
  std::vector<std::string> out;
  std::string scratch;
  for (const ElementView e : c) out.emplace_back(e.value(scratch));
  return out;
}

}  // namespace

TEST_CASE("List: concurrent pushes at two coordinators both survive, in one order", "[list]") {
  Replica a(1), b(2);
  a.push(false, "x");
  b.receive(a);
  a.push(false, "from-a");
  b.push(false, "from-b");
  a.push(true, "head-a");
  b.push(true, "head-b");
  Replica ab = a, ba = b;
  ab.receive(b);
  ba.receive(a);
  CHECK(ab.state == ba.state);
  const auto v = values(ab.state);
  REQUIRE(v.size() == 5);
  CHECK(std::count(v.begin(), v.end(), "x") == 1);  // the shared element, once
  CHECK(v[2] == "x");
  CHECK(std::set<std::string>(v.begin(), v.begin() + 2) ==
        std::set<std::string>{"head-a", "head-b"});
  CHECK(std::set<std::string>(v.begin() + 3, v.end()) ==
        std::set<std::string>{"from-a", "from-b"});
}

TEST_CASE("List: a pop removes only the element it saw, and a concurrent push survives", "[list]") {
  Replica a(1), b(2);
  a.push(false, "1");
  a.push(false, "2");
  b.receive(a);
  CHECK(a.pop(true) == "1");
  b.push(true, "0");  // concurrently, at the head b sees
  a.receive(b);
  b.receive(a);
  CHECK(values(a.state) == std::vector<std::string>{"0", "2"});
  CHECK(a.state == b.state);
  // Both pop the same head concurrently: each answers it (the documented window), and the
  // merge removes it once.
  CHECK(a.pop(true) == "0");
  CHECK(b.pop(true) == "0");
  a.receive(b);
  CHECK(values(a.state) == std::vector<std::string>{"2"});
}

TEST_CASE("List: concurrent LSETs of one element resolve by last writer", "[list]") {
  Replica a(1), b(2);
  a.push(false, "v");
  b.receive(a);
  a.lset(0, "from-a");
  b.lset(0, "from-b");
  b.lset(0, "from-b-later");  // larger stamp
  a.receive(b);
  b.receive(a);
  CHECK(values(a.state) == std::vector<std::string>{"from-b-later"});
  CHECK(a.state == b.state);
  CHECK((*a.state.begin()).version_count() == 2);  // both kept until the next write
}

TEST_CASE("List: join is idempotent, commutative and associative over random histories",
          "[list]") {
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    Rng rng(seed);
    std::vector<Replica> r;
    for (std::uint64_t i = 1; i <= 3; ++i) r.emplace_back(i);
    std::multiset<std::string> pushed, popped, overwritten;
    int next_value = 0;
    for (int step = 0; step < 80; ++step) {
      Replica& x = r[rng.uniform(3)];
      switch (rng.uniform(6)) {
        case 0:
        case 1: {
          const std::string v = "v" + std::to_string(next_value++);
          x.push(rng.uniform(2) == 0, v);
          pushed.insert(v);
          break;
        }
        case 2:
          if (auto v = x.pop(rng.uniform(2) == 0)) popped.insert(*v);
          break;
        case 3:
          if (!x.state.empty()) {
            const std::string v = "v" + std::to_string(next_value++);
            x.insert_at(rng.uniform(x.state.size() + 1), v);
            pushed.insert(v);
          }
          break;
        case 4:
          if (!x.state.empty()) {
            const std::size_t i = rng.uniform(x.state.size());
            overwritten.insert(values(x.state)[i]);
            x.lset(i, "set" + std::to_string(step));
          }
          break;
        default:
          x.receive(r[rng.uniform(3)]);
      }
    }
    INFO("seed " << seed);
    const Collection left = test::check_join_laws(r[0].state, r[1].state, r[2].state);
    // No element twice (names are unique, so only a value written twice could repeat), and
    // every push not popped is there: merged states hold pushed - popped, LSETs aside.
    std::set<std::string> names;
    for (const ElementView e : left) CHECK(names.insert(std::string(e.name())).second);
    std::size_t unset = 0;
    for (const auto& v : values(left)) {
      if (v.rfind("set", 0) != 0) {
        CHECK(pushed.count(v) == 1);
        CHECK(popped.count(v) == 0);
        ++unset;
      }
    }
    // No acknowledged push lost: every pushed value neither popped nor overwritten by an
    // LSET is in the merge of all three.
    const auto merged = values(left);
    for (const auto& v : pushed) {
      if (popped.count(v) == 0 && overwritten.count(v) == 0) {
        CHECK(std::count(merged.begin(), merged.end(), v) == 1);
      }
    }
    CHECK(unset <= pushed.size());
  }
}

TEST_CASE("List: encoding round-trips and hostile bytes are refused", "[list]") {
  Replica a(1), b(2);
  for (int i = 0; i < 50; ++i) a.push(i % 2 == 0, "e" + std::to_string(i));
  b.receive(a);
  b.lset(3, "changed");
  a.push(false, "concurrent");
  a.receive(b);
  const std::string bytes = a.state.encode();
  auto back = Collection::decode(bytes);
  REQUIRE(back.ok());
  CHECK(back.value() == a.state);
  CHECK(values(back.value()) == values(a.state));
  for (std::size_t n = 0; n < bytes.size(); n += 7) {
    CHECK_FALSE(Collection::decode(bytes.substr(0, n)).ok());
  }
  Rng rng(11);
  for (int i = 0; i < 2000; ++i) {
    std::string mutated = bytes;
    mutated[rng.uniform(mutated.size())] = static_cast<char>(rng.next());
    auto m = Collection::decode(mutated);  // never crashes or throws
    if (m.ok() && m.value().kind() == ValueKind::list && !m.value().empty()) {
      // Whatever decoded is a usable list: index reads and an insert at each end work.
      Collection& c = m.value();
      CHECK(c.index_of(c.at(c.size() - 1)) == c.size() - 1);
      c.push_front("x", Dot{NodeId{9}, 1}, HlcTimestamp{1});
      c.push_back("y", Dot{NodeId{9}, 1}, HlcTimestamp{1});
      std::string scratch;
      CHECK((*c.begin()).value(scratch) == "x");
      CHECK((*c.last()).value(scratch) == "y");
    }
  }
}

TEST_CASE("List: a name that ends in a zero byte is refused by decode", "[list]") {
  Replica a(1);
  a.push(false, "v");
  std::string bytes = a.state.encode();
  const std::string name((*a.state.begin()).name());
  const auto at = bytes.find(name);
  REQUIRE(at != std::string::npos);
  bytes[at + name.size() - 1] = '\0';
  CHECK_FALSE(Collection::decode(bytes).ok());
}

TEST_CASE("List: rollback puts pushes, pops and LSETs back exactly", "[list]") {
  Replica a(1);
  for (int i = 0; i < 300; ++i) a.push(false, "e" + std::to_string(i));
  const Collection before = a.state;
  a.state.begin_undo();
  const Dot d = a.next();
  for (int i = 0; i < 200; ++i) a.state.push_front("new", d, HlcTimestamp{1});
  a.state.remove(std::string((*a.state.at(250)).name()));
  a.state.set(std::string((*a.state.at(10)).name()), "changed", d, HlcTimestamp{1});
  a.state.rollback();
  CHECK(a.state == before);
  CHECK(values(a.state) == values(before));
  CHECK(a.state.index_of(a.state.at(123)) == 123);
}

TEST_CASE("List: index reads on a 100,000-element list agree with a model", "[list]") {
  Replica a(1);
  std::deque<std::string> model;
  const Dot d = a.next();
  for (int i = 0; i < 100000; ++i) {
    const std::string v = "e" + std::to_string(i);
    if (i % 3 == 0) {
      a.state.push_front(v, d, HlcTimestamp{1});
      model.push_front(v);
    } else {
      a.state.push_back(v, d, HlcTimestamp{1});
      model.push_back(v);
    }
  }
  a.state.observe(d);
  REQUIRE(a.state.size() == model.size());
  CHECK(values(a.state) == std::vector<std::string>(model.begin(), model.end()));
  Rng rng(5);
  std::string scratch;
  for (int q = 0; q < 2000; ++q) {
    const std::size_t i = rng.uniform(model.size());
    const auto it = a.state.at(i);
    REQUIRE((*it).value(scratch) == model[i]);
    CHECK(a.state.index_of(it) == i);
    if (q % 4 == 0) {  // pops at both ends and an LSET keep the counts in step
      a.pop(true);
      model.pop_front();
      a.pop(false);
      model.pop_back();
      const std::size_t j = rng.uniform(model.size());
      a.lset(j, "set");
      model[j] = "set";
    }
  }
  CHECK(values(a.state) == std::vector<std::string>(model.begin(), model.end()));
}

TEST_CASE("Store: a list write replicates as its change and replicas reach the same version",
          "[list][store]") {
  store::StoreConfig config;
  config.self = NodeId{1};
  store::Store coordinator(config);
  config.self = NodeId{2};
  store::Store replica(config);
  const WallTime now{1'700'000'000'000};
  const auto edit = [&](const std::function<void(store::Store::CollectionEdit&)>& f) {
    REQUIRE(coordinator
                .edit_collection("q", ValueKind::list, now,
                                 [&](store::Store::CollectionEdit& e) {
                                   f(e);
                                   return true;
                                 })
                .ok());
    auto delta = coordinator.take_delta("q");
    REQUIRE(delta);
    return *delta;
  };
  for (int i = 0; i < 1000; ++i) {
    const auto delta = edit([&](store::Store::CollectionEdit& e) {
      e.collection.push_back("job:" + std::to_string(i), e.dot, e.stamp);
    });
    CHECK(delta.changes.size() == 1);
    REQUIRE(replica.apply_delta(delta, now).ok());
  }
  const auto pop = edit([&](store::Store::CollectionEdit& e) {
    e.collection.remove(std::string((*e.collection.begin()).name()));
  });
  CHECK(pop.changes.size() == 1);
  CHECK(pop.changes[0].kind == ElementChange::Kind::remove);
  REQUIRE(replica.apply_delta(pop, now).ok());
  CHECK(coordinator.export_entry("q", now)->version == replica.export_entry("q", now)->version);
  CHECK(coordinator.type("q", now) == store::KeyType::list);
  CHECK(store::type_name(replica.type("q", now)) == "list");
}
