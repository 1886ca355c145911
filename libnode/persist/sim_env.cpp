#include "apiary/persist/sim_env.hpp"

#include <algorithm>

namespace apiary::persist {

namespace sim_detail {

struct Inode {
  std::vector<std::uint8_t> data;     // what reads see
  std::vector<std::uint8_t> durable;  // as of the last successful sync
  bool name_durable = false;          // survives a crash under its current name
};

class SimWritableFile final : public WritableFile {
 public:
  SimWritableFile(SimEnv& env, std::shared_ptr<Inode> inode)
      : env_(env), inode_(std::move(inode)), epoch_(env.epoch_) {}

  Status append(std::span<const std::uint8_t> bytes) override {
    if (auto s = usable(); !s.ok()) return s;
    if (const auto landed = env_.append_fails(bytes.size())) {
      inode_->data.insert(inode_->data.end(), bytes.begin(),
                          bytes.begin() + static_cast<std::ptrdiff_t>(*landed));
      return make_error(StatusCode::io_error, "write: simulated no space left on device");
    }
    inode_->data.insert(inode_->data.end(), bytes.begin(), bytes.end());
    return Status::Ok();
  }

  Status sync() override {
    if (auto s = usable(); !s.ok()) return s;
    if (env_.sync_fails())
      return make_error(StatusCode::io_error, "fdatasync: simulated I/O error");
    inode_->durable = inode_->data;
    inode_->name_durable = true;
    return Status::Ok();
  }

  Status close() override {
    closed_ = true;
    return Status::Ok();
  }

  std::uint64_t size() const override { return inode_->data.size(); }

 private:
  Status usable() const {
    if (closed_) return make_error(StatusCode::io_error, "file is closed");
    return env_.check_epoch(epoch_);
  }

  SimEnv& env_;
  std::shared_ptr<Inode> inode_;
  std::uint64_t epoch_;
  bool closed_ = false;
};

class SimSequentialFile final : public SequentialFile {
 public:
  SimSequentialFile(const SimEnv& env, std::shared_ptr<Inode> inode)
      : env_(env), inode_(std::move(inode)), epoch_(env.epoch_) {}

  Result<std::size_t> read(std::span<std::uint8_t> out) override {
    if (auto s = env_.check_epoch(epoch_); !s.ok()) return s;
    const auto& data = inode_->data;
    const std::size_t n = offset_ >= data.size() ? 0 : std::min(out.size(), data.size() - offset_);
    std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(offset_), n, out.begin());
    offset_ += n;
    return n;
  }

 private:
  const SimEnv& env_;
  std::shared_ptr<Inode> inode_;
  std::uint64_t epoch_;
  std::size_t offset_ = 0;
};

}  // namespace sim_detail

using sim_detail::Inode;
using sim_detail::SimSequentialFile;
using sim_detail::SimWritableFile;

namespace {

Status missing(const std::string& what, const std::string& path) {
  return make_error(StatusCode::not_found, what + " " + path + ": no such file");
}

}  // namespace

SimEnv::SimEnv(SimEnvOptions options) : options_(options), rng_(options.seed) {}
SimEnv::~SimEnv() = default;

Status SimEnv::check_epoch(std::uint64_t epoch) const {
  if (epoch != epoch_) return make_error(StatusCode::io_error, "file handle lost in a crash");
  return Status::Ok();
}

bool SimEnv::sync_fails() {
  ++stats_.syncs;
  if (options_.sync_failure_probability <= 0 || !rng_.chance(options_.sync_failure_probability)) {
    return false;
  }
  ++stats_.failed_syncs;
  return true;
}

std::optional<std::size_t> SimEnv::append_fails(std::size_t size) {
  if (options_.append_failure_probability <= 0 ||
      !rng_.chance(options_.append_failure_probability)) {
    return std::nullopt;
  }
  ++stats_.failed_appends;
  return static_cast<std::size_t>(rng_.uniform(size + 1));
}

Result<std::unique_ptr<WritableFile>> SimEnv::open_writable(const std::string& path,
                                                            bool truncate) {
  auto& inode = files_[path];
  if (!inode) {
    inode = std::make_shared<Inode>();
  } else if (truncate) {
    inode->data.clear();
  }
  return std::unique_ptr<WritableFile>(std::make_unique<SimWritableFile>(*this, inode));
}

Result<std::unique_ptr<WritableFile>> SimEnv::create(const std::string& path) {
  return open_writable(path, true);
}

Result<std::unique_ptr<WritableFile>> SimEnv::open_append(const std::string& path) {
  return open_writable(path, false);
}

