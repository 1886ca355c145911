#include "rdb_packed.hpp"

#include <cstdint>
#include <cstdio>

namespace apiary::persist::rdb {

namespace {

std::uint8_t byte_at(std::string_view b, std::size_t at) {
  return static_cast<std::uint8_t>(b[at]);
}

// `width` bytes at `at`, little-endian (the caller has checked they are in the blob).
std::uint64_t le(std::string_view b, std::size_t at, std::size_t width) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < width; ++i) v |= std::uint64_t{byte_at(b, at + i)} << (8 * i);
  return v;
}

// The low `bits` bits of `v` as a two's-complement number.
std::int64_t sign_extend(std::uint64_t v, unsigned bits) {
  if (bits >= 64) return static_cast<std::int64_t>(v);
  const std::uint64_t sign = std::uint64_t{1} << (bits - 1);
  v &= (std::uint64_t{1} << bits) - 1;
  return static_cast<std::int64_t>((v ^ sign) - sign);
}

std::string hex_byte(unsigned b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", b & 0xffu);
  return buf;
}

Status bad(std::string_view container, std::size_t at, const std::string& what) {
  return make_error(StatusCode::malformed,
                    std::string(container) + " byte " + std::to_string(at) + ": " + what);
}

// Whether `need` bytes from `at` lie before `end`.
bool fits(std::size_t at, std::uint64_t need, std::size_t end) {
  return at <= end && need <= end - at;
}

// --- listpack ---

constexpr std::size_t kListpackHeader = 6;
constexpr std::uint64_t kListpackUnknownCount = 65535;
constexpr std::uint8_t kPackEnd = 0xFF;

// How many bytes the back-length of an entry of `len` bytes takes (lpEncodeBacklen).
std::size_t listpack_backlen_size(std::uint64_t len) {
  if (len <= 127) return 1;
  if (len < 16383) return 2;
  if (len < 2097151) return 3;
  if (len < 268435455) return 4;
  return 5;
}

// The back-length holds the entry's length 7 bits a byte, most significant first; every byte
// but the first has its top bit set (so it can be read backwards from the next entry).
bool listpack_backlen_ok(std::string_view b, std::size_t at, std::size_t size, std::uint64_t len) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < size; ++i) {
    const std::uint8_t c = byte_at(b, at + i);
    if (((c & 0x80) != 0) != (i > 0)) return false;
    v = v << 7 | (c & 0x7f);
  }
  return v == len;
}

// One listpack entry at `at` (before `end`, the terminator's position): appends its element
// and sets `next` past its back-length.
Status listpack_entry(std::string_view b, std::size_t at, std::size_t end,
                      std::vector<std::string>& out, std::size_t& next) {
  const std::uint8_t first = byte_at(b, at);
  std::size_t head = 1;  // the encoding bytes (with an integer's value)
  std::uint64_t text = 0;
  bool integer = true;
  unsigned int_bits = 0;  // 0: the value is in the first byte's low 7 bits
  if ((first & 0x80) == 0) {
    head = 1;
  } else if ((first & 0xC0) == 0x80) {
    integer = false;
    text = first & 0x3f;
  } else if ((first & 0xE0) == 0xC0) {
    head = 2;
    int_bits = 13;
  } else if ((first & 0xF0) == 0xE0) {
    head = 2;
    integer = false;
  } else {
    switch (first) {
      case 0xF0:
        head = 5;
        integer = false;
        break;
      case 0xF1:
        head = 3;
        int_bits = 16;
        break;
      case 0xF2:
        head = 4;
        int_bits = 24;
        break;
      case 0xF3:
        head = 5;
        int_bits = 32;
        break;
      case 0xF4:
        head = 9;
        int_bits = 64;
        break;
      default:
        return bad("listpack", at, "unknown entry encoding " + hex_byte(first));
    }
  }
  if (!fits(at, head, end)) return bad("listpack", at, "an entry runs past the end");
  if (!integer && head == 2)
    text = static_cast<std::uint64_t>(first & 0x0f) << 8 | byte_at(b, at + 1);
  if (!integer && head == 5) text = le(b, at + 1, 4);
  if (!fits(at + head, text, end)) return bad("listpack", at, "an entry runs past the end");
  const std::uint64_t len = head + text;
  const std::size_t backlen = listpack_backlen_size(len);
  if (!fits(at, len + backlen, end)) return bad("listpack", at, "an entry runs past the end");
  if (!listpack_backlen_ok(b, at + len, backlen, len)) {
    return bad("listpack", at + len, "the back-length does not match the entry");
  }
  if (!integer) {
    out.emplace_back(b.substr(at + head, text));
  } else if (int_bits == 0) {
    out.push_back(std::to_string(first & 0x7f));
  } else if (int_bits == 13) {
    out.push_back(std::to_string(
        sign_extend(static_cast<std::uint64_t>(first & 0x1f) << 8 | byte_at(b, at + 1), 13)));
  } else {
    out.push_back(std::to_string(sign_extend(le(b, at + 1, head - 1), int_bits)));
  }
  next = at + len + backlen;
  return Status::Ok();
}

