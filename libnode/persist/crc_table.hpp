// The lookup table of a reflected (LSB-first) CRC, internal to libnode/persist: CRC-32C
// (crc32c.cpp) and Redis's CRC-64 (crc64.cpp) both shift right one byte at a time through it.
#pragma once

#include <array>

namespace apiary::persist {

// `reversed` is the polynomial bit-reversed (e.g. 0x82F63B78 for CRC-32C's 0x1EDC6F41).
template <typename T>
constexpr std::array<T, 256> reflected_crc_table(T reversed) {
  std::array<T, 256> table{};
  for (unsigned i = 0; i < 256; ++i) {
    T c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1) ? (c >> 1) ^ reversed : c >> 1;
    table[i] = c;
  }
  return table;
}

}  // namespace apiary::persist
