// Tracking without sockets: one Server whose "cluster layer" is this test (it forwards the
// reads and writes it is told to, owns the keys it is told to, and records what tracking
// tells other members), so that the parts the differential test cannot reach are checked:
// a read in flight when its key changes, NOLOOP with a forwarded write, tracking-table-max-
// keys, the internal listener, and the `tracking.*` member messages both ways.
#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "apiary/resp/connection.hpp"
#include "apiary/resp/server.hpp"
#include "resp_test_support.hpp"
#include "support/fake_cluster_keyspace.hpp"

using namespace apiary;
using resp_test::cmd;

namespace {

std::string invalidate(const std::string& key) {
  return ">2\r\n$10\r\ninvalidate\r\n*1\r\n$" + std::to_string(key.size()) + "\r\n" + key + "\r\n";
}
constexpr const char* kNullInvalidate = ">2\r\n$10\r\ninvalidate\r\n_\r\n";

struct Cluster final : apiary::test::FakeClusterKeyspace {
  std::set<std::string> remote;     // keys this node does not own (owner "n2")
  std::set<std::string> forwarded;  // keys whose commands go pending (a coordinator elsewhere)
  std::vector<resp::PendingToken> tokens;
  std::vector<std::pair<std::string, std::vector<std::string>>> told;  // "member op", args

  void tell_member(std::string_view member, std::string op,
                   std::vector<std::string> args) override {
    told.emplace_back(std::string(member) + " " + op, std::move(args));
  }
  KeyOwners key_owners(std::string_view key) const override {
    if (remote.contains(std::string(key))) return {false, false, {"n2"}};
    return {};
  }
};

struct Fixture {
  resp_test::Harness h;
  Cluster cluster;
  std::vector<std::optional<std::string>> heard;  // the internal listener

  Fixture() {
    h.server.set_cluster_keyspace(&cluster);
    h.server.set_forwarder([this](resp::CommandContext& ctx,
                                  const resp::CommandSpec& spec) -> std::optional<resp::Outcome> {
      const auto keys = resp::command_keys(spec, ctx.argv);
      if (keys.empty() || !cluster.forwarded.contains(std::string(ctx.argv[keys[0]]))) {
        return std::nullopt;
      }
      cluster.tokens.push_back(ctx.client.next_token());
      return resp::Outcome::pending(cluster.tokens.back());
    });
    h.server.tracking().set_internal_listener([this](std::optional<std::string_view> key) {
      heard.emplace_back(key ? std::optional<std::string>(std::string(*key)) : std::nullopt);
    });
    h.connect();  // client 1: the writer
  }
  void resp3_tracking(std::size_t i, std::string_view options = "") {
    REQUIRE(h.send({"HELLO", "3"}, i).rfind("%7", 0) == 0);
    if (options.empty()) {
      REQUIRE(h.send({"CLIENT", "TRACKING", "on"}, i) == "+OK\r\n");
    } else {
      REQUIRE(h.send({"CLIENT", "TRACKING", "on", options}, i) == "+OK\r\n");
    }
  }
  void complete(std::size_t i, std::size_t token, std::string_view reply) {
    h.c(i).complete(cluster.tokens.at(token), reply, h.now, h.wall);
  }
};

}  // namespace

TEST_CASE("tracking: an invalidation during a read in flight follows the read's reply",
          "[unit][resp][tracking]") {
  Fixture f;
  f.resp3_tracking(0);
  f.cluster.forwarded.insert("k");
  CHECK(f.h.send({"GET", "k"}) == "");  // forwarded: the reply comes later
  f.h.server.tracking().key_changed("k");
  CHECK(f.h.drain() == "");  // not ahead of the reply, which may hold the old value
  f.complete(0, 0, "$3\r\nold\r\n");
  CHECK(f.h.drain() == "$3\r\nold\r\n" + invalidate("k"));
  f.h.server.tracking().key_changed("k");  // told once: forgotten until read again
  CHECK(f.h.drain() == "");
}

TEST_CASE("tracking: a redirect target is told again after a read in flight",
          "[unit][resp][tracking]") {
  Fixture f;
  REQUIRE(f.h.send({"HELLO", "3"}, 1).rfind("%7", 0) == 0);
  const std::string target = std::to_string(f.h.c(1).id());
  REQUIRE(f.h.send({"CLIENT", "TRACKING", "on", "REDIRECT", target}) == "+OK\r\n");
  f.cluster.forwarded.insert("k");
  f.h.send({"GET", "k"});
  f.h.server.tracking().key_changed("k");
  CHECK(f.h.drain(1) == invalidate("k"));
  f.complete(0, 0, "$3\r\nold\r\n");
  CHECK(f.h.drain(0) == "$3\r\nold\r\n");
  CHECK(f.h.drain(1) == invalidate("k"));
}

