// Differential test of the sorted set commands: one apiaryd and one redis-server 7.0, both
// started here on ports picked at run time, get the same command lines (RESP2, then RESP3
// after HELLO 3) and must answer byte for byte alike -- normal use, edge cases (NaN, inf,
// -0, out-of-range numbers, LIMIT negatives, empty and missing keys, ties), every error and
// the order in which arguments are checked. The same lines then go through members of a
// three-node cluster, which run them at each key's owner.
//
// Sorted sets list in (score, member) order on both sides, so nearly everything is compared
// exactly. What differs by design, compared for what it promises instead:
//  - Randomness. ZRANDMEMBER's picks are checked for shape: the same reply type and length as
//    Redis's, every element one of the zset's, no repeats when the count asks for distinct.
//  - ZSCAN cursors over a skiplist-sized zset (more than 128 members): Redis's walk its hash
//    table, Apiary's are member hashes. Complete iterations are compared: the same pairs, each
//    once.
//  - ZRANK/ZREVRANK WITHSCORE is Redis 7.2; the 7.0 oracle refuses the extra argument
//    ("wrong number of arguments"). Apiary answers as 7.2 does (tests/unit/resp_zset_test.cpp
//    pins that down); the lines carry Apiary's reply and the reason.
// Replies Apiary gives differently on purpose carry the reply and the reason in the line.
#include <algorithm>
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "integration/support/cluster.hpp"
#include "integration/support/command_words.hpp"
#include "integration/support/redis_server.hpp"

using namespace apiary::test;

