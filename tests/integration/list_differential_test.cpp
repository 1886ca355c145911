// Differential test of the list commands: one apiaryd and one redis-server 7.0, both started
// here on ports picked at run time, get the same command lines (RESP2, then RESP3 after
// HELLO 3) and must answer byte for byte alike -- normal use, edge cases (negative and
// out-of-range indices, empty and missing keys, counts of 0, RANK/COUNT/MAXLEN combinations),
// every error and the order in which arguments are checked. The same lines then go through
// members of a three-node cluster, which run them at each key's coordinator; the multi-key
// lines name keys with one hash tag ({q}), so one coordinator runs them whole.
//
// Lists keep their order on both sides, so every reply is compared exactly; no line differs
// by design. The blocking forms are compared where they serve at once, where
// their arguments are refused, and where they time out (10 ms), not while a client waits
// (tests/integration/blocking tests and tests/unit/resp_list_test.cpp cover waiting).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "integration/support/cluster.hpp"
#include "integration/support/differential.hpp"

using namespace apiary::test;

namespace {

std::vector<DiffLine> lines() {
  static const std::string long_value(100, 'v');
  static const std::string push_long = "RPUSH big " + long_value;
  return {
      // Pushes and lengths.
      {"RPUSH l a b c"},
      {"LPUSH l z y"},
      {"LRANGE l 0 -1"},
      {"LLEN l"},
      {"LLEN missing"},
      {"RPUSHX l d e"},
      {"LPUSHX l x"},
      {"RPUSHX missing a"},
      {"LPUSHX missing a"},
      {"EXISTS missing"},
      {"LPUSH l"},
      {"RPUSHX l"},
      {"TYPE l"},
      {"OBJECT ENCODING l"},
      {push_long.c_str()},
      {"OBJECT ENCODING big"},
      // LRANGE's indices.
      {"LRANGE l 0 0"},
      {"LRANGE l -2 -1"},
      {"LRANGE l -100 100"},
      {"LRANGE l 5 2"},
      {"LRANGE l 100 200"},
      {"LRANGE l -1 -2"},
      {"LRANGE l 2 -3"},
      {"LRANGE l x 1"},
      {"LRANGE l 1 x"},
      {"LRANGE l 99999999999999999999 1"},
      {"LRANGE missing 0 -1"},
      {"LRANGE missing x 1"},
      {"LRANGE l 0"},
      // LINDEX, LSET.
      {"LINDEX l 0"},
      {"LINDEX l -1"},
      {"LINDEX l 3"},
      {"LINDEX l 100"},
      {"LINDEX l -100"},
      {"LINDEX l x"},
      {"LINDEX missing 0"},
      {"LINDEX missing x"},
      {"LSET l 0 first"},
      {"LSET l -1 last"},
      {"LSET l 100 x"},
      {"LSET l -100 x"},
      {"LSET l x x"},
      {"LSET missing 0 x"},
      {"LSET missing x x"},
      {"LRANGE l 0 -1"},
      // LINSERT.
      {"LINSERT l BEFORE a ins1"},
      {"LINSERT l after a ins2"},
      {"LINSERT l AFTER last tail"},
      {"LINSERT l BEFORE first head"},
      {"LINSERT l BEFORE nopivot x"},
      {"LINSERT l MIDDLE a x"},
      {"LINSERT missing BEFORE a x"},
      {"LINSERT missing MIDDLE a x"},
      {"LRANGE l 0 -1"},
      // LPOS.
      {"RPUSH p a b c a b c a"},
      {"LPOS p a"},
      {"LPOS p c"},
      {"LPOS p nomatch"},
      {"LPOS p a RANK 2"},
      {"LPOS p a RANK -1"},
      {"LPOS p a RANK -3"},
      {"LPOS p a RANK 4"},
      {"LPOS p a COUNT 0"},
      {"LPOS p a COUNT 2"},
      {"LPOS p a RANK -1 COUNT 2"},
      {"LPOS p a RANK 2 COUNT 0"},
      {"LPOS p a COUNT 0 MAXLEN 4"},
      {"LPOS p a RANK -1 MAXLEN 1"},
      {"LPOS p a RANK -1 MAXLEN 2"},
      {"LPOS p a MAXLEN 0"},
      {"LPOS p nomatch COUNT 3"},
      {"LPOS p a RANK 0"},
      {"LPOS p a RANK x"},
      {"LPOS p a RANK -9223372036854775808"},
      {"LPOS p a RANK -9223372036854775808 COUNT 2"},
      {"LPOS p a RANK 9223372036854775807"},
      {"LPOS p a COUNT -1"},
      {"LPOS p a MAXLEN -1"},
      {"LPOS p a COUNT x"},
      {"LPOS p a FOO"},
      {"LPOS p a RANK"},
      {"LPOS p a COUNT 1 COUNT 2"},
      {"LPOS missing a"},
      {"LPOS missing a COUNT 1"},
      {"LPOS missing a RANK 0"},
      // LREM.
      {"LREM p 1 a"},
      {"LREM p -1 a"},
      {"LRANGE p 0 -1"},
      {"LREM p 0 b"},
      {"LREM p 0 nomatch"},
      {"LREM p -100 c"},
      {"LRANGE p 0 -1"},
      {"LREM p x a"},
      {"LREM missing 1 a"},
      {"LREM missing x a"},
      {"EXISTS p"},
      // LTRIM.
      {"RPUSH t 0 1 2 3 4 5 6 7 8 9"},
      {"LTRIM t 1 -2"},
      {"LRANGE t 0 -1"},
      {"LTRIM t -3 100"},
      {"LRANGE t 0 -1"},
      {"LTRIM t x 1"},
      {"LTRIM missing 0 1"},
      {"LTRIM t 5 2"},
      {"EXISTS t"},
      // LPOP and RPOP, with and without a count.
      {"RPUSH q a b c d e"},
      {"LPOP q"},
      {"RPOP q"},
      {"LPOP q 2"},
      {"RPOP q 0"},
      {"LPOP q -1"},
      {"LPOP q x"},
      {"LPOP q 1 2"},
      {"RPOP q 10"},
      {"EXISTS q"},
      {"LPOP q"},
      {"LPOP q 1"},
      {"RPOP q 0"},
      // LMOVE, RPOPLPUSH.
      {"RPUSH {q}src a b c"},
      {"LMOVE {q}src {q}dst LEFT RIGHT"},
      {"LMOVE {q}src {q}dst right left"},
      {"LMOVE {q}src {q}src LEFT RIGHT"},
      {"LRANGE {q}src 0 -1"},
      {"LRANGE {q}dst 0 -1"},
      {"RPOPLPUSH {q}src {q}dst"},
      {"RPOPLPUSH {q}src {q}dst"},
      {"EXISTS {q}src"},
      {"LMOVE {q}src {q}dst LEFT LEFT"},
      {"LMOVE {q}dst {q}dst UP DOWN"},
      {"LMOVE {q}dst {q}dst LEFT DOWN"},
      {"SET {q}str v"},
      {"LMOVE {q}dst {q}str LEFT LEFT"},
      {"LMOVE {q}str {q}dst LEFT LEFT"},
      {"RPOPLPUSH {q}dst {q}str"},
      {"LRANGE {q}dst 0 -1"},
      // LMPOP.
      {"RPUSH {q}m1 a b c"},
      {"RPUSH {q}m2 x y"},
      {"LMPOP 2 {q}none {q}m1 LEFT"},
      {"LMPOP 2 {q}none {q}m1 RIGHT COUNT 5"},
      {"LMPOP 2 {q}m1 {q}m2 left count 1"},
      {"LMPOP 1 {q}none LEFT"},
      {"LMPOP 0 {q}m2 LEFT"},
      {"LMPOP -1 {q}m2 LEFT"},
      {"LMPOP x {q}m2 LEFT"},
      {"LMPOP 2 {q}m2 {q}m1"},
      {"LMPOP 3 {q}m2 {q}m1"},
      {"LMPOP 1 {q}m2 MIDDLE"},
      {"LMPOP 1 {q}m2 LEFT COUNT 0"},
      {"LMPOP 1 {q}m2 LEFT COUNT -1"},
      {"LMPOP 1 {q}m2 LEFT COUNT x"},
      {"LMPOP 1 {q}m2 LEFT COUNT 1 COUNT 1"},
      {"LMPOP 1 {q}m2 LEFT COUNT"},
      {"LMPOP 1 {q}m2 LEFT FOO"},
      {"LMPOP 2 {q}str {q}m2 LEFT"},
      {"LMPOP 2 {q}m2 {q}str LEFT"},
      // The blocking forms: served at once, refused, or timed out.
      {"RPUSH {q}b1 a b c d"},
      {"BLPOP {q}none {q}b1 0"},
      {"BRPOP {q}none {q}b1 0.5"},
      {"BLMOVE {q}b1 {q}b2 LEFT RIGHT 0"},
      {"BRPOPLPUSH {q}b1 {q}b2 0"},
      {"BLMPOP 0 2 {q}none {q}b2 RIGHT COUNT 5"},
      {"BLPOP {q}none 0.01"},
      {"BRPOP {q}none {q}none2 0.01"},
      {"BLMOVE {q}none {q}b2 LEFT LEFT 0.01"},
      {"BRPOPLPUSH {q}none {q}b2 0.01"},
      {"BLMPOP 0.01 1 {q}none LEFT"},
      {"BLPOP {q}b1 -1"},
      {"BLPOP {q}b1 x"},
      {"BLPOP {q}b1 1e400"},
      {"BLPOP {q}str 0"},
      {"BLPOP {q}none {q}str {q}b1 0"},
      {"BLMOVE {q}b1 {q}b2 LEFT MIDDLE -1"},
      {"BLMOVE {q}b1 {q}b2 LEFT LEFT -1"},
      {"BLMOVE {q}str {q}b2 LEFT LEFT 0"},
      {"BRPOPLPUSH {q}b1 {q}b2 x"},
      {"BLMPOP x 1 {q}b1 LEFT"},
      {"BLMPOP 0 0 {q}b1 LEFT"},
      {"BLMPOP -1 1 {q}b1 LEFT"},
      {"BLMPOP 0 1 {q}b1 MIDDLE"},
      {"BLMPOP 0 1 {q}b1 LEFT COUNT 0"},
      {"BLMPOP 0 2 {q}b1 {q}b2"},
      {"BLPOP {q}b1"},
      // Wrong types.
      {"SET s v"},
      {"LPUSH s a"},
      {"RPUSHX s a"},
      {"LLEN s"},
      {"LRANGE s 0 -1"},
      {"LRANGE s x 1"},
      {"LINDEX s 0"},
      {"LSET s 0 x"},
      {"LINSERT s BEFORE a b"},
      {"LREM s 0 a"},
      {"LTRIM s 0 1"},
      {"LPOS s a"},
      {"LPOP s"},
      {"RPOP s 2"},
      {"HSET h f v"},
      {"LPUSH h a"},
      {"RPUSH l2 a"},
      {"GET l2"},
      {"HGET l2 f"},
      {"SADD l2 m"},
      {"ZADD l2 1 m"},
      // Binary-safe values, and a COPY and RENAME of a list.
      {"RPUSH bin '' \"a b\" \"\\x00\""},
      {"LRANGE bin 0 -1"},
      {"LPOS bin ''"},
      {"COPY bin {bin}2"},
      {"RENAME bin {bin}3"},
      {"LRANGE {bin}3 0 -1"},
  };
}

// A list of `n` elements built by pushes at both ends, compared through its ranges and index
// reads, then trimmed and popped.
std::vector<DiffLine> big_list(int n, std::vector<std::string>& owned) {
  owned.clear();
  for (int i = 0; i < n; ++i) {
    owned.push_back((i % 3 == 0 ? "LPUSH big e" : "RPUSH big e") + std::to_string(i));
  }
  for (const char* q : {"LLEN big", "LRANGE big 0 -1", "LRANGE big 100 199", "LINDEX big 777",
                        "LINDEX big -777", "LSET big 500 changed", "LRANGE big 495 505",
                        "LINSERT big AFTER e999 inserted", "LPOS big inserted",
                        "LPOS big e3 RANK -1", "LREM big 0 e10", "LTRIM big 100 -100",
                        "LRANGE big 0 9", "LRANGE big -10 -1", "LPOP big 5", "RPOP big 5",
                        "LLEN big"}) {
    owned.emplace_back(q);
  }
  std::vector<DiffLine> out;
  for (const auto& s : owned) out.push_back(DiffLine{s.c_str()});
  return out;
}


}  // namespace

