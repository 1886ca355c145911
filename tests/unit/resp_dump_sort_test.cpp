// DUMP, RESTORE and SORT through a Connection, and the RDB value writer and DUMP payload reader
// beneath them (apiary/persist/rdb_writer.hpp, rdb_dump.hpp): what a comparison with
// redis-server cannot pin down (tests/integration/dump_sort_differential_test.cpp compares the
// replies). Exact bytes of the encodings Redis and Apiary agree on, every type round-tripping
// through DUMP and RESTORE, and a corrupt payload -- cut short anywhere, or any byte changed,
// with a footer that matches -- never crashing the node: RESTORE answers "Bad data format" or
// loads something, and the node keeps answering.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "apiary/persist/crc64.hpp"
#include "apiary/persist/rdb_dump.hpp"
#include "apiary/persist/rdb_writer.hpp"
#include "apiary/resp/command_table.hpp"
#include "resp_test_support.hpp"

namespace {

using namespace apiary::persist;
using namespace std::string_literals;

std::string bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}

std::string bulk_of(const std::string& reply) {
  REQUIRE(reply.rfind('$', 0) == 0);
  const std::size_t crlf = reply.find("\r\n");
  return reply.substr(crlf + 2, std::stoul(reply.substr(1, crlf - 1)));
}

// `body` (a value) with DUMP's footer.
std::string with_footer(std::string body, unsigned version = kRdbDumpVersion) {
  rdb_append_dump_footer(body, version);
  return body;
}

std::string string_payload(std::string_view value) {
  std::string out;
  RdbValueWriter(out).string_value(value);
  return with_footer(out);
}

}  // namespace

TEST_CASE("the RDB value writer encodes as Redis's DUMP does", "[persist][rdb][dump]") {
  // Taken from redis-server 7.0.15: DUMP of "hello" and of "12345".
  CHECK(string_payload("hello") ==
        "\x00\x05hello\n\x00"
        "cr\xdfve4 \n"s);
  CHECK(string_payload("12345") ==
        "\x00\xc1"
        "90\n\x00\x9d\x94\xea'\x93\xfc\x08\xb9"s);
  // Integers in canonical form within 32 bits are integer-encoded; anything else is text.
  for (const char* s : {"0",
                        "-1",
                        "127",
                        "-128",
                        "128",
                        "-129",
                        "32767",
                        "32768",
                        "-32769",
                        "2147483647",
                        "-2147483648",
                        "2147483648",
                        "007",
                        "+1",
                        "-0",
                        " 1",
                        "1 ",
                        "",
                        "99999999999999999999",
                        "1e3",
                        "abc"}) {
    INFO(s);
    const std::string p = string_payload(s);
    const std::string_view text(s);
    const bool integer = text == "0" || text == "-1" || text == "127" || text == "-128" ||
                         text == "128" || text == "-129" || text == "32767" || text == "32768" ||
                         text == "-32769" || text == "2147483647" || text == "-2147483648";
    CHECK((static_cast<unsigned char>(p[1]) >= 0xC0) == integer);
    auto item = rdb_read_dump_value(p, "k");
    REQUIRE(item.ok());
    CHECK(std::get<RdbStringKey>(item.value()).value == s);
  }
  // Lengths at the 6-, 14- and 32-bit boundaries.
  for (std::size_t n : {63u, 64u, 16383u, 16384u, 70000u}) {
    INFO(n);
    const std::string value(n, 'x');
    auto item = rdb_read_dump_value(string_payload(value), "k");
    REQUIRE(item.ok());
    CHECK(std::get<RdbStringKey>(item.value()).value == value);
  }
}

