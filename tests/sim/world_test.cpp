// The simulated world, driven by the small heartbeat protocol (so these tests do not depend on
// the SWIM core): event ordering, determinism, the network model, faults and the checkers.
#include "apiary/sim/world.hpp"

#include <catch2/catch.hpp>
#include <deque>

#include "apiary/sim/event_queue.hpp"
#include "apiary/sim/heartbeat_process.hpp"
#include "apiary/sim/network.hpp"
#include "apiary/sim/run.hpp"

using namespace apiary;
using namespace apiary::sim;
using namespace std::chrono_literals;

namespace {

RunOptions heartbeat_run(std::uint32_t nodes, double duration_s, std::uint64_t seed) {
  RunOptions o;
  o.protocol = ProtocolKind::heartbeat;
  o.nodes = nodes;
  o.duration_s = duration_s;
  o.seed = seed;
  o.settle_s = 15;
  return o;
}

// Records when it is called, in its own local time, and echoes every message back.
struct Recorder final : Process {
  std::vector<TimePoint>* timeouts;
  std::vector<TimePoint>* messages;
  TimePoint next;
  std::deque<gossip::Outgoing> out;
  std::string reply_to;
  Recorder(std::vector<TimePoint>* t, std::vector<TimePoint>* m, TimePoint now,
           std::string reply = "")
      : timeouts(t), messages(m), next(now + 1s), reply_to(std::move(reply)) {}
  void join(TimePoint, std::vector<std::string> seeds) override {
    for (auto& s : seeds) out.push_back({s, {1, 2, 3}});
  }
  void leave(TimePoint) override {}
  bool leave_done() const override { return true; }
  void handle_message(TimePoint now, std::span<const std::uint8_t>) override {
    messages->push_back(now);
    if (!reply_to.empty()) out.push_back({reply_to, {4}});
  }
  void handle_timeout(TimePoint now) override {
    timeouts->push_back(now);
    next = now + 1s;
  }
  TimePoint next_deadline() const override { return next; }
  std::optional<gossip::Outgoing> poll_send() override {
    if (out.empty()) return std::nullopt;
    auto o = std::move(out.front());
    out.pop_front();
    return o;
  }
  std::optional<gossip::MemberEvent> poll_event() override { return std::nullopt; }
  std::vector<gossip::Member> members() const override { return {}; }
};

}  // namespace

TEST_CASE("events at the same time run in scheduling order", "[sim][world]") {
  EventQueue q;
  q.push(TimePoint{} + 5ms, EventKind::timer, 1);
  q.push(TimePoint{} + 1ms, EventKind::timer, 2);
  q.push(TimePoint{} + 5ms, EventKind::timer, 3);
  q.push(TimePoint{} + 5ms, EventKind::timer, 4);
  std::vector<std::uint32_t> order;
  while (!q.empty()) order.push_back(q.pop().a);
  CHECK(order == std::vector<std::uint32_t>{2, 1, 3, 4});
}

TEST_CASE("the same seed replays the same trace, another seed does not", "[sim][world]") {
  auto o = heartbeat_run(20, 30, 7);
  o.crash = 2;
  o.network.loss = 0.02;
  o.network.duplicate = 0.01;
  const auto a = run_simulation(o);
  const auto b = run_simulation(o);
  o.seed = 8;
  const auto c = run_simulation(o);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(c.ok());
  CHECK(a->trace_hash == b->trace_hash);
  CHECK(a->events == b->events);
  CHECK(a->trace_hash != c->trace_hash);
}

TEST_CASE("crashed nodes end up dead in every live view", "[sim][world]") {
  auto o = heartbeat_run(25, 40, 3);
  o.crash = 3;
  o.network.loss = 0.01;
  const auto r = run_simulation(o);
  REQUIRE(r.ok());
  CHECK(r->bootstrap_converged);
  CHECK(r->crashes == 3);
  CHECK(r->crashes_detected == 3);
  // The heartbeat protocol declares a peer dead after 4s of silence.
  CHECK(r->first_dead_s.max >= 4.0);
  CHECK(r->converged);
  CHECK(r->failures.empty());
}

TEST_CASE("a partition splits the views and healing it reconverges", "[sim][world]") {
  auto o = heartbeat_run(20, 60, 5);
  o.scenario_text = "at 5s partition 0-9 | 10-19\nat 20s heal\n";
  const auto r = run_simulation(o);
  REQUIRE(r.ok());
  bool saw_heal = false;
  for (const auto& c : r->convergence) {
    if (c.label != "heal") continue;
    saw_heal = true;
    CHECK(c.seconds > 0);  // the sides had declared each other dead
  }
  CHECK(saw_heal);
  CHECK(r->converged);
  CHECK(r->false_positives == 0);  // deaths across an active partition are not false
}

