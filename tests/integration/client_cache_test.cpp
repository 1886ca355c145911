// A real library's client-side cache against a cluster of three apiaryd processes: node-redis
// (npm `redis` 5.x) with `clientSideCache` on one node (RESP3, CLIENT TRACKING) caches a key,
// serves it locally, and drops it when another client writes the key through a different node
// (tests/integration/clients/node_redis/client_side_cache.mjs). The test installs the npm
// package into a scratch directory itself; it is skipped, saying so, only when npm is absent.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <iostream>
#include <string>

#include "integration/support/cluster.hpp"

using namespace apiary::test;

TEST_CASE("node-redis's client-side cache follows writes made through another node",
          "[integration][tracking]") {
  if (run("command -v npm").first != 0 || run("command -v node").first != 0) {
    WARN("SKIPPED: npm or node is not installed; install nodejs and npm to run this test");
    return;
  }
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("apiary-node-redis-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const fs::path source = fs::path(APIARY_SOURCE_DIR) / "tests/integration/clients/node_redis";
  fs::copy(source, dir, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{dir};
  const auto [installed, install_out] =
      run("cd " + dir.string() + " && npm install --no-audit --no-fund --loglevel=error 2>&1");
  INFO(install_out);
  REQUIRE(installed == 0);

  auto nodes = start_cluster("csc", 3, {});
  REQUIRE(eventually(std::chrono::seconds(20), [&] { return settled(nodes); }));
  const auto [status, out] = run("cd " + dir.string() + " && node client_side_cache.mjs " +
                                 nodes[1]->redis_port() + " " + nodes[0]->redis_port() + " 2>&1");
  INFO(out);
  CHECK(status == 0);
  CHECK(out.rfind("ok", 0) == 0);
  std::cout << "node-redis: " << out;
  for (const auto& n : nodes) CHECK(n->running());
}
