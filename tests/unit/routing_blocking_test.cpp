// Blocking commands across a simulated cluster (libnode/routing/blocking.cpp): parked at the
// keys' coordinator, served in arrival order by a write through any node, timeouts on either
// side, clients that leave or are unblocked, and coordinators that change or die while
// clients wait. Deterministic: RouterCluster on virtual time.
#include <catch2/catch.hpp>

#include "support/routing_harness.hpp"

using namespace apiary;
using namespace apiary::test;

namespace {

std::size_t parked(RouterCluster& c) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < c.size(); ++i) n += c.router(i).parked();
  return n;
}

const std::string kPop = "*3\r\n$4\r\nzkey\r\n$1\r\na\r\n$1\r\n1\r\n";  // [key, member, score]

}  // namespace

TEST_CASE("Blocking: a pop blocked through one node is served by a write through another",
          "[routing][blocking]") {
  RouterCluster c(3, routing_config(3, 2, 1));
  const std::string key = "zkey";
  const std::size_t owner = c.owners(key).front();
  const std::size_t far = (owner + 1) % 3, near = (owner + 2) % 3;
  const std::size_t waiter = c.connect(far);
  const std::size_t producer = c.connect(near);
  CHECK(c.call(waiter, {"BZPOPMIN", key, "0"}).empty());
  CHECK(c.router(owner).parked() == 1);
  // Blocked as Redis shows it, on the client's node.
  const std::size_t admin = c.connect(far);
  CHECK(c.call(admin, {"INFO", "clients"}).find("blocked_clients:1\r\n") != std::string::npos);
  CHECK(c.call(admin, {"CLIENT", "LIST"}).find(" flags=b ") != std::string::npos);
  CHECK(c.call(producer, {"ZADD", key, "1", "a", "2", "b"}) == ":2\r\n");
  CHECK(c.read(waiter) == kPop);
  CHECK(parked(c) == 0);
  CHECK(c.call(admin, {"INFO", "clients"}).find("blocked_clients:0\r\n") != std::string::npos);
  // The pop is a write like any other: every replica holds what is left.
  for (std::size_t i = 0; i < 3; ++i) {
    const std::size_t reader = c.connect(i);
    CHECK(c.call(reader, {"ZRANGE", key, "0", "-1"}) == "*1\r\n$1\r\nb\r\n");
  }
}

TEST_CASE("Blocking: clients are served in the order their commands reached the coordinator",
          "[routing][blocking]") {
  RouterCluster c(3, routing_config(3, 2, 1));
  const std::string key = "zkey";
  std::vector<std::size_t> waiting;
  for (std::size_t i = 0; i < 6; ++i) {
    waiting.push_back(c.connect(i % 3));
    c.feed(waiting.back(), resp_cmd({"BZPOPMIN", key, "0"}));
  }
  CHECK(parked(c) == 6);
  const std::size_t producer = c.connect(0);
  for (std::size_t i = 0; i < 6; ++i) {
    const std::string member = "m" + std::to_string(i);
    CHECK(c.call(producer, {"ZADD", key, "1", member}) == ":1\r\n");
    CHECK(c.read(waiting[i]) == "*3\r\n" + bulk(key) + bulk(member) + bulk("1"));
    for (std::size_t j = i + 1; j < 6; ++j) CHECK(c.read(waiting[j]).empty());
  }
  CHECK(parked(c) == 0);
}

