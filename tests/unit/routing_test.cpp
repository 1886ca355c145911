// The Router makes a cluster of nodes answer like one Redis server: what a client reads from
// any node, byte for byte, for owned, forwarded, quorum and split commands.
#include <catch2/catch.hpp>

#include "support/routing_harness.hpp"

using apiary::test::bulk;
using apiary::test::resp_cmd;
using apiary::test::RouterCluster;
using apiary::test::routing_config;
using namespace std::chrono_literals;

namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// The first key `prefix<i>` whose preference list is exactly `order`.
std::string key_with_owners(const RouterCluster& c, const std::vector<std::size_t>& order,
                            const std::string& prefix) {
  for (int i = 0; i < 100000; ++i) {
    std::string k = prefix + std::to_string(i);
    if (c.owners(k) == order) return k;
  }
  return {};
}

// The keys `prefix<i>` owned (first owner) by node 0, 1 and 2 in `c`'s ring.
struct Keys {
  std::string on0, on1, on2;
  explicit Keys(const RouterCluster& c, const std::string& prefix = "key")
      : on0(c.key_owned_by(0, prefix)),
        on1(c.key_owned_by(1, prefix)),
        on2(c.key_owned_by(2, prefix)) {}
};

}  // namespace

TEST_CASE("Router: N=3 W=2: a write is acknowledged only after a peer holds it", "[routing]") {
  RouterCluster c(3, routing_config(3, 2, 1));
  const std::string key = c.key_owned_by(0, "greeting");  // node 0 coordinates it
  const auto client = c.connect(0);
  c.hold(1);
  c.hold(2);
  CHECK(c.call(client, {"SET", key, "hello"}).empty());  // waiting for one ack
  CHECK(c.router(0).pending() != 0);
  c.release(1);
  CHECK(c.read(client) == "+OK\r\n");
  c.release(2);
  for (std::size_t i = 0; i < 3; ++i) {
    INFO("node " << i);
    CHECK(c.value(i, key) == std::optional<std::string>("hello"));
  }
  CHECK(c.call(client, {"GET", key}) == bulk("hello"));
  CHECK(c.router(0).pending() == 0);
}

TEST_CASE("Router: W=2 without reachable peers: NOREPLICAS after write_timeout, pipeline continues",
          "[routing]") {
  RouterCluster c(3, routing_config(3, 2, 1));
  const std::string key = c.key_owned_by(0, "k");
  const auto client = c.connect(0);
  c.drop(1);
  c.drop(2);
  c.feed(client, resp_cmd({"SET", key, "v"}) + resp_cmd({"GET", key}) + resp_cmd({"PING"}));
  CHECK(c.read(client).empty());
  c.advance(c.config().write_timeout + 1ms);
  const std::string out = c.read(client);
  INFO(out);
  REQUIRE(starts_with(out, "-NOREPLICAS "));
  const auto err_end = out.find("\r\n");
  REQUIRE(err_end != std::string::npos);
  // The write stays applied on the coordinator (as the error says), and the commands after it
  // ran in order.
  CHECK(out.substr(err_end + 2) == bulk("v") + "+PONG\r\n");
  CHECK(c.router(0).stats().write_failures == 1);
}

TEST_CASE("Router: W=2 with both peers known down answers NOREPLICAS at once", "[routing]") {
  RouterCluster c(3, routing_config(3, 2, 1));
  c.set_views({1, 2});
  const auto client = c.connect(0);
  CHECK(starts_with(c.call(client, {"SET", "k", "v"}), "-NOREPLICAS "));
  CHECK(c.call(client, {"PING"}) == "+PONG\r\n");
}

TEST_CASE("Router: N=1: commands on keys owned elsewhere are forwarded and the reply relayed",
          "[routing]") {
  RouterCluster c(3, routing_config(1, 1, 1));
  const Keys k(c);
  const auto client = c.connect(0);
  CHECK(c.call(client, {"SET", k.on1, "one"}) == "+OK\r\n");
  CHECK(c.call(client, {"SET", k.on2, "two"}) == "+OK\r\n");
  CHECK(c.call(client, {"SET", k.on0, "zero"}) == "+OK\r\n");
  CHECK(c.call(client, {"GET", k.on1}) == bulk("one"));
  CHECK(c.call(client, {"GET", k.on2}) == bulk("two"));
  CHECK(c.call(client, {"APPEND", k.on1, "!"}) == ":4\r\n");
  CHECK(c.call(client, {"GET", k.on1}) == bulk("one!"));
  CHECK(c.call(client, {"GET", c.key_owned_by(2, "missing")}) == "$-1\r\n");
  // Only the owner stores the key.
  CHECK(c.value(1, k.on1) == std::optional<std::string>("one!"));
  CHECK_FALSE(c.value(0, k.on1));
  CHECK_FALSE(c.value(2, k.on1));
  CHECK(c.value(2, k.on2) == std::optional<std::string>("two"));
  CHECK_FALSE(c.value(0, k.on2));
  CHECK_FALSE(c.value(1, k.on2));
  CHECK(c.value(0, k.on0) == std::optional<std::string>("zero"));
  CHECK_FALSE(c.value(1, k.on0));
  CHECK(c.router(0).stats().forwarded == 7);
  CHECK(c.router(1).stats().run_for_peers == 4);
}

