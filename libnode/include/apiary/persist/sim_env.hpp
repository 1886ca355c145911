// SimEnv: an in-memory Env for tests and the simulator, with the disk faults the durability
// code must survive, every choice drawn from one seed (apiary::Rng), so a failing seed
// replays exactly.
//
// Model (the contract of env.hpp, pessimistically):
//  - Each file remembers what reads see (all appended bytes) and what is durable (the bytes
//    as of its last successful sync). Names are inodes as on POSIX: renaming or removing a
//    file that is open leaves the open handle writing to the old inode.
//  - A new file's name becomes durable at its first successful sync (or when rename() moves
//    it, since a rename syncs the directory). rename(), remove() and truncate() are durable
//    at once, as PosixEnv makes them.
//  - crash(): every file goes back to its durable bytes; with torn_tail_on_crash it keeps a
//    random prefix of its unsynced appended bytes instead (a torn last record), and with
//    zeroed_tail_probability that kept part comes back as zeros (XFS after a crash). Files
//    whose name was never durable disappear. Every open handle becomes invalid (io_error).
//  - sync() fails with probability sync_failure_probability, returning io_error and making
//    nothing durable (the dirty bytes stay visible to reads, as after a failed fsync).
//  - append() fails with probability append_failure_probability (a full disk): it writes a
//    random prefix of the bytes, possibly none, and returns io_error.
// No clock, no threads, no global randomness; iteration is over ordered maps. Not
// thread-safe: one simulated process (or test) drives it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "apiary/base/rng.hpp"
#include "apiary/persist/env.hpp"

namespace apiary::persist {

struct SimEnvOptions {
  std::uint64_t seed = 1;
  double sync_failure_probability = 0.0;
  double append_failure_probability = 0.0;
  bool torn_tail_on_crash = true;
  double zeroed_tail_probability = 0.0;
};

struct SimEnvStats {
  std::uint64_t syncs = 0;
  std::uint64_t failed_syncs = 0;
  std::uint64_t failed_appends = 0;
  std::uint64_t crashes = 0;
  std::uint64_t bytes_lost = 0;  // unsynced bytes dropped by crashes
};

namespace sim_detail {
struct Inode;
class SimWritableFile;
class SimSequentialFile;
}  // namespace sim_detail

class SimEnv final : public Env {
 public:
  explicit SimEnv(SimEnvOptions options = {});
  ~SimEnv() override;

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

  // Faults.
  void crash();
  void set_sync_failure_probability(double p) { options_.sync_failure_probability = p; }
  void set_append_failure_probability(double p) { options_.append_failure_probability = p; }

  // Inspection and set-up for tests (not part of Env).
  std::optional<std::vector<std::uint8_t>> contents(const std::string& path) const;
  std::uint64_t durable_size(const std::string& path) const;  // 0 when missing
  // Writes `bytes` as the file's whole, durable contents.
  void put_file(const std::string& path, std::vector<std::uint8_t> bytes);
  // XORs one byte of a file (durably), to model a bad sector; false when out of range.
  bool flip_byte(const std::string& path, std::uint64_t offset, std::uint8_t mask = 0x01);
  const SimEnvStats& stats() const { return stats_; }

 private:
  friend class sim_detail::SimWritableFile;
  friend class sim_detail::SimSequentialFile;

  // io_error for a handle opened before the last crash.
  Status check_epoch(std::uint64_t epoch) const;
  // Draws whether this sync fails; counts it.
  bool sync_fails();
  // Draws whether this append fails, and if so how many of `size` bytes land first.
  std::optional<std::size_t> append_fails(std::size_t size);

  Result<std::unique_ptr<WritableFile>> open_writable(const std::string& path, bool truncate);

  SimEnvOptions options_;
  Rng rng_;
  std::uint64_t epoch_ = 0;  // bumped by crash(): older handles are dead
  std::map<std::string, std::shared_ptr<sim_detail::Inode>> files_;
  std::set<std::string> dirs_;
  SimEnvStats stats_;
};

}  // namespace apiary::persist
