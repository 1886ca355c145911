// Draining a node before maintenance (`apiary drain`, POST /v1/drain) on real apiaryd
// processes: the drained node hands its partitions off and leaves, the other two keep every
// key, the drained process stays up answering GET /readyz 503 "drained" (and /healthz 200)
// until SIGTERM, which then stops it at once; the route needs the admin token.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "integration/support/cluster.hpp"
#include "integration/support/redis_server.hpp"

using namespace apiary::test;
using namespace std::chrono_literals;

namespace {

// "<body> <status>" of a request with curl.
std::string http(const std::string& args) {
  return run("curl -s -w ' %{http_code}' " + args).second;
}

std::string apiary_cli(const std::string& args) {
  return run(std::string(APIARY_CLI_PATH) + " " + args + " 2>&1").second;
}

}  // namespace

TEST_CASE("drain: a drained node's keys stay on the others, and it waits, not ready, for SIGTERM") {
  const std::string token_file = (scratch_dir() / "drain.token").string();
  run("printf 'drain-secret' > " + token_file + " && chmod 600 " + token_file);
  auto nodes = start_cluster("drain", 3, {"--admin-token-file", token_file});
  REQUIRE(eventually(30s, [&] { return settled(nodes); }));
  // 2,000 keys through every node; N=3 puts a copy of each on the node drained below.
  for (int part = 0; part < 4; ++part) {
    std::string cmds;
    for (int i = part * 500; i < (part + 1) * 500; ++i) {
      cmds += "SET k:" + std::to_string(i) + " v" + std::to_string(i) + "\n";
    }
    const auto& via = *nodes[static_cast<std::size_t>(part) % nodes.size()];
    REQUIRE(run("printf '" + cmds + "' | redis-cli -h 127.0.0.1 -p " + via.redis_port() +
                " > /dev/null")
                .first == 0);
  }
  auto& drained = *nodes[1];

  // Without the token the route is refused, and nothing starts.
  CHECK(http("-X POST -d '' http://" + drained.http() + "/v1/drain").ends_with(" 401"));
  CHECK(http("http://" + drained.http() + "/readyz").ends_with(" 200"));

  const std::string out = apiary_cli("--admin-token-file " + token_file +
                                     " drain --wait --timeout 60 --node " + drained.http());
  INFO(out);
  CHECK(out.find("drained: its partitions are handed off") != std::string::npos);

  // The drained process is up, healthy, not ready, and reports why; a second drain says so.
  CHECK(drained.running());
  CHECK(http("http://" + drained.http() + "/healthz") == "ok\n 200");
  const std::string ready = http("http://" + drained.http() + "/readyz");
  CHECK(ready.find("\"ready\":false") != std::string::npos);
  CHECK(ready.find("drained") != std::string::npos);
  CHECK(ready.ends_with(" 503"));
  CHECK(http("-X POST -d '' -H 'Authorization: Bearer drain-secret' http://" + drained.http() +
             "/v1/drain") == "{\"state\":\"drained\",\"complete\":true} 200");

  // The other two see it gone and keep every key, each answering from its own copy.
  for (std::size_t i : {0u, 2u}) {
    INFO(nodes[i]->name());
    CHECK(eventually(15s, [&] { return info_field(*nodes[i], "cluster_alive_members") == 2; }));
    const std::string local = cli(*nodes[i], "INFO localkeyspace");
    CHECK(local.find("keys=2000,") != std::string::npos);
    std::string missing;
    for (int k = 0; k < 2000; k += 37) {
      const std::string key = "k:" + std::to_string(k);
      if (cli(*nodes[i], "GET " + key) != "v" + std::to_string(k) + "\n") missing += key + " ";
    }
    CHECK(missing.empty());
  }

  // SIGTERM only stops it now: no second leave to wait for.
  drained.signal(SIGTERM);
  CHECK(drained.wait_exit(5s) == 0);
  const std::string log = drained.log();
  CHECK(log.find("drained earlier, stopping") != std::string::npos);
}

TEST_CASE("drain: apiary drain reports a node it cannot reach") {
  const int port = free_loopback_port();
  const auto [code, out] = run(std::string(APIARY_CLI_PATH) +
                               " drain --node 127.0.0.1:" + std::to_string(port) + " 2>&1");
  CHECK(code != 0);
  CHECK(out.find("cannot reach 127.0.0.1:" + std::to_string(port)) != std::string::npos);
}
