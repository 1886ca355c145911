// Transactions on a cluster of three real apiaryd processes, used as an application uses them
// with redis-py (tests/integration/clients/redis_py_transactions.py): transactional pipelines
// through every node, WATCH-based optimistic locking from six threads on three nodes whose
// counter comes out exact, and concurrent transfers between two accounts that conserve the
// total; and redis-py's Lock, which needs Lua scripting (hidden until EVALSHA exists).
#include <catch2/catch.hpp>
#include <iostream>
#include <string>

#include "integration/support/cluster.hpp"

using namespace apiary::test;

namespace {

const std::string kClient =
    "/usr/bin/python3 " APIARY_SOURCE_DIR "/tests/integration/clients/redis_py_transactions.py ";

std::string ports(const std::vector<std::unique_ptr<Daemon>>& nodes) {
  std::string out;
  for (const auto& n : nodes) out += " " + n->redis_port();
  return out;
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

TEST_CASE("redis-py's Lock works through every node of a cluster",
          "[integration][transaction][.scripting]") {
  auto nodes = start_cluster("txl", 3, {});
  REQUIRE(eventually(20s, [&] { return settled(nodes); }));
  auto [status, out] = run(kClient + "--locks" + ports(nodes));
  INFO(out);
  CHECK(status == 0);
  CHECK(out == "ok\n");
  for (const auto& n : nodes) CHECK(n->running());
}
