// The keyspace commands without keys answer for the whole cluster through any node: DBSIZE,
// KEYS, SCAN and RANDOMKEY see every key once, FLUSHALL empties every node and the flushed
// keys never come back (anti-entropy, hints, handoff, replicas that missed the flush).
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "support/routing_harness.hpp"

using apiary::test::bulk;
using apiary::test::resp_cmd;
using apiary::test::RouterCluster;
using apiary::test::routing_config;
using namespace std::chrono_literals;

namespace {

// One RESP value, as much of it as these tests need.
struct Value {
  char type = 0;
  std::string text;  // simple, error, bulk (and the integer's digits)
  std::vector<Value> items;
};

Value parse(std::string_view& in) {
  Value v;
  v.type = in.at(0);
  const auto eol = in.find("\r\n");
  REQUIRE(eol != std::string_view::npos);
  const std::string head(in.substr(1, eol - 1));
  in.remove_prefix(eol + 2);
  if (v.type == '*') {
    const long n = std::stol(head);
    for (long i = 0; i < n; ++i) v.items.push_back(parse(in));
  } else if (v.type == '$') {
    const long n = std::stol(head);
    if (n >= 0) {
      v.text = std::string(in.substr(0, static_cast<std::size_t>(n)));
      in.remove_prefix(static_cast<std::size_t>(n) + 2);
    }
  } else {
    v.text = head;
  }
  return v;
}

Value parse_one(const std::string& reply) {
  INFO(reply);
  std::string_view in(reply);
  Value v = parse(in);
  CHECK(in.empty());
  return v;
}

std::vector<std::string> strings(const Value& array) {
  std::vector<std::string> out;
  for (const auto& item : array.items) out.push_back(item.text);
  return out;
}

// SCAN from 0 to 0 through `client`; every key in order of arrival, and the number of calls.
std::pair<std::vector<std::string>, int> scan_all(RouterCluster& c, std::size_t client,
                                                  std::initializer_list<std::string_view> extra,
                                                  const std::function<void(int)>& between = {}) {
  std::vector<std::string> keys;
  std::string cursor = "0";
  int calls = 0;
  do {
    std::vector<std::string_view> args = {"SCAN", cursor};
    args.insert(args.end(), extra.begin(), extra.end());
    std::string request = "*" + std::to_string(args.size()) + "\r\n";
    for (auto a : args) request += bulk(a);
    c.feed(client, request);
    const Value v = parse_one(c.read(client));
    REQUIRE(v.type == '*');
    REQUIRE(v.items.size() == 2);
    cursor = v.items[0].text;
    for (auto& k : strings(v.items[1])) keys.push_back(k);
    ++calls;
    REQUIRE(calls < 10000);
    if (between) between(calls);
  } while (cursor != "0");
  return {keys, calls};
}

std::set<std::string> unique(const std::vector<std::string>& keys) {
  return {keys.begin(), keys.end()};
}

// Writes key<i> = v<i> for i < n through the nodes in turn.
std::set<std::string> write_keys(RouterCluster& c, int n, const std::string& prefix = "key") {
  std::vector<std::size_t> clients;
  for (std::size_t i = 0; i < c.size(); ++i) clients.push_back(c.connect(i));
  std::set<std::string> keys;
  for (int i = 0; i < n; ++i) {
    const std::string k = prefix + std::to_string(i);
    REQUIRE(c.call(clients[static_cast<std::size_t>(i) % clients.size()],
                   {"SET", k, "v" + std::to_string(i)}) == "+OK\r\n");
    keys.insert(k);
  }
  return keys;
}

std::size_t local_keys(RouterCluster& c, std::size_t client) {
  const Value v = parse_one(c.call(client, {"INFO", "localkeyspace"}));
  const auto at = v.text.find("db0:keys=");
  if (at == std::string::npos) return 0;
  return std::stoul(v.text.substr(at + 9));
}

}  // namespace

