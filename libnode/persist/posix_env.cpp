#include "apiary/persist/posix_env.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace apiary::persist {

namespace {

Status io_error(const std::string& what, const std::string& path, int err) {
  const StatusCode code = err == ENOENT ? StatusCode::not_found : StatusCode::io_error;
  return make_error(
      code, what + " " + path + ": " + std::error_code(err, std::generic_category()).message());
}

// fsync of a directory makes the names inside it (created, renamed, removed) durable.
Status sync_dir(const std::string& dir) {
  const std::string d = dir.empty() ? "." : dir;
  const int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("open directory", d, errno);
  Status s;
  if (::fsync(fd) != 0) s = io_error("fsync directory", d, errno);
  ::close(fd);
  return s;
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, std::uint64_t size, bool new_file)
      : path_(std::move(path)), fd_(fd), size_(size), dir_synced_(!new_file) {}
  ~PosixWritableFile() override { (void)close(); }

  Status append(std::span<const std::uint8_t> bytes) override {
    if (fd_ < 0) return make_error(StatusCode::io_error, "append to closed file " + path_);
    while (!bytes.empty()) {
      const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return io_error("write", path_, errno);
      }
      size_ += static_cast<std::uint64_t>(n);
      bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
    return Status::Ok();
  }

  Status sync() override {
    if (fd_ < 0) return make_error(StatusCode::io_error, "sync of closed file " + path_);
    if (::fdatasync(fd_) != 0) return io_error("fdatasync", path_, errno);
    if (!dir_synced_) {
      if (auto s = sync_dir(parent_dir(path_)); !s.ok()) return s;
      dir_synced_ = true;
    }
    return Status::Ok();
  }

  Status sync_data() override {
    if (fd_ < 0) return make_error(StatusCode::io_error, "sync of closed file " + path_);
    if (::fdatasync(fd_) != 0) return io_error("fdatasync", path_, errno);
    return Status::Ok();
  }

  Status close() override {
    if (fd_ < 0) return Status::Ok();
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc == 0 ? Status::Ok() : io_error("close", path_, errno);
  }

  std::uint64_t size() const override { return size_; }

 private:
  std::string path_;
  int fd_;
  std::uint64_t size_;
  bool dir_synced_;
};

class PosixSequentialFile final : public SequentialFile {
 public:
  PosixSequentialFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixSequentialFile() override { ::close(fd_); }

  Result<std::size_t> read(std::span<std::uint8_t> out) override {
    while (true) {
      const ssize_t n = ::read(fd_, out.data(), out.size());
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) return io_error("read", path_, errno);
    }
  }

 private:
  std::string path_;
  int fd_;
};

Result<std::unique_ptr<WritableFile>> open_writable(const std::string& path, int flags) {
  // Exclusive creation first, so we know whether the name is new (its directory then needs a
  // sync before the file counts as durable).
  bool created = true;
  int fd = ::open(path.c_str(), flags | O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0 && errno == EEXIST) {
    created = false;
    fd = ::open(path.c_str(), flags | O_WRONLY | O_CLOEXEC);
  }
  if (fd < 0) return io_error("open", path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return io_error("stat", path, err);
  }
  return std::unique_ptr<WritableFile>(std::make_unique<PosixWritableFile>(
      path, fd, static_cast<std::uint64_t>(st.st_size), created));
}

}  // namespace

Result<std::unique_ptr<WritableFile>> PosixEnv::create(const std::string& path) {
  return open_writable(path, O_TRUNC);
}

Result<std::unique_ptr<WritableFile>> PosixEnv::open_append(const std::string& path) {
  return open_writable(path, O_APPEND);
}

Result<std::unique_ptr<SequentialFile>> PosixEnv::open_read(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("open", path, errno);
  return std::unique_ptr<SequentialFile>(std::make_unique<PosixSequentialFile>(path, fd));
}

Result<std::uint64_t> PosixEnv::file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return io_error("stat", path, errno);
  return static_cast<std::uint64_t>(st.st_size);
}

bool PosixEnv::exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

Status PosixEnv::rename(const std::string& from, const std::string& to) {
  // The replaced file's blocks are freed when its last descriptor closes: the closer's (see
  // set_closer).
  const int old = closer_ ? ::open(to.c_str(), O_RDONLY | O_CLOEXEC) : -1;
  if (::rename(from.c_str(), to.c_str()) != 0) {
    const int err = errno;
    if (old >= 0) ::close(old);
    return io_error("rename " + from + " to", to, err);
  }
  if (old >= 0) closer_(old);
  if (auto s = sync_dir(parent_dir(to)); !s.ok()) return s;
  if (parent_dir(from) != parent_dir(to)) return sync_dir(parent_dir(from));
  return Status::Ok();
}

Status PosixEnv::remove(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return io_error("remove", path, errno);
  return sync_dir(parent_dir(path));
}

Status PosixEnv::truncate(const std::string& path, std::uint64_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return io_error("open", path, errno);
  Status s;
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    s = io_error("truncate", path, errno);
  } else if (::fsync(fd) != 0) {
    s = io_error("fsync", path, errno);
  }
  ::close(fd);
  return s;
}

Result<std::vector<std::string>> PosixEnv::list(const std::string& dir) {
  DIR* d = ::opendir(dir.empty() ? "." : dir.c_str());
  if (d == nullptr) return io_error("list", dir, errno);
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

Status PosixEnv::create_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0) return sync_dir(parent_dir(dir));
  if (errno == ENOENT && !parent_dir(dir).empty() && parent_dir(dir) != dir) {
    // Missing parents are made first, as mkdir -p does.
    if (Status s = create_dir(parent_dir(dir)); !s.ok()) return s;
    if (::mkdir(dir.c_str(), 0755) == 0) return sync_dir(parent_dir(dir));
  }
  if (errno != EEXIST) return io_error("mkdir", dir, errno);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return make_error(StatusCode::io_error, "mkdir " + dir + ": exists and is not a directory");
  }
  return Status::Ok();
}

}  // namespace apiary::persist
