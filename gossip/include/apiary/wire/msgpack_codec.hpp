// Helpers for writing bounded MessagePack codecs (internal to gossip/ and libnode/; never
// included from a public embedding header).
//
// `Reader` walks an array-shaped message field by field straight from its bytes, with type
// checks, so a codec reads like a list of fields and any mismatch becomes `malformed` instead
// of a throw. `unpack_bounded` wraps msgpack::unpack with size limits and turns every exception
// into a Status; `ObjectReader` walks the tree it returns (the gossip codec keeps views into
// it). Decoded str/bin views reference the input buffer (no copy): keep the buffer alive.
#pragma once

#include <algorithm>
#include <cstdint>
#include <msgpack.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/status.hpp"

namespace apiary::wire {

struct UnpackLimits {
  std::size_t array = 4096;
  std::size_t map = 256;
  std::size_t str = 64 * 1024;
  std::size_t bin = 1 << 20;
  std::size_t depth = 8;
};

// Decodes exactly one MessagePack object that spans the whole buffer.
Result<msgpack::object_handle> unpack_bounded(std::span<const std::uint8_t> bytes,
                                              const UnpackLimits& limits = {});

// The second line of defence at every decoder's entry point: runs `decode` and turns an
// exception escaping it (a msgpack type error, an allocation failure, a bug) into
// `malformed`, which callers count and drop like any bad message; hostile bytes never end
// the process. `decode` returns Status or Result<T>.
template <class Decode>
auto guard_decode(std::string_view what, Decode&& decode) -> decltype(decode()) {
  try {
    return decode();
  } catch (const std::exception& e) {
    return make_error(StatusCode::malformed, std::string(what) + ": " + e.what());
  } catch (...) {
    return make_error(StatusCode::malformed, std::string(what) + ": unknown exception");
  }
}

// A msgpack packer target that appends to a std::vector<uint8_t>. The packer writes a few
// bytes at a time; vector::insert's general range path for each of them cost a tenth of a
// replicated write's CPU, so short writes are pushed byte by byte into reserved room.
class VectorSink {
 public:
  explicit VectorSink(std::vector<std::uint8_t>& out) : out_(out) {}
  void write(const char* data, std::size_t size) {
    const std::size_t at = out_.size();
    if (out_.capacity() - at < size) out_.reserve(std::max(2 * out_.capacity(), at + size + 64));
    if (size <= 16) {  // the packer's headers and integers: inlined stores, no library call
      for (std::size_t i = 0; i < size; ++i) out_.push_back(static_cast<std::uint8_t>(data[i]));
      return;
    }
    out_.insert(out_.end(), reinterpret_cast<const std::uint8_t*>(data),
                reinterpret_cast<const std::uint8_t*>(data) + size);
  }

