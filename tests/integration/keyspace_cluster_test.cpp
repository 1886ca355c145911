// Real apiaryd processes: the keyspace commands without keys answer for the whole cluster
// through any node (DBSIZE, KEYS, SCAN, RANDOMKEY), and FLUSHALL empties every node for good
// -- observed through redis-cli, and compared with what redis-server answers.
#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "integration/support/cluster.hpp"
#include "integration/support/redis_server.hpp"

using namespace apiary::test;

namespace {

std::string cli(const std::string& port, const std::string& args) {
  return run("redis-cli -h 127.0.0.1 -p " + port + " " + args).second;
}

// One field of an INFO section of a node, or -1.
long long info_field(const Daemon& d, const std::string& section, const std::string& field) {
  const std::string info = cli(d, "INFO " + section);
  const auto at = info.find(field);
  if (at == std::string::npos) return -1;
  return std::stoll(info.substr(at + field.size()));
}

// The node's own copy: INFO localkeyspace (no db0 line = no key).
long long local_keys(const Daemon& d) {
  const long long n = info_field(d, "localkeyspace", "db0:keys=");
  return n < 0 ? 0 : n;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// Writes `keys` through the nodes in turn (one redis-cli pipe per node).
void write_keys(const std::vector<std::unique_ptr<Daemon>>& nodes,
                const std::vector<std::string>& keys) {
  std::vector<std::string> scripts(nodes.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    scripts[i % nodes.size()] += "SET " + keys[i] + " v" + std::to_string(i) + "\n";
  }
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    const auto path = scratch_dir() / ("keys-" + nodes[n]->name() + ".txt");
    std::ofstream(path) << scripts[n];
    const std::string out =
        run("redis-cli -h 127.0.0.1 -p " + nodes[n]->redis_port() + " < " + path.string()).second;
    CHECK(out.find("ERR") == std::string::npos);
    CHECK(lines(out).size() == (keys.size() + nodes.size() - 1 - n) / nodes.size());
  }
}

// SCAN with COUNT 10 from cursor 0 until it is 0 again; every key returned, and the calls.
std::pair<std::vector<std::string>, int> scan_all(const Daemon& d) {
  std::vector<std::string> keys;
  std::string cursor = "0";
  int calls = 0;
  do {
    auto out = lines(cli(d, "SCAN " + cursor + " COUNT 10"));
    REQUIRE(!out.empty());
    cursor = out.front();
    keys.insert(keys.end(), out.begin() + 1, out.end());
    ++calls;
    REQUIRE(calls < 1000);
  } while (cursor != "0");
  return {keys, calls};
}

}  // namespace

TEST_CASE("DBSIZE, KEYS and SCAN through any node see every key of the cluster once",
          "[integration][keyspace]") {
  auto nodes = start_cluster("ks", 3, {});
  std::vector<std::string> keys;
  for (int i = 0; i < 300; ++i) keys.push_back("key:" + std::to_string(i));
  write_keys(nodes, keys);
  const std::set<std::string> expected(keys.begin(), keys.end());
  for (const auto& n : nodes) {
    INFO(n->name());
    CHECK(cli(*n, "DBSIZE") == "300\n");
    CHECK(info_field(*n, "keyspace", "db0:keys=") == 300);
    CHECK(local_keys(*n) == 300);  // N=3: every node holds a copy of every key
  }
  const auto listed = lines(cli(*nodes[0], "KEYS '*'"));
  CHECK(listed.size() == 300);
  CHECK(std::set<std::string>(listed.begin(), listed.end()) == expected);
  const auto [scanned, calls] = scan_all(*nodes[1]);
  CHECK(scanned.size() == 300);
  CHECK(std::set<std::string>(scanned.begin(), scanned.end()) == expected);
  CHECK(calls > 5);
  const std::string random = cli(*nodes[2], "RANDOMKEY");
  CHECK(expected.count(random.substr(0, random.size() - 1)) == 1);
}

TEST_CASE("with one replica, DBSIZE counts the cluster and each node's own copy adds up",
          "[integration][keyspace]") {
  auto nodes = start_cluster("kr", 3, {"--replicas", "1", "--write-quorum", "1"});
  std::vector<std::string> keys;
  for (int i = 0; i < 300; ++i) keys.push_back("one:" + std::to_string(i));
  write_keys(nodes, keys);
  long long held = 0;
  for (const auto& n : nodes) {
    CHECK(cli(*n, "DBSIZE") == "300\n");
    const long long mine = local_keys(*n);
    CHECK(mine > 0);
    CHECK(mine < 300);
    held += mine;
  }
  CHECK(held == 300);
  const auto [scanned, calls] = scan_all(*nodes[2]);
  CHECK(scanned.size() == 300);
  CHECK(std::set<std::string>(scanned.begin(), scanned.end()).size() == 300);
}

TEST_CASE("FLUSHALL through one node empties every node for good", "[integration][keyspace]") {
  auto nodes = start_cluster("kf", 3, {});
  std::vector<std::string> keys;
  for (int i = 0; i < 600; ++i) keys.push_back("gone:" + std::to_string(i));
  write_keys(nodes, keys);
  REQUIRE(cli(*nodes[0], "DBSIZE") == "600\n");
  CHECK(cli(*nodes[1], "FLUSHALL") == "OK\n");
  for (const auto& n : nodes) {
    INFO(n->name());
    CHECK(cli(*n, "DBSIZE") == "0\n");
    CHECK(local_keys(*n) == 0);
  }
  // Anti-entropy (one partition a second per node), read repair and hints had time to bring
  // flushed keys back: none came.
  std::this_thread::sleep_for(15s);
  for (const auto& n : nodes) {
    INFO(n->name());
    CHECK(cli(*n, "DBSIZE") == "0\n");
    CHECK(local_keys(*n) == 0);
    CHECK(cli(*n, "GET gone:1") == "\n");
  }
  // Writes after the flush are kept and replicated.
  CHECK(cli(*nodes[2], "SET after 1") == "OK\n");
  CHECK(cli(*nodes[0], "DBSIZE") == "1\n");
  CHECK(cli(*nodes[1], "FLUSHDB ASYNC") == "OK\n");
  CHECK(cli(*nodes[0], "DBSIZE") == "0\n");
}

TEST_CASE("the keyspace commands answer through a cluster as redis-server does",
          "[integration][keyspace]") {
  auto nodes = start_cluster("kc", 3, {});
  RedisServer redis;
  const std::vector<std::string> commands = {
      "DBSIZE",
      "KEYS '*'",
      "SCAN 0",
      "RANDOMKEY",
      "INFO keyspace",
      "SCAN 0 COUNT 0",
      "SCAN x",
      "SCAN 0 MATCH",
      "SCAN 0 COUNT x",
      "SCAN 0 FOO 1",
      "SCAN 0 TYPE hash",
      "FLUSHALL NOW",
      "FLUSHALL ASYNC SYNC",
      "DBSIZE x",
      "RANDOMKEY x",
      "KEYS",
      "SCAN",
      "FLUSHALL",
      "FLUSHALL ASYNC",
      "FLUSHDB SYNC",
      "FLUSHDB",
      "SET only 1",
      "DBSIZE",
      "INFO keyspace",
      "KEYS '*'",
      "KEYS 'o*'",
      "KEYS 'x*'",
      "SCAN 0 COUNT 100",
      "SCAN 0 MATCH 'o*'",
      "RANDOMKEY",
      "FLUSHALL SYNC",
      "DBSIZE",
  };
  for (const auto& command : commands) {
    INFO(command);
    CHECK(cli(*nodes[0], command) == cli(redis.port(), command));
  }
}
