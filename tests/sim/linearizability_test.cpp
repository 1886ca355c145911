// The register linearizability search the data workload uses: it must accept what a single
// Redis would answer, reject what none could, and honour ambiguous commands.
#include "apiary/sim/linearizability.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <vector>

#include "apiary/base/rng.hpp"

using namespace apiary::sim;
using Kind = RegisterOp::Kind;
using Verdict = LinearizabilityResult::Verdict;

namespace {

RegisterOp op(Kind kind, std::int64_t from, std::int64_t to, std::optional<std::string> value,
              bool won = false) {
  static std::uint64_t next = 1;
  RegisterOp o;
  o.kind = kind;
  o.id = next++;
  o.invoked = from;
  o.returned = to;
  o.value = std::move(value);
  o.won = won;
  return o;
}

RegisterOp ambiguous(RegisterOp o) {
  o.ambiguous = true;
  if (o.returned == 0) o.returned = kUnbounded;
  return o;
}

Verdict verdict(const std::vector<RegisterOp>& h, bool unknown = false) {
  return check_register(h, unknown).verdict;
}

}  // namespace

TEST_CASE("sequential and overlapping histories a register can produce", "[sim][lin]") {
  CHECK(verdict({op(Kind::set, 0, 1, "a"), op(Kind::get, 2, 3, "a"), op(Kind::del, 4, 5, {}, true),
                 op(Kind::get, 6, 7, std::nullopt)}) == Verdict::linearizable);
  // A read overlapping a write may see either value.
  CHECK(verdict({op(Kind::set, 0, 1, "a"), op(Kind::set, 2, 10, "b"), op(Kind::get, 3, 4, "a"),
                 op(Kind::get, 5, 6, "b")}) == Verdict::linearizable);
  // SET NX: one winner, the loser sees the winner's value afterwards.
  CHECK(verdict({op(Kind::set_nx, 0, 5, "a", true), op(Kind::set_nx, 1, 6, "b", false),
                 op(Kind::get, 7, 8, "a")}) == Verdict::linearizable);
}

TEST_CASE("histories no register can produce are violations", "[sim][lin]") {
  // A stale read: the write returned before the read started.
  auto stale =
      check_register(std::vector<RegisterOp>{op(Kind::set, 0, 1, "a"), op(Kind::set, 2, 3, "b"),
                                             op(Kind::get, 4, 5, "a")},
                     false);
  CHECK(stale.verdict == Verdict::violation);
  // Flip-flop: two reads overlapping one write cannot see new then old.
  CHECK(verdict({op(Kind::set, 0, 1, "a"), op(Kind::set, 2, 20, "b"), op(Kind::get, 3, 4, "b"),
                 op(Kind::get, 5, 6, "a")}) == Verdict::violation);
  // Two SET NX winners without a DEL between them.
  CHECK(verdict({op(Kind::set_nx, 0, 1, "a", true), op(Kind::set_nx, 2, 3, "b", true)}) ==
        Verdict::violation);
  // DEL said it removed a key nobody wrote.
  CHECK(verdict({op(Kind::del, 0, 1, {}, true)}) == Verdict::violation);
  // A value nobody wrote, from a known (empty) initial state.
  CHECK(verdict({op(Kind::get, 0, 1, "ghost")}) == Verdict::violation);
}

TEST_CASE("ambiguous writes may take effect late, or never, but only once", "[sim][lin]") {
  // A SET without a reply may show up long after it was sent...
  CHECK(verdict({op(Kind::set, 0, 1, "a"), ambiguous(op(Kind::set, 2, 0, "b")),
                 op(Kind::get, 3, 4, "a"), op(Kind::get, 50, 51, "b")}) == Verdict::linearizable);
  // ...or never.
  CHECK(verdict({op(Kind::set, 0, 1, "a"), ambiguous(op(Kind::set, 2, 0, "b")),
                 op(Kind::get, 50, 51, "a")}) == Verdict::linearizable);
  // But it takes effect at one point: b, then a (written after), then b again is impossible.
  CHECK(verdict({ambiguous(op(Kind::set, 0, 0, "b")), op(Kind::get, 1, 2, "b"),
                 op(Kind::set, 3, 4, "a"), op(Kind::get, 5, 6, "b")}) == Verdict::violation);
  // Not before it was sent.
  CHECK(verdict({op(Kind::get, 0, 1, "b"), ambiguous(op(Kind::set, 2, 0, "b"))}) ==
        Verdict::violation);
  // Nor after the latest moment it could.
  CHECK(verdict({ambiguous(op(Kind::set, 0, 5, "b")), op(Kind::get, 6, 7, std::nullopt),
                 op(Kind::get, 8, 9, "b")}) == Verdict::violation);
  CHECK(verdict({ambiguous(op(Kind::set, 0, 5, "b")), op(Kind::get, 2, 3, std::nullopt),
                 op(Kind::get, 8, 9, "b")}) == Verdict::linearizable);
}

