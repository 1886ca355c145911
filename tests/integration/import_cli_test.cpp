// `apiary import dump.rdb --http ADDR` as an operator runs it (issue 16, item 6): a real
// redis-server writes strings in every encoding it uses (small integers, LZF-compressed long
// values, binary, empty, with and without TTLs, in two databases) and keys of every other type
// (hashes, lists, sets, sorted sets, a stream; small ones as listpacks or intsets, big ones in
// their hash table, quicklist and skiplist encodings), SAVEs; the real `apiary` binary imports
// the dump into a 3-node cluster; every string key reads back through a node with its value
// and TTL, and the summary names what was skipped.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "integration/support/cluster.hpp"
#include "integration/support/redis_server.hpp"

using namespace apiary::test;

namespace {

std::string bulk(const std::string& s) {
  return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

long long integer_reply(const std::string& reply) {
  REQUIRE(!reply.empty());
  REQUIRE(reply[0] == ':');
  return std::stoll(reply.substr(1));
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::pair<int, std::string> import(const std::string& args) {
  return run(std::string(APIARY_CLI_PATH) + " import " + args);
}

}  // namespace

TEST_CASE("apiary import loads a redis-server dump into a cluster", "[integration][cli]") {
  const auto dir = scratch_dir() / "import";
  std::filesystem::create_directories(dir);
  const std::string dump = (dir / "dump.rdb").string();

  // Strings: name -> value, and the keys with a TTL (ms from now).
  std::map<std::string, std::string> strings = {
      {"small", "7"},                            // int8
      {"int16", "-1234"},                        // int16
      {"int32", "2000000000"},                   // int32
      {"bigint", "12345678901"},                 // raw: beyond int32
      {"text", "hello world"},                   // raw
      {"lzf", std::string(4000, 'a') + "tail"},  // LZF-compressed
      {"lzf2",
       [] {
         std::string s;
         for (int i = 0; i < 200; ++i) s += "chunk" + std::to_string(i % 7);
         return s;
       }()},
      {std::string("bin\0key", 7), std::string("\0\xff\r\n\x80 binary", 12)},
      {"empty", ""},
      {"ttl-ms", "a"},
      {"ttl-s", "b"},
  };
  for (int i = 0; i < 1500; ++i) strings["key:" + std::to_string(i)] = "value:" + std::to_string(i);
  const std::map<std::string, long long> ttls = {{"ttl-ms", 3'600'000}, {"ttl-s", 86'400'000}};
  std::int64_t short_deadline = 0;
  {
    RedisServer redis({"--dir", dir.string(), "--dbfilename", "dump.rdb", "--rdbcompression", "yes",
                       "--rdbchecksum", "yes"});
    RespClient r(redis.port());
    for (const auto& [k, v] : strings) {
      auto it = ttls.find(k);
      if (it == ttls.end()) {
        REQUIRE(r.command({"SET", k, v}) == "+OK\r\n");
      } else {
        REQUIRE(r.command({"SET", k, v, "PX", std::to_string(it->second)}) == "+OK\r\n");
      }
    }
    REQUIRE(r.command({"SET", "short", "x", "PX", "1500"}) == "+OK\r\n");
    short_deadline = wall_ms() + 1500;
    REQUIRE(r.command({"HSET", "hash", "f1", "v1", "f2", "v2"}) == ":2\r\n");
    REQUIRE(r.command({"RPUSH", "list", "a", "b", "c"}) == ":3\r\n");
    REQUIRE(r.command({"SADD", "set", "x", "y"}) == ":2\r\n");
    REQUIRE(r.command({"SADD", "intset", "1", "2", "3"}) == ":3\r\n");
    REQUIRE(r.command({"ZADD", "zset", "1", "a", "2.5", "b"}) == ":2\r\n");
    REQUIRE(r.command({"XADD", "stream", "1-1", "f", "v"}) == bulk("1-1"));
    REQUIRE(r.command({"XGROUP", "CREATE", "stream", "group", "0"}) == "+OK\r\n");
    REQUIRE(r.command({"XREADGROUP", "GROUP", "group", "alice", "STREAMS", "stream", ">"})[0] ==
            '*');
    // Big ones leave the compact encodings: a quicklist of several nodes, a hash table, a
    // hash set, a skiplist sorted set.
    const std::string filler(100, 'f');
    for (int i = 0; i < 1000; ++i) {
      const std::string n = std::to_string(i);
      REQUIRE(r.command({"RPUSH", "biglist", filler + n})[0] == ':');
      if (i < 300) {
        REQUIRE(r.command({"HSET", "bighash", "field" + n, n}) == ":1\r\n");
        REQUIRE(r.command({"SADD", "bigset", "member" + n}) == ":1\r\n");
        REQUIRE(r.command({"ZADD", "bigzset", n, "member" + n}) == ":1\r\n");
      }
    }
    REQUIRE(r.command({"SELECT", "1"}) == "+OK\r\n");
    REQUIRE(r.command({"SET", "db1key", "from db 1"}) == "+OK\r\n");
    strings["db1key"] = "from db 1";
    REQUIRE(r.command({"SAVE"}) == "+OK\r\n");
  }
  REQUIRE(std::filesystem::file_size(dump) > 0);

  // A damaged copy imports nothing and says why.
  const std::string damaged = (dir / "damaged.rdb").string();
  std::filesystem::copy_file(dump, damaged);
  {
    std::fstream f(damaged, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);
    f.put('\x7f');
  }
  const auto dry = import("--dry-run " + dump);
  INFO(dry.second);
  CHECK(dry.first == 0);
  CHECK(contains(dry.second, "RDB version 10, written by Redis 7.0"));
  CHECK(contains(dry.second, "checksum verified"));

  auto nodes = start_cluster("imp", 3, {});
  const auto bad = import(damaged + " --http " + nodes[0]->http());
  INFO(bad.second);
  CHECK(bad.first == 1);
  CHECK(contains(bad.second, "nothing was imported"));

  // The key written with a 1.5 s TTL has expired by now: the import leaves it out.
  REQUIRE(eventually(5s, [&] { return wall_ms() > short_deadline + 100; }));
  const std::int64_t before_import = wall_ms();
  const auto out = import(dump + " --http " + nodes[0]->http());
  INFO(out.second);
  REQUIRE(out.first == 0);
  CHECK(contains(out.second, "imported " + std::to_string(strings.size()) + " string keys"));
  CHECK(contains(out.second, "skipped 1 keys already expired"));
  CHECK(contains(out.second, "2 hash, 2 list, 3 set, 1 stream, 2 zset"));
  CHECK(contains(out.second, "keys from db 1: 1"));

  RespClient client(nodes[1]->redis_port());
  for (const auto& [k, v] : strings) {
    INFO("key " << k);
    CHECK(client.command({"GET", k}) == bulk(v));
    const long long pttl = integer_reply(client.command({"PTTL", k}));
    auto it = ttls.find(k);
    if (it == ttls.end()) {
      CHECK(pttl == -1);
    } else {
      // The absolute expiry travelled: what is left is the TTL minus the time since SET.
      const long long elapsed = wall_ms() - before_import + 60'000;
      CHECK(pttl <= it->second);
      CHECK(pttl > it->second - elapsed);
    }
  }
  CHECK(client.command({"GET", "short"}) == "$-1\r\n");
  for (const char* skipped : {"hash", "list", "set", "intset", "zset", "stream", "biglist",
                              "bighash", "bigset", "bigzset"}) {
    INFO("key " << skipped);
    CHECK(client.command({"EXISTS", skipped}) == ":0\r\n");
  }
  CHECK(integer_reply(client.command({"DBSIZE"})) == static_cast<long long>(strings.size()));
  std::filesystem::remove_all(dir);
}
