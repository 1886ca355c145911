#include "apiary/persist/crc64.hpp"

#include <array>

#include "crc_table.hpp"

namespace apiary::persist {

namespace {

constexpr std::uint64_t kPolynomial = 0xad93d23594c935a9ULL;

constexpr std::uint64_t reflect64(std::uint64_t v) {
  std::uint64_t r = 0;
  for (int bit = 0; bit < 64; ++bit) {
    r = (r << 1) | (v & 1);
    v >>= 1;
  }
  return r;
}

// The reflected algorithm: the register shifts right and the polynomial is bit-reversed.
constexpr std::array<std::uint64_t, 256> kTable = reflected_crc_table(reflect64(kPolynomial));

}  // namespace

std::uint64_t crc64_redis_extend(std::uint64_t crc, std::span<const std::uint8_t> bytes) {
  for (const std::uint8_t b : bytes) crc = kTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return crc;
}

}  // namespace apiary::persist