TEST_CASE("Blocking: timeouts answer the command's null, in the client's protocol",
          "[routing][blocking]") {
  RouterCluster c(3, routing_config(3, 2, 1));
  const std::string key = "zkey";
  const std::size_t far = (c.owners(key).front() + 1) % 3;
  const std::size_t a = c.connect(far);
  const std::size_t b = c.connect(far);
  CHECK(c.call(b, {"HELLO", "3"}).rfind("%", 0) == 0);
  c.feed(a, resp_cmd({"BZPOPMIN", key, "1.5"}));
  c.feed(b, resp_cmd({"BZPOPMAX", key, "0.5"}));
  c.advance(600ms);
  CHECK(c.read(a).empty());
  CHECK(c.read(b) == "_\r\n");
  c.advance(1s);
  CHECK(c.read(a) == "*-1\r\n");
  CHECK(parked(c) == 0);
  // A command blocked behind nothing: the client's pipeline waits for it, as in Redis.
  c.feed(a, resp_cmd({"BZPOPMIN", key, "0.2"}) + resp_cmd({"PING"}));
  CHECK(c.read(a).empty());
  c.advance(300ms);
  CHECK(c.read(a) == "*-1\r\n+PONG\r\n");
}

TEST_CASE("Blocking: the requester answers the null itself when the coordinator is silent",
          "[routing][blocking]") {
  RouterCluster c(3, routing_config(3, 2, 1));
  const std::string key = "zkey";
  const std::size_t owner = c.owners(key).front();
  const std::size_t far = (owner + 1) % 3;
  const std::size_t a = c.connect(far);
  c.hold(owner);  // slow: nothing reaches it
  c.feed(a, resp_cmd({"BZPOPMIN", key, "1"}));
  c.advance(1s + c.config().forward_timeout + 10ms);
  CHECK(c.read(a) == "*-1\r\n");
  // The command and the requester's cancellation reach the coordinator late: it parks the
  // command, then lets it go, and nothing is left parked to take a later element.
  c.release(owner);
  CHECK(parked(c) == 0);
  const std::size_t producer = c.connect(owner);
  CHECK(c.call(producer, {"ZADD", key, "1", "a"}) == ":1\r\n");
  CHECK(c.call(producer, {"ZCARD", key}) == ":1\r\n");
}