namespace {

enum class Order {
  exact,
  single,  // random picks of members alone
  pairs,   // random picks WITHSCORES: flat in RESP2, arrays of two in RESP3
};

struct Line {
  const char* command;
  Order order = Order::exact;
  const char* universe = nullptr;  // random replies: a reply listing every possible element
  bool distinct = false;
  const char* apiary = nullptr;    // Apiary's reply where it differs by design
  const char* apiary3 = nullptr;   // ... in RESP3, when that differs from RESP2's
  const char* why = nullptr;
};

constexpr const char* kWithScore72 =
    "ZRANK/ZREVRANK WITHSCORE is Redis 7.2; the 7.0 oracle has arity 3 and refuses it";

const std::string kLong65(65, 'x');
const std::string kLong64(64, 'y');

std::vector<Line> lines() {
  static const std::string add_long = "ZADD wide 1 " + kLong65;
  static const std::string add_edge = "ZADD edge 1 " + kLong64;
  return {
      // ZADD and its flags, ZSCORE, ZCARD, ZMSCORE.
      {"ZADD z 1 a"},
      {"ZADD z 2 b 3 c 1 a"},
      {"ZADD z 1.5 d 2.5 e -1 f"},
      {"ZSCORE z a"},
      {"ZSCORE z d"},
      {"ZSCORE z nomember"},
      {"ZSCORE missing a"},
      {"ZCARD z"},
      {"ZCARD missing"},
      {"ZMSCORE z a d nomember f"},
      {"ZMSCORE missing a b"},
      {"ZMSCORE z"},
      {"ZADD z"},
      {"ZADD z 1"},
      {"ZADD z 1 a 2"},
      {"ZADD z x a"},
      {"ZADD z nan a"},
      {"ZADD z NaN a"},
      {"ZADD z 1e400 a"},
      {"ZADD z 1e-400 a"},
      {"ZADD z '' a"},
      {"ZADD z \" 1\" a"},
      {"ZADD z \"1 \" a"},
      {"ZADD z 0x10 hex"},
      {"ZSCORE z hex"},
      {"ZADD z inf pinf -inf ninf +inf pinf2"},
      {"ZSCORE z pinf"},
      {"ZSCORE z ninf"},
      {"ZADD z -0 negzero"},
      {"ZSCORE z negzero"},
      {"ZADD z 0.1 tenth 1e20 big 1e-20 tiny 3.0000000000000004 close"},
      {"ZSCORE z tenth"},
      {"ZSCORE z big"},
      {"ZSCORE z tiny"},
      {"ZSCORE z close"},
      {"ZADD z 123456789012345678 large"},
      {"ZSCORE z large"},
      {"ZADD z NX 100 a 7 new1"},
      {"ZSCORE z a"},
      {"ZADD z XX 100 a 7 new2"},
      {"ZSCORE z a"},
      {"ZSCORE z new2"},
      {"ZADD z XX NX 1 a"},
      {"ZADD z NX GT 1 a"},
      {"ZADD z GT LT 1 a"},
      {"ZADD z NX LT 1 a"},
      {"ZADD z GT 50 a"},
      {"ZADD z GT 150 a"},
      {"ZADD z GT CH 150 a 160 a"},
      {"ZADD z LT CH 10 a 5 b"},
      {"ZADD z CH 10 a 99 b 1 zz"},
      {"ZADD z ch xx 1 a"},
      {"ZADD z INCR 5 a"},
      {"ZADD z INCR 5 a 6 b"},
      {"ZADD z INCR NX 5 a"},
      {"ZADD z INCR XX 5 nomember"},
      {"ZADD z INCR GT -5 a"},
      {"ZADD z INCR LT -5 a"},
      {"ZADD z INCR x a"},
      {"ZADD z INCR 1 fresh"},
      {"ZADD z XX 1 a 2"},
      {"ZADD missing XX 1 a"},
      {"EXISTS missing"},
      {"ZADD missing XX INCR 1 a"},
      {"ZADD z FOO 1 a"},
      {"ZCARD z"},
      // ZINCRBY.
      {"ZINCRBY z 1 a"},
      {"ZINCRBY z 0.1 inc"},
      {"ZINCRBY z 0.2 inc"},
      {"ZINCRBY z -0.30000000000000004 inc"},
      {"ZINCRBY z 1.5 newinc"},
      {"ZINCRBY z x a"},
      {"ZINCRBY z nan a"},
      {"ZINCRBY z inf pinf"},
      {"ZINCRBY z -inf pinf"},
      {"ZSCORE z pinf"},
      {"ZINCRBY z 1e308 huge"},
      {"ZINCRBY z 1e308 huge"},
      {"ZINCRBY z 1"},
      {"ZINCRBY z 1 a b"},
      {"ZINCRBY missing 2 m"},
      {"ZSCORE missing m"},
      {"DEL missing"},
      // Ranks.
      {"ZRANK z a"},
      {"ZREVRANK z a"},
      {"ZRANK z nomember"},
      {"ZRANK missing a"},
      {"ZRANK z"},
      {"ZRANK z pinf"},
      {"ZRANK z ninf"},
      {"ZREVRANK z ninf"},
      {.command = "ZRANK z a WITHSCORE",
       .apiary = "*2\r\n:10\r\n$1\r\n2\r\n",
       .apiary3 = "*2\r\n:10\r\n,2\r\n",
       .why = kWithScore72},
      {.command = "ZREVRANK z nomember WITHSCORE",
       .apiary = "*-1\r\n",
       .apiary3 = "_\r\n",
       .why = kWithScore72},
      {.command = "ZRANK z a WITHSCORES",
       .apiary = "-ERR syntax error\r\n",
       .why = kWithScore72},
      // Whole and partial ranges.
      {"ZRANGE z 0 -1"},
      {"ZRANGE z 0 -1 WITHSCORES"},
      {"ZRANGE z 0 -1 withscores"},
      {"ZRANGE z 2 4 WITHSCORES"},
      {"ZRANGE z -3 -1"},
      {"ZRANGE z -100 2"},
      {"ZRANGE z 5 2"},
      {"ZRANGE z 100 200"},
      {"ZRANGE z 0 -100"},
      {"ZRANGE z 0 1 REV"},
      {"ZRANGE z 0 1 REV WITHSCORES"},
      {"ZRANGE z x 1"},
      {"ZRANGE z 0 1.5"},
      {"ZRANGE z 0 1 LIMIT 0 1"},
      {"ZRANGE z 0 1 FOO"},
      {"ZRANGE z 0 1 LIMIT 0"},
      {"ZRANGE missing 0 -1"},
      {"ZRANGE missing 0 -1 WITHSCORES"},
      {"ZREVRANGE z 0 3"},
      {"ZREVRANGE z 0 3 WITHSCORES"},
      {"ZREVRANGE z 0 3 REV"},
      {"ZREVRANGE z 0 3 LIMIT 0 1"},
      {"ZREVRANGE z -2 -1 WITHSCORES"},
      // By score.
      {"ZRANGEBYSCORE z 1 3"},
      {"ZRANGEBYSCORE z (1 3 WITHSCORES"},
      {"ZRANGEBYSCORE z 1 (3"},
      {"ZRANGEBYSCORE z (1 (1"},
      {"ZRANGEBYSCORE z 1 1"},
      {"ZRANGEBYSCORE z 3 1"},
      {"ZRANGEBYSCORE z -inf +inf"},
      {"ZRANGEBYSCORE z -inf inf WITHSCORES"},
      {"ZRANGEBYSCORE z (-inf (inf"},
      {"ZRANGEBYSCORE z -inf +inf LIMIT 2 3"},
      {"ZRANGEBYSCORE z -inf +inf LIMIT 2 -1"},
      {"ZRANGEBYSCORE z -inf +inf LIMIT 2 0"},
      {"ZRANGEBYSCORE z -inf +inf LIMIT -1 3"},
      {"ZRANGEBYSCORE z -inf +inf LIMIT 100 3"},
      {"ZRANGEBYSCORE z -inf +inf LIMIT x 3"},
      {"ZRANGEBYSCORE z -inf +inf LIMIT 1"},
      {"ZRANGEBYSCORE z -inf +inf LIMIT 1 2 WITHSCORES"},
      {"ZRANGEBYSCORE z x 3"},
      {"ZRANGEBYSCORE z 1 nan"},
      {"ZRANGEBYSCORE z ( 3"},
      {"ZRANGEBYSCORE z '' 3"},
      {"ZRANGEBYSCORE z \" 1\" 3"},
      {"ZRANGEBYSCORE z 1 3 REV"},
      {"ZRANGEBYSCORE z 1 3 BYLEX"},
      {"ZRANGEBYSCORE missing 1 3"},
      {"ZREVRANGEBYSCORE z 3 1"},
      {"ZREVRANGEBYSCORE z 3 1 WITHSCORES"},
      {"ZREVRANGEBYSCORE z (3 (1"},
      {"ZREVRANGEBYSCORE z 1 3"},
      {"ZREVRANGEBYSCORE z +inf -inf LIMIT 1 2"},
      {"ZREVRANGEBYSCORE z +inf -inf LIMIT 1 -5 WITHSCORES"},
      {"ZRANGE z 1 3 BYSCORE"},
      {"ZRANGE z (1 3 BYSCORE WITHSCORES LIMIT 1 1"},
      {"ZRANGE z 3 1 BYSCORE REV"},
      {"ZRANGE z 3 1 REV BYSCORE LIMIT 0 2 WITHSCORES"},
      {"ZRANGE z 1 3 BYSCORE BYLEX"},
      {"ZRANGE z 1 3 BYSCORE BYSCORE"},
      {"ZRANGE z 1 3 REV REV"},
      {"ZCOUNT z 1 3"},
      {"ZCOUNT z (1 (3"},
      {"ZCOUNT z -inf +inf"},
      {"ZCOUNT z 3 1"},
      {"ZCOUNT z x 1"},
      {"ZCOUNT missing 1 3"},
      {"ZCOUNT z 1"},
      // Lex ranges over equal scores.
      {"ZADD lex 0 a 0 b 0 c 0 d 0 e 0 f 0 g 0 aa 0 ''"},
      {"ZADD lex 0 \xc3\xa9t\xc3\xa9 0 Z"},
      {"ZRANGEBYLEX lex - +"},
      {"ZRANGEBYLEX lex [b [d"},
      {"ZRANGEBYLEX lex (b (d"},
      {"ZRANGEBYLEX lex [aa (c"},
      {"ZRANGEBYLEX lex - [c"},
      {"ZRANGEBYLEX lex (c +"},
      {"ZRANGEBYLEX lex + -"},
      {"ZRANGEBYLEX lex [d [b"},
      {"ZRANGEBYLEX lex [ [b"},
      {"ZRANGEBYLEX lex - + LIMIT 2 3"},
      {"ZRANGEBYLEX lex - + LIMIT -1 3"},
      {"ZRANGEBYLEX lex - + LIMIT 2 -1"},
      {"ZRANGEBYLEX lex - + WITHSCORES"},
      {"ZRANGEBYLEX lex b d"},
      {"ZRANGEBYLEX lex +a -"},
      {"ZRANGEBYLEX lex '' +"},
      {"ZRANGEBYLEX missing - +"},
      {"ZREVRANGEBYLEX lex + -"},
      {"ZREVRANGEBYLEX lex [d [b"},
      {"ZREVRANGEBYLEX lex (d - LIMIT 1 2"},
      {"ZRANGE lex [b [d BYLEX"},
      {"ZRANGE lex [d [b BYLEX REV LIMIT 0 2"},
      {"ZRANGE lex [b [d BYLEX WITHSCORES"},
      {"ZLEXCOUNT lex - +"},
      {"ZLEXCOUNT lex [b (d"},
      {"ZLEXCOUNT lex (d [b"},
      {"ZLEXCOUNT lex b d"},
      {"ZLEXCOUNT missing - +"},
      // ZRANGESTORE.
      {"ZRANGESTORE {z}dst z 0 2"},
      {"ZRANGE {z}dst 0 -1 WITHSCORES"},
      {"ZRANGESTORE {z}dst z 1 3 BYSCORE LIMIT 0 2"},
      {"ZRANGE {z}dst 0 -1 WITHSCORES"},
      {"ZRANGESTORE {lex}dst lex [b [d BYLEX"},
      {"ZRANGE {lex}dst 0 -1 WITHSCORES"},
      {"ZRANGESTORE {z}dst z 0 -1 WITHSCORES"},
      {"ZRANGESTORE {z}dst z 5 2"},
      {"EXISTS {z}dst"},
      {"SET {z}strdst v"},
      {"ZRANGESTORE {z}strdst z 0 0"},
      {"TYPE {z}strdst"},
      {"ZRANGE {z}strdst 0 -1 WITHSCORES"},
      {"ZRANGESTORE {z}dst {z}missing 0 -1"},
      {"ZRANGESTORE {z}dst z"},
      // A key holding another type.
      {"SET str v"},
      {"ZADD str 1 a"},
      {"ZADD str x a"},
      {"ZINCRBY str 1 a"},
      {"ZREM str a"},
      {"ZCARD str"},
      {"ZSCORE str a"},
      {"ZMSCORE str a"},
      {"ZRANK str a"},
      {"ZCOUNT str 0 1"},
      {"ZCOUNT str x 1"},
      {"ZLEXCOUNT str - +"},
      {"ZRANGE str 0 -1"},
      {"ZRANGE str x 1"},
      {"ZRANGEBYSCORE str 0 1"},
      {"ZRANGEBYLEX str - +"},
      {"ZRANGESTORE {str}dst str 0 -1"},
      {"ZREMRANGEBYRANK str 0 1"},
      {"ZREMRANGEBYSCORE str 0 1"},
      {"ZREMRANGEBYLEX str - +"},
      {"ZPOPMIN str"},
      {"ZPOPMAX str 2"},
      {"ZPOPMIN str -1"},
      {"ZRANDMEMBER str"},
      {"ZRANDMEMBER str 2"},
      {"ZRANDMEMBER str x"},
      {"ZSCAN str 0"},
      {"ZSCAN str x"},
      {"ZUNION 1 str"},
      {"ZUNIONSTORE {str}d 2 {str}z str"},
      {"ZINTERCARD 1 str"},
      {"GET z"},
      {"SADD z x"},
      {"HSET z f v"},
      {"TYPE z"},
      {"OBJECT ENCODING z"},
      {"OBJECT ENCODING lex"},
      {add_long.c_str()},
      {"OBJECT ENCODING wide"},
      {add_edge.c_str()},
      {"OBJECT ENCODING edge"},
      // ZREM; removing the last member deletes the key (and its expiry).
      {"ZREM z a"},
      {"ZREM z a"},
      {"ZREM z b b c nomember"},
      {"ZREM missing a"},
      {"ZREM z"},
      {"ZADD one 1 a"},
      {"EXPIRE one 100"},
      {"ZADD one 2 b"},
      {"TTL one"},
      {"ZREM one a b"},
      {"EXISTS one"},
      {"TTL one"},
      {"ZADD one 1 a"},
      {"TTL one"},
      // Removals by range.
      {"ZADD r 1 a 2 b 3 c 4 d 5 e 6 f"},
      {"ZREMRANGEBYRANK r 0 0"},
      {"ZREMRANGEBYRANK r -1 -1"},
      {"ZREMRANGEBYRANK r 5 10"},
      {"ZREMRANGEBYRANK r 2 1"},
      {"ZREMRANGEBYRANK r x 1"},
      {"ZRANGE r 0 -1 WITHSCORES"},
      {"ZREMRANGEBYSCORE r (2 3"},
      {"ZREMRANGEBYSCORE r 10 20"},
      {"ZREMRANGEBYSCORE r x 3"},
      {"ZRANGE r 0 -1 WITHSCORES"},
      {"ZADD rl 0 a 0 b 0 c 0 d"},
      {"ZREMRANGEBYLEX rl [b (d"},
      {"ZREMRANGEBYLEX rl x +"},
      {"ZRANGE rl 0 -1"},
      {"ZREMRANGEBYLEX rl - +"},
      {"EXISTS rl"},
      {"ZREMRANGEBYRANK missing 0 -1"},
      {"ZREMRANGEBYSCORE missing 0 1"},
      {"ZREMRANGEBYLEX missing - +"},
      {"ZREMRANGEBYRANK r 0 -1"},
      {"EXISTS r"},
      // Pops.
      {"ZADD p 1 a 2 b 3 c 4 d 5 e"},
      {"ZPOPMIN p"},
      {"ZPOPMAX p"},
      {"ZPOPMIN p 2"},
      {"ZPOPMAX p 0"},
      {"ZPOPMAX p -1"},
      {"ZPOPMAX p x"},
      {"ZPOPMIN p 1 2"},
      {"ZPOPMAX p 10"},
      {"EXISTS p"},
      {"ZPOPMIN p"},
      {"ZPOPMIN p 3"},
      {"ZPOPMIN missing 0"},
      // ZMPOP, and the blocking pops when a key has members or after a timeout of 10 ms.
      {"ZADD {p}1 1 a 2 b 3 c 4 d"},
      {"ZADD {p}2 1.5 x -inf y"},
      {"SET {p}s x"},
      {"ZMPOP 1 {p}1 MIN"},
      {"ZMPOP 2 {p}none {p}1 MAX COUNT 2"},
      {"ZMPOP 2 {p}1 {p}2 min count 10"},
      {"ZMPOP 1 {p}1 MAX"},
      {"ZMPOP 2 {p}none {p}1 MIN"},
      {"ZMPOP 2 {p}none {p}s MIN"},
      {"ZMPOP 2 {p}s {p}2 MIN"},
      {"ZMPOP 0 {p}2 MIN"},
      {"ZMPOP -1 {p}2 MIN"},
      {"ZMPOP x {p}2 MIN"},
      {"ZMPOP 2 {p}2 MIN"},
      {"ZMPOP 9223372036854775807 {p}2 MIN"},
      {"ZMPOP 1 {p}2 LEFT"},
      {"ZMPOP 1 {p}2 MIN COUNT"},
      {"ZMPOP 1 {p}2 MIN COUNT 0"},
      {"ZMPOP 1 {p}2 MIN COUNT -1"},
      {"ZMPOP 1 {p}2 MIN COUNT x"},
      {"ZMPOP 1 {p}2 MIN COUNT 1 COUNT 1"},
      {"ZMPOP 1 {p}2 MIN LIMIT 1"},
      {"ZADD {p}1 1 a 2 b 3 c 4 d"},
      {"BZPOPMIN {p}1 0"},
      {"BZPOPMAX {p}none {p}1 0.5"},
      {"BZPOPMIN {p}none {p}2 {p}1 1"},
      {"BZMPOP 0 1 {p}1 MIN"},
      {"BZMPOP 1.5 2 {p}none {p}1 MAX COUNT 5"},
      {"EXISTS {p}1"},
      {"BZPOPMIN {p}1 0.01"},
      {"BZPOPMAX {p}1 {p}none 0.01"},
      {"BZMPOP 0.01 2 {p}1 {p}none MIN COUNT 3"},
      {"BZPOPMIN {p}1 0.0001"},
      {"EXISTS {p}1"},
      {"BZPOPMIN {p}s 0"},
      {"BZPOPMIN {p}none {p}s 0"},
      {"BZPOPMIN {p}1 x"},
      {"BZPOPMIN {p}1 -1"},
      {"BZPOPMIN {p}1 nan"},
      {"BZPOPMIN {p}1 ''"},
      {"BZPOPMIN {p}s x"},
      {"BZMPOP 0 1 {p}s MIN"},
      {"BZMPOP x 1 {p}s MIN"},
      {"BZMPOP -1 1 {p}1 MIN"},
      {"BZMPOP x 0 {p}1 MIN"},
      {"BZMPOP x 1 {p}1 LEFT"},
      {"BZMPOP x 1 {p}1 MIN COUNT 0"},
      {"BZMPOP 0 2 {p}1 MIN"},
      {"BZPOPMIN {p}1"},
      {"BZMPOP 0 1 {p}1"},
      {"ZMPOP 1 {p}1"},
      // ZRANDMEMBER: shapes, and errors in order.
      {"ZADD rm 1 a 2 b 3 c"},
      {.command = "ZRANDMEMBER rm", .order = Order::single, .universe = "ZRANGE rm 0 -1"},
      {"ZRANDMEMBER rm 0"},
      {"ZRANDMEMBER rm 3 WITHSCORES"},
      {"ZRANDMEMBER rm 10 WITHSCORES"},
      {.command = "ZRANDMEMBER rm 2",
       .order = Order::single,
       .universe = "ZRANGE rm 0 -1",
       .distinct = true},
      {.command = "ZRANDMEMBER rm -5 WITHSCORES",
       .order = Order::pairs,
       .universe = "ZRANGE rm 0 -1 WITHSCORES"},
      {"ZRANDMEMBER rm x"},
      {"ZRANDMEMBER rm 1 FOO"},
      {"ZRANDMEMBER rm 1 WITHSCORES x"},
      {"ZRANDMEMBER rm -9223372036854775808"},
      {"ZRANDMEMBER rm 9223372036854775807 WITHSCORES"},
      {"ZRANDMEMBER missing"},
      {"ZRANDMEMBER missing 3"},
      {"ZRANDMEMBER missing x"},
      // ZSCAN of a listpack-sized zset.
      {"ZSCAN rm 0"},
      {"ZSCAN rm 0 MATCH a*"},
      {"ZSCAN rm 0 COUNT 1"},
      {"ZSCAN rm 0 COUNT 0"},
      {"ZSCAN rm 0 COUNT x"},
      {"ZSCAN rm 0 FOO"},
      {"ZSCAN rm x"},
      {"ZSCAN missing 0"},
      {"ZSCAN missing 0 COUNT 0"},
      {"ZADD sc 0.5 half 1e20 big -0 zero 3 three 1e-5 small"},
      {"ZSCAN sc 0"},
      // Algebra: zsets and sets, weights, aggregates, errors in order.
      {"ZADD {a}1 1 a 2 b 3 c"},
      {"ZADD {a}2 10 b 20 c 30 d"},
      {"SADD {a}s c d e"},
      {"ZUNION 2 {a}1 {a}2"},
      {"ZUNION 2 {a}1 {a}2 WITHSCORES"},
      {"ZUNION 3 {a}1 {a}2 {a}s WITHSCORES"},
      {"ZUNION 2 {a}1 {a}2 WEIGHTS 2 0.5 WITHSCORES"},
      {"ZUNION 2 {a}1 {a}2 AGGREGATE MIN WITHSCORES"},
      {"ZUNION 2 {a}1 {a}2 AGGREGATE max WITHSCORES"},
      {"ZUNION 2 {a}1 {a}2 AGGREGATE FOO"},
      {"ZUNION 2 {a}1 {a}2 WEIGHTS 1"},
      {"ZUNION 2 {a}1 {a}2 WEIGHTS 1 x"},
      {"ZUNION 2 {a}1 {a}2 WEIGHTS 1 nan"},
      {"ZUNION 2 {a}1 {a}2 WEIGHTS inf 0 WITHSCORES"},
      {"ZUNION 2 {a}1 {a}missing WITHSCORES"},
      {"ZUNION 0 {a}1"},
      {"ZUNION -1 {a}1"},
      {"ZUNION x {a}1"},
      {"ZUNION 3 {a}1 {a}2"},
      {"ZUNION 1 {a}1 FOO"},
      {"ZINTER 2 {a}1 {a}2 WITHSCORES"},
      {"ZINTER 3 {a}1 {a}2 {a}s WITHSCORES"},
      {"ZINTER 2 {a}1 {a}2 WEIGHTS 1 -1 AGGREGATE SUM WITHSCORES"},
      {"ZINTER 2 {a}1 {a}missing"},
      {"ZINTER 1 {a}s WITHSCORES"},
      {"ZDIFF 2 {a}1 {a}2"},
      {"ZDIFF 2 {a}1 {a}2 WITHSCORES"},
      {"ZDIFF 2 {a}2 {a}s WITHSCORES"},
      {"ZDIFF 2 {a}1 {a}2 WEIGHTS 1 1"},
      {"ZDIFF 2 {a}1 {a}2 AGGREGATE SUM"},
      {"ZDIFF 1 {a}missing"},
      {"ZUNIONSTORE {a}d 2 {a}1 {a}2"},
      {"ZRANGE {a}d 0 -1 WITHSCORES"},
      {"ZUNIONSTORE {a}d 2 {a}1 {a}2 WITHSCORES"},
      {"ZINTERSTORE {a}d 2 {a}1 {a}2 WEIGHTS 2 3 AGGREGATE MAX"},
      {"ZRANGE {a}d 0 -1 WITHSCORES"},
      {"ZDIFFSTORE {a}d 2 {a}1 {a}2"},
      {"ZRANGE {a}d 0 -1 WITHSCORES"},
      {"ZINTERSTORE {a}d 2 {a}1 {a}missing"},
      {"EXISTS {a}d"},
      {"ZUNIONSTORE {a}1 2 {a}1 {a}2"},
      {"ZRANGE {a}1 0 -1 WITHSCORES"},
      {"ZUNIONSTORE {a}d 0 {a}1"},
      {"ZUNIONSTORE {a}d"},
      {"ZINTERCARD 2 {a}1 {a}2"},
      {"ZINTERCARD 2 {a}1 {a}2 LIMIT 1"},
      {"ZINTERCARD 2 {a}1 {a}2 LIMIT 0"},
      {"ZINTERCARD 2 {a}1 {a}2 LIMIT -1"},
      {"ZINTERCARD 2 {a}1 {a}2 LIMIT x"},
      {"ZINTERCARD 2 {a}1 {a}2 WITHSCORES"},
      {"ZINTERCARD 0 {a}1"},
      {"ZINTERCARD 3 {a}1 {a}2"},
      {"ZINTERCARD 1 {a}s"},
      // Arity.
      {"ZADD"},
      {"ZCARD"},
      {"ZCARD z extra"},
      {"ZSCORE z"},
      {"ZCOUNT z 1 2 3"},
      {"ZRANGE z 0"},
      {"ZREMRANGEBYRANK z 0"},
      {"ZPOPMIN"},
      {"ZUNION 1"},
      {"ZSCAN z"},
  };
}

// The elements of a reply: an aggregate's header and elements, or a single reply whole.
struct Parsed {
  std::string header;
  std::vector<std::string> elements;
};

Parsed parse(const std::string& reply) {
  Parsed p;
  if (reply.empty() || std::string_view("*%~").find(reply[0]) == std::string_view::npos) {
    p.elements.push_back(reply);
    return p;
  }
  std::size_t pos = reply.find("\r\n") + 2;
  p.header = reply.substr(0, pos);
  while (pos < reply.size()) {
    const std::size_t end = *resp_reply_end(reply, pos);
    p.elements.push_back(reply.substr(pos, end - pos));
    pos = end;
  }
  return p;
}

std::vector<std::string> groups(const std::vector<std::string>& elements, std::size_t group) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < elements.size(); i += group) {
    std::string g;
    for (std::size_t j = i; j < i + group && j < elements.size(); ++j) g += elements[j];
    out.push_back(g);
  }
  return out;
}

