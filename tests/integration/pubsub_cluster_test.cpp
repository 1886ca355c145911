// Publish/subscribe across a real three-node cluster on loopback: messages published through
// one member reach subscribers on the others exactly once and in order, PUBLISH and PUBSUB
// count the whole cluster's subscribers, counts drop when subscribers leave (by UNSUBSCRIBE,
// by disconnecting, or with their node's death), SPUBLISH orders each shard channel's
// messages whoever publishes them, and a restarted node's clients subscribe again.
//
// Deadlines here bound how long the test waits for the cluster to converge; no figure is
// asserted about speed.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "integration/support/cluster.hpp"
#include "integration/support/subscriber.hpp"

using namespace apiary::test;
using namespace std::chrono_literals;

namespace {

using Texts = std::vector<std::string>;

std::string request(const std::vector<std::string>& argv) {
  std::string req = "*" + std::to_string(argv.size()) + "\r\n";
  for (const auto& a : argv) req += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return req;
}

// (P|S)SUBSCRIBE `names`; every confirmation must come (the last one once the other members
// know of the subscription).
void subscribe(Subscriber& s, const std::string& verb, const Texts& names) {
  Texts argv{verb};
  argv.insert(argv.end(), names.begin(), names.end());
  s.send(argv);
  for (const auto& name : names) {
    auto v = s.next(10s);
    REQUIRE(v);
    const Texts t = v->texts();
    INFO(verb << " " << name);
    REQUIRE(t.size() == 3);
    CHECK(t[1] == name);
  }
}

// The next push's texts, or {"<none>"} when nothing comes within `timeout`.
Texts next_message(Subscriber& s, std::chrono::milliseconds timeout = 5s) {
  auto v = s.next(timeout);
  return v ? v->texts() : Texts{"<none>"};
}

long long integer(const std::string& reply) {
  if (reply.empty() || reply[0] != ':') return -1000;
  return std::stoll(reply.substr(1));
}

// Sends `count` PUBLISH (or SPUBLISH) in one write and returns their replies.
std::vector<long long> publish_pipelined(Subscriber& c, const std::string& verb,
                                         const std::string& channel, const std::string& prefix,
                                         int count) {
  std::string batch;
  for (int i = 0; i < count; ++i) batch += request({verb, channel, prefix + std::to_string(i)});
  c.send_raw(batch);
  std::vector<long long> out;
  for (int i = 0; i < count; ++i) out.push_back(integer(c.next_raw(10s).value_or("")));
  return out;
}

long long numsub(const Daemon& d, const std::string& sub, const std::string& channel) {
  Subscriber c(d.redis_port());
  const auto v = parse_resp(c.command({"PUBSUB", sub, channel}));
  return v.items.size() == 2 ? std::stoll(v.items[1].text) : -1;
}

long long numpat(const Daemon& d) {
  Subscriber c(d.redis_port());
  return integer(c.command({"PUBSUB", "NUMPAT"}));
}

Texts channels(const Daemon& d, const std::string& sub = "CHANNELS") {
  Subscriber c(d.redis_port());
  return parse_resp(c.command({"PUBSUB", sub})).texts();
}

long long publish(const Daemon& d, const std::string& channel, const std::string& message,
                  const std::string& verb = "PUBLISH") {
  Subscriber c(d.redis_port());
  return integer(c.command({verb, channel, message}));
}

}  // namespace

