// The checker's bookkeeping: convergence, crash detection times and false positives, driven
// by hand so each rule is visible.
#include "apiary/sim/checker.hpp"

#include <catch2/catch.hpp>

using namespace apiary;
using namespace apiary::sim;
using gossip::MemberState;
using namespace std::chrono_literals;

namespace {
TimePoint at(Duration d) { return TimePoint{} + d; }
}  // namespace

TEST_CASE("views converge when every live node sees every live node alive", "[sim][checker]") {
  Checker c(3);
  c.set_status(at(0s), 0, NodeStatus::running);
  CHECK(c.converged());
  c.set_status(at(0s), 1, NodeStatus::running);
  c.set_status(at(0s), 2, NodeStatus::running);
  CHECK(c.wrong_pairs() == 6);
  c.open_convergence(at(1s), "bootstrap");
  for (std::uint32_t i = 0; i < 3; ++i) {
    for (std::uint32_t j = 0; j < 3; ++j) {
      if (i != j) c.on_event(at(2s), i, j, MemberState::alive, true);
    }
  }
  CHECK(c.converged());
  REQUIRE(c.convergences().size() == 1);
  CHECK(*c.convergences()[0].done == at(2s));
  c.on_event(at(3s), 0, 1, MemberState::suspect, true);
  CHECK(c.converged());  // a suspect is still a member
  c.on_event(at(4s), 0, 1, MemberState::dead, true);
  CHECK_FALSE(c.converged());
  CHECK(c.disagreements(5).size() == 1);
}

TEST_CASE("a crash is measured from first suspicion to dead everywhere", "[sim][checker]") {
  Checker c(3);
  for (std::uint32_t i = 0; i < 3; ++i) c.set_status(at(0s), i, NodeStatus::running);
  for (std::uint32_t i = 0; i < 3; ++i) {
    for (std::uint32_t j = 0; j < 3; ++j) {
      if (i != j) c.on_event(at(0s), i, j, MemberState::alive, true);
    }
  }
  c.set_status(at(10s), 2, NodeStatus::crashed);
  CHECK(c.wrong_pairs() == 2);
  c.on_event(at(12s), 0, 2, MemberState::suspect, false);
  c.on_event(at(15s), 0, 2, MemberState::dead, false);
  CHECK_FALSE(c.converged());
  c.on_event(at(16s), 1, 2, MemberState::dead, false);
  CHECK(c.converged());
  REQUIRE(c.episodes().size() == 1);
  const auto& e = c.episodes()[0];
  CHECK(*e.first_suspect - e.crashed == 2s);
  CHECK(*e.first_dead - e.crashed == 5s);
  CHECK(*e.everywhere - e.crashed == 6s);
  CHECK(c.false_positives().empty());
}

TEST_CASE("a healthy node marked dead is one false positive, however far it spreads",
          "[sim][checker]") {
  Checker c(4);
  for (std::uint32_t i = 0; i < 4; ++i) c.set_status(at(0s), i, NodeStatus::running);
  c.on_event(at(5s), 0, 3, MemberState::dead, true);
  c.on_event(at(6s), 1, 3, MemberState::dead, true);
  c.on_event(at(7s), 2, 3, MemberState::dead, false);  // not healthy then: not counted
  REQUIRE(c.false_positives().size() == 1);
  CHECK(c.false_positives()[0].declarer == 0);
  CHECK(c.false_positives()[0].victim == 3);
  CHECK(c.false_dead_views() == 2);
}

TEST_CASE("a restarted node starts with an empty view", "[sim][checker]") {
  Checker c(2);
  c.set_status(at(0s), 0, NodeStatus::running);
  c.set_status(at(0s), 1, NodeStatus::running);
  c.on_event(at(1s), 0, 1, MemberState::alive, true);
  c.on_event(at(1s), 1, 0, MemberState::alive, true);
  CHECK(c.converged());
  c.set_status(at(2s), 1, NodeStatus::crashed);
  c.reset_view(1);
  c.set_status(at(2s), 1, NodeStatus::running);
  CHECK(c.wrong_pairs() == 1);  // 1 does not know 0 yet; 0 still has 1 alive
  REQUIRE(c.episodes().size() == 1);
  CHECK(c.episodes()[0].restarted_first);
}