std::size_t group_size(Order order, int protocol) {
  return order == Order::pairs && protocol == 2 ? 2 : 1;
}

void check_random(const Line& line, const std::string& apiary, const std::string& redis,
                  const std::string& universe, int protocol) {
  const Parsed a = parse(apiary);
  const Parsed r = parse(redis);
  CHECK(a.header == r.header);
  CHECK(a.elements.size() == r.elements.size());
  if (r.header.empty()) CHECK(apiary.substr(0, 1) == redis.substr(0, 1));
  const std::size_t group = group_size(line.order, protocol);
  const auto all = groups(parse(universe).elements, group);
  const std::set<std::string> possible(all.begin(), all.end());
  const auto picked = groups(a.elements, group);
  for (const auto& g : picked) {
    INFO("picked " << g);
    CHECK(possible.count(g) == 1);
  }
  if (line.distinct) {
    CHECK(std::set<std::string>(picked.begin(), picked.end()).size() == picked.size());
  }
}

void begin(RespClient& a, RespClient& r, int protocol) {
  if (protocol == 3) {
    REQUIRE(a.command({"HELLO", "3"}).rfind("%7\r\n", 0) == 0);
    REQUIRE(r.command({"HELLO", "3"}).rfind("%7\r\n", 0) == 0);
  }
  REQUIRE(a.command({"FLUSHALL"}) == "+OK\r\n");
  REQUIRE(r.command({"FLUSHALL"}) == "+OK\r\n");
}