TEST_CASE("keyspace: DBSIZE, KEYS and SCAN through any node see every key once (N=3)",
          "[routing][keyspace]") {
  RouterCluster c(3, routing_config(3, 2, 1));
  const auto keys = write_keys(c, 120);
  for (std::size_t i = 0; i < 3; ++i) {
    INFO("node " << i);
    const auto client = c.connect(i);
    CHECK(c.call(client, {"DBSIZE"}) == ":120\r\n");
    const auto listed = strings(parse_one(c.call(client, {"KEYS", "*"})));
    CHECK(listed.size() == 120);
    CHECK(unique(listed) == keys);
    const auto [scanned, calls] = scan_all(c, client, {"COUNT", "10"});
    CHECK(scanned.size() == 120);
    CHECK(unique(scanned) == keys);
    CHECK(calls > 3);
    // Every node holds every key (N=3); its own copy stays in view.
    CHECK(local_keys(c, client) == 120);
    const Value info = parse_one(c.call(client, {"INFO", "keyspace"}));
    CHECK(info.text == "# Keyspace\r\ndb0:keys=120,expires=0,avg_ttl=0\r\n");
  }
  const auto client = c.connect(1);
  // Patterns filter on the members; each key still once.
  const auto ones = strings(parse_one(c.call(client, {"KEYS", "key1?"})));
  CHECK(unique(ones) == std::set<std::string>{"key10", "key11", "key12", "key13", "key14", "key15",
                                              "key16", "key17", "key18", "key19"});
  CHECK(ones.size() == 10);
  const auto [matched, calls] = scan_all(c, client, {"MATCH", "key1?", "COUNT", "5"});
  CHECK(unique(matched) == unique(ones));
  CHECK(matched.size() == 10);
  // TYPE: every value is a string.
  CHECK(scan_all(c, client, {"TYPE", "hash"}).first.empty());
  CHECK(scan_all(c, client, {"TYPE", "STRING"}).first.size() == 120);
  CHECK(c.router(1).stats().keyspace_commands > 0);
  CHECK(c.router(1).pending() == 0);
}

TEST_CASE("keyspace: with one replica each node counts only what it holds, the cluster all",
          "[routing][keyspace]") {
  RouterCluster c(3, routing_config(1, 1, 1));
  const auto keys = write_keys(c, 90);
  std::size_t held = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    const auto client = c.connect(i);
    CHECK(c.call(client, {"DBSIZE"}) == ":90\r\n");
    const std::size_t mine = local_keys(c, client);
    CHECK(mine > 0);
    CHECK(mine < 90);
    held += mine;
    CHECK(unique(scan_all(c, client, {"COUNT", "7"}).first) == keys);
  }
  CHECK(held == 90);
}

TEST_CASE("keyspace: SCAN returns every key present for the whole scan exactly once",
          "[routing][keyspace]") {
  RouterCluster c(3, routing_config(2, 1, 1));
  const auto stable = write_keys(c, 200, "stable");
  const auto writer = c.connect(2);
  // Between calls other keys come and go; the stable ones must each come back once.
  auto churn = [&](int call) {
    const std::string k = "churn" + std::to_string(call);
    REQUIRE(c.call(writer, {"SET", k, "x"}) == "+OK\r\n");
    if (call > 2) {
      REQUIRE(c.call(writer, {"DEL", "churn" + std::to_string(call - 2)}) == ":1\r\n");
    }
  };
  const auto client = c.connect(0);
  const auto [scanned, calls] = scan_all(c, client, {"COUNT", "10"}, churn);
  CHECK(calls > 5);
  std::map<std::string, int> seen;
  for (const auto& k : scanned) ++seen[k];
  for (const auto& k : stable) {
    INFO(k);
    CHECK(seen[k] == 1);
  }
  for (const auto& [k, n] : seen) CHECK(n == 1);
}

TEST_CASE("keyspace: RANDOMKEY answers a key of the cluster, nil when it is empty",
          "[routing][keyspace]") {
  RouterCluster c(3, routing_config(1, 1, 1));
  const auto client = c.connect(0);
  CHECK(c.call(client, {"RANDOMKEY"}) == "$-1\r\n");
  const auto keys = write_keys(c, 60);
  std::set<std::string> picked;
  for (int i = 0; i < 60; ++i) {
    const Value v = parse_one(c.call(client, {"RANDOMKEY"}));
    REQUIRE(v.type == '$');
    CHECK(keys.count(v.text) == 1);
    picked.insert(v.text);
  }
  // Keys coordinated by every node come up, not only this node's.
  std::set<std::size_t> coordinators;
  for (const auto& k : picked) coordinators.insert(c.owners(k).front());
  CHECK(coordinators.size() == 3);
  CHECK(picked.size() > 10);
}

