// Hashes, sets and sorted sets on a cluster of three real apiaryd processes, checked as a user
// of one Redis server would: members added concurrently through three nodes all arrive,
// HINCRBYs and ZINCRBYs through three nodes add up exactly, a node killed during a SADD storm
// loses no acknowledged member, a leaderboard of 100,000 members answers its top ten and
// ranks through every node, and an application using hashes and sets with redis-py works
// through any node. The clients are tests/integration/clients/consistency_client.py and
// redis_py_collections.py.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "integration/support/cluster.hpp"
#include "integration/support/redis_server.hpp"

using namespace apiary::test;

namespace {

const std::string kClient =
    "/usr/bin/python3 " APIARY_SOURCE_DIR "/tests/integration/clients/consistency_client.py ";

// SMEMBERS through redis-cli, one member per line.
std::set<std::string> members(const Daemon& d, const std::string& key) {
  std::set<std::string> out;
  std::istringstream in(cli(d, "SMEMBERS " + key));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.insert(line);
  }
  return out;
}

}  // namespace

TEST_CASE("SADDs through three nodes at once all arrive", "[integration][collections]") {
  auto nodes = start_cluster("sa", 3, {});
  REQUIRE(eventually(20s, [&] { return settled(nodes); }));
  // Three clients, one per node, each pipelining 1,000 SADD of its own members, together.
  auto [status, out] = run(kClient + "sadd " + redis_ports(nodes) + " tags 1000");
  INFO(out);
  CHECK(status == 0);
  CHECK(json_field(out, "replies") == 3000);
  CHECK(json_field(out, "non_integer") == 0);
  CHECK(json_field(out, "added") == 3000);
  for (const auto& n : nodes) {
    CHECK(cli(*n, "SCARD tags") == "3000\n");
    std::cout << n->name() << ": delta writes " << info_field(*n, "cluster_delta_writes")
              << ", fallbacks " << info_field(*n, "cluster_delta_fallbacks") << ", timeouts "
              << info_field(*n, "cluster_write_timeouts") << std::endl;
  }
}

TEST_CASE("HINCRBYs of one field through three nodes add up exactly",
          "[integration][collections]") {
  auto nodes = start_cluster("hi", 3, {});
  REQUIRE(eventually(20s, [&] { return settled(nodes); }));
  auto [status, out] = run(kClient + "hincrby " + redis_ports(nodes) + " stats hits 1000");
  INFO(out);
  CHECK(status == 0);
  CHECK(json_field(out, "replies") == 3000);
  CHECK(json_field(out, "non_integer") == 0);
  CHECK(json_field(out, "duplicates") == 0);  // each HINCRBY handed out its own value
  CHECK(json_field(out, "max") == 3000);
  for (const auto& n : nodes) {
    INFO("node " << n->name());
    CHECK(eventually(10s, [&] { return cli(*n, "HGET stats hits") == "3000\n"; }));
  }
}

TEST_CASE("a node killed during a SADD storm loses no acknowledged member",
          "[integration][collections]") {
  auto nodes = start_cluster("ss", 3, {"--dead-grace-ms", "2000"});
  REQUIRE(eventually(20s, [&] { return settled(nodes); }));
  const std::string key = "storm:set";
  // Kill the key's coordinator: the one node that does not forward a write of it.
  int coordinator = -1;
  for (int i = 0; i < 3; ++i) {
    const long long before = info_field(*nodes[i], "cluster_commands_forwarded");
    REQUIRE(cli(*nodes[i], "SADD " + key + " seed" + std::to_string(i)) == "1\n");
    if (info_field(*nodes[i], "cluster_commands_forwarded") == before) coordinator = i;
  }
  REQUIRE(coordinator >= 0);
  std::vector<int> survivors;
  for (int i = 0; i < 3; ++i) {
    if (i != coordinator) survivors.push_back(i);
  }
  const auto dir = scratch_dir() / "sadd-storm";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string command =
      kClient + "storm " + redis_ports(nodes) + " " + key + " " + dir.string() + " 16 sadd";
  auto storm = std::async(std::launch::async, [command] { return run(command); });
  TouchOnExit stop{dir / "stop"};
  REQUIRE(eventually(10s, [&] { return std::filesystem::exists(dir / "started"); }));
  std::this_thread::sleep_for(1s);
  nodes[coordinator]->kill_now();
  for (int s : survivors) {
    CHECK(eventually(15s, [&] { return info_field(*nodes[s], "cluster_alive_members") == 2; }));
  }
  std::this_thread::sleep_for(3s);
  std::ofstream{dir / "stop"};
  const auto [status, out] = storm.get();
  INFO(out);
  CHECK(status == 0);

  std::set<std::string> acked{"seed0", "seed1", "seed2"};
  std::ifstream in(dir / "acked");
  for (std::string line; std::getline(in, line);) acked.insert(line);
  REQUIRE(acked.size() > 3);
  // Every acknowledged member is on both survivors once they agree.
  std::set<std::string> a, b;
  const bool agreed = eventually(20s, [&] {
    a = members(*nodes[survivors[0]], key);
    b = members(*nodes[survivors[1]], key);
    return a == b && std::includes(a.begin(), a.end(), acked.begin(), acked.end());
  });
  std::size_t missing = 0;
  for (const auto& m : acked) missing += a.count(m) == 0;
  std::cout << "SADD storm: killed " << nodes[coordinator]->name() << "; acknowledged "
            << acked.size() << ", ambiguous " << json_field(out, "ambiguous") << ", members "
            << a.size() << " and " << b.size() << " on the survivors, " << missing
            << " acknowledged missing" << std::endl;
  CHECK(agreed);
  CHECK(missing == 0);
  // Nothing but what the clients sent.
  for (const auto& m : a) CHECK((m.rfind("seed", 0) == 0 || m.rfind("c", 0) == 0));
}

