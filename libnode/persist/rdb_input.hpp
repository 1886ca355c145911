// RdbInput: the byte-level half of RdbReader (internal to libnode/persist). A buffered,
// bounded pass over a SequentialFile that keeps the CRC-64 of every byte consumed, and the
// RDB primitives on top of it: lengths, strings in each encoding, fixed-width integers.
//
// Errors are sticky: the first failure records a Status ("at offset N: what") and every later
// call returns false without reading, so a decoder can chain calls and check once. Nothing is
// allocated before its length has been checked against the bytes left in the file.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "apiary/persist/env.hpp"

namespace apiary::persist::rdb {

// RDB_OPCODE_FUNCTION2: a function library's code (RDB files and FUNCTION DUMP payloads).
inline constexpr std::uint8_t kOpFunction2 = 0xF5;

// A SequentialFile over bytes in memory (which must outlive it).
class SpanFile final : public SequentialFile {
 public:
  explicit SpanFile(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
  Result<std::size_t> read(std::span<std::uint8_t> out) override {
    const std::size_t n = std::min(out.size(), bytes_.size() - pos_);
    std::copy_n(bytes_.data() + pos_, n, out.data());
    pos_ += n;
    return n;
  }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t pos_ = 0;
};

class RdbInput {
 public:
  RdbInput(std::unique_ptr<SequentialFile> file, std::uint64_t size, std::uint64_t max_string);

  std::uint64_t offset() const { return consumed_; }
  std::uint64_t size() const { return size_; }
  std::uint64_t remaining() const { return size_ - consumed_; }
  std::uint64_t crc() const { return crc_; }  // CRC-64 (Redis) of the bytes consumed so far
  const Status& status() const { return status_; }
  bool failed() const { return !status_.ok(); }

  // Records the first error, at `at` (the start of what could not be decoded); returns false.
  bool fail(StatusCode code, std::uint64_t at, const std::string& what);
  // Adds `context` (", in the value of hash \"k\"") to the recorded error, if there is one.
  void annotate(const std::string& context);

  bool read(std::span<std::uint8_t> out);  // exactly out.size() bytes
  bool skip(std::uint64_t n);
  bool u8(std::uint8_t& out);
  bool le32(std::uint32_t& out);
  bool le64(std::uint64_t& out);

  // An RDB length. `encoded` is set when the byte says "special encoding" (then `out` is the
  // encoding number, 0..3); a caller that expects a plain length passes nullptr and an
  // encoded value is an error.
  bool length(std::uint64_t& out, bool* encoded = nullptr);
  // A string in any encoding (raw, int8/16/32 as decimal text, LZF), bounded by max_string.
  bool string(std::string& out);
  // Parses past a string without keeping it (an LZF one is not decompressed).
  bool skip_string();
  // A ZSET (type 3) score: a length byte, then that much text (what %.17g wrote, read back
  // exactly), or 253 for NaN, 254 for +inf, 255 for -inf.
  bool text_double(double& out);
  // A ZSET_2 (type 5) score: an IEEE 754 double, 8 bytes little-endian.
  bool binary_double(double& out);

 private:
  // How a string is stored: `bytes` follow in the file (its text, the integer's width, or
  // the compressed data); `size` is the string's length (0 for integers: not known yet).
  struct StringHeader {
    enum Kind : std::uint8_t { raw, integer, lzf } kind = raw;
    std::uint64_t at = 0;
    std::uint64_t bytes = 0;
    std::uint64_t size = 0;
  };
  bool string_header(StringHeader& out);
  // An unsigned integer of `width` bytes (at most 8).
  bool fixed(std::uint64_t& out, std::size_t width, bool big_endian);
  bool fill();
  void consume(std::size_t n);

  std::unique_ptr<SequentialFile> file_;
  std::uint64_t size_;
  std::uint64_t max_string_;
  std::vector<std::uint8_t> buffer_;
  std::size_t begin_ = 0;  // the first unconsumed byte in buffer_
  std::size_t end_ = 0;    // the end of the bytes read into buffer_
  std::uint64_t read_from_file_ = 0;
  std::uint64_t consumed_ = 0;
  std::uint64_t crc_ = 0;
  Status status_;
};

}  // namespace apiary::persist::rdb
