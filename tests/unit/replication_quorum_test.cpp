// Replication core: quorum writes, timeouts, read repair and forwarding, driven through
// three to four Replicators and Stores on virtual time.
#include <catch2/catch.hpp>

#include "support/replication_harness.hpp"

using namespace apiary;
using namespace apiary::test;
using replication::OperationKind;

namespace {

std::size_t idx(ReplCluster& c, const std::string& name) { return c.index_of(name); }

}  // namespace

TEST_CASE("a write completes after W acks and reaches every owner", "[replication]") {
  ReplCluster c(4, small_config());
  c.set_views(c.all());
  const auto view = c.rep(0).view();
  // A key n0 owns, so n0 coordinates.
  const auto key = find_key(view, [](const auto& o) { return o[0] == "n0"; });
  const auto id = c.put(0, key, "v1", 2);
  const auto done = c.wait(0, id);
  REQUIRE(done.has_value());
  CHECK(done->kind == OperationKind::write);
  CHECK(done->status.ok());
  CHECK(done->replicas == 2);
  c.run_for(100ms);
  for (const auto& owner : view.owners(c.rep(0).partition_of(key))) {
    CHECK(c.value(idx(c, owner), key) == std::optional<std::string>("v1"));
  }
  CHECK(c.rep(0).stats().write_acks == 2);  // the third owner's ack arrives after completion
  CHECK(c.rep(0).pending_operations() == 0);

  SECTION("W above N is capped at the owner count") {
    const auto id2 = c.put(0, key, "v2", 7);
    const auto d2 = c.wait(0, id2);
    REQUIRE(d2.has_value());
    CHECK(d2->status.ok());
    CHECK(d2->replicas == 3);
  }
}

TEST_CASE("a write times out when the other replicas are unreachable", "[replication]") {
  auto config = small_config();
  config.write_timeout = 500ms;
  ReplCluster c(3, config);
  c.set_views(c.all());
  c.isolate(0);  // membership still thinks everyone is live
  const auto id = c.put(0, "k", "v", 2);
  const TimePoint start = c.now();
  const auto done = c.wait(0, id);
  REQUIRE(done.has_value());
  CHECK(done->status.code() == StatusCode::timeout);
  CHECK(done->replicas == 1);
  CHECK(c.now() - start >= 500ms);
  CHECK(c.rep(0).stats().write_timeouts == 1);
  // W=1 needs nobody else.
  const auto id1 = c.put(0, "k", "v2", 1);
  const auto d1 = c.wait(0, id1);
  REQUIRE(d1.has_value());
  CHECK(d1->status.ok());
}

TEST_CASE("a write is unavailable when too few members are live", "[replication]") {
  ReplCluster c(3, small_config());
  c.set_views(c.all(), {1, 2});
  const auto id = c.put(0, "k", "v", 2);
  const auto done = c.wait(0, id);
  REQUIRE(done.has_value());
  CHECK(done->status.code() == StatusCode::unavailable);
}

TEST_CASE("read repair fixes a stale replica", "[replication]") {
  ReplCluster c(3, small_config());
  c.set_views(c.all());
  REQUIRE(c.wait(0, c.put(0, "k", "v1", 3))->status.ok());
  // n2 misses the second write.
  c.block(0, 2);
  REQUIRE(c.wait(0, c.put(0, "k", "v2", 2))->status.ok());
  c.run_for(100ms);
  REQUIRE(c.value(2, "k") == std::optional<std::string>("v1"));
  c.unblock_all();

  SECTION("a read through an up-to-date coordinator repairs the stale replica") {
    const auto done = c.wait(0, c.read(0, "k", 3));
    REQUIRE(done.has_value());
    CHECK(done->status.ok());
    CHECK(done->replicas == 3);
    c.run_for(100ms);
    CHECK(c.rep(0).stats().read_repairs == 1);  // n1 was up to date
    CHECK(c.rep(1).stats().reads_same == 1);    // and said so instead of sending its version
    CHECK(c.rep(2).stats().reads_same == 0);
    CHECK(c.value(2, "k") == std::optional<std::string>("v2"));
  }
  SECTION("a read through the stale replica returns the newer value and repairs itself") {
    const auto done = c.wait(2, c.read(2, "k", 3));
    REQUIRE(done.has_value());
    CHECK(done->status.ok());
    CHECK(c.value(2, "k") == std::optional<std::string>("v2"));
    CHECK(c.rep(2).stats().read_repairs == 0);
    CHECK(c.rep(0).stats().reads_same + c.rep(1).stats().reads_same == 0);
  }
}

