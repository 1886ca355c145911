#include "apiary/persist/aof_reader.hpp"

namespace apiary::persist {

std::string AofLoadReport::summary() const {
  std::string s = std::to_string(records) + " records";
  if (skipped_optional > 0) s += " (+" + std::to_string(skipped_optional) + " optional skipped)";
  s += ", good up to offset " + std::to_string(good_offset) + " of " + std::to_string(file_size);
  if (clean()) return s + ": clean end of file";
  s += ": " + std::string(to_string(reason));
  if (!detail.empty()) s += ": " + detail;
  if (repairable()) s += " (" + std::to_string(bytes_after_good()) + " bytes after it)";
  return s;
}

AofReader::AofReader(std::unique_ptr<FrameReader> frames, RecordLimits limits)
    : frames_(std::move(frames)), limits_(limits) {}

Result<std::unique_ptr<AofReader>> AofReader::open(Env& env, const std::string& path,
                                                   const RecordLimits& limits) {
  auto frames = FrameReader::open(env, path, FileKind::aof, limits);
  if (!frames.ok()) return frames.status();
  return std::unique_ptr<AofReader>(new AofReader(std::move(frames).value(), limits));
}

std::optional<Record> AofReader::next() {
  if (!grouped_.empty()) {
    Record r = std::move(grouped_.front());
    grouped_.pop_front();
    return r;
  }
  Frame frame;
  while (frames_->next(frame)) {
    if (frame.type == static_cast<std::uint8_t>(RecordType::group)) {
      auto members = decode_group(frame.payload, limits_);
      if (!members.ok()) {
        frames_->reject(frame, StopReason::bad_record, members.status().to_string());
        return std::nullopt;
      }
      if (members->empty()) continue;
      records_ += members->size();
      last_offset_ = frame.offset;
      grouped_.assign(std::make_move_iterator(members->begin() + 1),
                      std::make_move_iterator(members->end()));
      return std::move(members->front());
    }
    if (frame.type >= kFirstOptionalRecordType) {
      ++skipped_;
      continue;
    }
    if (frame.type == static_cast<std::uint8_t>(RecordType::snapshot_end)) {
      frames_->reject(frame, StopReason::bad_record, "a snapshot trailer in an append-only file");
      return std::nullopt;
    }
    auto record = decode_payload(frame.type, frame.payload, limits_);
    if (!record.ok()) {
      const bool unknown = record.status().code() == StatusCode::unsupported;
      frames_->reject(frame, unknown ? StopReason::unsupported : StopReason::bad_record,
                      record.status().to_string());
      return std::nullopt;
    }
    ++records_;
    last_offset_ = frame.offset;
    return std::move(record).value();
  }
  return std::nullopt;
}

AofLoadReport AofReader::report() const {
  AofLoadReport r;
  r.has_header = frames_->has_header();
  r.header = frames_->header();
  r.records = records_;
  r.skipped_optional = skipped_;
  r.good_offset = frames_->good_offset();
  r.file_size = frames_->file_size();
  r.reason = frames_->stop_reason();
  r.detail = frames_->stop_detail();
  return r;
}

Result<AofLoadReport> load_aof(Env& env, const std::string& path,
                               const std::function<void(Record&&)>& apply,
                               const RecordLimits& limits) {
  auto reader = AofReader::open(env, path, limits);
  if (!reader.ok()) return reader.status();
  while (auto record = reader.value()->next()) apply(std::move(*record));
  return reader.value()->report();
}

}  // namespace apiary::persist