TEST_CASE("an application's hashes and sets work through any node (redis-py)",
          "[integration][collections]") {
  auto nodes = start_cluster("rp", 3, {});
  auto [status, out] = run("/usr/bin/python3 " APIARY_SOURCE_DIR
                           "/tests/integration/clients/redis_py_collections.py " +
                           nodes[0]->redis_port() + " " + nodes[1]->redis_port() + " " +
                           nodes[2]->redis_port() + " 2>&1");
  INFO(out);
  CHECK(status == 0);
  CHECK(out == "ok\n");
}

TEST_CASE("a leaderboard of 100,000 members answers its top ten and ranks through every node",
          "[integration][collections][zset]") {
  auto nodes = start_cluster("lb", 3, {});
  REQUIRE(eventually(20s, [&] { return settled(nodes); }));
  // Distinct scores (7919 is prime to 100,000), loaded through one node 1,000 at a time.
  constexpr int kMembers = 100'000;
  std::vector<std::pair<long long, std::string>> model;
  {
    RespClient loader(nodes[0]->redis_port());
    std::vector<std::string> zadd;
    for (int i = 0; i < kMembers; ++i) {
      if (zadd.empty()) zadd = {"ZADD", "leaderboard"};
      const long long score = (static_cast<long long>(i) * 7919) % kMembers;
      model.emplace_back(score, "p" + std::to_string(i));
      zadd.push_back(std::to_string(score));
      zadd.push_back(model.back().second);
      if (zadd.size() == 2002) {
        REQUIRE(loader.command(zadd) == ":1000\r\n");
        zadd.clear();
      }
    }
  }
  std::sort(model.begin(), model.end());
  std::string top = "*20\r\n";
  for (int i = 0; i < 10; ++i) {
    const auto& [score, name] = model[static_cast<std::size_t>(kMembers - 1 - i)];
    const std::string s = std::to_string(score);
    top += "$" + std::to_string(name.size()) + "\r\n" + name + "\r\n$" +
           std::to_string(s.size()) + "\r\n" + s + "\r\n";
  }
  for (const auto& n : nodes) {
    INFO("node " << n->name());
    RespClient c(n->redis_port());
    CHECK(c.command({"ZCARD", "leaderboard"}) == ":100000\r\n");
    CHECK(c.command({"ZREVRANGE", "leaderboard", "0", "9", "WITHSCORES"}) == top);
    for (const int rank : {0, 1, 4242, 50'000, 99'998, 99'999}) {
      const std::string& name = model[static_cast<std::size_t>(rank)].second;
      CHECK(c.command({"ZRANK", "leaderboard", name}) == ":" + std::to_string(rank) + "\r\n");
      CHECK(c.command({"ZREVRANK", "leaderboard", name}) ==
            ":" + std::to_string(kMembers - 1 - rank) + "\r\n");
    }
    CHECK(c.command({"ZCOUNT", "leaderboard", "(1000", "2000"}) == ":1000\r\n");
  }
  // Every replica holds the whole leaderboard (a local read at each node agrees).
  for (const auto& n : nodes) {
    CHECK(eventually(10s, [&] { return cli(*n, "ZCARD leaderboard") == "100000\n"; }));
  }
}

TEST_CASE("ZINCRBYs of one member through three nodes add up exactly",
          "[integration][collections][zset]") {
  auto nodes = start_cluster("zi", 3, {});
  REQUIRE(eventually(20s, [&] { return settled(nodes); }));
  // Three clients, one per node, each sending 1,000 ZINCRBY of one member, together.
  std::vector<std::future<std::vector<std::string>>> clients;
  for (const auto& n : nodes) {
    clients.push_back(std::async(std::launch::async, [port = n->redis_port()] {
      RespClient c(port);
      std::vector<std::string> replies;
      for (int i = 0; i < 1000; ++i) replies.push_back(c.command({"ZINCRBY", "scores", "1", "m"}));
      return replies;
    }));
  }
  std::set<std::string> seen;
  std::size_t bulks = 0;
  for (auto& f : clients) {
    for (const auto& r : f.get()) {
      if (r.rfind("$", 0) == 0) ++bulks;
      seen.insert(r);
    }
  }
  CHECK(bulks == 3000);
  CHECK(seen.size() == 3000);  // each ZINCRBY handed out its own score
  for (const auto& n : nodes) {
    INFO("node " << n->name());
    CHECK(eventually(10s, [&] { return cli(*n, "ZSCORE scores m") == "3000\n"; }));
  }
  // Multi-key commands run where every key has one coordinator, as the set algebra does.
  RespClient c(nodes[0]->redis_port());
  CHECK(c.command({"ZUNIONSTORE", "{scores}copy", "1", "scores"}) == ":1\r\n");
  int crossslot = 0;
  for (int i = 0; i < 20; ++i) {
    const std::string reply =
        c.command({"ZUNIONSTORE", "dst", "2", "scores", "other" + std::to_string(i)});
    INFO(reply);
    CHECK((reply.rfind("-CROSSSLOT", 0) == 0 || reply.rfind(":", 0) == 0));
    crossslot += reply.rfind("-CROSSSLOT", 0) == 0;
  }
  CHECK(crossslot > 0);
}
