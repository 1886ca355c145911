// GET /readyz on real apiaryd processes (loopback, ports chosen at run time): every member of
// a 3-node cluster turns ready (200, {"ready":true,"reasons":[]}) once joined and owning its
// data; the endpoint stays open when the admin port has a token (probes need no secret),
// while /v1/members does not. Not ready (503, with the reason): a node whose seed does not
// answer yet, a fourth node while the others hand it its share of the data, a drained node.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "integration/support/cluster.hpp"

using namespace apiary::test;
using namespace std::chrono_literals;

namespace {

// "<status> <body>" of a GET.
std::string get(const std::string& addr, const std::string& path) {
  return run("curl -s -w ' %{http_code}' http://" + addr + path).second;
}

}  // namespace

TEST_CASE("readyz: every member of a cluster turns ready, and the endpoint needs no token") {
  const std::string token_file = (scratch_dir() / "readyz.token").string();
  run("printf 'probe-secret' > " + token_file + " && chmod 600 " + token_file);
  auto nodes = start_cluster("ready", 3, {"--admin-token-file", token_file});
  for (const auto& n : nodes) {
    INFO(n->http());
    CHECK(eventually(
        10s, [&] { return get(n->http(), "/readyz") == "{\"ready\":true,\"reasons\":[]} 200"; }));
    CHECK(get(n->http(), "/healthz") == "ok\n 200");
    CHECK(get(n->http(), "/v1/members").ends_with(" 401"));
  }
}

TEST_CASE("readyz: a node whose seed does not answer yet is not ready, then ready once joined") {
  Daemon seed("rjseed", {});
  seed.signal(SIGSTOP);  // the seed's gossip port exists but nothing answers
  Daemon joining("rjjoin", {"--seeds", seed.gossip()});
  // apiaryd prints its ready line at most 5 s after binding while it still joins; the join
  // gives up waiting for seeds only after 10 s.
  const std::string waiting = get(joining.http(), "/readyz");
  CHECK(waiting.ends_with(" 503"));
  CHECK(waiting.find("not joined") != std::string::npos);
  CHECK(get(joining.http(), "/healthz") == "ok\n 200");

  seed.signal(SIGCONT);
  CHECK(eventually(30s, [&] {
    return info_field(joining, "cluster_alive_members") == 2 &&
           get(joining.http(), "/readyz").ends_with(" 200");
  }));
}

TEST_CASE("readyz: a node joining a cluster with data is not ready until its handoff is done") {
  auto nodes = start_cluster("rh", 3, {"--partitions", "256"});
  REQUIRE(eventually(30s, [&] { return settled(nodes); }));
  // About 150,000 keys of 200 bytes, so that handing a new member its share takes long
  // enough to be seen.
  const auto [status, out] = run("redis-benchmark -h 127.0.0.1 -p " + nodes[0]->redis_port() +
                                 " -t set -n 300000 -r 1000000 -d 200 -P 64 -c 8 -q 2>&1");
  INFO(out);
  REQUIRE(status == 0);
  const long long keys = std::stoll(cli(*nodes[0], "DBSIZE"));
  REQUIRE(keys > 100000);

  Daemon fourth("rh4", {"--partitions", "256", "--seeds", nodes[0]->gossip()});
  bool saw_handoff = false;
  std::string last;
  const bool ready = eventually(60s, [&] {
    last = get(fourth.http(), "/readyz");
    if (last.find("partitions still being handed to this member") != std::string::npos) {
      CHECK(last.ends_with(" 503"));
      saw_handoff = true;
    }
    return last.ends_with(" 200");
  });
  INFO(last);
  CHECK(saw_handoff);
  CHECK(ready);
  CHECK(last == "{\"ready\":true,\"reasons\":[]} 200");
  // Ready means it holds its share: 3 of 4 members own each partition.
  const std::string local = cli(fourth, "INFO localkeyspace");
  const auto at = local.find("keys=");
  REQUIRE(at != std::string::npos);
  CHECK(std::stoll(local.substr(at + 5)) > keys / 2);
}

TEST_CASE("readyz: a drained node answers 503 drained and stays healthy") {
  auto nodes = start_cluster("rd", 2, {});
  const std::string drained =
      run("curl -s -X POST -d '' 'http://" + nodes[1]->http() + "/v1/drain?wait=1'").second;
  CHECK(drained == "{\"state\":\"drained\",\"complete\":true}");
  const std::string ready = get(nodes[1]->http(), "/readyz");
  CHECK(ready.ends_with(" 503"));
  CHECK(ready.find("drained") != std::string::npos);
  CHECK(get(nodes[1]->http(), "/healthz") == "ok\n 200");
  CHECK(get(nodes[0]->http(), "/readyz").ends_with(" 200"));
}
