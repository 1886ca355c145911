// deploy/: the Prometheus alert rules and scrape configuration load in Prometheus (promtool,
// when Debian's prometheus package is installed), the rules' unit tests pass, and every metric
// the rules and the Grafana dashboard query is one a running node exports.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "integration/support/daemon.hpp"
#include "integration/support/metrics.hpp"

using namespace apiary::test;
namespace fs = std::filesystem;

namespace {

const fs::path kDeploy = fs::path(APIARY_SOURCE_DIR) / "deploy";

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The apiary_* metric names `text` mentions.
std::set<std::string> metric_names_in(const std::string& text) {
  static const std::regex name(R"(\bapiary_[a-z0-9_]+)");
  std::set<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), name); it != std::sregex_iterator();
       ++it) {
    out.insert(it->str());
  }
  return out;
}

// The "expr" strings of the Grafana dashboard (one per query of every panel).
std::vector<std::string> dashboard_exprs(const std::string& json) {
  static const std::regex expr(R"re("expr":\s*"((?:[^"\\]|\\.)*)")re");
  std::vector<std::string> out;
  for (auto it = std::sregex_iterator(json.begin(), json.end(), expr); it != std::sregex_iterator();
       ++it) {
    out.push_back((*it)[1]);
  }
  return out;
}

}  // namespace

TEST_CASE("promtool loads the metrics alert rules and the scrape configuration",
          "[integration][metrics][deploy]") {
  if (!promtool_available()) {
    WARN("SKIPPED: promtool is not installed (Debian's prometheus package; scripts/setup)");
    return;
  }
  const std::string dir = kDeploy.string() + "/prometheus";
  {
    const auto [status, out] = run("promtool check rules " + dir + "/apiary-rules.yml");
    INFO(out);
    CHECK(status == 0);
  }
  {
    // The configuration names the rule file relative to itself.
    const auto [status, out] = run("cd " + dir + " && promtool check config prometheus.yml");
    INFO(out);
    CHECK(status == 0);
  }
  {
    const auto [status, out] = run("cd " + dir + " && promtool test rules apiary-rules.test.yml");
    INFO(out);
    CHECK(status == 0);
  }
}

TEST_CASE("the rules and the Grafana dashboard query only metrics a node exports",
          "[integration][metrics][deploy]") {
  const fs::path dashboard = kDeploy / "grafana/apiary-dashboard.json";
  {
    const auto [status, out] = run("python3 -m json.tool " + dashboard.string() + " > /dev/null");
    INFO(out);
    REQUIRE(status == 0);
  }
  const std::string json = read_file(dashboard);
  const auto exprs = dashboard_exprs(json);
  REQUIRE(exprs.size() >= 10);

  // A node with a data directory (the persistence metrics) that ran commands and answered an
  // error, so that the per-command histograms and the error counts have samples.
  const auto dir = scratch_dir() / "deploy-node";
  fs::create_directories(dir);
  Daemon node("deploy", {"--dir", dir.string(), "--appendonly", "yes"});
  run("redis-cli -h 127.0.0.1 -p " + node.redis_port() + " SET a 1");
  run("redis-cli -h 127.0.0.1 -p " + node.redis_port() + " GET a");
  run("redis-cli -h 127.0.0.1 -p " + node.redis_port() + " LPUSH a b");  // WRONGTYPE
  auto scrape = http_get(node.http(), "/metrics");
  REQUIRE(scrape);
  const std::set<std::string> exported = Metrics(*scrape).names();

  std::set<std::string> queried;
  for (const auto& e : exprs) {
    for (const auto& n : metric_names_in(e)) queried.insert(n);
  }
  for (const auto& n : metric_names_in(read_file(kDeploy / "prometheus/apiary-rules.yml"))) {
    queried.insert(n);
  }
  // The dashboard shows what the issue asks for.
  for (const char* wanted :
       {"apiary_commands_total", "apiary_commands_duration_seconds_bucket",
        "apiary_keyspace_hits_total", "apiary_memory_used_bytes", "apiary_db_keys",
        "apiary_cluster_members", "apiary_write_quorum_failures_total", "apiary_hints",
        "apiary_net_input_bytes_total", "apiary_gossip_messages_total"}) {
    INFO(wanted);
    CHECK(queried.count(wanted) == 1);
  }
  for (const auto& n : queried) {
    INFO("queried but not exported: " << n);
    CHECK(exported.count(n) == 1);
  }
}
