// A real apiaryd driven by redis-cli and by a Redis client library (redis-py), as a user
// would: the replies must be the ones Redis gives.
#include <catch2/catch.hpp>
#include <cstdio>
#include <memory>

#include "integration/support/daemon.hpp"

using namespace apiary::test;

namespace {

std::string cli(const Daemon& d, const std::string& args) {
  return run("redis-cli -h 127.0.0.1 -p " + d.redis_port() + " " + args).second;
}

}  // namespace

TEST_CASE("redis-cli talks to apiaryd", "[integration][resp]") {
  Daemon node("r1", {});
  CHECK(cli(node, "PING") == "PONG\n");
  CHECK(cli(node, "SET user:1 alice") == "OK\n");
  CHECK(cli(node, "GET user:1") == "alice\n");
  CHECK(cli(node, "GET nothing") == "\n");  // redis-cli prints (nil) only on a TTY
  CHECK(cli(node, "INCR hits") == "1\n");
  CHECK(cli(node, "INCRBY hits 9") == "10\n");
  CHECK(cli(node, "DEL user:1 hits nothing") == "2\n");
  CHECK(cli(node, "DBSIZE") == "0\n");
  CHECK(cli(node, "SET k v EX 100") == "OK\n");
  const int ttl = std::stoi(cli(node, "TTL k"));
  CHECK(ttl > 90);
  CHECK(ttl <= 100);
  CHECK(cli(node, "FOO bar").find("ERR unknown command 'FOO'") != std::string::npos);
  CHECK(cli(node, "GET").find("ERR wrong number of arguments for 'get' command") !=
        std::string::npos);
  CHECK(cli(node, "INFO keyspace").find("db0:keys=1") != std::string::npos);
  const std::string cluster = cli(node, "INFO cluster");
  CHECK(cluster.find("cluster_node:r1") != std::string::npos);
  CHECK(cluster.find("cluster_partitions:1024") != std::string::npos);
  CHECK(cluster.find("cluster_partitions_owned:1024") != std::string::npos);  // alone: all
}

TEST_CASE("CONFIG SET maxmemory applies to the running node", "[integration][resp]") {
  Daemon node("mem", {});
  CHECK(cli(node, "SET before limit") == "OK\n");
  const std::string info = cli(node, "INFO memory");
  const auto at = info.find("used_memory:");
  REQUIRE(at != std::string::npos);
  const long used = std::stol(info.substr(at + 12));
  // Room for a few dozen 1 KB values above what is used now.
  CHECK(cli(node, "CONFIG SET maxmemory " + std::to_string(used + 40000)) == "OK\n");
  const std::string value(1000, 'v');
  std::string script;
  for (int i = 0; i < 200; ++i) script += "SET key" + std::to_string(i) + " " + value + "\n";
  const std::string script_path = (scratch_dir() / "fill.txt").string();
  std::ofstream(script_path) << script;
  const std::string port = node.redis_port();
  auto fill = [&] { return run("redis-cli -h 127.0.0.1 -p " + port + " < " + script_path).second; };
  const std::string refused = fill();
  CHECK(refused.find("OOM command not allowed") != std::string::npos);  // noeviction
  CHECK(cli(node, "GET before") == "limit\n");                          // nothing lost
  CHECK(cli(node, "CONFIG SET maxmemory-policy allkeys-lru") == "OK\n");
  const std::string evicting = fill();
  CHECK(evicting.find("OOM") == std::string::npos);  // evicts instead of refusing
  CHECK(std::stoi(cli(node, "DBSIZE")) < 100);
  CHECK(cli(node, "CONFIG GET maxmemory-policy") == "maxmemory-policy\nallkeys-lru\n");
}

TEST_CASE("redis-benchmark runs against apiaryd without errors", "[integration][resp]") {
  Daemon node("bench", {});
  auto [status, out] = run("redis-benchmark -h 127.0.0.1 -p " + node.redis_port() +
                           " -t set,get,incr,mset -n 2000 -c 10 -P 4 -q");
  INFO(out);
  CHECK(status == 0);
  CHECK(out.find("SET:") != std::string::npos);
  CHECK(out.find("GET:") != std::string::npos);
  CHECK(out.find("MSET") != std::string::npos);
  CHECK(out.find("ERR") == std::string::npos);
  // The node is still healthy afterwards.
  CHECK(cli(node, "PING") == "PONG\n");
}

TEST_CASE("a Redis client library works unchanged", "[integration][resp]") {
  Daemon node("py", {});
  auto [status, out] = run(std::string("/usr/bin/python3 ") + APIARY_SOURCE_DIR +
                           "/tests/integration/clients/redis_py_check.py " + node.redis_port());
  INFO(out);
  CHECK(status == 0);
}

TEST_CASE("HELLO 3 switches a connection to RESP3", "[integration][resp]") {
  Daemon node("r3", {});
  auto [status, out] =
      run("printf 'HELLO 3\\r\\nGET nothing\\r\\nPING\\r\\nQUIT\\r\\n' | timeout 5 bash -c "
          "'exec 3<>/dev/tcp/127.0.0.1/" +
          node.redis_port() + "; cat >&3; timeout 2 cat <&3'");
  INFO(out);
  CHECK(out.rfind("%", 0) == 0);  // HELLO answers a RESP3 map
  CHECK(out.find("$5\r\nproto\r\n:3\r\n") != std::string::npos);
  CHECK(out.find("_\r\n") != std::string::npos);  // RESP3 null for the missing key
  CHECK(out.find("+PONG\r\n") != std::string::npos);
}

TEST_CASE("malformed RESP closes only the offending connection", "[integration][resp]") {
  Daemon node("bad", {});
  CHECK(cli(node, "SET survivor yes") == "OK\n");
  // A hostile client: invalid multibulk length, then garbage.
  auto [status, out] = run("printf '*abc\\r\\n' | timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/" +
                           node.redis_port() + "; cat >&3; timeout 2 cat <&3'");
  INFO(out);
  CHECK(out.find("Protocol error") != std::string::npos);
  // The node keeps serving everyone else and lost nothing.
  CHECK(cli(node, "GET survivor") == "yes\n");
  CHECK(node.running());
}