TEST_CASE("Blocking: a client that leaves or is unblocked takes nothing", "[routing][blocking]") {
  RouterCluster c(3, routing_config(3, 2, 1));
  const std::string key = "zkey";
  const std::size_t owner = c.owners(key).front();
  const std::size_t far = (owner + 1) % 3;
  const std::size_t local = c.connect(owner);
  const std::size_t remote = c.connect(far);
  c.feed(local, resp_cmd({"BZPOPMIN", key, "0"}));
  c.feed(remote, resp_cmd({"BZPOPMIN", key, "0"}));
  CHECK(parked(c) == 2);
  c.disconnect(local);
  c.disconnect(remote);
  CHECK(parked(c) == 0);
  const std::size_t producer = c.connect(far);
  CHECK(c.call(producer, {"ZADD", key, "1", "a"}) == ":1\r\n");
  CHECK(c.call(producer, {"ZCARD", key}) == ":1\r\n");
  CHECK(c.call(producer, {"DEL", key}) == ":1\r\n");

  const std::size_t w = c.connect(far);
  const std::size_t admin = c.connect(far);
  const std::string id = c.call(w, {"CLIENT", "ID"}).substr(1, std::string::npos);
  const std::string client_id = id.substr(0, id.size() - 2);
  c.feed(w, resp_cmd({"BZPOPMIN", key, "0"}));
  CHECK(c.call(admin, {"CLIENT", "UNBLOCK", client_id}) == ":1\r\n");
  CHECK(c.read(w) == "*-1\r\n");
  c.feed(w, resp_cmd({"BZPOPMIN", key, "0"}));
  CHECK(c.call(admin, {"CLIENT", "UNBLOCK", client_id, "ERROR"}) == ":1\r\n");
  CHECK(c.read(w) == "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
  CHECK(c.call(admin, {"CLIENT", "UNBLOCK", client_id}) == ":0\r\n");
  CHECK(c.call(admin, {"CLIENT", "UNBLOCK", client_id, "LATER"}) ==
        "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n");
  CHECK(parked(c) == 0);
}

TEST_CASE("Blocking: waiting clients follow their key to a new coordinator",
          "[routing][blocking]") {
  RouterCluster c(3, routing_config(3, 2, 1));
  const std::string key = "zkey";
  const std::size_t owner = c.owners(key).front();
  const std::size_t far = (owner + 1) % 3, near = (owner + 2) % 3;
  const std::size_t remote = c.connect(far);
  const std::size_t local = c.connect(owner);
  c.feed(remote, resp_cmd({"BZPOPMIN", key, "10"}));
  c.feed(local, resp_cmd({"BZPOPMIN", key, "0"}));
  REQUIRE(c.router(owner).parked() == 2);

  SECTION("the coordinator dies: the requesters route their commands again") {
    c.drop(owner);
    c.set_views({owner});
    // The requester asks the dead coordinator for its command back; after a forward timeout
    // of silence it routes it again.
    c.advance(c.config().forward_timeout + 10ms);
    const std::size_t next = c.owners(key).front() == owner ? c.owners(key)[1] : c.owners(key)[0];
    CHECK(c.router(next).parked() == 1);  // the remote client's; the local one died with it
    const std::size_t producer = c.connect(near);
    CHECK(c.call(producer, {"ZADD", key, "1", "a"}) == ":1\r\n");
    CHECK(c.read(remote) == kPop);
  }
  SECTION("the coordinator leaves the ring alive: it hands its parked commands back") {
    std::vector<std::size_t> ring;
    for (std::size_t i = 0; i < 3; ++i) {
      if (i != owner) ring.push_back(i);
    }
    // Every node, the old coordinator included, gets the view without it (which, as a
    // leaving node's, no longer says where the node itself is: its runtime tells it).
    c.rep(owner).set_identity(c.node(owner).name, c.node(owner).addr);
    for (std::size_t i = 0; i < 3; ++i) {
      c.rep(i).set_view(c.now(), c.wall(), c.view_for(i, {}, ring));
      c.router(i).on_view_change(c.now(), c.wall());
    }
    c.settle();
    CHECK(c.router(owner).parked() == 0);
    CHECK(parked(c) == 2);
    const std::size_t producer = c.connect(near);
    CHECK(c.call(producer, {"ZADD", key, "1", "a", "2", "b"}) == ":2\r\n");
    // Both served, one element each, in the order their commands reached the new coordinator.
    const std::string a = "*3\r\n" + bulk(key) + bulk("a") + bulk("1");
    const std::string b = "*3\r\n" + bulk(key) + bulk("b") + bulk("2");
    const std::string got_remote = c.read(remote), got_local = c.read(local);
    CHECK(((got_remote == a && got_local == b) || (got_remote == b && got_local == a)));
  }
}

TEST_CASE("Blocking: what a leaving coordinator served still reaches the client",
          "[routing][blocking]") {
  // The requester sees the coordinator leave the live members while the coordinator, alive,
  // still serves the command: the element must reach the client, and no second node may pop
  // another one for it (the simulator found this losing elements when a node left).
  RouterCluster c(3, routing_config(3, 1, 1));
  const std::string key = "zkey";
  const std::size_t owner = c.owners(key).front();
  const std::size_t far = (owner + 1) % 3;
  const std::size_t remote = c.connect(far);
  c.feed(remote, resp_cmd({"BZPOPMIN", key, "0"}));
  REQUIRE(c.router(owner).parked() == 1);
  c.hold(owner);  // the requester's request to give it back arrives late
  c.rep(far).set_view(c.now(), c.wall(), c.view_for(far, {owner}));
  c.router(far).on_view_change(c.now(), c.wall());
  c.settle();
  const std::size_t producer = c.connect(owner);
  CHECK(c.call(producer, {"ZADD", key, "1", "a", "2", "b"}) == ":2\r\n");
  CHECK(c.read(remote) == kPop);
  c.release(owner);
  c.advance(c.config().forward_timeout + 10ms);
  CHECK(parked(c) == 0);
  CHECK(c.call(producer, {"ZRANGE", key, "0", "-1"}) == "*1\r\n$1\r\nb\r\n");
}
