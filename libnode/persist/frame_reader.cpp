#include "apiary/persist/frame_reader.hpp"

#include <algorithm>

namespace apiary::persist {

namespace {
constexpr std::size_t kReadChunk = 64 * 1024;
}

std::string_view to_string(StopReason reason) {
  switch (reason) {
    case StopReason::none:
      return "none";
    case StopReason::end_of_file:
      return "end of file";
    case StopReason::truncated:
      return "truncated";
    case StopReason::bad_checksum:
      return "bad checksum";
    case StopReason::bad_record:
      return "bad record";
    case StopReason::unsupported:
      return "unsupported";
    case StopReason::io_error:
      return "I/O error";
  }
  return "unknown";
}

FrameReader::FrameReader(std::unique_ptr<SequentialFile> file, std::uint64_t size,
                         RecordLimits limits)
    : file_(std::move(file)), file_size_(size), limits_(limits) {}

Result<std::unique_ptr<FrameReader>> FrameReader::open(Env& env, const std::string& path,
                                                       FileKind kind, const RecordLimits& limits) {
  auto size = env.file_size(path);
  if (!size.ok()) return size.status();
  auto file = env.open_read(path);
  if (!file.ok()) return file.status();
  std::unique_ptr<FrameReader> reader(
      new FrameReader(std::move(file).value(), size.value(), limits));
  std::array<std::uint8_t, kFileHeaderBytes> head{};
  auto n = reader->read_fully(head);
  if (!n.ok()) return n.status();
  const auto got = std::span<const std::uint8_t>(head.data(), n.value());
  if (n.value() == 0) {
    // An empty file: what a writer finds before its first header, nothing to repair.
    reader->stop(StopReason::end_of_file, "empty file");
    return reader;
  }
  if (n.value() < kFileHeaderBytes) {
    if (!is_header_prefix(got, kind)) {
      return make_error(StatusCode::malformed, path + ": not an Apiary file (bad magic)");
    }
    reader->stop(StopReason::truncated, "the file header is cut short (" +
                                            std::to_string(n.value()) + " of " +
                                            std::to_string(kFileHeaderBytes) + " bytes)");
    return reader;
  }
  auto header = decode_header(got, kind);
  if (!header.ok()) {
    return Status(header.status().code(), path + ": " + header.status().message());
  }
  reader->header_ = header.value();
  reader->has_header_ = true;
  reader->good_offset_ = kFileHeaderBytes;
  return reader;
}

Result<std::size_t> FrameReader::read_fully(std::span<std::uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    if (buffer_pos_ == buffer_.size()) {
      // Never past the size seen at open, even if the file grows meanwhile.
      const std::uint64_t unread = file_size_ - read_from_file_;
      buffer_.resize(static_cast<std::size_t>(std::min<std::uint64_t>(kReadChunk, unread)));
      buffer_pos_ = 0;
      if (buffer_.empty()) break;
      auto n = file_->read(buffer_);
      if (!n.ok()) {
        buffer_.clear();
        return n.status();
      }
      buffer_.resize(n.value());
      read_from_file_ += n.value();
      if (n.value() == 0) break;
    }
    const std::size_t take = std::min(out.size() - done, buffer_.size() - buffer_pos_);
    std::copy_n(buffer_.begin() + static_cast<std::ptrdiff_t>(buffer_pos_), take,
                out.begin() + static_cast<std::ptrdiff_t>(done));
    buffer_pos_ += take;
    done += take;
  }
  consumed_ += done;
  return done;
}

bool FrameReader::stop(StopReason reason, std::string detail) {
  reason_ = reason;
  detail_ = std::move(detail);
  return false;
}

bool FrameReader::next(Frame& out) {
  if (reason_ != StopReason::none) return false;
  const std::uint64_t offset = consumed_;
  if (offset >= file_size_) return stop(StopReason::end_of_file, "");
  if (file_size_ - offset < kRecordHeaderBytes) {
    return stop(StopReason::truncated, "record header cut short at offset " +
                                           std::to_string(offset) + " (" +
                                           std::to_string(file_size_ - offset) + " of 9 bytes)");
  }
  std::array<std::uint8_t, kRecordHeaderBytes> head{};
  auto n = read_fully(head);
  if (!n.ok()) return stop(StopReason::io_error, n.status().to_string());
  if (n.value() < kRecordHeaderBytes) {
    return stop(StopReason::truncated,
                "record header cut short at offset " + std::to_string(offset));
  }
  const FrameHeader frame = parse_frame_header(head);
  if (frame.length > limits_.max_record_bytes) {
    return stop(StopReason::bad_record, "record at offset " + std::to_string(offset) + " claims " +
                                            std::to_string(frame.length) + " bytes (limit " +
                                            std::to_string(limits_.max_record_bytes) + ")");
  }
  const std::uint64_t left = file_size_ - consumed_;
  if (frame.length > left) {
    return stop(StopReason::truncated, "record at offset " + std::to_string(offset) + " needs " +
                                           std::to_string(frame.length) +
                                           " payload bytes, the file has " + std::to_string(left) +
                                           " left");
  }
  out.payload.resize(frame.length);
  n = read_fully(out.payload);
  if (!n.ok()) return stop(StopReason::io_error, n.status().to_string());
  if (n.value() < frame.length) {
    return stop(StopReason::truncated, "record at offset " + std::to_string(offset) + " cut short");
  }
  if (!frame_checksum_ok(frame, out.payload)) {
    return stop(StopReason::bad_checksum,
                "record at offset " + std::to_string(offset) + " fails its checksum");
  }
  out.type = frame.type;
  out.crc = frame.crc;
  out.offset = offset;
  good_offset_ = consumed_;
  ++frames_;
  return true;
}

void FrameReader::reject(const Frame& frame, StopReason reason, std::string detail) {
  good_offset_ = frame.offset;
  --frames_;
  stop(reason, "record at offset " + std::to_string(frame.offset) + ": " + detail);
}

}  // namespace apiary::persist