TEST_CASE("pubsub: messages cross the cluster once and in order, counted cluster-wide",
          "[integration][pubsub]") {
  auto nodes = start_cluster("ps", 3, {});
  Daemon& n1 = *nodes[0];
  Daemon& n2 = *nodes[1];
  Daemon& n3 = *nodes[2];

  // 1,000 messages from node 1 to a subscriber on node 3: each PUBLISH counts it, and it gets
  // each message once, in order.
  Subscriber sub3(n3.redis_port());
  subscribe(sub3, "SUBSCRIBE", {"feed"});
  Subscriber pub1(n1.redis_port());
  const auto counts = publish_pipelined(pub1, "PUBLISH", "feed", "m", 1000);
  CHECK(std::count(counts.begin(), counts.end(), 1) == 1000);
  int in_order = 0;
  for (int i = 0; i < 1000; ++i) {
    const Texts t = next_message(sub3);
    if (t == Texts{"message", "feed", "m" + std::to_string(i)}) {
      ++in_order;
    } else {
      INFO("message " << i);
      CHECK(t == Texts{"message", "feed", "m" + std::to_string(i)});
      break;
    }
  }
  CHECK(in_order == 1000);
  CHECK(next_message(sub3, 300ms) == Texts{"<none>"});  // no duplicates

  // A message published anywhere right after a SUBSCRIBE's reply reaches the subscriber
  // (a channel, pattern or shard channel new to its node waits for every member's
  // confirmation before the reply).
  {
    Subscriber fresh(n2.redis_port());
    Subscriber at3(n3.redis_port());
    int reached = 0;
    for (int i = 0; i < 30; ++i) {
      const std::string ch = "fresh" + std::to_string(i);
      subscribe(fresh, "SUBSCRIBE", {ch});
      reached += integer(at3.command({"PUBLISH", ch, "now"})) == 1 &&
                 next_message(fresh) == Texts{"message", ch, "now"};
      subscribe(fresh, "PSUBSCRIBE", {ch + "p*"});
      reached += integer(at3.command({"PUBLISH", ch + "pq", "now"})) == 1 &&
                 next_message(fresh) == Texts{"pmessage", ch + "p*", ch + "pq", "now"};
      subscribe(fresh, "SSUBSCRIBE", {ch + "s"});
      reached += integer(at3.command({"SPUBLISH", ch + "s", "now"})) == 1 &&
                 next_message(fresh) == Texts{"smessage", ch + "s", "now"};
    }
    CHECK(reached == 90);
  }
  CHECK(eventually(5s, [&] { return numsub(n1, "NUMSUB", "fresh0") == 0; }));

  // A pattern subscriber on node 2 gets pmessages of matching channels only.
  Subscriber sub2(n2.redis_port());
  subscribe(sub2, "PSUBSCRIBE", {"news.*"});
  subscribe(sub2, "SUBSCRIBE", {"mark"});
  CHECK(publish(n1, "news.a", "1") == 1);
  CHECK(publish(n1, "other.b", "2") == 0);
  CHECK(publish(n1, "news.b", "3") == 1);
  CHECK(publish(n1, "newsx", "4") == 0);
  CHECK(publish(n1, "mark", "end") == 1);
  CHECK(next_message(sub2) == Texts{"pmessage", "news.*", "news.a", "1"});
  CHECK(next_message(sub2) == Texts{"pmessage", "news.*", "news.b", "3"});
  CHECK(next_message(sub2) == Texts{"message", "mark", "end"});

  // Two subscribers on different nodes both get every message; PUBLISH counts both.
  subscribe(sub2, "SUBSCRIBE", {"both"});
  subscribe(sub3, "SUBSCRIBE", {"both"});
  const auto twice = publish_pipelined(pub1, "PUBLISH", "both", "b", 100);
  CHECK(std::count(twice.begin(), twice.end(), 2) == 100);
  for (Subscriber* s : {&sub2, &sub3}) {
    int got = 0;
    for (int i = 0; i < 100; ++i) {
      if (next_message(*s) == Texts{"message", "both", "b" + std::to_string(i)}) ++got;
    }
    CHECK(got == 100);
  }

  // PUBSUB through node 1 counts the subscribers on nodes 2 and 3.
  CHECK(numsub(n1, "NUMSUB", "both") == 2);
  CHECK(numsub(n1, "NUMSUB", "feed") == 1);
  CHECK(numsub(n1, "NUMSUB", "news.a") == 0);  // patterns are not counted here
  CHECK(numpat(n1) == 1);
  CHECK(channels(n1) == Texts{"both", "feed", "mark"});
  CHECK(numsub(n2, "NUMSUB", "both") == 2);
  CHECK(numsub(n3, "NUMSUB", "both") == 2);

  // A subscriber that disconnects stops being counted on the other nodes; so does one that
  // unsubscribes. Then PUBLISH reaches nobody.
  sub3.close();
  CHECK(eventually(5s, [&] {
    return numsub(n1, "NUMSUB", "both") == 1 && numsub(n2, "NUMSUB", "both") == 1 &&
           numsub(n1, "NUMSUB", "feed") == 0;
  }));
  CHECK(publish(n1, "both", "one left") == 1);
  CHECK(next_message(sub2) == Texts{"message", "both", "one left"});
  sub2.send({"UNSUBSCRIBE", "both"});
  CHECK(next_message(sub2) == Texts{"unsubscribe", "both", "2"});
  sub2.send({"PUNSUBSCRIBE"});
  CHECK(next_message(sub2) == Texts{"punsubscribe", "news.*", "1"});
  CHECK(eventually(5s, [&] {
    return numsub(n1, "NUMSUB", "both") == 0 && numsub(n3, "NUMSUB", "both") == 0 &&
           numpat(n1) == 0 && numpat(n3) == 0;
  }));
  CHECK(publish(n1, "both", "nobody") == 0);
  CHECK(publish(n3, "news.c", "nobody") == 0);
  CHECK(channels(n1) == Texts{"mark"});
  CHECK(next_message(sub2, 300ms) == Texts{"<none>"});
}