TEST_CASE("list commands answer as redis-server 7.0 does", "[integration][list]") {
  RedisServer redis;
  Daemon apiary("list", {});
  SECTION("command lines, RESP2 and RESP3") {
    for (int protocol : {2, 3}) compare_exact(apiary, redis, protocol, lines());
  }
  SECTION("a list of 3,000 elements, RESP2 and RESP3") {
    std::vector<std::string> owned;
    for (int protocol : {2, 3}) compare_exact(apiary, redis, protocol, big_list(3000, owned));
  }
  SECTION("COMMAND INFO of the list commands, RESP2") {
    RespClient a(apiary.redis_port());
    RespClient r(redis.port());
    for (const char* name : {"lpush", "rpush", "lpushx", "rpushx", "lpop", "rpop", "llen",
                             "lrange", "lindex", "lset", "linsert", "lrem", "ltrim", "lpos",
                             "blpop", "brpop", "lmove", "rpoplpush", "lmpop", "blmove",
                             "brpoplpush", "blmpop"}) {
      INFO(name);
      CHECK(a.command({"COMMAND", "INFO", name}) == r.command({"COMMAND", "INFO", name}));
    }
  }
  RespClient after(apiary.redis_port());
  CHECK(after.command({"PING"}) == "+PONG\r\n");
  CHECK(apiary.running());
}

TEST_CASE("list commands through a cluster member answer as redis-server 7.0 does",
          "[integration][list]") {
  auto nodes = start_cluster("lc", 3, {});
  RedisServer redis;
  compare_exact(*nodes[1], redis, 2, lines());
  compare_exact(*nodes[2], redis, 3, lines());
  std::vector<std::string> owned;
  compare_exact(*nodes[0], redis, 3, big_list(1000, owned));
}
