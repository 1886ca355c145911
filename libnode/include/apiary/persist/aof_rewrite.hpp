// rewrite_aof: writes a compacted append-only file -- the flush horizon (if any), then one put
// per entry the caller's source yields -- under a temporary name, syncs it and renames it
// over `path` (Redis's BGREWRITEAOF, minus the background part).
//
// Promises: a crash at any point leaves either the old file or the complete new one. The
// new file's header carries `actor`. Cost: one sequential write of the whole live data set
// plus one fdatasync and one directory fsync; memory: a 1 MiB buffer. It runs on the calling
// thread: the node must give it a consistent source (a snapshot of the table, or a scan
// plus the records appended meanwhile -- see docs/persistence.md, "Not wired yet"), and
// reopen its AofWriter on the new file afterwards (the old writer's handle still points at
// the replaced file).
// Thread-safety: that of the Env (PosixEnv: any thread, one call at a time per path).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "apiary/base/hlc.hpp"
#include "apiary/base/ids.hpp"
#include "apiary/persist/env.hpp"
#include "apiary/store/store.hpp"

namespace apiary::persist {

// Fills `out` with the next entry and returns true, or returns false when there are no more.
using EntrySource = std::function<bool(store::VersionedEntry& out)>;

struct WriteStats {
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;  // size of the file written
};

// `flush_horizon` zero means none.
Result<WriteStats> rewrite_aof(Env& env, const std::string& path, NodeId actor,
                               HlcTimestamp flush_horizon, const EntrySource& next);

}  // namespace apiary::persist
