// The Redis RDB reader behind `apiary import`: hand-built files for every length and string
// encoding, LZF, the expiry opcodes, a skipped value of every type and encoding family, the
// checksum, and damaged files (every truncation point, every flipped byte) that must give an
// error, never a crash, a hang or a wrong parse. A real redis-server's dump is read by
// tests/integration/import_cli_test.cpp.
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "apiary/persist/crc64.hpp"
#include "apiary/persist/lzf.hpp"
#include "persist_rdb_support.hpp"

using namespace apiary;
using namespace apiary::persist;
using namespace apiary::rdb_test;

TEST_CASE("persist: rdb: CRC-64 (Jones) and LZF known answers", "[unit][persist]") {
  CHECK(crc64_redis("123456789") == 0xe9c6d914c4b8d9caULL);
  CHECK(crc64_redis_extend(crc64_redis("1234"), Bytes{'5', '6', '7', '8', '9'}) ==
        0xe9c6d914c4b8d9caULL);

  std::string out(33, '\0');
  auto span = std::span(reinterpret_cast<std::uint8_t*>(out.data()), out.size());
  REQUIRE(lzf_decompress(kLzfAbc, span).ok());
  CHECK(out == repeated("abc", 11));

  std::string small(32, '\0');
  auto small_span = std::span(reinterpret_cast<std::uint8_t*>(small.data()), small.size());
  CHECK(lzf_decompress(kLzfAbc, small_span).code() == StatusCode::malformed);  // too long
  std::string big(34, '\0');
  auto big_span = std::span(reinterpret_cast<std::uint8_t*>(big.data()), big.size());
  CHECK(lzf_decompress(kLzfAbc, big_span).code() == StatusCode::malformed);  // too short
  // A back reference before the start, a literal run past the input, a reference cut short.
  CHECK(!lzf_decompress(Bytes{0x20, 0x05}, span.first(3)).ok());
  CHECK(!lzf_decompress(Bytes{0x05, 'a'}, span.first(6)).ok());
  CHECK(!lzf_decompress(Bytes{0x00, 'a', 0xE0}, span.first(12)).ok());
}

TEST_CASE("persist: rdb: every length and string encoding", "[unit][persist]") {
  const std::string long_value(300, 'v');  // a 14-bit length
  const std::string binary("\0\xff\r\n\x80 bin", 9);
  const Bytes file = Rdb(10)
                         .aux("redis-ver", "7.0.15")
                         .aux("redis-bits", "64")
                         .byte(0xFE)
                         .len(0)
                         .byte(0xFB)
                         .len(9)
                         .len(2)
                         .set("raw", "hello")
                         .set("empty", "")
                         .set("long", long_value)
                         .set(binary, binary)
                         .byte(0)
                         .str("int8")
                         .byte(0xC0)
                         .byte(0xFB)  // -5
                         .byte(0)
                         .str("int16")
                         .byte(0xC1)
                         .le(1234, 2)  // 1234
                         .byte(0)
                         .str("int32")
                         .byte(0xC2)
                         .le(0xFFFE7960, 4)  // -100000
                         .byte(0)
                         .str("lzf")
                         .byte(0xC3)
                         .len(7)
                         .len(33)
                         .raw(std::string(kLzfAbc.begin(), kLzfAbc.end()))
                         .byte(0)
                         .byte(0x80)
                         .be(3, 4)
                         .raw("k32")
                         .byte(0x80)
                         .be(2, 4)
                         .raw("v3")
                         .byte(0)
                         .byte(0x81)
                         .be(3, 8)
                         .raw("k64")
                         .byte(0x81)
                         .be(2, 8)
                         .raw("v6")
                         .finish();
  const Read r = read_all(file);
  INFO(r.status.to_string());
  REQUIRE(r.open.ok());
  REQUIRE(r.status.ok());
  REQUIRE(r.items.size() == 10);
  CHECK(string_at(r, 0).key == "raw");
  CHECK(string_at(r, 0).value == "hello");
  CHECK(!string_at(r, 0).expiry_ms);
  CHECK(string_at(r, 1).value.empty());
  CHECK(string_at(r, 2).value == long_value);
  CHECK(string_at(r, 3).key == binary);
  CHECK(string_at(r, 3).value == binary);
  CHECK(string_at(r, 4).value == "-5");
  CHECK(string_at(r, 5).value == "1234");
  CHECK(string_at(r, 6).value == "-100000");
  CHECK(string_at(r, 7).value == repeated("abc", 11));
  CHECK(string_at(r, 8).key == "k32");
  CHECK(string_at(r, 8).value == "v3");
  CHECK(string_at(r, 9).key == "k64");
  CHECK(string_at(r, 9).value == "v6");
  CHECK(r.report.version == 10);
  CHECK(r.report.complete);
  CHECK(r.report.checksum_verified);
  CHECK(r.report.strings == 10);
  CHECK(r.report.skipped.empty());
  CHECK(r.report.aux_value("redis-ver") == "7.0.15");
  CHECK(r.report.aux_value("redis-bits") == "64");
  CHECK(r.report.aux_value("nope").empty());
  CHECK(r.report.offset == file.size());
}

