// Env: the storage seam. Every byte the persistence code writes, syncs, reads, renames,
// removes, lists or truncates goes through this interface (LevelDB's Env, TigerBeetle's
// storage), so the same AOF and snapshot code runs on real files (PosixEnv) and on the
// simulator's faulty in-memory disk (SimEnv).
//
// The durability contract every implementation keeps, and the persistence code relies on:
//  - WritableFile::append() hands bytes to the file; they may be lost in a crash until a
//    later sync() on that file returned ok. After a crash the file holds its synced bytes,
//    then possibly part of the unsynced region: usually a prefix of it (a torn tail), but
//    some file systems (XFS, ext4 without data=ordered) can bring it back as zeros or stale
//    blocks. Readers therefore trust nothing after the synced part that a checksum has not
//    vouched for.
//  - sync() makes everything appended so far durable, including the file's existence (the
//    first sync of a new file also syncs its directory). A failed sync returns io_error; the
//    unsynced bytes are then in an unknown state (Linux may drop the dirty pages), so the
//    caller must treat the file as failed, not retry and assume success.
//  - rename() atomically replaces `to` and is durable when it returns (the directory is
//    synced), as are remove() and truncate(). A crash leaves the old or the new name, never
//    neither.
//  - Paths are plain strings joined with '/'; no implementation interprets "." or "..".
// Errors are Statuses: io_error (the operation failed), not_found (no such file).
// Thread safety is per implementation (PosixEnv: any thread; SimEnv: one thread). Files must
// not outlive the Env that opened them.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "apiary/base/status.hpp"

namespace apiary::persist {

// A file open for appending. Not thread-safe; close() (or destruction) releases it.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status append(std::span<const std::uint8_t> bytes) = 0;
  virtual Status sync() = 0;  // data and size durable (fdatasync; plus the directory once)
  // Like sync() but the file's name need not be durable yet (a temporary file that a rename
  // will publish): the data only, without the directory's fsync.
  virtual Status sync_data() { return sync(); }
  virtual Status close() = 0;
  virtual std::uint64_t size() const = 0;  // bytes in the file, synced or not
};

// A file open for reading from the start. Not thread-safe.
class SequentialFile {
 public:
  virtual ~SequentialFile() = default;
  // Reads up to out.size() bytes; returns how many (0 only at the end of the file).
  virtual Result<std::size_t> read(std::span<std::uint8_t> out) = 0;
};

class Env {
 public:
  virtual ~Env() = default;

  // Creates `path` empty, replacing an existing file. What a crash before the first sync
  // leaves of the old or new contents is unspecified: write under a temporary name and
  // rename() it into place (aof_rewrite.hpp, snapshot.hpp do).
  virtual Result<std::unique_ptr<WritableFile>> create(const std::string& path) = 0;
  // Opens `path` for appending at its end, creating it if missing.
  virtual Result<std::unique_ptr<WritableFile>> open_append(const std::string& path) = 0;
  virtual Result<std::unique_ptr<SequentialFile>> open_read(const std::string& path) = 0;

  virtual Result<std::uint64_t> file_size(const std::string& path) = 0;
  virtual bool exists(const std::string& path) = 0;
  virtual Status rename(const std::string& from, const std::string& to) = 0;
  virtual Status remove(const std::string& path) = 0;
  virtual Status truncate(const std::string& path, std::uint64_t size) = 0;
  // File names (not paths) directly inside `dir`, sorted.
  virtual Result<std::vector<std::string>> list(const std::string& dir) = 0;
  virtual Status create_dir(const std::string& dir) = 0;  // ok if it exists; makes parents
};

// "dir/name" ("name" when dir is empty).
std::string join_path(const std::string& dir, const std::string& name);
// The directory part of a path ("" when it has none).
std::string parent_dir(const std::string& path);

}  // namespace apiary::persist
