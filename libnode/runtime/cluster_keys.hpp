// ClusterKeys: the node's keyring at work (driver code, libnode/runtime). Seals what the node
// sends to other members and opens what it receives, on both channels; counts what does not
// open and logs it at a rate limit (one line per peer host, channel and reason per 10 s, with
// the count since); re-reads the keyring file on request (SIGHUP through Node::reload_cluster_keys)
// and when its modification time changes, keeping the old keyring when the new file is bad.
//
// A node without a key has no ClusterKeys at all (Node::Impl::cluster_keys is null), so the
// unencrypted path stays what it was. Internal to libnode/runtime; loop thread only.
#pragma once

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "apiary/base/status.hpp"
#include "apiary/base/time.hpp"
#include "apiary/runtime/keyring.hpp"

namespace apiary::runtime {

// Counters for INFO (cluster section, cluster_key_* lines) and /metrics.
struct ClusterKeyStats {
  std::uint64_t gossip_sealed = 0;    // gossip messages sent sealed
  std::uint64_t gossip_opened = 0;    // gossip messages received that an installed key opened
  std::uint64_t gossip_rejected = 0;  // ... that were dropped: no key opens them, or plaintext
  std::uint64_t data_sealed = 0;
  std::uint64_t data_opened = 0;
  std::uint64_t data_rejected = 0;
  std::uint64_t opened_by_secondary = 0;  // opened with a key other than the primary
  // Messages this node sealed with the current primary key (since it became primary here, or
  // since the start): random nonces bound what one key may seal cluster-wide
  // (docs/security.md), so the sum over the members says when to rotate.
  std::uint64_t primary_sealed = 0;
  std::uint64_t seal_failures = 0;    // OpenSSL failed (no randomness): message not sent
  std::uint64_t reloads = 0;          // keyring file re-read and installed
  std::uint64_t reload_failures = 0;  // ... refused (unreadable or bad): old keyring kept
};

class ClusterKeys {
 public:
  // Reads `file` (when not empty) or installs `keys`; the first key is the primary.
  static Result<std::unique_ptr<ClusterKeys>> create(const std::string& file,
                                                     const std::vector<ClusterKey>& keys,
                                                     const std::string& cluster_name);

  // Seals `plain` into `out`; false (counted) when it cannot be sent.
  bool seal(KeyChannel channel, std::span<const std::uint8_t> plain,
            std::vector<std::uint8_t>& out) {
    if (!ring_->seal(channel, plain, out)) {
      ++stats_.seal_failures;
      return false;
    }
    ++(channel == KeyChannel::gossip ? stats_.gossip_sealed : stats_.data_sealed);
    ++stats_.primary_sealed;
    return true;
  }

  // Opens `sealed` into `out`. False: dropped, counted and logged at the rate limit under
  // `peer` (the sender's host as the transport knows it; asked only on failure).
  template <class PeerFn>
  bool open(KeyChannel channel, std::span<const std::uint8_t> sealed,
            std::vector<std::uint8_t>& out, TimePoint now, PeerFn peer) {
    const auto result = ring_->open(channel, sealed, out);
    if (result == Keyring::OpenResult::opened) {
      ++(channel == KeyChannel::gossip ? stats_.gossip_opened : stats_.data_opened);
      if (ring_->last_opened_by() != 0) ++stats_.opened_by_secondary;
      return true;
    }
    ++(channel == KeyChannel::gossip ? stats_.gossip_rejected : stats_.data_rejected);
    rejected(channel, result, peer(), now);
    return false;
  }

  // Re-reads the keyring file; a bad file is logged and the keyring in use kept. `why` goes
  // into the log line ("SIGHUP", "file changed").
  Status reload(const std::string& why);
  // Reloads when the file's modification time, size or inode changed since it was read.
  void check_file();

  // The cluster_key_* lines of INFO's cluster section.
  void info(std::string& out) const;
  const ClusterKeyStats& stats() const { return stats_; }
  std::size_t key_count() const { return ring_->key_count(); }
  const std::string& file() const { return file_; }

 private:
  struct FileStamp {
    long long mtime_ns = 0;
    long long size = -1;
    unsigned long long inode = 0;
    bool operator==(const FileStamp&) const = default;
  };
  struct Suppressed {
    TimePoint last_logged{};
    std::uint64_t since = 0;  // rejected since the last line
  };

  ClusterKeys(std::string file, std::string cluster_name)
      : file_(std::move(file)), cluster_name_(std::move(cluster_name)) {}
  static FileStamp stamp_of(const std::string& path);
  void install(std::unique_ptr<Keyring> ring);
  void rejected(KeyChannel channel, Keyring::OpenResult why, const std::string& peer,
                TimePoint now);

  std::string file_;
  std::string cluster_name_;
  std::unique_ptr<Keyring> ring_;
  FileStamp stamp_;
  std::vector<std::string> fingerprints_;
  std::map<std::string, Suppressed> log_limit_;  // by channel, peer host and reason
  ClusterKeyStats stats_;
};

}  // namespace apiary::runtime
