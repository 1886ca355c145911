// Differential test of DUMP, RESTORE, SORT and SORT_RO: one apiaryd and one redis-server 7.0,
// both started here, RESP2 and RESP3; then the same through members of a three-node cluster.
//
// SORT lines are compared byte for byte (keys under one hash tag, {t}, so the BY and GET
// patterns name keys of the sorted key's partition, which Apiary accepts as Redis Cluster 7.4
// does; patterns that could name other partitions are refused by design, as Redis Cluster
// refuses them). Lines whose order Redis leaves to its hash tables or to qsort's handling of
// ties (a set sorted BY nosort, ALPHA BY with equal values) are left out.
//
// DUMP payloads differ by design (Apiary writes plain RDB types, Redis 7.0 listpacks,
// quicklists, intsets and LZF strings), so DUMP is tested by what matters: a DUMP taken from
// either side RESTOREs into the other, for every type small and big, and both then read back
// the same value (and OBJECT ENCODING). RESTORE's errors, checked in Redis's order, are
// compared byte for byte with payloads taken from redis-server.
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "integration/support/cluster.hpp"
#include "integration/support/differential.hpp"

using namespace apiary::test;
using namespace std::string_literals;

namespace {

using Argv = std::vector<std::string>;

std::vector<DiffLine> sort_lines() {
  static const char* const kByDenied =
      "-ERR BY option of SORT denied in Cluster mode when keys formed by the pattern may be in "
      "different slots.\r\n";
  static const char* const kGetDenied =
      "-ERR GET option of SORT denied in Cluster mode when keys formed by the pattern may be in "
      "different slots.\r\n";
  static const char* const kWhy =
      "patterns that may name keys of another partition are refused as Redis Cluster refuses "
      "them; redis-server here runs without cluster mode";
  return {
      {"RPUSH {t}l 3 1 2 10 -5 1.5"},
      {"SORT {t}l"},
      {"SORT {t}l DESC"},
      {"SORT {t}l ALPHA"},
      {"SORT {t}l ALPHA DESC"},
      {"SORT {t}l LIMIT 0 2"},
      {"SORT {t}l LIMIT 2 100"},
      {"SORT {t}l LIMIT -1 2"},
      {"SORT {t}l LIMIT 1 -1"},
      {"SORT {t}l LIMIT 10 2"},
      {"SORT {t}l LIMIT 0 0"},
      {"SORT {t}l LIMIT x 1"},
      {"SORT {t}l LIMIT 1 x"},
      {"SORT {t}l LIMIT 1"},
      {"SORT {t}l LIMIT 99999999999999999999 1"},
      {"SORT {t}l DESC LIMIT 1 2"},
      {"SORT {t}l BY nosort"},
      {"SORT {t}l BY nosort DESC"},
      {"SORT {t}l BY nosort LIMIT 1 2"},
      {"SORT {t}l BY nosort DESC LIMIT 1 2"},
      {"SORT {t}l BY nosort LIMIT 5 10"},
      {"SORT {t}l BY nosort LIMIT 6 10"},
      {"SORT {t}l BY nosort LIMIT -3 2"},
      {"MSET {t}w_3 30 {t}w_1 10 {t}w_2 20 {t}w_10 -1 {t}w_-5 5"},
      {"SORT {t}l BY {t}w_*"},
      {"SORT {t}l BY {t}w_* DESC"},
      {"SORT {t}l BY {t}w_* LIMIT 1 3"},
      {"SORT {t}l BY {t}w_* GET #"},
      {"SORT {t}l BY {t}w_* GET {t}w_*"},
      {"SORT {t}l BY {t}w_* GET # GET {t}w_*"},
      {"SORT {t}l GET {t}w_* GET #"},
      {"SORT {t}l BY {t}w_* ALPHA"},
      {"SORT {t}l BY {t}w_* ALPHA DESC"},
      {"SORT {t}l GET {t}nothing"},
      {"SORT {t}l GET {t}w_*->f"},
      {"INCRBY {t}w_1 5"},
      {"SORT {t}l BY {t}w_* GET {t}w_*"},
      {"HSET {t}h_1 f a g 1"},
      {"HSET {t}h_2 f b g 3"},
      {"HSET {t}h_3 f c g 2"},
      {"SORT {t}l BY {t}h_*->g GET {t}h_*->f GET #"},
      {"SORT {t}l BY {t}h_*->g DESC GET {t}h_*->f"},
      {"SORT {t}l BY {t}h_*-> GET #"},
      {"SORT {t}l GET {t}h_*->"},
      {"SORT {t}l GET {t}h_*->nofield"},
      {"SORT {t}l BY {t}h_*->g ALPHA GET {t}h_*->f"},
      {"SORT {t}l GET {t}l"},
      // STORE: a list at the destination, replacing any type, or no key when empty.
      {"SORT {t}l STORE {t}out"},
      {"LRANGE {t}out 0 -1"},
      {"SORT {t}l BY {t}w_* GET # GET {t}nothing STORE {t}out"},
      {"LRANGE {t}out 0 -1"},
      {"SORT {t}l LIMIT 0 0 STORE {t}out"},
      {"EXISTS {t}out"},
      {"SET {t}str x EX 100"},
      {"SORT {t}l STORE {t}str"},
      {"TYPE {t}str"},
      {"TTL {t}str"},
      {"SORT {t}l DESC STORE {t}l"},
      {"LRANGE {t}l 0 -1"},
      {"SORT {t}l STORE {t}a STORE {t}b"},
      {"EXISTS {t}a {t}b"},
      {"SORT {t}l BY store STORE {t}c"},
      {"EXISTS {t}c"},
      // Types and errors.
      {"SORT {t}str"},
      {"HSET {t}hh a b"},
      {"SORT {t}hh"},
      {"SORT {t}missing"},
      {"SORT {t}missing STORE {t}out2"},
      {"EXISTS {t}out2"},
      {"SORT {t}missing DESC LIMIT 0 1 ALPHA"},
      {"RPUSH {t}bad 1 x 2"},
      {"SORT {t}bad"},
      {"SORT {t}bad ALPHA"},
      {"SORT {t}bad LIMIT 0 1"},
      {"SORT {t}bad STORE {t}out3"},
      {"EXISTS {t}out3"},
      {"SORT {t}bad BY nosort"},
      {"SORT {t}l FOO"},
      {"SORT {t}l BY"},
      {"SORT {t}l GET"},
      {"SORT {t}l STORE"},
      {"SORT {t}l LIMIT x 1 FOO"},
      {"SORT {t}l FOO LIMIT x 1"},
      {"SORT {t}str FOO"},
      {"SORT"},
      {"SORT_RO"},
      {"SORT_RO {t}l STORE {t}x"},
      {"SORT_RO {t}l"},
      {"SORT_RO {t}l BY {t}w_* GET # DESC"},
      {"SORT_RO {t}l LIMIT 1 2 ALPHA"},
      {"SORT_RO {t}str"},
      {"SORT {t}l asc desc alpha"},
      {"SORT {t}l limit 0 1 limit 1 1"},
      {"SORT {t}l GET # GET # LIMIT 0 2"},
      // Sets: sorted; BY nosort with STORE sorts ALPHA (as Redis, for replicas).
      {"SADD {t}s 5 3 9 1"},
      {"SORT {t}s"},
      {"SORT {t}s DESC"},
      {"SORT {t}s LIMIT 1 2"},
      {"SORT {t}s BY nosort STORE {t}out4"},
      {"LRANGE {t}out4 0 -1"},
      {"SORT {t}s BY {t}w_* ALPHA STORE {t}out4"},
      {"LRANGE {t}out4 0 -1"},
      {"SADD {t}s1 only"},
      {"SORT {t}s1 BY nosort"},
      {"SORT {t}s1"},
      // Sorted sets: BY nosort keeps their order (score, then member).
      {"ZADD {t}z 3 a 1 b 2 c 2 d"},
      {"SORT {t}z ALPHA"},
      {"SORT {t}z BY nosort"},
      {"SORT {t}z BY nosort DESC"},
      {"SORT {t}z BY nosort LIMIT 1 2"},
      {"SORT {t}z BY nosort DESC LIMIT 1 2"},
      {"SORT {t}z BY nosort GET #"},
      {"SORT {t}z"},
      {"SORT {t}z BY nosort STORE {t}zs"},
      {"LRANGE {t}zs 0 -1"},
      // Numbers as strtod reads them.
      {"RPUSH {t}num2 inf -inf 1e10 0x10 \" 5\" '' -0 007"},
      {"SORT {t}num2"},
      {"SORT {t}num2 DESC"},
      {"RPUSH {t}n3 \"5 \""},
      {"SORT {t}n3"},
      {"RPUSH {t}n4 nan"},
      {"SORT {t}n4"},
      {"SORT {t}n4 ALPHA"},
      {"RPUSH {t}dup b a b a"},
      {"SORT {t}dup ALPHA"},
      {"SORT {t}dup ALPHA DESC"},
      // Patterns that may name keys outside the key's partition.
      {"SORT {t}l BY w_*", kByDenied, nullptr, kWhy},
      {"SORT {t}l BY {u}w_*", kByDenied, nullptr, kWhy},
      {"SORT {t}l BY *{t}", kByDenied, nullptr, kWhy},
      {"SORT {t}l GET w_*", kGetDenied, nullptr, kWhy},
      {"SORT {t}l BY {t}w_* GET {u}w_*", kGetDenied, nullptr, kWhy},
      {"SORT {t}l GET w_* BY w_*", kGetDenied, nullptr, kWhy},
      {"SORT_RO {t}l GET {}w_*", kGetDenied, nullptr, kWhy},
      {"SORT {t}l BY {t}w_* LIMIT 0 1"},
  };
}

// The data of a bulk reply ("$n\r\n<data>\r\n").
std::string bulk_of(const std::string& reply) {
  REQUIRE(reply.size() > 1);
  REQUIRE(reply[0] == '$');
  const std::size_t crlf = reply.find("\r\n");
  const std::size_t n = std::stoul(reply.substr(1, crlf - 1));
  REQUIRE(reply.size() == crlf + 2 + n + 2);
  return reply.substr(crlf + 2, n);
}

// Redis's CRC-64 (Jones, reflected), bit by bit: an independent check of crc64.cpp.
std::uint64_t crc64(std::string_view bytes) {
  std::uint64_t crc = 0;
  for (const unsigned char b : bytes) {
    crc ^= b;
    for (int i = 0; i < 8; ++i) crc = (crc & 1) ? (crc >> 1) ^ 0x95ac9329ac4bc9b5ULL : crc >> 1;
  }
  return crc;
}

// A payload of `value` (type byte and value) with a footer of `version`.
std::string payload(std::string value, unsigned version = 10) {
  value.push_back(static_cast<char>(version & 0xFF));
  value.push_back(static_cast<char>(version >> 8));
  const std::uint64_t crc = crc64(value);
  for (int i = 0; i < 8; ++i) value.push_back(static_cast<char>((crc >> (8 * i)) & 0xFF));
  return value;
}

// Keys of every type, small (listpack, intset, embstr, int) and big (hashtable, skiplist,
// several quicklist nodes, long and compressible strings), and how to read each back.
struct Sample {
  std::string key;
  Argv read;
};

std::vector<Sample> fill(RespClient& c, const std::string& tag) {
  const auto k = [&](const char* name) { return "{" + tag + "}" + name; };
  const auto run = [&](Argv argv) {
    const std::string reply = c.command(argv);
    INFO(argv[0] << " " << argv[1] << ": " << reply);
    REQUIRE(reply.size() > 0);
    REQUIRE(reply[0] != '-');
  };
  run({"SET", k("s1"), "hello"});
  run({"SET", k("s2"), "123"});
  run({"SET", k("s3"), std::string(1000, 'x')});
  run({"SET", k("s4"), "-5"});
  run({"SET", k("s5"), "99999999999"});
  run({"SET", k("s6"), ""});
  run({"SET", k("s7"), std::string("bin\0\r\nary", 9)});
  run({"INCRBY", k("c1"), "42"});
  run({"RPUSH", k("l1"), "a", "1", "b", "-70000", "3.5"});
  Argv big_list = {"RPUSH", k("l2")};
  for (int i = 0; i < 2000; ++i) big_list.push_back(std::string(i % 7 + 1, 'a' + i % 26));
  run(big_list);
  run({"RPUSH", k("l3"), std::string(20000, 'y'), "z"});
  run({"SADD", k("t1"), "1", "2", "3", "-40000"});
  run({"SADD", k("t2"), "a", "b"});
  Argv ints = {"SADD", k("t3")};
  Argv words = {"SADD", k("t4")};
  for (int i = 0; i < 1000; ++i) {
    ints.push_back(std::to_string(i * 7));
    words.push_back("m" + std::to_string(i));
  }
  run(ints);
  run(words);
  run({"HSET", k("h1"), "f", "v", "g", "1"});
  Argv big_hash = {"HSET", k("h2")};
  Argv fields = {"HMGET", k("h2")};
  for (int i = 0; i < 1000; ++i) {
    big_hash.push_back("f" + std::to_string(i));
    big_hash.push_back(std::string(i % 100, 'v'));
    fields.push_back("f" + std::to_string(i));
  }
  run(big_hash);
  run({"HSET", k("h3"), "f", std::string(100, 'w')});
  run({"HINCRBY", k("h4"), "n", "7"});
  run({"ZADD", k("z1"), "1", "a", "2.5", "b", "-inf", "c", "inf", "d"});
  Argv big_zset = {"ZADD", k("z2")};
  for (int i = 0; i < 500; ++i) {
    big_zset.push_back(std::to_string(i * 0.37 - 50));
    big_zset.push_back("m" + std::to_string(i));
  }
  run(big_zset);
  run({"ZADD", k("z3"), "3", std::string(100, 'q')});
  run({"ZINCRBY", k("z4"), "0.1", "m"});
  std::vector<Sample> out;
  for (const char* s : {"s1", "s2", "s3", "s4", "s5", "s6", "s7", "c1"}) {
    out.push_back({k(s), {"GET", k(s)}});
  }
  for (const char* l : {"l1", "l2", "l3"}) out.push_back({k(l), {"LRANGE", k(l), "0", "-1"}});
  for (const char* s : {"t1", "t2", "t3", "t4"}) out.push_back({k(s), {"SORT", k(s), "ALPHA"}});
  out.push_back({k("h1"), {"HMGET", k("h1"), "f", "g"}});
  out.push_back({k("h2"), fields});
  out.push_back({k("h3"), {"HMGET", k("h3"), "f"}});
  out.push_back({k("h4"), {"HMGET", k("h4"), "n"}});
  for (const char* z : {"z1", "z2", "z3", "z4"}) {
    out.push_back({k(z), {"ZRANGE", k(z), "0", "-1", "WITHSCORES"}});
  }
  return out;
}

// Fills `from`, moves every key to `to` by DUMP and RESTORE, and compares what both read back.
void dump_across(RespClient& from, RespClient& to, const std::string& tag) {
  const std::vector<Sample> samples = fill(from, tag);
  for (const Sample& s : samples) {
    INFO("key " << s.key);
    const std::string p = bulk_of(from.command({"DUMP", s.key}));
    CHECK(to.command({"RESTORE", s.key, "0", p}) == "+OK\r\n");
    CHECK(to.command({"TYPE", s.key}) == from.command({"TYPE", s.key}));
    CHECK(to.command({"OBJECT", "ENCODING", s.key}) == from.command({"OBJECT", "ENCODING", s.key}));
    CHECK(to.command(s.read) == from.command(s.read));
    // With a TTL, replacing what is there.
    CHECK(to.command({"RESTORE", s.key, "100000", p, "REPLACE"}) == "+OK\r\n");
    const std::string ttl = to.command({"TTL", s.key});
    CHECK((ttl == ":100\r\n" || ttl == ":99\r\n"));
    CHECK(to.command(s.read) == from.command(s.read));
  }
}

// The same RESTORE line to both sides: the same reply, or Apiary's by design.
void same(RespClient& a, RespClient& r, const Argv& argv, const char* apiary = nullptr,
          const char* why = nullptr) {
  const std::string from_apiary = a.command(argv);
  const std::string from_redis = r.command(argv);
  INFO(argv[0] << " " << (argv.size() > 1 ? argv[1] : "") << " ... (" << argv.size()
               << " arguments)");
  INFO("apiary: " << from_apiary);
  INFO("redis:  " << from_redis);
  if (apiary != nullptr) {
    INFO("by design: " << why);
    CHECK(from_apiary == apiary);
  } else {
    CHECK(from_apiary == from_redis);
  }
}

void restore_errors(RespClient& a, RespClient& r, bool one_node) {
  REQUIRE(r.command({"SET", "{e}src", "v"}) == "+OK\r\n");
  const std::string p = bulk_of(r.command({"DUMP", "{e}src"}));
  for (RespClient* c : {&a, &r}) REQUIRE(c->command({"SET", "{e}k", "old"}) == "+OK\r\n");
  same(a, r, {"DUMP", "{e}missing"});
  same(a, r, {"DUMP"});
  same(a, r, {"DUMP", "{e}k", "x"});
  same(a, r, {"RESTORE", "{e}k", "0"});
  same(a, r, {"RESTORE", "{e}k", "0", p});
  same(a, r, {"RESTORE", "{e}k", "abc", p});               // BUSYKEY comes before the TTL
  same(a, r, {"RESTORE", "{e}k", "0", "garbage", "FOO"});  // options come first
  same(a, r, {"RESTORE", "{e}k2", "abc", p});
  same(a, r, {"RESTORE", "{e}k2", "-1", p});
  same(a, r, {"RESTORE", "{e}k2", "0", "xx"});
  same(a, r, {"RESTORE", "{e}k2", "0", ""});
  std::string bad_crc = p;
  bad_crc.back() = static_cast<char>(bad_crc.back() ^ 1);
  same(a, r, {"RESTORE", "{e}k2", "0", bad_crc});
  std::string bad_value = p;
  bad_value[2] = static_cast<char>(bad_value[2] ^ 1);
  same(a, r, {"RESTORE", "{e}k2", "0", bad_value});
  same(a, r, {"RESTORE", "{e}k2", "0", p, "IDLETIME", "-1"});
  same(a, r, {"RESTORE", "{e}k2", "0", p, "IDLETIME", "x"});
  same(a, r, {"RESTORE", "{e}k2", "0", p, "FREQ", "256"});
  same(a, r, {"RESTORE", "{e}k2", "0", p, "FREQ", "-1"});
  same(a, r, {"RESTORE", "{e}k2", "0", p, "FREQ", "x"});
  same(a, r, {"RESTORE", "{e}k2", "0", p, "FREQ", "1", "IDLETIME", "2"});
  same(a, r, {"RESTORE", "{e}k2", "0", p, "IDLETIME", "2", "FREQ", "1"});
  same(a, r, {"RESTORE", "{e}k2", "0", p, "FOO"});
  same(a, r, {"RESTORE", "{e}k2", "0", p, "IDLETIME"});
  same(a, r, {"RESTORE", "{e}k", "0", p, "REPLACE", "REPLACE", "ABSTTL", "FREQ", "3"});
  same(a, r, {"GET", "{e}k"});
  same(a, r, {"RESTORE", "{e}k", "0", p, "replace", "idletime", "1000"});
  // Access times are each member's own: through a cluster the member answering OBJECT may
  // not be the coordinator that ran RESTORE, and CONFIG SET reaches one member.
  if (one_node) {
    same(a, r, {"OBJECT", "IDLETIME", "{e}k"});
    for (RespClient* c : {&a, &r}) {
      REQUIRE(c->command({"CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"}) == "+OK\r\n");
    }
    same(a, r, {"RESTORE", "{e}k", "0", p, "REPLACE", "FREQ", "77"});
    same(a, r, {"OBJECT", "FREQ", "{e}k"});
    same(a, r, {"RESTORE", "{e}k", "0", p, "REPLACE", "IDLETIME", "5"});  // ignored under LFU
    for (RespClient* c : {&a, &r}) {
      REQUIRE(c->command({"CONFIG", "SET", "maxmemory-policy", "noeviction"}) == "+OK\r\n");
    }
  }
  same(a, r, {"RESTORE", "{e}k", "1", p, "REPLACE", "ABSTTL"});  // expired: deleted
  same(a, r, {"EXISTS", "{e}k"});
  same(a, r, {"RESTORE", "{e}k", "1", p, "ABSTTL"});  // expired: not created
  same(a, r, {"EXISTS", "{e}k"});
  same(a, r, {"RESTORE", "{e}k", "9223372036854775807", p});  // the sum wraps: expired
  same(a, r, {"EXISTS", "{e}k"});
  same(a, r, {"RESTORE", "{e}k", "9223372036854775807", p, "ABSTTL"});
  same(a, r, {"EXISTS", "{e}k"});
  same(a, r, {"RESTORE", "{e}k", "0", p, "REPLACE"});
  same(a, r, {"TTL", "{e}k"});  // REPLACE without a TTL drops the old one
  // Values with a sound footer that do not decode.
  const std::string kBad = "-ERR Bad data format\r\n";
  same(a, r, {"RESTORE", "{e}k3", "0", payload("\x40\x00"s)});
  same(a, r, {"RESTORE", "{e}k3", "0", payload("\x02\x00"s)});           // empty set
  same(a, r, {"RESTORE", "{e}k3", "0", payload("\x01\x00"s)});           // empty list
  same(a, r, {"RESTORE", "{e}k3", "0", payload("\x02\x02\x01x\x01x")});  // x twice
  same(a, r, {"RESTORE", "{e}k3", "0", payload("\xfe\x00"s)});           // an opcode
  same(a, r, {"RESTORE", "{e}k3", "0", payload("\x00\x05hello trailing"s)});
  same(a, r, {"GET", "{e}k3"});
  // Plain RDB types (what Apiary's DUMP writes), loaded by both.
  same(a, r,
       {"RESTORE", "{e}k4", "0",
        payload("\x01\x03\x01"
                "a\x01"
                "b\x01"
                "c")});
  same(a, r, {"LRANGE", "{e}k4", "0", "-1"});
  same(a, r, {"OBJECT", "ENCODING", "{e}k4"});
  // A stream: Apiary holds none.
  REQUIRE(r.command({"XADD", "{e}st", "1-1", "a", "1"}) == "$3\r\n1-1\r\n");
  const std::string stream = bulk_of(r.command({"DUMP", "{e}st"}));
  same(a, r, {"RESTORE", "{e}st2", "0", stream}, kBad.c_str(), "Apiary holds no streams");
  // A payload of Redis 7.2 (RDB 11): Redis 7.0 refuses it; Apiary reads RDB up to 12.
  same(a, r, {"RESTORE", "{e}k5", "0", payload("\x00\x02hi"s, 11)}, "+OK\r\n",
       "Apiary reads the RDB versions of Redis 7.2 and 7.4 (11, 12) too");
  same(a, r, {"RESTORE", "{e}k6", "0", payload("\x00\x02hi"s, 13)});
}

}  // namespace