TEST_CASE("a checker failure names the seed's replay command", "[sim][world]") {
  auto o = heartbeat_run(10, 30, 11);
  // A one-way partition that never heals: views cannot converge.
  o.scenario_text = "at 1s partition 0 -> rest\n";
  o.settle_s = 5;
  const auto r = run_simulation(o);
  REQUIRE(r.ok());
  CHECK_FALSE(r->converged);
  CHECK_FALSE(r->settled);  // a partition is still active, so it is not judged
  CHECK(replay_command(o).find("--seed 11") != std::string::npos);
}

TEST_CASE("the network drops, duplicates and delays as configured", "[sim][network]") {
  NetworkConfig cfg;
  cfg.latency_min = 2ms;
  cfg.latency_max = 8ms;
  cfg.jitter = 1ms;
  cfg.loss = 0.1;
  cfg.duplicate = 0.05;
  Network net(cfg, 42, 10);
  Rng rng(1);
  std::vector<Duration> delays;
  int lost = 0, dup = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    net.sample(1, 2, rng, delays);
    if (delays.empty()) ++lost;
    if (delays.size() == 2) ++dup;
    for (auto d : delays) {
      CHECK(d >= net.base_latency(1, 2));
      CHECK(d <= net.base_latency(1, 2) + 1ms);
    }
  }
  CHECK(lost == Approx(0.1 * n).epsilon(0.1));
  CHECK(dup == Approx(0.9 * 0.05 * n).epsilon(0.15));
  CHECK(net.base_latency(1, 2) == net.base_latency(2, 1));
  CHECK(net.base_latency(1, 2) >= 2ms);
  CHECK(net.base_latency(1, 2) <= 8ms);

  PartitionRule one_way{{0, 1}, {5}, false, true};
  const auto id = net.add_partition(one_way);
  CHECK(net.blocked(0, 5));
  CHECK_FALSE(net.blocked(5, 0));
  CHECK_FALSE(net.blocked(0, 6));
  net.heal(id);
  CHECK_FALSE(net.blocked(0, 5));
  net.add_partition(PartitionRule{{3}, {}, true, false});
  CHECK(net.blocked(3, 9));
  CHECK(net.blocked(9, 3));
  CHECK_FALSE(net.blocked(8, 9));
}

TEST_CASE("a paused node queues messages and runs late timers on resume and skewed clocks",
          "[sim][world]") {
  std::vector<TimePoint> timeouts1, messages1;
  WorldConfig cfg;
  cfg.initial_nodes = 2;
  cfg.clock_skew = 0.0;
  cfg.network.latency_min = cfg.network.latency_max = 10ms;
  cfg.network.jitter = 0ms;
  std::vector<TimePoint> ignored_t, ignored_m;
  World world(cfg, [&](const ProcessSpec& spec, Rng, TimePoint now) {
    if (spec.index == 1) return std::make_unique<Recorder>(&timeouts1, &messages1, now);
    return std::make_unique<Recorder>(&ignored_t, &ignored_m, now, "n1:7946");
  });
  Action pause;
  pause.kind = ActionKind::pause;
  pause.at = 0ms;
  pause.length = 3500ms;
  pause.targets.nodes = {1};
  world.schedule(pause);
  world.run_until(TimePoint{} + 10s);
  // Node 1 joins node 0 at t=0 and is paused right after: node 0's reply (due at 20ms)
  // waits in its inbox until the resume.
  REQUIRE(messages1.size() == 1);
  CHECK(messages1[0] == TimePoint{} + 3500ms);
  CHECK(ignored_m.size() == 1);
  REQUIRE_FALSE(timeouts1.empty());
  CHECK(timeouts1.front() == TimePoint{} + 3500ms);  // due at 1s, run at resume
  for (std::size_t i = 1; i < timeouts1.size(); ++i) {
    CHECK(timeouts1[i] - timeouts1[i - 1] == 1s);
  }

  std::vector<TimePoint> skew_t, skew_m;
  WorldConfig skewed;
  skewed.initial_nodes = 1;
  skewed.clock_skew = 0.2;
  skewed.seed = 3;
  World w2(skewed, [&](const ProcessSpec&, Rng, TimePoint now) {
    return std::make_unique<Recorder>(&skew_t, &skew_m, now);
  });
  w2.run_until(TimePoint{} + 20s);
  REQUIRE(skew_t.size() >= 10);
  // Timers fire exactly at the node's local deadline even though its clock runs fast or slow.
  for (std::size_t i = 1; i < skew_t.size(); ++i) CHECK(skew_t[i] - skew_t[i - 1] == 1s);
  const double rate =
      std::chrono::duration<double>(w2.local_time(0, TimePoint{} + 10s) - TimePoint{}).count() /
      10.0;
  CHECK(rate != Approx(1.0));
  CHECK(rate == Approx(1.0).margin(0.2));
}
