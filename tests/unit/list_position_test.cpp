// List positions (apiary/data/list_position.hpp): every new name falls strictly between its
// neighbours whatever suffix follows, names minted by different writes never collide, and
// names stay short under long runs of inserts at one spot.
#include <catch2/catch.hpp>
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "apiary/base/rng.hpp"
#include "apiary/data/list_position.hpp"

using namespace apiary;
using namespace apiary::data;
namespace lp = apiary::data::list_position;

namespace {

Dot dot(std::uint64_t actor, std::uint64_t counter) { return Dot{NodeId{actor}, counter}; }

// A list of names, kept in order, that inserts the way LPUSH/RPUSH/LINSERT do.
struct Names {
  std::vector<std::string> v;
  std::uint64_t counter = 0;
  std::size_t insert_at(std::size_t i, lp::Bias bias = lp::Bias::longer) {
    std::optional<std::string_view> left, right;
    if (i > 0) left = v[i - 1];
    if (i < v.size()) right = v[i];
    std::string name = lp::mint(left, right, dot(7, ++counter), 0, bias);
    if (left) REQUIRE(*left < name);
    if (right) REQUIRE(name < *right);
    REQUIRE(lp::valid(name));
    v.insert(v.begin() + static_cast<std::ptrdiff_t>(i), std::move(name));
    return i;
  }
  std::size_t longest() const {
    std::size_t n = 0;
    for (const auto& s : v) n = std::max(n, s.size());
    return n;
  }
};

}  // namespace

TEST_CASE("ListPosition: between is strictly between for any suffix", "[list]") {
  const std::string a = lp::mint(std::nullopt, std::nullopt, dot(1, 1), 0);
  const std::string b = lp::mint(a, std::nullopt, dot(1, 2), 0);
  const std::string c = lp::mint(std::nullopt, a, dot(1, 3), 0);
  CHECK(c < a);
  CHECK(a < b);
  for (const auto bias : {lp::Bias::left, lp::Bias::right, lp::Bias::longer}) {
    const std::string mid = lp::between(a, b, bias);
    for (const std::string& tail : {std::string(), std::string("\x00", 1), std::string("\xff\xff"),
                                   lp::suffix(dot(~0ull, ~0ull), ~0u)}) {
      CHECK(a < mid + tail);
      CHECK(mid + tail < b);
    }
  }
  // Neighbours that share a position (concurrent pushes) still have room between them.
  const std::string p = lp::between(b, std::nullopt);
  const std::string x = p + lp::suffix(dot(1, 9), 0);
  const std::string y = p + lp::suffix(dot(2, 9), 0);
  REQUIRE(x < y);
  const std::string z = lp::mint(x, y, dot(3, 1), 0);
  CHECK(x < z);
  CHECK(z < y);
}

TEST_CASE("ListPosition: neighbours outside the precondition still get an answer", "[list]") {
  // A name ending in a zero byte never comes from a coordinator (decode refuses it); a hostile
  // delta could still bring one. between() must return rather than look for room forever.
  const std::string a = lp::mint(std::nullopt, std::nullopt, dot(1, 1), 0);
  const std::string b = a + std::string(3, '\0');
  CHECK(lp::between(a, b).size() > 0);
  CHECK(lp::between(a, a).size() > 0);
}

TEST_CASE("ListPosition: different writes and indices never mint the same name", "[list]") {
  std::set<std::string> seen;
  for (std::uint64_t actor : {1ull, 2ull, 0x8000000000000000ull}) {
    for (std::uint64_t counter = 1; counter < 300; ++counter) {
      for (std::uint32_t i = 0; i < 3; ++i) {
        CHECK(seen.insert(lp::mint(std::nullopt, std::nullopt, dot(actor, counter), i)).second);
      }
    }
  }
}

TEST_CASE("ListPosition: random inserts keep order and names short", "[list]") {
  // Inserts at random places cost the most: a name gains about two bytes each time its gap
  // is split on the side it was not biased towards (measured: 1e5 random inserts average 43
  // bytes a name with the 12-byte suffix, at most 85).
  Names names;
  Rng rng(42);
  for (int i = 0; i < 20000; ++i) names.insert_at(rng.next() % (names.v.size() + 1));
  CHECK(std::is_sorted(names.v.begin(), names.v.end()));
  std::size_t total = 0;
  for (const auto& s : names.v) total += s.size();
  CHECK(total / names.v.size() <= 40);
  CHECK(names.longest() <= 90);
}

TEST_CASE("ListPosition: 1e5 inserts at one spot, the head or the tail stay short", "[list]") {
  // Each pattern says where the next insert goes, given the index of the previous one; the
  // list starts with two elements.
  const auto longest = [](auto where) {
    Names n;
    n.insert_at(0);
    n.insert_at(1);
    std::size_t last = 1;
    for (int i = 0; i < 100000; ++i) last = n.insert_at(where(n, last));
    return n.longest();
  };
  using W = std::size_t;
  CHECK(longest([](const Names& n, W) { return n.v.size(); }) <= 20);      // RPUSH
  CHECK(longest([](const Names&, W) { return W{0}; }) <= 20);              // LPUSH
  CHECK(longest([](const Names& n, W) { return n.v.size() - 1; }) <= 24);  // before a pivot
  CHECK(longest([](const Names&, W) { return W{1}; }) <= 24);              // after a pivot
  CHECK(longest([](const Names&, W last) { return last; }) <= 24);         // before the new one
  CHECK(longest([](const Names&, W last) { return last + 1; }) <= 24);     // after the new one
}
