#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "apiary/base/hlc.hpp"
#include "apiary/base/host_port.hpp"
#include "apiary/base/ids.hpp"
#include "apiary/base/rng.hpp"
#include "apiary/base/status.hpp"
#include "apiary/base/time.hpp"

using namespace apiary;

TEST_CASE("Status and Result carry a code and a message", "[base]") {
  Status ok = Status::Ok();
  CHECK(ok.ok());
  CHECK(ok.to_string() == "ok");

  Status err = make_error(StatusCode::malformed, "truncated envelope");
  CHECK_FALSE(err.ok());
  CHECK(err.code() == StatusCode::malformed);
  CHECK(err.to_string() == "malformed: truncated envelope");

  Result<int> value = 7;
  REQUIRE(value.ok());
  CHECK(*value == 7);
  CHECK(value.status().ok());

  Result<std::string> failed = make_error(StatusCode::timeout, "no quorum");
  CHECK_FALSE(failed.ok());
  CHECK(failed.status().code() == StatusCode::timeout);
  CHECK(failed.status().message() == "no quorum");
}

TEST_CASE("TimePoint is its own type and does arithmetic with durations", "[base]") {
  static_assert(!std::is_convertible_v<std::chrono::steady_clock::time_point, TimePoint>);
  static_assert(!std::is_convertible_v<TimePoint, std::chrono::steady_clock::time_point>);
  TimePoint t0 = from_nanos(1000);
  TimePoint t1 = t0 + std::chrono::milliseconds(5);
  CHECK(to_nanos(t1) == 1000 + 5'000'000);
  CHECK(t1 - t0 == std::chrono::milliseconds(5));
  CHECK(kNever > t1);
}

TEST_CASE("Rng replays identically from a seed and splits into independent streams",
          "[base][rng]") {
  Rng a(42), b(42), c(43);
  std::vector<std::uint64_t> xs, ys, zs;
  for (int i = 0; i < 100; ++i) {
    xs.push_back(a.next());
    ys.push_back(b.next());
    zs.push_back(c.next());
  }
  CHECK(xs == ys);
  CHECK(xs != zs);

  // Known-answer check: xoshiro256** seeded by splitmix64(0) -- pins the algorithm so a seed
  // replays across standard libraries and versions of this code.
  Rng zero(0);
  const std::uint64_t first = zero.next();
  Rng zero_again(0);
  CHECK(zero_again.next() == first);
  CHECK(first == 0x99ec5f36cb75f2b4ULL);

  Rng parent(7);
  Rng child1 = parent.split();
  Rng child2 = parent.split();
  CHECK(child1.next() != child2.next());
}

TEST_CASE("Rng::uniform stays in range and is roughly uniform", "[base][rng]") {
  Rng rng(1);
  std::map<std::uint64_t, int> counts;
  for (int i = 0; i < 60000; ++i) {
    auto v = rng.uniform(6);
    REQUIRE(v < 6);
    counts[v]++;
  }
  REQUIRE(counts.size() == 6);
  for (auto& [v, n] : counts) {
    CHECK(n > 9000);
    CHECK(n < 11000);
  }
  for (int i = 0; i < 1000; ++i) {
    auto v = rng.uniform_between(-3, 3);
    REQUIRE(v >= -3);
    REQUIRE(v <= 3);
    double u = rng.unit();
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
  }
  CHECK(rng.uniform(1) == 0);
  CHECK_FALSE(rng.chance(0.0));
  CHECK(rng.chance(1.0));
}

TEST_CASE("Rng shuffle is a permutation and sample gives distinct indices", "[base][rng]") {
  Rng rng(99);
  std::vector<int> items(50);
  for (int i = 0; i < 50; ++i) items[i] = i;
  auto shuffled = items;
  rng.shuffle(shuffled);
  CHECK(shuffled != items);
  auto sorted = shuffled;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == items);

  for (std::size_t n : {1u, 5u, 100u, 10000u}) {
    for (std::size_t k : {0u, 1u, 3u, 5u, 200u}) {
      auto picked = rng.sample(n, k);
      CHECK(picked.size() == std::min(n, k));
      std::set<std::size_t> unique(picked.begin(), picked.end());
      CHECK(unique.size() == picked.size());
      for (auto i : picked) CHECK(i < n);
    }
  }
}

TEST_CASE("HLC is monotonic, tracks wall time and absorbs remote timestamps", "[base][hlc]") {
  HybridLogicalClock clock;
  auto t1 = clock.now(WallTime{1000});
  CHECK(t1.wall_ms() == 1000);
  CHECK(t1.logical() == 0);

  // Same millisecond: logical counter advances.
  auto t2 = clock.now(WallTime{1000});
  CHECK(t2 > t1);
  CHECK(t2.wall_ms() == 1000);
  CHECK(t2.logical() == 1);

  // Wall clock going backwards never makes the HLC go backwards.
  auto t3 = clock.now(WallTime{900});
  CHECK(t3 > t2);

  // A timestamp from a node whose clock is ahead pulls this clock forward.
  auto remote = HlcTimestamp::make(5000, 7);
  auto t4 = clock.update(WallTime{1001}, remote);
  CHECK(t4 > remote);
  CHECK(t4.wall_ms() == 5000);
  CHECK(t4.logical() == 8);

  // Once the local wall clock passes the remote one, physical time wins again.
  auto t5 = clock.now(WallTime{6000});
  CHECK(t5.wall_ms() == 6000);
  CHECK(t5.logical() == 0);

  // Logical overflow borrows the next millisecond instead of wrapping.
  HybridLogicalClock hot;
  HlcTimestamp prev = hot.update(WallTime{10}, HlcTimestamp::make(10, 0xfffe));
  for (int i = 0; i < 3; ++i) {
    auto next = hot.now(WallTime{10});
    CHECK(next > prev);
    prev = next;
  }
}

TEST_CASE("Strong ids compare and print", "[base]") {
  CHECK(NodeId{1} < NodeId{2});
  CHECK(Incarnation{3}.next() == Incarnation{4});
  CHECK(to_string(NodeId{0xabc}) == "0000000000000abc");
}

TEST_CASE("host:port parsing accepts addresses and names, rejects the rest", "[base]") {
  auto a = parse_host_port("127.0.0.1:7946");
  REQUIRE(a.ok());
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 7946);
  CHECK(a->to_string() == "127.0.0.1:7946");
  auto b = parse_host_port("node-3.example:0");
  REQUIRE(b.ok());
  CHECK(b->port == 0);
  for (const char* bad : {"", "nohost", ":80", "host:", "host:99999", "host:8o", "host:123456",
                          "host:-1"}) {
    INFO(bad);
    auto r = parse_host_port(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::invalid_argument);
  }
}
