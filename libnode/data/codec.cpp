#include "apiary/data/codec.hpp"

#include <algorithm>
#include <string>

namespace apiary::data {

namespace {

// A sibling on the wire: actor, counter, stamp, kind (ValueKind), bin value.
constexpr std::size_t kSiblingFields = 5;

wire::UnpackLimits unpack_limits(const CodecLimits& limits) {
  wire::UnpackLimits u;
  u.array = std::max(2 * limits.max_clock_entries, kSiblingFields * limits.max_siblings) + 2;
  u.map = 0;
  u.str = 0;
  u.bin = limits.max_value_bytes;
  u.depth = 3;
  return u;
}

// False unless `obj` is an array; an empty array gives items == nullptr and size 0.
bool array_items(const msgpack::object& obj, const msgpack::object*& items, std::size_t& size) {
  if (obj.type != msgpack::type::ARRAY) return false;
  size = obj.via.array.size;
  items = obj.via.array.ptr;
  return true;
}

bool read_u64(const msgpack::object& o, std::uint64_t& out) {
  if (o.type != msgpack::type::POSITIVE_INTEGER) return false;
  out = o.via.u64;
  return true;
}

}  // namespace

void pack_context(wire::Packer& packer, const VersionVector& context) {
  packer.pack_array(static_cast<std::uint32_t>(2 * context.size()));
  for (const auto& e : context.entries()) {
    packer.pack_uint64(e.actor.value);
    packer.pack_uint64(e.counter);
  }
}

Result<VersionVector> read_context(const msgpack::object& obj, const CodecLimits& limits) {
  std::size_t n = 0;
  const msgpack::object* items = nullptr;
  if (!array_items(obj, items, n) || n % 2 != 0) {
    return make_error(StatusCode::malformed, "context: not an even-length array");
  }
  if (n / 2 > limits.max_clock_entries) return make_error(StatusCode::too_large, "context");
  std::vector<VvEntry> entries;
  entries.reserve(n / 2);
  for (std::size_t i = 0; i < n; i += 2) {
    VvEntry e;
    if (!read_u64(items[i], e.actor.value) || !read_u64(items[i + 1], e.counter) ||
        e.counter == 0 || (!entries.empty() && !(entries.back().actor < e.actor))) {
      return make_error(StatusCode::malformed, "context: bad entry");
    }
    entries.push_back(e);
  }
  return VersionVector::from_entries(std::move(entries));
}

void pack_dvv(wire::Packer& packer, const DvvSet& version) {
  packer.pack_array(2);
  packer.pack_array(static_cast<std::uint32_t>(3 * version.clock().size()));
  for (const auto& e : version.clock()) {
    packer.pack_uint64(e.actor.value);
    packer.pack_uint64(e.counter);
    packer.pack_uint64(e.stamp.packed);
  }
  packer.pack_array(static_cast<std::uint32_t>(kSiblingFields * version.siblings().size()));
  for (const auto& s : version.siblings()) {
    packer.pack_uint64(s.dot.actor.value);
    packer.pack_uint64(s.dot.counter);
    packer.pack_uint64(s.stamp.packed);
    packer.pack_uint64(static_cast<std::uint64_t>(s.kind));
    wire::pack_bin(
        packer, std::span(reinterpret_cast<const std::uint8_t*>(s.value.data()), s.value.size()));
  }
}

Result<DvvSet> read_dvv(const msgpack::object& obj, const CodecLimits& limits) {
  std::size_t n = 0;
  const msgpack::object* parts = nullptr;
  if (!array_items(obj, parts, n) || n != 2)
    return make_error(StatusCode::malformed, "dvv: not [clock, siblings]");
  std::size_t nc = 0;
  std::size_t ns = 0;
  const msgpack::object* c = nullptr;
  const msgpack::object* s = nullptr;
  if (!array_items(parts[0], c, nc) || !array_items(parts[1], s, ns) || nc % 3 != 0 ||
      ns % kSiblingFields != 0) {
    return make_error(StatusCode::malformed, "dvv: bad clock or sibling array");
  }
  if (nc / 3 > limits.max_clock_entries || ns / kSiblingFields > limits.max_siblings) {
    return make_error(StatusCode::too_large, "dvv: too many clock entries or siblings");
  }
  std::vector<ClockEntry> clock(nc / 3);
  for (std::size_t i = 0; i < clock.size(); ++i) {
    if (!read_u64(c[3 * i], clock[i].actor.value) || !read_u64(c[3 * i + 1], clock[i].counter) ||
        !read_u64(c[3 * i + 2], clock[i].stamp.packed)) {
      return make_error(StatusCode::malformed, "dvv: bad clock entry");
    }
  }
  std::vector<Sibling> siblings(ns / kSiblingFields);
  for (std::size_t i = 0; i < siblings.size(); ++i) {
    auto& sib = siblings[i];
    const msgpack::object* f = s + kSiblingFields * i;
    const msgpack::object& v = f[4];
    std::uint64_t kind = 0;
    if (!read_u64(f[0], sib.dot.actor.value) || !read_u64(f[1], sib.dot.counter) ||
        !read_u64(f[2], sib.stamp.packed) || !read_u64(f[3], kind) || kind > kMaxValueKind ||
        v.type != msgpack::type::BIN) {
      return make_error(StatusCode::malformed, "dvv: bad sibling");
    }
    sib.kind = static_cast<ValueKind>(kind);
    if (v.via.bin.size > limits.max_value_bytes) {
      return make_error(StatusCode::too_large, "dvv: value too large");
    }
    sib.value.assign(v.via.bin.ptr, v.via.bin.size);
  }
  return DvvSet::from_parts(std::move(clock), std::move(siblings));
}

std::vector<std::uint8_t> encode_dvv(const DvvSet& version) {
  std::vector<std::uint8_t> out;
  wire::VectorSink sink(out);
  wire::Packer packer(sink);
  pack_dvv(packer, version);
  return out;
}

Result<DvvSet> decode_dvv(std::span<const std::uint8_t> bytes, const CodecLimits& limits) {
  return wire::guard_decode("dvv", [&]() -> Result<DvvSet> {
    auto handle = wire::unpack_bounded(bytes, unpack_limits(limits));
    if (!handle.ok()) return handle.status();
    return read_dvv(handle.value().get(), limits);
  });
}

std::string encode_context(const VersionVector& context) {
  std::vector<std::uint8_t> out;
  wire::VectorSink sink(out);
  wire::Packer packer(sink);
  pack_context(packer, context);
  return std::string(out.begin(), out.end());
}

static Result<VersionVector> decode_context_unguarded(std::span<const std::uint8_t> bytes,
                                                      std::size_t max_entries) {
  CodecLimits limits;
  limits.max_clock_entries = max_entries;
  limits.max_siblings = 0;
  limits.max_value_bytes = 0;
  wire::UnpackLimits u;
  u.array = 2 * max_entries;
  u.map = 0;
  u.str = 0;
  u.bin = 0;
  u.depth = 2;
  auto handle = wire::unpack_bounded(bytes, u);
  if (!handle.ok()) return handle.status();
  return read_context(handle.value().get(), limits);
}

Result<VersionVector> decode_context(std::span<const std::uint8_t> bytes, std::size_t max_entries) {
  return wire::guard_decode("causal context",
                            [&] { return decode_context_unguarded(bytes, max_entries); });
}

}  // namespace apiary::data