TEST_CASE("an unknown initial state admits any value not written in the window", "[sim][lin]") {
  CHECK(verdict({op(Kind::get, 0, 1, "old"), op(Kind::set, 2, 3, "a"), op(Kind::get, 4, 5, "a")},
                true) == Verdict::linearizable);
  CHECK(verdict({op(Kind::get, 0, 1, std::nullopt)}, true) == Verdict::linearizable);
  // A lost SET NX says the key held something: a later read of nil (no DEL) is a violation.
  CHECK(verdict({op(Kind::set_nx, 0, 1, "a", false), op(Kind::get, 2, 3, std::nullopt)}, true) ==
        Verdict::violation);
  // The old value cannot come back after being overwritten.
  CHECK(verdict({op(Kind::get, 0, 1, "old"), op(Kind::set, 2, 3, "a"), op(Kind::get, 4, 5, "old")},
                true) == Verdict::violation);
  // Nor can a value written inside the window be there before its write started.
  CHECK(verdict({op(Kind::get, 0, 1, "a"), op(Kind::set, 2, 3, "a")}, true) == Verdict::violation);
}

TEST_CASE("the search gives up at its bound instead of running long", "[sim][lin]") {
  std::vector<RegisterOp> h;
  for (int i = 0; i < 24; ++i) h.push_back(ambiguous(op(Kind::set, i, 0, "v" + std::to_string(i))));
  h.push_back(op(Kind::get, 100, 101, "v0"));
  const auto r = check_register(h, false, 1000);
  CHECK(r.verdict == Verdict::skipped);
}

namespace {

// The definition, by brute force: some order of a subset of the operations (every
// non-ambiguous one included) that respects real time and that a register replays.
bool replays(const std::vector<RegisterOp>& h, const std::vector<std::size_t>& order,
             std::optional<std::string> state) {
  for (std::size_t i : order) {
    const RegisterOp& o = h[i];
    switch (o.kind) {
      case Kind::get:
        if (state != o.value) return false;
        break;
      case Kind::set:
        state = o.value;
        break;
      case Kind::set_nx:
        if (o.ambiguous) {
          if (!state) state = o.value;
        } else if (o.won != !state.has_value()) {
          return false;
        } else if (o.won) {
          state = o.value;
        }
        break;
      case Kind::del:
        if (!o.ambiguous && o.won != state.has_value()) return false;
        state.reset();
        break;
    }
  }
  return true;
}

bool brute_force(const std::vector<RegisterOp>& h, std::optional<std::string> initial) {
  const std::size_t n = h.size();
  for (std::uint32_t subset = 0; subset < (1u << n); ++subset) {
    std::vector<std::size_t> order;
    bool ok = true;
    for (std::size_t i = 0; i < n; ++i) {
      const bool in = (subset >> i) & 1;
      if (!in && !h[i].ambiguous) ok = false;
      if (in) order.push_back(i);
    }
    if (!ok) continue;
    do {
      bool respects = true;
      for (std::size_t a = 0; a < order.size() && respects; ++a) {
        for (std::size_t b = a + 1; b < order.size(); ++b) {
          const RegisterOp& later = h[order[a]];
          const RegisterOp& earlier = h[order[b]];
          // `earlier` is placed after `later` although it returned (or could last take
          // effect) before `later` began.
          if (earlier.returned < later.invoked) {
            respects = false;
            break;
          }
        }
      }
      if (respects && replays(h, order, initial)) return true;
    } while (std::next_permutation(order.begin(), order.end()));
  }
  return false;
}

}  // namespace

TEST_CASE("the search agrees with brute force on random small histories", "[sim][lin]") {
  apiary::Rng rng(42);
  std::size_t violations = 0;
  for (int round = 0; round < 3000; ++round) {
    const std::size_t n = 2 + rng.uniform(5);
    std::vector<RegisterOp> h;
    std::vector<std::string> written;
    for (std::size_t i = 0; i < n; ++i) {
      RegisterOp o;
      o.id = i + 1;
      o.kind = static_cast<Kind>(rng.uniform(4));
      o.invoked = static_cast<std::int64_t>(rng.uniform(10));
      o.returned = o.invoked + static_cast<std::int64_t>(rng.uniform(6));
      o.ambiguous = o.kind != Kind::get && rng.chance(0.15);
      if (o.ambiguous && rng.chance(0.5)) o.returned = kUnbounded;
      o.won = rng.chance(0.5);
      if (o.kind == Kind::set || o.kind == Kind::set_nx) {
        o.value = "v" + std::to_string(i);
        written.push_back(*o.value);
      }
      h.push_back(std::move(o));
    }
    for (auto& o : h) {  // reads of values that were written (or nil, or a stranger)
      if (o.kind != Kind::get) continue;
      const auto pick = rng.uniform(written.size() + 2);
      if (pick < written.size()) {
        o.value = written[pick];
      } else if (pick == written.size()) {
        o.value = "stranger";
      }
    }
    const bool expected = brute_force(h, std::nullopt);
    const auto got = check_register(h, false).verdict;
    INFO("round " << round);
    REQUIRE(got != Verdict::skipped);
    CHECK((got == Verdict::linearizable) == expected);
    if (!expected) ++violations;
    // With an unknown initial state: nil, the stranger, or some other earlier value.
    const bool expected_unknown = brute_force(h, std::nullopt) ||
                                  brute_force(h, std::string("stranger")) ||
                                  brute_force(h, std::string("earlier"));
    CHECK((check_register(h, true).verdict == Verdict::linearizable) == expected_unknown);
  }
  CHECK(violations > 300);  // the generator makes both kinds
}