TEST_CASE("keyspace: FLUSHALL empties every node, later writes replicate as usual",
          "[routing][keyspace]") {
  RouterCluster c(3, routing_config(3, 2, 1));
  write_keys(c, 80);
  const auto client = c.connect(1);
  CHECK(c.call(client, {"FLUSHALL"}) == "+OK\r\n");
  for (std::size_t i = 0; i < 3; ++i) {
    INFO("node " << i);
    CHECK(c.store(i).size() == 0);
    CHECK(c.store(i).flush_horizon() == c.store(1).flush_horizon());
    const auto other = c.connect(i);
    CHECK(c.call(other, {"DBSIZE"}) == ":0\r\n");
    CHECK(c.call(other, {"KEYS", "*"}) == "*0\r\n");
    CHECK(c.call(other, {"SCAN", "0"}) == "*2\r\n$1\r\n0\r\n*0\r\n");
    CHECK(c.call(other, {"INFO", "keyspace"}) == "$12\r\n# Keyspace\r\n\r\n");
  }
  // Both forms and both options answer as Redis does.
  CHECK(c.call(client, {"FLUSHDB"}) == "+OK\r\n");
  CHECK(c.call(client, {"FLUSHALL", "ASYNC"}) == "+OK\r\n");
  CHECK(c.call(client, {"flushdb", "sync"}) == "+OK\r\n");
  CHECK(c.call(client, {"FLUSHALL", "NOW"}) == "-ERR syntax error\r\n");
  CHECK(c.call(client, {"FLUSHALL", "ASYNC", "SYNC"}) == "-ERR syntax error\r\n");
  // Writes after the flush are stamped after its horizon and replicate everywhere.
  CHECK(c.call(client, {"SET", "fresh", "1"}) == "+OK\r\n");
  CHECK(c.call(client, {"INCR", "fresh"}) == ":2\r\n");
  for (std::size_t i = 0; i < 3; ++i) CHECK(c.value(i, "fresh") == std::optional<std::string>("2"));
  CHECK(c.call(client, {"DBSIZE"}) == ":1\r\n");
  // Pipelined around keyed commands, replies keep their order.
  c.feed(client, resp_cmd({"SET", "a", "1"}) + resp_cmd({"DBSIZE"}) + resp_cmd({"GET", "a"}) +
                     resp_cmd({"FLUSHALL"}) + resp_cmd({"DBSIZE"}));
  CHECK(c.read(client) == "+OK\r\n:2\r\n" + bulk("1") + "+OK\r\n:0\r\n");
}

TEST_CASE("keyspace: a member that missed FLUSHALL does not bring the keys back",
          "[routing][keyspace]") {
  auto config = routing_config(3, 2, 1);
  config.anti_entropy_interval = 20ms;
  RouterCluster c(3, config);
  const auto keys = write_keys(c, 60);
  const auto client = c.connect(0);
  SECTION("down (not live) during the flush, back afterwards") {
    c.drop(2);
    c.set_views({2});
    CHECK(c.call(client, {"FLUSHALL"}) == "+OK\r\n");
    // A write while node 2 is down goes to a stand-in... there is none with N=3 of 3; W=2 of
    // the two live owners.
    CHECK(c.call(client, {"SET", "after", "x"}) == "+OK\r\n");
    CHECK(c.store(2).size() == 60);  // it still holds everything from before
    c.undrop(2);
    c.set_views({});
  }
  SECTION("live but unreachable: FLUSHALL answers CLUSTERDOWN, the others are flushed") {
    c.drop(2);
    c.feed(client, resp_cmd({"FLUSHALL"}));
    CHECK(c.read(client).empty());
    // Two rounds, each waiting for node 2 until the timeout: its clock, then the flush.
    c.advance(c.config().keyspace_timeout);
    CHECK(c.read(client).empty());
    c.advance(c.config().keyspace_timeout + 1ms);
    const std::string reply = c.read(client);
    CHECK(reply.rfind("-CLUSTERDOWN FLUSHALL could not reach every member: member 'n2' ", 0) == 0);
    CHECK(reply.find("the flush may still complete") != std::string::npos);
    CHECK(c.store(0).size() == 0);
    CHECK(c.store(1).size() == 0);
    CHECK(c.router(0).stats().keyspace_failures == 1);
    c.set_views({2});
    CHECK(c.call(client, {"SET", "after", "x"}) == "+OK\r\n");
    c.undrop(2);
    c.set_views({});
  }
  // Anti-entropy, handoff and hints meet node 2's old copies; none of them comes back, and
  // node 2 itself drops them as soon as it hears of the flush.
  c.advance(5s);
  for (std::size_t i = 0; i < 3; ++i) {
    INFO("node " << i);
    CHECK(c.store(i).size() == 1);
    CHECK(c.value(i, "after") == std::optional<std::string>("x"));
    CHECK(c.call(c.connect(i), {"DBSIZE"}) == ":1\r\n");
  }
  CHECK(c.rep(2).stats().flush_horizons_adopted == 1);
  // Reading a flushed key through the node that missed the flush finds nothing either.
  const auto on2 = c.connect(2);
  CHECK(c.call(on2, {"GET", *keys.begin()}) == "$-1\r\n");
  CHECK(c.call(on2, {"EXISTS", "key1", "key2", "key3"}) == ":0\r\n");
}

