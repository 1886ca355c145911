// Builders and readers shared by the RDB reader's unit tests (persist_rdb_test.cpp and
// persist_rdb_collections_test.cpp): an RDB file byte by byte, Redis's packed containers
// (listpack, ziplist, intset), and the items a read yields.
#pragma once

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

namespace apiary::rdb_test {

using namespace apiary::persist;

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

inline Read read_all(const Bytes& file, const RdbLimits& limits = {}) {
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

inline const RdbStringKey& string_at(const Read& r, std::size_t i) {
  REQUIRE(i < r.items.size());
  REQUIRE(std::holds_alternative<RdbStringKey>(r.items[i]));
  return std::get<RdbStringKey>(r.items[i]);
}

// "abc" then a back reference repeating it: 33 bytes ("abc" x 11) from 6.
inline const Bytes kLzfAbc = {0x02, 'a', 'b', 'c', 0xE0, 21, 0x02};

inline std::string repeated(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

inline std::string le_bytes(std::uint64_t v, int width) {
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

inline std::string intset(int width, const std::vector<std::int64_t>& values) {
  std::string out = le_bytes(static_cast<std::uint64_t>(width), 4) + le_bytes(values.size(), 4);
  for (const auto v : values) out += le_bytes(static_cast<std::uint64_t>(v), width);
  return out;
}

// A zipmap of field, value pairs; each value followed by `unused` spare bytes.
inline std::string zipmap(const std::vector<std::pair<std::string, std::string>>& pairs,
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

inline const RdbHashKey& hash_at(const Read& r, std::size_t i) {
  REQUIRE(i < r.items.size());
  REQUIRE(std::holds_alternative<RdbHashKey>(r.items[i]));
  return std::get<RdbHashKey>(r.items[i]);
}

inline Fields fields_of(const RdbHashKey& h) {
  Fields out;
  for (const auto& f : h.fields) out.emplace_back(f.name, f.value);
  return out;
}

inline const RdbSetKey& set_at(const Read& r, std::size_t i) {
  REQUIRE(i < r.items.size());
  REQUIRE(std::holds_alternative<RdbSetKey>(r.items[i]));
  return std::get<RdbSetKey>(r.items[i]);
}

// A file holding one value of `type` at key "k" whose encoded value is `value` (a blob as a
// string), then a string key.
inline Bytes one_value(unsigned type, std::string_view value, bool blob = true) {
  Rdb rdb(12);
  rdb.byte(type).str("k");
  if (blob) {
    rdb.str(value);
  } else {
    rdb.raw(value);
  }
  return rdb.set("after", "x").finish();
}

}  // namespace apiary::rdb_test
