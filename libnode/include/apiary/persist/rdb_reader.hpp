// RdbReader: reads a Redis RDB file (what SAVE, BGSAVE and replication write) key by key, for
// `apiary import` (docs/persistence.md, "Importing from Redis").
//
// What it understands: the `REDIS` magic and versions 1 to 12 (Redis 6.0 writes 9, 7.0 writes
// 10, 7.2 writes 11, 7.4 writes 12); every opcode (AUX, RESIZEDB, EXPIRETIME_MS, EXPIRETIME,
// SELECTDB, IDLE, FREQ, MODULE_AUX, FUNCTION2, SLOT_INFO, EOF); every length and string
// encoding (6/14/32/64-bit lengths; raw, int8/16/32 and LZF strings); and the CRC-64 after
// EOF, which it verifies (0 means the writer had `rdbchecksum no`).
// What it returns: string keys (type 0) with their value and absolute expiry; hashes in every
// encoding (hash table, zipmap, ziplist, listpack, and 7.4's hashes with field TTLs, each
// field with its TTL), sets in every encoding (hash table, intset, listpack), sorted sets
// in every encoding (ZSET with text scores, ZSET_2 with binary ones, ziplist, listpack; each
// score the exact double Redis held) and lists in every encoding (linked list, ziplist,
// quicklist of ziplists, 7.0's quicklist of listpack and plain nodes), decoded whole; every
// other type (streams, modules, in each of their encodings)
// is parsed past, not decoded, and returned as a skipped key named by its Redis type, so the
// importer reports what it did not load instead of dropping it silently. Keys of every
// database come out, each with its database number.
// What it refuses: an unknown value type or opcode, a damaged encoding (a hash or set whose
// value does not decode names the key; so does a sorted set with a NaN or unreadable score,
// and a list whose ziplist, listpack or quicklist node does not),
// a bad checksum (`malformed`, with the byte offset); a
// version above 12, a module value of the 4.0 release candidates' format or functions of
// 7.0's (`unsupported`); a failed read (`io_error`).
//
// Bounded: the reader never reads past the file size it saw at open, checks every length
// against the bytes left in the file (or in a packed container) before allocating or
// looping, and holds one key and one value at a time (an LZF string at most 88 times its
// compressed size, and never more than RdbLimits::max_string_bytes; a collection whole, each
// element taking at least one byte of the file, so memory stays within a small multiple of
// the file's size). Skipped values are read through, never held. A corrupt or hostile file
// gives an error, never a crash, a hang or an exception.
// Not thread-safe; one pass, front to back.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "apiary/persist/env.hpp"

