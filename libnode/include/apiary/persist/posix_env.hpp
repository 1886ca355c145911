// PosixEnv: the Env on real files (open/write/fdatasync/rename/unlink/ftruncate on Linux).
//
// Costs: append() is one write(2) per call (the AOF writer batches records into one
// call); sync() is fdatasync(2), plus fsync(2) of the parent directory on a file's first
// sync; rename(), remove() and truncate() fsync what they changed before returning, so each
// costs a disk flush. Reads go through a 64 KiB buffer owned by the caller's reader.
// Thread-safe: it holds no state but the optional closer, set before use; each file object
// is used by one thread at a time.
#pragma once

#include <functional>
#include <memory>

#include "apiary/persist/env.hpp"

namespace apiary::persist {

class PosixEnv final : public Env {
 public:
  Result<std::unique_ptr<WritableFile>> create(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> open_append(const std::string& path) override;
  Result<std::unique_ptr<SequentialFile>> open_read(const std::string& path) override;
  Result<std::uint64_t> file_size(const std::string& path) override;
  bool exists(const std::string& path) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status remove(const std::string& path) override;
  Status truncate(const std::string& path, std::uint64_t size) override;
  Result<std::vector<std::string>> list(const std::string& dir) override;
  Status create_dir(const std::string& dir) override;

  // Replacing a big file with rename() frees its blocks, which can take tens of milliseconds
  // on ext4. With a closer set, rename() keeps a descriptor of the file it replaces and hands
  // it to the closer, so the blocks are freed wherever the closer closes it (the runtime: on
  // a short-lived thread, off the event loop). Unset: freed inside rename().
  void set_closer(std::function<void(int fd)> closer) { closer_ = std::move(closer); }

 private:
  std::function<void(int fd)> closer_;
};

}  // namespace apiary::persist
