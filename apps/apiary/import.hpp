// `apiary import FILE --http ADDR`: loads a Redis RDB file into a running cluster
// (docs/persistence.md, "Importing from Redis").
//
// The file is read twice: once whole, to check it (encodings, checksum) before anything is
// written, so a damaged file imports nothing; then key by key to one live member's Redis port
// (every node routes a write to its key's coordinator), pipelined in batches: a string key as
// `SET key value [PXAT ms]`, a hash as `HSET key field value ...` and a set as `SADD key
// member ...` in commands of at most 1000 elements or 1 MiB, then `PEXPIREAT key ms` once
// those were acknowledged, if it expires. Keys of other types (lists, sorted sets, streams,
// modules) are counted by type and reported; keys already expired are counted and left out;
// hash fields keep their values but not their own TTLs (Redis 7.4), which Apiary does not
// have. Single-threaded, blocking.
#pragma once

#include <cstddef>
#include <string>

namespace apiary::cli {

struct ImportOptions {
  std::string path;
  std::string http_addr;    // any node's HTTP admin address
  bool dry_run = false;     // check and report, connect to nothing
  std::size_t batch = 512;  // commands per pipelined batch (SET, HSET, SADD, PEXPIREAT)
};

// Prints progress and a summary on stdout, problems on stderr. Exit status: 0 imported (or
// checked, with dry_run), 1 the file is unreadable or damaged, the cluster unreachable, or a
// write was refused.
int run_import(const ImportOptions& options);

}  // namespace apiary::cli