TEST_CASE("pubsub: shard channels and two publishers keep each sender's order",
          "[integration][pubsub]") {
  auto nodes = start_cluster("pss", 3, {});
  Daemon& n1 = *nodes[0];
  Daemon& n2 = *nodes[1];
  Daemon& n3 = *nodes[2];

  // SSUBSCRIBE on node 2; SPUBLISH through nodes 1 and 3 by turns, to several channels (of
  // different coordinators): each channel's messages arrive in the order they were published.
  const Texts shards{"sa", "sb", "sc", "sd", "se"};
  Subscriber sub2(n2.redis_port());
  subscribe(sub2, "SSUBSCRIBE", shards);
  Subscriber via1(n1.redis_port());
  Subscriber via3(n3.redis_port());
  int counted = 0;
  constexpr int kPerChannel = 30;
  for (int i = 0; i < kPerChannel; ++i) {
    for (const auto& ch : shards) {
      Subscriber& via = (i % 2 == 0) ? via1 : via3;
      counted += integer(via.command({"SPUBLISH", ch, std::to_string(i)})) == 1 ? 1 : 0;
    }
  }
  CHECK(counted == kPerChannel * static_cast<int>(shards.size()));
  std::map<std::string, int> next;
  int wrong = 0;
  for (int i = 0; i < kPerChannel * static_cast<int>(shards.size()); ++i) {
    const Texts t = next_message(sub2);
    if (t.size() != 3 || t[0] != "smessage" || t[2] != std::to_string(next[t[1]])) {
      INFO("got " << (t.empty() ? "" : t[0]) << " " << (t.size() > 2 ? t[1] + " " + t[2] : ""));
      CHECK(++wrong == 0);
      break;
    }
    ++next[t[1]];
  }
  for (const auto& ch : shards) CHECK(next[ch] == kPerChannel);
  CHECK(next_message(sub2, 300ms) == Texts{"<none>"});
  CHECK(channels(n1, "SHARDCHANNELS") == shards);
  CHECK(numsub(n3, "SHARDNUMSUB", "sc") == 1);
  CHECK(publish(n1, "sa", "plain") == 0);  // a plain channel of the same name: nobody

  // Two publishers on different nodes, one channel, a subscriber on the third: each
  // publisher's messages arrive in its own order, all of them once.
  Subscriber sub3(n3.redis_port());
  subscribe(sub3, "SUBSCRIBE", {"shared"});
  constexpr int kEach = 500;
  std::vector<long long> from_a, from_b;
  {
    std::thread a([&] {
      Subscriber p(n1.redis_port());
      from_a = publish_pipelined(p, "PUBLISH", "shared", "A:", kEach);
    });
    std::thread b([&] {
      Subscriber p(n2.redis_port());
      from_b = publish_pipelined(p, "PUBLISH", "shared", "B:", kEach);
    });
    a.join();
    b.join();
  }
  CHECK(std::count(from_a.begin(), from_a.end(), 1) == kEach);
  CHECK(std::count(from_b.begin(), from_b.end(), 1) == kEach);
  std::map<char, int> seen;
  bool ordered = true;
  for (int i = 0; i < 2 * kEach && ordered; ++i) {
    const Texts t = next_message(sub3);
    ordered = t.size() == 3 && t[1] == "shared" && t[2].size() > 2 &&
              t[2].substr(2) == std::to_string(seen[t[2][0]]++);
    INFO("message " << i << ": " << (t.size() == 3 ? t[2] : t[0]));
    CHECK(ordered);
  }
  CHECK(seen['A'] == kEach);
  CHECK(seen['B'] == kEach);
  CHECK(next_message(sub3, 300ms) == Texts{"<none>"});
}

TEST_CASE(
    "pubsub: a killed node's subscribers stop counting, and after its restart they subscribe again",
    "[integration][pubsub]") {
  auto nodes = start_cluster("psk", 3, {});
  Daemon& n1 = *nodes[0];
  {
    Subscriber sub3(nodes[2]->redis_port());
    subscribe(sub3, "SUBSCRIBE", {"life"});
    subscribe(sub3, "PSUBSCRIBE", {"l*"});
    CHECK(numsub(n1, "NUMSUB", "life") == 1);
    CHECK(publish(n1, "life", "before") == 2);
    CHECK(next_message(sub3) == Texts{"message", "life", "before"});
    CHECK(next_message(sub3) == Texts{"pmessage", "l*", "life", "before"});
    nodes[2]->kill_now();
  }
  // Once the failure detector declares it dead, nodes 1 and 2 stop counting its subscribers.
  CHECK(eventually(15s, [&] {
    return numsub(n1, "NUMSUB", "life") == 0 && numsub(*nodes[1], "NUMSUB", "life") == 0 &&
           numpat(n1) == 0;
  }));
  CHECK(publish(n1, "life", "while dead") == 0);
  CHECK(channels(*nodes[1]).empty());

  // Restarted (same name), it joins again; its clients subscribe and receive.
  nodes[2] = std::make_unique<Daemon>("psk3", std::vector<std::string>{"--seeds", n1.gossip()});
  REQUIRE(eventually(15s, [&] {
    for (const auto& n : nodes) {
      if (info_field(*n, "cluster_alive_members") != 3) return false;
    }
    return true;
  }));
  Subscriber again(nodes[2]->redis_port());
  subscribe(again, "SUBSCRIBE", {"life"});
  CHECK(publish(n1, "life", "after") == 1);
  CHECK(next_message(again) == Texts{"message", "life", "after"});
  CHECK(publish(*nodes[1], "life", "after2") == 1);
  CHECK(next_message(again) == Texts{"message", "life", "after2"});
  CHECK(numsub(n1, "NUMSUB", "life") == 1);
  CHECK(numpat(n1) == 0);
}