// --- ziplist ---

constexpr std::size_t kZiplistHeader = 10;
constexpr std::uint8_t kZiplistBigPrevlen = 254;

// The encoding byte of a ziplist entry at `at`: how many bytes the encoding takes (`head`)
// and the element's bytes after it (`data`); an integer's value is decoded into `out`.
Status ziplist_encoding(std::string_view b, std::size_t at, std::size_t end, std::size_t& head,
                        std::uint64_t& data, std::string& out) {
  const std::uint8_t enc = byte_at(b, at);
  head = 1;
  data = 0;
  auto need = [&](std::size_t n) { return fits(at, n, end); };
  switch (enc >> 6) {
    case 0:
      data = enc & 0x3f;
      return Status::Ok();
    case 1:
      if (!need(2)) return bad("ziplist", at, "an entry runs past the end");
      head = 2;
      data = static_cast<std::uint64_t>(enc & 0x3f) << 8 | byte_at(b, at + 1);
      return Status::Ok();
    case 2:  // the low 6 bits are not part of this encoding (Redis masks them off)
      if (!need(5)) return bad("ziplist", at, "an entry runs past the end");
      head = 5;
      for (std::size_t i = 1; i <= 4; ++i) data = data << 8 | byte_at(b, at + i);  // big-endian
      return Status::Ok();
    default:
      break;
  }
  unsigned width = 0;
  switch (enc) {
    case 0xC0:
      width = 2;
      break;
    case 0xD0:
      width = 4;
      break;
    case 0xE0:
      width = 8;
      break;
    case 0xF0:
      width = 3;
      break;
    case 0xFE:
      width = 1;
      break;
    default:
      if (enc >= 0xF1 && enc <= 0xFD) {  // a 4-bit immediate, 0 to 12
        out = std::to_string((enc & 0x0f) - 1);
        return Status::Ok();
      }
      return bad("ziplist", at, "unknown entry encoding " + hex_byte(enc));
  }
  if (!need(1 + width)) return bad("ziplist", at, "an entry runs past the end");
  head = 1 + width;
  out = std::to_string(sign_extend(le(b, at + 1, width), 8 * width));
  return Status::Ok();
}

}  // namespace

Status decode_listpack(std::string_view b, std::vector<std::string>& out) {
  if (b.size() < kListpackHeader + 1) return bad("listpack", 0, "shorter than its header");
  if (le(b, 0, 4) != b.size()) {
    return bad("listpack", 0,
               "the header says " + std::to_string(le(b, 0, 4)) + " bytes, the blob has " +
                   std::to_string(b.size()));
  }
  const std::uint64_t count = le(b, 4, 2);
  const std::size_t end = b.size() - 1;
  if (byte_at(b, end) != kPackEnd) return bad("listpack", end, "no end marker");
  std::uint64_t n = 0;
  for (std::size_t at = kListpackHeader; at < end; ++n) {
    if (byte_at(b, at) == kPackEnd) return bad("listpack", at, "an end marker before the end");
    if (Status s = listpack_entry(b, at, end, out, at); !s.ok()) return s;
  }
  if (count != kListpackUnknownCount && count != n) {
    return bad(
        "listpack", 4,
        "the header counts " + std::to_string(count) + " entries, it holds " + std::to_string(n));
  }
  return Status::Ok();
}