Result<std::unique_ptr<SequentialFile>> SimEnv::open_read(const std::string& path) {
  const auto it = files_.find(path);
  if (it == files_.end()) return missing("open", path);
  return std::unique_ptr<SequentialFile>(std::make_unique<SimSequentialFile>(*this, it->second));
}

Result<std::uint64_t> SimEnv::file_size(const std::string& path) {
  const auto it = files_.find(path);
  if (it == files_.end()) return missing("stat", path);
  return static_cast<std::uint64_t>(it->second->data.size());
}

bool SimEnv::exists(const std::string& path) {
  return files_.contains(path) || dirs_.contains(path);
}

Status SimEnv::rename(const std::string& from, const std::string& to) {
  const auto it = files_.find(from);
  if (it == files_.end()) return missing("rename", from);
  auto inode = it->second;
  files_.erase(it);
  inode->name_durable = true;  // PosixEnv syncs the directory after a rename
  files_[to] = std::move(inode);
  return Status::Ok();
}

Status SimEnv::remove(const std::string& path) {
  if (files_.erase(path) == 0) return missing("remove", path);
  return Status::Ok();
}

Status SimEnv::truncate(const std::string& path, std::uint64_t size) {
  const auto it = files_.find(path);
  if (it == files_.end()) return missing("truncate", path);
  Inode& inode = *it->second;
  inode.data.resize(static_cast<std::size_t>(size), 0);
  inode.durable = inode.data;  // PosixEnv fsyncs after ftruncate
  inode.name_durable = true;
  return Status::Ok();
}

Result<std::vector<std::string>> SimEnv::list(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& [path, inode] : files_) {
    if (parent_dir(path) == dir) names.push_back(path.substr(dir.empty() ? 0 : dir.size() + 1));
  }
  for (const auto& d : dirs_) {
    if (parent_dir(d) == dir && d != dir)
      names.push_back(d.substr(dir.empty() ? 0 : dir.size() + 1));
  }
  std::sort(names.begin(), names.end());
  return names;
}

Status SimEnv::create_dir(const std::string& dir) {
  dirs_.insert(dir);
  return Status::Ok();
}

void SimEnv::crash() {
  ++stats_.crashes;
  ++epoch_;
  for (auto it = files_.begin(); it != files_.end();) {
    Inode& inode = *it->second;
    if (!inode.name_durable) {
      stats_.bytes_lost += inode.data.size();
      it = files_.erase(it);
      continue;
    }
    const bool appended =
        inode.data.size() > inode.durable.size() &&
        std::equal(inode.durable.begin(), inode.durable.end(), inode.data.begin());
    std::size_t kept = 0;
    if (appended && options_.torn_tail_on_crash) {
      kept = static_cast<std::size_t>(rng_.uniform(inode.data.size() - inode.durable.size() + 1));
    }
    const std::size_t survivors = appended ? inode.durable.size() + kept : inode.durable.size();
    if (inode.data.size() > survivors) stats_.bytes_lost += inode.data.size() - survivors;
    if (appended) {
      inode.data.resize(survivors);
      if (kept > 0 && options_.zeroed_tail_probability > 0 &&
          rng_.chance(options_.zeroed_tail_probability)) {
        std::fill(inode.data.begin() + static_cast<std::ptrdiff_t>(inode.durable.size()),
                  inode.data.end(), std::uint8_t{0});
      }
    } else {
      inode.data = inode.durable;
    }
    inode.durable = inode.data;
    // A crash detaches the inode from every open handle; give the name a fresh one.
    it->second = std::make_shared<Inode>(inode);
    ++it;
  }
}

std::optional<std::vector<std::uint8_t>> SimEnv::contents(const std::string& path) const {
  const auto it = files_.find(path);
  if (it == files_.end()) return std::nullopt;
  return it->second->data;
}

std::uint64_t SimEnv::durable_size(const std::string& path) const {
  const auto it = files_.find(path);
  return it == files_.end() || !it->second->name_durable ? 0 : it->second->durable.size();
}

void SimEnv::put_file(const std::string& path, std::vector<std::uint8_t> bytes) {
  auto inode = std::make_shared<Inode>();
  inode->data = std::move(bytes);
  inode->durable = inode->data;
  inode->name_durable = true;
  files_[path] = std::move(inode);
}

bool SimEnv::flip_byte(const std::string& path, std::uint64_t offset, std::uint8_t mask) {
  const auto it = files_.find(path);
  if (it == files_.end() || offset >= it->second->data.size()) return false;
  Inode& inode = *it->second;
  inode.data[static_cast<std::size_t>(offset)] ^= mask;
  if (offset < inode.durable.size()) inode.durable[static_cast<std::size_t>(offset)] ^= mask;
  return true;
}

}  // namespace apiary::persist
