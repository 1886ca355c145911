// The admin port's web dashboard (GET /) in a real browser: three apiaryd processes under a
// light load, the system's headless Chromium driven by playwright-core
// (tests/integration/clients/dashboard/dashboard_check.mjs). The page shows the members alive
// and a live operations/s figure; after a kill -9 of one member the same page load shows it
// suspect, then dead. Screenshots land in the build directory (dashboard_test/). The test
// installs playwright-core into a scratch directory itself; it is skipped, saying so, only
// when node/npm or Chromium is absent.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "integration/support/cluster.hpp"

using namespace apiary::test;
namespace fs = std::filesystem;

namespace {

constexpr const char* kChromium = "/usr/bin/chromium";

// A background process killed (and reaped) when the test leaves, even through a REQUIRE.
struct Background {
  pid_t pid = -1;
  Background(const std::vector<std::string>& args, const fs::path& log)
      : pid(spawn_logged(args, log)) {}
  ~Background() {
    if (pid <= 0) return;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
};

std::string command_path(const std::string& name) {
  auto [status, out] = run("command -v " + name);
  if (status != 0) return "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("the dashboard shows the cluster live and a killed member turn suspect, then dead",
          "[integration][dashboard]") {
  auto nodes = start_cluster("dash", 3, {});
  REQUIRE(eventually(20s, [&] { return settled(nodes); }));

  // The endpoints the page polls, as a browser would get them.
  auto page = http_get(nodes[0]->http(), "/");
  REQUIRE(page);
  CHECK(page->find("<title>Apiary dashboard</title>") != std::string::npos);
  CHECK(http_get(nodes[0]->http(), "/dashboard/dashboard.js"));
  CHECK(http_get(nodes[0]->http(), "/dashboard/dashboard.css"));
  CHECK_FALSE(http_get(nodes[0]->http(), "/dashboard/missing.js"));
  auto own = http_get(nodes[1]->http(), "/v1/stats");
  REQUIRE(own);
  CHECK(own->find("\"name\":\"dash2\"") != std::string::npos);
  CHECK(own->find("\"slowlog\":[") != std::string::npos);
  CHECK(own->find("\"partitions_owned\":1024") != std::string::npos);  // 3 replicas, 3 nodes
  auto cluster = http_get(nodes[0]->http(), "/v1/cluster/stats");
  REQUIRE(cluster);
  INFO(*cluster);
  CHECK(count_of(*cluster, "\"uptime_ms\":") == 3);
  CHECK(cluster->find("\"unreachable\":[]") != std::string::npos);

  const std::string node = command_path("node");
  if (node.empty() || command_path("npm").empty() || !fs::exists(kChromium)) {
    WARN("SKIPPED: node, npm or " << kChromium
                                  << " is not installed; install nodejs, npm and chromium "
                                     "(scripts/setup) to run the browser part of this test");
    return;
  }

  const fs::path dir = fs::temp_directory_path() / ("apiary-dashboard-" + std::to_string(getpid()));
  fs::create_directories(dir);
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{dir};
  fs::copy(fs::path(APIARY_SOURCE_DIR) / "tests/integration/clients/dashboard", dir,
           fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  const auto [installed, install_out] =
      run("cd " + dir.string() + " && npm install --no-audit --no-fund --loglevel=error 2>&1");
  INFO(install_out);
  REQUIRE(installed == 0);

  // Screenshots for people to look at; the build directory is not committed.
  const fs::path shots = fs::path(APIARY_BINARY_DIR) / "dashboard_test";
  fs::create_directories(shots);

  // A light, steady load on the two members that stay: writes and reads, 100 per second each.
  const std::string redis_cli = command_path("redis-cli");
  REQUIRE_FALSE(redis_cli.empty());
  std::vector<std::unique_ptr<Background>> load;
  for (int i = 0; i < 2; ++i) {
    const std::string port = nodes[i]->redis_port();
    for (const char* command : {"INCR", "GET"}) {
      load.push_back(std::make_unique<Background>(
          std::vector<std::string>{redis_cli, "-h", "127.0.0.1", "-p", port, "-r", "-1", "-i",
                                   "0.01", command, "dashboard:counter"},
          dir / ("load-" + std::to_string(i) + "-" + command + ".log")));
    }
  }

  const std::string members = nodes[0]->name() + "," + nodes[1]->name() + "," + nodes[2]->name();
  const fs::path script_log = dir / "dashboard_check.log";
  Background script({node, (dir / "dashboard_check.mjs").string(),
                     "http://" + nodes[0]->http() + "/", members, nodes[2]->name(), shots.string()},
                    script_log);

  // Phase 1 in the browser: members alive, operations/s changing. Then the kill.
  const bool ready = eventually(90s, [&] {
    const std::string out = read_file(script_log);
    return out.find("ready for the kill") != std::string::npos ||
           out.find("FAILED") != std::string::npos || wait_for_exit(script.pid, 1ms) != -1 ||
           script.pid < 0;
  });
  {
    INFO(read_file(script_log));
    REQUIRE(ready);
    REQUIRE(read_file(script_log).find("ready for the kill") != std::string::npos);
  }
  nodes[2]->kill_now();

  // Phase 2: suspect, then dead, in the same page load (the SWIM timeouts: a probe round,
  // then a suspicion timeout of 4 to 24 s with three members).
  const int exit_code = wait_for_exit(script.pid, 200s);
  const std::string out = read_file(script_log);
  std::cout << "dashboard_check.mjs:\n" << out;
  INFO(out);
  CHECK(exit_code == 0);
  CHECK(out.find("\nok\n") != std::string::npos);
  CHECK(out.find(nodes[2]->name() + " shown suspect") != std::string::npos);
  CHECK(out.find(nodes[2]->name() + " shown dead") != std::string::npos);
  std::cout << "dashboard screenshots: " << shots.string() << "/dashboard-live.png, "
            << shots.string() << "/dashboard-after-kill.png\n";

  // The serving node no longer asks the dead member for its stats.
  auto after = http_get(nodes[0]->http(), "/v1/cluster/stats");
  REQUIRE(after);
  CHECK(count_of(*after, "\"uptime_ms\":") == 2);
  CHECK(after->find("\"unreachable\":[]") != std::string::npos);
}