Status decode_ziplist(std::string_view b, std::vector<std::string>& out) {
  if (b.size() < kZiplistHeader + 1) return bad("ziplist", 0, "shorter than its header");
  if (le(b, 0, 4) != b.size()) {
    return bad("ziplist", 0,
               "the header says " + std::to_string(le(b, 0, 4)) + " bytes, the blob has " +
                   std::to_string(b.size()));
  }
  const std::uint64_t tail = le(b, 4, 4);
  const std::uint64_t count = le(b, 8, 2);
  const std::size_t end = b.size() - 1;
  if (byte_at(b, end) != kPackEnd) return bad("ziplist", end, "no end marker");
  std::uint64_t n = 0;
  std::size_t last = kZiplistHeader;  // where the last entry starts (the header's end if none)
  std::uint64_t previous = 0;         // the size of the entry before
  for (std::size_t at = kZiplistHeader; at < end; ++n) {
    const std::uint8_t first = byte_at(b, at);
    if (first == kPackEnd) return bad("ziplist", at, "an end marker before the end");
    std::size_t prevlen_bytes = 1;
    std::uint64_t prevlen = first;
    if (first == kZiplistBigPrevlen) {
      if (!fits(at, 5, end)) return bad("ziplist", at, "an entry runs past the end");
      prevlen_bytes = 5;
      prevlen = le(b, at + 1, 4);
    }
    if (prevlen != previous) {
      return bad("ziplist", at,
                 "the entry says the one before has " + std::to_string(prevlen) +
                     " bytes, it has " + std::to_string(previous));
    }
    const std::size_t enc_at = at + prevlen_bytes;
    if (enc_at >= end) return bad("ziplist", at, "an entry runs past the end");
    std::size_t head = 0;
    std::uint64_t data = 0;
    std::string integer;
    if (Status s = ziplist_encoding(b, enc_at, end, head, data, integer); !s.ok()) return s;
    if (!fits(enc_at + head, data, end)) return bad("ziplist", at, "an entry runs past the end");
    if (!integer.empty()) {
      out.push_back(std::move(integer));
    } else {
      out.emplace_back(b.substr(enc_at + head, data));
    }
    previous = prevlen_bytes + head + data;
    last = at;
    at = enc_at + head + data;
  }
  if (tail != last) {
    return bad("ziplist", 4,
               "the tail offset is " + std::to_string(tail) + ", the last entry is at " +
                   std::to_string(last));
  }
  if (count != kListpackUnknownCount && count != n) {
    return bad(
        "ziplist", 8,
        "the header counts " + std::to_string(count) + " entries, it holds " + std::to_string(n));
  }
  return Status::Ok();
}

Status decode_intset(std::string_view b, std::vector<std::string>& out) {
  if (b.size() < 8) return bad("intset", 0, "shorter than its header");
  const std::uint64_t width = le(b, 0, 4);
  if (width != 2 && width != 4 && width != 8) {
    return bad("intset", 0, "unknown integer width " + std::to_string(width));
  }
  const std::uint64_t count = le(b, 4, 4);
  const std::size_t body = b.size() - 8;
  if (body % width != 0 || body / width != count) {
    return bad("intset", 4,
               "the header counts " + std::to_string(count) + " integers of " +
                   std::to_string(width) + " bytes, the blob holds " + std::to_string(body) +
                   " bytes");
  }
  for (std::size_t at = 8; at < b.size(); at += width) {
    out.push_back(std::to_string(
        sign_extend(le(b, at, static_cast<std::size_t>(width)), static_cast<unsigned>(8 * width))));
  }
  return Status::Ok();
}

Status decode_zipmap(std::string_view b, std::vector<std::string>& out) {
  constexpr std::uint8_t kBigLen = 254;
  if (b.size() < 2) return bad("zipmap", 0, "shorter than its header");
  const std::uint64_t count = byte_at(b, 0);
  // A length: one byte below 254, else 254 and four bytes.
  auto length = [&](std::size_t& at, std::uint64_t& len) {
    if (!fits(at, 1, b.size())) return false;
    len = byte_at(b, at);
    if (len < kBigLen) {
      at += 1;
      return true;
    }
    if (len > kBigLen || !fits(at, 5, b.size())) return false;
    len = le(b, at + 1, 4);
    at += 5;
    return true;
  };
  std::uint64_t pairs = 0;
  std::size_t at = 1;
  while (true) {
    if (at >= b.size()) return bad("zipmap", at, "no end marker");
    if (byte_at(b, at) == kPackEnd) break;
    const std::size_t field_at = at;
    std::uint64_t len = 0;
    if (!length(at, len) || !fits(at, len, b.size())) {
      return bad("zipmap", field_at, "a field runs past the end");
    }
    out.emplace_back(b.substr(at, len));
    at += len;
    const std::size_t value_at = at;
    if (!length(at, len) || !fits(at, 1, b.size())) {
      return bad("zipmap", value_at, "a value runs past the end");
    }
    const std::uint64_t unused = byte_at(b, at);
    at += 1;
    if (!fits(at, len + unused, b.size()))
      return bad("zipmap", value_at, "a value runs past the end");
    out.emplace_back(b.substr(at, len));
    at += len + unused;
    ++pairs;
  }
  if (at + 1 != b.size()) return bad("zipmap", at + 1, "bytes after the end marker");
  if (count < kBigLen && count != pairs) {
    return bad(
        "zipmap", 0,
        "the header counts " + std::to_string(count) + " pairs, it holds " + std::to_string(pairs));
  }
  return Status::Ok();
}

}  // namespace apiary::persist::rdb
