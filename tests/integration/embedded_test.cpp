// Embedded members: apiary::Node inside a test process, as a service would embed it. Three
// nodes in one process form a cluster and share data; sibling-aware calls; events; a leave
// loses nothing; many threads call at once; an embedded node and an apiaryd process share
// one cluster.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "apiary/node.hpp"
#include "support/daemon.hpp"

namespace {

using namespace std::chrono_literals;
using apiary::Node;
using apiary::NodeConfig;
using apiary::test::eventually;

NodeConfig embedded_config(const std::string& name, std::uint32_t replicas, std::uint32_t w,
                           std::vector<std::string> seeds = {}) {
  NodeConfig c;
  c.name = name;
  c.gossip_addr = "127.0.0.1:0";
  c.seeds = std::move(seeds);
  c.partition_count = 64;
  c.replicas = replicas;
  c.write_quorum = w;
  c.read_quorum = 1;
  c.dead_grace = 2000ms;
  c.leave_timeout = 2000ms;
  return c;
}

std::unique_ptr<Node> start(NodeConfig c) {
  auto node = Node::start(std::move(c));
  REQUIRE(node.ok());
  return std::move(node).value();
}

std::size_t alive(const Node& n) {
  std::size_t count = 0;
  for (const auto& m : n.members()) count += m.state == apiary::gossip::MemberState::alive;
  return count;
}

// Every node sees `count` alive members and the same partition table.
bool formed(const std::vector<Node*>& nodes, std::size_t count) {
  for (const Node* n : nodes) {
    if (alive(*n) != count) return false;
    const auto table = n->partitions();
    if (table.empty() || table != nodes.front()->partitions()) return false;
    std::set<std::string> owners;
    for (const auto& p : table) owners.insert(p.owners.begin(), p.owners.end());
    if (owners.size() != count) return false;
  }
  return true;
}

}  // namespace

using namespace apiary;

