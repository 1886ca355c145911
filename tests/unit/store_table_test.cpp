// White-box test of the store's ordered hash table against a std::map model, through growth,
// shrinking and incremental resizes, with colliding order keys.
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "../../libnode/store/table.hpp"
#include "apiary/base/rng.hpp"

using apiary::Rng;
using namespace apiary::store::detail;

namespace {

struct Model {
  std::map<std::pair<std::uint64_t, std::string>, Entry*> entries;
};

std::uint64_t random_order(Rng& rng) {
  switch (rng.uniform(4)) {
    case 0:
      return rng.uniform(16);  // a crowded low range (and many exact collisions)
    case 1:
      return ~std::uint64_t{0} - rng.uniform(16);  // the top end: overflow tail
    default:
      return rng.next();
  }
}

void check_same(const Table& t, const Model& m) {
  REQUIRE(t.size() == m.entries.size());
  auto it = m.entries.begin();
  std::uint64_t last = 0;
  std::size_t count = 0;
  for (std::size_t h = t.lower_bound(0); h < t.slot_count(); h = t.next(h)) {
    REQUIRE(t.is_live(h));
    const Table::Slot& s = t.slot(h);
    REQUIRE(s.order >= last);
    last = s.order;
    ++count;
    REQUIRE(it != m.entries.end());
    REQUIRE(it->first.first == s.order);
    ++it;
  }
  REQUIRE(count == m.entries.size());
}

}  // namespace

TEST_CASE("ordered table matches a sorted model through resizes", "[store][table]") {
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    Rng rng(seed);
    Table t;
    Model m;
    std::vector<std::pair<std::uint64_t, std::string>> keys;
    for (int step = 0; step < 30'000; ++step) {
      const bool grow_phase = (step / 5000) % 2 == 0;  // alternate growth and shrinkage
      const auto op = rng.uniform(10);
      if (op < (grow_phase ? 6u : 2u) || keys.empty()) {
        const std::uint64_t order = random_order(rng);
        const std::string key = "k" + std::to_string(step);
        Entry* e = allocate_entry(0, key, 0);
        t.insert(order, e);
        m.entries[{order, key}] = e;
        keys.emplace_back(order, key);
      } else if (op < 9) {
        const std::size_t i = rng.uniform(keys.size());
        const auto [order, key] = keys[i];
        const std::size_t h = t.find(order, key);
        REQUIRE(h != Table::npos);
        REQUIRE(t.slot(h).entry == m.entries.at({order, key}));
        free_entry(t.slot(h).entry);
        t.erase(h);
        m.entries.erase({order, key});
        keys[i] = keys.back();
        keys.pop_back();
      } else {
        // Lookups of absent keys, including ones sharing an order key with present ones.
        const std::uint64_t order = keys.empty() ? 0 : keys[rng.uniform(keys.size())].first;
        REQUIRE(t.find(order, "absent") == Table::npos);
        REQUIRE(t.find(random_order(rng), "absent") == Table::npos);
        // lower_bound is the first entry at or after an order key.
        const std::uint64_t probe = random_order(rng);
        const std::size_t h = t.lower_bound(probe);
        auto it = m.entries.lower_bound({probe, std::string()});
        if (it == m.entries.end()) {
          REQUIRE(h == t.slot_count());
        } else {
          REQUIRE(h < t.slot_count());
          REQUIRE(t.slot(h).order == it->first.first);
        }
      }
      if (step % 997 == 0) check_same(t, m);
    }
    check_same(t, m);
    for (const auto& [k, e] : m.entries) {
      const std::size_t h = t.find(k.first, k.second);
      REQUIRE(h != Table::npos);
      REQUIRE(t.slot(h).entry == e);
    }
    // Finish any resize in progress, then everything is still there.
    while (t.rehash_step(100)) {
    }
    CHECK_FALSE(t.rehashing());
    check_same(t, m);
    for (auto& [k, e] : m.entries) free_entry(e);
  }
}

TEST_CASE("a resize is spread over many writes", "[store][table]") {
  Table t;
  std::vector<Entry*> entries;
  Rng rng(9);
  bool saw_rehash = false;
  std::size_t longest = 0;
  std::size_t run = 0;
  for (int i = 0; i < 200'000; ++i) {
    Entry* e = allocate_entry(0, "k" + std::to_string(i), 0);
    entries.push_back(e);
    t.insert(rng.next(), e);
    run = t.rehashing() ? run + 1 : 0;
    longest = std::max(longest, run);
    saw_rehash |= t.rehashing();
  }
  CHECK(saw_rehash);
  // A resize from ~100k to ~150k slots takes on the order of 100k / 64 inserts.
  CHECK(longest > 500);
  for (Entry* e : entries) free_entry(e);
}
