// The records a Collection keeps its elements in (internal to libnode/data: collection.cpp
// and collection_merge.cpp).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/data/collection.hpp"

namespace apiary::data::records {

// The record of one element, in a page's bytes (never on the wire, which has encode()'s
// layout; integers little-endian, varints LEB128):
//
//   record  = length:varint body               (length = the body's bytes)
//   body    = tag:u16 name_length:varint name count:varint version{count}
//                                              (tag: the top 16 bits of the name's hash;
//                                               versions sorted by dot)
//   version = actor:u64 counter:varint stamp:u64 [kind:u8 value_length:varint value]
//                                              (kind and value in a hash only)
//
// A set member of 10 bytes costs 32 bytes and a hash field of 7 bytes with a 14-byte value
// 45, against a std::map node of 176 before. The tag lets a lookup pass the records before
// its element without hashing their names (records are in hash order, so tags only grow).
// Records are only ever written by collection.cpp and collection_merge.cpp, so reading them
// trusts their lengths.

inline constexpr std::uint64_t kElementHashSeed = 0x6170696172792d63ULL;  // "apiary-c"
// A page is split in two once it holds more than this many bytes (and two records). Small
// enough that rewriting a page on every write stays cheap, big enough that a page's own
// overhead (its Page slot and heap chunk) is a few bytes per element.
inline constexpr std::size_t kPageBytes = 2048;

// Heap bytes of a malloc'd request with glibc's 16-byte chunks and 8-byte header (the
// store's estimate, store/entry.cpp).
inline std::size_t chunk(std::size_t request) {
  const std::size_t n = (request + 8 + 15) & ~static_cast<std::size_t>(15);
  return n < 32 ? 32 : n;
}
inline std::size_t string_heap(const std::string& s) {
  return s.capacity() > 15 ? chunk(s.capacity() + 1) : 0;  // libstdc++'s inline buffer
}

inline std::size_t varint_size(std::uint64_t v) {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
inline void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
inline std::uint64_t get_varint(const char*& p) {
  std::uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    const auto byte = static_cast<unsigned char>(*p++);
    v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return v;
  }
}
inline void put_u64(std::string& out, std::uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out.append(b, 8);
}
inline std::uint64_t get_u64(const char*& p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  p += 8;
  return v;
}

// One version as a record holds it (the value points into the record).
struct VersionRef {
  Dot dot;
  HlcTimestamp stamp;
  ValueKind kind = ValueKind::string;
  std::string_view value;
};

// Calls fn(VersionRef) for each of the `count` versions in `body`.
template <typename Fn>
inline void for_each_version(std::string_view body, std::size_t count, bool hash, Fn&& fn) {
  const char* p = body.data();
  for (std::size_t i = 0; i < count; ++i) {
    VersionRef v;
    v.dot.actor.value = get_u64(p);
    v.dot.counter = get_varint(p);
    v.stamp.packed = get_u64(p);
    if (hash) {
      v.kind = static_cast<ValueKind>(static_cast<unsigned char>(*p++));
      const std::size_t n = get_varint(p);
      v.value = std::string_view(p, n);
      p += n;
    }
    fn(v);
  }
}

inline std::size_t version_size(const VersionRef& v, bool hash) {
  return 16 + varint_size(v.dot.counter) +
         (hash ? 1 + varint_size(v.value.size()) + v.value.size() : 0);
}

inline std::uint16_t tag_of(std::uint64_t name_hash) {
  return static_cast<std::uint16_t>(name_hash >> 48);
}

// A whole record for `name` (whose hash is `h`) holding `versions` (sorted by dot, not empty).
inline std::string make_record(std::uint64_t h, std::string_view name,
                               std::span<const VersionRef> versions, bool hash) {
  std::size_t body = 2 + varint_size(name.size()) + name.size() + varint_size(versions.size());
  for (const auto& v : versions) body += version_size(v, hash);
  std::string out;
  out.reserve(varint_size(body) + body);
  put_varint(out, body);
  const std::uint16_t tag = tag_of(h);
  out.push_back(static_cast<char>(tag & 0xff));
  out.push_back(static_cast<char>(tag >> 8));
  put_varint(out, name.size());
  out.append(name);
  put_varint(out, versions.size());
  for (const auto& v : versions) {
    put_u64(out, v.dot.actor.value);
    put_varint(out, v.dot.counter);
    put_u64(out, v.stamp.packed);
    if (hash) {
      out.push_back(static_cast<char>(v.kind));
      put_varint(out, v.value.size());
      out.append(v.value);
    }
  }
  return out;
}

// The tag of a record (its first body bytes).
inline std::uint16_t record_tag(std::string_view record) {
  const char* p = record.data();
  get_varint(p);
  return static_cast<std::uint16_t>(static_cast<unsigned char>(p[0]) |
                                    (static_cast<unsigned char>(p[1]) << 8));
}

// The record starting at `p`: its whole bytes.
inline std::string_view record_at(const char* p) {
  const char* q = p;
  const std::size_t body = get_varint(q);
  return std::string_view(p, static_cast<std::size_t>(q - p) + body);
}

// What encode() writes for a record, at most (see Collection::encoded_size()): msgpack's
// headers against the record's varints cost at most 5 more bytes for the name and the version
// array, and 10 more per version (actor and stamp 1 each, the counter 4, the value's bin 4);
// the record's 2-byte tag is not encoded.
inline std::size_t wire_bound(std::string_view record, std::size_t versions) {
  return record.size() + 3 + 10 * versions;
}

inline bool key_less(std::uint64_t ha, std::string_view a, std::uint64_t hb, std::string_view b) {
  return ha != hb ? ha < hb : a < b;
}

inline std::vector<Sibling> as_siblings(const std::vector<ElementVersion>& versions) {
  std::vector<Sibling> out;
  out.reserve(versions.size());
  for (const auto& v : versions) out.push_back(Sibling{v.dot, v.stamp, v.value, v.kind});
  return out;
}

}  // namespace apiary::data::records