namespace apiary::persist {

// The newest RDB version this reader knows (Redis 7.4).
inline constexpr unsigned kRdbMaxVersion = 12;

struct RdbLimits {
  // The longest key or string value (Redis's proto-max-bulk-len).
  std::uint64_t max_string_bytes = 512u << 20;
};

// A key of type string, ready to SET.
struct RdbStringKey {
  std::string key;
  std::string value;
  std::optional<std::int64_t> expiry_ms;  // absolute, ms since the Unix epoch
  std::uint64_t db = 0;
};

// A hash field. Redis 7.4 can give a field its own TTL (HEXPIRE): `expiry_ms` is it.
struct RdbHashField {
  std::string name;
  std::string value;
  std::optional<std::int64_t> expiry_ms;  // absolute, ms since the Unix epoch
};

// A key of type hash, in whichever encoding Redis stored it. Fields are in stored order.
struct RdbHashKey {
  std::string key;
  std::vector<RdbHashField> fields;
  std::optional<std::int64_t> expiry_ms;
  std::uint64_t db = 0;
  std::uint8_t rdb_type = 0;  // the encoding byte (RDB_TYPE_*)
};

// A key of type set; integer members (intsets, listpack integers) as decimal text.
struct RdbSetKey {
  std::string key;
  std::vector<std::string> members;
  std::optional<std::int64_t> expiry_ms;
  std::uint64_t db = 0;
  std::uint8_t rdb_type = 0;
};

// A sorted set member with its score.
struct RdbZsetMember {
  std::string member;
  double score = 0;
};

// A key of type zset, in stored order (ascending score for the packed encodings).
struct RdbZsetKey {
  std::string key;
  std::vector<RdbZsetMember> members;
  std::optional<std::int64_t> expiry_ms;
  std::uint64_t db = 0;
  std::uint8_t rdb_type = 0;
};

// A key of type list, its elements head to tail; integer elements (of a ziplist or listpack)
// as decimal text. An empty ziplist or listpack node adds nothing (Redis skips it on load).
struct RdbListKey {
  std::string key;
  std::vector<std::string> elements;
  std::optional<std::int64_t> expiry_ms;
  std::uint64_t db = 0;
  std::uint8_t rdb_type = 0;
};

// A key whose type the cluster does not hold (yet): its value was parsed past.
struct RdbSkippedKey {
  std::string key;
  std::string_view type_name;  // "stream" or "module"
  std::uint8_t rdb_type = 0;   // the encoding byte (RDB_TYPE_*)
  std::optional<std::int64_t> expiry_ms;
  std::uint64_t db = 0;
};

using RdbItem =
    std::variant<RdbStringKey, RdbHashKey, RdbSetKey, RdbZsetKey, RdbListKey, RdbSkippedKey>;

// The Redis type name of an RDB value type byte ("string", "list", ...), or "" if unknown.
std::string_view rdb_type_name(std::uint8_t rdb_type);

struct RdbReport {
  unsigned version = 0;
  std::vector<std::pair<std::string, std::string>> aux;  // AUX fields in file order
  std::uint64_t strings = 0;                             // string keys returned
  std::uint64_t hashes = 0;                              // hash keys returned
  std::uint64_t sets = 0;                                // set keys returned
  std::uint64_t hash_fields = 0;                         // in the hashes returned
  std::uint64_t hash_field_ttls = 0;                     // of those, fields with a TTL
  std::uint64_t set_members = 0;                         // in the sets returned
  std::uint64_t zsets = 0;                               // sorted set keys returned
  std::uint64_t zset_members = 0;                        // in the sorted sets returned
  std::uint64_t lists = 0;                               // list keys returned
  std::uint64_t list_elements = 0;                       // in the lists returned
  std::map<std::string, std::uint64_t> skipped;          // skipped keys by type name
  std::map<std::uint64_t, std::uint64_t> keys_by_db;     // every key returned, by database
  std::uint64_t functions = 0;                           // function libraries (FUNCTION2), skipped
  std::uint64_t module_aux = 0;                          // module auxiliary records, skipped
  bool complete = false;           // EOF reached and the checksum (if any) matched
  bool checksum_verified = false;  // false when the file carries none (0, or version < 5)
  std::uint64_t offset = 0;        // bytes consumed (where an error was found)
  std::uint64_t file_size = 0;

  std::uint64_t keys() const;  // strings, hashes, sets, sorted sets, lists and skipped
  // The value of an AUX field ("redis-ver"), or "" when absent.
  std::string aux_value(std::string_view name) const;
};

class RdbReader {
 public:
  // Opens `path` and reads the magic and version. Errors: not_found / io_error from the Env;
  // malformed (not an RDB file); unsupported (a version above kRdbMaxVersion).
  static Result<std::unique_ptr<RdbReader>> open(Env& env, const std::string& path,
                                                 const RdbLimits& limits = {});
  // The same over bytes in memory, which must outlive the reader.
  static Result<std::unique_ptr<RdbReader>> open_bytes(std::span<const std::uint8_t> bytes,
                                                       const RdbLimits& limits = {});
  ~RdbReader();
  RdbReader(const RdbReader&) = delete;
  RdbReader& operator=(const RdbReader&) = delete;

  // The next key, or nothing once the file ended (status() ok, report().complete) or an
  // error stopped the reader (status() says what and where).
  std::optional<RdbItem> next();
  const Status& status() const;
  const RdbReport& report() const;

 private:
  class Impl;
  explicit RdbReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A key for a message: quoted, unprintable bytes as \xNN, at most 64 bytes shown.
std::string printable_key(const std::string& key);

}  // namespace apiary::persist
