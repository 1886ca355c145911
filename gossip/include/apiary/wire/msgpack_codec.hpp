// Helpers for writing bounded MessagePack codecs (internal to gossip/ and libnode/; never
// included from a public embedding header).
//
// `unpack_bounded` wraps msgpack::unpack with size limits and turns every exception into a
// Status. `Reader` walks an array-shaped message field by field with type checks, so a codec
// reads like a list of fields and any mismatch becomes `malformed` instead of a throw.
// Decoded str/bin objects reference the input buffer (no copy): keep the buffer alive.
#pragma once

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

// A msgpack packer target that appends to a std::vector<uint8_t>.
class VectorSink {
 public:
  explicit VectorSink(std::vector<std::uint8_t>& out) : out_(out) {}
  void write(const char* data, std::size_t size) {
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

// Reads the elements of one msgpack array in order. Every getter returns false (and marks
// the reader failed) on a type mismatch or when the array is exhausted.
class Reader {
 public:
  // Fails unless `obj` is an array of at least `min_size` elements.
  Reader(const msgpack::object& obj, std::size_t min_size);

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
