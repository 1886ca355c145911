// Lua scripts and functions on a 3-node cluster of real apiaryd processes, as users of a
// Redis would notice them: a rate limiter gives exact answers under concurrent callers through
// every node, a script that loops forever is stopped by SCRIPT KILL and the node serves again,
// EVALSHA works through every node (a node that joins later included) after one SCRIPT LOAD,
// and FUNCTION libraries reach every node and survive a restart (docs/scripting.md).
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "integration/support/cluster.hpp"
#include "integration/support/redis_server.hpp"

using namespace apiary::test;
using namespace std::chrono_literals;

namespace {

std::string bulk(const std::string& s) {
  return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

// A sliding-window limiter on a sorted set: at most ARGV[3] calls in ARGV[2] ms.
constexpr const char* kLimiter = R"(
local key, now, window, limit, id = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, id)
  redis.call('PEXPIRE', key, window)
  return 1
end
return 0)";

// A fixed-window counter with expiry: allowed while INCR stays at or under the limit.
constexpr const char* kCounter = R"(
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
if n > tonumber(ARGV[2]) then return 0 end
return 1)";

}  // namespace

TEST_CASE("a rate-limiter script gives exact answers under concurrent callers through every node",
          "[integration][scripting]") {
  auto nodes = start_cluster("rl", 3, {});
  REQUIRE(eventually(20s, [&] { return settled(nodes); }));
  RespClient loader(nodes[0]->redis_port());
  const std::string limiter_sha = loader.command({"SCRIPT", "LOAD", kLimiter});
  REQUIRE(limiter_sha.rfind("$40\r\n", 0) == 0);
  const std::string sha = limiter_sha.substr(5, 40);

  // Six callers, two per node, 120 calls each against limits of 137 (sliding window) and 301
  // (counter): exactly that many are allowed, whatever node they came through.
  constexpr int kCallers = 6;
  constexpr int kCalls = 120;
  std::atomic<int> allowed_window{0};
  std::atomic<int> allowed_counter{0};
  std::atomic<int> errors{0};
  std::vector<std::future<void>> callers;
  for (int c = 0; c < kCallers; ++c) {
    callers.push_back(std::async(std::launch::async, [&, c] {
      RespClient client(nodes[c % 3]->redis_port());
      for (int i = 0; i < kCalls; ++i) {
        const std::string id = std::to_string(c) + "-" + std::to_string(i);
        const std::string a = client.command(
            {"EVALSHA", sha, "1", "{api}:window", "1000000", "3600000", "137", id});
        const std::string b =
            client.command({"EVAL", kCounter, "1", "{api}:count", "3600", "301"});
        if (a == ":1\r\n") ++allowed_window;
        if (b == ":1\r\n") ++allowed_counter;
        if (a[0] != ':' || b[0] != ':') ++errors;
      }
    }));
  }
  for (auto& f : callers) f.get();
  CHECK(errors == 0);
  CHECK(allowed_window == 137);
  CHECK(allowed_counter == 301);
  // Every node's answer agrees with what the script let through (a read through a replica
  // that W=2 did not wait for may lag a moment).
  for (const auto& n : nodes) {
    RespClient c(n->redis_port());
    CHECK(eventually(5s, [&] {
      return c.command({"ZCARD", "{api}:window"}) == ":137\r\n" &&
             c.command({"GET", "{api}:count"}) == bulk(std::to_string(kCallers * kCalls));
    }));
  }
}

