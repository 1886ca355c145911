// Delta replication of lists (docs/datatypes.md, "Lists"): a push or a pop on a long list
// travels as its element change, not as the list, and every replica ends with the
// coordinator's version.
#include <catch2/catch.hpp>

#include "apiary/data/codec.hpp"
#include "support/replication_harness.hpp"

using namespace apiary;
using namespace apiary::test;

namespace {

// One list write at `node` as a coordinator, then replicated with quorum 3.
std::uint64_t list_write(ReplCluster& c, std::size_t node, const std::string& key,
                         const std::function<void(store::Store::CollectionEdit&)>& f) {
  REQUIRE(c.store(node)
              .edit_collection(key, data::ValueKind::list, c.wall(),
                               [&](store::Store::CollectionEdit& e) {
                                 f(e);
                                 return true;
                               })
              .ok());
  return c.put_existing(node, key, 3);
}

std::optional<data::DvvSet> version(ReplCluster& c, std::size_t node, const std::string& key) {
  auto e = c.store(node).export_entry(key, c.wall());
  if (!e) return std::nullopt;
  return e->version;
}

}  // namespace

TEST_CASE("a push or a pop on a long list replicates as its change", "[replication][delta]") {
  ReplCluster c(3, small_config());
  c.set_views(c.all());
  const std::string key = "queue";
  REQUIRE(c.wait(0, list_write(c, 0, key, [](store::Store::CollectionEdit& e) {
             for (int i = 0; i < 2000; ++i) {
               e.collection.push_back("job:" + std::to_string(i) + std::string(20, 'x'), e.dot,
                                      e.stamp);
             }
           }))->status.ok());
  c.run_for(100ms);
  const auto sent_before = c.rep(0).stats().bytes_sent;
  const auto deltas_before = c.rep(0).stats().delta_writes;
  for (int i = 0; i < 25; ++i) {
    REQUIRE(c.wait(0, list_write(c, 0, key, [&](store::Store::CollectionEdit& e) {
               e.collection.push_back("new:" + std::to_string(i), e.dot, e.stamp);
             }))->status.ok());
    REQUIRE(c.wait(0, list_write(c, 0, key, [](store::Store::CollectionEdit& e) {
               e.collection.remove(std::string((*e.collection.begin()).name()));
             }))->status.ok());
  }
  c.run_for(100ms);
  const auto per_write = (c.rep(0).stats().bytes_sent - sent_before) / 50;
  CHECK(per_write < 400);  // two replicas, a few dozen bytes each; the list is ~100 KB
  CHECK(c.rep(0).stats().delta_writes - deltas_before == 50);
  CHECK(c.rep(0).stats().delta_fallbacks == 0);
  const auto v0 = version(c, 0, key);
  REQUIRE(v0);
  CHECK(version(c, 1, key) == v0);
  CHECK(version(c, 2, key) == v0);
}