void compare_lines(const Daemon& apiary, const RedisServer& redis, int protocol,
                   const std::vector<Line>& sequence) {
  RespClient a(apiary.redis_port());
  RespClient r(redis.port());
  begin(a, r, protocol);
  for (const Line& line : sequence) {
    const auto argv = words(line.command);
    const std::string from_apiary = a.command(argv);
    const std::string from_redis = r.command(argv);
    INFO("RESP" << protocol << ": " << line.command);
    INFO("apiary: " << from_apiary);
    INFO("redis:  " << from_redis);
    if (line.apiary != nullptr) {
      INFO("by design: " << line.why);
      CHECK(from_apiary == (protocol == 3 && line.apiary3 != nullptr ? line.apiary3 : line.apiary));
    } else if (line.universe != nullptr) {
      check_random(line, from_apiary, from_redis, a.command(words(line.universe)), protocol);
    } else {
      CHECK(from_apiary == from_redis);
    }
  }
}

// Every member/score pair a whole ZSCAN iteration returns, and how many times.
std::multiset<std::string> scan_all(RespClient& c, const std::vector<std::string>& options) {
  std::multiset<std::string> seen;
  std::string cursor = "0";
  for (int calls = 0; calls < 10000; ++calls) {
    std::vector<std::string> argv = {"ZSCAN", "big", cursor};
    argv.insert(argv.end(), options.begin(), options.end());
    const Parsed p = parse(c.command(argv));
    REQUIRE(p.elements.size() == 2);
    const std::string& bulk = p.elements[0];
    cursor = bulk.substr(bulk.find("\r\n") + 2, bulk.size() - bulk.find("\r\n") - 4);
    for (const auto& g : groups(parse(p.elements[1]).elements, 2)) seen.insert(g);
    if (cursor == "0") return seen;
  }
  FAIL("ZSCAN never returned cursor 0");
  return seen;
}