TEST_CASE("a read with R=1 answers from the local copy alone", "[replication]") {
  ReplCluster c(3, small_config());
  c.set_views(c.all());
  // A first view is treated like a join: each node reads from the others until their (empty)
  // final handoff markers arrived.
  CHECK_FALSE(c.rep(0).read_is_local("k", 1));
  c.run_for(1s);
  CHECK(c.rep(0).partitions_in_transition() == 0);
  CHECK(c.rep(0).read_is_local("k", 1));
  CHECK_FALSE(c.rep(0).read_is_local("k", 2));
  const auto sent = c.rep(0).stats().messages_sent;
  const auto done = c.wait(0, c.read(0, "k", 1));
  REQUIRE(done.has_value());
  CHECK(done->status.ok());
  CHECK(c.rep(0).stats().messages_sent == sent);
}

TEST_CASE("a read times out when asked replicas do not answer", "[replication]") {
  ReplCluster c(3, small_config());
  c.set_views(c.all());
  c.isolate(1);
  c.isolate(2);
  const auto done = c.wait(0, c.read(0, "k", 2));
  REQUIRE(done.has_value());
  CHECK(done->status.code() == StatusCode::timeout);
}

TEST_CASE("forwarding returns the executor's reply", "[replication][forward]") {
  auto config = small_config();
  config.replicas = 1;
  ReplCluster c(3, config);
  c.set_views(c.all());
  std::vector<std::vector<std::string>> seen(3);
  for (std::size_t i = 0; i < 3; ++i) {
    c.rep(i).set_executor([&, i](const replication::ForwardedCommand& cmd) {
      seen[i] = cmd.argv;
      return std::optional<std::string>("+from " + c.node(i).name + "\r\n");
    });
  }
  const auto view = c.rep(0).view();
  const auto key = find_key(view, [](const auto& o) { return o[0] == "n2"; });
  const auto done = c.wait(0, c.forward(0, key, {"SET", key, "value"}));
  REQUIRE(done.has_value());
  CHECK(done->kind == OperationKind::forward);
  CHECK(done->status.ok());
  CHECK(done->reply == "+from n2\r\n");
  CHECK(seen[2] == std::vector<std::string>{"SET", key, "value"});
  CHECK(seen[1].empty());
}

TEST_CASE("a forward carries its client's ACL user only to members that speak wire version 2",
          "[replication][forward]") {
  auto config = small_config();
  config.replicas = 1;
  ReplCluster c(3, config);
  std::string user_seen = "none";
  for (std::size_t i = 0; i < 3; ++i) {
    c.rep(i).set_executor([&](const replication::ForwardedCommand& cmd) {
      user_seen = cmd.user;
      return std::optional<std::string>("+OK\r\n");
    });
  }
  for (const std::uint32_t wire : {1u, replication::kWireVersion}) {
    // n2 runs the previous release (no wire tag: version 1) or this one.
    for (std::size_t self = 0; self < 3; ++self) {
      std::vector<replication::ViewMember> members;
      for (std::size_t i = 0; i < 3; ++i) {
        members.push_back(
            {c.node(i).name, c.node(i).addr, true, i == 2 ? wire : replication::kWireVersion});
      }
      c.rep(self).set_view(c.now(), c.wall(),
                           replication::ClusterView::make(c.node(self).name, members, config));
    }
    const auto key = find_key(c.rep(0).view(), [](const auto& o) { return o[0] == "n2"; });
    const auto done = c.wait(0, c.forward(0, key, {"SET", key, "v"}, "alice"));
    REQUIRE(done.has_value());
    CHECK(done->status.ok());
    // Version 1 refuses the user field as malformed: it gets the command as the node's own.
    CHECK(user_seen == (wire == 1 ? "" : "alice"));
  }
}

TEST_CASE("a deferred forwarded reply is relayed when the executor delivers it",
          "[replication][forward]") {
  auto config = small_config();
  config.replicas = 1;
  ReplCluster c(2, config);
  c.set_views(c.all());
  std::optional<std::uint64_t> token;
  c.rep(1).set_executor([&](const replication::ForwardedCommand& cmd) {
    token = cmd.token;
    return std::optional<std::string>();
  });
  const auto key = find_key(c.rep(0).view(), [](const auto& o) { return o[0] == "n1"; });
  const auto id = c.forward(0, key, {"GET", key});
  c.run_for(100ms);
  REQUIRE(token.has_value());
  CHECK(c.node(0).done.count(id) == 0);
  c.rep(1).reply_forwarded(c.now(), c.wall(), *token, "$1\r\nx\r\n");
  const auto done = c.wait(0, id);
  REQUIRE(done.has_value());
  CHECK(done->reply == "$1\r\nx\r\n");
}

