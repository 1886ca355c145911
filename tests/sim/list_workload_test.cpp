// Lists and blocking pops in the simulator's data workload: the list keys used as queues by
// the clients (pushes, pops, BLPOP/BRPOP, LRANGE) on the real nodes, judged by check_lists.
// What a user of a job queue would notice: an acknowledged job lost, a job handed to two
// workers in a quiet cluster, a job that nobody pushed, a worker blocked forever or woken
// with nothing before its timeout.
#include <catch2/catch.hpp>

#ifdef APIARY_SIM_HAS_DATA

#include "apiary/sim/list_checks.hpp"
#include "apiary/sim/run.hpp"

using namespace apiary;
using namespace apiary::sim;
using namespace std::chrono_literals;

namespace {

RunOptions list_run(std::uint64_t seed) {
  RunOptions o;
  o.nodes = 6;
  o.duration_s = 30;
  o.seed = seed;
  o.settle_s = 15;
  o.workload.enabled = true;
  o.workload.clients = 6;
  o.workload.collection_ratio = 0.5;
  return o;
}

void require_lists_clean(const RunReport& r) {
  for (const auto& f : r.failures) UNSCOPED_INFO(f);
  UNSCOPED_INFO(summary(r));
  REQUIRE(r.workload);
  CHECK(r.failures.empty());
  CHECK(r.settled);
  const ListReport& l = r.data.lists;
  CHECK(l.keys == 2);
  CHECK(l.unread == 0);
  CHECK(r.data.pushes > 100);
  CHECK(r.data.pops > 50);
  CHECK(l.pushed_acked > 100);
  CHECK(l.popped > 100);
  CHECK(l.blocked > 50);
  CHECK(l.blocked_served > 10);  // woken by a push, or served at once
  CHECK(l.lost == 0);
  CHECK(l.popped_present == 0);
  CHECK(l.phantoms == 0);
  CHECK(l.duplicates == 0);
  CHECK(l.double_pops == 0);
  CHECK(l.divergent_keys == 0);
  CHECK(l.blocked_early == 0);
  CHECK(l.blocked_unanswered == 0);
  CHECK(l.blocked_errors == 0);
  CHECK(r.data.converged_keys == r.data.keys);
}

}  // namespace

TEST_CASE("lists in a quiet cluster: every pushed element popped once or still there",
          "[sim][data][lists]") {
  for (std::uint64_t seed : {21u, 22u}) {
    auto o = list_run(seed);
    o.workload.read_quorum = seed % 2 == 0 ? 2 : 1;
    const auto r = run_simulation(o);
    REQUIRE(r.ok());
    INFO(replay_command(o));
    require_lists_clean(*r);
    const ListReport& l = r->data.lists;
    // No fault: one coordinator per key, every command answered, nothing ambiguous.
    CHECK(l.double_pops_unstable == 0);
    CHECK(l.missing == 0);
    CHECK(l.pops_ambiguous == 0);
    CHECK(l.pushed_ambiguous == 0);
    CHECK(l.blocked_excused == 0);
    CHECK(l.blocked_errors_unstable == 0);
    CHECK(l.blocked == l.blocked_served + l.blocked_timed_out);
    CHECK(l.blocked_timed_out > 0);  // nothing came in time (the lists are rarely empty long)
    CHECK(l.reads == 2 * 6);  // both keys through every node
  }
}

TEST_CASE("lists under a crash, a pause and a partition: nothing lost, unpushed or unanswered",
          "[sim][data][lists]") {
  for (std::uint64_t seed : {23u, 24u}) {
    auto o = list_run(seed);
    o.duration_s = 40;
    o.crash = 1;
    o.pause = 1;
    if (seed == 24) o.partition = "0-2|3-5";
    const auto r = run_simulation(o);
    REQUIRE(r.ok());
    INFO(replay_command(o));
    require_lists_clean(*r);
  }
}

// The checker on hand-made histories: each check fails when it should.
namespace {

TimePoint at(int ms) { return TimePoint{} + std::chrono::milliseconds(ms); }

ListCommand push(std::uint64_t id, std::vector<std::string> elements, int from, int to,
                 bool acked = true) {
  ListCommand c;
  c.kind = ListCommand::Kind::push;
  c.id = id;
  c.key = "l0";
  c.invoked = at(from);
  c.returned = at(to);
  c.answer = acked ? ListCommand::Answer::values : ListCommand::Answer::none;
  c.elements = std::move(elements);
  return c;
}

ListCommand pop(std::uint64_t id, std::vector<std::string> got, int from, int to) {
  ListCommand c = push(id, std::move(got), from, to);
  c.kind = ListCommand::Kind::pop;
  if (c.elements.empty()) c.answer = ListCommand::Answer::null;
  return c;
}

ListCommand blocking(std::uint64_t id, int timeout_ms, ListCommand::Answer answer, int from, int to,
                     std::string got = {}) {
  ListCommand c = push(id, {}, from, to);
  c.kind = ListCommand::Kind::blocking_pop;
  c.timeout = std::chrono::milliseconds(timeout_ms);
  c.answer = answer;
  if (!got.empty()) c.elements = {std::move(got)};
  return c;
}

ListRead final_read(std::vector<std::string> elements, std::uint32_t node = 0) {
  return ListRead{99, "l0", node, at(10000), at(10010), std::move(elements)};
}

}  // namespace

