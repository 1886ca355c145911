// DUMP payloads as RESTORE reads them (docs/persistence.md, "DUMP and RESTORE"): one value in
// RDB encoding (rdb_writer.hpp writes them; Redis's DUMP writes them too), then the RDB
// version (2 bytes little-endian) and the CRC-64 of everything before it (8 bytes).
//
// The value is decoded by RdbReader (rdb_reader.hpp), so a payload in any encoding Redis
// 1.0 to 7.4 wrote loads: listpack, ziplist, intset, zipmap, quicklist, integer-encoded and
// LZF-compressed strings. Same bounds as the reader: a corrupt or hostile payload gives an
// error, never a crash, a hang or an allocation beyond a small multiple of its size.
// Pure functions, thread-safe.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/status.hpp"
#include "apiary/persist/rdb_reader.hpp"

namespace apiary::persist {

// The payload's RDB version when its footer is sound: at least 10 bytes, a version no newer
// than `max_version`, and a CRC-64 that matches (Redis's verifyDumpPayload; Redis refuses a
// version above its own RDB_VERSION, 10 in 7.0). nullopt otherwise.
std::optional<unsigned> rdb_check_dump_payload(std::string_view payload,
                                               unsigned max_version = kRdbMaxVersion);

// The value of a payload whose footer was checked, as the key `key`: a string, hash, set,
// sorted set or list item (rdb_reader.hpp) without expiry. malformed when it is not one: an
// unknown type byte, a stream or module value, a damaged encoding, an empty collection (Redis
// refuses those too), a value that runs past the payload's end, duplicate set or sorted set
// members or hash fields, or hash fields with TTLs (Redis 7.4's), which Apiary cannot keep.
// Bytes left between the value and the footer are ignored, as Redis ignores them.
Result<RdbItem> rdb_read_dump_value(std::string_view payload, std::string_view key,
                                    const RdbLimits& limits = {});

// FUNCTION DUMP's payload: each library's code after RDB_OPCODE_FUNCTION2, then the footer
// (Redis 7.0's format; the code is written uncompressed).
std::string rdb_dump_functions(std::span<const std::string_view> codes);
// The libraries' codes in a FUNCTION DUMP payload (any string encoding Redis writes, LZF
// included); malformed when the footer, an opcode or a string is not sound.
Result<std::vector<std::string>> rdb_read_dump_functions(std::string_view payload);

}  // namespace apiary::persist
