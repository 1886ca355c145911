#include "apiary/persist/aof_writer.hpp"

#include <array>

namespace apiary::persist {

std::optional<FsyncPolicy> parse_fsync_policy(std::string_view name) {
  if (name == "always") return FsyncPolicy::always;
  if (name == "everysec") return FsyncPolicy::everysec;
  if (name == "no") return FsyncPolicy::no;
  return std::nullopt;
}

std::string_view to_string(FsyncPolicy policy) {
  switch (policy) {
    case FsyncPolicy::always:
      return "always";
    case FsyncPolicy::everysec:
      return "everysec";
    case FsyncPolicy::no:
      return "no";
  }
  return "unknown";
}

namespace {

// Appending to something that is not an AOF (a snapshot, a torn header, another file) would
// bury the records where no reader looks.
Status check_header(Env& env, const std::string& path) {
  auto file = env.open_read(path);
  if (!file.ok()) return file.status();
  std::array<std::uint8_t, kFileHeaderBytes> head{};
  std::size_t got = 0;
  while (got < head.size()) {
    auto n = file.value()->read(std::span(head).subspan(got));
    if (!n.ok()) return n.status();
    if (n.value() == 0) break;
    got += n.value();
  }
  if (got < head.size()) {
    return make_error(StatusCode::malformed,
                      path + ": torn file header: truncate the file (AofReader's good_offset)");
  }
  auto header = decode_header(head, FileKind::aof);
  if (!header.ok()) return Status(header.status().code(), path + ": " + header.status().message());
  return Status::Ok();
}

}  // namespace

AofWriter::AofWriter(std::unique_ptr<WritableFile> file, AofWriterOptions options, TimePoint now)
    : file_(std::move(file)), options_(options), last_sync_(now) {
  appended_ = written_ = durable_ = file_->size();
}

AofWriter::~AofWriter() {
  if (file_) (void)file_->close();
}

Result<std::unique_ptr<AofWriter>> AofWriter::open(Env& env, const std::string& path, NodeId actor,
                                                   AofWriterOptions options, TimePoint now) {
  auto size = env.file_size(path);
  if (!size.ok() && size.status().code() != StatusCode::not_found) return size.status();
  const bool fresh = !size.ok() || size.value() == 0;
  if (!fresh) {
    if (auto s = check_header(env, path); !s.ok()) return s;
  }
  auto file = env.open_append(path);
  if (!file.ok()) return file.status();
  if (fresh) {
    FileHeader header;
    header.kind = FileKind::aof;
    header.actor = actor;
    const auto bytes = encode_header(header);
    if (auto s = file.value()->append(bytes); !s.ok()) return s;
    if (auto s = file.value()->sync(); !s.ok()) return s;
  }
  return std::unique_ptr<AofWriter>(new AofWriter(std::move(file).value(), options, now));
}

Status AofWriter::fail(Status s) {
  if (status_.ok()) status_ = s;
  return s;
}

Result<std::uint64_t> AofWriter::append(const Record& record) {
  if (!status_.ok()) return status_;
  const std::size_t before = buffer_.size();
  append_record(buffer_, record);
  appended_ += buffer_.size() - before;
  if (in_group_) ++group_records_;
  return appended_;
}

void AofWriter::begin_group() {
  in_group_ = true;
  group_records_ = 0;
  group_start_ = open_group(buffer_);
  appended_ += kRecordHeaderBytes;
}

Result<std::uint64_t> AofWriter::end_group() {
  if (!in_group_) return appended_;
  in_group_ = false;
  if (group_records_ <= 1) {  // nothing to keep together: the record alone
    const auto at = buffer_.begin() + static_cast<std::ptrdiff_t>(group_start_);
    buffer_.erase(at, at + static_cast<std::ptrdiff_t>(kRecordHeaderBytes));
    appended_ -= kRecordHeaderBytes;
  } else {
    close_group(buffer_, group_start_);
  }
  if (!status_.ok()) return status_;
  return appended_;
}

Status AofWriter::flush() {
  if (!status_.ok()) return status_;
  if (buffer_.empty()) return Status::Ok();
  if (auto s = file_->append(buffer_); !s.ok()) return fail(s);
  written_ += buffer_.size();
  buffer_.clear();
  return Status::Ok();
}

bool AofWriter::sync_due(TimePoint now) const {
  if (!status_.ok() || durable_ == appended_) return false;
  switch (options_.policy) {
    case FsyncPolicy::always:
      return true;
    case FsyncPolicy::everysec:
      return now >= last_sync_ + options_.everysec_interval;
    case FsyncPolicy::no:
      return false;
  }
  return false;
}

TimePoint AofWriter::next_deadline() const {
  if (!status_.ok() || durable_ == appended_) return kNever;
  switch (options_.policy) {
    case FsyncPolicy::always:
      return last_sync_;  // already due
    case FsyncPolicy::everysec:
      return last_sync_ + options_.everysec_interval;
    case FsyncPolicy::no:
      return kNever;
  }
  return kNever;
}

Status AofWriter::sync(TimePoint now) {
  if (auto s = flush(); !s.ok()) return s;
  if (durable_ == written_) return Status::Ok();  // nothing new: no fdatasync
  if (auto s = file_->sync(); !s.ok()) return fail(s);
  durable_ = written_;
  last_sync_ = now;
  return Status::Ok();
}

Status AofWriter::handle_timeout(TimePoint now) {
  if (auto s = flush(); !s.ok()) return s;
  if (sync_due(now)) return sync(now);
  return Status::Ok();
}

Status AofWriter::close(TimePoint now) {
  if (!file_) return status_;
  Status s = status_.ok() ? sync(now) : status_;
  if (auto c = file_->close(); s.ok() && !c.ok()) s = fail(c);
  file_.reset();
  (void)fail(make_error(StatusCode::unavailable, "the append-only file is closed"));
  return s;
}

}  // namespace apiary::persist
