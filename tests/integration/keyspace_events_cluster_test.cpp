// Keyspace events on a 3-node cluster of real apiaryd processes: an event is published once for
// the cluster, by the node where it happened (the key's coordinator for a write or an expiry),
// and reaches a subscriber on any node. Keys written with a short TTL through node 1 each give
// exactly one `expired` event at a subscriber on node 3; a SET through node 1 gives its
// `__keyspace@0__:<key>` message to a subscriber on node 2.
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "integration/support/cluster.hpp"
#include "integration/support/subscriber.hpp"

using namespace apiary::test;
using namespace std::chrono_literals;

namespace {

void set_flags(const std::vector<std::unique_ptr<Daemon>>& nodes, const std::string& flags) {
  for (const auto& n : nodes) {
    RespClient c(n->redis_port());
    REQUIRE(c.command({"CONFIG", "SET", "notify-keyspace-events", flags}) == "+OK\r\n");
  }
}

// Every message `sub` receives within `window` (after the last one), as {channel, payload}.
std::vector<std::pair<std::string, std::string>> drain(Subscriber& sub,
                                                       std::chrono::milliseconds window) {
  std::vector<std::pair<std::string, std::string>> out;
  while (auto v = sub.next(window)) {
    const auto t = v->texts();
    if (t.size() == 3 && t[0] == "message") out.emplace_back(t[1], t[2]);
    if (t.size() == 4 && t[0] == "pmessage") out.emplace_back(t[2], t[3]);
  }
  return out;
}

}  // namespace

TEST_CASE("keyspace_events: events reach subscribers on every node, once per event",
          "[integration][keyspace_events][cluster]") {
  auto nodes = start_cluster("kev", 3, {});
  REQUIRE(eventually(10s, [&] { return settled(nodes); }));

  SECTION("one expired event per key, at a subscriber on another node") {
    set_flags(nodes, "Ex");
    Subscriber sub(nodes[2]->redis_port());
    REQUIRE(sub.command({"SUBSCRIBE", "__keyevent@0__:expired"}).find("subscribe") !=
            std::string::npos);
    std::this_thread::sleep_for(300ms);  // the other nodes learn of the subscription
    RespClient writer(nodes[0]->redis_port());
    std::vector<std::string> keys;
    for (int i = 0; i < 12; ++i) keys.push_back("ttl:" + std::to_string(i));
    for (const auto& k : keys) {
      REQUIRE(writer.command({"SET", k, "v", "PX", "200"}) == "+OK\r\n");
    }
    // Active expiry runs every 100 ms on each node; the coordinator reports its key.
    std::map<std::string, int> seen;
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline && seen.size() < keys.size()) {
      for (const auto& [channel, key] : drain(sub, 200ms)) {
        CHECK(channel == "__keyevent@0__:expired");
        ++seen[key];
      }
    }
    // Anything late would be a second report of the same expiry.
    for (const auto& [channel, key] : drain(sub, 1s)) ++seen[key];
    for (const auto& k : keys) {
      INFO("key " << k);
      CHECK(seen[k] == 1);
    }
    CHECK(seen.size() == keys.size());
  }

  SECTION("one keymiss per missed read, at a subscriber on another node") {
    set_flags(nodes, "Em");
    Subscriber sub(nodes[2]->redis_port());
    REQUIRE(sub.command({"SUBSCRIBE", "__keyevent@0__:keymiss"}).find("subscribe") !=
            std::string::npos);
    std::this_thread::sleep_for(300ms);
    RespClient reader(nodes[0]->redis_port());
    std::vector<std::string> keys;
    for (int i = 0; i < 8; ++i) keys.push_back("missing:" + std::to_string(i));
    for (const auto& k : keys) REQUIRE(reader.command({"GET", k}) == "$-1\r\n");
    std::map<std::string, int> seen;
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline && seen.size() < keys.size()) {
      for (const auto& [channel, key] : drain(sub, 200ms)) ++seen[key];
    }
    for (const auto& [channel, key] : drain(sub, 500ms)) ++seen[key];
    for (const auto& k : keys) {
      INFO("key " << k);
      CHECK(seen[k] == 1);
    }
    CHECK(seen.size() == keys.size());
  }

  SECTION("a write through node 1 is seen by a subscriber on node 2") {
    set_flags(nodes, "KEA");
    Subscriber sub(nodes[1]->redis_port());
    REQUIRE(sub.command({"PSUBSCRIBE", "__keyspace@0__:*"}).find("psubscribe") !=
            std::string::npos);
    std::this_thread::sleep_for(300ms);
    RespClient writer(nodes[0]->redis_port());
    std::vector<std::string> keys;
    for (int i = 0; i < 6; ++i) keys.push_back("k" + std::to_string(i));
    for (const auto& k : keys) REQUIRE(writer.command({"SET", k, "v"}) == "+OK\r\n");
    REQUIRE(writer.command({"DEL", keys[0]}) == ":1\r\n");
    std::map<std::string, std::vector<std::string>> events;  // per key, in order
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    std::size_t received = 0;
    while (std::chrono::steady_clock::now() < deadline && received < keys.size() + 1) {
      for (const auto& [channel, event] : drain(sub, 200ms)) {
        CHECK(channel.rfind("__keyspace@0__:", 0) == 0);
        events[channel.substr(15)].push_back(event);
        ++received;
      }
    }
    for (const auto& [channel, event] : drain(sub, 500ms))
      events[channel.substr(15)].push_back(event);
    for (const auto& k : keys) {
      INFO("key " << k);
      CHECK(events[k] == (k == keys[0] ? std::vector<std::string>{"set", "del"}
                                       : std::vector<std::string>{"set"}));
    }
    CHECK(events.size() == keys.size());
  }
}