TEST_CASE("collections round-trip through the writer and the DUMP reader", "[persist][rdb][dump]") {
  std::string out;
  RdbValueWriter w(out);
  const std::vector<double> scores = {0.0,
                                      -0.0,
                                      1.5,
                                      std::numeric_limits<double>::infinity(),
                                      -std::numeric_limits<double>::infinity(),
                                      std::numeric_limits<double>::denorm_min(),
                                      0.1 + 0.2};
  w.begin(RdbValueType::zset, scores.size());
  for (std::size_t i = 0; i < scores.size(); ++i) {
    w.element("m" + std::to_string(i));
    w.score(scores[i]);
  }
  auto z = rdb_read_dump_value(with_footer(out), "z");
  REQUIRE(z.ok());
  const auto& members = std::get<RdbZsetKey>(z.value()).members;
  REQUIRE(members.size() == scores.size());
  for (std::size_t i = 0; i < scores.size(); ++i) {
    CHECK(members[i].member == "m" + std::to_string(i));
    CHECK(std::signbit(members[i].score) == std::signbit(scores[i]));
    CHECK(members[i].score == scores[i]);
  }
  out.clear();
  w.begin(RdbValueType::hash, 2);
  for (const char* s : {"f", "1", "g", ""}) w.element(s);
  auto h = rdb_read_dump_value(with_footer(out), "h");
  REQUIRE(h.ok());
  CHECK(std::get<RdbHashKey>(h.value()).fields.size() == 2);
  out.clear();
  w.begin(RdbValueType::list, 3);
  for (const char* s : {"b", "a", "b"}) w.element(s);
  auto l = rdb_read_dump_value(with_footer(out), "l");
  REQUIRE(l.ok());
  CHECK(std::get<RdbListKey>(l.value()).elements == std::vector<std::string>{"b", "a", "b"});
  // Redis 7.0's encodings: a quicklist of one listpack, an intset (DUMPs of RPUSH l 3 1 2 and
  // SADD s 1 2 3).
  auto ql = rdb_read_dump_value(
      "\x12\x01\x02\r\r\x00\x00\x00\x03\x00\x03\x01\x01\x01\x02\x01\xff\n\x00\x8a\xbeY\xd5\xc4"
      "\xcc\xdc\x02"s,
      "l");
  REQUIRE(ql.ok());
  CHECK(std::get<RdbListKey>(ql.value()).elements == std::vector<std::string>{"3", "1", "2"});
  const std::string intset =
      "\x0b\x0e\x02\x00\x00\x00\x03\x00\x00\x00\x01\x00\x02\x00\x03\x00\n\x00\xa5\x02\\\xe2mnM\x1b"s;
  CHECK(rdb_check_dump_payload(intset) == 10u);
  auto s = rdb_read_dump_value(intset, "s");
  REQUIRE(s.ok());
  CHECK(std::get<RdbSetKey>(s.value()).members == std::vector<std::string>{"1", "2", "3"});
}

TEST_CASE("the DUMP footer check refuses short payloads, newer versions and bad checksums",
          "[persist][rdb][dump]") {
  const std::string p = string_payload("v");
  CHECK(rdb_check_dump_payload(p) == kRdbDumpVersion);
  CHECK_FALSE(rdb_check_dump_payload(p.substr(0, 9)).has_value());
  CHECK_FALSE(rdb_check_dump_payload("").has_value());
  CHECK_FALSE(rdb_check_dump_payload(with_footer("\x00\x01v"s, 13)).has_value());
  CHECK(rdb_check_dump_payload(with_footer("\x00\x01v"s, 12)) == 12u);
  CHECK_FALSE(rdb_check_dump_payload(with_footer("\x00\x01v"s, 12), 10).has_value());
  for (std::size_t i = 0; i < p.size(); ++i) {
    std::string bad = p;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    CHECK_FALSE(rdb_check_dump_payload(bad).has_value());
  }
  // Decoding refuses what Redis refuses, and what Apiary cannot hold.
  CHECK_FALSE(rdb_read_dump_value(with_footer("\x02\x00"s), "k").ok());           // empty set
  CHECK_FALSE(rdb_read_dump_value(with_footer("\x02\x02\x01x\x01x"), "k").ok());  // twice x
  CHECK_FALSE(rdb_read_dump_value(with_footer("\x40"), "k").ok());                // no such type
  CHECK_FALSE(rdb_read_dump_value(with_footer("\xfe\x00"s), "k").ok());           // an opcode
  CHECK_FALSE(rdb_read_dump_value(with_footer("\x0f\x00"s), "k").ok());           // a stream
  CHECK_FALSE(rdb_read_dump_value(with_footer(""), "k").ok());
  // A value may run into the footer (Redis reads it from the same buffer), not past it.
  CHECK(rdb_read_dump_value(with_footer("\x00\x0c"
                                        "ab"s),
                            "k")
            .ok());
  CHECK_FALSE(rdb_read_dump_value(with_footer("\x00\x0d"
                                              "ab"s),
                                  "k")
                  .ok());
  CHECK(rdb_read_dump_value(with_footer("\x00\x02"
                                        "ab trailing"s),
                            "k")
            .ok());
}

