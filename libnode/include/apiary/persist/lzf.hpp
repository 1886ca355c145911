// LZF decompression (Marc Lehmann's liblzf format), as Redis uses for strings in RDB files
// (`rdbcompression yes`, strings over 20 bytes that shrink).
//
// The format is a sequence of runs, each opened by a control byte `c`:
//   c < 32:  a literal run: the next c + 1 input bytes are copied to the output;
//   c >= 32: a back reference: length L = c >> 5 (7 means "7 plus the next byte"), then one
//            more byte; offset = ((c & 31) << 8 | that byte) + 1 bytes back from the end of
//            the output; L + 2 bytes are copied from there, byte by byte (they may overlap
//            what is being written, which repeats a pattern).
//
// Bounded: the output is exactly `expected_size` bytes or the call fails; every run is
// checked against the input left and the output room before it is copied, and every back
// reference against the output written so far, so corrupt or hostile input never reads or
// writes out of bounds. The caller bounds expected_size before allocating it (one input byte
// can stand for at most 88 output bytes: lzf_max_output()). Pure function, thread-safe.
#pragma once

#include <cstdint>
#include <span>

#include "apiary/base/status.hpp"

namespace apiary::persist {

// Decompresses `in` into `out`, which must be exactly as long as the uncompressed data.
// Errors: malformed (a run past the end of the input or the output, a back reference before
// the start, or fewer bytes than out.size()).
Status lzf_decompress(std::span<const std::uint8_t> in, std::span<std::uint8_t> out);

// The most bytes `compressed_size` bytes of LZF can decompress to (a 3-byte back reference
// yields 264 bytes).
constexpr std::uint64_t lzf_max_output(std::uint64_t compressed_size) {
  return compressed_size * 88 + 2;
}

}  // namespace apiary::persist