// A zset of `n` members (ties included), compared through ranges, ranks, counts, random picks
// and complete ZSCAN iterations. Redis 7.0 keeps up to 128 members in a listpack.
void compare_big_zset(const Daemon& apiary, const RedisServer& redis, int protocol, int n) {
  RespClient a(apiary.redis_port());
  RespClient r(redis.port());
  begin(a, r, protocol);
  std::vector<std::string> zadd = {"ZADD", "big"};
  for (int i = 0; i < n; ++i) {
    zadd.push_back(std::to_string((i * 37) % 50) + "." + std::to_string(i % 4 * 25));
    zadd.push_back("m" + std::to_string(i));
  }
  REQUIRE(a.command(zadd) == r.command(zadd));
  const auto count = [&](int c) { return "ZRANDMEMBER big " + std::to_string(c); };
  const std::string all = count(n) + " WITHSCORES";
  const std::string few = count(n / 3 - 1);
  const std::string most = count(n - 1) + " WITHSCORES";
  const std::string repeats = count(-2 * n);
  const std::vector<Line> big = {
      {"TYPE big"},
      {"ZCARD big"},
      {"OBJECT ENCODING big"},
      {"ZRANGE big 0 -1 WITHSCORES"},
      {"ZREVRANGE big 0 9 WITHSCORES"},
      {"ZRANK big m7"},
      {"ZREVRANK big m7"},
      {"ZRANK big m199"},
      {"ZCOUNT big 10 (20"},
      {"ZRANGEBYSCORE big (10 20 WITHSCORES LIMIT 3 5"},
      {"ZREVRANGEBYSCORE big 40 (10 LIMIT 3 5"},
      {"ZRANGE big 30 10 BYSCORE REV LIMIT 2 4 WITHSCORES"},
      {"ZRANGESTORE {big}2 big 10 20 BYSCORE"},
      {"ZRANGE {big}2 0 -1 WITHSCORES"},
      {"ZINTERSTORE {big}3 2 big {big}2 WEIGHTS 1 2"},
      {"ZRANGE {big}3 0 -1 WITHSCORES"},
      {count(n).c_str()},
      {all.c_str()},
      {.command = few.c_str(), .order = Order::single, .universe = "ZRANGE big 0 -1",
       .distinct = true},
      {.command = most.c_str(), .order = Order::pairs,
       .universe = "ZRANGE big 0 -1 WITHSCORES", .distinct = true},
      {.command = repeats.c_str(), .order = Order::single, .universe = "ZRANGE big 0 -1"},
      {"ZREMRANGEBYSCORE big 0 (5"},
      {"ZREMRANGEBYRANK big 0 9"},
      {"ZPOPMAX big 3"},
      {"ZRANGE big 0 4 WITHSCORES"},
      {"ZCARD big"},
  };
  for (const Line& line : big) {
    const auto argv = words(line.command);
    const std::string from_apiary = a.command(argv);
    const std::string from_redis = r.command(argv);
    INFO("RESP" << protocol << ": " << line.command);
    if (line.universe != nullptr) {
      check_random(line, from_apiary, from_redis, a.command(words(line.universe)), protocol);
    } else {
      CHECK(from_apiary == from_redis);
    }
  }
  for (const std::vector<std::string>& options : std::vector<std::vector<std::string>>{
           {}, {"COUNT", "1"}, {"COUNT", "7"}, {"MATCH", "m1*"}}) {
    const auto from_apiary = scan_all(a, options);
    const auto from_redis = scan_all(r, options);
    INFO("RESP" << protocol << ": ZSCAN big ... " << options.size() << " option words");
    CHECK(from_apiary == from_redis);
    CHECK(std::set<std::string>(from_apiary.begin(), from_apiary.end()).size() ==
          from_apiary.size());
  }
}

}  // namespace

