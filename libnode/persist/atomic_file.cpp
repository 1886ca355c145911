#include "apiary/persist/atomic_file.hpp"

#include "apiary/persist/crc32c.hpp"

namespace apiary::persist {

namespace {
constexpr std::size_t kWriteChunk = 1u << 20;
}

AtomicFileWriter::AtomicFileWriter(Env& env, std::string path, std::unique_ptr<WritableFile> file)
    : env_(env), path_(std::move(path)), temp_path_(path_ + ".tmp"), file_(std::move(file)) {}

AtomicFileWriter::~AtomicFileWriter() {
  if (committed_) return;
  if (file_) (void)file_->close();
  (void)env_.remove(temp_path_);
}

Result<std::unique_ptr<AtomicFileWriter>> AtomicFileWriter::begin(Env& env, const std::string& path,
                                                                  FileKind kind, NodeId actor) {
  auto file = env.create(path + ".tmp");
  if (!file.ok()) return file.status();
  std::unique_ptr<AtomicFileWriter> w(new AtomicFileWriter(env, path, std::move(file).value()));
  FileHeader header;
  header.kind = kind;
  header.actor = actor;
  const auto head = encode_header(header);
  w->buffer_.assign(head.begin(), head.end());
  w->bytes_ = head.size();
  return w;
}

Status AtomicFileWriter::added(std::size_t frame_start) {
  const std::uint8_t* crc = buffer_.data() + frame_start;  // the frame's checksum field
  chained_crc_ = crc32c_extend(chained_crc_, std::span<const std::uint8_t>(crc, 4));
  bytes_ += buffer_.size() - frame_start;
  ++records_;
  if (buffer_.size() < kWriteChunk) return Status::Ok();
  auto s = file_->append(buffer_);
  buffer_.clear();
  return s;
}

Status AtomicFileWriter::add(const Record& record) {
  const std::size_t start = buffer_.size();
  append_record(buffer_, record);
  return added(start);
}

Status AtomicFileWriter::add_frame(RecordType type, std::span<const std::uint8_t> payload) {
  const std::size_t start = buffer_.size();
  append_frame(buffer_, type, payload);
  return added(start);
}

Result<std::uint64_t> AtomicFileWriter::add_table(HlcTimestamp flush_horizon,
                                                  const EntrySource& next) {
  if (flush_horizon.packed != 0) {
    if (auto s = add(FlushRecord{flush_horizon}); !s.ok()) return s;
  }
  std::uint64_t entries = 0;
  PutRecord put;
  while (next(put.entry)) {
    if (auto s = add(put); !s.ok()) return s;
    ++entries;
  }
  return entries;
}

Status AtomicFileWriter::sync() {
  if (!buffer_.empty()) {
    if (auto s = file_->append(buffer_); !s.ok()) return s;
    buffer_.clear();
  }
  // The temporary name never needs to be durable: rename() publishes the file.
  if (auto s = file_->sync_data(); !s.ok()) return s;
  synced_ = bytes_;
  return Status::Ok();
}

Status AtomicFileWriter::commit() {
  if (auto s = sync(); !s.ok()) return s;
  if (auto s = file_->close(); !s.ok()) return s;
  file_.reset();
  if (auto s = env_.rename(temp_path_, path_); !s.ok()) return s;
  committed_ = true;
  return Status::Ok();
}

Result<WriteStats> write_table_file(Env& env, const std::string& path, FileKind kind, NodeId actor,
                                    HlcTimestamp flush_horizon, const EntrySource& next,
                                    const FinishTable& finish) {
  auto writer = AtomicFileWriter::begin(env, path, kind, actor);
  if (!writer.ok()) return writer.status();
  AtomicFileWriter& w = *writer.value();
  auto entries = w.add_table(flush_horizon, next);
  if (!entries.ok()) return entries.status();
  if (finish) {
    if (auto s = finish(w, entries.value()); !s.ok()) return s;
  }
  if (auto s = w.commit(); !s.ok()) return s;
  WriteStats stats;
  stats.entries = entries.value();
  stats.bytes = w.bytes();
  return stats;
}

}  // namespace apiary::persist
