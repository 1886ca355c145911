// The embedding API's near cache (NodeConfig::near_cache_keys, docs/embedding.md): three
// embedded members with one owner per key (replicas 1), so most keys a member reads are owned
// by another. Repeated reads of those are served locally; a write through any member, a
// delete, an expiry or a write through this member reaches the reader's cache as an
// invalidation, and the next get() reads the new value from the cluster.
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
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

NodeConfig config(const std::string& name, std::vector<std::string> seeds, std::size_t near) {
  NodeConfig c;
  c.name = name;
  c.gossip_addr = "127.0.0.1:0";
  c.seeds = std::move(seeds);
  c.partition_count = 64;
  c.replicas = 1;
  c.write_quorum = 1;
  c.read_quorum = 1;
  c.dead_grace = 2000ms;
  c.leave_timeout = 2000ms;
  c.near_cache_keys = near;
  return c;
}

std::unique_ptr<Node> start(NodeConfig c) {
  auto node = Node::start(std::move(c));
  REQUIRE(node.ok());
  return std::move(node).value();
}

bool formed(const std::vector<Node*>& nodes) {
  for (const Node* n : nodes) {
    std::size_t alive = 0;
    for (const auto& m : n->members()) alive += m.state == apiary::gossip::MemberState::alive;
    if (alive != nodes.size()) return false;
    std::set<std::string> owners;
    for (const auto& p : n->partitions()) owners.insert(p.owners.begin(), p.owners.end());
    if (owners.size() != nodes.size()) return false;
  }
  return true;
}

std::string value_of(Node& n, const std::string& key) {
  auto r = n.get(key);
  REQUIRE(r.ok());
  return r.value().value_or("<missing>");
}

}  // namespace

TEST_CASE("the near cache serves repeated reads and follows every change", "[near_cache]") {
  auto a = start(config("near-a", {}, 1000));
  auto b = start(config("near-b", {a->gossip_addr()}, 0));
  auto c = start(config("near-c", {a->gossip_addr()}, 0));
  REQUIRE(eventually(15s, [&] { return formed({a.get(), b.get(), c.get()}); }));

  constexpr int kKeys = 60;
  auto key = [](int i) { return "near:" + std::to_string(i); };
  for (int i = 0; i < kKeys; ++i) REQUIRE(b->set(key(i), "v1").ok());
  for (int i = 0; i < kKeys; ++i) REQUIRE(value_of(*a, key(i)) == "v1");
  const auto filled = a->stats();
  // About two keys in three belong to another member; those are cached.
  CHECK(filled.near_cache_entries >= kKeys / 3);
  CHECK(filled.near_cache_entries < static_cast<std::size_t>(kKeys));
  for (int i = 0; i < kKeys; ++i) REQUIRE(value_of(*a, key(i)) == "v1");
  const auto reread = a->stats();
  CHECK(reread.near_cache_hits - filled.near_cache_hits == filled.near_cache_entries);

  SECTION("a write through another member invalidates") {
    for (int i = 0; i < kKeys; ++i) REQUIRE(b->set(key(i), "v2").ok());
    REQUIRE(eventually(2s, [&] {
      for (int i = 0; i < kKeys; ++i) {
        if (value_of(*a, key(i)) != "v2") return false;
      }
      return true;
    }));
    CHECK(a->stats().near_cache_invalidations >= filled.near_cache_entries);
    // Cached again, and served from the cache.
    const auto before = a->stats().near_cache_hits;
    for (int i = 0; i < kKeys; ++i) REQUIRE(value_of(*a, key(i)) == "v2");
    CHECK(a->stats().near_cache_hits - before >= filled.near_cache_entries);
  }
  SECTION("a delete and an expiry through another member invalidate") {
    for (int i = 0; i < kKeys; i += 2) REQUIRE(c->del(key(i)).ok());
    for (int i = 1; i < kKeys; i += 2) REQUIRE(c->expire(key(i), 300ms).ok());
    REQUIRE(eventually(3s, [&] {
      for (int i = 0; i < kKeys; ++i) {
        if (value_of(*a, key(i)) != "<missing>") return false;
      }
      return true;
    }));
  }
  SECTION("this member's own write is seen at once") {
    for (int i = 0; i < kKeys; ++i) {
      REQUIRE(a->set(key(i), "mine").ok());
      REQUIRE(value_of(*a, key(i)) == "mine");
    }
  }
  c->stop();
  b->stop();
  a->stop();
}

TEST_CASE("without a near cache every read asks the cluster", "[near_cache]") {
  auto a = start(config("plain-a", {}, 0));
  auto b = start(config("plain-b", {a->gossip_addr()}, 0));
  REQUIRE(eventually(15s, [&] { return formed({a.get(), b.get()}); }));
  for (int i = 0; i < 20; ++i) REQUIRE(b->set("k" + std::to_string(i), "v").ok());
  for (int i = 0; i < 20; ++i) REQUIRE(value_of(*a, "k" + std::to_string(i)) == "v");
  const auto s = a->stats();
  CHECK(s.near_cache_hits == 0);
  CHECK(s.near_cache_entries == 0);
  b->stop();
  a->stop();
}
