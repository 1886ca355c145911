// Client authentication and ACLs across a cluster of real apiaryd processes (loopback, ports
// chosen at run time): with --requirepass every node answers NOAUTH to a client that has not
// authenticated; a user limited to ~cache:* and +get +set, created through node 1, can
// authenticate on node 3 as soon as ACL SETUSER has answered, uses its keys through every
// node (whichever node coordinates them) and gets NOPERM for other keys and commands; a
// change through node 1 applies to a connection already open on node 3; a node that was down
// takes the users it missed when it is back; every node lists the same users.
//
// Protected mode, in a network namespace of the test's own (a veth pair inside it, so a
// client can come from a non-loopback address): with no password a node refuses such a
// client with Redis's DENIED text -- the very bytes redis-server 7.0 sends, asked in the same
// namespace -- and serves it once a password is set or with --protected-mode no.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "integration/support/cluster.hpp"
#include "integration/support/redis_server.hpp"

using namespace apiary::test;
using namespace std::chrono_literals;

namespace {

bool authed(RespClient& c, const std::string& user, const std::string& pass) {
  return c.command({"AUTH", user, pass}) == "+OK\r\n";
}

}  // namespace

TEST_CASE("ACL users apply on every node of a cluster") {
  // The support helpers' redis-cli calls (cluster convergence, INFO) authenticate with it.
  ::setenv("REDISCLI_AUTH", "secret", 1);
  struct Unset {
    ~Unset() { ::unsetenv("REDISCLI_AUTH"); }
  } unset;
  auto nodes = start_cluster("aclc", 3, {"--requirepass", "secret"});

  for (const auto& n : nodes) {
    RespClient anonymous(n->redis_port());
    CHECK(anonymous.command({"GET", "cache:1"}) == "-NOAUTH Authentication required.\r\n");
    CHECK(anonymous.command({"ACL", "WHOAMI"}) == "-NOAUTH Authentication required.\r\n");
  }

  RespClient admin(nodes[0]->redis_port());
  REQUIRE(authed(admin, "default", "secret"));
  REQUIRE(admin.command({"ACL", "SETUSER", "cacheuser", "on", ">pw", "~cache:*", "+get", "+set"}) ==
          "+OK\r\n");

  // Through every node, for keys whichever node coordinates.
  int remote = 0;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    RespClient user(nodes[i]->redis_port());
    REQUIRE(authed(user, "cacheuser", "pw"));
    for (int k = 0; k < 20; ++k) {
      const std::string key = "cache:" + std::to_string(i) + ":" + std::to_string(k);
      INFO("node " << i + 1 << " key " << key);
      CHECK(user.command({"SET", key, "v"}) == "+OK\r\n");
      CHECK(user.command({"GET", key}) == "$1\r\nv\r\n");
      const std::string other = "other:" + std::to_string(i) + ":" + std::to_string(k);
      CHECK(user.command({"SET", other, "v"}) ==
            "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n");
      CHECK(user.command({"INCR", key}) ==
            "-NOPERM this user has no permissions to run the 'incr' command\r\n");
      CHECK(user.command({"DEL", key}) ==
            "-NOPERM this user has no permissions to run the 'del' command\r\n");
    }
    CHECK(user.command({"CONFIG", "GET", "maxmemory"}) ==
          "-NOPERM this user has no permissions to run the 'config|get' command\r\n");
    // (coordinator_of deletes the key it asks about: the :0 keys are not used below.)
    remote += coordinator_of(nodes, "cache:" + std::to_string(i) + ":0") != static_cast<int>(i);
  }
  CHECK(remote > 0);  // some of the keys were coordinated by another node than the client's

  // A change through node 1 applies to a connection already open on node 3.
  RespClient on3(nodes[2]->redis_port());
  REQUIRE(authed(on3, "cacheuser", "pw"));
  REQUIRE(on3.command({"GET", "cache:0:1"}) == "$1\r\nv\r\n");
  REQUIRE(admin.command({"ACL", "SETUSER", "cacheuser", "-get"}) == "+OK\r\n");
  CHECK(on3.command({"GET", "cache:0:1"}) ==
        "-NOPERM this user has no permissions to run the 'get' command\r\n");
  CHECK(on3.command({"SET", "cache:0:1", "w"}) == "+OK\r\n");

  // The same users everywhere.
  const std::string listed = admin.command({"ACL", "LIST"});
  for (const auto& n : nodes) {
    RespClient c(n->redis_port());
    REQUIRE(authed(c, "default", "secret"));
    CHECK(c.command({"ACL", "LIST"}) == listed);
  }

  // A node that was down takes the users it missed.
  const std::string name3 = "aclc3";
  nodes[2]->kill_now();
  REQUIRE(admin.command({"ACL", "SETUSER", "late", "on", ">lp", "+ping"}) == "+OK\r\n");
  nodes[2] = std::make_unique<Daemon>(
      name3, std::vector<std::string>{"--requirepass", "secret", "--seeds", nodes[0]->gossip()});
  CHECK(eventually(15s, [&] {
    RespClient c(nodes[2]->redis_port());
    return authed(c, "late", "lp") && c.command({"PING"}) == "+PONG\r\n";
  }));
}