 private:
  std::vector<std::uint8_t>& out_;
};
using Packer = msgpack::packer<VectorSink>;

inline void pack_bin(Packer& p, std::span<const std::uint8_t> bytes) {
  p.pack_bin(static_cast<std::uint32_t>(bytes.size()));
  p.pack_bin_body(reinterpret_cast<const char*>(bytes.data()),
                  static_cast<std::uint32_t>(bytes.size()));
}
inline void pack_str(Packer& p, std::string_view s) {
  p.pack_str(static_cast<std::uint32_t>(s.size()));
  p.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

// Reads the elements of one msgpack array straight from the encoded bytes, in order: a pull
// parser with no object tree, no allocation and one pass over the bytes (the data channel
// decodes hundreds of thousands of messages a second; building msgpack-c's tree per message
// cost more than the rest of the decoding). The top-level reader owns the cursor; array()
// hands out a reader for a nested array that shares it. Reading an element closes every
// array opened after it (their unread elements are skipped), so nested arrays are read in
// the order they appear: a reader whose array was closed, or any reader after a failure,
// fails. Every getter checks its bounds and returns false (marking the reader failed) on a
// type mismatch, an oversized string or when the array is exhausted. at_end() on the
// top-level reader checks that the whole buffer was one well-formed array and nothing more.
// Decoded str/bin views point into the input buffer: keep it alive. Not copyable: nested
// readers point into the top-level one.
class Reader {
 public:
  static constexpr std::size_t kMaxDepth = 16;
  struct Single {};
  static constexpr Single kSingle{};

  Reader() = default;  // failed, empty; array() fills it in
  // `bytes` start with a msgpack array of at least `min_size` elements.
  Reader(std::span<const std::uint8_t> bytes, std::size_t min_size);
  // `bytes` hold one msgpack object of any type, read as the only element of an array (for
  // codecs that read an element from their parent's reader).
  Reader(std::span<const std::uint8_t> bytes, Single);
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  bool ok() const { return ok_ && cursor_ != nullptr && cursor_->ok; }
  std::size_t size() const { return size_; }
  std::size_t remaining() const;

  bool u64(std::uint64_t& out) {
    // The common case inline: an unsigned integer at this reader's position (the data
    // channel's counters, node ids and stamps); everything else takes u64_slow().
    if (enter_fast()) {
      Cursor& c = *cursor_;
      const std::size_t left = static_cast<std::size_t>(c.end - c.pos);
      if (left != 0) {
        const std::uint8_t tag = *c.pos;
        if (tag <= 0x7f) {
          out = tag;
          ++c.pos;
          return true;
        }
        if (tag >= 0xcc && tag <= 0xcf) {
          const std::size_t n = std::size_t{1} << (tag - 0xcc);
          if (left > n) {
            std::uint64_t v = 0;
            for (std::size_t i = 1; i <= n; ++i) v = (v << 8) | c.pos[i];
            out = v;
            c.pos += n + 1;
            return true;
          }
        }
      }
      ++c.remaining[level_];  // not taken: the slow path reads the element again
    }
    return u64_slow(out);
  }
  bool i64(std::int64_t& out);
  bool boolean(bool& out);
  bool str(std::string_view& out, std::size_t max_len);
  bool str(std::string& out, std::size_t max_len);
  bool bin(std::span<const std::uint8_t>& out, std::size_t max_len);
  bool bin(std::string& out, std::size_t max_len);  // binary-safe bytes as a string
  // The next element is an array of at least `min_size` elements: `out` reads it.
  bool array(Reader& out, std::size_t min_size = 0);
  bool skip();
  // Top-level reader only: skips what was not read and says whether the buffer held exactly
  // one well-formed array (no trailing bytes).
  bool at_end();

  template <typename T>
  bool u(T& out) {
    std::uint64_t v = 0;
    if (!u64(v) || v > static_cast<std::uint64_t>(static_cast<T>(~T{0}))) return fail();
    out = static_cast<T>(v);
    return true;
  }

  // Status for the caller: `malformed: <what>`.
  Status error(std::string_view what) const;

 private:
  struct Cursor {
    const std::uint8_t* pos = nullptr;
    const std::uint8_t* end = nullptr;
    std::size_t top = 0;  // the innermost open array
    std::uint64_t remaining[kMaxDepth + 1] = {};
    std::uint32_t generation[kMaxDepth + 1] = {};
    bool ok = true;
  };
  void start(const std::uint8_t* pos, const std::uint8_t* end, std::uint64_t n);
  // enter() when nothing needs closing: this reader is open, at the innermost array, with
  // an element left (taken). False leaves everything as it was for enter() to decide.
  bool enter_fast() {
    if (!ok_ || cursor_ == nullptr) return false;
    Cursor& c = *cursor_;
    if (!c.ok || c.top != level_ || c.generation[level_] != generation_ ||
        c.remaining[level_] == 0) {
      return false;
    }
    --c.remaining[level_];
    return true;
  }
  bool u64_slow(std::uint64_t& out);
  // Positions the cursor on this reader's next element (closing deeper arrays).
  bool enter();
  bool next(std::uint8_t& tag);  // enter() and take the element's first byte
  // Any integer encoding: its two's-complement bits and whether it is negative.
  bool integer(std::uint64_t& bits, bool& negative);
  bool length(std::size_t n, std::size_t& out);
  bool body(std::size_t len, const std::uint8_t*& out);
  bool fail();

  Cursor own_;  // the top-level reader's cursor
  Cursor* cursor_ = nullptr;
  std::size_t level_ = 0;
  std::uint32_t generation_ = 0;
  std::size_t size_ = 0;
  bool ok_ = false;
};

// Reads the elements of one msgpack array of a decoded object tree (unpack_bounded) in order;
// the gossip codec's reader, whose decoded views point into the tree. Every getter returns false
// (and marks the reader failed) on a type mismatch or when the array is exhausted.
class ObjectReader {
 public:
  // Fails unless `obj` is an array of at least `min_size` elements.
  ObjectReader(const msgpack::object& obj, std::size_t min_size);

  bool ok() const { return ok_; }
  std::size_t size() const { return size_; }
  std::size_t remaining() const { return ok_ ? size_ - index_ : 0; }

  bool u64(std::uint64_t& out);
  bool i64(std::int64_t& out);
  bool boolean(bool& out);
  bool str(std::string_view& out, std::size_t max_len);
  bool str(std::string& out, std::size_t max_len);
  bool bin(std::span<const std::uint8_t>& out, std::size_t max_len);
  bool bin(std::string& out, std::size_t max_len);  // binary-safe bytes as a string
  // The next element as a raw object (for nested arrays / maps).
  bool object(const msgpack::object*& out);
  bool skip();

  template <typename T>
  bool u(T& out) {
    std::uint64_t v = 0;
    if (!u64(v) || v > static_cast<std::uint64_t>(static_cast<T>(~T{0}))) return fail();
    out = static_cast<T>(v);
    return true;
  }

  // Status for the caller: `malformed: <what>`.
  Status error(std::string_view what) const;

 private:
  const msgpack::object* next();
  bool fail() {
    ok_ = false;
    return false;
  }
  const msgpack::object* items_ = nullptr;
  std::size_t size_ = 0;
  std::size_t index_ = 0;
  bool ok_ = true;
};

}  // namespace apiary::wire
