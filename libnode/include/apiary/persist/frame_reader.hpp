// FrameReader: reads a persistence file (record.hpp) frame by frame through an Env and stops
// at the first frame that is not whole and checksummed, saying where and why. AofReader and
// the snapshot loader are built on it.
//
// Promises: never reads past the file size it saw at open; never allocates more than one
// frame, and a frame's length is checked against RecordLimits::max_record_bytes and against
// the bytes left in the file before anything is allocated, so a hostile or corrupt file can
// neither crash it, nor hang it, nor make it allocate unboundedly. good_offset() is always the
// end of the last whole frame (or of the header): truncating the file there leaves a valid
// file. Cost: one buffered sequential pass (64 KiB reads), one CRC per frame.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "apiary/persist/env.hpp"
#include "apiary/persist/record.hpp"

namespace apiary::persist {

// Why reading stopped.
enum class StopReason : std::uint8_t {
  none,          // not stopped yet
  end_of_file,   // clean: the file ends right after a whole frame
  truncated,     // the header or the last frame is cut short (a torn write)
  bad_checksum,  // a frame (or the header) whose checksum does not match
  bad_record,    // a checksummed frame with an impossible length or undecodable payload
  unsupported,   // a critical record type (or format version) this build does not know
  io_error,      // the Env failed to read
};
std::string_view to_string(StopReason reason);

struct Frame {
  std::uint8_t type = 0;
  std::uint32_t crc = 0;  // the frame's checksum (the snapshot trailer chains them)
  std::vector<std::uint8_t> payload;
  std::uint64_t offset = 0;  // where the frame starts in the file
};

class FrameReader {
 public:
  // Opens `path` and reads its header. Errors: not_found / io_error from the Env; malformed
  // when the first bytes are not a header of `kind` (wrong file, corrupt header).
  // A file shorter than a header whose bytes could begin one (a crash while creating it)
  // opens with has_header() false and stops at once with `truncated` at offset 0; an empty
  // file opens with has_header() false and stops with `end_of_file`.
  static Result<std::unique_ptr<FrameReader>> open(Env& env, const std::string& path, FileKind kind,
                                                   const RecordLimits& limits = {});

  bool has_header() const { return has_header_; }
  const FileHeader& header() const { return header_; }

  // The next whole, checksummed frame; false once stopped (then stop_reason() says why).
  bool next(Frame& out);
  // Marks the frame just returned as not acceptable (undecodable payload, unknown critical
  // type): reading stops with `reason`, and good_offset() goes back to where it started.
  void reject(const Frame& frame, StopReason reason, std::string detail);

  StopReason stop_reason() const { return reason_; }
  const std::string& stop_detail() const { return detail_; }
  std::uint64_t good_offset() const { return good_offset_; }
  std::uint64_t file_size() const { return file_size_; }
  std::uint64_t frames() const { return frames_; }  // whole frames returned (minus rejected)

 private:
  FrameReader(std::unique_ptr<SequentialFile> file, std::uint64_t size, RecordLimits limits);
  // Reads exactly out.size() bytes unless the file ends; returns how many it read.
  Result<std::size_t> read_fully(std::span<std::uint8_t> out);
  bool stop(StopReason reason, std::string detail);

  std::unique_ptr<SequentialFile> file_;
  std::uint64_t file_size_;
  RecordLimits limits_;
  FileHeader header_;
  bool has_header_ = false;
  std::vector<std::uint8_t> buffer_;
  std::size_t buffer_pos_ = 0;
  std::uint64_t read_from_file_ = 0;  // bytes read from the file into the buffer
  std::uint64_t consumed_ = 0;        // bytes handed out of the buffer so far
  std::uint64_t good_offset_ = 0;
  std::uint64_t frames_ = 0;
  StopReason reason_ = StopReason::none;
  std::string detail_;
};

}  // namespace apiary::persist