TEST_CASE("tracking: NOLOOP skips the change its own forwarded write brings, once",
          "[unit][resp][tracking]") {
  Fixture f;
  f.resp3_tracking(0, "NOLOOP");
  f.h.send({"GET", "k"});
  f.cluster.forwarded.insert("k");
  CHECK(f.h.send({"SET", "k", "v"}) == "");
  f.h.server.tracking().key_changed("k");  // the coordinator's version merged here
  f.complete(0, 0, "+OK\r\n");
  CHECK(f.h.drain() == "+OK\r\n");
  f.cluster.forwarded.clear();
  f.h.send({"GET", "k"});
  f.h.server.tracking().key_changed("k");  // someone else's write
  CHECK(f.h.drain() == invalidate("k"));
}

TEST_CASE("tracking: a write that changed nothing leaves no NOLOOP note behind",
          "[unit][resp][tracking]") {
  Fixture f;
  f.resp3_tracking(0, "NOLOOP");
  CHECK(f.h.send({"DEL", "missing"}) == ":0\r\n");
  f.h.send({"GET", "missing"});
  f.h.server.tracking().key_changed("missing");
  CHECK(f.h.drain() == invalidate("missing"));
}

TEST_CASE("tracking: over tracking-table-max-keys the oldest key is invalidated",
          "[unit][resp][tracking]") {
  Fixture f;
  f.resp3_tracking(0);
  REQUIRE(f.h.send({"CONFIG", "SET", "tracking-table-max-keys", "2"}) == "+OK\r\n");
  f.h.send({"GET", "a"});
  f.h.send({"GET", "b"});
  CHECK(f.h.send({"GET", "c"}) == "_\r\n" + invalidate("a"));
  CHECK(f.h.server.tracking().total_keys() == 2);
  CHECK(f.h.server.tracking().total_items() == 2);
}

TEST_CASE("tracking: the internal listener hears each change once, and flushes",
          "[unit][resp][tracking]") {
  Fixture f;
  f.h.server.tracking().track_internal("x");
  f.h.server.tracking().key_changed("x");
  f.h.server.tracking().key_changed("x");
  f.h.server.tracking().track_internal("y");
  f.h.server.tracking().flushed();
  REQUIRE(f.heard.size() == 2);
  CHECK(f.heard[0] == std::optional<std::string>("x"));
  CHECK(f.heard[1] == std::nullopt);
}

TEST_CASE("tracking: a key this node does not own is registered at its owner once",
          "[unit][resp][tracking]") {
  Fixture f;
  f.resp3_tracking(0);
  f.cluster.remote = {"r1", "r2"};
  f.h.send({"MGET", "r1", "r2", "local"});
  f.h.send({"GET", "r1"});
  REQUIRE(f.cluster.told.size() == 1);
  CHECK(f.cluster.told[0].first == "n2 tracking.track");
  CHECK(f.cluster.told[0].second == std::vector<std::string>{"", "r1", "r2"});
  // The owner's invalidation is a change of the key here.
  f.h.server.member_op("tracking.inv", std::vector<std::string>{"n2", "r1"});
  CHECK(f.h.drain() == invalidate("r1"));
  // Read again: registered again (the owner forgot it when it told).
  f.h.send({"GET", "r1"});
  REQUIRE(f.cluster.told.size() == 2);
  CHECK(f.cluster.told[1].second == std::vector<std::string>{"", "r1"});
  // The owner was flushed: every key registered there changed.
  f.h.server.member_op("tracking.flush", std::vector<std::string>{"n2"});
  CHECK(f.h.drain() == invalidate("r1") + invalidate("r2"));
  // A view change: everything is dropped, and clients are told to flush.
  f.h.server.tracking().lost_invalidations();
  CHECK(f.h.drain() == kNullInvalidate);
}

TEST_CASE("tracking: an owner tells the members that registered a key when it changes",
          "[unit][resp][tracking]") {
  Fixture f;
  f.h.server.member_op("tracking.track", std::vector<std::string>{"n3", "k", "j"});
  f.h.server.tracking().key_changed("k");
  f.h.server.tracking().key_changed("k");  // told once, then forgotten
  REQUIRE(f.cluster.told.size() == 1);
  CHECK(f.cluster.told[0].first == "n3 tracking.inv");
  CHECK(f.cluster.told[0].second == std::vector<std::string>{"", "k"});
  f.h.server.tracking().flushed();
  REQUIRE(f.cluster.told.size() == 2);
  CHECK(f.cluster.told[1].first == "n3 tracking.flush");
  f.h.server.tracking().key_changed("j");  // the flush forgot it
  CHECK(f.cluster.told.size() == 2);
  // Over tracking-table-max-keys the oldest registration goes, and its member is told.
  REQUIRE(f.h.send({"CONFIG", "SET", "tracking-table-max-keys", "1"}) == "+OK\r\n");
  f.h.server.member_op("tracking.track", std::vector<std::string>{"n3", "a"});
  f.h.server.member_op("tracking.track", std::vector<std::string>{"n4", "b"});
  REQUIRE(f.cluster.told.size() == 3);
  CHECK(f.cluster.told[2].first == "n3 tracking.inv");
  CHECK(f.cluster.told[2].second == std::vector<std::string>{"", "a"});
}
