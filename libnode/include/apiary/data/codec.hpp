// MessagePack codec for version vectors and DvvSets, for node-to-node messages (replication,
// handoff, anti-entropy). Internal to libnode: includes msgpack, so never include it from an
// embedding header (contexts cross that boundary as opaque bytes, see version_vector.hpp).
//
// Layout (arrays, so a reader can bound every size before allocating):
//   VersionVector: [actor0, counter0, actor1, counter1, ...]          actors increasing
//   DvvSet:        [[actor, counter, stamp, ...], [actor, counter, stamp, kind, bin value, ...]]
//                  kind: ValueKind (0 string, 1 counter, 2 hash, 3 set; larger kinds are
//                  malformed); a hash's or set's value is its Collection::encode()
// Decoding checks every bound and invariant (DvvSet::from_parts) and returns `malformed` or
// `too_large` on hostile input; it never throws. Thread-safe (pure functions).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "apiary/data/dvv.hpp"
#include "apiary/data/version_vector.hpp"
#include "apiary/wire/msgpack_codec.hpp"

namespace apiary::data {

struct CodecLimits {
  std::size_t max_clock_entries = 256;
  std::size_t max_siblings = 64;
  std::size_t max_value_bytes = 64u << 20;
};

void pack_context(wire::Packer& packer, const VersionVector& context);
// read_*: the next element of `parent`.
Result<VersionVector> read_context(wire::Reader& parent, const CodecLimits& limits = {});

void pack_dvv(wire::Packer& packer, const DvvSet& version);
Result<DvvSet> read_dvv(wire::Reader& parent, const CodecLimits& limits = {});

// Whole-buffer helpers: one object spanning exactly `bytes`.
std::vector<std::uint8_t> encode_dvv(const DvvSet& version);
Result<DvvSet> decode_dvv(std::span<const std::uint8_t> bytes, const CodecLimits& limits = {});

}  // namespace apiary::data
