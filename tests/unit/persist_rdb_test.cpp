// The Redis RDB reader behind `apiary import`: hand-built files for every length and string
// encoding, LZF, the expiry opcodes, a skipped value of every type and encoding family, the
// checksum, and damaged files (every truncation point, every flipped byte) that must give an
// error, never a crash, a hang or a wrong parse. A real redis-server's dump is read by
// tests/integration/import_cli_test.cpp.
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "apiary/persist/crc64.hpp"
#include "apiary/persist/lzf.hpp"
#include "apiary/persist/rdb_reader.hpp"
#include "apiary/persist/sim_env.hpp"

using namespace apiary;
using namespace apiary::persist;

namespace {

using Bytes = std::vector<std::uint8_t>;

// Builds an RDB file byte by byte, as Redis's rdbSave* functions lay it out.
class Rdb {
 public:
  explicit Rdb(unsigned version = 10) {
    char head[16];
    std::snprintf(head, sizeof head, "REDIS%04u", version);
    raw(head);
  }
  Rdb& byte(unsigned b) {
    bytes_.push_back(static_cast<std::uint8_t>(b));
    return *this;
  }
  Rdb& raw(std::string_view s) {
    bytes_.insert(bytes_.end(), s.begin(), s.end());
    return *this;
  }
  Rdb& le(std::uint64_t v, int width) {
    for (int i = 0; i < width; ++i) byte(static_cast<std::uint8_t>(v >> (8 * i)));
    return *this;
  }
  // The smallest length encoding, as Redis writes it.
  Rdb& len(std::uint64_t n) {
    if (n < 64) return byte(static_cast<unsigned>(n));
    if (n < 16384) return byte(0x40 | static_cast<unsigned>(n >> 8)).byte(n & 0xff);
    if (n <= 0xffffffffu) return byte(0x80).be(n, 4);
    return byte(0x81).be(n, 8);
  }
  Rdb& be(std::uint64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) byte(static_cast<std::uint8_t>(v >> (8 * i)));
    return *this;
  }
  Rdb& str(std::string_view s) { return len(s.size()).raw(s); }
  Rdb& set(std::string_view key, std::string_view value) { return byte(0).str(key).str(value); }
  Rdb& aux(std::string_view k, std::string_view v) { return byte(0xFA).str(k).str(v); }
  // Ends the file: EOF, then the CRC-64 of everything before it (or 0: no checksum).
  Bytes finish(bool checksum = true) {
    byte(0xFF);
    const std::uint64_t crc = checksum ? crc64_redis(bytes_) : 0;
    le(crc, 8);
    return bytes_;
  }
  Bytes bytes() const { return bytes_; }

 private:
  Bytes bytes_;
};

struct Read {
  Status open;
  Status status;
  std::vector<RdbItem> items;
  RdbReport report;
};

Read read_all(const Bytes& file, const RdbLimits& limits = {}) {
  Read r;
  auto reader = RdbReader::open_bytes(file, limits);
  if (!reader.ok()) {
    r.open = reader.status();
    return r;
  }
  while (auto item = reader.value()->next()) r.items.push_back(std::move(*item));
  r.status = reader.value()->status();
  r.report = reader.value()->report();
  return r;
}

const RdbStringKey& string_at(const Read& r, std::size_t i) {
  REQUIRE(i < r.items.size());
  REQUIRE(std::holds_alternative<RdbStringKey>(r.items[i]));
  return std::get<RdbStringKey>(r.items[i]);
}

// "abc" then a back reference repeating it: 33 bytes ("abc" x 11) from 6.
const Bytes kLzfAbc = {0x02, 'a', 'b', 'c', 0xE0, 21, 0x02};