TEST_CASE("three embedded nodes form a cluster and share data", "[embedded]") {
  // N=3, W=2: a read that must see a write just made through another node asks two
  // replicas (R + W > N); R=1 may hit the replica the write has not reached yet.
  const CallOptions kStrong{0, 2};
  auto a = start(embedded_config("emb-a", 3, 2));
  auto b = start(embedded_config("emb-b", 3, 2, {a->gossip_addr()}));
  auto c = start(embedded_config("emb-c", 3, 2, {a->gossip_addr()}));
  REQUIRE(eventually(15s, [&] { return formed({a.get(), b.get(), c.get()}, 3); }));

  for (int i = 0; i < 300; ++i) {
    auto r = a->set("key:" + std::to_string(i), "value-" + std::to_string(i));
    REQUIRE(r.ok());
    CHECK(*r);
  }
  for (int i = 0; i < 300; ++i) {
    auto r = c->get("key:" + std::to_string(i), kStrong);
    INFO(r.status().to_string());
    REQUIRE(r.ok());
    REQUIRE(r->has_value());
    CHECK(**r == "value-" + std::to_string(i));
  }
  // A quorum read of all three replicas sees the same value.
  auto all = b->get("key:7", CallOptions{0, 3});
  REQUIRE(all.ok());
  CHECK(all->value_or("") == "value-7");
  auto missing = b->get("no-such-key");
  REQUIRE(missing.ok());
  CHECK_FALSE(missing->has_value());

  SECTION("set options, expiry and delete behave like SET/PEXPIRE/PTTL/DEL") {
    // Conditional writes with R=2 see what a quorum holds before they run.
    SetOptions nx;
    nx.condition = SetOptions::Condition::if_absent;
    nx.quorum = kStrong;
    CHECK(*b->set("key:1", "other", nx) == false);
    CHECK(*b->set("fresh", "1", nx) == true);
    SetOptions xx;
    xx.condition = SetOptions::Condition::if_present;
    xx.quorum = kStrong;
    CHECK(*c->set("absent", "x", xx) == false);
    CHECK_FALSE(c->get("absent", kStrong)->has_value());

    CHECK_FALSE(a->ttl("fresh", kStrong)->remaining.has_value());
    CHECK(a->ttl("fresh", kStrong)->exists);
    CHECK_FALSE(a->ttl("nothing", kStrong)->exists);
    CHECK(*c->expire("fresh", 60s, kStrong));
    auto t = b->ttl("fresh", kStrong);
    REQUIRE(t.ok());
    REQUIRE(t->remaining.has_value());
    CHECK(*t->remaining > 50s);
    CHECK(*t->remaining <= 60s);
    CHECK_FALSE(*c->expire("nothing", 60s, kStrong));

    SetOptions short_ttl;
    short_ttl.ttl = 300ms;
    REQUIRE(*a->set("brief", "x", short_ttl));
    CHECK(eventually(5s, [&] { return !c->get("brief")->has_value(); }));

    CHECK(*c->del("key:3", kStrong));
    CHECK_FALSE(*c->del("key:3", kStrong));
    CHECK_FALSE(a->get("key:3", kStrong)->has_value());
  }

  SECTION("bad arguments are refused with invalid_argument") {
    CHECK(a->get("k", CallOptions{0, 4}).status().code() == StatusCode::invalid_argument);
    SetOptions bad;
    bad.quorum.write_quorum = 9;
    CHECK(a->set("k", "v", bad).status().code() == StatusCode::invalid_argument);
    CHECK(a->expire("key:1", 0ms).status().code() == StatusCode::invalid_argument);
    CHECK(CausalContext::from_bytes("not a context").status().code() == StatusCode::malformed);
  }

  SECTION("concurrent writes become siblings; a put with their context resolves them") {
    REQUIRE(a->put("cart", "apples", CausalContext{}).ok());
    REQUIRE(b->put("cart", "pears", CausalContext{}).ok());  // saw nothing: concurrent
    auto v = c->get_versions("cart", CallOptions{0, 3});
    REQUIRE(v.ok());
    REQUIRE(v->siblings.size() == 2);
    std::set<std::string> values{v->siblings[0].value, v->siblings[1].value};
    CHECK(values == std::set<std::string>{"apples", "pears"});
    // get() answers the last-writer-wins sibling, the last in the list.
    CHECK(c->get("cart", CallOptions{0, 3})->value_or("") == v->siblings.back().value);
    CHECK(v->siblings[0].writer != 0);
    CHECK(v->siblings[0].written_at.time_since_epoch() > 0s);

    // The context travels as bytes and comes back intact.
    auto ctx = CausalContext::from_bytes(v->context.bytes());
    REQUIRE(ctx.ok());
    REQUIRE(a->put("cart", "apples+pears", *ctx).ok());
    auto merged = b->get_versions("cart", CallOptions{0, 3});
    REQUIRE(merged.ok());
    REQUIRE(merged->siblings.size() == 1);
    CHECK(merged->siblings[0].value == "apples+pears");

    // A put with a stale context keeps the newer value as a sibling.
    REQUIRE(c->put("cart", "stale", *ctx).ok());
    CHECK(a->get_versions("cart", CallOptions{0, 3})->siblings.size() == 2);

    auto none = a->get_versions("never-written");
    REQUIRE(none.ok());
    CHECK(none->siblings.empty());
    CHECK(none->context.empty());
  }

  SECTION("asynchronous calls complete on the loop thread; blocking calls there are refused") {
    std::promise<Status> inside;
    a->get_async("key:5", [&](Result<std::optional<std::string>> r) {
      REQUIRE(r.ok());
      CHECK(r->value_or("") == "value-5");
      // A blocking call from a callback would wait for itself.
      inside.set_value(a->get("key:5").status());
    });
    auto fut = inside.get_future();
    REQUIRE(fut.wait_for(10s) == std::future_status::ready);
    CHECK(fut.get().code() == StatusCode::invalid_argument);

    std::atomic<int> done{0};
    for (int i = 0; i < 100; ++i) {
      b->set_async("async:" + std::to_string(i), "v", [&](Result<bool> r) {
        if (r.ok() && *r) ++done;
      });
    }
    CHECK(eventually(10s, [&] { return done.load() == 100; }));
    CHECK(c->get("async:99", kStrong)->value_or("") == "v");
  }

  CHECK(a->stats().calls > 0);
  CHECK(c->stats().keys > 0);
}

