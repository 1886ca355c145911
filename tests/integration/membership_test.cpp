// Real apiaryd processes on loopback: join by seeds, failure detection, graceful leave and
// rejoin after a restart, as an operator would see them through the HTTP admin port.
#include <catch2/catch.hpp>
#include <memory>

#include "integration/support/daemon.hpp"

using namespace apiary::test;

namespace {

bool all_see(const std::vector<std::unique_ptr<Daemon>>& observers, const std::string& name,
             const std::string& state) {
  for (const auto& d : observers) {
    if (!d || !d->running()) continue;
    auto states = member_states(d->http());
    auto it = states.find(name);
    if (it == states.end() || it->second != state) return false;
  }
  return true;
}

std::string describe(const std::vector<std::unique_ptr<Daemon>>& nodes) {
  std::string out;
  for (const auto& d : nodes) {
    if (!d || !d->running()) continue;
    out += d->name() + " sees:";
    for (const auto& [n, s] : member_states(d->http())) out += " " + n + "=" + s;
    out += "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("five apiaryd nodes find each other, detect a kill, see a leave and a rejoin",
          "[integration][membership]") {
  std::vector<std::unique_ptr<Daemon>> nodes;
  nodes.push_back(std::make_unique<Daemon>("n0", std::vector<std::string>{}));
  const std::string seed = nodes[0]->gossip();
  for (int i = 1; i < 5; ++i) {
    nodes.push_back(std::make_unique<Daemon>("n" + std::to_string(i),
                                             std::vector<std::string>{"--seeds", seed}));
  }

  // 1. Convergence: every node sees 5 alive members.
  const bool converged = eventually(15s, [&] {
    for (const auto& d : nodes) {
      auto states = member_states(d->http());
      if (states.size() != 5) return false;
      for (const auto& [name, state] : states) {
        if (state != "alive") return false;
      }
    }
    return true;
  });
  INFO(describe(nodes));
  REQUIRE(converged);

  // Every node computes the same partition table from the same live members.
  auto first = http_get(nodes[0]->http(), "/v1/partitions");
  REQUIRE(first);
  CHECK(first->find("\"partition_count\":1024,\"replicas\":3") != std::string::npos);
  for (int i = 0; i < 5; ++i) {
    CHECK(first->find("\"n" + std::to_string(i) + "\":") != std::string::npos);
  }
  CHECK(eventually(5s, [&] {
    for (const auto& d : nodes) {
      if (http_get(d->http(), "/v1/partitions") != first) return false;
    }
    return true;
  }));

  // 2. kill -9: the others declare it dead within the suspicion bound. With the LAN defaults
  // and 5 members: up to one probe round to notice (<= 5 s), then a suspicion timeout that
  // starts at 6 x 4 s and shrinks to 4 s with confirmations; 35 s is a generous bound.
  nodes[4]->kill_now();
  const bool dead_seen = eventually(35s, [&] { return all_see(nodes, "n4", "dead"); });
  INFO(describe(nodes));
  REQUIRE(dead_seen);

  // 3. SIGTERM: a graceful leave is seen as `left` within a few seconds, and the process exits
  // cleanly.
  nodes[3]->signal(SIGTERM);
  CHECK(nodes[3]->wait_exit(10s) == 0);
  const bool left_seen = eventually(5s, [&] { return all_see(nodes, "n3", "left"); });
  INFO(describe(nodes));
  REQUIRE(left_seen);

  // 4. The killed node restarts with the same name and becomes alive everywhere again.
  nodes[4] = std::make_unique<Daemon>("n4", std::vector<std::string>{"--seeds", seed});
  const bool rejoined = eventually(15s, [&] { return all_see(nodes, "n4", "alive"); });
  INFO(describe(nodes));
  REQUIRE(rejoined);
  // And it sees the survivors alive itself.
  auto view = member_states(nodes[4]->http());
  CHECK(view["n0"] == "alive");
  CHECK(view["n1"] == "alive");
  CHECK(view["n2"] == "alive");
}

TEST_CASE("apiaryd rejects wrong flags with exit code 2 and a message", "[integration][cli]") {
  auto run = [](std::vector<std::string> args) {
    std::string cmd = std::string(APIARYD_PATH);
    for (auto& a : args) cmd += " '" + a + "'";
    cmd += " >/dev/null 2>&1";
    const int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  CHECK(run({"--no-such-flag"}) == 2);
  CHECK(run({"--gossip-addr", "nonsense"}) == 2);
  CHECK(run({"--gossip-addr", "127.0.0.1:99999"}) == 2);
  CHECK(run({"--seeds", "a:1,bad"}) == 2);
  CHECK(run({"--log-level", "loud"}) == 2);
  CHECK(run({"--maxmemory", "lots"}) == 2);
  CHECK(run({"--maxmemory-policy", "sometimes"}) == 2);
  CHECK(run({"--port", "70000"}) == 2);
  CHECK(run({"--help"}) == 0);
}

TEST_CASE("the apiary CLI prints the member table", "[integration][cli]") {
  Daemon node("solo", {});
  const std::string out_path = (scratch_dir() / "members.txt").string();
  const std::string cmd =
      std::string(APIARY_CLI_PATH) + " members --http " + node.http() + " > " + out_path + " 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::ifstream in(out_path);
  std::stringstream text;
  text << in.rdbuf();
  CHECK(text.str().find("NAME") != std::string::npos);
  CHECK(text.str().find("* solo") != std::string::npos);
  CHECK(text.str().find("alive") != std::string::npos);
  CHECK(text.str().find(node.gossip()) != std::string::npos);
}