TEST_CASE("SORT and SORT_RO answer as redis-server 7.0 does", "[integration][sort]") {
  RedisServer redis;
  Daemon apiary("sort", {});
  for (int protocol : {2, 3}) compare_exact(apiary, redis, protocol, sort_lines());
  // The metadata: COMMAND INFO, and the keys COMMAND GETKEYS finds (SORT's STORE destination,
  // the last one, not an argument of GET, BY or LIMIT).
  RespClient a(apiary.redis_port());
  RespClient r(redis.port());
  for (const char* name : {"dump", "restore", "sort", "sort_ro"}) {
    INFO(name);
    CHECK(a.command({"COMMAND", "INFO", name}) == r.command({"COMMAND", "INFO", name}));
  }
  for (const char* line :
       {"SORT a BY x STORE b", "SORT a GET store LIMIT 0 1 STORE b STORE c", "SORT a STORE",
        "SORT a LIMIT 0 store STORE", "SORT_RO a STORE b", "RESTORE k 0 p", "DUMP k"}) {
    INFO(line);
    Argv argv = {"COMMAND", "GETKEYS"};
    for (auto& w : words(line)) argv.push_back(w);
    CHECK(a.command(argv) == r.command(argv));
  }
  CHECK(apiary.running());
}

TEST_CASE("DUMP and RESTORE move every type between apiaryd and redis-server 7.0",
          "[integration][dump]") {
  RedisServer redis;
  Daemon apiary("dump", {});
  for (int protocol : {2, 3}) {
    INFO("RESP" << protocol);
    RespClient a(apiary.redis_port());
    RespClient r(redis.port());
    begin_pair(a, r, protocol);
    dump_across(a, r, "a");  // Apiary's DUMP into Redis
    dump_across(r, a, "r");  // Redis's DUMP into Apiary
    restore_errors(a, r, true);
  }
  CHECK(apiary.running());
}

TEST_CASE("DUMP, RESTORE and SORT through a cluster member answer as redis-server 7.0 does",
          "[integration][dump][sort]") {
  auto nodes = start_cluster("ds", 3, {});
  RedisServer redis;
  compare_exact(*nodes[1], redis, 2, sort_lines());
  compare_exact(*nodes[2], redis, 3, sort_lines());
  RespClient a(nodes[0]->redis_port());
  RespClient r(redis.port());
  begin_pair(a, r, 2);
  dump_across(a, r, "ca");
  dump_across(r, a, "cr");
  restore_errors(a, r, false);
  // STORE names a key of another partition: as any multi-key write, refused whole unless one
  // node coordinates both. Keys are tried until one pair lands on two coordinators.
  bool crossed = false;
  for (int i = 0; i < 64 && !crossed; ++i) {
    const std::string reply = a.command({"SORT", "{t}l", "STORE", "other" + std::to_string(i)});
    crossed = reply == "-CROSSSLOT Keys in request don't hash to the same slot\r\n";
    if (!crossed) CHECK(reply.rfind(':', 0) == 0);
  }
  CHECK(crossed);
  for (const auto& n : nodes) CHECK(n->running());
}
