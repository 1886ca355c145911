// GET /metrics of a real 3-node cluster under load: the figures a user would look at (command
// counts, members, keys, errors, histograms) and the format a Prometheus server accepts
// (promtool check metrics, when Debian's prometheus package is installed), in the text format
// and in OpenMetrics.
#include "integration/support/metrics.hpp"

#include <httplib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "integration/support/cluster.hpp"
#include "integration/support/daemon.hpp"

using namespace apiary::test;

namespace {

// Runs `commands` (one per line) through redis-cli on `d` in one connection; returns the
// replies.
std::string pipe_commands(const Daemon& d, const std::string& commands) {
  const auto file = scratch_dir() / ("commands-" + d.name() + ".txt");
  std::ofstream(file) << commands;
  return run("redis-cli -h 127.0.0.1 -p " + d.redis_port() + " < " + file.string()).second;
}

}  // namespace

TEST_CASE("a node under load exports its metrics in a format Prometheus accepts",
          "[integration][metrics]") {
  auto nodes = start_cluster("metrics", 3, {});
  constexpr int kPerNode = 40;
  for (const auto& n : nodes) {
    std::string commands;
    for (int i = 0; i < kPerNode; ++i) {
      const std::string key = "k:" + n->name() + ":" + std::to_string(i);
      commands += "SET " + key + " v" + std::to_string(i) + "\n";
      commands += "GET " + key + "\n";
      commands += "INCR counter:" + n->name() + "\n";
    }
    commands += "SET wrongtype:" + n->name() + " x\n";
    commands += "LPUSH wrongtype:" + n->name() + " y\n";  // WRONGTYPE
    commands += "NOSUCHCOMMAND a b\n";                    // ERR unknown command
    // An error code with a quote and a backslash: escaped in the err label.
    commands += "EVAL 'return redis.error_reply(\"MY\\\"ERR\\\\x boom\")' 0\n";
    const std::string replies = pipe_commands(*n, commands);
    REQUIRE(replies.find("WRONGTYPE") != std::string::npos);
  }

  const Daemon& node = *nodes.front();
  auto scrape = http_get(node.http(), "/metrics");
  REQUIRE(scrape);
  const Metrics m(*scrape);
  INFO(*scrape);

  // Commands sent through this node are counted here, whichever member owned the keys.
  CHECK(m.value("apiary_commands_total", {{"cmd", "set"}}) >= kPerNode + 1);
  CHECK(m.value("apiary_commands_total", {{"cmd", "get"}}) >= kPerNode);
  CHECK(m.value("apiary_commands_total", {{"cmd", "incr"}}) >= kPerNode);
  CHECK(m.value("apiary_commands_failed_calls_total", {{"cmd", "lpush"}}) >= 1);
  CHECK(m.value("apiary_errors_total", {{"err", "WRONGTYPE"}}) >= 1);
  CHECK(m.value("apiary_errors_total", {{"err", "ERR"}}) >= 1);
  CHECK(m.value("apiary_errors_total", {{"err", "MY\"ERR\\x"}}) == 1);
  CHECK(m.value("apiary_commands_processed_total") >= 3 * kPerNode);
  CHECK(m.value("apiary_keyspace_hits_total") >= 1);
  CHECK(m.value("apiary_connections_received_total") >= 1);
  CHECK(m.value("apiary_net_input_bytes_total") > 0);

  CHECK(m.value("apiary_cluster_members", {{"state", "alive"}}) == 3);
  CHECK(m.value("apiary_cluster_members", {{"state", "dead"}}) == 0);
  CHECK(m.value("apiary_db_keys", {{"db", "db0"}}) > 0);
  CHECK(m.value("apiary_memory_used_bytes") > 0);
  CHECK(m.value("apiary_partitions_owned") > 0);
  CHECK(m.value("apiary_gossip_messages_total", {{"direction", "received"}}) > 0);
  CHECK(m.value("apiary_node_info", {{"node", node.name()}}) == 1);

  // The per-command histogram: +Inf holds every sample, and buckets only grow.
  const double count = m.value("apiary_commands_duration_seconds_count", {{"cmd", "set"}});
  CHECK(count >= kPerNode + 1);
  CHECK(m.value("apiary_commands_duration_seconds_bucket", {{"cmd", "set"}, {"le", "+Inf"}}) ==
        count);
  CHECK(m.value("apiary_commands_duration_seconds_bucket", {{"cmd", "set"}, {"le", "0.001"}}) <=
        count);
  CHECK(m.value("apiary_commands_duration_seconds_sum", {{"cmd", "set"}}) > 0);
  // Keys of the other members were forwarded: the remote histogram has samples.
  CHECK(m.value("apiary_remote_command_duration_seconds_count") > 0);

  SECTION("promtool accepts the text format") {
    if (!promtool_available()) {
      WARN("SKIPPED: promtool is not installed (Debian's prometheus package; scripts/setup)");
      return;
    }
    const auto [status, out] = run_with_input("promtool check metrics", *scrape);
    INFO(out);
    CHECK(status == 0);
  }

  SECTION("OpenMetrics on Accept") {
    const auto colon = node.http().rfind(':');
    httplib::Client client(node.http().substr(0, colon), std::stoi(node.http().substr(colon + 1)));
    auto res = client.Get("/metrics", {{"Accept", "application/openmetrics-text; version=1.0.0"}});
    REQUIRE(res);
    REQUIRE(res->status == 200);
    CHECK(res->get_header_value("Content-Type").find("application/openmetrics-text") == 0);
    const std::string& body = res->body;
    REQUIRE(body.size() > 6);
    CHECK(body.substr(body.size() - 6) == "# EOF\n");
    // Counters: the family is named without _total, the sample with it.
    CHECK(body.find("# TYPE apiary_keyspace_hits counter\n") != std::string::npos);
    CHECK(body.find("\napiary_keyspace_hits_total ") != std::string::npos);
    CHECK(body.find("# TYPE apiary_node info\n") != std::string::npos);
    const Metrics om(body);
    CHECK(om.value("apiary_cluster_members", {{"state", "alive"}}) == 3);
    // The OpenMetrics parser of the Python client (Debian's python3-prometheus-client) is
    // strict: family names, _total, EOF, label escaping.
    if (run("/usr/bin/python3 -c 'import prometheus_client'").first != 0) {
      WARN("SKIPPED: python3-prometheus-client is not installed (scripts/setup)");
      return;
    }
    const auto [status, out] = run_with_input(
        "/usr/bin/python3 -c 'import sys; from prometheus_client.openmetrics.parser import "
        "text_string_to_metric_families as parse; print(len(list(parse(sys.stdin.read()))))'",
        body);
    INFO(out);
    CHECK(status == 0);
  }

  SECTION("latency-tracking off keeps the counts and drops the histograms") {
    cli(node, "CONFIG SET latency-tracking no");
    cli(node, "CONFIG RESETSTAT");
    pipe_commands(node, "SET after:reset 1\nGET after:reset\n");
    auto again = http_get(node.http(), "/metrics");
    REQUIRE(again);
    const Metrics off(*again);
    CHECK(off.value("apiary_latency_tracking_enabled") == 0);
    CHECK(off.value("apiary_commands_total", {{"cmd", "set"}}) == 1);
    CHECK_FALSE(off.has("apiary_commands_duration_seconds_count", {{"cmd", "set"}}));
  }
}
