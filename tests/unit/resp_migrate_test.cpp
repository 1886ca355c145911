// MIGRATE's handler through a Connection: Redis's argument errors in Redis's order, the error
// without a Migrator (the simulator, embedders), the request a Migrator receives and the
// pending reply it completes; and APIARY.VDEL, which deletes what MIGRATE moved and nothing
// written since. The transfer itself is tests/integration/migrate_test.cpp's.
#include <catch2/catch.hpp>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "apiary/resp/migrator.hpp"
#include "resp_test_support.hpp"

namespace {

using resp_test::Harness;

struct FakeMigrator : apiary::resp::Migrator {
  std::vector<apiary::resp::MigrateRequest> requests;
  void migrate(apiary::resp::MigrateRequest request) override {
    requests.push_back(std::move(request));
  }
};

// The digest APIARY.VDEL compares: the DUMP payload's last 8 bytes (its CRC-64) in hex.
std::string digest_of(const std::string& payload) {
  std::string out;
  for (std::size_t i = payload.size() - 8; i < payload.size(); ++i) {
    char hex[3];
    std::snprintf(hex, sizeof hex, "%02x", static_cast<unsigned char>(payload[i]));
    out += hex;
  }
  return out;
}

std::string bulk_of(const std::string& reply) {
  REQUIRE(reply.rfind('$', 0) == 0);
  const std::size_t crlf = reply.find("\r\n");
  return reply.substr(crlf + 2, std::stoul(reply.substr(1, crlf - 1)));
}

}  // namespace

TEST_CASE("MIGRATE checks its arguments as Redis does", "[unit][resp]") {
  Harness h;
  CHECK(h.send({"MIGRATE", "h", "1", "k", "0"}) ==
        "-ERR wrong number of arguments for 'migrate' command\r\n");
  CHECK(h.send({"MIGRATE", "h", "1", "k", "0", "x"}) ==
        "-ERR value is not an integer or out of range\r\n");
  CHECK(h.send({"MIGRATE", "h", "1", "k", "x", "0"}) ==
        "-ERR value is not an integer or out of range\r\n");
  CHECK(h.send({"MIGRATE", "h", "1", "k", "0", "10", "AUTH"}) == "-ERR syntax error\r\n");
  CHECK(h.send({"MIGRATE", "h", "1", "k", "0", "10", "AUTH2", "u"}) == "-ERR syntax error\r\n");
  CHECK(h.send({"MIGRATE", "h", "1", "k", "0", "10", "BOGUS"}) == "-ERR syntax error\r\n");
  // Options are read before the numbers.
  CHECK(h.send({"MIGRATE", "h", "1", "k", "x", "y", "BOGUS"}) == "-ERR syntax error\r\n");
  CHECK(h.send({"MIGRATE", "h", "1", "k", "0", "x", "KEYS", "a"}) ==
        "-ERR When using MIGRATE KEYS option, the key argument must be set to the empty "
        "string\r\n");
  // Well-formed, but nothing to send it with.
  CHECK(h.send({"MIGRATE", "h", "1", "k", "0", "10"}) ==
        "-ERR MIGRATE is not available on this node\r\n");
  CHECK(h.send({"PING"}) == "+PONG\r\n");
}

