// The RDB reader's hashes, sets, sorted sets and lists: every encoding Redis writes them in
// (hash table, zipmap, ziplist, listpack, 7.4's field-TTL forms; hash table, intset, listpack;
// ZSET, ZSET_2, ziplist, listpack; linked list, ziplist, quicklist, quicklist 2), known
// answers for the packed containers, and damaged containers and files that must give an error
// naming the key, never a crash.
#include <bit>
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "persist_rdb_support.hpp"

using namespace apiary;
using namespace apiary::persist;
using namespace apiary::rdb_test;

TEST_CASE("persist: rdb: hashes in every encoding, 7.4's field TTLs too", "[unit][persist]") {
  const std::string lzf(kLzfAbc.begin(), kLzfAbc.end());
  const std::string long_value(300, 'L');    // a 14-bit (ziplist) / 12-bit (listpack) length
  const std::string huge_value(20000, 'H');  // a 32-bit length in both
  Rdb rdb(12);
  // Hash table: fields and values in any string encoding.
  rdb.byte(4).str("table").len(3).str("f1").str("v1").str("num").byte(0xC1).le(1234, 2);
  rdb.str("lzf").byte(0xC3).len(7).len(33).raw(lzf);
  // Zipmap (before Redis 2.6): a value with a 5-byte length, spare bytes after each value.
  rdb.byte(9).str("zipmap").str(zipmap({{"a", "1"}, {"b", long_value}}, 2));
  // Ziplist (3.2 to 6.2): strings of every length encoding, integers of every width; the
  // entry after a long one has a 5-byte previous length.
  Ziplist zl;
  zl.str("s").str(long_value).str("big").str(huge_value).str("imm").integer(7);
  zl.str("i8").integer(-100).str("i16").integer(30000).str("i24").integer(-8000000);
  zl.str("i32").integer(2000000000).str("i64").integer(-9000000000000LL);
  rdb.byte(13).str("ziplist").str(zl.bytes());
  // Listpack (7.0+): the same for its encodings.
  Listpack lp;
  lp.str("a").str(long_value).str("b").str(huge_value).str("c").integer(5);
  lp.str("d").integer(-3000).str("e").integer(-30000).str("f").integer(8000000);
  lp.str("g").integer(-2000000000).str("h").integer(INT64_MIN);
  rdb.byte(16).str("listpack").str(lp.bytes());
  // 7.4: listpack_ex (field, value, TTL; 0 none) after the smallest TTL, and without it (the
  // release candidates' type 23); a hash table with field TTLs (relative to the smallest: +1),
  // and the release candidates' absolute form (type 22).
  Listpack ex;
  ex.str("x").str("1").integer(0).str("y").str("2").integer(1'800'000'000'000);
  rdb.byte(25).str("lp-ex").le(1'800'000'000'000, 8).str(ex.bytes());
  rdb.byte(23).str("lp-ex-rc").str(ex.bytes());
  rdb.byte(24).str("meta").le(1'800'000'000'000, 8).len(2);
  rdb.len(0).str("p").str("q").len(501).str("r").str("s");
  rdb.byte(22).str("meta-rc").len(1).len(1'700'000'000'000).str("t").str("u");
  rdb.byte(0xFC)
      .le(1'900'000'000'000, 8)
      .byte(16)
      .str("with-ttl")
      .str(Listpack().str("f").str("v").bytes());
  rdb.byte(4).str("empty").len(0);
  rdb.set("after", "x");

  const Read r = read_all(rdb.finish());
  INFO(r.status.to_string());
  REQUIRE(r.status.ok());
  REQUIRE(r.items.size() == 11);
  CHECK(fields_of(hash_at(r, 0)) ==
        Fields{{"f1", "v1"}, {"num", "1234"}, {"lzf", repeated("abc", 11)}});
  CHECK(hash_at(r, 0).rdb_type == 4);
  CHECK(fields_of(hash_at(r, 1)) == Fields{{"a", "1"}, {"b", long_value}});
  CHECK(fields_of(hash_at(r, 2)) == Fields{{"s", long_value},
                                           {"big", huge_value},
                                           {"imm", "7"},
                                           {"i8", "-100"},
                                           {"i16", "30000"},
                                           {"i24", "-8000000"},
                                           {"i32", "2000000000"},
                                           {"i64", "-9000000000000"}});
  CHECK(fields_of(hash_at(r, 3)) == Fields{{"a", long_value},
                                           {"b", huge_value},
                                           {"c", "5"},
                                           {"d", "-3000"},
                                           {"e", "-30000"},
                                           {"f", "8000000"},
                                           {"g", "-2000000000"},
                                           {"h", "-9223372036854775808"}});
  for (std::size_t i : {4u, 5u}) {
    const RdbHashKey& h = hash_at(r, i);
    CHECK(fields_of(h) == Fields{{"x", "1"}, {"y", "2"}});
    CHECK(!h.fields[0].expiry_ms);
    CHECK(h.fields[1].expiry_ms == 1'800'000'000'000);
  }
  const RdbHashKey& meta = hash_at(r, 6);
  CHECK(fields_of(meta) == Fields{{"p", "q"}, {"r", "s"}});
  CHECK(!meta.fields[0].expiry_ms);
  CHECK(meta.fields[1].expiry_ms == 1'800'000'000'500);
  CHECK(hash_at(r, 7).fields[0].expiry_ms == 1'700'000'000'000);
  CHECK(hash_at(r, 8).expiry_ms == 1'900'000'000'000);
  CHECK(!hash_at(r, 0).expiry_ms);
  CHECK(hash_at(r, 9).fields.empty());  // Redis drops empty keys on load; the importer too
  CHECK(string_at(r, 10).value == "x");
  CHECK(r.report.hashes == 10);
  CHECK(r.report.hash_fields == 3 + 2 + 8 + 8 + 2 + 2 + 2 + 1 + 1);
  CHECK(r.report.hash_field_ttls == 4);
  CHECK(r.report.strings == 1);
  CHECK(r.report.skipped.empty());
  CHECK(r.report.keys() == 11);
}

