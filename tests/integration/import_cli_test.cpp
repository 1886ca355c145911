// `apiary import dump.rdb --http ADDR` as an operator runs it (issue 16, item 6): a real
// redis-server writes strings in every encoding it uses (small integers, LZF-compressed long
// values, binary, empty, with and without TTLs, in two databases), hashes and sets in every
// encoding 7.0 writes (listpacks with string and integer entries, intsets of each width, hash
// tables: over 512 elements, a long value, string members; some with TTLs, some big enough to
// take several HSET/SADD commands), sorted sets (listpack, skiplist), lists in each form of
// 7.0's quicklist (one listpack node, many LZF-compressed nodes, a plain node holding one big
// element) and a stream, which Apiary does not hold, SAVEs; the real `apiary` binary imports
// the dump into a 3-node cluster; every string key reads back through a node with its value
// and TTL, every hash, set, sorted set and list with what redis-server answered for it and
// its TTL, and the summary names what was skipped.
#include <unistd.h>

#include <algorithm>
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

// The elements of an array reply of bulk strings (HGETALL, SMEMBERS), sorted: both servers
// list a collection in an order of their own. HGETALL's come back as "field=value".
std::vector<std::string> sorted_elements(const std::string& reply, bool pairs) {
  REQUIRE(!reply.empty());
  REQUIRE((reply[0] == '*' || reply[0] == '~' || reply[0] == '%'));
  std::size_t at = reply.find("\r\n") + 2;
  std::vector<std::string> items;
  while (at < reply.size()) {
    REQUIRE(reply[at] == '$');
    const std::size_t eol = reply.find("\r\n", at);
    const std::size_t len = std::stoul(reply.substr(at + 1, eol - at - 1));
    items.push_back(reply.substr(eol + 2, len));
    at = eol + 2 + len + 2;
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < items.size(); i += pairs ? 2 : 1) {
    out.push_back(pairs ? items[i] + "=" + items.at(i + 1) : items[i]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// What redis-server answered for a hash or set before the dump was saved.
struct Collection {
  bool hash = false;
  std::vector<std::string> elements;  // sorted_elements()
  long long pttl = -1;
};

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
  std::map<std::string, Collection> collections;
  // Sorted sets: ZRANGE 0 -1 WITHSCORES as redis-server answered it (scores as %.17g: equal
  // text is an equal double), and PTTL.
  std::map<std::string, std::pair<std::string, long long>> zsets;
  // Lists: LRANGE 0 -1 as redis-server answered it, and PTTL.
  std::map<std::string, std::pair<std::string, long long>> lists;
  std::string big_element;  // in a plain quicklist node
  for (int i = 0; big_element.size() < 20'000; ++i) big_element += "plain" + std::to_string(i);
  std::int64_t recorded_at = 0;
  {
    RedisServer redis({"--dir", dir.string(), "--dbfilename", "dump.rdb", "--rdbcompression", "yes",
                       "--rdbchecksum", "yes", "--enable-debug-command", "yes"});
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
    REQUIRE(r.command({"XADD", "stream", "1-1", "f", "v"}) == bulk("1-1"));
    REQUIRE(r.command({"XGROUP", "CREATE", "stream", "group", "0"}) == "+OK\r\n");
    REQUIRE(r.command({"XREADGROUP", "GROUP", "group", "alice", "STREAMS", "stream", ">"})[0] ==
            '*');
    // Lists: one listpack node (strings and integers of each listpack width); 2500 elements
    // in some 30 nodes of 8 KiB (LZF-compressed in the file), more than one RPUSH; elements
    // from 8 KiB on in plain nodes of their own (what 7.0 does from 1 GiB, or from what
    // DEBUG QUICKLIST-PACKED-THRESHOLD says) between packed ones; one with a TTL and one
    // that expires before the import.
    REQUIRE(r.command({"RPUSH", "list", "a", "b", "c", "7", "-3000", "30000", "-8000000",
                       "2000000000", "12345678901", "", "a"}) == ":11\r\n");
    const std::string filler(100, 'f');
    for (int i = 0; i < 2500; ++i) {
      REQUIRE(r.command({"RPUSH", "biglist", filler + std::to_string(i)})[0] == ':');
    }
    REQUIRE(r.command({"DEBUG", "QUICKLIST-PACKED-THRESHOLD", "8192"}) == "+OK\r\n");
    REQUIRE(r.command({"RPUSH", "plainlist", "head", big_element, "middle", std::string(9000, '\0'),
                       "tail"}) == ":5\r\n");
    REQUIRE(r.command({"RPUSH", "ttl-list", "x", "y"}) == ":2\r\n");
    REQUIRE(r.command({"PEXPIRE", "ttl-list", "3600000"}) == ":1\r\n");
    REQUIRE(r.command({"RPUSH", "short-list", "gone"}) == ":1\r\n");
    REQUIRE(r.command({"PEXPIRE", "short-list", "1500"}) == ":1\r\n");

    // Hashes: listpacks (strings; integers of every listpack width), hash tables (over 512
    // fields, over 1000 so that the import needs several HSETs; a value over 64 bytes).
    REQUIRE(r.command({"HSET", "hash", "f1", "v1", "f2", "v2"}) == ":2\r\n");
    REQUIRE(r.command({"HSET", "hash-ints", "a", "1", "b", "-100", "c", "30000", "d", "8000000",
                       "e", "-2000000000", "f", "12345678901", "g", ""}) == ":7\r\n");
    REQUIRE(r.command({"HSET", "hash-long", "short", "x", "long", std::string(200, 'l')}) ==
            ":2\r\n");
    std::vector<std::string> big_hash = {"HSET", "bighash"};
    std::vector<std::string> huge_hash = {"HSET", "hugehash"};
    for (int i = 0; i < 2500; ++i) {
      const std::string n = std::to_string(i);
      if (i < 600) big_hash.insert(big_hash.end(), {"field" + n, n});
      huge_hash.insert(huge_hash.end(), {"f" + n, "value " + n});
    }
    REQUIRE(r.command(big_hash) == ":600\r\n");
    REQUIRE(r.command(huge_hash) == ":2500\r\n");
    // Fat values: the import splits HSETs at 1 MiB, and a larger field goes alone.
    REQUIRE(r.command({"HSET", "fathash", "a", std::string(400'000, 'a'), "b",
                       std::string(400'000, 'b'), "c", std::string(400'000, 'c'), "big",
                       std::string(1'500'000, 'B')}) == ":4\r\n");
    // Sorted sets: a listpack with scores that only an exact double keeps (0.1, 1e-300, 2^53
    // + 2, infinities, ties), a skiplist (over 128 members; ZSET_2's binary scores) that needs
    // several ZADDs, one with a TTL and one that expires before the import.
    REQUIRE(r.command({"ZADD", "zset", "1", "a", "2.5", "b", "0.1", "tenth", "1e-300", "tiny",
                       "9007199254740994", "big", "-inf", "ninf", "+inf", "pinf", "1", "tie",
                       "-0.30000000000000004", "neg"}) == ":9\r\n");
    std::vector<std::string> big_zset = {"ZADD", "bigzset"};
    for (int i = 0; i < 1200; ++i) {
      big_zset.push_back(std::to_string(i % 400) + "." + std::to_string(i % 7) + "1");
      big_zset.push_back("member" + std::to_string(i));
    }
    REQUIRE(r.command(big_zset) == ":1200\r\n");
    REQUIRE(r.command({"ZADD", "ttl-zset", "3", "x"}) == ":1\r\n");
    REQUIRE(r.command({"PEXPIRE", "ttl-zset", "3600000"}) == ":1\r\n");
    REQUIRE(r.command({"ZADD", "short-zset", "1", "m"}) == ":1\r\n");
    REQUIRE(r.command({"PEXPIRE", "short-zset", "1500"}) == ":1\r\n");
    // Sets: intsets of each width, string sets (hash tables in 7.0), a big integer set
    // (over 512: a hash table of integer-encoded strings), over 1000 members.
    REQUIRE(r.command({"SADD", "set", "x", "y"}) == ":2\r\n");
    REQUIRE(r.command({"SADD", "intset", "1", "2", "3"}) == ":3\r\n");
    REQUIRE(r.command({"SADD", "intset32", "-70000", "70000"}) == ":2\r\n");
    REQUIRE(r.command({"SADD", "intset64", "-5", "5000000000"}) == ":2\r\n");
    std::vector<std::string> big_set = {"SADD", "bigset"};
    std::vector<std::string> big_intset = {"SADD", "bigintset"};
    for (int i = 0; i < 1500; ++i) {
      big_set.push_back("member" + std::to_string(i));
      if (i < 700) big_intset.push_back(std::to_string(i * 7 - 2000));
    }
    REQUIRE(r.command(big_set) == ":1500\r\n");
    REQUIRE(r.command(big_intset) == ":700\r\n");
    // TTLs on some of each, and one of each that expires before the import.
    for (const char* k : {"hash", "bighash", "intset", "bigset"}) {
      REQUIRE(r.command({"PEXPIRE", k, "3600000"}) == ":1\r\n");
    }
    REQUIRE(r.command({"EXPIRE", "hash-ints", "86400"}) == ":1\r\n");
    REQUIRE(r.command({"HSET", "short-hash", "f", "v"}) == ":1\r\n");
    REQUIRE(r.command({"SADD", "short-set", "m"}) == ":1\r\n");
    REQUIRE(r.command({"PEXPIRE", "short-hash", "1500"}) == ":1\r\n");
    REQUIRE(r.command({"PEXPIRE", "short-set", "1500"}) == ":1\r\n");
    short_deadline = wall_ms() + 1500;
    for (const char* k : {"hash", "hash-ints", "hash-long", "bighash", "hugehash", "fathash"}) {
      collections[k] = {true, sorted_elements(r.command({"HGETALL", k}), true),
                        integer_reply(r.command({"PTTL", k}))};
    }
    for (const char* k : {"set", "intset", "intset32", "intset64", "bigset", "bigintset"}) {
      collections[k] = {false, sorted_elements(r.command({"SMEMBERS", k}), false),
                        integer_reply(r.command({"PTTL", k}))};
    }
    for (const char* k : {"zset", "bigzset", "ttl-zset"}) {
      zsets[k] = {r.command({"ZRANGE", k, "0", "-1", "WITHSCORES"}),
                  integer_reply(r.command({"PTTL", k}))};
    }
    for (const char* k : {"list", "biglist", "plainlist", "ttl-list"}) {
      lists[k] = {r.command({"LRANGE", k, "0", "-1"}), integer_reply(r.command({"PTTL", k}))};
    }
    // The encodings the test means to cover are the ones redis-server chose.
    const std::map<std::string, std::string> encodings = {
        {"zset", "listpack"},      {"bigzset", "skiplist"},
        {"hash", "listpack"},      {"hash-ints", "listpack"}, {"hash-long", "hashtable"},
        {"bighash", "hashtable"},  {"hugehash", "hashtable"}, {"set", "hashtable"},
        {"intset", "intset"},      {"intset32", "intset"},    {"intset64", "intset"},
        {"bigintset", "hashtable"}};
    for (const auto& [k, encoding] : encodings) {
      INFO("key " << k);
      CHECK(r.command({"OBJECT", "ENCODING", k}) == bulk(encoding));
    }
    recorded_at = wall_ms();
    REQUIRE(r.command({"SELECT", "1"}) == "+OK\r\n");
    REQUIRE(r.command({"SET", "db1key", "from db 1"}) == "+OK\r\n");
    strings["db1key"] = "from db 1";
    REQUIRE(r.command({"SAVE"}) == "+OK\r\n");
  }
  REQUIRE(std::filesystem::file_size(dump) > 0);
  REQUIRE(zsets.size() == 3);
  REQUIRE(lists.size() == 4);

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
  CHECK(contains(dry.second,
                 "would import " + std::to_string(strings.size() + 1) + " string keys, 7 hashes"));

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
  std::uint64_t fields = 0;
  std::uint64_t members = 0;
  for (const auto& [k, c] : collections) (c.hash ? fields : members) += c.elements.size();
  CHECK(contains(out.second, "imported " + std::to_string(strings.size()) +
                                 " string keys, 6 hashes (" + std::to_string(fields) +
                                 " fields), 6 sets (" + std::to_string(members) +
                                 " members), 3 sorted sets (1210 members) and 4 lists (2518 "
                                 "elements)"));
  CHECK(contains(out.second, "skipped 5 keys already expired"));
  CHECK(contains(out.second, "skipped (types Apiary does not hold yet): 1 stream\n"));
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
  for (const auto& [k, c] : collections) {
    INFO("key " << k);
    CHECK(sorted_elements(client.command({c.hash ? "HGETALL" : "SMEMBERS", k}), c.hash) ==
          c.elements);
    const long long pttl = integer_reply(client.command({"PTTL", k}));
    if (c.pttl == -1) {
      CHECK(pttl == -1);
    } else {
      // The absolute expiry travelled: what is left is what redis-server had left then,
      // minus the time since.
      const long long elapsed = wall_ms() - recorded_at + 60'000;
      CHECK(pttl <= c.pttl);
      CHECK(pttl > c.pttl - elapsed);
    }
  }
  for (const auto& [k, z] : zsets) {
    INFO("key " << k);
    CHECK(client.command({"ZRANGE", k, "0", "-1", "WITHSCORES"}) == z.first);
    const long long pttl = integer_reply(client.command({"PTTL", k}));
    CHECK(pttl <= z.second);
    CHECK(pttl >= (z.second == -1 ? -1 : z.second - (wall_ms() - recorded_at + 60'000)));
  }
  for (const auto& [k, l] : lists) {
    INFO("key " << k);
    CHECK(client.command({"LRANGE", k, "0", "-1"}) == l.first);
    const long long pttl = integer_reply(client.command({"PTTL", k}));
    CHECK(pttl <= l.second);
    CHECK(pttl >= (l.second == -1 ? -1 : l.second - (wall_ms() - recorded_at + 60'000)));
  }
  CHECK(client.command({"LINDEX", "plainlist", "1"}) == bulk(big_element));
  CHECK(client.command({"ZSCORE", "zset", "tenth"}) == bulk("0.10000000000000001"));
  CHECK(client.command({"ZSCORE", "zset", "big"}) == bulk("9007199254740994"));
  for (const char* gone : {"short", "short-hash", "short-set", "short-zset", "short-list"}) {
    INFO("key " << gone);
    CHECK(client.command({"EXISTS", gone}) == ":0\r\n");
  }
  CHECK(client.command({"EXISTS", "stream"}) == ":0\r\n");
  const auto keys =
      static_cast<long long>(strings.size() + collections.size() + zsets.size() + lists.size());
  CHECK(integer_reply(client.command({"DBSIZE"})) == keys);

  // Again, through another node: the same values over themselves, nothing changes but the
  // lists, which RPUSH appends to: each holds its elements twice.
  const auto again = import(dump + " --http " + nodes[2]->http());
  INFO(again.second);
  CHECK(again.first == 0);
  CHECK(sorted_elements(client.command({"HGETALL", "hugehash"}), true) ==
        collections["hugehash"].elements);
  CHECK(client.command({"ZRANGE", "bigzset", "0", "-1", "WITHSCORES"}) == zsets["bigzset"].first);
  CHECK(client.command({"LRANGE", "list", "11", "-1"}) == lists["list"].first);
  CHECK(client.command({"LRANGE", "list", "0", "10"}) == lists["list"].first);
  CHECK(client.command({"LLEN", "biglist"}) == ":5000\r\n");
  CHECK(integer_reply(client.command({"DBSIZE"})) == keys);
  // A key holding a string in the cluster stops the import at its HSET, which names it.
  REQUIRE(client.command({"DEL", "hash"}) == ":1\r\n");
  REQUIRE(client.command({"SET", "hash", "a string"}) == "+OK\r\n");
  const auto clash = import(dump + " --http " + nodes[0]->http());
  INFO(clash.second);
  CHECK(clash.first == 1);
  CHECK(contains(clash.second, "HSET \"hash\" was refused: -WRONGTYPE"));
  std::filesystem::remove_all(dir);
}
