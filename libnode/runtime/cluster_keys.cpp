#include "cluster_keys.hpp"

namespace apiary::runtime {

namespace {

constexpr auto kLogEvery = std::chrono::seconds(10);
constexpr std::size_t kMaxLoggedPeers = 4096;

const char* channel_name(KeyChannel channel) {
  return channel == KeyChannel::gossip ? "gossip" : "data";
}

const char* reason(Keyring::OpenResult why) {
  switch (why) {
    case Keyring::OpenResult::plaintext:
      return "unencrypted (the peer has no --cluster-key-file)";
    case Keyring::OpenResult::malformed:
      return "not a sealed message (too short or an unknown version)";
    default:
      return "no installed key opens it (another cluster key or cluster name)";
  }
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

}  // namespace

Result<std::unique_ptr<ClusterKeys>> ClusterKeys::create(const std::string& file,
                                                         const std::vector<ClusterKey>& keys,
                                                         const std::string& cluster_name) {
  std::unique_ptr<ClusterKeys> self(new ClusterKeys(file, cluster_name));
  std::vector<ClusterKey> installed = keys;
  if (!file.empty()) {
    self->stamp_ = stamp_of(file);
    std::string warning;
    auto loaded = load_keyring_file(file, &warning);
    if (!loaded.ok()) return loaded.status();
    if (!warning.empty()) spdlog::warn("cluster key: {}", warning);
    installed = std::move(loaded).value();
  }
  auto ring = Keyring::create(std::move(installed), cluster_name);
  if (!ring.ok()) return ring.status();
  self->install(std::move(ring).value());
  return self;
}

void ClusterKeys::install(std::unique_ptr<Keyring> ring) {
  ring_ = std::move(ring);
  auto prints = ring_->fingerprints();
  if (fingerprints_.empty() || prints.front() != fingerprints_.front()) stats_.primary_sealed = 0;
  fingerprints_ = std::move(prints);
}

ClusterKeys::FileStamp ClusterKeys::stamp_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec,
          static_cast<long long>(st.st_size), static_cast<unsigned long long>(st.st_ino)};
}

Status ClusterKeys::reload(const std::string& why) {
  if (file_.empty()) {
    return make_error(StatusCode::invalid_argument, "the cluster keys did not come from a file");
  }
  stamp_ = stamp_of(file_);
  std::string warning;
  auto loaded = load_keyring_file(file_, &warning);
  Result<std::unique_ptr<Keyring>> ring =
      loaded.ok() ? Keyring::create(std::move(loaded).value(), cluster_name_)
                  : Result<std::unique_ptr<Keyring>>(loaded.status());
  if (!ring.ok()) {
    ++stats_.reload_failures;
    spdlog::error("cluster key: reload ({}) refused, keeping the {} key(s) in use: {}", why,
                  ring_->key_count(), ring.status().message());
    return ring.status();
  }
  if (!warning.empty()) spdlog::warn("cluster key: {}", warning);
  const auto before = fingerprints_;
  install(std::move(ring).value());
  ++stats_.reloads;
  if (before != fingerprints_) {
    spdlog::info("cluster key: reloaded ({}): primary {}, {} key(s) [{}] (were [{}])", why,
                 fingerprints_.front(), fingerprints_.size(), joined(fingerprints_),
                 joined(before));
  } else {
    spdlog::info("cluster key: reloaded ({}): unchanged, primary {}, {} key(s)", why,
                 fingerprints_.front(), fingerprints_.size());
  }
  return Status::Ok();
}

void ClusterKeys::check_file() {
  if (file_.empty()) return;
  const FileStamp now = stamp_of(file_);
  if (now == stamp_ || now.size < 0) return;  // unchanged, or missing (an editor's rename)
  (void)reload("file changed");
}

void ClusterKeys::rejected(KeyChannel channel, Keyring::OpenResult why, const std::string& peer,
                           TimePoint now) {
  if (log_limit_.size() >= kMaxLoggedPeers) {
    for (auto it = log_limit_.begin(); it != log_limit_.end();) {
      it = now - it->second.last_logged >= kLogEvery ? log_limit_.erase(it) : std::next(it);
    }
    if (log_limit_.size() >= kMaxLoggedPeers) return;  // counted, not logged
  }
  const std::string host = peer.empty() ? "an unknown address" : peer;
  auto [it, fresh] = log_limit_.try_emplace(std::string(channel_name(channel)) + " " + host + " " +
                                            std::to_string(static_cast<int>(why)));
  Suppressed& entry = it->second;
  ++entry.since;
  if (!fresh && now - entry.last_logged < kLogEvery) return;
  spdlog::warn("cluster key: dropped {} {} message(s) from {} since the last report: {}",
               entry.since, channel_name(channel), host, reason(why));
  entry.last_logged = now;
  entry.since = 0;
}

void ClusterKeys::info(std::string& out) const {
  auto put = [&out](std::string_view key, std::uint64_t v) {
    out.append(key);
    out += ":" + std::to_string(v) + "\r\n";
  };
  put("cluster_key_enabled", 1);
  put("cluster_keys", fingerprints_.size());
  out += "cluster_key_primary:" + fingerprints_.front() + "\r\n";
  out += "cluster_key_fingerprints:" + joined(fingerprints_) + "\r\n";
  put("cluster_key_gossip_sealed", stats_.gossip_sealed);
  put("cluster_key_gossip_opened", stats_.gossip_opened);
  put("cluster_key_gossip_rejected", stats_.gossip_rejected);
  put("cluster_key_data_sealed", stats_.data_sealed);
  put("cluster_key_data_opened", stats_.data_opened);
  put("cluster_key_data_rejected", stats_.data_rejected);
  put("cluster_key_opened_by_secondary", stats_.opened_by_secondary);
  put("cluster_key_primary_sealed", stats_.primary_sealed);
  put("cluster_key_seal_failures", stats_.seal_failures);
  put("cluster_key_reloads", stats_.reloads);
  put("cluster_key_reload_failures", stats_.reload_failures);
}

}  // namespace apiary::runtime
