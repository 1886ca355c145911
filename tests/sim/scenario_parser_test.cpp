// The scenario format users write by hand: every documented line parses, and mistakes are
// reported with their line number instead of being silently ignored.
#include <catch2/catch.hpp>

#include "apiary/sim/scenario.hpp"

using namespace apiary;
using namespace apiary::sim;
using namespace std::chrono_literals;

TEST_CASE("the documented scenario lines parse", "[sim][scenario]") {
  const char* text = R"(# a schedule
loss 0.01
skew 0.001
at 5s join 10
at 10s pause 3 for 2s
at 30s crash 5
at 31s crash random 3
at 60s partition 0-49 | 50-99
at 61s partition 0-9 -> 10-99 for 20s
at 62s partition 7 | rest
at 90s heal
at 100s restart 5,6,8-9
at 1500ms latency 1..20ms
at 2m jitter 5ms
at 50s leave 7   # trailing comment
)";
  auto sc = parse_scenario(text);
  REQUIRE(sc.ok());
  CHECK(sc->has_skew);
  CHECK(sc->clock_skew == Approx(0.001));
  REQUIRE(sc->actions.size() == 13);
  CHECK(sc->actions[0].kind == ActionKind::set_loss);
  CHECK(sc->actions[0].at == 0s);
  CHECK(sc->actions[1].kind == ActionKind::join);
  CHECK(sc->actions[1].count == 10);
  CHECK(sc->actions[2].kind == ActionKind::pause);
  CHECK(sc->actions[2].length == 2s);
  CHECK(sc->actions[2].targets.nodes == std::vector<std::uint32_t>{3});
  CHECK(sc->actions[4].targets.random_count == 3);
  const auto& sym = sc->actions[5].rule;
  CHECK_FALSE(sym.one_way);
  CHECK(sym.side_a.size() == 50);
  CHECK(sym.side_b.front() == 50);
  CHECK(sc->actions[6].rule.one_way);
  CHECK(sc->actions[6].length == 20s);
  CHECK(sc->actions[7].rule.b_is_rest);
  CHECK(sc->actions[9].targets.nodes == std::vector<std::uint32_t>{5, 6, 8, 9});
  CHECK(sc->actions[10].at == 1500ms);
  CHECK(sc->actions[10].lo == 1ms);
  CHECK(sc->actions[10].hi == 20ms);
  CHECK(sc->actions[11].at == 120s);
  CHECK(sc->actions[12].kind == ActionKind::leave);
}

TEST_CASE("scenario mistakes name the line", "[sim][scenario]") {
  for (const char* text :
       {"at 5s explode 3", "at soon crash 3", "at 5s pause 3", "at 5s crash 9-2", "loss 1.5",
        "at 5s skew 0.1", "at 1s partition 0-4 5-9", "at 1s latency 5"}) {
    const std::string with_line = std::string("# ok\n") + text + "\n";
    auto sc = parse_scenario(with_line);
    INFO(text);
    REQUIRE_FALSE(sc.ok());
    CHECK(sc.status().code() == StatusCode::invalid_argument);
    CHECK(sc.status().message().find("line 2") != std::string::npos);
  }
}

TEST_CASE("durations and node sets", "[sim][scenario]") {
  CHECK(*parse_duration("250ms") == 250ms);
  CHECK(*parse_duration("1.5s") == 1500ms);
  CHECK(*parse_duration("3") == 3s);
  CHECK(*parse_duration("2m") == 120s);
  CHECK_FALSE(parse_duration("-1s").ok());
  CHECK(*parse_node_set("1,3-5") == std::vector<std::uint32_t>{1, 3, 4, 5});
  CHECK_FALSE(parse_node_set("").ok());
  CHECK_FALSE(parse_node_set("a-b").ok());
  CHECK_FALSE(parse_node_set("0-99999999").ok());
}

TEST_CASE("a workload line turns the data mode on with its settings", "[sim][scenario]") {
  const auto sc = parse_scenario(
      "workload keys=500 read-ratio=0.9 clients=16 replicas=2 write-quorum=1 read-quorum=2 "
      "partitions=64 sets=3 hashes=0 hash-counters=4 collection-ratio=0.3 lists=5 "
      "blocking-ratio=0.25\nat 5s join 1\n");
  REQUIRE(sc.ok());
  REQUIRE(sc->workload.has_value());
  CHECK(sc->workload->enabled);
  CHECK(sc->workload->keys == 500);
  CHECK(sc->workload->read_ratio == Approx(0.9));
  CHECK(sc->workload->clients == 16);
  CHECK(sc->workload->replicas == 2);
  CHECK(sc->workload->write_quorum == 1);
  CHECK(sc->workload->read_quorum == 2);
  CHECK(sc->workload->partitions == 64);
  CHECK(sc->workload->sets == 3);
  CHECK(sc->workload->hashes == 0);
  CHECK(sc->workload->hash_counters == 4);
  CHECK(sc->workload->collection_ratio == Approx(0.3));
  CHECK(sc->workload->lists == 5);
  CHECK(sc->workload->blocking_ratio == Approx(0.25));
  CHECK_FALSE(parse_scenario("workload blocking-ratio=2").ok());
  CHECK_FALSE(parse_scenario("at 5s workload keys=5").ok());
  CHECK_FALSE(parse_scenario("workload keys").ok());
  CHECK_FALSE(parse_scenario("workload colour=blue").ok());
  CHECK_FALSE(parse_scenario("").value().workload.has_value());
}