TEST_CASE("Router: N=1: a forward whose owner never answers ends in CLUSTERDOWN", "[routing]") {
  RouterCluster c(3, routing_config(1, 1, 1));
  const Keys k(c);
  const auto client = c.connect(0);
  c.drop(2);
  c.feed(client, resp_cmd({"GET", k.on2}) + resp_cmd({"SET", k.on1, "after"}));
  CHECK(c.read(client).empty());
  c.advance(c.config().forward_timeout * 3);
  const std::string out = c.read(client);
  INFO(out);
  REQUIRE(starts_with(out, "-CLUSTERDOWN "));
  CHECK(out.substr(out.find("\r\n") + 2) == "+OK\r\n");
  CHECK(c.value(1, k.on1) == std::optional<std::string>("after"));
  CHECK(c.router(0).pending() == 0);
}

TEST_CASE("Router: N=1: a key whose owner is known down answers CLUSTERDOWN at once", "[routing]") {
  RouterCluster c(3, routing_config(1, 1, 1));
  const Keys k(c);
  c.set_views({2});
  const auto client = c.connect(0);
  CHECK(starts_with(c.call(client, {"GET", k.on2}), "-CLUSTERDOWN "));
  CHECK(c.call(client, {"GET", k.on1}) == "$-1\r\n");
}

TEST_CASE("Router: N=2: a forward to a silent owner is retried on the next owner", "[routing]") {
  RouterCluster c(3, routing_config(2, 1, 1));
  // A key node 0 does not own, so the client's node must forward it.
  std::string key;
  for (int i = 0; key.empty(); ++i) {
    const std::string candidate = "r" + std::to_string(i);
    const auto o = c.owners(candidate);
    if (std::find(o.begin(), o.end(), 0) == o.end()) key = candidate;
  }
  const auto owners = c.owners(key);
  const auto client = c.connect(0);
  CHECK(c.call(client, {"SET", key, "v"}) == "+OK\r\n");
  c.drop(owners[0]);
  c.feed(client, resp_cmd({"GET", key}));
  c.advance(c.config().forward_timeout - 1ms);
  CHECK(c.read(client).empty());  // the first owner may still answer
  c.advance(2ms);
  CHECK(c.read(client) == bulk("v"));  // the second owner did
  c.drop(owners[1]);
  c.feed(client, resp_cmd({"GET", key}));
  c.advance(c.config().forward_timeout * 2 + 1ms);
  CHECK(starts_with(c.read(client), "-CLUSTERDOWN "));
}

TEST_CASE("Router: A forwarded read replies in the client's protocol", "[routing]") {
  RouterCluster c(3, routing_config(1, 1, 1));
  const std::string missing = c.key_owned_by(1, "nothing");
  const auto v3 = c.connect(0);
  const auto v2 = c.connect(0);
  REQUIRE(starts_with(c.call(v3, {"HELLO", "3"}), "%"));
  CHECK(c.call(v3, {"GET", missing}) == "_\r\n");
  CHECK(c.call(v2, {"GET", missing}) == "$-1\r\n");
  // A fanned-out MGET keeps each part's nil in the client's protocol too.
  const std::string here = c.key_owned_by(0, "nothing");
  CHECK(c.call(v3, {"MGET", here, missing}) == "*2\r\n_\r\n_\r\n");
  CHECK(c.call(v2, {"MGET", here, missing}) == "*2\r\n$-1\r\n$-1\r\n");
}