TEST_CASE("a script that loops forever is stopped by SCRIPT KILL and the node keeps serving",
          "[integration][scripting]") {
  auto nodes = start_cluster("sk", 3, {});
  for (const auto& n : nodes) {
    RespClient c(n->redis_port());
    REQUIRE(c.command({"CONFIG", "SET", "busy-reply-threshold", "200"}) == "+OK\r\n");
  }
  auto looping = std::async(std::launch::async, [&] {
    RespClient c(nodes[0]->redis_port());
    return c.command({"EVAL", "local i = 0 while true do i = i + 1 end", "1", "spin"});
  });
  // The node running it (the key's coordinator) answers BUSY; the others serve as usual.
  Daemon* busy = nullptr;
  REQUIRE(eventually(10s, [&] {
    for (const auto& n : nodes) {
      RespClient c(n->redis_port());
      const std::string pong = c.command({"PING"});
      if (pong.rfind("-BUSY Redis is busy running a script.", 0) == 0) busy = n.get();
    }
    return busy != nullptr;
  }));
  {
    RespClient c(busy->redis_port());
    CHECK(c.command({"FUNCTION", "STATS"}).find("running_script") != std::string::npos);
    CHECK(c.command({"FUNCTION", "KILL"}) == "-NOTBUSY No scripts in execution right now.\r\n");
    CHECK(c.command({"SCRIPT", "KILL"}) == "+OK\r\n");
  }
  const std::string killed = looping.get();
  CHECK(killed.rfind("-ERR Script killed by user with SCRIPT KILL...", 0) == 0);
  for (const auto& n : nodes) {
    RespClient c(n->redis_port());
    CHECK(c.command({"PING"}) == "+PONG\r\n");
    CHECK(c.command({"SET", "after", "1"}) == "+OK\r\n");
    CHECK(c.command({"SCRIPT", "KILL"}) == "-NOTBUSY No scripts in execution right now.\r\n");
  }

  // A script that wrote cannot be killed; it ends on its own (here: after a bounded loop of a
  // few seconds). Sent to the coordinator itself: through another node the forward would give
  // up after 3 s (docs/scripting.md).
  auto writing = std::async(std::launch::async, [&] {
    RespClient c(busy->redis_port());
    std::string reply = c.command(
        {"EVAL",
         "redis.call('SET', KEYS[1], 'x') local t = 0 for i = 1, 500000000 do t = t + i end "
         "return 'done'",
         "1", "spin"});
    while (reply == "<timeout>") reply = c.reply();  // RespClient gives up every 5 s
    return reply;
  });
  bool unkillable = false;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!unkillable && std::chrono::steady_clock::now() < deadline &&
         writing.wait_for(0ms) != std::future_status::ready) {
    RespClient c(busy->redis_port());
    const std::string r = c.command({"SCRIPT", "KILL"});
    unkillable = r.rfind("-UNKILLABLE", 0) == 0;
    std::this_thread::sleep_for(20ms);
  }
  CHECK(unkillable);
  CHECK(writing.get() == bulk("done"));
  for (const auto& n : nodes) CHECK(n->running());
}

