// LatencyHistogram (percentiles within its 12.5 % bucket width, bucket bounds, the cumulative
// Prometheus counts) and CommandStats (calls, failures, rejections, errors by code and their
// cap of 128, CONFIG RESETSTAT), and the INFO lines built from them.
#include "apiary/resp/command_stats.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "apiary/resp/command_table.hpp"

using apiary::resp::CommandStats;
using apiary::resp::LatencyHistogram;
using namespace std::chrono_literals;

namespace {

apiary::resp::Outcome no_handler(apiary::resp::CommandContext&) {
  return apiary::resp::Outcome::done();
}

}  // namespace

TEST_CASE("command_stats: latency histogram percentiles are within 12.5 % above the true value",
          "[unit][command_stats]") {
  LatencyHistogram h;
  CHECK(h.percentile_ns(50) == 0);  // empty
  // 1..10000 microseconds, one sample each: the p-th percentile is p * 100 microseconds.
  for (std::uint64_t us = 1; us <= 10000; ++us) h.record(us * 1000);
  CHECK(h.count() == 10000);
  CHECK(h.sum_ns() == 10000ULL * 10001 / 2 * 1000);
  for (double p : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 100.0}) {
    const double exact = p * 100 * 1000;
    const auto got = static_cast<double>(h.percentile_ns(p));
    INFO("p" << p << ": " << got << " ns, exact " << exact);
    CHECK(got >= exact);
    CHECK(got <= exact * 1.125);
  }
  // Out-of-range percentiles clamp to the ends.
  CHECK(h.percentile_ns(-5) == h.percentile_ns(0));
  CHECK(h.percentile_ns(150) == h.percentile_ns(100));
}

TEST_CASE(
    "command_stats: latency histogram buckets: small values exact, powers of two start a bucket",
    "[unit][command_stats]") {
  for (std::uint64_t v : {0ULL, 1ULL, 7ULL, 15ULL}) {
    LatencyHistogram h;
    h.record(v);
    CHECK(h.percentile_ns(100) == v);  // below 16 ns every value has its own bucket
  }
  for (int m = 5; m < 40; ++m) {
    const std::uint64_t p2 = std::uint64_t{1} << m;
    LatencyHistogram below, at;
    below.record(p2 - 1);
    at.record(p2);
    INFO("2^" << m);
    CHECK(below.percentile_ns(100) == p2 - 1);  // the last bucket below ends just under it
    CHECK(at.percentile_ns(100) >= p2);
    CHECK(at.percentile_ns(100) < p2 + p2 / 8);  // one eighth of the power of two wide
  }
  LatencyHistogram huge;  // past the last bucket: kept, in the last one
  huge.record(std::uint64_t{1} << 62);
  CHECK(huge.count() == 1);
  CHECK(huge.percentile_ns(100) > 0);
}

TEST_CASE("command_stats: latency histogram at_most counts exactly at Prometheus's bounds",
          "[unit][command_stats]") {
  LatencyHistogram h;
  h.record(50'000);             // 50 us: exactly the first bound (le is inclusive)
  h.record(50'001);             // just above it
  h.record(1'000'000);          // 1 ms
  h.record(20'000'000'000ULL);  // 20 s: above every bound
  CHECK(LatencyHistogram::kBoundsSeconds[0] == 0.00005);
  CHECK(h.at_most(0) == 1);
  CHECK(h.at_most(1) == 2);                                            // 100 us
  CHECK(h.at_most(3) == 2);                                            // 500 us
  CHECK(h.at_most(4) == 3);                                            // 1 ms
  CHECK(h.at_most(LatencyHistogram::kBoundsSeconds.size() - 1) == 3);  // 10 s
  CHECK(h.count() == 4);                                               // +Inf is the count
}

TEST_CASE(
    "command_stats: command stats count calls, failures and rejections per command, and reset",
    "[unit][command_stats]") {
  const auto set = apiary::resp::make_spec_for_test("set", -3, no_handler);
  const auto get = apiary::resp::make_spec_for_test("get", 2, no_handler);
  CommandStats stats;
  stats.call(set, 3us, false);
  stats.call(set, 5us, true);
  stats.call(get, 1us, false);
  stats.rejected(get);
  const auto sorted = stats.sorted();
  REQUIRE(sorted.size() == 2);
  CHECK(sorted[0].first == "get");
  CHECK(sorted[0].second->calls == 1);
  CHECK(sorted[0].second->rejected_calls == 1);
  CHECK(sorted[1].first == "set");
  CHECK(sorted[1].second->calls == 2);
  CHECK(sorted[1].second->failed_calls == 1);
  CHECK(sorted[1].second->total_ns == 8000);
  REQUIRE(sorted[1].second->latency != nullptr);
  CHECK(sorted[1].second->latency->count() == 2);

  std::string info;
  apiary::resp::append_commandstats(info, stats);
  CHECK(info ==
        "cmdstat_get:calls=1,usec=1,usec_per_call=1.00,rejected_calls=1,failed_calls=0\r\n"
        "cmdstat_set:calls=2,usec=8,usec_per_call=4.00,rejected_calls=0,failed_calls=1\r\n");

  stats.set_latency_tracking(false);  // commandstats still count, histograms do not grow
  stats.call(set, 1us, false);
  CHECK(stats.sorted()[1].second->calls == 3);
  CHECK(stats.sorted()[1].second->latency->count() == 2);

  stats.reset();
  CHECK(stats.sorted().empty());
  CHECK(stats.errors().empty());
}

TEST_CASE("command_stats: command stats count errors by their code, at most 128 codes",
          "[unit][command_stats]") {
  CommandStats stats;
  stats.error("-ERR syntax error\r\n");
  stats.error("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
  stats.error("-ERR value is not an integer or out of range\r\n");
  stats.error("NOSCRIPT No matching script");  // without the leading '-'
  CHECK(stats.errors().at("ERR") == 2);
  CHECK(stats.errors().at("WRONGTYPE") == 1);
  CHECK(stats.errors().at("NOSCRIPT") == 1);

  std::string info;
  apiary::resp::append_errorstats(info, stats);
  CHECK(info ==
        "errorstat_ERR:count=2\r\nerrorstat_NOSCRIPT:count=1\r\nerrorstat_WRONGTYPE:count=1\r\n");

  for (int i = 0; i < 200; ++i) stats.error("-CODE" + std::to_string(i) + " text\r\n");
  CHECK(stats.errors().size() == 128);
  CHECK(stats.errors_untracked() == 200 - (128 - 3));
  stats.error("-ERR again\r\n");  // a tracked code still counts
  CHECK(stats.errors().at("ERR") == 3);

  stats.reset();
  CHECK(stats.errors().empty());
  CHECK(stats.errors_untracked() == 0);
}

TEST_CASE("command_stats: latencystats lines show the configured percentiles",
          "[unit][command_stats]") {
  const auto get = apiary::resp::make_spec_for_test("get", 2, no_handler);
  CommandStats stats;
  for (int i = 0; i < 100; ++i) stats.call(get, 1us, false);
  std::string info;
  apiary::resp::append_latencystats(info, stats, {50.0, 99.0, 99.9});
  CHECK(info.rfind("latency_percentiles_usec_get:p50=", 0) == 0);
  CHECK(info.find(",p99=") != std::string::npos);
  CHECK(info.find(",p99.9=") != std::string::npos);
  CHECK(info.ends_with("\r\n"));
}
