// Blocking commands across a cluster of real apiaryd processes: a client blocked through one
// node is served by a push through another, consumers share a queue without losing or
// repeating an element, timeouts, CLIENT UNBLOCK, clients that leave, fairness, and a
// coordinator killed while clients wait on it (docs/datatypes.md, "Blocking commands").
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "integration/support/cluster.hpp"
#include "integration/support/command_words.hpp"
#include "integration/support/redis_server.hpp"

using namespace apiary::test;
using namespace std::chrono_literals;

namespace {

// Commands parked at their keys' coordinators, over the whole cluster.
long long parked(const std::vector<std::unique_ptr<Daemon>>& nodes) {
  long long n = 0;
  for (const auto& d : nodes) {
    if (d->running()) n += info_field(*d, "cluster_parked_commands");
  }
  return n;
}

std::string bulk(const std::string& s) { return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n"; }

}  // namespace

TEST_CASE("a client blocked through one node is served by a push through another",
          "[integration][blocking]") {
  auto nodes = start_cluster("bk", 3, {});
  REQUIRE(eventually(10s, [&] { return settled(nodes); }));
  const std::string key = "jobs";
  const int owner = coordinator_of(nodes, key);
  REQUIRE(owner >= 0);
  const int far = (owner + 1) % 3;   // the blocked worker's node: not the coordinator
  const int near = (owner + 2) % 3;  // the producer's node: another one
  RespClient worker(nodes[far]->redis_port());
  worker.send_raw("*3\r\n$5\r\nBLPOP\r\n$4\r\njobs\r\n$1\r\n0\r\n");
  REQUIRE(eventually(5s, [&] { return parked(nodes) == 1; }));
  RespClient producer(nodes[near]->redis_port());
  const auto pushed = std::chrono::steady_clock::now();
  CHECK(producer.command({"RPUSH", key, "job-1"}) == ":1\r\n");
  CHECK(worker.reply() == "*2\r\n" + bulk(key) + bulk("job-1"));
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - pushed)
          .count();
  std::cout << "BLPOP on " << nodes[far]->name() << " served " << ms << " ms after RPUSH through "
            << nodes[near]->name() << " (coordinator " << nodes[owner]->name() << ")" << std::endl;
  CHECK(parked(nodes) == 0);
  CHECK(producer.command({"LLEN", key}) == ":0\r\n");