TEST_CASE("Router: Multi-key commands across owners are split and merged like one server",
          "[routing]") {
  RouterCluster c(3, routing_config(1, 1, 1));
  const Keys k(c);
  const Keys nil(c, "absent");
  const auto client = c.connect(0);

  CHECK(c.call(client, {"MSET", k.on2, "c", k.on0, "a", k.on1, "b"}) == "+OK\r\n");
  CHECK(c.value(0, k.on0) == std::optional<std::string>("a"));
  CHECK(c.value(1, k.on1) == std::optional<std::string>("b"));
  CHECK(c.value(2, k.on2) == std::optional<std::string>("c"));
  CHECK_FALSE(c.value(0, k.on1));
  CHECK_FALSE(c.value(0, k.on2));
  CHECK(c.router(0).stats().fanned_out == 1);

  CHECK(c.call(client, {"MGET", k.on1, nil.on0, k.on0, k.on2, nil.on2, k.on1}) ==
        "*6\r\n" + bulk("b") + "$-1\r\n" + bulk("a") + bulk("c") + "$-1\r\n" + bulk("b"));

  // Redis counts a repeated key once per mention in EXISTS.
  CHECK(c.call(client, {"EXISTS", k.on1, k.on1, k.on0, nil.on2}) == ":3\r\n");
  CHECK(c.call(client, {"EXISTS", k.on2, k.on2}) == ":2\r\n");
  CHECK(c.call(client, {"TOUCH", k.on0, k.on1, k.on2, nil.on1}) == ":3\r\n");
  // ... and deletes it once in DEL.
  CHECK(c.call(client, {"DEL", k.on1, k.on2, k.on1, nil.on0}) == ":2\r\n");
  CHECK_FALSE(c.value(1, k.on1));
  CHECK_FALSE(c.value(2, k.on2));
  CHECK(c.call(client, {"MGET", k.on0, k.on1, k.on2}) == "*3\r\n" + bulk("a") + "$-1\r\n$-1\r\n");
  CHECK(c.call(client, {"UNLINK", k.on0, k.on1}) == ":1\r\n");
  CHECK(c.router(0).pending() == 0);
}

TEST_CASE("Router: A split command with an unreachable part answers CLUSTERDOWN as a whole",
          "[routing]") {
  RouterCluster c(3, routing_config(1, 1, 1));
  const Keys k(c);
  const auto client = c.connect(0);
  CHECK(c.call(client, {"MSET", k.on0, "a", k.on1, "b", k.on2, "c"}) == "+OK\r\n");
  c.drop(2);
  c.feed(client, resp_cmd({"MGET", k.on0, k.on1, k.on2}) + resp_cmd({"GET", k.on1}));
  CHECK(c.read(client).empty());
  c.advance(c.config().forward_timeout * 3);
  const std::string out = c.read(client);
  INFO(out);
  REQUIRE(starts_with(out, "-CLUSTERDOWN "));
  CHECK(out.substr(out.find("\r\n") + 2) == bulk("b"));
  // Known down: at once.
  c.set_views({2});
  CHECK(starts_with(c.call(client, {"DEL", k.on0, k.on2}), "-CLUSTERDOWN "));
  CHECK(c.value(0, k.on0) == std::optional<std::string>("a"));
}

TEST_CASE("Router: MSET with a key missing its value is refused whole, as one server does",
          "[routing]") {
  RouterCluster c(3, routing_config(1, 1, 1));
  const Keys k(c);
  const auto client = c.connect(0);
  CHECK(c.call(client, {"MSET", k.on0, "1", k.on1}) ==
        "-ERR wrong number of arguments for 'mset' command\r\n");
  CHECK_FALSE(c.value(0, k.on0));
  CHECK(c.call(client, {"MSET", k.on1, "1", k.on2}) ==
        "-ERR wrong number of arguments for 'mset' command\r\n");
  CHECK_FALSE(c.value(1, k.on1));
}