TEST_CASE("EVALSHA and FCALL work through every node after one SCRIPT LOAD or FUNCTION LOAD",
          "[integration][scripting]") {
  const auto dir = scratch_dir() / ("functions-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto nodes = start_cluster("ev", 3, {});
  RespClient first(nodes[0]->redis_port());
  const std::string loaded =
      first.command({"SCRIPT", "LOAD", "return redis.call('INCRBY', KEYS[1], ARGV[1])"});
  REQUIRE(loaded.rfind("$40\r\n", 0) == 0);
  const std::string sha = loaded.substr(5, 40);
  REQUIRE(first.command({"FUNCTION", "LOAD",
                         "#!lua name=lib\nredis.register_function('add', function(keys, args) "
                         "return redis.call('INCRBY', keys[1], args[1]) end)"}) ==
          bulk("lib"));
  // Telling the others does not wait: they have it soon after.
  REQUIRE(eventually(5s, [&] {
    for (const auto& n : nodes) {
      RespClient c(n->redis_port());
      if (c.command({"SCRIPT", "EXISTS", sha}) != "*1\r\n:1\r\n") return false;
    }
    return true;
  }));
  long long total = 0;
  for (int round = 0; round < 3; ++round) {
    for (const auto& n : nodes) {
      RespClient c(n->redis_port());
      CHECK(c.command({"EVALSHA", sha, "1", "sum", "2"})[0] == ':');
      CHECK(c.command({"FCALL", "add", "1", "sum", "3"})[0] == ':');
      total += 5;
    }
  }
  // Read at the coordinator's pace: a read through another owner (R=1) may lag by a write.
  CHECK(eventually(5s, [&] { return first.command({"GET", "sum"}) == bulk(std::to_string(total)); }));

  // A node that joins later (with a data directory) catches up from the others, and keeps
  // the libraries over a restart.
  std::filesystem::create_directories(dir);
  auto late = std::make_unique<Daemon>(
      "ev4", std::vector<std::string>{"--seeds", nodes[0]->gossip(), "--dir", dir.string()});
  REQUIRE(eventually(10s, [&] {
    RespClient c(late->redis_port());
    return c.command({"SCRIPT", "EXISTS", sha}) == "*1\r\n:1\r\n" &&
           c.command({"FUNCTION", "LIST"}).find("add") != std::string::npos;
  }));
  {
    RespClient c(late->redis_port());
    CHECK(c.command({"EVALSHA", sha, "1", "sum", "1"})[0] == ':');
    CHECK(c.command({"FCALL", "add", "1", "sum", "1"})[0] == ':');
  }
  REQUIRE(std::filesystem::exists(dir / "functions.rdb"));
  late->signal(SIGTERM);
  CHECK(late->wait_exit(30s) == 0);
  // Alone this time (no seeds): the libraries come from its own file.
  auto alone = std::make_unique<Daemon>("ev5", std::vector<std::string>{"--dir", dir.string()});
  RespClient c(alone->redis_port());
  CHECK(c.command({"FUNCTION", "LIST"}).find("add") != std::string::npos);
  CHECK(c.command({"FCALL", "add", "1", "solo", "7"}) == ":7\r\n");
  CHECK(c.command({"SCRIPT", "EXISTS", sha}) == "*1\r\n:0\r\n");  // scripts are a cache
  std::filesystem::remove_all(dir);
}

TEST_CASE("a long script does not get its node suspected by the others",
          "[integration][scripting]") {
  auto nodes = start_cluster("ka", 3, {});
  for (const auto& n : nodes) {
    RespClient c(n->redis_port());
    REQUIRE(c.command({"CONFIG", "SET", "busy-reply-threshold", "6000"}) == "+OK\r\n");
  }
  // It runs at the key's coordinator, whichever member that is.
  const std::string key = "long-script";
  auto looping = std::async(std::launch::async, [&] {
    RespClient c(nodes[0]->redis_port());
    std::string reply = c.command({"EVAL", "local i = 0 while true do i = i + 1 end", "1", key});
    while (reply == "<timeout>") reply = c.reply();  // RespClient gives up every 5 s
    return reply;
  });
  // Well past the failure detector's probe timeout (500 ms) and into a suspicion's start: the
  // node running the script still answers probes, so every member still sees all alive.
  std::this_thread::sleep_for(4s);
  for (const auto& n : nodes) {
    const auto members = http_get(n->http(), "/v1/members");
    if (!members) continue;  // the busy node's admin port answers too, but need not
    INFO(n->name() << ": " << *members);
    CHECK(members->find("suspect") == std::string::npos);
    CHECK(members->find("\"dead\"") == std::string::npos);
  }
  // Then SCRIPT KILL on whichever node answers BUSY (the key's coordinator).
  bool killed = false;
  Daemon* busy = nullptr;
  REQUIRE(eventually(15s, [&] {
    for (const auto& n : nodes) {
      RespClient c(n->redis_port());
      if (c.command({"PING"}).rfind("-BUSY", 0) == 0) {
        busy = n.get();
        killed = c.command({"SCRIPT", "KILL"}) == "+OK\r\n";
      }
    }
    return killed;
  }));
  // Its caller hears of the kill when it is connected to the coordinator; through another
  // node the forward gave up after its timeout (3 s) with CLUSTERDOWN while the script ran on
  // (docs/scripting.md, "Time limit").
  const std::string reply = looping.get();
  INFO(reply);
  if (busy == nodes[0].get()) {
    CHECK(reply.rfind("-ERR Script killed by user", 0) == 0);
  } else {
    CHECK(reply.rfind("-CLUSTERDOWN", 0) == 0);
  }
  for (const auto& n : nodes) CHECK(cli(*n, "PING") == "PONG\n");
}