TEST_CASE("MIGRATE hands its request to the Migrator and waits for the reply", "[unit][resp]") {
  Harness h;
  FakeMigrator migrator;
  h.server.set_migrator(&migrator);
  CHECK(h.raw(resp_test::cmd({"MIGRATE", "10.0.0.1", "7000", "", "3", "-5", "copy", "REPLACE",
                              "AUTH2", "user", "pw", "KEYS", "a", "b"}) +
              resp_test::cmd({"PING"})) == "");
  REQUIRE(migrator.requests.size() == 1);
  const apiary::resp::MigrateRequest& r = migrator.requests[0];
  CHECK(r.host == "10.0.0.1");
  CHECK(r.port == "7000");
  CHECK(r.db == 3);
  CHECK(r.timeout_ms == 1000);  // Redis's default for a timeout <= 0
  CHECK(r.copy);
  CHECK(r.replace);
  CHECK(r.username == std::optional<std::string>("user"));
  CHECK(r.password == std::optional<std::string>("pw"));
  CHECK(r.keys == std::vector<std::string>{"a", "b"});
  CHECK(r.client == h.c().id());
  // The PING waits behind the MIGRATE; both leave when the MIGRATE completes.
  h.c().complete(r.token, "+OK\r\n", h.now, h.wall);
  CHECK(h.drain() == "+OK\r\n+PONG\r\n");

  h.send({"MIGRATE", "h", "1", "key", "0", "100", "AUTH", "secret"});
  REQUIRE(migrator.requests.size() == 2);
  CHECK(migrator.requests[1].keys == std::vector<std::string>{"key"});
  CHECK(migrator.requests[1].password == std::optional<std::string>("secret"));
  CHECK(!migrator.requests[1].username);
  CHECK(migrator.requests[1].timeout_ms == 100);
  CHECK(!migrator.requests[1].copy);
}

TEST_CASE("MIGRATE runs where the client is, and COMMAND still shows Redis's keys",
          "[unit][resp]") {
  const auto* spec = apiary::resp::default_command_table().find("migrate");
  REQUIRE(spec != nullptr);
  CHECK_FALSE(spec->has_keys());  // neither forwarded nor pipelined as a keyed command
  Harness h;
  CHECK(h.send({"COMMAND", "GETKEYS", "MIGRATE", "h", "1", "", "0", "10", "KEYS", "a", "b"}) ==
        "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
}

TEST_CASE("APIARY.VDEL deletes what its context covers and keeps later writes", "[unit][resp]") {
  Harness h;
  REQUIRE(h.send({"SET", "k", "v1"}) == "+OK\r\n");
  const std::string vget = h.send({"APIARY.VGET", "k"});
  const std::string context = bulk_of(vget.substr(vget.find("\r\n") + 2));
  REQUIRE(h.send({"SET", "k", "v2"}) == "+OK\r\n");  // written after the context was read
  CHECK(h.send({"APIARY.VDEL", "k", context}) == ":0\r\n");
  CHECK(h.send({"GET", "k"}) == "$2\r\nv2\r\n");

  const std::string vget2 = h.send({"APIARY.VGET", "k"});
  const std::string context2 = bulk_of(vget2.substr(vget2.find("\r\n") + 2));
  CHECK(h.send({"APIARY.VDEL", "k", context2}) == ":1\r\n");
  CHECK(h.send({"EXISTS", "k"}) == ":0\r\n");

  CHECK(h.send({"APIARY.VDEL", "missing", ""}) == ":0\r\n");
  REQUIRE(h.send({"HSET", "h", "f", "v"}) == ":1\r\n");
  CHECK(h.send({"APIARY.VDEL", "h", ""}) == ":1\r\n");
  CHECK(h.send({"EXISTS", "h"}) == ":0\r\n");
  // A collection goes only while its DUMP still matches the digest MIGRATE took.
  REQUIRE(h.send({"RPUSH", "l", "a"}) == ":1\r\n");
  const std::string before = digest_of(bulk_of(h.send({"DUMP", "l"})));
  REQUIRE(h.send({"RPUSH", "l", "b"}) == ":2\r\n");  // written after that DUMP
  CHECK(h.send({"APIARY.VDEL", "l", "", before}) == ":0\r\n");
  CHECK(h.send({"LLEN", "l"}) == ":2\r\n");
  const std::string now = digest_of(bulk_of(h.send({"DUMP", "l"})));
  CHECK(h.send({"APIARY.VDEL", "l", "", now}) == ":1\r\n");
  CHECK(h.send({"EXISTS", "l"}) == ":0\r\n");
  CHECK(h.send({"APIARY.VDEL", "l", "", now, "extra"}) == "-ERR syntax error\r\n");
  REQUIRE(h.send({"SET", "k", "v"}) == "+OK\r\n");
  CHECK(h.send({"APIARY.VDEL", "k", "\xff\xff"}).rfind("-ERR invalid causal context", 0) == 0);
  CHECK(h.send({"GET", "k"}) == "$1\r\nv\r\n");
}
