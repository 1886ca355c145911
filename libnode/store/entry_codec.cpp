#include "apiary/store/entry_codec.hpp"

#include <string>

#include "apiary/data/codec.hpp"

namespace apiary::store {

namespace {

constexpr std::size_t kEntryFields = 4;

data::CodecLimits dvv_limits(const EntryLimits& limits) {
  data::CodecLimits c;
  c.max_clock_entries = limits.max_clock_entries;
  c.max_siblings = limits.max_siblings;
  c.max_value_bytes = limits.max_value_bytes;
  return c;
}

}  // namespace

void pack_entry(wire::Packer& packer, const VersionedEntry& entry) {
  packer.pack_array(kEntryFields);
  wire::pack_bin(
      packer, std::span(reinterpret_cast<const std::uint8_t*>(entry.key.data()), entry.key.size()));
  data::pack_dvv(packer, entry.version);
  packer.pack(entry.expiry.has_value());
  packer.pack_int64(entry.expiry ? entry.expiry->ms : 0);
}

Status read_entry_into(wire::Reader& parent, const EntryLimits& limits, VersionedEntry& e) {
  wire::Reader r;
  if (!parent.array(r, kEntryFields) || r.size() != kEntryFields ||
      !r.bin(e.key, limits.max_key_bytes)) {
    return make_error(StatusCode::malformed, "entry: not [key, dvv, has_expiry, expiry_ms]");
  }
  auto version = data::read_dvv(r, dvv_limits(limits));
  if (!version.ok()) return version.status();
  bool has_expiry = false;
  std::int64_t expiry_ms = 0;
  if (!r.boolean(has_expiry) || !r.i64(expiry_ms)) {
    return make_error(StatusCode::malformed, "entry: not [key, dvv, has_expiry, expiry_ms]");
  }
  e.version = std::move(version).value();
  e.expiry = has_expiry ? std::optional<WallTime>(WallTime{expiry_ms}) : std::nullopt;
  return Status::Ok();
}

Result<VersionedEntry> read_entry(wire::Reader& parent, const EntryLimits& limits) {
  VersionedEntry e;
  if (Status s = read_entry_into(parent, limits, e); !s.ok()) return s;
  return e;
}

namespace {
constexpr std::size_t kDeltaFields = 10;
constexpr std::size_t kChangeFields = 4;

void pack_bytes(wire::Packer& packer, std::string_view bytes) {
  wire::pack_bin(packer,
                 std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}
}  // namespace

void pack_delta(wire::Packer& packer, const CollectionDelta& delta) {
  packer.pack_array(kDeltaFields);
  pack_bytes(packer, delta.key);
  packer.pack_uint64(static_cast<std::uint64_t>(delta.kind));
  data::pack_context(packer, delta.base);
  packer.pack_array(static_cast<std::uint32_t>(2 * delta.base_dots.size()));
  for (const auto& d : delta.base_dots) {
    packer.pack_uint64(d.actor.value);
    packer.pack_uint64(d.counter);
  }
  packer.pack_uint64(delta.dot.actor.value);
  packer.pack_uint64(delta.dot.counter);
  packer.pack_uint64(delta.stamp.packed);
  packer.pack(delta.expiry.has_value());
  packer.pack_int64(delta.expiry ? delta.expiry->ms : 0);
  packer.pack_array(static_cast<std::uint32_t>(kChangeFields * delta.changes.size()));
  for (const auto& c : delta.changes) {
    packer.pack_uint64(static_cast<std::uint64_t>(c.kind));
    pack_bytes(packer, c.name);
    pack_bytes(packer, c.value);
    packer.pack_uint64(static_cast<std::uint64_t>(c.value_kind));
  }
}

Result<CollectionDelta> read_delta(wire::Reader& parent, const EntryLimits& limits) {
  const auto bad = [](std::string_view what) {
    return make_error(StatusCode::malformed, "delta: " + std::string(what));
  };
  wire::Reader r;
  CollectionDelta d;
  std::uint64_t kind = 0;
  if (!parent.array(r, kDeltaFields) || r.size() != kDeltaFields ||
      !r.bin(d.key, limits.max_key_bytes) || !r.u64(kind) || kind > data::kMaxValueKind ||
      !data::is_collection(static_cast<data::ValueKind>(kind))) {
    return bad("header");
  }
  d.kind = static_cast<data::ValueKind>(kind);
  data::CodecLimits context_limits;
  context_limits.max_clock_entries = limits.max_clock_entries;
  auto base = data::read_context(r, context_limits);
  if (!base.ok()) return base.status();
  d.base = std::move(base).value();
  bool has_expiry = false;
  std::int64_t expiry_ms = 0;
  wire::Reader dots;
  if (!r.array(dots) || dots.size() % 2 != 0 || dots.size() / 2 > limits.max_siblings) {
    return bad("base dots");
  }
  d.base_dots.resize(dots.size() / 2);
  for (auto& dot : d.base_dots) {
    if (!dots.u64(dot.actor.value) || !dots.u64(dot.counter)) return bad("base dots");
  }
  if (!r.u64(d.dot.actor.value) || !r.u64(d.dot.counter) || d.dot.counter == 0 ||
      !r.u64(d.stamp.packed) || !r.boolean(has_expiry) || !r.i64(expiry_ms)) {
    return bad("dots");
  }
  if (has_expiry) d.expiry = WallTime{expiry_ms};
  wire::Reader changes;
  if (!r.array(changes) || changes.size() % kChangeFields != 0) return bad("changes");
  while (changes.remaining() > 0) {
    data::ElementChange c;
    std::uint64_t change_kind = 0, value_kind = 0;
    if (!changes.u64(change_kind) || change_kind > 2 || !changes.bin(c.name, limits.max_value_bytes) ||
        !changes.bin(c.value, limits.max_value_bytes) || !changes.u64(value_kind) ||
        value_kind > 1) {
      return bad("change");
    }
    c.kind = static_cast<data::ElementChange::Kind>(change_kind);
    c.value_kind = static_cast<data::ValueKind>(value_kind);
    d.changes.push_back(std::move(c));
  }
  return d;
}

std::vector<std::uint8_t> encode_entry(const VersionedEntry& entry) {
  std::vector<std::uint8_t> out;
  wire::VectorSink sink(out);
  wire::Packer packer(sink);
  pack_entry(packer, entry);
  return out;
}

Result<VersionedEntry> decode_entry(std::span<const std::uint8_t> bytes,
                                    const EntryLimits& limits) {
  return wire::guard_decode("entry", [&]() -> Result<VersionedEntry> {
    wire::Reader whole(bytes, wire::Reader::kSingle);
    auto e = read_entry(whole, limits);
    if (e.ok() && !whole.at_end()) return make_error(StatusCode::malformed, "entry: trailing bytes");
    return e;
  });
}

}  // namespace apiary::store
