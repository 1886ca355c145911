// A node that was itself stalled (GC pause, CPU starvation) resumes with its timers overdue
// and its acks and refutations unread in its queue. With Lifeguard it notices, blames itself
// (local health) and reads its queue before it declares anyone dead; plain SWIM does not.
// Also: a member that hears an accusation of an incarnation it already refuted answers the
// sender, so a member that missed the refutation does not hold it dead.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "apiary/base/rng.hpp"
#include "apiary/wire/envelope.hpp"
#include "apiary/wire/msgpack_codec.hpp"
#include "support/swim_harness.hpp"

using namespace apiary;
using namespace apiary::gossip;
using apiary::test::SwimCluster;

namespace {

SwimCluster started(std::uint64_t seed, std::size_t n, bool lifeguard) {
  SwimConfig config;
  config.lifeguard = lifeguard;
  SwimCluster c(seed, std::move(config));
  c.add_cluster(n);
  REQUIRE(c.run_until([&] { return c.converged(c.size()); }, 30s));
  return c;
}

std::size_t dead_marks(const SwimCluster& c, std::size_t observer, std::size_t member) {
  std::size_t n = 0;
  for (const auto& e : c.events()) {
    n += e.kind == MemberEventKind::dead && e.observer == c.name(observer) &&
                 e.member == c.name(member)
             ? 1
             : 0;
  }
  return n;
}

// Node 0 suspects node 2, stalls for `stall` while node 2 refutes (the refutation waits in
// node 0's queue), then resumes. Returns how often node 0 declared node 2 dead.
std::size_t dead_marks_after_stall(bool lifeguard, bool timers_first, Duration stall) {
  auto c = started(31, 5, lifeguard);
  const std::size_t observer = 0;
  const std::size_t suspect = 2;
  c.isolate(suspect);
  REQUIRE(c.run_until(
      [&] {
        auto m = c.view(observer, suspect);
        return m && m->state == MemberState::suspect;
      },
      30s));
  c.pause(observer);
  c.unblock_all();
  // Everyone else hears the refutation; node 0's copy waits in its queue.
  REQUIRE(c.run_until(
      [&] {
        for (std::size_t i = 1; i < c.size(); ++i) {
          if (i == suspect) continue;
          auto m = c.view(i, suspect);
          if (!m || m->state != MemberState::alive || m->incarnation.value == 0) return false;
        }
        return true;
      },
      10s));
  c.run_for(stall);
  c.resume(observer, timers_first);
  c.run_for(5s);
  CHECK(c.view(observer, suspect)->state == MemberState::alive);
  return dead_marks(c, observer, suspect);
}

}  // namespace

TEST_CASE("a stalled node does not declare a member dead whose refutation waits in its queue",
          "[swim][lifeguard][stall]") {
  // 30 s is past both the 4 s plain and the 24 s Lifeguard suspicion timeout of 5 members.
  CHECK(dead_marks_after_stall(true, /*timers_first=*/true, 30s) == 0);
  CHECK(dead_marks_after_stall(true, /*timers_first=*/false, 30s) == 0);
}

TEST_CASE("plain SWIM expires the overdue suspicion first (the case Lifeguard fixes)",
          "[swim][stall]") {
  // Timers first: the suspicion expires before the queued refutation is read. The refutation
  // then brings the member back, but the dead mark has been reported.
  CHECK(dead_marks_after_stall(false, /*timers_first=*/true, 30s) == 1);
}

TEST_CASE("a stall worsens local health, scales the probe interval, and is counted",
          "[swim][lifeguard][stall]") {
  for (bool lifeguard : {true, false}) {
    auto c = started(32, 5, lifeguard);
    REQUIRE(c.swim(1).stats().local_health == 0);
    c.pause(1);
    c.run_for(3s);
    c.resume(1);
    if (lifeguard) {
      CHECK(c.swim(1).stats().stalls == 1);
      CHECK(c.swim(1).stats().local_health >= 3);  // one per probe interval stalled, at least
      const auto probes = c.swim(1).stats().probes;
      c.run_for(3s);
      CHECK(c.swim(1).stats().probes - probes <= 1);  // probing slowed down
      c.run_for(60s);
      CHECK(c.swim(1).stats().local_health == 0);  // successful probes heal it again
    } else {
      CHECK(c.swim(1).stats().stalls == 0);
      CHECK(c.swim(1).stats().local_health == 0);
    }
  }
}

