// Client-side caching over a real three-node cluster: a client tracking a key on one node is
// told when the key changes through another node (a write, an expiry), whether its node owns
// the key (it sees the change in its own store) or not (it registered the key at the owner,
// which tells it); and a RESP2 client redirecting to a subscriber gets its invalidations
// as `__redis__:invalidate` messages.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "integration/support/cluster.hpp"
#include "integration/support/redis_server.hpp"

using namespace apiary::test;
using namespace std::chrono_literals;

namespace {

std::string bulk(const std::string& s) {
  return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

// Waits for `expected` among the pushes a connection receives (other pushes, such as the null
// invalidation a view change sends, are skipped); returns how long it took, or nullopt.
std::optional<std::chrono::milliseconds> wait_for(RespClient& c, const std::string& expected,
                                                  std::chrono::milliseconds limit = 3000ms) {
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < limit) {
    const std::string r = c.reply();
    if (r == expected) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
    }
    if (r.find("<timeout>") != std::string::npos || r.find("<closed>") != std::string::npos) break;
  }
  return std::nullopt;
}

std::string invalidate(const std::string& key) {
  return ">2\r\n$10\r\ninvalidate\r\n*1\r\n" + bulk(key);
}

// A RESP3 client on `node` tracking `key` (read once).
std::unique_ptr<RespClient> tracker(const Daemon& node, const std::string& key) {
  auto c = std::make_unique<RespClient>(node.redis_port());
  REQUIRE(c->command({"HELLO", "3"}).rfind("%7\r\n", 0) == 0);
  REQUIRE(c->command({"CLIENT", "TRACKING", "on"}) == "+OK\r\n");
  c->command({"GET", key});
  return c;
}

}  // namespace

TEST_CASE("tracking: a tracking client is told of writes and expiries through other nodes",
          "[integration][tracking][cluster]") {
  auto nodes = start_cluster("trkc", 3, {});
  REQUIRE(eventually(10s, [&] { return settled(nodes); }));
  RespClient writer(nodes[0]->redis_port());

  auto reader = tracker(*nodes[1], "k");
  REQUIRE(writer.command({"SET", "k", "1"}) == "+OK\r\n");
  const auto took = wait_for(*reader, invalidate("k"));
  REQUIRE(took);
  CHECK(*took < 1000ms);

  // Read again (it was forgotten once told); an expiry is a change too.
  reader->command({"GET", "k"});
  REQUIRE(writer.command({"SET", "k", "2", "PX", "300"}) == "+OK\r\n");
  REQUIRE(wait_for(*reader, invalidate("k")));  // the write
  reader->command({"GET", "k"});
  const auto expired = wait_for(*reader, invalidate("k"));
  REQUIRE(expired);
  CHECK(*expired < 1500ms);
  CHECK(cli(*nodes[1], "EXISTS k") == "0\n");
}

TEST_CASE("tracking: a key the tracking client's node does not own is registered at its owner",
          "[integration][tracking][cluster]") {
  auto nodes =
      start_cluster("trko", 3, {"--replicas", "1", "--write-quorum", "1", "--read-quorum", "1"});
  REQUIRE(eventually(10s, [&] { return settled(nodes); }));
  // A key node 2 does not own: with one replica per key, its coordinator is its only owner.
  std::string key;
  int owner = -1;
  for (int i = 0; i < 100 && key.empty(); ++i) {
    const std::string candidate = "remote:" + std::to_string(i);
    const int o = coordinator_of(nodes, candidate);
    if (o >= 0 && o != 1) key = candidate, owner = o;
  }
  REQUIRE(!key.empty());
  const int other = owner == 0 ? 2 : 0;  // neither the owner nor node 2

  auto reader = tracker(*nodes[1], key);
  RespClient writer(nodes[static_cast<std::size_t>(other)]->redis_port());
  REQUIRE(writer.command({"SET", key, "1"}) == "+OK\r\n");
  const auto took = wait_for(*reader, invalidate(key));
  REQUIRE(took);
  CHECK(*took < 1000ms);

  // Registered once per read: read again, and a write through the owner itself reaches it.
  reader->command({"GET", key});
  RespClient at_owner(nodes[static_cast<std::size_t>(owner)]->redis_port());
  REQUIRE(at_owner.command({"INCR", key}) == ":2\r\n");
  REQUIRE(wait_for(*reader, invalidate(key)));

  // Not read again: no registration, no invalidation (the next thing it gets is its PONG).
  REQUIRE(at_owner.command({"INCR", key}) == ":3\r\n");
  std::this_thread::sleep_for(300ms);
  std::string next = reader->command({"PING"});
  while (next.rfind(">2\r\n$10\r\ninvalidate\r\n_", 0) == 0)
    next = reader->reply();  // a view change
  CHECK(next == "+PONG\r\n");

  // BCAST: a client with a prefix hears of every change under it, also of keys its node does
  // not own (their coordinator tells its node).
  RespClient bcast(nodes[1]->redis_port());
  REQUIRE(bcast.command({"HELLO", "3"}).rfind("%7\r\n", 0) == 0);
  REQUIRE(bcast.command({"CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "remote:"}) == "+OK\r\n");
  // The prefix reaches the other members as a member message: allow it a moment.
  std::this_thread::sleep_for(200ms);
  REQUIRE(writer.command({"SET", key, "b"}) == "+OK\r\n");
  const auto heard = wait_for(bcast, invalidate(key));
  REQUIRE(heard);
  CHECK(*heard < 1000ms);
  REQUIRE(at_owner.command({"SET", "elsewhere:1", "x"}) == "+OK\r\n");  // not under the prefix
  REQUIRE(at_owner.command({"DEL", key}) == ":1\r\n");
  REQUIRE(wait_for(bcast, invalidate(key)));
}

TEST_CASE("tracking: a RESP2 client redirects its invalidations to a subscriber on its node",
          "[integration][tracking][cluster]") {
  auto nodes = start_cluster("trkr", 3, {});
  REQUIRE(eventually(10s, [&] { return settled(nodes); }));
  RespClient subscriber(nodes[2]->redis_port());
  const std::string id_reply = subscriber.command({"CLIENT", "ID"});
  const std::string id = id_reply.substr(1, id_reply.size() - 3);
  REQUIRE(subscriber.command({"SUBSCRIBE", "__redis__:invalidate"}).rfind("*3\r\n", 0) == 0);
  RespClient client(nodes[2]->redis_port());
  REQUIRE(client.command({"CLIENT", "TRACKING", "on", "REDIRECT", id}) == "+OK\r\n");
  client.command({"GET", "rk"});
  RespClient writer(nodes[0]->redis_port());
  REQUIRE(writer.command({"SET", "rk", "v"}) == "+OK\r\n");
  const std::string message =
      "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n" + bulk("rk");
  std::string got = subscriber.reply();
  while (got == "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n") {
    got = subscriber.reply();  // a view change's null invalidation
  }
  CHECK(got == message);
}
