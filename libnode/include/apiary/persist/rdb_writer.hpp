// RdbValueWriter: writes one value in Redis's RDB encoding -- the type byte, then the value --
// as DUMP serializes a key (docs/persistence.md, "DUMP and RESTORE"); and the DUMP footer.
//
// The encodings chosen are the plain ones every Redis since 2.0 loads (and 7.0 converts on
// load to the compact encoding it would have chosen, so OBJECT ENCODING after a RESTORE there
// is what it would be for the same value written by commands):
//   string  RDB_TYPE_STRING (0): the text, as an 8/16/32-bit integer when it is one in
//           canonical form (as Redis's rdbTryIntegerEncoding), raw otherwise (no LZF);
//   list    RDB_TYPE_LIST (1): a count, then the elements head to tail;
//   set     RDB_TYPE_SET (2): a count, then the members;
//   hash    RDB_TYPE_HASH (4): a count, then field, value pairs;
//   zset    RDB_TYPE_ZSET_2 (5): a count, then member, score (an IEEE 754 double, 8 bytes
//           little-endian) pairs.
// A collection is written as its header (begin()) followed by its elements, so a big one is
// streamed into the output without an intermediate copy. The caller writes exactly the count
// it announced. Nothing is validated: this is an encoder. Not thread-safe; appends to a string
// the caller owns.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace apiary::persist {

// Redis 7.0's RDB_VERSION: what DUMP stamps its payloads with.
inline constexpr unsigned kRdbDumpVersion = 10;

// The value types this writer emits (RDB_TYPE_*).
enum class RdbValueType : std::uint8_t { string = 0, list = 1, set = 2, hash = 4, zset = 5 };

class RdbValueWriter {
 public:
  explicit RdbValueWriter(std::string& out) : out_(out) {}

  // A whole string value: its type byte and its text.
  void string_value(std::string_view value);
  // The type byte and element count of a collection (not RdbValueType::string); then the
  // caller writes, per element: list and set: element(); hash: element(field),
  // element(value); zset: element(member), score(score).
  void begin(RdbValueType type, std::uint64_t count);
  void element(std::string_view text) { string(text); }
  void score(double value);

  // The primitives: an RDB length (6, 14, 32 or 64 bits) and a string (integer-encoded when
  // it can be, else length-prefixed).
  void length(std::uint64_t n);
  void string(std::string_view s);

 private:
  std::string& out_;
};

// Appends DUMP's footer to `payload` (which holds one value): the RDB version, 2 bytes
// little-endian, then the CRC-64 (crc64.hpp) of everything before it, 8 bytes little-endian.
void rdb_append_dump_footer(std::string& payload, unsigned version = kRdbDumpVersion);

}  // namespace apiary::persist
