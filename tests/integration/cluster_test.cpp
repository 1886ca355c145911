// Real apiaryd processes forming a cluster that behaves like one cache: any node answers any
// key, acknowledged writes survive a killed node, and joins and leaves move data without
// losing it -- observed through Redis clients (redis-cli and redis-py), as a user would.
#include <catch2/catch.hpp>
#include <future>
#include <memory>

#include "integration/support/cluster.hpp"

using namespace apiary::test;

namespace {

const std::string kClient =
    "/usr/bin/python3 " APIARY_SOURCE_DIR "/tests/integration/clients/cluster_client.py ";



// A node's own copy (INFO localkeyspace); DBSIZE counts the whole cluster.
long long local_keys(const Daemon& d) {
  const std::string info = cli(d, "INFO localkeyspace");
  const auto at = info.find("db0:keys=");
  return at == std::string::npos ? 0 : std::stoll(info.substr(at + 9));
}


bool handoff_settled(const std::vector<std::unique_ptr<Daemon>>& nodes) {
  for (const auto& n : nodes) {
    if (n->running() && info_field(*n, "cluster_handoff_pending") != 0) return false;
  }
  return true;
}

std::string client(const std::string& args) {
  auto [status, out] = run(kClient + args);
  INFO(out);
  CHECK(status == 0);
  return out;
}

}  // namespace

TEST_CASE("keys written through one node are read back through another", "[integration][cluster]") {
  auto nodes = start_cluster("a", 3, {});
  client("write " + nodes[0]->redis_port() + " 10000 k");
  client("check " + nodes[2]->redis_port() + " 10000 k");
  // Every node holds a copy (N=3): the read path did not need to forward.
  CHECK(info_field(*nodes[2], "cluster_commands_forwarded") == 0);
  CHECK(cli(*nodes[1], "DBSIZE") == "10000\n");
  // Multi-key commands and deletes behave as on one server.
  CHECK(cli(*nodes[1], "MGET k:1 nope k:2") == "v:1\n\nv:2\n");
  CHECK(cli(*nodes[2], "DEL k:1 k:2 nope") == "2\n");
  CHECK(cli(*nodes[0], "EXISTS k:1 k:2 k:3") == "1\n");
}

TEST_CASE("with one replica, keys are forwarded to their owner and fan out by owner",
          "[integration][cluster]") {
  auto nodes = start_cluster("f", 3, {"--replicas", "1", "--write-quorum", "1"});
  client("write " + nodes[0]->redis_port() + " 3000 k");
  client("check " + nodes[2]->redis_port() + " 3000 k");
  // Each node holds only what it owns, and the cluster holds everything once.
  long long total = 0;
  for (const auto& n : nodes) {
    CHECK(cli(*n, "DBSIZE") == "3000\n");
    const long long size = local_keys(*n);
    CHECK(size > 500);
    CHECK(size < 1600);
    total += size;
  }
  CHECK(total == 3000);
  CHECK(info_field(*nodes[0], "cluster_commands_forwarded") > 0);
  CHECK(info_field(*nodes[2], "cluster_commands_fanned_out") > 0);
  CHECK(cli(*nodes[1], "DEL k:1 k:2 k:3 k:4 k:5 nope") == "5\n");
  CHECK(cli(*nodes[0], "INCR counter") == "1\n");
  CHECK(cli(*nodes[1], "INCR counter") == "2\n");
  CHECK(cli(*nodes[2], "GET counter") == "2\n");
}

TEST_CASE("after kill -9 of one node every key is still readable and writable",
          "[integration][cluster]") {
  auto nodes = start_cluster("k", 3, {"--dead-grace-ms", "2000"});
  client("write " + nodes[0]->redis_port() + " 5000 k");
  nodes[1]->kill_now();
  client("check " + nodes[0]->redis_port() + " 5000 k");
  client("check " + nodes[2]->redis_port() + " 5000 k");
  // Once the dead node is detected, writes reach W=2 with the two nodes that are left, before
  // and after the grace period. (Until then, writes of the keys it coordinated wait for it and
  // fail with CLUSTERDOWN: they are not run twice by guessing, docs/cluster.md.)
  REQUIRE(eventually(15s, [&] { return info_field(*nodes[0], "cluster_alive_members") == 2; }));
  REQUIRE(eventually(15s, [&] { return info_field(*nodes[2], "cluster_alive_members") == 2; }));
  client("write " + nodes[2]->redis_port() + " 2000 w");
  std::this_thread::sleep_for(2500ms);  // past --dead-grace-ms: the ring drops the dead node
  client("write " + nodes[0]->redis_port() + " 2000 x");
  client("check " + nodes[2]->redis_port() + " 2000 w");
  client("check " + nodes[2]->redis_port() + " 2000 x");
  CHECK(info_field(*nodes[0], "cluster_write_quorum_failures") == 0);
}

TEST_CASE("a fourth node joins while a client keeps reading and writing",
          "[integration][cluster]") {
  auto nodes = start_cluster("j", 3, {});
  client("write " + nodes[0]->redis_port() + " 3000 k");
  const std::string ports =
      nodes[0]->redis_port() + "," + nodes[1]->redis_port() + "," + nodes[2]->redis_port();
  auto workload = std::async(std::launch::async, [&] {
    return run("cd " + scratch_dir().string() + " && " + kClient + "workload " + ports +
               " 3000 k 20");
  });
  std::this_thread::sleep_for(1s);
  nodes.push_back(
      std::make_unique<Daemon>("j4", std::vector<std::string>{"--seeds", nodes.front()->gossip()}));
  REQUIRE(eventually(10s, [&] { return info_field(*nodes[3], "cluster_alive_members") == 4; }));
  // The newcomer owns partitions and receives their data.
  CHECK(eventually(20s, [&] {
    return info_field(*nodes[3], "cluster_handoff_entries_received") > 0 && handoff_settled(nodes);
  }));
  std::this_thread::sleep_for(1s);  // keep the client running on the settled cluster a little
  run("touch " + (scratch_dir() / "k.stop").string());
  auto [status, out] = workload.get();
  INFO(out);
  CHECK(status == 0);
  CHECK(out.find("\"errors\": 0") != std::string::npos);
  CHECK(out.find("\"missing\": 0") != std::string::npos);
  client("check " + nodes[3]->redis_port() + " 3000 k");
  CHECK(info_field(*nodes[3], "cluster_partitions_owned") > 0);
}

TEST_CASE("a node that leaves with SIGTERM loses nothing, even with one replica",
          "[integration][cluster]") {
  auto nodes = start_cluster("l", 3, {"--replicas", "1", "--write-quorum", "1"});
  client("write " + nodes[0]->redis_port() + " 5000 k");
  const long long held = local_keys(*nodes[1]);
  REQUIRE(held > 0);
  nodes[1]->signal(SIGTERM);
  CHECK(nodes[1]->wait_exit(30s) == 0);
  client("check " + nodes[0]->redis_port() + " 5000 k");
  client("check " + nodes[2]->redis_port() + " 5000 k");
  CHECK(local_keys(*nodes[0]) + local_keys(*nodes[2]) == 5000);
  CHECK(cli(*nodes[0], "DBSIZE") == "5000\n");
}
