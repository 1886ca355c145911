#include "atomic_file.hpp"

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
                                                                  const FileHeader& header) {
  auto file = env.create(path + ".tmp");
  if (!file.ok()) return file.status();
  std::unique_ptr<AtomicFileWriter> w(new AtomicFileWriter(env, path, std::move(file).value()));
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

Status AtomicFileWriter::commit() {
  if (!buffer_.empty()) {
    if (auto s = file_->append(buffer_); !s.ok()) return s;
    buffer_.clear();
  }
  if (auto s = file_->sync(); !s.ok()) return s;
  if (auto s = file_->close(); !s.ok()) return s;
  file_.reset();
  if (auto s = env_.rename(temp_path_, path_); !s.ok()) return s;
  committed_ = true;
  return Status::Ok();
}

}  // namespace apiary::persist