TEST_CASE("Router: Multi-key commands that cannot be split answer CROSSSLOT across owners",
          "[routing]") {
  RouterCluster c(3, routing_config(1, 1, 1));
  const Keys k(c);
  const auto client = c.connect(0);
  const std::string crossslot = "-CROSSSLOT Keys in request don't hash to the same slot\r\n";
  CHECK(c.call(client, {"SET", k.on0, "v"}) == "+OK\r\n");
  CHECK(c.call(client, {"RENAME", k.on0, k.on1}) == crossslot);
  CHECK(c.call(client, {"MSETNX", k.on1, "x", k.on2, "y"}) == crossslot);
  CHECK(c.value(0, k.on0) == std::optional<std::string>("v"));
  CHECK_FALSE(c.value(1, k.on1));
  CHECK_FALSE(c.value(2, k.on2));
  CHECK(c.router(0).stats().cross_slot == 2);

  // Keys one node owns: that node runs them whole, here or remotely.
  const std::string src = c.key_owned_by(1, "src"), dst = c.key_owned_by(1, "dst");
  CHECK(c.call(client, {"SET", src, "moved"}) == "+OK\r\n");
  CHECK(c.call(client, {"RENAME", src, dst}) == "+OK\r\n");
  CHECK(c.value(1, dst) == std::optional<std::string>("moved"));
  CHECK_FALSE(c.value(1, src));
  const std::string n1 = c.key_owned_by(1, "nx"), n2 = c.key_owned_by(1, "other");
  CHECK(c.call(client, {"MSETNX", n1, "1", n2, "2"}) == ":1\r\n");
  CHECK(c.call(client, {"MSETNX", n1, "3", c.key_owned_by(1, "third"), "4"}) == ":0\r\n");
  CHECK(c.call(client, {"MGET", n1, n2}) == "*2\r\n" + bulk("1") + bulk("2"));
  const std::string l1 = c.key_owned_by(0, "src"), l2 = c.key_owned_by(0, "dst");
  CHECK(c.call(client, {"SET", l1, "local"}) == "+OK\r\n");
  CHECK(c.call(client, {"RENAME", l1, l2}) == "+OK\r\n");
  CHECK(c.value(0, l2) == std::optional<std::string>("local"));
}

TEST_CASE("Router: keys sharing a hash tag run whole on their owner, wherever it is", "[routing]") {
  RouterCluster c(3, routing_config(1, 1, 1));
  const auto client = c.connect(0);
  // A tag whose owner is not the client's node: the commands are forwarded whole.
  const std::string tag = c.key_owned_by(1, "user:");
  const std::string a = "{" + tag + "}:a", b = "{" + tag + "}:b";
  CHECK(c.call(client, {"MSETNX", a, "1", b, "2"}) == ":1\r\n");
  CHECK(c.call(client, {"RENAME", a, "{" + tag + "}:c"}) == "+OK\r\n");
  CHECK(c.value(1, "{" + tag + "}:c") == std::optional<std::string>("1"));
  CHECK(c.value(1, b) == std::optional<std::string>("2"));
  CHECK(c.router(0).stats().cross_slot == 0);
}

TEST_CASE("Router: 100 pipelined local and remote commands answer complete and in order",
          "[routing]") {
  RouterCluster c(3, routing_config(1, 1, 1));
  const auto client = c.connect(0);
  std::string request, expected;
  for (int i = 0; i < 50; ++i) {
    const std::string key = "p" + std::to_string(i);
    const std::string value = "v" + std::to_string(i);
    request += resp_cmd({"SET", key, value});
    expected += "+OK\r\n";
    // Read back a key written earlier in the same pipeline, possibly on another node.
    const std::string back = "p" + std::to_string(i / 2);
    request += resp_cmd({"GET", back});
    expected += bulk("v" + std::to_string(i / 2));
  }
  c.feed(client, request);
  CHECK(c.read(client) == expected);
  const auto& stats = c.router(0).stats();
  CHECK(stats.forwarded > 10);
  CHECK(stats.local > 10);
  for (int i = 0; i < 50; ++i) {
    const std::string key = "p" + std::to_string(i);
    CHECK(c.value(c.owners(key).front(), key) ==
          std::optional<std::string>("v" + std::to_string(i)));
  }
}

TEST_CASE("Router: Pipelined quorum writes with slow peers answer in order once acknowledged",
          "[routing]") {
  RouterCluster c(3, routing_config(3, 2, 1));
  const auto client = c.connect(1);
  c.hold(0);
  c.hold(2);
  std::string request, expected;
  for (int i = 0; i < 20; ++i) {
    request += resp_cmd({"INCR", "counter"});
    expected += ":" + std::to_string(i + 1) + "\r\n";
  }
  c.feed(client, request);
  CHECK(c.read(client).empty());
  c.release(2);
  CHECK(c.read(client) == expected);
  c.release(0);
  CHECK(c.value(0, "counter") == std::optional<std::string>("20"));
}

TEST_CASE(
    "Router: A client that disconnects while waiting gets nothing delivered to another client",
    "[routing]") {
  RouterCluster c(3, routing_config(3, 2, 1));
  const auto gone = c.connect(0);
  c.hold(1);
  c.hold(2);
  CHECK(c.call(gone, {"SET", "k", "first"}).empty());
  c.disconnect(gone);
  // A new client whose own first command waits on its own first token.
  const auto next = c.connect(0);
  CHECK(c.call(next, {"SET", "j", "second"}).empty());
  c.release(1);
  c.release(2);
  CHECK(c.read(next) == "+OK\r\n");
  CHECK(c.orphan_replies() == 1);
  CHECK(c.call(next, {"MGET", "k", "j"}) == "*2\r\n" + bulk("first") + bulk("second"));
  CHECK(c.router(0).pending() == 0);
}