TEST_CASE("forwarding retries once on the next live owner", "[replication][forward]") {
  auto config = small_config();
  config.replicas = 2;
  config.forward_timeout = 300ms;
  ReplCluster c(4, config);
  c.set_views(c.all());
  for (std::size_t i = 0; i < 4; ++i) {
    c.rep(i).set_executor([&, i](const replication::ForwardedCommand&) {
      return std::optional<std::string>("+" + c.node(i).name + "\r\n");
    });
  }
  const auto view = c.rep(0).view();
  const auto key = find_key(view, [](const auto& o) { return o[0] != "n0" && o[1] != "n0"; });
  const auto owners = view.owners(c.rep(0).partition_of(key));
  c.block(0, idx(c, owners[0]));
  const auto done = c.wait(0, c.forward(0, key, {"GET", key}));
  REQUIRE(done.has_value());
  CHECK(done->status.ok());
  CHECK(done->reply == "+" + owners[1] + "\r\n");
  CHECK(c.rep(0).stats().forward_retries == 1);

  SECTION("and gives up after the retry") {
    c.block(0, idx(c, owners[1]));
    const auto failed = c.wait(0, c.forward(0, key, {"GET", key}));
    REQUIRE(failed.has_value());
    CHECK(failed->status.code() == StatusCode::timeout);
  }
}

TEST_CASE("expiry and deletes replicate with the version", "[replication]") {
  ReplCluster c(3, small_config());
  c.set_views(c.all());
  const WallTime at = c.wall() + std::chrono::milliseconds(60000);
  REQUIRE(c.store(0).put_local("k", "v", c.wall(), store::ExpiryUpdate::set(at)).ok());
  c.rep(0).replicate(c.now(), c.wall(), "k", 3, 1);
  REQUIRE(c.wait(0, 1)->status.ok());
  CHECK(c.store(1).ttl("k", c.wall()).expiry == std::optional<WallTime>(at));
  CHECK(c.store(2).ttl("k", c.wall()).expiry == std::optional<WallTime>(at));

  REQUIRE(c.store(0).del_local("k", c.wall()));
  c.rep(0).replicate(c.now(), c.wall(), "k", 3, 2);
  REQUIRE(c.wait(0, 2)->status.ok());
  CHECK_FALSE(c.value(1, "k").has_value());
  CHECK_FALSE(c.value(2, "k").has_value());
  CHECK(c.store(2).tombstones() == 1);
}

TEST_CASE("operations before the first view complete as unavailable", "[replication]") {
  store::StoreConfig sc;
  sc.self = NodeId{1};
  sc.partition_count = 64;
  store::Store s(sc);
  replication::Replicator rep(small_config(), s);
  rep.replicate(TimePoint{}, WallTime{1}, "k", 2, 1);
  rep.read(TimePoint{}, WallTime{1}, "k", 2, 2);
  const std::vector<std::string_view> argv = {"GET", "k"};
  rep.forward(TimePoint{}, "k", argv, 2, 3);
  for (std::uint64_t id = 1; id <= 3; ++id) {
    auto done = rep.poll_completion();
    REQUIRE(done.has_value());
    CHECK(done->id == id);
    CHECK(done->status.code() == StatusCode::unavailable);
  }
  CHECK_FALSE(rep.poll_send().has_value());
}

TEST_CASE("a read whose own copy vanished while replicas answered 'same' asks them again",
          "[replication]") {
  ReplCluster c(3, small_config());
  c.set_views(c.all());
  c.run_for(1s);  // past the first view's catch-up
  REQUIRE(c.wait(0, c.put(0, "k", "v1", 3))->status.ok());
  c.run_for(100ms);
  // Every replica holds v1, so each answers "the same version" to n0's hash; n0 loses its
  // copy before the answers arrive (as a partition dropped after a handoff would).
  const auto id = c.read(0, "k", 3);
  REQUIRE(c.store(0).remove("k"));
  const auto done = c.wait(0, id);
  REQUIRE(done.has_value());
  CHECK(done->status.ok());
  CHECK(c.rep(0).stats().reads_same_retried == 1);
  CHECK(c.value(0, "k") == std::optional<std::string>("v1"));
}
