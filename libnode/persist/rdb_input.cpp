#include "rdb_input.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstdio>
#include <limits>
#include <string>

#include "apiary/persist/crc64.hpp"
#include "apiary/persist/lzf.hpp"

namespace apiary::persist::rdb {

namespace {

constexpr std::size_t kBufferBytes = 64 * 1024;

// String encodings (the low 6 bits of a length byte whose top bits are 11).
constexpr std::uint64_t kEncInt8 = 0;
constexpr std::uint64_t kEncInt16 = 1;
constexpr std::uint64_t kEncInt32 = 2;
constexpr std::uint64_t kEncLzf = 3;

std::string hex_byte(unsigned b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", b & 0xffu);
  return buf;
}

}  // namespace

RdbInput::RdbInput(std::unique_ptr<SequentialFile> file, std::uint64_t size,
                   std::uint64_t max_string)
    : file_(std::move(file)), size_(size), max_string_(max_string) {}

bool RdbInput::fail(StatusCode code, std::uint64_t at, const std::string& what) {
  if (status_.ok()) status_ = make_error(code, "at offset " + std::to_string(at) + ": " + what);
  return false;
}

void RdbInput::annotate(const std::string& context) {
  if (!status_.ok()) status_ = make_error(status_.code(), status_.message() + context);
}

bool RdbInput::fill() {
  if (buffer_.empty())
    buffer_.resize(static_cast<std::size_t>(
        std::min<std::uint64_t>(kBufferBytes, std::max<std::uint64_t>(size_, 1))));
  const std::uint64_t want = std::min<std::uint64_t>(buffer_.size(), size_ - read_from_file_);
  auto n = file_->read(std::span(buffer_.data(), static_cast<std::size_t>(want)));
  if (!n.ok()) return fail(StatusCode::io_error, consumed_, n.status().message());
  if (n.value() == 0) {
    return fail(StatusCode::io_error, consumed_, "the file ended before its size at open");
  }
  begin_ = 0;
  end_ = n.value();
  read_from_file_ += n.value();
  return true;
}

void RdbInput::consume(std::size_t n) {
  crc_ = crc64_redis_extend(crc_, std::span(buffer_.data() + begin_, n));
  begin_ += n;
  consumed_ += n;
}

bool RdbInput::read(std::span<std::uint8_t> out) {
  if (failed()) return false;
  if (out.size() > remaining()) {
    return fail(StatusCode::malformed, consumed_,
                "truncated: needs " + std::to_string(out.size()) + " bytes, the file has " +
                    std::to_string(remaining()) + " left");
  }
  std::size_t done = 0;
  while (done < out.size()) {
    if (begin_ == end_ && !fill()) return false;
    const std::size_t n = std::min(out.size() - done, end_ - begin_);
    std::copy_n(buffer_.data() + begin_, n, out.data() + done);
    consume(n);
    done += n;
  }
  return true;
}

bool RdbInput::skip(std::uint64_t n) {
  if (failed()) return false;
  if (n > remaining()) {
    return fail(StatusCode::malformed, consumed_,
                "truncated: needs " + std::to_string(n) + " bytes, the file has " +
                    std::to_string(remaining()) + " left");
  }
  while (n > 0) {
    if (begin_ == end_ && !fill()) return false;
    const std::size_t step = static_cast<std::size_t>(std::min<std::uint64_t>(n, end_ - begin_));
    consume(step);
    n -= step;
  }
  return true;
}

bool RdbInput::u8(std::uint8_t& out) { return read(std::span(&out, 1)); }

bool RdbInput::fixed(std::uint64_t& out, std::size_t width, bool big_endian) {
  std::uint8_t b[8];
  if (!read(std::span(b, width))) return false;
  out = 0;
  for (std::size_t i = 0; i < width; ++i) out = out << 8 | b[big_endian ? i : width - 1 - i];
  return true;
}

bool RdbInput::le32(std::uint32_t& out) {
  std::uint64_t v = 0;
  if (!fixed(v, 4, /*big_endian=*/false)) return false;
  out = static_cast<std::uint32_t>(v);
  return true;
}

bool RdbInput::le64(std::uint64_t& out) { return fixed(out, 8, /*big_endian=*/false); }

bool RdbInput::length(std::uint64_t& out, bool* encoded) {
  const std::uint64_t at = consumed_;
  std::uint8_t first = 0;
  if (!u8(first)) return false;
  if (encoded != nullptr) *encoded = false;
  switch (first >> 6) {
    case 0:
      out = first & 0x3f;
      return true;
    case 1: {
      std::uint8_t second = 0;
      if (!u8(second)) return false;
      out = static_cast<std::uint64_t>(first & 0x3f) << 8 | second;
      return true;
    }
    case 2: {
      std::size_t width = 0;
      if (first == 0x80) width = 4;
      if (first == 0x81) width = 8;
      if (width == 0) {
        return fail(StatusCode::malformed, at, "unknown length encoding " + hex_byte(first));
      }
      return fixed(out, width, /*big_endian=*/true);
    }
    default:
      if (encoded == nullptr) {
        return fail(StatusCode::malformed, at,
                    "a string encoding " + hex_byte(first) + " where a length belongs");
      }
      *encoded = true;
      out = first & 0x3f;
      return true;
  }
}

bool RdbInput::string_header(StringHeader& out) {
  out.at = consumed_;
  bool encoded = false;
  std::uint64_t len = 0;
  if (!length(len, &encoded)) return false;
  if (!encoded) {
    out = {StringHeader::raw, out.at, len, len};
    return true;
  }
  switch (len) {
    case kEncInt8:
      out = {StringHeader::integer, out.at, 1, 0};
      return true;
    case kEncInt16:
      out = {StringHeader::integer, out.at, 2, 0};
      return true;
    case kEncInt32:
      out = {StringHeader::integer, out.at, 4, 0};
      return true;
    case kEncLzf: {
      std::uint64_t compressed = 0;
      std::uint64_t size = 0;
      if (!length(compressed) || !length(size)) return false;
      out = {StringHeader::lzf, out.at, compressed, size};
      return true;
    }
    default:
      return fail(StatusCode::malformed, out.at, "unknown string encoding " + std::to_string(len));
  }
}

bool RdbInput::string(std::string& out) {
  StringHeader h;
  if (!string_header(h)) return false;
  if (h.size > max_string_) {  // only what is held is limited: skipping allocates nothing
    return fail(StatusCode::too_large, h.at,
                "a string of " + std::to_string(h.size) + " bytes is over the limit of " +
                    std::to_string(max_string_));
  }
  if (h.bytes > remaining()) {
    return fail(StatusCode::malformed, h.at,
                "truncated: a string of " + std::to_string(h.bytes) +
                    " stored bytes, the file has " + std::to_string(remaining()) + " left");
  }
  if (h.kind == StringHeader::integer) {
    std::uint8_t b[4] = {0, 0, 0, 0};
    if (!read(std::span(b, h.bytes))) return false;
    const std::uint32_t v = b[0] | b[1] << 8 | b[2] << 16 | static_cast<std::uint32_t>(b[3]) << 24;
    // Little-endian, sign-extended from its width, written as decimal text.
    const std::int64_t n = h.bytes == 1   ? static_cast<std::int8_t>(v)
                           : h.bytes == 2 ? static_cast<std::int16_t>(v)
                                          : static_cast<std::int32_t>(v);
    out = std::to_string(n);
    return true;
  }
  if (h.kind == StringHeader::raw) {
    out.resize(static_cast<std::size_t>(h.size));
    return read(std::span(reinterpret_cast<std::uint8_t*>(out.data()), out.size()));
  }
  if (h.size > lzf_max_output(h.bytes)) {
    return fail(StatusCode::malformed, h.at,
                "an LZF string claims " + std::to_string(h.size) + " bytes from " +
                    std::to_string(h.bytes) + " compressed bytes");
  }
  std::vector<std::uint8_t> packed(static_cast<std::size_t>(h.bytes));
  if (!read(packed)) return false;
  out.resize(static_cast<std::size_t>(h.size));
  const Status unpacked =
      lzf_decompress(packed, std::span(reinterpret_cast<std::uint8_t*>(out.data()), out.size()));
  if (!unpacked.ok()) return fail(StatusCode::malformed, h.at, unpacked.message());
  return true;
}

bool RdbInput::skip_string() {
  StringHeader h;
  return string_header(h) && skip(h.bytes);
}

bool RdbInput::text_double(double& out) {
  const std::uint64_t at = consumed_;
  std::uint8_t len = 0;
  if (!u8(len)) return false;
  if (len >= 253) {
    out = len == 253   ? std::numeric_limits<double>::quiet_NaN()
          : len == 254 ? std::numeric_limits<double>::infinity()
                       : -std::numeric_limits<double>::infinity();
    return true;
  }
  std::uint8_t text[252];
  if (!read(std::span<std::uint8_t>(text, len))) return false;
  const char* begin = reinterpret_cast<const char*>(text);
  const auto [end, ec] = std::from_chars(begin, begin + len, out);
  if (ec != std::errc() || end != begin + len) {
    return fail(StatusCode::malformed, at,
                "a score that is not a number: " + std::string(begin, len));
  }
  return true;
}

bool RdbInput::binary_double(double& out) {
  std::uint64_t bits = 0;
  if (!le64(bits)) return false;
  out = std::bit_cast<double>(bits);
  return true;
}

}  // namespace apiary::persist::rdb
