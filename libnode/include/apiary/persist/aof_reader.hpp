// AofReader: loads an append-only file record by record and stops at the last whole,
// checksummed record, reporting the byte offset where the good part ends and why it ended,
// so the node can log one clear line ("AOF: 10234 records, stopped at offset 1048571 of
// 1048600: truncated ...") and `apiary check-aof` can repair the file.
//
// Promises (on top of FrameReader's bounds): records come out in file order; a put, remove,
// flush or collection delta record is returned only if its frame is whole, its checksum matches and its payload
// decodes; the records of a group (one event-loop pass) are returned only when the whole
// group is sound, so a torn group is cut off whole; optional record types (>= 128) that this build does not know are skipped;
// an unknown critical type stops the load with `unsupported` (the file came from a newer
// Apiary: never truncate it). After the last record, report() says what was read.
// Not thread-safe.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "apiary/persist/env.hpp"
#include "apiary/persist/frame_reader.hpp"
#include "apiary/persist/record.hpp"

namespace apiary::persist {

struct AofLoadReport {
  bool has_header = false;
  FileHeader header;
  std::uint64_t records = 0;           // put, remove, flush and delta records returned
  std::uint64_t skipped_optional = 0;  // optional records of unknown type, skipped
  std::uint64_t good_offset = 0;       // end of the last whole record
  std::uint64_t file_size = 0;
  StopReason reason = StopReason::none;
  std::string detail;

  // The file ended right after a whole record (nothing to repair).
  bool clean() const { return reason == StopReason::end_of_file; }
  // Truncating to good_offset would repair it (not for unsupported or I/O errors).
  bool repairable() const {
    return reason == StopReason::truncated || reason == StopReason::bad_checksum ||
           reason == StopReason::bad_record;
  }
  std::uint64_t bytes_after_good() const { return file_size - good_offset; }
  // One line for a log: records, offsets, reason and detail.
  std::string summary() const;
};

class AofReader {
 public:
  // Errors as FrameReader::open: not_found, io_error, malformed (not an AOF), unsupported
  // (a newer format version).
  static Result<std::unique_ptr<AofReader>> open(Env& env, const std::string& path,
                                                 const RecordLimits& limits = {});

  // The next record, or nothing once the load stopped (see report()).
  std::optional<Record> next();
  // Where the record next() returned last starts in the file (for messages about it).
  std::uint64_t last_offset() const { return last_offset_; }
  AofLoadReport report() const;

 private:
  AofReader(std::unique_ptr<FrameReader> frames, RecordLimits limits);

  std::unique_ptr<FrameReader> frames_;
  RecordLimits limits_;
  std::deque<Record> grouped_;  // the rest of the group being returned
  std::uint64_t records_ = 0;
  std::uint64_t skipped_ = 0;
  std::uint64_t last_offset_ = 0;
};

// Reads a whole AOF, handing each record to `apply` in order; returns the report (a torn or
// corrupt tail is a report, not an error; open errors are errors).
Result<AofLoadReport> load_aof(Env& env, const std::string& path,
                               const std::function<void(Record&&)>& apply,
                               const RecordLimits& limits = {});

}  // namespace apiary::persist
