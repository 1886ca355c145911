#include "apiary/data/codec.hpp"

#include <algorithm>
#include <limits>
#include <string>

#include "apiary/data/collection.hpp"

namespace apiary::data {

namespace {

// A sibling on the wire: actor, counter, stamp, kind (ValueKind), bin value.
constexpr std::size_t kSiblingFields = 5;

}  // namespace

void pack_context(wire::Packer& packer, const VersionVector& context) {
  packer.pack_array(static_cast<std::uint32_t>(2 * context.size()));
  for (const auto& e : context.entries()) {
    packer.pack_uint64(e.actor.value);
    packer.pack_uint64(e.counter);
  }
}

Result<VersionVector> read_context(wire::Reader& parent, const CodecLimits& limits) {
  wire::Reader items;
  if (!parent.array(items) || items.size() % 2 != 0) {
    return make_error(StatusCode::malformed, "context: not an even-length array");
  }
  if (items.size() / 2 > limits.max_clock_entries) {
    return make_error(StatusCode::too_large, "context");
  }
  std::vector<VvEntry> entries;
  entries.reserve(items.size() / 2);
  while (items.remaining() > 0) {
    VvEntry e;
    if (!items.u64(e.actor.value) || !items.u64(e.counter) || e.counter == 0 ||
        (!entries.empty() && !(entries.back().actor < e.actor))) {
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
    const std::string encoded = s.collection != nullptr ? s.collection->encode() : std::string();
    const std::string& bytes = s.collection != nullptr ? encoded : s.value;
    wire::pack_bin(packer,
                   std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
  }
}

Result<DvvSet> read_dvv(wire::Reader& parent, const CodecLimits& limits) {
  wire::Reader parts;
  if (!parent.array(parts) || parts.size() != 2) {
    return make_error(StatusCode::malformed, "dvv: not [clock, siblings]");
  }
  wire::Reader c;
  if (!parts.array(c) || c.size() % 3 != 0) {
    return make_error(StatusCode::malformed, "dvv: bad clock array");
  }
  if (c.size() / 3 > limits.max_clock_entries) {
    return make_error(StatusCode::too_large, "dvv: too many clock entries");
  }
  std::vector<ClockEntry> clock(c.size() / 3);
  for (auto& e : clock) {
    if (!c.u64(e.actor.value) || !c.u64(e.counter) || !c.u64(e.stamp.packed)) {
      return make_error(StatusCode::malformed, "dvv: bad clock entry");
    }
  }
  wire::Reader s;
  if (!parts.array(s) || s.size() % kSiblingFields != 0) {
    return make_error(StatusCode::malformed, "dvv: bad sibling array");
  }
  if (s.size() / kSiblingFields > limits.max_siblings) {
    return make_error(StatusCode::too_large, "dvv: too many siblings");
  }
  std::vector<Sibling> siblings(s.size() / kSiblingFields);
  for (auto& sib : siblings) {
    std::uint64_t kind = 0;
    std::span<const std::uint8_t> value;
    if (!s.u64(sib.dot.actor.value) || !s.u64(sib.dot.counter) || !s.u64(sib.stamp.packed) ||
        !s.u64(kind) || kind > kMaxValueKind) {
      return make_error(StatusCode::malformed, "dvv: bad sibling");
    }
    if (!s.bin(value, std::numeric_limits<std::size_t>::max())) {
      return make_error(StatusCode::malformed, "dvv: bad sibling value");
    }
    if (value.size() > limits.max_value_bytes) {
      return make_error(StatusCode::too_large, "dvv: value too large");
    }
    sib.kind = static_cast<ValueKind>(kind);
    const std::string_view bytes(reinterpret_cast<const char*>(value.data()), value.size());
    if (is_collection(sib.kind)) {
      auto collection = Collection::decode(bytes);
      if (!collection.ok()) return collection.status();
      if (collection.value().kind() != sib.kind) {
        return make_error(StatusCode::malformed, "dvv: collection of another kind");
      }
      sib.collection = std::make_shared<Collection>(std::move(collection).value());
    } else {
      sib.value.assign(bytes);
    }
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
    wire::Reader whole(bytes, wire::Reader::kSingle);
    auto dvv = read_dvv(whole, limits);
    if (dvv.ok() && !whole.at_end()) return make_error(StatusCode::malformed, "dvv: trailing bytes");
    return dvv;
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
  wire::Reader whole(bytes, wire::Reader::kSingle);
  auto context = read_context(whole, limits);
  if (context.ok() && !whole.at_end()) {
    return make_error(StatusCode::malformed, "context: trailing bytes");
  }
  return context;
}

Result<VersionVector> decode_context(std::span<const std::uint8_t> bytes, std::size_t max_entries) {
  return wire::guard_decode("causal context",
                            [&] { return decode_context_unguarded(bytes, max_entries); });
}

}  // namespace apiary::data
