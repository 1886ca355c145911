// MessagePack codec for one store::VersionedEntry: the entry exactly as replication ships it
// (libnode/replication/messages.hpp, "entry") and as the persistence files store it
// (docs/persistence.md), so a record on disk and a record on the wire are the same bytes.
//
// Layout: [key (bin), dvv (data/codec.hpp), has_expiry (bool), expiry_ms (int64, 0 if none)]
// The expiry is absolute (WallTime, ms since the Unix epoch), so a reloaded entry expires
// when it would have expired without the restart.
//
// Decoding checks every bound (EntryLimits) and the DvvSet invariants and returns
// `malformed` or `too_large`; it never throws. Pure functions, thread-safe. Internal to
// libnode (includes msgpack): never include it from an embedding header.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "apiary/base/status.hpp"
#include "apiary/store/store.hpp"
#include "apiary/wire/msgpack_codec.hpp"

namespace apiary::store {

struct EntryLimits {
  std::size_t max_key_bytes = 1u << 20;
  std::size_t max_value_bytes = 512u << 20;  // per sibling (Redis's proto-max-bulk-len)
  std::size_t max_siblings = 64;
  std::size_t max_clock_entries = 256;
};

void pack_entry(wire::Packer& packer, const VersionedEntry& entry);
// The next element of `parent`.
Result<VersionedEntry> read_entry(wire::Reader& parent, const EntryLimits& limits = {});
// The same into `out` (a message's list of entries: no moves of the entry).
Status read_entry_into(wire::Reader& parent, const EntryLimits& limits, VersionedEntry& out);

// A CollectionDelta (delta replication):
//   [key (bin), kind, base (context), [base sibling actor, counter, ...], actor, counter,
//    stamp, has_expiry, expiry_ms, [change kind, name (bin), value (bin), value kind, ...]]
void pack_delta(wire::Packer& packer, const CollectionDelta& delta);
Result<CollectionDelta> read_delta(wire::Reader& parent, const EntryLimits& limits = {});

// Whole-buffer helpers: one entry spanning exactly `bytes`.
std::vector<std::uint8_t> encode_entry(const VersionedEntry& entry);
Result<VersionedEntry> decode_entry(std::span<const std::uint8_t> bytes,
                                    const EntryLimits& limits = {});

}  // namespace apiary::store
