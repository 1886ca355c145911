// CRC-32C (Castagnoli, polynomial 0x1EDC6F41 reflected), the checksum of every record and
// file header the persistence code writes (docs/persistence.md). The same function as
// LevelDB's, iSCSI's and ext4's metadata checksums; crc32c("123456789") == 0xE3069283.
//
// Software, table-driven, one byte at a time (~1 GB/s is plenty: the checksum is computed
// once per record written or read). Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace apiary::persist {

// Continues a CRC: crc32c_extend(crc32c(a), b) == crc32c(a + b). Start from 0.
std::uint32_t crc32c_extend(std::uint32_t crc, std::span<const std::uint8_t> bytes);

inline std::uint32_t crc32c(std::span<const std::uint8_t> bytes) { return crc32c_extend(0, bytes); }
inline std::uint32_t crc32c(std::string_view bytes) {
  return crc32c(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

}  // namespace apiary::persist