TEST_CASE("a leave hands every key over and the destructor leaves too", "[embedded]") {
  // Declared before the nodes: the callbacks below write here until the nodes are gone.
  std::mutex events_mutex;
  std::vector<gossip::MemberEvent> member_events;
  std::vector<PartitionEvent> partition_events;
  // One replica per key: whatever the leaving node owned exists nowhere else.
  auto a = start(embedded_config("lv-a", 1, 1));
  auto b = start(embedded_config("lv-b", 1, 1, {a->gossip_addr()}));
  auto c = start(embedded_config("lv-c", 1, 1, {a->gossip_addr()}));
  REQUIRE(eventually(15s, [&] { return formed({a.get(), b.get(), c.get()}, 3); }));

  a->on_member([&](const gossip::MemberEvent& e) {
    std::lock_guard<std::mutex> lock(events_mutex);
    member_events.push_back(e);
  });
  a->on_partitions([&](const PartitionEvent& e) {
    std::lock_guard<std::mutex> lock(events_mutex);
    partition_events.push_back(e);
  });
  // The current table arrives at once.
  REQUIRE(eventually(5s, [&] {
    std::lock_guard<std::mutex> lock(events_mutex);
    return !partition_events.empty();
  }));
  {
    std::lock_guard<std::mutex> lock(events_mutex);
    CHECK(partition_events[0].partition_count == 64);
    CHECK(partition_events[0].lost.empty());
    CHECK_FALSE(partition_events[0].gained.empty());  // the first table: all it owns
  }

  const auto c_owned = [&] {
    std::size_t n = 0;
    for (const auto& p : a->partitions()) n += p.owners.front() == "lv-c";
    return n;
  }();
  REQUIRE(c_owned > 0);

  for (int i = 0; i < 500; ++i) {
    REQUIRE(b->set("k" + std::to_string(i), std::to_string(i)).ok());
  }
  REQUIRE(c->leave().ok());
  REQUIRE(c->leave().ok());  // idempotent
  CHECK(c->get("k1").status().code() == StatusCode::unavailable);

  REQUIRE(eventually(10s, [&] { return formed({a.get(), b.get()}, 2); }));
  for (int i = 0; i < 500; ++i) {
    auto r = a->get("k" + std::to_string(i));
    REQUIRE(r.ok());
    REQUIRE(r->value_or("<missing>") == std::to_string(i));
  }
  {
    std::lock_guard<std::mutex> lock(events_mutex);
    bool saw_left = false;
    for (const auto& e : member_events) {
      saw_left |= e.member.name == "lv-c" && e.kind == gossip::MemberEventKind::left;
    }
    CHECK(saw_left);
    // a gained partitions when c went away (c's share moved to a and b).
    bool gained = false;
    for (std::size_t i = 1; i < partition_events.size(); ++i) {
      gained |= !partition_events[i].gained.empty();
    }
    CHECK(gained);
  }

  // The destructor of b leaves gracefully: its keys land on a.
  b.reset();
  REQUIRE(eventually(10s, [&] { return formed({a.get()}, 1); }));
  for (int i = 0; i < 500; ++i) {
    REQUIRE(a->get("k" + std::to_string(i))->value_or("<missing>") == std::to_string(i));
  }
}

TEST_CASE("many threads call one embedded node at once", "[embedded]") {
  auto a = start(embedded_config("mt-a", 2, 2));
  auto b = start(embedded_config("mt-b", 2, 2, {a->gossip_addr()}));
  REQUIRE(eventually(15s, [&] { return formed({a.get(), b.get()}, 2); }));

  constexpr int kThreads = 8;
  constexpr int kOps = 150;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Node& n = t % 2 == 0 ? *a : *b;
      for (int i = 0; i < kOps; ++i) {
        const std::string key = "t" + std::to_string(t) + ":" + std::to_string(i % 20);
        if (!n.set(key, std::to_string(i)).ok()) ++failures;
        auto got = n.get(key);
        if (!got.ok() || !got->has_value()) ++failures;
        if (!n.get("shared").ok()) ++failures;
        if (i % 10 == 0 && !n.set("shared", key).ok()) ++failures;
        if (i % 25 == 0) (void)n.stats();
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures.load() == 0);
  // Each thread's keys end with the values of its last round.
  for (int t = 0; t < kThreads; ++t) {
    for (int k = 0; k < 20; ++k) {
      const int last = (kOps - 1) - (kOps - 1 - k) % 20;  // the thread's last i with i % 20 == k
      auto v = b->get("t" + std::to_string(t) + ":" + std::to_string(k), CallOptions{0, 2});
      REQUIRE(v.ok());
      CHECK(v->value_or("") == std::to_string(last));
    }
  }

  // After stop(), calls fail at once instead of hanging.
  b.reset();  // leaves, handing its copies to a
  a->stop();
  CHECK(a->get("shared").status().code() == StatusCode::unavailable);
  std::promise<StatusCode> code;
  a->set_async("x", "y", [&](Result<bool> r) { code.set_value(r.status().code()); });
  CHECK(code.get_future().get() == StatusCode::unavailable);
}

