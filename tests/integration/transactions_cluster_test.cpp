// Transactions on a cluster of three real apiaryd processes, used as an application uses them
// with redis-py (tests/integration/clients/redis_py_transactions.py): transactional pipelines
// through every node, WATCH-based optimistic locking from six threads on three nodes whose
// counter comes out exact, and concurrent transfers between two accounts that conserve the
// total; and redis-py's Lock, which needs Lua scripting (hidden until EVALSHA exists).
#include <catch2/catch.hpp>
#include <iostream>
#include <string>

#include "integration/support/cluster.hpp"
#include "integration/support/redis_server.hpp"

using namespace apiary::test;

namespace {

const std::string kClient =
    "/usr/bin/python3 " APIARY_SOURCE_DIR "/tests/integration/clients/redis_py_transactions.py ";

std::string ports(const std::vector<std::unique_ptr<Daemon>>& nodes) {
  std::string out;
  for (const auto& n : nodes) out += " " + n->redis_port();
  return out;
}

// Commands parked at their keys' coordinators (a blocked BLPOP), over the whole cluster.
long long parked(const std::vector<std::unique_ptr<Daemon>>& nodes) {
  long long n = 0;
  for (const auto& d : nodes) n += info_field(*d, "cluster_parked_commands");
  return n;
}

std::string bulk(const std::string& s) {
  return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

}  // namespace

TEST_CASE("redis-py transactions and WATCH work through every node of a cluster",
          "[integration][transaction]") {
  auto nodes = start_cluster("txp", 3, {});
  REQUIRE(eventually(20s, [&] { return settled(nodes); }));
  auto [status, out] = run(kClient + ports(nodes));
  INFO(out);
  CHECK(status == 0);
  CHECK(out.find("counter: 600 increments") != std::string::npos);
  CHECK(out.size() >= 3);
  CHECK(out.substr(out.size() - 3) == "ok\n");
  std::cout << out;
  for (const auto& n : nodes) CHECK(n->running());
}

TEST_CASE("a transaction's push serves a client blocked in BLPOP on another member",
          "[integration][transaction]") {
  auto nodes = start_cluster("txb", 3, {});
  REQUIRE(eventually(20s, [&] { return settled(nodes); }));
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const std::string key = "{b" + std::to_string(i) + "}jobs";
    INFO(key);
    RespClient worker(nodes[i]->redis_port());
    worker.send_raw("*3\r\n$5\r\nBLPOP\r\n" + bulk(key) + "$1\r\n0\r\n");
    REQUIRE(eventually(5s, [&] { return parked(nodes) == 1; }));
    // As in Redis, the waiter is served after the transaction: LLEN inside it sees both.
    RespClient producer(nodes[(i + 1) % nodes.size()]->redis_port());
    REQUIRE(producer.command({"MULTI"}) == "+OK\r\n");
    REQUIRE(producer.command({"RPUSH", key, "a", "b"}) == "+QUEUED\r\n");
    REQUIRE(producer.command({"LLEN", key}) == "+QUEUED\r\n");
    CHECK(producer.command({"EXEC"}) == "*2\r\n:2\r\n:2\r\n");
    CHECK(worker.reply() == "*2\r\n" + bulk(key) + bulk("a"));
    REQUIRE(producer.command({"MULTI"}) == "+OK\r\n");
    REQUIRE(producer.command({"LRANGE", key, "0", "-1"}) == "+QUEUED\r\n");
    CHECK(producer.command({"EXEC"}) == "*1\r\n*1\r\n" + bulk("b"));
    CHECK(parked(nodes) == 0);
  }
}

TEST_CASE("redis-py's Lock works through every node of a cluster",
          "[integration][transaction][scripting]") {
  auto nodes = start_cluster("txl", 3, {});
  REQUIRE(eventually(20s, [&] { return settled(nodes); }));
  auto [status, out] = run(kClient + "--locks" + ports(nodes));
  INFO(out);
  CHECK(status == 0);
  CHECK(out == "ok\n");
  for (const auto& n : nodes) CHECK(n->running());
}
