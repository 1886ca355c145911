#include "apiary/wire/msgpack_codec.hpp"

#include <algorithm>
#include <exception>
#include <memory>
#include <limits>

namespace apiary::wire {

namespace {
// Reference str/bin/ext bodies in the caller's buffer instead of copying them into the zone.
bool reference_all(msgpack::type::object_type, std::size_t, void*) { return true; }
}  // namespace

Result<msgpack::object_handle> unpack_bounded(std::span<const std::uint8_t> bytes,
                                              const UnpackLimits& limits) {
  if (bytes.empty()) return make_error(StatusCode::malformed, "empty message");
  const msgpack::unpack_limit limit(limits.array, limits.map, limits.str, limits.bin,
                                    /*ext=*/0, limits.depth);
  std::size_t offset = 0;
  try {
    // The zone holds only the object tree (str/bin bodies stay in `bytes`): start it small
    // for small messages instead of msgpack's default 8 KiB chunk, which costs a large
    // malloc/free per message on the data path.
    auto zone = std::make_unique<msgpack::zone>(
        std::clamp<std::size_t>(bytes.size() * 2, 256, MSGPACK_ZONE_CHUNK_SIZE));
    bool referenced = false;
    msgpack::object obj =
        msgpack::unpack(*zone, reinterpret_cast<const char*>(bytes.data()), bytes.size(), offset,
                        referenced, &reference_all, nullptr, limit);
    if (offset != bytes.size()) {
      return make_error(StatusCode::malformed, "trailing bytes after message");
    }
    return msgpack::object_handle(obj, std::move(zone));
  } catch (const msgpack::insufficient_bytes&) {
    return make_error(StatusCode::malformed, "truncated message");
  } catch (const msgpack::depth_size_overflow&) {
    return make_error(StatusCode::too_large, "nesting too deep");
  } catch (const msgpack::size_overflow& e) {
    return make_error(StatusCode::too_large, std::string("size limit: ") + e.what());
  } catch (const std::bad_alloc&) {
    return make_error(StatusCode::too_large, "message needs too much memory");
  } catch (const std::exception& e) {
    return make_error(StatusCode::malformed, e.what());
  }
}

ObjectReader::ObjectReader(const msgpack::object& obj, std::size_t min_size) {
  if (obj.type != msgpack::type::ARRAY || obj.via.array.size < min_size) {
    ok_ = false;
    return;
  }
  items_ = obj.via.array.ptr;
  size_ = obj.via.array.size;
}

const msgpack::object* ObjectReader::next() {
  if (!ok_ || index_ >= size_) {
    ok_ = false;
    return nullptr;
  }
  return &items_[index_++];
}

bool ObjectReader::u64(std::uint64_t& out) {
  const msgpack::object* o = next();
  if (o == nullptr || o->type != msgpack::type::POSITIVE_INTEGER) return fail();
  out = o->via.u64;
  return true;
}

bool ObjectReader::i64(std::int64_t& out) {
  const msgpack::object* o = next();
  if (o == nullptr) return fail();
  if (o->type == msgpack::type::NEGATIVE_INTEGER) {
    out = o->via.i64;
    return true;
  }
  if (o->type == msgpack::type::POSITIVE_INTEGER &&
      o->via.u64 <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    out = static_cast<std::int64_t>(o->via.u64);
    return true;
  }
  return fail();
}

bool ObjectReader::boolean(bool& out) {
  const msgpack::object* o = next();
  if (o == nullptr || o->type != msgpack::type::BOOLEAN) return fail();
  out = o->via.boolean;
  return true;
}

bool ObjectReader::str(std::string_view& out, std::size_t max_len) {
  const msgpack::object* o = next();
  if (o == nullptr || o->type != msgpack::type::STR || o->via.str.size > max_len) return fail();
  out = std::string_view(o->via.str.ptr, o->via.str.size);
  return true;
}

bool ObjectReader::str(std::string& out, std::size_t max_len) {
  std::string_view view;
  if (!str(view, max_len)) return false;
  out.assign(view);
  return true;
}

bool ObjectReader::bin(std::span<const std::uint8_t>& out, std::size_t max_len) {
  const msgpack::object* o = next();
  if (o == nullptr || o->type != msgpack::type::BIN || o->via.bin.size > max_len) return fail();
  out = std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(o->via.bin.ptr),
                                      o->via.bin.size);
  return true;
}

bool ObjectReader::bin(std::string& out, std::size_t max_len) {
  std::span<const std::uint8_t> view;
  if (!bin(view, max_len)) return false;
  out.assign(reinterpret_cast<const char*>(view.data()), view.size());
  return true;
}

bool ObjectReader::object(const msgpack::object*& out) {
  out = next();
  return out != nullptr;
}

bool ObjectReader::skip() { return next() != nullptr; }

Status ObjectReader::error(std::string_view what) const {
  return make_error(StatusCode::malformed, std::string(what));
}

}  // namespace apiary::wire
