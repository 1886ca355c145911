// Pub/sub between two nodes' Servers, wired by a fake cluster layer that carries their member
// messages in order (and can lose them): a subscription on one node is known to the other
// before SUBSCRIBE answers, PUBLISH reaches the other node's subscribers and counts them, a
// lost registry message is repaired by the periodic summary, a member that goes away stops
// being counted, and RESP2 subscribe mode and RESP3 pushes look as Redis's.
#include <catch2/catch.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "apiary/resp/connection.hpp"
#include "apiary/resp/server.hpp"
#include "apiary/store/store.hpp"
#include "resp_test_support.hpp"
#include "support/fake_cluster_keyspace.hpp"

using namespace apiary;
using resp_test::cmd;

namespace {

struct Node;

// Member messages between the two nodes, delivered when the test says so.
struct Wire {
  struct Message {
    Node* to;
    std::string op;
    std::vector<std::string> args;
    std::function<void()> answered;  // an ask's reply
  };
  std::deque<Message> queue;
  void deliver_all();
};

struct Node final : apiary::test::FakeClusterKeyspace {
  store::Store store{store::StoreConfig{}};
  resp::Server server;
  Wire& wire;
  Node* peer = nullptr;
  TimePoint now = from_nanos(1'000'000'000);
  WallTime wall{1'700'000'000'000};
  std::vector<std::unique_ptr<resp::Connection>> clients;

  Node(std::string name, Wire& w) : server(identity(std::move(name))), wire(w) {
    server.attach_store(&store);
    server.set_cluster_keyspace(this);
  }
  static resp::ServerIdentity identity(std::string name) {
    resp::ServerIdentity id;
    id.node_name = std::move(name);
    return id;
  }
  resp::Connection& connect() {
    clients.push_back(server.connect(now, {"127.0.0.1:1", "127.0.0.1:6379", 7}));
    return *clients.back();
  }
  std::string send(std::size_t i, std::initializer_list<std::string_view> args) {
    clients.at(i)->feed(now, wall, cmd(args));
    return drain(i);
  }
  std::string drain(std::size_t i) {
    std::string out(clients.at(i)->output());
    clients.at(i)->consume_output(out.size());
    return out;
  }

  // ---- resp::ClusterKeyspace: the messaging side ----
  void tell_members(TimePoint, std::string op, std::vector<std::string> args) override {
    if (peer != nullptr) wire.queue.push_back({peer, std::move(op), std::move(args), {}});
  }
  void ask_members(TimePoint, std::string op, std::vector<std::string> args,
                   std::function<void(MemberAnswers)> done) override {
    if (peer == nullptr) return done({});
    wire.queue.push_back({peer, std::move(op), std::move(args), [done] { done({{}}); }});
  }
  void tell_member(std::string_view, std::string op, std::vector<std::string> args) override {
    tell_members(now, std::move(op), std::move(args));
  }
  void complete(std::uint64_t client, resp::PendingToken token, std::string reply) override {
    if (auto* c = server.find_client(client)) c->complete(token, reply, now, wall);
  }
};

void Wire::deliver_all() {
  while (!queue.empty()) {
    Message m = std::move(queue.front());
    queue.pop_front();
    (void)m.to->server.member_op(m.op, m.args);
    if (m.answered) m.answered();
  }
}

struct Pair {
  Wire wire;
  Node a{"a", wire};
  Node b{"b", wire};
  Pair() {
    a.peer = &b;
    b.peer = &a;
    a.server.on_members(a.now, {"b"});
    b.server.on_members(b.now, {"a"});
    wire.deliver_all();
    a.connect();
    b.connect();
  }
};

const std::string kSubscribedCh = "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n";

}  // namespace

TEST_CASE("a subscription on one node is known to the other before SUBSCRIBE answers",
          "[resp][pubsub]") {
  Pair p;
  CHECK(p.b.send(0, {"SUBSCRIBE", "ch"}).empty());  // waits for a's confirmation
  CHECK(p.a.send(0, {"PUBSUB", "NUMSUB", "ch"}) == "*2\r\n$2\r\nch\r\n:0\r\n");
  p.wire.deliver_all();
  CHECK(p.b.drain(0) == kSubscribedCh);
  CHECK(p.a.send(0, {"PUBSUB", "NUMSUB", "ch"}) == "*2\r\n$2\r\nch\r\n:1\r\n");
  CHECK(p.a.send(0, {"PUBSUB", "CHANNELS"}) == "*1\r\n$2\r\nch\r\n");

  // PUBLISH through a counts b's subscriber and sends the message there, in order.
  CHECK(p.a.send(0, {"PUBLISH", "ch", "one"}) == ":1\r\n");
  CHECK(p.a.send(0, {"PUBLISH", "ch", "two"}) == ":1\r\n");
  CHECK(p.a.send(0, {"PUBLISH", "other", "x"}) == ":0\r\n");
  p.wire.deliver_all();
  CHECK(p.b.drain(0) ==
        "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\none\r\n"
        "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\ntwo\r\n");

  // A second subscriber of the same channel on b answers at once.
  p.b.connect();
  CHECK(p.b.send(1, {"SUBSCRIBE", "ch"}) == kSubscribedCh);
  p.wire.deliver_all();
  CHECK(p.a.send(0, {"PUBLISH", "ch", "3"}) == ":2\r\n");

  // A pattern subscriber counts once per matching pattern. Message 3, still on its way to b
  // when the pattern was subscribed there, matches it too, and comes after the confirmation.
  p.b.connect();
  CHECK(p.b.send(2, {"PSUBSCRIBE", "c*"}).empty());
  p.wire.deliver_all();
  CHECK(p.b.drain(2) ==
        "*3\r\n$10\r\npsubscribe\r\n$2\r\nc*\r\n:1\r\n"
        "*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$1\r\n3\r\n");
  CHECK(p.a.send(0, {"PUBSUB", "NUMPAT"}) == ":1\r\n");
  CHECK(p.a.send(0, {"PUBLISH", "ch", "4"}) == ":3\r\n");
  p.wire.deliver_all();
  CHECK(p.b.drain(2) == "*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$1\r\n4\r\n");
}

TEST_CASE("a lost registry message is repaired by the next summary", "[resp][pubsub]") {
  Pair p;
  p.b.send(0, {"SUBSCRIBE", "ch"});
  p.wire.deliver_all();
  CHECK(p.b.drain(0) == kSubscribedCh);
  p.b.clients.at(0).reset();  // the subscriber goes away; b tells a, which never hears it
  REQUIRE(p.wire.queue.size() == 1);
  p.wire.queue.clear();  // lost on a broken link
  CHECK(p.a.send(0, {"PUBLISH", "ch", "x"}) == ":1\r\n");  // a still counts it
  p.wire.queue.clear();
  // b's summary after 15 s tells a its record differs; a asks for the whole interest.
  p.b.now += std::chrono::seconds(16);
  p.b.server.on_timer(p.b.now, p.b.wall);
  p.wire.deliver_all();
  CHECK(p.a.send(0, {"PUBLISH", "ch", "x"}) == ":0\r\n");
  CHECK(p.a.server.pubsub().stats().resyncs == 1);
}

TEST_CASE("UNSUBSCRIBE answers once the other members stopped counting", "[resp][pubsub]") {
  Pair p;
  p.b.send(0, {"SUBSCRIBE", "ch", "other"});
  p.wire.deliver_all();
  CHECK(p.b.drain(0).size() > 0);
  // The last subscriber of a name on b: the reply waits for a's confirmation.
  CHECK(p.b.send(0, {"UNSUBSCRIBE", "ch"}).empty());
  CHECK(p.a.send(0, {"PUBLISH", "ch", "x"}) == ":1\r\n");  // a has not heard yet
  p.wire.queue.pop_back();                                  // (that message to b: dropped)
  p.wire.deliver_all();
  CHECK(p.b.drain(0) == "*3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:1\r\n");
  CHECK(p.a.send(0, {"PUBLISH", "ch", "x"}) == ":0\r\n");
  // Inside subscribe mode the next command waited behind it and runs now.
  CHECK(p.b.send(0, {"PING"}) == "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
}

TEST_CASE("a member that goes away is no longer counted", "[resp][pubsub]") {
  Pair p;
  p.b.send(0, {"SUBSCRIBE", "ch"});
  p.wire.deliver_all();
  CHECK(p.a.send(0, {"PUBLISH", "ch", "x"}) == ":1\r\n");
  p.wire.queue.clear();
  p.a.server.on_members(p.a.now, {});
  CHECK(p.a.send(0, {"PUBLISH", "ch", "x"}) == ":0\r\n");
  CHECK(p.wire.queue.empty());
  // Back again: both sides send their whole interest.
  p.a.server.on_members(p.a.now, {"b"});
  p.b.server.on_members(p.b.now, {});
  p.b.server.on_members(p.b.now, {"a"});
  p.wire.deliver_all();
  CHECK(p.a.send(0, {"PUBLISH", "ch", "x"}) == ":1\r\n");
}

TEST_CASE("subscribe mode in RESP2 and pushes in RESP3", "[resp][pubsub]") {
  Pair p;
  p.a.send(0, {"SUBSCRIBE", "ch"});
  p.wire.deliver_all();
  CHECK(p.a.drain(0) == kSubscribedCh);
  CHECK(p.a.send(0, {"GET", "k"}) ==
        "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
        "are allowed in this context\r\n");
  CHECK(p.a.send(0, {"PING"}) == "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
  CHECK(p.a.send(0, {"RESET"}) == "+RESET\r\n");
  CHECK(p.a.send(0, {"GET", "k"}) == "$-1\r\n");
  p.wire.deliver_all();
  CHECK(p.b.send(0, {"PUBSUB", "NUMSUB", "ch"}) == "*2\r\n$2\r\nch\r\n:0\r\n");

  // RESP3: normal commands keep working; a message to itself comes before PUBLISH's reply.
  p.a.send(0, {"HELLO", "3"});
  p.a.send(0, {"SUBSCRIBE", "me"});
  p.wire.deliver_all();
  CHECK(p.a.drain(0) == ">3\r\n$9\r\nsubscribe\r\n$2\r\nme\r\n:1\r\n");
  CHECK(p.a.send(0, {"GET", "k"}) == "_\r\n");
  CHECK(p.a.send(0, {"PUBLISH", "me", "hi"}) ==
        ">3\r\n$7\r\nmessage\r\n$2\r\nme\r\n$2\r\nhi\r\n:1\r\n");
}