TEST_CASE("an embedded node and an apiaryd process share one cluster", "[embedded]") {
  test::Daemon daemon("daemon-1", {"--replicas", "2", "--write-quorum", "2", "--partitions", "64"});
  auto config = embedded_config("embedded-1", 2, 2, {daemon.gossip()});
  auto node = start(config);
  REQUIRE(eventually(15s, [&] {
    const auto states = test::member_states(daemon.http());
    return alive(*node) == 2 && states.count("embedded-1") == 1 &&
           states.at("embedded-1") == "alive" && node->partitions().size() == 64;
  }));
  for (int i = 0; i < 100; ++i) {
    REQUIRE(node->set("mixed:" + std::to_string(i), "from-embedded").ok());
  }
  const std::string cli = "redis-cli -h 127.0.0.1 -p " + daemon.redis_port() + " ";
  const std::string info = test::run(cli + "INFO").second;
  CHECK(info.find("tcp_port:" + daemon.redis_port() + "\r") != std::string::npos);
  CHECK(info.find("cluster_ring:64/2\r") != std::string::npos);
  for (int i = 0; i < 100; i += 9) {
    CHECK(test::run(cli + "GET mixed:" + std::to_string(i)).second == "from-embedded\n");
  }
  REQUIRE(test::run(cli + "SET from-daemon hello").second == "OK\n");
  CHECK(node->get("from-daemon")->value_or("") == "hello");
  // The sibling-aware calls are plain commands for Redis clients too.
  REQUIRE(node->put("both", "embedded", CausalContext{}).ok());
  REQUIRE(test::run(cli + "APIARY.VPUT both daemon ''").second == "OK\n");
  const std::string vget = test::run(cli + "APIARY.VGET both").second;
  CHECK(vget.find("embedded") != std::string::npos);
  CHECK(vget.find("daemon") != std::string::npos);
  CHECK(node->get_versions("both")->siblings.size() == 2);
  CHECK(test::run(cli + "APIARY.VPUT both x not-a-context").second.find("invalid causal context") !=
        std::string::npos);
  // With N=2 on two members, each holds every key: the embedded node's own copy.
  CHECK(eventually(5s, [&] { return node->stats().keys == 102; }));
  REQUIRE(node->leave().ok());
  CHECK(eventually(10s, [&] {
    const auto states = test::member_states(daemon.http());
    return states.count("embedded-1") == 1 && states.at("embedded-1") == "left";
  }));
}

TEST_CASE("a bad configuration is refused before anything starts", "[embedded]") {
  auto config = embedded_config("bad", 3, 2);
  config.log_level = "loud";
  CHECK(Node::start(config).status().code() == StatusCode::invalid_argument);
  config = embedded_config("bad", 3, 4);
  CHECK(Node::start(config).status().code() == StatusCode::invalid_argument);
  config = embedded_config("bad", 3, 2);
  config.partition_count = 1000;
  CHECK(Node::start(config).status().code() == StatusCode::invalid_argument);
  config = embedded_config("bad", 3, 2);
  config.gossip_addr = "not an address";
  CHECK_FALSE(Node::start(config).ok());
}

TEST_CASE("members that disagree on the ring settings keep out of each other's rings",
          "[embedded]") {
  auto a = start(embedded_config("ring-a", 1, 1));
  auto other = embedded_config("ring-b", 1, 1, {a->gossip_addr()});
  other.partition_count = 128;
  auto b = start(other);
  // They see each other as members...
  REQUIRE(eventually(15s, [&] { return alive(*a) == 2 && alive(*b) == 2; }));
  // ...but each owns every partition of its own ring alone, so neither routes a key to the
  // other with a partition count it does not use.
  const auto owners = [](const Node& n) {
    std::set<std::string> out;
    for (const auto& p : n.partitions()) out.insert(p.owners.begin(), p.owners.end());
    return out;
  };
  CHECK(owners(*a) == std::set<std::string>{"ring-a"});
  CHECK(owners(*b) == std::set<std::string>{"ring-b"});
  REQUIRE(a->set("k", "from-a").ok());
  CHECK(a->get("k")->value_or("") == "from-a");
}