TEST_CASE("the list checker: acknowledged pushes are popped or still there", "[sim][data][lists]") {
  const std::vector<ListCommand> h = {push(1, {"a", "b"}, 0, 10), push(2, {"c"}, 5, 15),
                                      pop(3, {"a"}, 20, 30)};
  CHECK_FALSE(check_lists(h, {final_read({"b", "c"})}).failed(true));
  const auto lost = check_lists(h, {final_read({"b"})});
  CHECK(lost.lost == 1);
  CHECK(lost.failed(true));
  CHECK_FALSE(lost.failed(false));  // not settled: nothing claimed about losses
  // A pop without an answer may have taken it.
  auto h2 = h;
  h2.push_back(pop(4, {}, 40, 0));
  h2.back().answer = ListCommand::Answer::none;
  const auto excused = check_lists(h2, {final_read({"b"})});
  CHECK(excused.missing == 1);
  CHECK(excused.lost == 0);
  // ... but only as many as its count.
  CHECK(check_lists(h2, {final_read({})}).lost == 1);
  // An unacknowledged push may be missing.
  CHECK_FALSE(check_lists({push(1, {"a"}, 0, 10, false)}, {final_read({})}).failed(true));
  // A popped element must be gone.
  CHECK(check_lists(h, {final_read({"a", "b", "c"})}).popped_present == 1);
}

TEST_CASE("the list checker: phantoms, duplicates, double pops, divergence", "[sim][data][lists]") {
  const std::vector<ListCommand> h = {push(1, {"a"}, 0, 10), push(2, {"b"}, 5, 15)};
  CHECK(check_lists(h, {final_read({"a", "b", "z"})}).phantoms == 1);
  auto early = h;
  early.push_back(pop(3, {"b"}, 1, 3));  // returned before b's push was sent
  CHECK(check_lists(early, {final_read({"a"})}).phantoms == 1);
  CHECK(check_lists(h, {final_read({"a", "b", "a"})}).duplicates == 1);
  CHECK(check_lists(h, {final_read({"a", "b"}, 0), final_read({"b", "a"}, 1)}).divergent_keys == 1);

  auto twice = h;
  twice.push_back(pop(3, {"a"}, 20, 30));
  twice.push_back(pop(4, {"a"}, 25, 35));
  const auto stable = check_lists(twice, {final_read({"b"})});
  CHECK(stable.double_pops == 1);
  CHECK(stable.failed(false));
  ListCheckRules near_fault;
  near_fault.stable = [](const ListCommand& c) { return c.id != 4; };
  const auto unstable = check_lists(twice, {final_read({"b"})}, near_fault);
  CHECK(unstable.double_pops == 0);
  CHECK(unstable.double_pops_unstable == 1);
  CHECK_FALSE(unstable.failed(true));
}

TEST_CASE("the list checker: a blocking pop is served or times out, in time",
          "[sim][data][lists]") {
  using A = ListCommand::Answer;
  const ListCommand a = push(1, {"a"}, 0, 10);
  SECTION("served and timed out") {
    const auto r =
        check_lists({a, blocking(2, 100, A::values, 5, 12, "a"), blocking(3, 100, A::null, 5, 106)},
                    {final_read({})});
    CHECK_FALSE(r.failed(true));
    CHECK(r.blocked == 2);
    CHECK(r.blocked_served == 1);
    CHECK(r.blocked_timed_out == 1);
    CHECK(r.popped == 1);
  }
  SECTION("a null before the timeout") {
    CHECK(check_lists({blocking(2, 100, A::null, 0, 50)}, {}).blocked_early == 1);
  }
  SECTION("no answer, or one after the timeout + the bound") {
    const auto none = check_lists({blocking(2, 100, A::none, 0, 0)}, {});
    CHECK(none.blocked_unanswered == 1);
    CHECK(none.failed(false));
    CHECK(check_lists({blocking(2, 100, A::null, 0, 5200)}, {}).blocked_unanswered == 1);
    ListCheckRules crashed;
    crashed.excused = [](const ListCommand&) { return true; };
    const auto excused = check_lists({blocking(2, 100, A::none, 0, 0)}, {}, crashed);
    CHECK(excused.blocked_unanswered == 0);
    CHECK(excused.blocked_excused == 1);
  }
  SECTION("a null the requester answered may hide a served pop") {
    // 100 ms timeout, null after 3.1 s: the coordinator went silent and may have popped a.
    const auto r = check_lists({a, blocking(2, 100, A::null, 20, 3120)}, {final_read({})});
    CHECK(r.pops_ambiguous == 1);
    CHECK(r.lost == 0);
  }
  SECTION("an error in a quiet cluster") {
    CHECK(check_lists({blocking(2, 100, A::error, 0, 50)}, {}).blocked_errors == 1);
  }
}

#endif  // APIARY_SIM_HAS_DATA
