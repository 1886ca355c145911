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

Result<VersionedEntry> read_entry(wire::Reader& parent, const EntryLimits& limits) {
  wire::Reader r;
  VersionedEntry e;
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
  if (has_expiry) e.expiry = WallTime{expiry_ms};
  return e;
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
