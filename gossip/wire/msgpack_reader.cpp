// wire::Reader: msgpack decoding straight from the bytes (see msgpack_codec.hpp).
#include <limits>

#include "apiary/wire/msgpack_codec.hpp"

namespace apiary::wire {

namespace {

bool big_endian(const std::uint8_t*& pos, const std::uint8_t* end, std::size_t n,
                std::uint64_t& out) {
  if (static_cast<std::size_t>(end - pos) < n) return false;
  out = 0;
  for (std::size_t i = 0; i < n; ++i) out = (out << 8) | pos[i];
  pos += n;
  return true;
}

bool advance(const std::uint8_t*& pos, const std::uint8_t* end, std::uint64_t n) {
  if (static_cast<std::uint64_t>(end - pos) < n) return false;
  pos += n;
  return true;
}

bool skip_object(const std::uint8_t*& pos, const std::uint8_t* end, std::size_t depth);

// Every element takes at least one byte, so a count larger than the bytes left fails as soon
// as they run out: a hostile count costs no more than the buffer's length.
bool skip_items(const std::uint8_t*& pos, const std::uint8_t* end, std::uint64_t n,
                std::size_t depth) {
  if (depth == 0) return false;
  for (std::uint64_t i = 0; i < n; ++i) {
    if (!skip_object(pos, end, depth - 1)) return false;
  }
  return true;
}

bool skip_object(const std::uint8_t*& pos, const std::uint8_t* end, std::size_t depth) {
  if (pos >= end) return false;
  const std::uint8_t tag = *pos++;
  std::uint64_t n = 0;
  if (tag <= 0x7f || tag >= 0xe0) return true;                              // fixint
  if (tag >= 0xa0 && tag <= 0xbf) return advance(pos, end, tag & 0x1fu);    // fixstr
  if (tag >= 0x90 && tag <= 0x9f) return skip_items(pos, end, tag & 0x0fu, depth);
  if (tag >= 0x80 && tag <= 0x8f) return skip_items(pos, end, 2u * (tag & 0x0fu), depth);
  switch (tag) {
    case 0xc0:  // nil, false, true
    case 0xc2:
    case 0xc3:
      return true;
    case 0xc4:  // bin 8, str 8
    case 0xd9:
      return big_endian(pos, end, 1, n) && advance(pos, end, n);
    case 0xc5:
    case 0xda:
      return big_endian(pos, end, 2, n) && advance(pos, end, n);
    case 0xc6:
    case 0xdb:
      return big_endian(pos, end, 4, n) && advance(pos, end, n);
    case 0xc7:  // ext: length, type byte, data
      return big_endian(pos, end, 1, n) && advance(pos, end, n + 1);
    case 0xc8:
      return big_endian(pos, end, 2, n) && advance(pos, end, n + 1);
    case 0xc9:
      return big_endian(pos, end, 4, n) && advance(pos, end, n + 1);
    case 0xcc:
    case 0xd0:
      return advance(pos, end, 1);
    case 0xcd:
    case 0xd1:
      return advance(pos, end, 2);
    case 0xca:
    case 0xce:
    case 0xd2:
      return advance(pos, end, 4);
    case 0xcb:
    case 0xcf:
    case 0xd3:
      return advance(pos, end, 8);
    case 0xd4:  // fixext: type byte and 1..16 data bytes
      return advance(pos, end, 2);
    case 0xd5:
      return advance(pos, end, 3);
    case 0xd6:
      return advance(pos, end, 5);
    case 0xd7:
      return advance(pos, end, 9);
    case 0xd8:
      return advance(pos, end, 17);
    case 0xdc:
      return big_endian(pos, end, 2, n) && skip_items(pos, end, n, depth);
    case 0xdd:
      return big_endian(pos, end, 4, n) && skip_items(pos, end, n, depth);
    case 0xde:
      return big_endian(pos, end, 2, n) && skip_items(pos, end, 2 * n, depth);
    case 0xdf:
      return big_endian(pos, end, 4, n) && skip_items(pos, end, 2 * n, depth);
    default:  // 0xc1 is never used
      return false;
  }
}

// An array header at `pos`: its element count, with `pos` moved to the first element.
bool array_header(const std::uint8_t*& pos, const std::uint8_t* end, std::uint64_t& n) {
  if (pos >= end) return false;
  const std::uint8_t tag = *pos;
  if (tag >= 0x90 && tag <= 0x9f) {
    n = tag & 0x0fu;
    ++pos;
    return true;
  }
  const std::uint8_t* p = pos + 1;
  if (tag == 0xdc && big_endian(p, end, 2, n)) {
    pos = p;
    return true;
  }
  if (tag == 0xdd && big_endian(p, end, 4, n)) {
    pos = p;
    return true;
  }
  return false;
}

}  // namespace

void Reader::start(const std::uint8_t* pos, const std::uint8_t* end, std::uint64_t n) {
  own_.pos = pos;
  own_.end = end;
  own_.remaining[0] = n;
  own_.generation[0] = 1;
  cursor_ = &own_;
  generation_ = 1;
  size_ = static_cast<std::size_t>(n);
  ok_ = true;
}

Reader::Reader(std::span<const std::uint8_t> bytes, std::size_t min_size) {
  const std::uint8_t* pos = bytes.data();
  const std::uint8_t* end = bytes.data() + bytes.size();
  std::uint64_t n = 0;
  // Every element takes a byte at least: a larger count cannot be honest.
  if (!array_header(pos, end, n) || n < min_size || n > static_cast<std::uint64_t>(end - pos)) {
    return;
  }
  start(pos, end, n);
}

Reader::Reader(std::span<const std::uint8_t> bytes, Single) {
  if (bytes.empty()) return;
  start(bytes.data(), bytes.data() + bytes.size(), 1);
}

bool Reader::fail() {
  ok_ = false;
  if (cursor_ != nullptr) cursor_->ok = false;  // the position is unknown from here on
  return false;
}

std::size_t Reader::remaining() const {
  if (!ok() || cursor_->top < level_ || cursor_->generation[level_] != generation_) return 0;
  return static_cast<std::size_t>(cursor_->remaining[level_]);
}

bool Reader::enter() {
  if (enter_fast()) return true;
  if (!ok()) return fail();
  Cursor& c = *cursor_;
  if (c.top < level_ || c.generation[level_] != generation_) return fail();  // closed
  while (c.top > level_) {
    if (!skip_items(c.pos, c.end, c.remaining[c.top], kMaxDepth)) return fail();
    c.remaining[c.top] = 0;
    --c.top;
  }
  if (c.remaining[level_] == 0) return fail();
  --c.remaining[level_];
  return true;
}

bool Reader::next(std::uint8_t& tag) {
  if (!enter() || cursor_->pos >= cursor_->end) return fail();
  tag = *cursor_->pos++;
  return true;
}

bool Reader::length(std::size_t n, std::size_t& out) {
  std::uint64_t v = 0;
  if (!big_endian(cursor_->pos, cursor_->end, n, v)) return fail();
  out = static_cast<std::size_t>(v);
  return true;
}

bool Reader::body(std::size_t len, const std::uint8_t*& out) {
  if (static_cast<std::size_t>(cursor_->end - cursor_->pos) < len) return fail();
  out = cursor_->pos;
  cursor_->pos += len;
  return true;
}

bool Reader::integer(std::uint64_t& bits, bool& negative) {
  std::uint8_t tag = 0;
  if (!next(tag)) return false;
  negative = false;
  if (tag <= 0x7f) {
    bits = tag;
    return true;
  }
  if (tag >= 0xe0) {  // negative fixint
    bits = static_cast<std::uint64_t>(static_cast<std::int64_t>(static_cast<std::int8_t>(tag)));
    negative = true;
    return true;
  }
  const bool is_unsigned = tag >= 0xcc && tag <= 0xcf;
  const bool is_signed = tag >= 0xd0 && tag <= 0xd3;
  if (!is_unsigned && !is_signed) return fail();
  const std::size_t n = std::size_t{1} << (tag - (is_unsigned ? 0xcc : 0xd0));
  if (!big_endian(cursor_->pos, cursor_->end, n, bits)) return fail();
  if (is_signed) {
    if (n < 8) {  // sign-extend
      const std::uint64_t sign = std::uint64_t{1} << (8 * n - 1);
      bits = (bits ^ sign) - sign;
    }
    negative = static_cast<std::int64_t>(bits) < 0;
  }
  return true;
}

bool Reader::u64_slow(std::uint64_t& out) {
  bool negative = false;
  if (!integer(out, negative)) return false;
  return negative ? fail() : true;
}

bool Reader::i64(std::int64_t& out) {
  std::uint64_t bits = 0;
  bool negative = false;
  if (!integer(bits, negative)) return false;
  if (!negative && bits > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return fail();
  }
  out = static_cast<std::int64_t>(bits);
  return true;
}

bool Reader::boolean(bool& out) {
  std::uint8_t tag = 0;
  if (!next(tag)) return false;
  if (tag != 0xc2 && tag != 0xc3) return fail();
  out = tag == 0xc3;
  return true;
}

bool Reader::str(std::string_view& out, std::size_t max_len) {
  std::uint8_t tag = 0;
  if (!next(tag)) return false;
  std::size_t len = 0;
  if (tag >= 0xa0 && tag <= 0xbf) {
    len = tag & 0x1fu;
  } else if (tag < 0xd9 || tag > 0xdb || !length(std::size_t{1} << (tag - 0xd9), len)) {
    return fail();
  }
  const std::uint8_t* data = nullptr;
  if (len > max_len || !body(len, data)) return fail();
  out = std::string_view(reinterpret_cast<const char*>(data), len);
  return true;
}

bool Reader::str(std::string& out, std::size_t max_len) {
  std::string_view view;
  if (!str(view, max_len)) return false;
  out.assign(view);
  return true;
}

bool Reader::bin(std::span<const std::uint8_t>& out, std::size_t max_len) {
  std::uint8_t tag = 0;
  if (!next(tag)) return false;
  std::size_t len = 0;
  if (tag < 0xc4 || tag > 0xc6 || !length(std::size_t{1} << (tag - 0xc4), len)) return fail();
  const std::uint8_t* data = nullptr;
  if (len > max_len || !body(len, data)) return fail();
  out = std::span<const std::uint8_t>(data, len);
  return true;
}

bool Reader::bin(std::string& out, std::size_t max_len) {
  std::span<const std::uint8_t> view;
  if (!bin(view, max_len)) return false;
  out.assign(reinterpret_cast<const char*>(view.data()), view.size());
  return true;
}

bool Reader::array(Reader& out, std::size_t min_size) {
  out.cursor_ = nullptr;
  out.ok_ = false;
  out.size_ = 0;
  if (!enter()) return false;
  Cursor& c = *cursor_;
  std::uint64_t n = 0;
  if (level_ + 1 > kMaxDepth || !array_header(c.pos, c.end, n) || n < min_size ||
      n > static_cast<std::uint64_t>(c.end - c.pos)) {
    return fail();
  }
  c.top = level_ + 1;
  c.remaining[c.top] = n;
  ++c.generation[c.top];
  out.cursor_ = cursor_;
  out.level_ = c.top;
  out.generation_ = c.generation[c.top];
  out.size_ = static_cast<std::size_t>(n);
  out.ok_ = true;
  return true;
}

bool Reader::skip() {
  if (!enter() || !skip_object(cursor_->pos, cursor_->end, kMaxDepth)) return fail();
  return true;
}

bool Reader::at_end() {
  if (!ok() || cursor_ != &own_ || level_ != 0) return false;
  Cursor& c = own_;
  while (true) {
    if (!skip_items(c.pos, c.end, c.remaining[c.top], kMaxDepth)) return fail();
    c.remaining[c.top] = 0;
    if (c.top == 0) break;
    --c.top;
  }
  return c.pos == c.end;
}

Status Reader::error(std::string_view what) const {
  return make_error(StatusCode::malformed, std::string(what));
}

}  // namespace apiary::wire