std::string repeated(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

std::string le_bytes(std::uint64_t v, int width) {
  std::string out;
  for (int i = 0; i < width; ++i) out += static_cast<char>(v >> (8 * i));
  return out;
}

// Packed containers laid out as Redis's listpack.c, ziplist.c, intset.c and zipmap.c write
// them, each choosing the smallest encoding for an element as Redis does.
class Listpack {
 public:
  Listpack& str(std::string_view s) {
    std::string e;
    if (s.size() < 64) {
      e += static_cast<char>(0x80 | s.size());
    } else if (s.size() < 4096) {
      e += static_cast<char>(0xE0 | s.size() >> 8);
      e += static_cast<char>(s.size() & 0xff);
    } else {
      e += '\xF0';
      e += le_bytes(s.size(), 4);
    }
    e += s;
    return entry(e);
  }
  Listpack& integer(std::int64_t v) {
    std::string e;
    if (v >= 0 && v <= 127) {
      e += static_cast<char>(v);
    } else if (v >= -4096 && v <= 4095) {
      const auto u = static_cast<std::uint64_t>(v) & 0x1fff;
      e += static_cast<char>(0xC0 | u >> 8);
      e += static_cast<char>(u & 0xff);
    } else if (v >= INT16_MIN && v <= INT16_MAX) {
      e += '\xF1' + le_bytes(static_cast<std::uint64_t>(v), 2);
    } else if (v >= -(1 << 23) && v < (1 << 23)) {
      e += '\xF2' + le_bytes(static_cast<std::uint64_t>(v), 3);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      e += '\xF3' + le_bytes(static_cast<std::uint64_t>(v), 4);
    } else {
      e += '\xF4' + le_bytes(static_cast<std::uint64_t>(v), 8);
    }
    return entry(e);
  }
  // `count` overrides the header's element count (65535: "count them").
  std::string bytes(std::optional<unsigned> count = std::nullopt) const {
    return le_bytes(6 + body_.size() + 1, 4) + le_bytes(count.value_or(count_), 2) + body_ + '\xFF';
  }

 private:
  Listpack& entry(const std::string& e) {
    body_ += e;
    const std::uint64_t l = e.size();  // the back-length (lpEncodeBacklen)
    if (l <= 127) {
      body_ += static_cast<char>(l);
    } else if (l < 16383) {
      body_ += static_cast<char>(l >> 7);
      body_ += static_cast<char>((l & 127) | 128);
    } else {
      body_ += static_cast<char>(l >> 14);
      body_ += static_cast<char>(((l >> 7) & 127) | 128);
      body_ += static_cast<char>((l & 127) | 128);
    }
    ++count_;
    return *this;
  }
  std::string body_;
  unsigned count_ = 0;
};

class Ziplist {
 public:
  Ziplist& str(std::string_view s) {
    std::string e;
    if (s.size() < 64) {
      e += static_cast<char>(s.size());
    } else if (s.size() < 16384) {
      e += static_cast<char>(0x40 | s.size() >> 8);
      e += static_cast<char>(s.size() & 0xff);
    } else {
      e += '\x80';
      for (int i = 3; i >= 0; --i) e += static_cast<char>(s.size() >> (8 * i));  // big-endian
    }
    e += s;
    return entry(e);
  }
  Ziplist& integer(std::int64_t v) {
    const auto u = static_cast<std::uint64_t>(v);
    if (v >= 0 && v <= 12) return entry(std::string(1, static_cast<char>(0xF1 + v)));
    if (v >= INT8_MIN && v <= INT8_MAX) return entry('\xFE' + le_bytes(u, 1));
    if (v >= INT16_MIN && v <= INT16_MAX) return entry('\xC0' + le_bytes(u, 2));
    if (v >= -(1 << 23) && v < (1 << 23)) return entry('\xF0' + le_bytes(u, 3));
    if (v >= INT32_MIN && v <= INT32_MAX) return entry('\xD0' + le_bytes(u, 4));
    return entry('\xE0' + le_bytes(u, 8));
  }
  std::string bytes() const {
    return le_bytes(10 + body_.size() + 1, 4) + le_bytes(last_, 4) + le_bytes(count_, 2) + body_ +
           '\xFF';
  }

 private:
  Ziplist& entry(const std::string& e) {
    const std::string prevlen = previous_ < 254 ? std::string(1, static_cast<char>(previous_))
                                                : '\xFE' + le_bytes(previous_, 4);
    last_ = 10 + body_.size();
    body_ += prevlen + e;
    previous_ = prevlen.size() + e.size();
    ++count_;
    return *this;
  }
  std::string body_;
  std::size_t previous_ = 0;
  std::size_t last_ = 10;
  unsigned count_ = 0;
};

std::string intset(int width, const std::vector<std::int64_t>& values) {
  std::string out = le_bytes(static_cast<std::uint64_t>(width), 4) + le_bytes(values.size(), 4);
  for (const auto v : values) out += le_bytes(static_cast<std::uint64_t>(v), width);
  return out;
}

// A zipmap of field, value pairs; each value followed by `unused` spare bytes.
std::string zipmap(const std::vector<std::pair<std::string, std::string>>& pairs,
                   unsigned unused = 0) {
  auto len = [](std::size_t n) {
    return n < 254 ? std::string(1, static_cast<char>(n)) : '\xFE' + le_bytes(n, 4);
  };
  std::string out(1, static_cast<char>(std::min<std::size_t>(pairs.size(), 254)));
  for (const auto& [f, v] : pairs) {
    out += len(f.size()) + f + len(v.size()) + static_cast<char>(unused) + v +
           std::string(unused, 'x');
  }
  return out + '\xFF';
}

using Fields = std::vector<std::pair<std::string, std::string>>;

const RdbHashKey& hash_at(const Read& r, std::size_t i) {
  REQUIRE(i < r.items.size());
  REQUIRE(std::holds_alternative<RdbHashKey>(r.items[i]));
  return std::get<RdbHashKey>(r.items[i]);
}

Fields fields_of(const RdbHashKey& h) {
  Fields out;
  for (const auto& f : h.fields) out.emplace_back(f.name, f.value);
  return out;
}

const RdbSetKey& set_at(const Read& r, std::size_t i) {
  REQUIRE(i < r.items.size());
  REQUIRE(std::holds_alternative<RdbSetKey>(r.items[i]));
  return std::get<RdbSetKey>(r.items[i]);
}

// A file holding one value of `type` at key "k" whose encoded value is `value` (a blob as a
// string), then a string key.
Bytes one_value(unsigned type, std::string_view value, bool blob = true) {
  Rdb rdb(12);
  rdb.byte(type).str("k");
  if (blob) {
    rdb.str(value);
  } else {
    rdb.raw(value);
  }
  return rdb.set("after", "x").finish();
}
}  // namespace

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
  rdb.byte(1).str("list").len(2).str("a").byte(0xC0).byte(1);
  after();
  rdb.byte(3).str("zset").len(3).str("a").byte(3).raw("1.5").str("b").byte(254).str("c").byte(253);
  after();
  rdb.byte(5).str("zset2").len(1).str("a").le(0x3ff0000000000000ULL, 8);
  after();
  rdb.byte(7).str("module").len(0x1234).len(2).len(9).len(5).str("payload").len(0);
  after();
  for (unsigned blob : {10u, 12u, 17u}) {  // list ziplist, zset ziplist, zset listpack
    rdb.byte(blob).str("blob" + std::to_string(blob)).str(std::string(20, '\x01'));
    after();
  }
  rdb.byte(14).str("quicklist").len(2).str("zl1").str("zl2");
  after();
  rdb.byte(18).str("quicklist2").len(2).len(2).str("lp").len(1).str("plain");
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
  rdb.byte(0xFC).le(1'800'000'000'000, 8).byte(1).str("list-ttl").len(0);
  after();

  const Read r = read_all(rdb.finish());
  INFO(r.status.to_string());
  REQUIRE(r.status.ok());
  REQUIRE(r.report.complete);
  CHECK(r.report.strings == static_cast<std::uint64_t>(n));
  const std::map<std::string, std::uint64_t> expected = {
      {"list", 5}, {"zset", 4}, {"stream", 3}, {"module", 1}};
  CHECK(r.report.skipped == expected);
  CHECK(r.items.size() == static_cast<std::size_t>(2 * n));
  for (std::size_t i = 0; i + 1 < r.items.size(); i += 2) {
    REQUIRE(std::holds_alternative<RdbSkippedKey>(r.items[i]));
    CHECK(std::get<RdbStringKey>(r.items[i + 1]).key == "s" + std::to_string(i / 2));
  }
  const auto& first = std::get<RdbSkippedKey>(r.items.front());
  CHECK(first.key == "list");
  CHECK(first.type_name == "list");
  CHECK(first.rdb_type == 1);
  const auto& last = std::get<RdbSkippedKey>(r.items[r.items.size() - 2]);
  CHECK(last.type_name == "list");
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
  rdb.byte(14).str("q").len(1).str("zl");
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

TEST_CASE("persist: rdb: hashes and sets cut or damaged anywhere: an error, never a crash",
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
  const Rdb unfinished = rdb;
  const Bytes file = rdb.finish();
  const Read whole = read_all(file);
  REQUIRE(whole.status.ok());
  REQUIRE(whole.items.size() == 9);

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