TEST_CASE("Router: A client that disconnects during a forward or a fan-out leaves nothing behind",
          "[routing]") {
  RouterCluster c(3, routing_config(1, 1, 1));
  const Keys k(c);
  const auto a = c.connect(0);
  const auto b = c.connect(0);
  c.hold(1);
  c.hold(2);
  CHECK(c.call(a, {"GET", k.on1}).empty());
  CHECK(c.call(b, {"MGET", k.on0, k.on2}).empty());
  c.disconnect(a);
  c.disconnect(b);
  const auto fresh = c.connect(0);
  CHECK(c.call(fresh, {"SET", k.on0, "x"}) == "+OK\r\n");
  c.release(1);
  c.release(2);
  CHECK(c.read(fresh).empty());
  CHECK(c.orphan_replies() == 2);
  CHECK(c.router(0).pending() == 0);
  CHECK(c.call(fresh, {"GET", k.on1}) == "$-1\r\n");
}

TEST_CASE("Router: R=2: a read on a replica that missed a write returns the written value",
          "[routing]") {
  apiary::routing::RouterConfig route;
  route.read_quorum = 2;
  RouterCluster c(3, routing_config(3, 2, 1), route);
  // The writer's node coordinates it; the replica it asks first is node 2.
  const std::string k = key_with_owners(c, {1, 2, 0}, "k");
  const auto writer = c.connect(1);
  const auto reader = c.connect(0);
  c.drop(0);
  CHECK(c.call(writer, {"SET", k, "new"}) == "+OK\r\n");  // acked by node 2
  c.undrop(0);
  REQUIRE_FALSE(c.value(0, k));
  CHECK(c.call(reader, {"GET", k}) == bulk("new"));
  CHECK(c.router(0).stats().quorum_reads == 1);
}

TEST_CASE("Router: R=2: a conditional write on a replica that missed a write sees it first",
          "[routing]") {
  apiary::routing::RouterConfig route;
  route.read_quorum = 2;
  RouterCluster c(3, routing_config(3, 2, 1), route);
  // Keys node 0 coordinates; while it is down node 1 does, and node 0 misses the writes.
  const std::string k = c.key_owned_by(0, "k");
  const std::string n = c.key_owned_by(0, "n");
  const auto writer = c.connect(1);
  const auto late = c.connect(0);
  c.drop(0);
  c.set_views({0});
  CHECK(c.call(writer, {"SET", k, "first"}) == "+OK\r\n");  // acked by node 2
  CHECK(c.call(writer, {"SET", n, "41"}) == "+OK\r\n");
  c.set_views();  // node 0 is back and coordinates again; its hints vanish
  c.undrop(0);
  REQUIRE_FALSE(c.value(0, k));
  // Node 0 merges what a quorum holds before it runs the write: NX sees the key, INCR
  // builds on 41, and the reply still waits for W.
  CHECK(c.call(late, {"SET", k, "second", "NX"}) == "$-1\r\n");
  CHECK(c.call(late, {"INCR", n}) == ":42\r\n");
  CHECK(c.call(late, {"PEXPIRE", k, "60000"}) == ":1\r\n");
  CHECK(c.value(2, n) == std::optional<std::string>("42"));
}

TEST_CASE("Router: R=2 with the other replicas down: a write is refused before it runs",
          "[routing]") {
  apiary::routing::RouterConfig route;
  route.read_quorum = 2;
  RouterCluster c(3, routing_config(3, 2, 1), route);
  const std::string k = c.key_owned_by(0, "k");
  const auto client = c.connect(0);
  c.drop(1);
  c.drop(2);
  c.feed(client, resp_cmd({"SET", k, "v"}));
  CHECK(c.read(client).empty());
  c.advance(c.config().read_timeout + 1ms);
  const std::string reply = c.read(client);
  INFO(reply);
  CHECK(starts_with(reply, "-NOREPLICAS "));
  CHECK(reply.find("not applied") != std::string::npos);
  CHECK_FALSE(c.value(0, k));
}

TEST_CASE("Router: RouterConfig read_quorum 0 uses the Replicator's configured R", "[routing]") {
  RouterCluster c(3, routing_config(3, 2, 2));
  const std::string k = key_with_owners(c, {1, 2, 0}, "k");
  const auto writer = c.connect(1);
  const auto reader = c.connect(0);
  c.drop(0);
  CHECK(c.call(writer, {"SET", k, "new"}) == "+OK\r\n");
  c.undrop(0);
  REQUIRE_FALSE(c.value(0, k));
  CHECK(c.call(reader, {"GET", k}) == bulk("new"));
}