  SECTION("sorted sets too, and in RESP3") {
    RespClient z(nodes[far]->redis_port());
    REQUIRE(z.command({"HELLO", "3"}).rfind("%", 0) == 0);
    z.send_raw("*3\r\n$8\r\nBZPOPMIN\r\n$5\r\nboard\r\n$1\r\n0\r\n");
    REQUIRE(eventually(5s, [&] { return parked(nodes) == 1; }));
    CHECK(producer.command({"ZADD", "board", "2", "b", "1", "a"}) == ":2\r\n");
    CHECK(z.reply() == "*3\r\n" + bulk("board") + bulk("a") + ",1\r\n");
  }
  SECTION("a timeout answers null at the client's node") {
    CHECK(worker.command({"BLPOP", key, "0.2"}) == "*-1\r\n");
    CHECK(worker.command({"BLMOVE", key, "{jobs}x", "LEFT", "RIGHT", "0.1"}) == "*-1\r\n");
    CHECK(parked(nodes) == 0);
  }
  SECTION("CLIENT UNBLOCK on the blocked client's node releases it") {
    RespClient admin(nodes[far]->redis_port());
    const std::string id = worker.command({"CLIENT", "ID"}).substr(1);
    worker.send_raw("*3\r\n$5\r\nBRPOP\r\n$4\r\njobs\r\n$1\r\n0\r\n");
    REQUIRE(eventually(5s, [&] { return parked(nodes) == 1; }));
    CHECK(admin.command({"CLIENT", "UNBLOCK", id.substr(0, id.size() - 2)}) == ":1\r\n");
    CHECK(worker.reply() == "*-1\r\n");
    worker.send_raw("*3\r\n$5\r\nBRPOP\r\n$4\r\njobs\r\n$1\r\n0\r\n");
    REQUIRE(eventually(5s, [&] { return parked(nodes) == 1; }));
    CHECK(admin.command({"CLIENT", "UNBLOCK", id.substr(0, id.size() - 2), "ERROR"}) == ":1\r\n");
    CHECK(worker.reply() == "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
    CHECK(admin.command({"CLIENT", "UNBLOCK", id.substr(0, id.size() - 2)}) == ":0\r\n");
    CHECK(parked(nodes) == 0);
  }
  SECTION("a client that leaves takes nothing") {
    {
      RespClient gone(nodes[far]->redis_port());
      gone.send_raw("*3\r\n$5\r\nBLPOP\r\n$4\r\njobs\r\n$1\r\n0\r\n");
      REQUIRE(eventually(5s, [&] { return parked(nodes) == 1; }));
    }
    REQUIRE(eventually(5s, [&] { return parked(nodes) == 0; }));
    CHECK(producer.command({"RPUSH", key, "kept"}) == ":1\r\n");
    CHECK(worker.command({"BLPOP", key, "1"}) == "*2\r\n" + bulk(key) + bulk("kept"));
  }
  SECTION("clients are served in the order they blocked, whatever their node") {
    std::vector<std::unique_ptr<RespClient>> waiting;
    for (int i = 0; i < 6; ++i) {
      waiting.push_back(std::make_unique<RespClient>(nodes[i % 3]->redis_port()));
      waiting.back()->send_raw("*3\r\n$5\r\nBLPOP\r\n$4\r\njobs\r\n$1\r\n0\r\n");
      REQUIRE(eventually(5s, [&] { return parked(nodes) == i + 1; }));
    }
    for (int i = 0; i < 6; ++i) {
      CHECK(producer.command({"RPUSH", key, "e" + std::to_string(i)}) == ":1\r\n");
      CHECK(waiting[static_cast<std::size_t>(i)]->reply() ==
            "*2\r\n" + bulk(key) + bulk("e" + std::to_string(i)));
    }
  }
}

TEST_CASE("three producers and three consumers share a queue: every element once",
          "[integration][blocking]") {
  auto nodes = start_cluster("bq", 3, {});
  REQUIRE(eventually(10s, [&] { return settled(nodes); }));
  constexpr int kPerProducer = 1000;
  std::atomic<bool> done{false};
  std::vector<std::future<std::vector<std::string>>> consumers;
  for (int c = 0; c < 3; ++c) {
    consumers.push_back(std::async(std::launch::async, [&, c] {
      std::vector<std::string> got;
      RespClient client(nodes[static_cast<std::size_t>(c)]->redis_port());
      while (true) {
        const std::string r = client.command({"BLPOP", "queue", "0.5"});
        if (r == "*-1\r\n") {
          if (done) break;
          continue;
        }
        const auto at = r.rfind("$");
        const auto eol = r.find("\r\n", at);
        if (at == std::string::npos || eol == std::string::npos) {
          got.push_back("<bad reply " + r + ">");
          break;
        }
        got.push_back(r.substr(eol + 2, r.size() - eol - 4));
      }
      return got;
    }));
  }
  std::vector<std::future<int>> producers;
  for (int p = 0; p < 3; ++p) {
    producers.push_back(std::async(std::launch::async, [&, p] {
      // Through the next node, so that no producer shares a node with "its" consumer.
      RespClient client(nodes[static_cast<std::size_t>((p + 1) % 3)]->redis_port());
      int acked = 0;
      for (int i = 0; i < kPerProducer; ++i) {
        const std::string r = client.command({"RPUSH", "queue", std::to_string(p) + ":" +
                                                                    std::to_string(i)});
        if (!r.empty() && r[0] == ':') ++acked;
      }
      return acked;
    }));
  }
  int acked = 0;
  for (auto& p : producers) acked += p.get();
  REQUIRE(eventually(20s, [&] { return cli(*nodes[0], "LLEN queue") == "0\n"; }));
  done = true;
  std::map<std::string, int> seen;
  std::size_t total = 0;
  for (auto& c : consumers) {
    for (const auto& e : c.get()) {
      ++seen[e];
      ++total;
    }
  }
  int duplicates = 0, missing = 0;
  for (int p = 0; p < 3; ++p) {
    for (int i = 0; i < kPerProducer; ++i) {
      const auto it = seen.find(std::to_string(p) + ":" + std::to_string(i));
      if (it == seen.end()) {
        ++missing;
      } else if (it->second > 1) {
        duplicates += it->second - 1;
      }
    }
  }
  std::cout << "queue: " << acked << " pushes acknowledged, " << total << " pops, " << missing
            << " missing, " << duplicates << " duplicated" << std::endl;
  CHECK(acked == 3 * kPerProducer);
  CHECK(total == static_cast<std::size_t>(3 * kPerProducer));
  CHECK(missing == 0);
  CHECK(duplicates == 0);
}

TEST_CASE("a client waiting on a coordinator that dies is served by the next one",
          "[integration][blocking]") {
  auto nodes = start_cluster("bd", 3, {"--dead-grace-ms", "2000"});
  REQUIRE(eventually(10s, [&] { return settled(nodes); }));
  const std::string key = "work";
  const int owner = coordinator_of(nodes, key);
  REQUIRE(owner >= 0);
  const int far = (owner + 1) % 3;
  const int other = (owner + 2) % 3;
  RespClient worker(nodes[static_cast<std::size_t>(far)]->redis_port());
  worker.send_raw("*3\r\n$5\r\nBLPOP\r\n$4\r\nwork\r\n$2\r\n30\r\n");
  REQUIRE(eventually(5s, [&] { return parked(nodes) == 1; }));
  nodes[static_cast<std::size_t>(owner)]->kill_now();
  // Once the survivors see it dead, the worker waits at the new coordinator.
  REQUIRE(eventually(15s, [&] {
    return info_field(*nodes[static_cast<std::size_t>(far)], "cluster_alive_members") == 2 &&
           parked(nodes) == 1;
  }));
  RespClient producer(nodes[static_cast<std::size_t>(other)]->redis_port());
  CHECK(producer.command({"RPUSH", key, "after"}) == ":1\r\n");
  CHECK(worker.reply() == "*2\r\n" + bulk(key) + bulk("after"));
}