TEST_CASE("keyspace: a member that does not answer makes DBSIZE fail, INFO say so",
          "[routing][keyspace]") {
  RouterCluster c(3, routing_config(3, 2, 1));
  write_keys(c, 30);
  const auto client = c.connect(0);
  c.drop(1);
  c.feed(client, resp_cmd({"DBSIZE"}));
  CHECK(c.read(client).empty());
  CHECK(c.router(0).pending() == 1);
  c.advance(c.config().keyspace_timeout + 1ms);
  CHECK(c.read(client) ==
        "-CLUSTERDOWN DBSIZE could not reach every member: member 'n1' did not answer in "
        "time\r\n");
  c.feed(client, resp_cmd({"INFO", "keyspace"}));
  c.advance(c.config().keyspace_timeout + 1ms);
  const Value info = parse_one(c.read(client));
  CHECK(info.text.find("# Keyspace\r\ndb0:keys=") == 0);
  CHECK(info.text.find("keyspace_unanswered_members:1\r\n") != std::string::npos);
  CHECK(c.router(0).pending() == 0);
  // Keyless commands that are not about the keyspace still answer locally at once.
  CHECK(c.call(client, {"PING"}) == "+PONG\r\n");
}

TEST_CASE("keyspace: without a live owner for some partitions, and before a first view",
          "[routing][keyspace]") {
  SECTION("partitions without a live owner") {
    RouterCluster c(3, routing_config(1, 1, 1));
    c.set_views({2});
    const auto client = c.connect(0);
    const std::string reply = c.call(client, {"DBSIZE"});
    CHECK(reply.rfind("-CLUSTERDOWN ", 0) == 0);
    CHECK(reply.find("partitions have no live owner: DBSIZE cannot answer") != std::string::npos);
    CHECK(c.call(client, {"SCAN", "0"}).rfind("-CLUSTERDOWN ", 0) == 0);
  }
  SECTION("a node that has no view yet") {
    RouterCluster c(3, routing_config(3, 2, 1), {}, {0, 1});
    const auto client = c.connect(2);
    CHECK(c.call(client, {"DBSIZE"}) == "-CLUSTERDOWN this node has not joined a cluster yet\r\n");
    CHECK(c.call(client, {"FLUSHALL"}) ==
          "-CLUSTERDOWN this node has not joined a cluster yet\r\n");
    const Value info = parse_one(c.call(client, {"INFO", "keyspace"}));
    CHECK(info.text == "# Keyspace\r\nkeyspace_unavailable:not joined a cluster yet\r\n");
  }
}

TEST_CASE("keyspace: SCAN's argument errors are Redis's", "[routing][keyspace]") {
  RouterCluster c(3, routing_config(3, 2, 1));
  const auto client = c.connect(0);
  CHECK(c.call(client, {"SCAN", "x"}) == "-ERR invalid cursor\r\n");
  CHECK(c.call(client, {"SCAN", "0", "COUNT", "0"}) == "-ERR syntax error\r\n");
  CHECK(c.call(client, {"SCAN", "0", "COUNT", "x"}) ==
        "-ERR value is not an integer or out of range\r\n");
  CHECK(c.call(client, {"SCAN", "0", "MATCH"}) == "-ERR syntax error\r\n");
  CHECK(c.call(client, {"SCAN", "0", "FOO", "1"}) == "-ERR syntax error\r\n");
  CHECK(c.call(client, {"SCAN"}) == "-ERR wrong number of arguments for 'scan' command\r\n");
  CHECK(c.call(client, {"KEYS"}) == "-ERR wrong number of arguments for 'keys' command\r\n");
  CHECK(c.call(client, {"DBSIZE", "x"}) ==
        "-ERR wrong number of arguments for 'dbsize' command\r\n");
  CHECK(c.call(client, {"RANDOMKEY", "x"}) ==
        "-ERR wrong number of arguments for 'randomkey' command\r\n");
  // A cursor past every key ends the scan.
  CHECK(c.call(client, {"SCAN", "18446744073709551615"}) == "*2\r\n$1\r\n0\r\n*0\r\n");
}

TEST_CASE("keyspace: KEYS over more keys than one answer holds asks again, each key once",
          "[routing][keyspace]") {
  RouterCluster c(3, routing_config(3, 2, 1));
  // Written straight into every replica: 3 x 20000 keys through RESP would be slow here.
  const int n = 60000;
  for (std::size_t i = 0; i < 3; ++i) {
    for (int k = 0; k < n; ++k) {
      REQUIRE(c.store(i).put_local("k" + std::to_string(k), "v", c.wall()).ok());
    }
  }
  const auto client = c.connect(0);
  const auto listed = strings(parse_one(c.call(client, {"KEYS", "*"})));
  CHECK(listed.size() == static_cast<std::size_t>(n));
  CHECK(unique(listed).size() == static_cast<std::size_t>(n));
  // Each of the other two members answered in more than one round.
  CHECK(c.rep(0).stats().keyspace_queries >= 4);
  CHECK(c.call(client, {"DBSIZE"}) == ":" + std::to_string(n) + "\r\n");
}