TEST_CASE("DUMP and RESTORE round-trip every type with its TTL", "[resp][dump]") {
  resp_test::Harness h;
  REQUIRE(h.send({"SET", "s", "text"}) == "+OK\r\n");
  REQUIRE(h.send({"INCRBY", "c", "-12"}) == ":-12\r\n");
  REQUIRE(h.send({"RPUSH", "l", "x", "y", "x"}) == ":3\r\n");
  REQUIRE(h.send({"SADD", "t", "a", "7"}) == ":2\r\n");
  REQUIRE(h.send({"HSET", "h", "f", "v"}) == ":1\r\n");
  REQUIRE(h.send({"HINCRBY", "h", "n", "3"}) == ":3\r\n");
  REQUIRE(h.send({"ZADD", "z", "-0", "a", "inf", "b"}) == ":2\r\n");
  REQUIRE(h.send({"PEXPIRE", "z", "5000"}) == ":1\r\n");
  for (const char* key : {"s", "c", "l", "t", "h", "z"}) {
    INFO(key);
    const std::string p = bulk_of(h.send({"DUMP", key}));
    const std::string copy = std::string(key) + "2";
    CHECK(h.send({"RESTORE", copy, "0", p}) == "+OK\r\n");
    CHECK(h.send({"DUMP", copy}) == bulk(p));  // the same value serializes the same
    CHECK(h.send({"TYPE", copy}) == h.send({"TYPE", key}));
    CHECK(h.send({"RESTORE", copy, "2000", p, "REPLACE"}) == "+OK\r\n");
    CHECK(h.send({"PTTL", copy}) == ":2000\r\n");
    CHECK(h.send({"RESTORE", copy, "0", p, "REPLACE"}) == "+OK\r\n");
    CHECK(h.send({"PTTL", copy}) == ":-1\r\n");
  }
  CHECK(h.send({"LRANGE", "l2", "0", "-1"}) == "*3\r\n" + bulk("x") + bulk("y") + bulk("x"));
  CHECK(h.send({"HGET", "h2", "n"}) == bulk("3"));
  CHECK(h.send({"ZSCORE", "z2", "a"}) == h.send({"ZSCORE", "z", "a"}));
  // REPLACE across types: a list over a string, then a string over the list.
  const std::string list = bulk_of(h.send({"DUMP", "l"}));
  CHECK(h.send({"RESTORE", "s", "0", list, "REPLACE"}) == "+OK\r\n");
  CHECK(h.send({"TYPE", "s"}) == "+list\r\n");
  CHECK(h.send({"RESTORE", "s", "0", string_payload("back"), "REPLACE"}) == "+OK\r\n");
  CHECK(h.send({"GET", "s"}) == bulk("back"));
  // IDLETIME sets the idle time OBJECT IDLETIME reports (with an LRU policy, the default).
  CHECK(h.send({"RESTORE", "s", "0", list, "REPLACE", "IDLETIME", "1000"}) == "+OK\r\n");
  CHECK(h.send({"OBJECT", "IDLETIME", "s"}) == ":1000\r\n");
  h.advance(std::chrono::seconds(5));
  CHECK(h.send({"OBJECT", "IDLETIME", "s"}) == ":1005\r\n");
  // ABSTTL in the future keeps that time.
  const std::string at = std::to_string(h.wall.ms + 60000);
  CHECK(h.send({"RESTORE", "a", at, list, "ABSTTL"}) == "+OK\r\n");
  CHECK(h.send({"PEXPIRETIME", "a"}) == ":" + at + "\r\n");
}