TEST_CASE("persist: rdb: sets in every encoding", "[unit][persist]") {
  const std::string binary("\0\xff\r\n", 4);
  const std::string long_value(300, 'L');
  Rdb rdb(11);
  rdb.byte(2).str("table").len(3).str("a").byte(0xC0).byte(0xF6).str(binary);
  rdb.byte(11).str("int16").str(intset(2, {-5, 1, 300}));
  rdb.byte(11).str("int32").str(intset(4, {-70000, 70000}));
  rdb.byte(11).str("int64").str(intset(8, {INT64_MIN, 5'000'000'000}));
  rdb.byte(20)
      .str("listpack")
      .str(Listpack().str("m").integer(1).integer(-3000).integer(100000).str(long_value).bytes());
  rdb.byte(20).str("counted").str(Listpack().str("a").str("b").bytes(65535));  // "count them"
  rdb.byte(0xFD).le(1'900'000'000, 4).byte(11).str("with-ttl").str(intset(2, {1}));
  rdb.set("after", "x");

  const Read r = read_all(rdb.finish());
  INFO(r.status.to_string());
  REQUIRE(r.status.ok());
  REQUIRE(r.items.size() == 8);
  using Members = std::vector<std::string>;
  CHECK(set_at(r, 0).members == Members{"a", "-10", binary});
  CHECK(set_at(r, 1).members == Members{"-5", "1", "300"});
  CHECK(set_at(r, 2).members == Members{"-70000", "70000"});
  CHECK(set_at(r, 3).members == Members{"-9223372036854775808", "5000000000"});
  CHECK(set_at(r, 4).members == Members{"m", "1", "-3000", "100000", long_value});
  CHECK(set_at(r, 5).members == Members{"a", "b"});
  CHECK(set_at(r, 6).expiry_ms == 1'900'000'000'000);
  CHECK(set_at(r, 6).rdb_type == 11);
  CHECK(string_at(r, 7).value == "x");
  CHECK(r.report.sets == 7);
  CHECK(r.report.set_members == 3 + 3 + 2 + 2 + 5 + 2 + 1);
  CHECK(r.report.keys() == 8);
}

TEST_CASE("persist: rdb: sorted sets in every encoding, each score the exact double",
          "[unit][persist]") {
  const std::string binary("\0\xff\r\n", 4);
  Rdb rdb(10);
  // ZSET (type 3, before Redis 4.0): text scores (%.17g), 254 +inf, 255 -inf.
  rdb.byte(3).str("text").len(4).str("a").byte(19).raw("0.10000000000000001");
  rdb.str("b").byte(254).str(binary).byte(255).str("c").byte(6).raw("-1e-05");
  // ZSET_2 (type 5, 4.0+): binary doubles, little-endian.
  rdb.byte(5).str("binary").len(2).str("x").le(std::bit_cast<std::uint64_t>(0.1), 8);
  rdb.str("y").le(std::bit_cast<std::uint64_t>(9007199254740994.0), 8);
  // ZSET_ZIPLIST (12, 2.6 to 6.2) and ZSET_LISTPACK (17, 7.0+): member, score pairs, integer
  // scores as integers, the others as d2string's text.
  rdb.byte(12).str("ziplist").str(
      Ziplist().str("m").integer(-3).str("n").str("2.5").str("o").str("inf").bytes());
  rdb.byte(17)
      .str("listpack")
      .str(Listpack()
               .str("p")
               .integer(100000)
               .str("q")
               .str("0.30000000000000004")
               .str("r")
               .str("-inf")
               .bytes());
  rdb.byte(0xFC)
      .le(1'800'000'000'000, 8)
      .byte(17)
      .str("ttl")
      .str(Listpack().str("t").integer(1).bytes());
  rdb.set("after", "x");

  const Read r = read_all(rdb.finish());
  INFO(r.status.to_string());
  REQUIRE(r.status.ok());
  REQUIRE(r.items.size() == 6);
  constexpr double inf = std::numeric_limits<double>::infinity();
  using Members = std::vector<std::pair<std::string, double>>;
  const auto members = [&](std::size_t i) {
    REQUIRE(std::holds_alternative<RdbZsetKey>(r.items[i]));
    Members out;
    for (const auto& m : std::get<RdbZsetKey>(r.items[i]).members) {
      out.emplace_back(m.member, m.score);
    }
    return out;
  };
  CHECK(members(0) == Members{{"a", 0.1}, {"b", inf}, {binary, -inf}, {"c", -1e-05}});
  CHECK(members(1) == Members{{"x", 0.1}, {"y", 9007199254740994.0}});
  CHECK(members(2) == Members{{"m", -3}, {"n", 2.5}, {"o", inf}});
  CHECK(members(3) == Members{{"p", 100000}, {"q", 0.1 + 0.2}, {"r", -inf}});
  CHECK(std::get<RdbZsetKey>(r.items[4]).expiry_ms == 1'800'000'000'000);
  CHECK(std::get<RdbZsetKey>(r.items[4]).rdb_type == 17);
  CHECK(string_at(r, 5).value == "x");
  CHECK(r.report.zsets == 5);
  CHECK(r.report.zset_members == 4 + 2 + 3 + 3 + 1);
  CHECK(r.report.keys() == 6);
  CHECK(r.report.skipped.empty());

  // Redis refuses to load a NaN score, and so does the reader; so a score that is no number
  // and a packed zset with a member and no score, each naming the key.
  for (const Bytes& bad :
       {one_value(3, std::string("\x01\x01m\xFD", 4), /*blob=*/false),
        one_value(5, "\x01\x01m" + le_bytes(0x7ff8000000000000ULL, 8), /*blob=*/false),
        one_value(3, std::string("\x01\x01m\x03" "abc", 7), /*blob=*/false),
        one_value(17, Listpack().str("m").str("x1").bytes()),
        one_value(12, Ziplist().str("m").str("nan").bytes()),
        one_value(17, Listpack().str("m").integer(1).str("lonely").bytes())}) {
    const Read bad_read = read_all(bad);
    INFO(bad_read.status.to_string());
    CHECK(bad_read.status.code() == StatusCode::malformed);
    CHECK(bad_read.status.message().find("zset \"k\"") != std::string::npos);
  }
}

using Elements = std::vector<std::string>;

inline const RdbListKey& list_at(const Read& r, std::size_t i) {
  REQUIRE(i < r.items.size());
  REQUIRE(std::holds_alternative<RdbListKey>(r.items[i]));
  return std::get<RdbListKey>(r.items[i]);
}

TEST_CASE("persist: rdb: lists in every encoding, elements in order", "[unit][persist]") {
  const std::string lzf(kLzfAbc.begin(), kLzfAbc.end());
  const std::string long_value(300, 'L');
  const std::string huge_value(20000, 'H');
  Rdb rdb(12);
  // LIST (type 1, before 3.2): a count, then strings in any encoding.
  rdb.byte(1).str("linked").len(3).str("a").byte(0xC1).le(1234, 2);
  rdb.byte(0xC3).len(7).len(33).raw(lzf);
  // LIST_ZIPLIST (10, 2.6 to 3.0): one ziplist, strings and integers.
  rdb.byte(10).str("ziplist").str(
      Ziplist().str("z").integer(-100).str(long_value).integer(-9000000000000LL).bytes());
  // QUICKLIST (14, 3.2 to 6.2): ziplists in order, one of them LZF-compressed in the file
  // and one empty (Redis skips it).
  const std::string zl1 = Ziplist().str("q1").str("abcabcabcabcabcabcabc").bytes();
  rdb.byte(14).str("quicklist").len(3).str(zl1).str(Ziplist().bytes());
  rdb.str(Ziplist().integer(12).str("q3").bytes());
  // QUICKLIST_2 (18, 7.0+): PACKED listpacks and PLAIN nodes (one element each, raw or LZF),
  // in the order they come.
  rdb.byte(18).str("quicklist2").len(5);
  rdb.len(2).str(Listpack().str("p1").integer(-3000).integer(INT64_MIN).bytes());
  rdb.len(1).str(huge_value);
  rdb.len(1).byte(0xC3).len(7).len(33).raw(lzf);
  rdb.len(2).str(Listpack().bytes());
  rdb.len(2).str(Listpack().str(long_value).str("p2").bytes());
  rdb.byte(0xFC).le(1'800'000'000'000, 8).byte(18).str("ttl").len(1).len(1).str("only");
  rdb.byte(1).str("empty").len(0);
  rdb.set("after", "x");

  const Read r = read_all(rdb.finish());
  INFO(r.status.to_string());
  REQUIRE(r.status.ok());
  REQUIRE(r.items.size() == 7);
  const auto elements = [&](std::size_t i) { return list_at(r, i).elements; };
  CHECK(elements(0) == Elements{"a", "1234", repeated("abc", 11)});
  CHECK(list_at(r, 0).rdb_type == 1);
  CHECK(elements(1) == Elements{"z", "-100", long_value, "-9000000000000"});
  CHECK(elements(2) == Elements{"q1", "abcabcabcabcabcabcabc", "12", "q3"});
  CHECK(elements(3) == Elements{"p1", "-3000", "-9223372036854775808", huge_value,
                                repeated("abc", 11), long_value, "p2"});
  CHECK(list_at(r, 3).rdb_type == 18);
  CHECK(elements(4) == Elements{"only"});
  CHECK(list_at(r, 4).expiry_ms == 1'800'000'000'000);
  CHECK(!list_at(r, 3).expiry_ms);
  CHECK(elements(5).empty());
  CHECK(string_at(r, 6).value == "x");
  CHECK(r.report.lists == 6);
  CHECK(r.report.list_elements == 3 + 4 + 4 + 7 + 1);
  CHECK(r.report.keys() == 7);
  CHECK(r.report.skipped.empty());

  // A container that does not decode, a node of no known kind, more nodes than the file
  // holds: damage, naming the key.
  std::string bad_lp = Listpack().str("a").bytes();
  bad_lp[6] = '\x85';  // a string of 5 bytes running past the end
  const auto quicklist2 = [](unsigned container, const std::string& blob) {
    return one_value(18,
                     "\x01" + std::string(1, static_cast<char>(container)) +
                         std::string(1, static_cast<char>(blob.size())) + blob,
                     /*blob=*/false);
  };
  for (const Bytes& bad :
       {one_value(10, Ziplist().str("a").bytes().substr(0, 12)), one_value(10, "not a ziplist"),
        one_value(14, "\x02\x02zl" + Ziplist().str("a").bytes(), /*blob=*/false),
        one_value(14, std::string("\x01\x00", 2), /*blob=*/false), quicklist2(2, bad_lp),
        quicklist2(2, Ziplist().str("a").bytes()), quicklist2(0, "x"), quicklist2(3, "x"),
        Rdb().byte(18).str("k").byte(0x81).be(1ULL << 62, 8).len(1).str("a").finish(),
        Rdb().byte(1).str("k").byte(0x81).be(1ULL << 62, 8).str("a").finish()}) {
    const Read bad_read = read_all(bad);
    INFO(bad_read.status.to_string());
    CHECK(bad_read.status.code() == StatusCode::malformed);
    CHECK(bad_read.status.message().find("list \"k\"") != std::string::npos);
    CHECK(bad_read.items.empty());
  }
}

TEST_CASE("persist: rdb: packed containers: known answers and every kind of damage",
          "[unit][persist]") {
  // ziplist.c's own example: the integers 2 and 5 (4-bit immediates).
  const std::string zl_example("\x0f\x00\x00\x00\x0c\x00\x00\x00\x02\x00\x00\xf3\x02\xf6\xff", 15);
  CHECK(Ziplist().integer(2).integer(5).bytes() == zl_example);
  const Read example = read_all(one_value(13, zl_example));
  REQUIRE(example.status.ok());
  CHECK(fields_of(hash_at(example, 0)) == Fields{{"2", "5"}});
  // A listpack of "hi" and 5: header, 0x82 "hi" and its back-length 3, 0x05 and 1, the end.
  CHECK(Listpack().str("hi").integer(5).bytes() ==
        std::string("\x0d\x00\x00\x00\x02\x00\x82hi\x03\x05\x01\xff", 13));

  // Each damaged value is refused as malformed, with the key it belongs to.
  const std::string lp = Listpack().str("f").str("v").bytes();
  std::string bad_backlen = lp;
  bad_backlen[8] = 3;
  std::string bad_total = lp;
  bad_total[0] += 1;
  const std::string zl = Ziplist().str("f").str("v").bytes();
  std::string bad_prevlen = zl;
  bad_prevlen[13] = 5;
  std::string bad_tail = zl;
  bad_tail[4] = 10;
  const struct {
    const char* what;
    unsigned type;
    std::string value;
  } refused[] = {
      {"listpack: total bytes", 16, bad_total},
      {"listpack: count", 16, Listpack().str("f").str("v").bytes(3)},
      {"listpack: back-length", 16, bad_backlen},
      {"listpack: unknown encoding", 16,
       std::string("\x0c\x00\x00\x00\x02\x00\x81"
                   "f\x02\xf5\x01\xff",
                   12)},
      {"listpack: string past the end", 16, std::string("\x09\x00\x00\x00\x01\x00\x85\x01\xff", 9)},
      {"listpack: no end marker", 16, lp.substr(0, lp.size() - 1) + 'x'},
      {"listpack: early end marker", 16, std::string("\x09\x00\x00\x00\x01\x00\xff\x01\xff", 9)},
      {"listpack: too short", 20, std::string("\x06\x00\x00\x00\x00", 5)},
      {"hash listpack: odd count", 16, Listpack().str("f").bytes()},
      {"listpack_ex: TTL not a number", 23, Listpack().str("f").str("v").str("soon").bytes()},
      {"listpack_ex: TTL beyond 2^48", 23,
       Listpack().str("f").str("v").integer(std::int64_t{1} << 50).bytes()},
      {"ziplist: previous length", 13, bad_prevlen},
      {"ziplist: tail", 13, bad_tail},
      {"ziplist: unknown encoding", 13,
       std::string("\x0d\x00\x00\x00\x0a\x00\x00\x00\x01\x00\x00\xc1\xff", 13)},
      {"ziplist: integer past the end", 13,
       std::string("\x0d\x00\x00\x00\x0a\x00\x00\x00\x01\x00\x00\xf0\xff", 13)},
      {"intset: width", 11, intset(3, {1})},
      {"intset: count", 11, intset(2, {1, 2}).substr(0, 10)},
      {"zipmap: count", 9, zipmap({{"a", "b"}}).replace(0, 1, "\x02")},
      {"zipmap: no end", 9, zipmap({{"a", "b"}}).substr(0, 6)},
      {"zipmap: bytes after the end", 9, zipmap({{"a", "b"}}) + "x"},
      {"zipmap: value past the end", 9,
       std::string("\x01\x01"
                   "a\x09\x00"
                   "b\xff",
                   7)},
  };
  for (const auto& c : refused) {
    const Read r = read_all(one_value(c.type, c.value));
    INFO(c.what << ": " << r.status.to_string());
    CHECK(r.status.code() == StatusCode::malformed);
    CHECK(r.status.message().find("\"k\"") != std::string::npos);
    CHECK(r.items.empty());
  }
  // A field TTL relative to the smallest that wraps around is refused too.
  CHECK(read_all(Rdb()
                     .byte(24)
                     .str("k")
                     .le(5, 8)
                     .len(1)
                     .byte(0x81)
                     .be(~0ULL, 8)
                     .str("f")
                     .str("v")
                     .finish())
            .status.code() == StatusCode::malformed);
  // Counts beyond the file end at its end, with nothing allocated up front.
  for (unsigned type : {2u, 4u, 24u}) {
    Rdb rdb;
    rdb.byte(type).str("k");
    if (type == 24) rdb.le(1, 8);
    const Read r = read_all(rdb.byte(0x81).be(1ULL << 62, 8).str("a").str("b").finish());
    INFO("type " << type);
    CHECK(r.status.code() == StatusCode::malformed);
    CHECK(r.status.message().find("\"k\"") != std::string::npos);
  }
}

TEST_CASE("persist: rdb: collections cut or damaged anywhere: an error, never a crash",
          "[unit][persist]") {
  Rdb rdb(12);
  Ziplist zl;
  zl.str("f").str(std::string(300, 'z')).str("n").integer(-8000000);
  rdb.byte(4).str("t").len(1).str("f").str("v");
  rdb.byte(9).str("zm").str(zipmap({{"a", "1"}, {"b", "2"}}, 1));
  rdb.byte(13).str("zl").str(zl.bytes());
  rdb.byte(16).str("lp").str(Listpack().str("f").integer(-3000).str("g").integer(1 << 20).bytes());
  rdb.byte(25)
      .str("lpex")
      .le(1'800'000'000'000, 8)
      .str(Listpack().str("f").str("v").integer(1'800'000'000'000).bytes());
  rdb.byte(24).str("meta").le(1'800'000'000'000, 8).len(1).len(1).str("f").str("v");
  rdb.byte(2).str("s").len(2).str("a").str("b");
  rdb.byte(11).str("is").str(intset(4, {-70000, 1}));
  rdb.byte(20).str("ls").str(Listpack().str("m").integer(100000).bytes());
  rdb.byte(3).str("z").len(2).str("a").byte(3).raw("1.5").str("b").byte(254);
  rdb.byte(5).str("z2").len(1).str("a").le(0x3ff0000000000000ULL, 8);
  rdb.byte(12).str("zz").str(Ziplist().str("a").integer(7).str("b").str("0.5").bytes());
  rdb.byte(17).str("zl").str(Listpack().str("a").integer(-3000).str("b").str("1e300").bytes());
  rdb.byte(1).str("l").len(2).str("a").byte(0xC0).byte(5);
  rdb.byte(10).str("lz").str(Ziplist().str("a").integer(300).bytes());
  rdb.byte(14).str("lq").len(2).str(Ziplist().str("a").bytes()).str(Ziplist().integer(-1).bytes());
  rdb.byte(18).str("lq2").len(3).len(2).str(Listpack().str("a").integer(9000).bytes());
  rdb.len(1).str(std::string(70, 'p')).len(2).str(Listpack().str("b").bytes());
  const Rdb unfinished = rdb;
  const Bytes file = rdb.finish();
  const Read whole = read_all(file);
  REQUIRE(whole.status.ok());
  REQUIRE(whole.items.size() == 17);

  for (std::size_t cut = 0; cut < file.size(); ++cut) {
    const Read r = read_all(Bytes(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(cut)));
    INFO("cut at " << cut);
    CHECK((!r.open.ok() || !r.status.ok()));
  }
  for (std::size_t at = 0; at < file.size(); ++at) {
    for (const std::uint8_t mask : {0x01, 0x80, 0xFF}) {
      Bytes damaged = file;
      damaged[at] ^= mask;
      const Read r = read_all(damaged);
      INFO("byte " << at << " ^ " << int{mask});
      CHECK((!r.open.ok() || !r.status.ok()));
    }
  }
  // Without the checksum every decoder meets the damage itself: an error or a parse of some
  // shape, never a crash (the ASan/UBSan build checks the "never").
  const Bytes unchecked = Rdb(unfinished).finish(/*checksum=*/false);
  for (std::size_t at = 0; at + 8 < unchecked.size(); ++at) {
    for (const std::uint8_t mask : {0x01, 0x10, 0x55, 0x80, 0xFF}) {
      Bytes damaged = unchecked;
      damaged[at] ^= mask;
      const Read r = read_all(damaged);
      if (r.open.ok() && r.status.ok()) CHECK(r.report.complete);
    }
  }
}