TEST_CASE("Router: A node that just gained a partition reads it from the previous owner",
          "[routing]") {
  RouterCluster c(3, routing_config(1, 1, 1), {}, {0, 1});
  const auto writer = c.connect(0);
  // Keys that node 2 will own once it joins.
  std::vector<std::string> keys;
  for (int i = 0; keys.size() < 3; ++i) {
    const std::string key = "join" + std::to_string(i);
    if (c.owners(key, {0, 1, 2}).front() == 2) keys.push_back(key);
  }
  std::string gets, expected;
  for (const auto& key : keys) {
    REQUIRE(c.call(writer, {"SET", key, "before"}) == "+OK\r\n");
    gets += resp_cmd({"GET", key});
    expected += bulk("before");
  }
  const auto reader = c.connect(2);
  // The reader's GETs reach node 2 before any handoff message does.
  c.set_views({}, {0, 1, 2}, false);
  c.feed(reader, gets);
  CHECK(c.read(reader) == expected);
}

TEST_CASE("Router: R=2 without reachable peers: NOREPLICAS after read_timeout", "[routing]") {
  apiary::routing::RouterConfig route;
  route.read_quorum = 2;
  RouterCluster c(3, routing_config(3, 2, 1), route);
  const auto client = c.connect(0);
  CHECK(c.call(client, {"SET", "k", "v"}) == "+OK\r\n");
  c.drop(1);
  c.drop(2);
  c.feed(client, resp_cmd({"GET", "k"}) + resp_cmd({"PING"}));
  CHECK(c.read(client).empty());
  c.advance(c.config().read_timeout + 1ms);
  const std::string out = c.read(client);
  INFO(out);
  REQUIRE(starts_with(out, "-NOREPLICAS "));
  CHECK(out.substr(out.find("\r\n") + 2) == "+PONG\r\n");
}

TEST_CASE("Router: N=2: a forwarded write is relayed once the owner's quorum acknowledged it",
          "[routing]") {
  RouterCluster c(3, routing_config(2, 2, 1));
  std::string key;  // a key node 0 does not own
  for (int i = 0; key.empty(); ++i) {
    const std::string candidate = "w" + std::to_string(i);
    const auto o = c.owners(candidate);
    if (std::find(o.begin(), o.end(), 0) == o.end()) key = candidate;
  }
  const auto owners = c.owners(key);
  const auto client = c.connect(0);
  c.hold(owners[1]);
  CHECK(c.call(client, {"SET", key, "v"}).empty());
  CHECK(c.value(owners[0], key) == std::optional<std::string>("v"));
  c.release(owners[1]);
  CHECK(c.read(client) == "+OK\r\n");
  CHECK(c.value(owners[1], key) == std::optional<std::string>("v"));
  CHECK_FALSE(c.value(0, key));
}

TEST_CASE("Router: A value too large for a data message is refused at once", "[routing]") {
  RouterCluster c(3, routing_config(1, 1, 1));
  const Keys k(c);
  const auto client = c.connect(0);
  const std::string big(c.config().max_message_bytes + 1024, 'x');
  c.feed(client, resp_cmd({"SET", k.on1, big}));
  const std::string out = c.read(client);  // no time has passed
  CHECK(starts_with(out, "-ERR "));
  c.advance(c.config().forward_timeout * 3);
  c.read(client);
  CHECK(c.call(client, {"PING"}) == "+PONG\r\n");  // the connection is not stuck either way
}

TEST_CASE("Router: An owner runs only keyed commands for its peers", "[routing]") {
  RouterCluster c(3, routing_config(1, 1, 1));
  const Keys k(c);
  const auto client = c.connect(0);
  CHECK(c.call(client, {"SET", k.on1, "v"}) == "+OK\r\n");
  const std::vector<std::string_view> argv{"FLUSHALL"};
  c.rep(0).forward(c.now(), k.on1, argv, 2, 1u << 30);
  c.settle();
  CHECK(c.rep(0).pending_operations() == 0);  // answered (with an error) without a timeout
  CHECK(c.value(1, k.on1) == std::optional<std::string>("v"));
}

