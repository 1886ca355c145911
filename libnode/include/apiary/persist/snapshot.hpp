// Snapshot files: the whole table at one moment, loaded at start when no AOF is enabled.
//
//   snapshot = header("APIARYSN") [flush_horizon record] put record* snapshot_end record
//   snapshot_end payload = count:u64le chain:u32le, where count is the number of put records
//   and chain is crc32c over the checksum fields of every record before the trailer.
//
// Promises: write_snapshot writes a temporary file, syncs it and renames it into place, so
// a crash leaves the previous snapshot or the new one. load_snapshot returns every entry or
// an error -- never part of a file: a file that is truncated, has a bad checksum anywhere,
// lacks its trailer, has bytes after it, or whose count or chain disagree is rejected with
// `malformed` and a message saying what and where (`unsupported` for a newer format or an
// unknown critical record type). Costs: writing is one sequential pass plus one fdatasync
// and one directory fsync; loading holds every entry in memory before returning (about the
// table's size again, at start only). Thread-safety: that of the Env (PosixEnv: any thread,
// one call at a time per path).
#pragma once

#include <string>
#include <vector>

#include "apiary/base/hlc.hpp"
#include "apiary/persist/aof_rewrite.hpp"
#include "apiary/persist/env.hpp"
#include "apiary/persist/record.hpp"
#include "apiary/store/store.hpp"

namespace apiary::persist {

struct SnapshotContents {
  FileHeader header;
  HlcTimestamp flush_horizon;  // zero: none
  std::vector<store::VersionedEntry> entries;
};

// `flush_horizon` zero means none.
Result<WriteStats> write_snapshot(Env& env, const std::string& path, NodeId actor,
                                  HlcTimestamp flush_horizon, const EntrySource& next);

// The trailer that closes a snapshot written piecewise through an AtomicFileWriter (header
// kind snapshot, the flush horizon, `entries` puts): add it, then commit().
class AtomicFileWriter;
Status add_snapshot_trailer(AtomicFileWriter& writer, std::uint64_t entries);

Result<SnapshotContents> load_snapshot(Env& env, const std::string& path,
                                       const RecordLimits& limits = {});

}  // namespace apiary::persist
