// `apiary backup --http ADDR --out DIR` and `apiary restore DIR --http ADDR`
// (docs/persistence.md, "Backup and restore").
//
// Backup reads every partition once, from its coordinator (its first live owner, which holds
// every acknowledged write), page by page with APIARY.EXPORT over the member's Redis port,
// and writes it to its own snapshot file; a member that fails mid-way is dropped and the
// partition is read again from its next live owner. Each partition is consistent as that
// member held it when it was read; partitions are read one after the other.
//
// Restore checks every file against the manifest first (a damaged backup restores nothing),
// then sends each entry as `APIARY.MERGE key entry` to one live member of the target cluster,
// pipelined; the cluster routes each key to its coordinator and replicates it, so any node
// and partition count works, and merging by version vector never replaces a newer write.
// A connection that fails is replaced by another live member and the batch sent again
// (merging is idempotent). With `overwrite`, SETs replace the merges (RestoreOptions).
// Single-threaded, blocking. Output on stdout, problems on stderr.
#pragma once

#include <cstddef>
#include <string>

namespace apiary::cli {

struct BackupOptions {
  std::string http_addr;    // any node's HTTP admin address
  std::string out_dir;      // created if missing; must not hold a backup already
  std::size_t page = 1000;  // entries per APIARY.EXPORT call
};

struct RestoreOptions {
  std::string dir;
  std::string http_addr;    // any node's HTTP admin address of the target cluster
  std::size_t batch = 256;  // commands in flight
  // Write each key's value as a new SET (with PXAT) instead of merging versions: replaces
  // what the cluster holds now, and works after a FLUSHALL, whose horizon discards merged
  // entries written before it. Counters and siblings come back as the value GET answered;
  // keys deleted at the backup are left alone.
  bool overwrite = false;
};

// Exit status 0: every partition backed up; 1: some could not be (the manifest lists them),
// or the cluster or the directory could not be used.
int run_backup(const BackupOptions& options);
// Exit status 0: every entry merged (changed or already held) or written; 1: the backup is
// damaged, the cluster unreachable, or some command was refused.
int run_restore(const RestoreOptions& options);

}  // namespace apiary::cli