TEST_CASE("Router: N=2 W=2: a split write answers once every part reached its quorum",
          "[routing]") {
  RouterCluster c(3, routing_config(2, 2, 1));
  auto not_owned_by_0 = [&](const std::string& prefix) {
    for (int i = 0;; ++i) {
      const std::string key = prefix + std::to_string(i);
      const auto o = c.owners(key);
      if (std::find(o.begin(), o.end(), 0) == o.end()) return key;
    }
  };
  const std::string here = c.key_owned_by(0, "split"), there = not_owned_by_0("split");
  const auto client = c.connect(0);
  c.hold(1);
  c.hold(2);
  CHECK(c.call(client, {"MSET", here, "1", there, "2"}).empty());
  CHECK(c.value(0, here) == std::optional<std::string>("1"));  // the local part ran
  c.release(1);
  c.release(2);
  CHECK(c.read(client) == "+OK\r\n");
  for (const auto& [key, value] : {std::pair{here, "1"}, std::pair{there, "2"}}) {
    for (auto owner : c.owners(key)) {
      INFO(key << " on node " << owner);
      CHECK(c.value(owner, key) == std::optional<std::string>(value));
    }
  }
  CHECK(c.router(0).pending() == 0);
}

TEST_CASE("Router: expiry set through a forward is the owner's, and the key expires", "[routing]") {
  RouterCluster c(3, routing_config(1, 1, 1));
  const Keys k(c);
  const auto client = c.connect(0);
  CHECK(c.call(client, {"SET", k.on1, "v", "PX", "1500"}) == "+OK\r\n");
  CHECK(c.call(client, {"PTTL", k.on1}) == ":1500\r\n");
  CHECK(c.call(client, {"SET", k.on2, "w"}) == "+OK\r\n");
  CHECK(c.call(client, {"EXPIRE", k.on2, "1"}) == ":1\r\n");
  CHECK(c.call(client, {"TTL", k.on2}) == ":1\r\n");
  c.advance(1600ms);
  CHECK(c.call(client, {"MGET", k.on1, k.on2}) == "*2\r\n$-1\r\n$-1\r\n");
  CHECK(c.call(client, {"PTTL", k.on1}) == ":-2\r\n");
}

TEST_CASE("Router: a command just under max_command_bytes still fits its data messages",
          "[routing]") {
  // max_command_bytes leaves room for the envelope and encoding of every data message.
  const std::size_t limit = apiary::routing::RouterConfig{}.max_command_bytes;
  RouterCluster c(3, routing_config(1, 1, 1));
  const Keys k(c);
  const auto client = c.connect(0);
  const auto at_owner = c.connect(1);
  auto value_for = [&](const std::string& key) {
    return std::string(limit - 10 - key.size() - 3, 'x');  // SET + key + value = limit - 10
  };
  // Forwarded write: OK, or refused at once -- not a timeout.
  c.feed(client, resp_cmd({"SET", k.on2, value_for(k.on2)}));
  c.advance(c.config().forward_timeout * 3);
  const std::string set_reply = c.read(client);
  {
    INFO(set_reply.substr(0, 120));
    CHECK((set_reply == "+OK\r\n" || starts_with(set_reply, "-ERR ")));
  }
  // Stored on its owner directly, then read through another node.
  REQUIRE(c.call(at_owner, {"SET", k.on1, value_for(k.on1)}) == "+OK\r\n");
  c.feed(client, resp_cmd({"STRLEN", k.on1}) + resp_cmd({"GET", k.on1}));
  c.advance(c.config().forward_timeout * 3);
  const std::string out = c.read(client);
  const std::string expected =
      ":" + std::to_string(value_for(k.on1).size()) + "\r\n" + bulk(value_for(k.on1));
  INFO(out.substr(0, 120));  // not the whole 8 MiB
  CHECK(out.size() == expected.size());
  CHECK((out == expected));
}

TEST_CASE("Router: a new coordinator catches up with the other owners before SET NX answers",
          "[routing]") {
  RouterCluster c(3, routing_config(3, 2, 1));
  const std::string k = key_with_owners(c, {0, 1, 2}, "lock");
  const auto first = c.connect(0);
  const auto second = c.connect(1);
  // Node 0 coordinates; node 1 misses the write, node 2 acknowledges it.
  c.drop(1);
  CHECK(c.call(first, {"SET", k, "first", "NX"}) == "+OK\r\n");
  c.undrop(1);
  REQUIRE_FALSE(c.value(1, k));
  // Node 0 dies: node 1 coordinates the key now. Until it has caught up with node 2 it asks
  // node 2 before answering, so the lock taken through node 0 holds.
  c.drop(0);
  c.hold(2);
  c.set_views({0});
  CHECK(c.rep(1).partitions_promoting() > 0);
  c.feed(second, resp_cmd({"SET", k, "second", "NX"}));
  CHECK(c.read(second).empty());  // waiting for node 2
  c.release(2);
  CHECK(c.read(second) == "$-1\r\n");
  CHECK(c.value(1, k) == std::optional<std::string>("first"));
  // Caught up: the partition answers from the local copy again.
  CHECK(c.rep(1).partitions_promoting() == 0);
  CHECK(c.rep(1).stats().promotions_completed > 0);
  CHECK(c.call(second, {"SET", k, "third", "NX"}) == "$-1\r\n");
  CHECK(c.call(second, {"GET", k}) == bulk("first"));
}