TEST_CASE("RESTORE of a damaged payload never crashes and never half-writes", "[resp][dump]") {
  resp_test::Harness h;
  REQUIRE(h.send({"RPUSH", "l", "a", "bb", std::string(300, 'c')}) == ":3\r\n");
  REQUIRE(h.send({"HSET", "h", "f", "v", "g", "12345"}) == ":2\r\n");
  REQUIRE(h.send({"ZADD", "z", "1", "a", "2.5", "b"}) == ":2\r\n");
  REQUIRE(h.send({"SADD", "t", "1", "x"}) == ":2\r\n");
  std::vector<std::string> bodies;
  for (const char* key : {"l", "h", "z", "t"}) {
    const std::string p = bulk_of(h.send({"DUMP", key}));
    bodies.push_back(p.substr(0, p.size() - 10));
  }
  // Redis 7.0's packed encodings too: a quicklist of a listpack, an intset.
  bodies.push_back("\x12\x01\x02\r\r\x00\x00\x00\x03\x00\x03\x01\x01\x01\x02\x01\xff"s);
  bodies.push_back("\x0b\x0e\x02\x00\x00\x00\x03\x00\x00\x00\x01\x00\x02\x00\x03\x00"s);
  std::size_t loaded = 0, refused = 0;
  for (const std::string& body : bodies) {
    std::vector<std::string> damaged;
    for (std::size_t n = 0; n < body.size(); ++n) damaged.push_back(body.substr(0, n));
    for (std::size_t i = 0; i < body.size(); ++i) {
      for (unsigned char x : {0x01, 0x80, 0xFF}) {
        std::string d = body;
        d[i] = static_cast<char>(d[i] ^ x);
        damaged.push_back(d);
      }
    }
    for (const std::string& d : damaged) {
      const std::string reply = h.send({"RESTORE", "k", "0", with_footer(d), "REPLACE"});
      if (reply == "+OK\r\n") {
        ++loaded;
      } else {
        INFO(reply);
        REQUIRE(reply == "-ERR Bad data format\r\n");
        ++refused;
      }
    }
  }
  CHECK(refused > 0);
  CHECK(loaded > 0);
  CHECK(h.send({"PING"}) == "+PONG\r\n");
  // A refused RESTORE ... REPLACE leaves the key as it was.
  REQUIRE(h.send({"SET", "k", "kept"}) == "+OK\r\n");
  CHECK(h.send({"RESTORE", "k", "0", with_footer("\x02\x00"s), "REPLACE"}) ==
        "-ERR Bad data format\r\n");
  CHECK(h.send({"GET", "k"}) == bulk("kept"));
}

TEST_CASE("SORT reads numbers as strtod does and pattern keys of its partition only",
          "[resp][sort]") {
  resp_test::Harness h;
  REQUIRE(h.send({"RPUSH", "{p}l", "2", "1e-400", "1"}) == ":3\r\n");
  // Underflow is ERANGE: not a score (Redis leaves errno stale afterwards, which a
  // differential test cannot follow).
  CHECK(h.send({"SORT", "{p}l"}) == "-ERR One or more scores can't be converted into double\r\n");
  CHECK(h.send({"SORT", "{p}l", "ALPHA"}) == "*3\r\n" + bulk("1") + bulk("1e-400") + bulk("2"));
  REQUIRE(h.send({"RPUSH", "{p}m", "2", "1"}) == ":2\r\n");
  REQUIRE(h.send({"SET", std::string("{p}w_1\0x", 8), "5"}) == "+OK\r\n");
  // A pattern is read as a C string up to a NUL, as Redis's strchr reads it.
  CHECK(h.send({"SORT", "{p}m", "BY", std::string("{p}nostar\0*", 11)}) ==
        "*2\r\n" + bulk("2") + bulk("1"));
  // The hash tag before the '*' decides: same tag, or a tag that is the key's whole name.
  REQUIRE(h.send({"RPUSH", "p", "1"}) == ":1\r\n");
  CHECK(h.send({"SORT", "p", "BY", "{p}w_*"}) == "*1\r\n" + bulk("1"));
  CHECK(h.send({"SORT", "p", "GET", "{q}w_*"}).rfind("-ERR GET option of SORT denied", 0) == 0);
  CHECK(h.send({"SORT", "p", "BY", "w_*{p}"}).rfind("-ERR BY option of SORT denied", 0) == 0);
  CHECK(h.send({"SORT", "p", "BY", "w?{p}*"}).rfind("-ERR BY option of SORT denied", 0) == 0);
  // STORE replaces, drops the destination's TTL, and deletes it for an empty result.
  REQUIRE(h.send({"SET", "{p}dst", "x", "EX", "100"}) == "+OK\r\n");
  CHECK(h.send({"SORT", "{p}m", "STORE", "{p}dst"}) == ":2\r\n");
  CHECK(h.send({"TTL", "{p}dst"}) == ":-1\r\n");
  CHECK(h.send({"LRANGE", "{p}dst", "0", "-1"}) == "*2\r\n" + bulk("1") + bulk("2"));
  CHECK(h.send({"SORT", "{p}none", "STORE", "{p}dst"}) == ":0\r\n");
  CHECK(h.send({"EXISTS", "{p}dst"}) == ":0\r\n");
  // The router sees SORT's destination as a key; SORT_RO has none.
  const auto& table = apiary::resp::default_command_table();
  const std::vector<std::string_view> argv = {"SORT", "k",     "GET", "store", "STORE",
                                              "d",    "LIMIT", "0",   "1"};
  CHECK(apiary::resp::command_keys(*table.find("sort"), argv) == std::vector<std::size_t>{1, 5});
  CHECK(apiary::resp::command_keys(*table.find("sort_ro"), argv) == std::vector<std::size_t>{1});
}