TEST_CASE("persist: rdb: expiry opcodes, databases, and opcodes without keys", "[unit][persist]") {
  const Bytes file = Rdb(12)
                         .byte(0xFC)
                         .le(1'800'000'000'123, 8)
                         .set("ms", "a")
                         .set("none", "b")
                         .byte(0xFD)
                         .le(1'900'000'000, 4)
                         .set("seconds", "c")
                         .byte(0xF8)
                         .len(5000)
                         .byte(0xF9)
                         .byte(7)
                         .set("lru", "d")
                         .byte(0xF5)
                         .str("#!lua name=lib\nredis.register_function('f', ...)")
                         .byte(0xF7)
                         .len(12345)
                         .len(2)
                         .len(1)  // module aux
                         .len(1)
                         .len(7)
                         .len(5)
                         .str("x")
                         .len(3)
                         .le(0, 4)
                         .len(4)
                         .le(0, 8)
                         .len(0)
                         .byte(0xF4)
                         .len(100)
                         .len(3)
                         .len(1)  // slot info (7.4)
                         .byte(0xFE)
                         .len(3)
                         .byte(0xFB)
                         .len(1)
                         .len(1)
                         .byte(0xFC)
                         .le(1'700'000'000'000, 8)
                         .set("db3", "e")
                         .finish();
  const Read r = read_all(file);
  INFO(r.status.to_string());
  REQUIRE(r.status.ok());
  REQUIRE(r.items.size() == 5);
  CHECK(string_at(r, 0).expiry_ms == 1'800'000'000'123);
  CHECK(!string_at(r, 1).expiry_ms);  // an expiry belongs to the next key only
  CHECK(string_at(r, 2).expiry_ms == 1'900'000'000'000);
  CHECK(!string_at(r, 3).expiry_ms);
  CHECK(string_at(r, 3).value == "d");
  CHECK(string_at(r, 4).db == 3);
  CHECK(string_at(r, 4).expiry_ms == 1'700'000'000'000);
  CHECK(r.report.keys_by_db.at(0) == 4);
  CHECK(r.report.keys_by_db.at(3) == 1);
  CHECK(r.report.functions == 1);
  CHECK(r.report.module_aux == 1);
  CHECK(r.report.complete);
}

TEST_CASE("persist: rdb: a value of every skipped type and encoding is parsed past and counted",
          "[unit][persist]") {
  Rdb rdb(12);
  int n = 0;
  // Each skipped value is followed by a string key: reading it proves the parse position.
  auto after = [&] {
    rdb.set("s" + std::to_string(n), "v" + std::to_string(n));
    ++n;
  };
  rdb.byte(7).str("module").len(0x1234).len(2).len(9).len(5).str("payload").len(0);
  after();
  for (unsigned type : {15u, 19u, 21u}) {
    rdb.byte(type).str("stream" + std::to_string(type));
    rdb.len(1).str(std::string(16, '\0')).str("listpack");   // one listpack
    rdb.len(3).len(1700000000000).len(0);                    // length, last id
    if (type >= 19) rdb.len(1).len(0).len(0).len(0).len(3);  // first id, max deleted, added
    rdb.len(1).str("group").len(1700000000000).len(0);       // one group, its last id
    if (type >= 19) rdb.len(2);                              // entries read
    rdb.len(1).raw(std::string(16, '\x02')).le(1700000000000, 8).len(1);  // one pending
    rdb.len(1).str("consumer").le(1700000000000, 8);                      // one consumer, seen time
    if (type >= 21) rdb.le(1700000000000, 8);                             // active time
    rdb.len(1).raw(std::string(16, '\x02'));                              // its pending id
    after();
  }
  rdb.byte(0xFC).le(1'800'000'000'000, 8).byte(7).str("module-ttl").len(1).len(0);
  after();

  const Read r = read_all(rdb.finish());
  INFO(r.status.to_string());
  REQUIRE(r.status.ok());
  REQUIRE(r.report.complete);
  CHECK(r.report.strings == static_cast<std::uint64_t>(n));
  const std::map<std::string, std::uint64_t> expected = {
      {"stream", 3}, {"module", 2}};
  CHECK(r.report.skipped == expected);
  CHECK(r.items.size() == static_cast<std::size_t>(2 * n));
  for (std::size_t i = 0; i + 1 < r.items.size(); i += 2) {
    REQUIRE(std::holds_alternative<RdbSkippedKey>(r.items[i]));
    CHECK(std::get<RdbStringKey>(r.items[i + 1]).key == "s" + std::to_string(i / 2));
  }
  const auto& first = std::get<RdbSkippedKey>(r.items.front());
  CHECK(first.key == "module");
  CHECK(first.type_name == "module");
  CHECK(first.rdb_type == 7);
  const auto& last = std::get<RdbSkippedKey>(r.items[r.items.size() - 2]);
  CHECK(last.type_name == "module");
  CHECK(last.expiry_ms == 1'800'000'000'000);
}

TEST_CASE("persist: rdb: refusals: wrong file, versions, types, checksum, limits",
          "[unit][persist]") {
  CHECK(read_all(Bytes{'R', 'E', 'D', 'I', 'X', '0', '0', '1', '0'}).open.code() ==
        StatusCode::malformed);
  CHECK(read_all(Bytes{'R', 'E', 'D', 'I', 'S', '0', '0', 'x', '0'}).open.code() ==
        StatusCode::malformed);
  CHECK(read_all(Bytes{'R', 'E', 'D'}).open.code() == StatusCode::malformed);
  CHECK(read_all(Rdb(13).finish()).open.code() == StatusCode::unsupported);
  CHECK(read_all(Rdb(0).finish()).open.code() == StatusCode::unsupported);
  for (unsigned v = 1; v <= kRdbMaxVersion; ++v) {
    Rdb rdb(v);
    rdb.set("k", "v");
    // Before version 5 there is no checksum after EOF.
    const Bytes file = v >= 5 ? rdb.finish() : rdb.byte(0xFF).bytes();
    const Read r = read_all(file);
    INFO("version " << v << ": " << r.status.to_string());
    CHECK(r.status.ok());
    CHECK(r.report.complete);
  }

  const Read unknown = read_all(Rdb().set("a", "b").byte(8).str("k").finish());
  CHECK(unknown.status.code() == StatusCode::malformed);
  CHECK(unknown.status.message() == "at offset 14: unknown value type 8");
  CHECK(unknown.items.size() == 1);
  CHECK(!unknown.report.complete);

  CHECK(read_all(Rdb().byte(6).str("m").len(1).finish()).status.code() == StatusCode::unsupported);
  CHECK(read_all(Rdb().byte(0xF6).str("f").finish()).status.code() == StatusCode::unsupported);
  CHECK(read_all(Rdb().byte(18).str("q").len(1).len(3).str("x").finish()).status.code() ==
        StatusCode::malformed);
  CHECK(read_all(Rdb().byte(0).str("k").byte(0xC4).finish()).status.code() ==
        StatusCode::malformed);  // string encoding 4
  CHECK(read_all(Rdb().byte(0).str("k").byte(0x82).finish()).status.code() ==
        StatusCode::malformed);  // length encoding 0x82

  Bytes bad_crc = Rdb().set("k", "v").finish();
  bad_crc.back() ^= 1;
  const Read mismatch = read_all(bad_crc);
  CHECK(mismatch.status.code() == StatusCode::malformed);
  CHECK(mismatch.status.message().find("checksum mismatch") != std::string::npos);
  const Read unchecked = read_all(Rdb().set("k", "v").finish(/*checksum=*/false));
  CHECK(unchecked.status.ok());
  CHECK(unchecked.report.complete);
  CHECK(!unchecked.report.checksum_verified);
  Bytes trailing = Rdb().set("k", "v").finish();
  trailing.push_back(0);
  CHECK(read_all(trailing).status.code() == StatusCode::malformed);
  CHECK(read_all(Rdb().set("k", "v").bytes()).status.code() == StatusCode::malformed);  // no EOF

  // Lengths far beyond the file are refused before anything is allocated or looped over.
  CHECK(read_all(Rdb().byte(0).byte(0x81).be(1ULL << 62, 8).finish()).status.code() ==
        StatusCode::too_large);
  CHECK(read_all(Rdb().byte(0).str("k").byte(0x80).be(1000, 4).finish()).status.code() ==
        StatusCode::malformed);
  CHECK(read_all(Rdb()
                     .byte(0)
                     .str("k")
                     .byte(0xC3)
                     .len(7)
                     .byte(0x80)
                     .be(100'000'000, 4)
                     .raw(std::string(kLzfAbc.begin(), kLzfAbc.end()))
                     .finish())
            .status.code() == StatusCode::malformed);  // 100 MB claimed from 7 bytes
  CHECK(read_all(Rdb().byte(1).str("l").byte(0x81).be(1ULL << 62, 8).finish()).status.code() ==
        StatusCode::malformed);  // 2^62 list items: stops at the end of the file
  CHECK(read_all(Rdb().set("k", std::string(100, 'v')).finish(), RdbLimits{64}).status.code() ==
        StatusCode::too_large);

  SimEnv env;
  CHECK(RdbReader::open(env, "missing.rdb").status().code() == StatusCode::not_found);
  env.put_file("dump.rdb", Rdb().set("k", "v").finish());
  auto reader = RdbReader::open(env, "dump.rdb");
  REQUIRE(reader.ok());
  auto item = reader.value()->next();
  REQUIRE(item);
  CHECK(std::get<RdbStringKey>(*item).value == "v");
  CHECK(!reader.value()->next());
  CHECK(reader.value()->report().complete);
  CHECK(!reader.value()->next());  // stays at the end
}

TEST_CASE("persist: rdb: every truncation and every flipped byte is an error, never a crash",
          "[unit][persist]") {
  Rdb rdb(11);
  rdb.aux("redis-ver", "7.2.4").byte(0xFE).len(0).byte(0xFB).len(4).len(1);
  rdb.byte(0xFC).le(1'800'000'000'000, 8).set("k1", "value");
  rdb.byte(0).str("k2").byte(0xC3).len(7).len(33).raw(std::string(kLzfAbc.begin(), kLzfAbc.end()));
  rdb.byte(0).str("k3").byte(0xC1).le(300, 2);
  rdb.byte(14).str("q").len(1).str(Ziplist().str("zl").bytes());
  rdb.byte(5).str("z").len(1).str("a").le(0, 8);
  rdb.byte(21).str("st").len(0).len(0).len(0).len(0).len(0).len(0).len(0).len(0).len(0).len(0);
  rdb.byte(0xFE).len(1).set("k4", "");
  const Rdb unfinished = rdb;
  const Bytes file = rdb.finish();
  const Read whole = read_all(file);
  REQUIRE(whole.status.ok());
  REQUIRE(whole.items.size() == 7);

  for (std::size_t cut = 0; cut < file.size(); ++cut) {
    const Read r = read_all(Bytes(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(cut)));
    INFO("cut at " << cut);
    CHECK((!r.open.ok() || !r.status.ok()));
    CHECK(!r.report.complete);
    CHECK(r.items.size() <= whole.items.size());
  }
  // With the checksum on, any flipped byte is caught (by the checksum at the latest).
  for (std::size_t at = 0; at < file.size(); ++at) {
    for (const std::uint8_t mask : {0x01, 0x80, 0xFF}) {
      Bytes damaged = file;
      damaged[at] ^= mask;
      const Read r = read_all(damaged);
      INFO("byte " << at << " ^ " << int{mask});
      CHECK((!r.open.ok() || !r.status.ok()));
    }
  }
  // Without it, a flip gives an error or a parse of the same shape; never a crash.
  const Bytes unchecked = Rdb(unfinished).finish(/*checksum=*/false);
  for (std::size_t at = 0; at + 8 < unchecked.size(); ++at) {
    Bytes damaged = unchecked;
    damaged[at] ^= 0x55;
    const Read r = read_all(damaged);
    if (r.open.ok() && r.status.ok()) CHECK(r.report.complete);
  }
}