TEST_CASE("a short scheduling delay is not a stall", "[swim][lifeguard][stall]") {
  auto c = started(33, 4, true);
  c.pause(1);
  c.run_for(100ms);  // below SwimConfig::stall_threshold (250 ms) past any deadline
  c.resume(1);
  c.run_for(10s);
  CHECK(c.swim(1).stats().stalls == 0);
  CHECK(c.swim(1).stats().local_health == 0);
}

TEST_CASE("a dead mark read from the queue after a stall waits for the refutation behind it",
          "[swim][lifeguard][stall]") {
  // Node 0 stalls; meanwhile node 3 is cut off long enough for the others to declare it dead,
  // then comes back and refutes. Node 0's queue holds "dead" and, later, the refutation.
  auto run = [](bool lifeguard) {
    auto c = started(34, 6, lifeguard);
    const std::size_t observer = 0;
    const std::size_t victim = 3;
    c.pause(observer);
    c.isolate(victim);
    c.block_both(victim, observer);
    REQUIRE(c.run_until([&] { return c.view(1, victim)->state == MemberState::dead; }, 60s));
    c.unblock_all();
    REQUIRE(c.run_until(
        [&] {
          for (std::size_t i = 1; i < c.size(); ++i) {
            if (i != victim && c.view(i, victim)->state != MemberState::alive) return false;
          }
          return true;
        },
        30s));
    c.resume(observer);
    c.run_for(5s);
    CHECK(c.view(observer, victim)->state == MemberState::alive);
    return dead_marks(c, observer, victim);
  };
  CHECK(run(true) == 0);
  CHECK(run(false) == 1);  // plain SWIM reports the stale dead mark, then the member back
}

TEST_CASE("a dead mark read after a stall still applies when nothing refutes it",
          "[swim][lifeguard][stall]") {
  auto c = started(35, 6, true);
  const std::size_t observer = 0;
  const std::size_t victim = 4;
  c.pause(observer);
  c.crash(victim);
  REQUIRE(c.run_until([&] { return c.view(1, victim)->state == MemberState::dead; }, 60s));
  c.resume(observer);
  // Read from the queue, applied a probe timeout later (not a whole suspicion timeout).
  c.run_for(1s);
  CHECK(c.view(observer, victim)->state == MemberState::dead);
}

namespace {

using Bytes = std::vector<std::uint8_t>;

// A gossip message from "mallory" carrying one accusation.
Bytes accusation(MemberState kind, const std::string& name, std::uint64_t incarnation) {
  Bytes payload;
  wire::VectorSink sink(payload);
  wire::Packer p(sink);
  p.pack_array(1);
  p.pack_array(1);
  p.pack_array(4);
  p.pack(static_cast<std::uint8_t>(kind));
  p.pack(name);
  p.pack(incarnation);
  p.pack(std::string("mallory"));
  return wire::encode_envelope({"apiary", wire::MessageType::gossip, "mallory", "mallory:1"},
                               payload);
}

}  // namespace

TEST_CASE("an accusation of an already refuted incarnation is answered with the current one",
          "[swim][dissemination]") {
  for (bool lifeguard : {true, false}) {
    SwimConfig config;
    config.lifeguard = lifeguard;
    Swim swim(config, LocalNode{"victim", "victim:7946", {}}, Rng(1), TimePoint{});
    swim.join(TimePoint{}, {});
    swim.update_meta(TimePoint{}, MemberMeta{"victim:6379", "", "", {}});  // incarnation 1
    REQUIRE(swim.incarnation().value == 1);
    while (swim.poll_send()) {
    }
    const TimePoint t{std::chrono::seconds(1)};
    swim.handle_message(t, accusation(MemberState::dead, "victim", 0));
    auto out = swim.poll_send();
    REQUIRE(out.has_value());
    CHECK(out->to == "mallory:1");
    CHECK(swim.incarnation().value == 1);  // no new refutation: the old one is resent
    CHECK(swim.stats().refutations == 0);
    CHECK_FALSE(swim.poll_send().has_value());
    // Rate-limited: a burst of stale accusations gets one answer per probe interval.
    swim.handle_message(t, accusation(MemberState::suspect, "victim", 0));
    CHECK_FALSE(swim.poll_send().has_value());
    // An accusation of the current incarnation is refuted as usual.
    swim.handle_message(t, accusation(MemberState::suspect, "victim", 1));
    CHECK(swim.incarnation().value == 2);
  }
}