TEST_CASE("protected mode refuses non-loopback clients while there is no password") {
  if (run("command -v ip && ip netns list").first != 0) {
    WARN("SKIPPED: ip netns is not available");
    return;
  }
  const std::string ns = "apiary-pm-" + std::to_string(::getpid());
  struct Namespace {
    std::string name;
    ~Namespace() { run("ip netns del " + name + " 2>/dev/null"); }
  } guard{ns};
  const std::string in = "ip netns exec " + ns + " ";
  REQUIRE(run("ip netns add " + ns).first == 0);
  REQUIRE(run("ip -n " + ns + " link set lo up && ip -n " + ns +
              " link add pm0 type veth peer name pm1 && ip -n " + ns +
              " addr add 10.211.0.1/24 dev pm0 && ip -n " + ns +
              " addr add 10.211.0.2/24 dev pm1 && ip -n " + ns + " link set pm0 up && ip -n " +
              ns + " link set pm1 up")
              .first == 0);
  const std::string dir = scratch_dir().string();
  // redis-server in the namespace, for the exact text.
  REQUIRE(run(in + "redis-server --port 7399 --save '' --appendonly no --daemonize yes "
                   "--pidfile " + dir + "/pm-redis.pid --dir " + dir).first == 0);
  struct Stop {
    std::string cmd;
    ~Stop() { run(cmd); }
  } stop_redis{in + "redis-cli -p 7399 shutdown nosave 2>/dev/null"};
  REQUIRE(eventually(5s, [&] { return run(in + "redis-cli -p 7399 ping").second == "PONG\n"; }));
  const std::string redis_denied = run(in + "redis-cli -h 10.211.0.1 -p 7399 ping").second;
  REQUIRE(redis_denied.rfind("DENIED Redis is running in protected mode", 0) == 0);

  auto start = [&](const std::string& extra) {
    run(in + APIARYD_PATH + std::string(" --name pm --gossip-addr 127.0.0.1:0 --bind 0.0.0.0 "
                                        "--port 7398 ") +
        extra + " > " + dir + "/pm-apiaryd.log 2>&1 & echo $! > " + dir + "/pm-apiaryd.pid");
    return eventually(10s, [&] { return run(in + "redis-cli -p 7398 ping").second == "PONG\n"; });
  };
  auto stop = [&] {
    run("kill $(cat " + dir + "/pm-apiaryd.pid) 2>/dev/null; sleep 0.5; kill -9 $(cat " + dir +
        "/pm-apiaryd.pid) 2>/dev/null");
  };
  struct StopNode {
    std::function<void()> f;
    ~StopNode() { f(); }
  } stop_node{stop};

  REQUIRE(start(""));
  CHECK(run(in + "redis-cli -h 10.211.0.1 -p 7398 ping").second == redis_denied);
  CHECK(run(in + "redis-cli -h 127.0.0.1 -p 7398 ping").second == "PONG\n");
  // A password lifts it (and asks for AUTH instead).
  CHECK(run(in + "redis-cli -p 7398 config set requirepass pw").second == "OK\n");
  CHECK(run(in + "redis-cli -h 10.211.0.1 -p 7398 ping").second.find("NOAUTH") !=
        std::string::npos);
  CHECK(run(in + "redis-cli -h 10.211.0.1 -p 7398 -a pw --no-auth-warning ping").second ==
        "PONG\n");
  stop();

  REQUIRE(start("--protected-mode no"));
  CHECK(run(in + "redis-cli -h 10.211.0.1 -p 7398 ping").second == "PONG\n");
}