TEST_CASE("Router: a read pipelined behind a forwarded write of its key sees the write",
          "[routing]") {
  RouterCluster c(3, routing_config(3, 2, 1));
  const std::string k = key_with_owners(c, {0, 1, 2}, "p");
  const std::string other = key_with_owners(c, {1, 2, 0}, "q");
  const auto client = c.connect(1);
  REQUIRE(c.call(client, {"SET", k, "old"}) == "+OK\r\n");
  REQUIRE(c.call(client, {"SET", other, "here"}) == "+OK\r\n");
  c.hold(0);  // the coordinator has not run the write yet when the read arrives
  c.feed(client, resp_cmd({"SET", k, "new"}) + resp_cmd({"GET", k}) + resp_cmd({"GET", other}));
  CHECK(c.read(client).empty());
  c.release(0);
  CHECK(c.read(client) == "+OK\r\n" + bulk("new") + bulk("here"));
  // Once the write is answered, reads of the key are local again.
  const auto forwarded = c.router(1).stats().forwarded;
  CHECK(c.call(client, {"GET", k}) == bulk("new"));
  CHECK(c.router(1).stats().forwarded == forwarded);
}

TEST_CASE("Router: a write forwarded by a replica comes back with its version and counts as an ack",
          "[routing]") {
  RouterCluster c(3, routing_config(3, 2, 1));
  const std::string k = key_with_owners(c, {0, 1, 2}, "w");
  const auto client = c.connect(1);
  // Node 2 answers nothing: W=2 is the coordinator plus node 1, which merges the version that
  // comes back with the reply before the client gets it.
  c.hold(2);
  CHECK(c.call(client, {"SET", k, "v"}) == "+OK\r\n");
  CHECK(c.value(1, k) == std::optional<std::string>("v"));
  CHECK(c.rep(1).stats().carried_versions_received == 1);
  c.release(2);
  CHECK(c.value(2, k) == std::optional<std::string>("v"));  // in the background
}

TEST_CASE("Router: embedding calls get the cluster's failures as typed statuses", "[routing]") {
  RouterCluster c(3, routing_config(3, 2, 1));
  const std::string mine = key_with_owners(c, {0, 1, 2}, "t");
  const std::string theirs = key_with_owners(c, {1, 2, 0}, "u");
  using apiary::StatusCode;
  using apiary::replication::QuorumOverride;
  // A write on node 0 whose replicas never answer: timeout, with the text a client reads.
  c.drop(1);
  c.drop(2);
  const std::vector<std::string_view> set_mine{"SET", mine, "v"};
  CHECK_FALSE(c.router(0).call(set_mine, QuorumOverride{}, 7, c.now(), c.wall()));
  c.advance(c.config().write_timeout + 1ms);
  auto replies = c.router(0).take_call_replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].call == 7);
  CHECK(replies[0].status.code() == StatusCode::timeout);
  CHECK(starts_with(replies[0].status.message(), "NOREPLICAS "));
  c.undrop(1);
  c.undrop(2);
  // The same failure on the coordinator of a forwarded call (node 1; with W=3 it needs node
  // 2, which is gone) keeps its code across the hop.
  c.drop(2);
  const std::vector<std::string_view> set_theirs{"SET", theirs, "v"};
  CHECK_FALSE(c.router(0).call(set_theirs, QuorumOverride{3, 0}, 8, c.now(), c.wall()));
  c.advance(c.config().write_timeout + 1ms);
  replies = c.router(0).take_call_replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].status.code() == StatusCode::timeout);
  CHECK(starts_with(replies[0].status.message(), "NOREPLICAS "));
  // Refusals the router makes itself.
  const std::vector<std::string_view> unknown{"NOSUCH", "k"};
  auto refused = c.router(0).call(unknown, QuorumOverride{}, 9, c.now(), c.wall());
  REQUIRE(refused);
  CHECK(refused->status.code() == StatusCode::invalid_argument);
}
