#include "apiary/persist/rdb_writer.hpp"

#include <bit>
#include <charconv>
#include <cstring>
#include <limits>

#include "apiary/persist/crc64.hpp"

namespace apiary::persist {

namespace {

// Length prefixes (the top two bits of the first byte) and string encodings (rdb.h).
constexpr std::uint8_t kLen6 = 0x00;
constexpr std::uint8_t kLen14 = 0x40;
constexpr std::uint8_t kLen32 = 0x80;
constexpr std::uint8_t kLen64 = 0x81;
constexpr std::uint8_t kEncInt8 = 0xC0;
constexpr std::uint8_t kEncInt16 = 0xC1;
constexpr std::uint8_t kEncInt32 = 0xC2;

void put_le(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

// The integer `s` spells in canonical form (what Redis's string2ll accepts and ll2string
// gives back exactly: no sign on zero, no leading zeros, no '+'), if it does.
bool canonical_int(std::string_view s, std::int64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || end != s.data() + s.size()) return false;
  char back[24];
  const auto r = std::to_chars(back, back + sizeof back, out);
  return static_cast<std::size_t>(r.ptr - back) == s.size() &&
         std::memcmp(back, s.data(), s.size()) == 0;
}

}  // namespace

void RdbValueWriter::length(std::uint64_t n) {
  if (n < (1u << 6)) {
    out_.push_back(static_cast<char>(kLen6 | n));
  } else if (n < (1u << 14)) {
    out_.push_back(static_cast<char>(kLen14 | (n >> 8)));
    out_.push_back(static_cast<char>(n & 0xFF));
  } else if (n <= std::numeric_limits<std::uint32_t>::max()) {
    out_.push_back(static_cast<char>(kLen32));
    put_be(out_, n, 4);
  } else {
    out_.push_back(static_cast<char>(kLen64));
    put_be(out_, n, 8);
  }
}

void RdbValueWriter::string(std::string_view s) {
  // As rdbSaveRawString: short strings that are integers in canonical form take 2, 3 or 5
  // bytes.
  std::int64_t v = 0;
  if (s.size() <= 11 && canonical_int(s, v)) {
    if (v >= std::numeric_limits<std::int8_t>::min() &&
        v <= std::numeric_limits<std::int8_t>::max()) {
      out_.push_back(static_cast<char>(kEncInt8));
      put_le(out_, static_cast<std::uint64_t>(v), 1);
      return;
    }
    if (v >= std::numeric_limits<std::int16_t>::min() &&
        v <= std::numeric_limits<std::int16_t>::max()) {
      out_.push_back(static_cast<char>(kEncInt16));
      put_le(out_, static_cast<std::uint64_t>(v), 2);
      return;
    }
    if (v >= std::numeric_limits<std::int32_t>::min() &&
        v <= std::numeric_limits<std::int32_t>::max()) {
      out_.push_back(static_cast<char>(kEncInt32));
      put_le(out_, static_cast<std::uint64_t>(v), 4);
      return;
    }
  }
  length(s.size());
  out_.append(s);
}

void RdbValueWriter::string_value(std::string_view value) {
  out_.push_back(static_cast<char>(RdbValueType::string));
  string(value);
}

void RdbValueWriter::begin(RdbValueType type, std::uint64_t count) {
  out_.push_back(static_cast<char>(type));
  length(count);
}

void RdbValueWriter::score(double value) { put_le(out_, std::bit_cast<std::uint64_t>(value), 8); }

void rdb_append_dump_footer(std::string& payload, unsigned version) {
  put_le(payload, version, 2);
  put_le(payload, crc64_redis(payload), 8);
}

}  // namespace apiary::persist
