// CRC-64 as Redis computes it over RDB files (crc64.c, the "Jones" polynomial
// 0xad93d23594c935a9, reflected input and output, initial value 0, no final xor):
// crc64_redis("123456789") == 0xe9c6d914c4b8d9ca. The last 8 bytes of an RDB file (version 5
// and up) are this checksum of everything before them, little-endian; 0 means the writer had
// `rdbchecksum no`.
//
// Software, table-driven, one byte at a time: an import is bound by the network, not by this.
// Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace apiary::persist {

// Continues a CRC: crc64_redis_extend(crc64_redis(a), b) == crc64_redis(a + b). Start from 0.
std::uint64_t crc64_redis_extend(std::uint64_t crc, std::span<const std::uint8_t> bytes);

inline std::uint64_t crc64_redis(std::span<const std::uint8_t> bytes) {
  return crc64_redis_extend(0, bytes);
}
inline std::uint64_t crc64_redis(std::string_view bytes) {
  return crc64_redis(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

}  // namespace apiary::persist