TEST_CASE("sorted set commands answer as redis-server 7.0 does", "[integration][zset]") {
  RedisServer redis;
  Daemon apiary("zset", {});
  SECTION("command lines, RESP2 and RESP3") {
    for (int protocol : {2, 3}) compare_lines(apiary, redis, protocol, lines());
  }
  SECTION("zsets of 100 and 300 members, RESP2 and RESP3") {
    for (int n : {100, 300}) {
      compare_big_zset(apiary, redis, 2, n);
      compare_big_zset(apiary, redis, 3, n);
    }
  }
  SECTION("COMMAND INFO of the pops, RESP2") {
    RespClient a(apiary.redis_port());
    RespClient r(redis.port());
    for (const char* name : {"zpopmin", "zpopmax", "bzpopmin", "bzpopmax", "zmpop", "bzmpop"}) {
      INFO(name);
      std::string from_apiary = a.command({"COMMAND", "INFO", name});
      std::string from_redis = r.command({"COMMAND", "INFO", name});
      // COMMAND INFO renders the key specs of keys counted by numkeys as a range, not as
      // Redis's "keynum" search (server_commands.cpp): compared up to them.
      if (std::string_view(name).find("mpop") != std::string_view::npos) {
        from_apiary.resize(from_apiary.find("begin_search"));
        from_redis.resize(from_redis.find("begin_search"));
      }
      CHECK(from_apiary == from_redis);
    }
  }
  RespClient after(apiary.redis_port());
  CHECK(after.command({"PING"}) == "+PONG\r\n");
  CHECK(apiary.running());
}

TEST_CASE("sorted set commands through a cluster member answer as redis-server 7.0 does",
          "[integration][zset]") {
  auto nodes = start_cluster("zc", 3, {});
  RedisServer redis;
  compare_lines(*nodes[1], redis, 2, lines());
  compare_lines(*nodes[2], redis, 3, lines());
  compare_big_zset(*nodes[0], redis, 3, 300);
}
