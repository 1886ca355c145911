// AtomicFileWriter: writes a whole persistence file under a
// temporary name (`path` + ".tmp"), then syncs it and renames it over `path`, so a crash
// leaves the old file or the complete new one, never half of one. The AOF rewrite and the
// snapshot writer share it, and the node writes its background snapshots and rewrites
// through it a slice at a time. Records are buffered and written 1 MiB at a time.
// Not thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "apiary/persist/aof_rewrite.hpp"
#include "apiary/persist/env.hpp"
#include "apiary/persist/record.hpp"

namespace apiary::persist {

class AtomicFileWriter {
 public:
  // Creates the temporary file and buffers the header (format kFormatVersion).
  static Result<std::unique_ptr<AtomicFileWriter>> begin(Env& env, const std::string& path,
                                                         FileKind kind, NodeId actor);
  ~AtomicFileWriter();  // removes the temporary file unless commit() succeeded

  Status add(const Record& record);
  Status add_frame(RecordType type, std::span<const std::uint8_t> payload);
  // A table: the flush horizon (when not zero), then one put per entry of `next`; returns how
  // many entries it added.
  Result<std::uint64_t> add_table(HlcTimestamp flush_horizon, const EntrySource& next);
  // Writes what is buffered and syncs the temporary file: a writer filling a big file a slice
  // at a time syncs every few MiB, so that commit()'s final sync (on the caller's thread) has
  // little left to flush.
  Status sync();
  std::uint64_t synced() const { return synced_; }  // bytes() as of the last sync
  // Flushes, syncs, closes and renames into place.
  Status commit();

  std::uint64_t records() const { return records_; }
  std::uint64_t bytes() const { return bytes_; }  // header included
  // crc32c over the checksum fields (u32le) of every record added so far, in order.
  std::uint32_t chained_crc() const { return chained_crc_; }

 private:
  AtomicFileWriter(Env& env, std::string path, std::unique_ptr<WritableFile> file);
  Status added(std::size_t frame_start);

  Env& env_;
  std::string path_;
  std::string temp_path_;
  std::unique_ptr<WritableFile> file_;
  std::vector<std::uint8_t> buffer_;
  std::uint64_t records_ = 0;
  std::uint64_t bytes_ = 0;
  std::uint32_t chained_crc_ = 0;
  std::uint64_t synced_ = 0;
  bool committed_ = false;
};

// A whole table file of `kind`: header, flush horizon (when not zero), one put per entry of
// `next`, then whatever `finish` adds (the snapshot trailer), committed atomically.
using FinishTable = std::function<Status(AtomicFileWriter& writer, std::uint64_t entries)>;
Result<WriteStats> write_table_file(Env& env, const std::string& path, FileKind kind, NodeId actor,
                                    HlcTimestamp flush_horizon, const EntrySource& next,
                                    const FinishTable& finish = {});

}  // namespace apiary::persist
