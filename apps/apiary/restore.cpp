// `apiary restore`: check the backup whole, then merge every entry into a running cluster
// through one member's Redis port (backup.hpp).
#include <chrono>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "apiary/data/collection.hpp"
#include "apiary/data/partition.hpp"
#include "apiary/persist/posix_env.hpp"
#include "apiary/persist/snapshot.hpp"
#include "apiary/store/entry_codec.hpp"
#include "backup.hpp"
#include "backup_manifest.hpp"
#include "cluster_http.hpp"
#include "resp_client.hpp"

namespace apiary::cli {

namespace {

constexpr std::chrono::seconds kTimeout{30};
constexpr std::size_t kBatchBytes = 4u << 20;  // a batch is sent at this size, even if short
constexpr std::size_t kErrorsShown = 10;

void warn(const std::string& message) {
  std::fprintf(stderr, "apiary restore: %s\n", message.c_str());
}

std::string file_of(const std::string& dir, std::uint32_t partition) {
  return persist::join_path(dir, partition_file_name(partition));
}

// Every file loads whole (checksums, trailer) and holds what the manifest says: as many
// entries, each of its partition.
Status verify(persist::Env& env, const std::string& dir, const BackupManifest& manifest) {
  for (const BackupPartition& p : manifest.partitions) {
    auto contents = persist::load_snapshot(env, file_of(dir, p.id));
    if (!contents.ok()) return contents.status();
    const std::string where = "partition " + std::to_string(p.id) + ": ";
    if (contents->entries.size() != p.entries) {
      return make_error(StatusCode::malformed,
                        where + "the file holds " + std::to_string(contents->entries.size()) +
                            " entries, the manifest says " + std::to_string(p.entries));
    }
    for (const auto& e : contents->entries) {
      if (data::partition_of(e.key, manifest.partition_count).value != p.id) {
        return make_error(StatusCode::malformed,
                          where + "the file holds a key of another partition");
      }
    }
  }
  return Status::Ok();
}

struct Tally {
  std::uint64_t changed = 0;    // APIARY.MERGE answered 1, or SET answered OK
  std::uint64_t unchanged = 0;  // APIARY.MERGE answered 0
  std::uint64_t refused = 0;
  std::vector<std::string> errors;  // the first few refusals, "key: error"

  void add(const Tally& batch) {
    changed += batch.changed;
    unchanged += batch.unchanged;
    refused += batch.refused;
    for (const auto& e : batch.errors) {
      if (errors.size() < kErrorsShown) errors.push_back(e);
    }
  }
};

// Sends commands (APIARY.MERGE, or SET with --overwrite) in pipelined batches to one live
// member. When the connection fails, the next member takes over and the whole batch is sent
// again: a merge applied twice changes nothing the second time, a SET writes the same value.
class Sender {
 public:
  Sender(std::vector<std::string> addrs, std::size_t batch)
      : addrs_(std::move(addrs)), batch_(batch) {}

  Status open() { return reconnect(addrs_.size()); }
  const std::string& member() const { return addrs_[current_]; }
  const Tally& tally() const { return tally_; }

  Status add(const std::string& key, std::initializer_list<std::string_view> command) {
    append_command(pending_, command);
    return added(key);
  }
  Status add(const std::string& key, std::span<const std::string> command) {
    append_command(pending_, command);
    return added(key);
  }

  Status flush() {
    if (keys_.empty()) return Status::Ok();
    for (std::size_t attempt = 0;; ++attempt) {
      Tally batch;
      Status s = send_batch(batch);
      if (s.ok()) {
        tally_.add(batch);
        pending_.clear();
        keys_.clear();
        return s;
      }
      warn(member() + ": " + s.message());
      if (attempt + 1 >= addrs_.size()) return s;
      current_ = (current_ + 1) % addrs_.size();
      if (Status r = reconnect(addrs_.size() - attempt - 1); !r.ok()) return r;
      warn("sending the batch again through " + member());
    }
  }

 private:
  Status added(const std::string& key) {
    keys_.push_back(key);
    if (keys_.size() >= batch_ || pending_.size() >= kBatchBytes) return flush();
    return Status::Ok();
  }

  // Connects to the current member or the next ones, trying at most `tries` of them.
  Status reconnect(std::size_t tries) {
    Status last = make_error(StatusCode::unavailable, "no live member to connect to");
    for (std::size_t i = 0; i < tries; ++i) {
      last = client_.connect(member(), kTimeout);
      if (last.ok()) return last;
      warn("cannot connect to " + member() + ": " + last.message());
      current_ = (current_ + 1) % addrs_.size();
    }
    return last;
  }

  Status send_batch(Tally& batch) {
    if (Status s = client_.send(pending_); !s.ok()) return s;
    for (const std::string& key : keys_) {
      auto reply = client_.read_reply();
      if (!reply.ok()) return reply.status();
      // APIARY.MERGE and SET answer 1 or OK for a change; HSET, SADD and DEL their counts.
      if ((reply->type == RespReply::Type::integer && reply->integer >= 1) ||
          (reply->type == RespReply::Type::simple && reply->text == "OK")) {
        ++batch.changed;
      } else if (reply->type == RespReply::Type::integer && reply->integer == 0) {
        ++batch.unchanged;
      } else {
        ++batch.refused;
        if (batch.errors.size() < kErrorsShown) {
          batch.errors.push_back(key.substr(0, 64) + ": " +
                                 (reply->is_error() ? reply->text : "an unexpected reply"));
        }
      }
    }
    return Status::Ok();
  }

  std::vector<std::string> addrs_;
  std::size_t batch_;
  std::size_t current_ = 0;
  RespClient client_;
  std::string pending_;
  std::vector<std::string> keys_;
  Tally tally_;
};

std::int64_t wall_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status send_merges(Sender& sender, const std::vector<store::VersionedEntry>& entries) {
  for (const auto& entry : entries) {
    const auto packed = store::encode_entry(entry);
    const std::string_view bytes(reinterpret_cast<const char*>(packed.data()), packed.size());
    if (Status s = sender.add(entry.key, {"APIARY.MERGE", entry.key, bytes}); !s.ok()) return s;
  }
  return Status::Ok();
}

// A hash, set, sorted set or list as DEL, then HSET/SADD/ZADD/RPUSH of its elements in
// batches (a ZADD takes score then member; a list's elements come in list order), then
// PEXPIREAT.
Status send_collection(Sender& sender, const std::string& key, const data::Collection& c,
                       std::optional<WallTime> expiry) {
  if (Status s = sender.add(key, {"DEL", key}); !s.ok()) return s;
  const bool hash = c.kind() == data::ValueKind::hash;
  const bool zset = c.kind() == data::ValueKind::zset;
  const bool list = c.kind() == data::ValueKind::list;
  std::vector<std::string> command;
  std::string scratch;
  const auto flush = [&]() -> Status {
    if (command.size() <= 2) return Status::Ok();
    Status s = sender.add(key, command);
    command.clear();
    return s;
  };
  for (const data::ElementView e : c) {
    if (command.empty()) {
      command = {hash ? "HSET" : zset ? "ZADD" : list ? "RPUSH" : "SADD", key};
    }
    if (zset) command.emplace_back(data::Collection::score_text(data::Collection::score_of(e)));
    // A list's element names are positions minted here; RPUSH mints new ones over there.
    if (list) {
      command.emplace_back(e.value(scratch));
    } else {
      command.emplace_back(e.name());
    }
    if (hash) command.emplace_back(e.value(scratch));
    if (command.size() >= 1000) {
      if (Status s = flush(); !s.ok()) return s;
    }
  }
  if (Status s = flush(); !s.ok()) return s;
  if (!expiry) return Status::Ok();
  const std::string at = std::to_string(expiry->ms);
  return sender.add(key, {"PEXPIREAT", key, at});
}

// --overwrite: each key's value as GET would have answered it at the backup (siblings
// resolved, counters summed) and its expiry, as a new SET; a hash, set or zset is written anew
// with its elements. A scratch store resolves them with the store's own rules; a deleted or
// expired key is skipped.
Status send_values(Sender& sender, const std::vector<store::VersionedEntry>& entries,
                   std::uint64_t& skipped) {
  const WallTime now{wall_ms_now()};
  store::Store scratch{store::StoreConfig{}};
  for (const auto& entry : entries) {
    if (auto merged = scratch.merge(entry.key, entry.version, entry.expiry, now); !merged.ok()) {
      return merged.status();
    }
  }
  for (const auto& entry : entries) {
    const store::KeyType type = scratch.type(entry.key, now);
    if (store::is_collection_type(type)) {
      bool wrong = false;
      const data::Collection* c =
          scratch.read_collection(entry.key, store::collection_kind(type), now, wrong);
      if (c == nullptr) {
        ++skipped;
        continue;
      }
      if (Status s = send_collection(sender, entry.key, *c, scratch.ttl(entry.key, now).expiry);
          !s.ok()) {
        return s;
      }
      continue;
    }
    const auto value = scratch.get_value(entry.key, now);
    if (!value) {
      ++skipped;
      continue;
    }
    const std::string copy(*value);
    const auto ttl = scratch.ttl(entry.key, now);
    Status s = ttl.expiry ? sender.add(entry.key, {"SET", entry.key, copy, "PXAT",
                                                   std::to_string(ttl.expiry->ms)})
                          : sender.add(entry.key, {"SET", entry.key, copy});
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace

int run_restore(const RestoreOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  persist::PosixEnv env;
  auto manifest = read_manifest(env, options.dir);
  if (!manifest.ok()) {
    warn(manifest.status().message());
    return 1;
  }
  if (Status s = verify(env, options.dir, *manifest); !s.ok()) {
    warn(s.message() + " (nothing was restored)");
    return 1;
  }
  if (!manifest->complete()) {
    warn("the backup is incomplete: " + std::to_string(manifest->failed.size()) +
         " partitions could not be read when it was made; restoring the others");
  }
  auto live = fetch_live_redis_addrs(options.http_addr);
  if (!live.ok()) {
    warn(live.status().message());
    return 1;
  }
  const std::vector<std::string>& addrs = live.value();
  Sender sender(addrs, options.batch);
  std::uint64_t skipped = 0;  // --overwrite: deleted or expired entries
  if (Status s = sender.open(); !s.ok()) {
    warn(s.message());
    return 1;
  }
  for (const BackupPartition& p : manifest->partitions) {
    auto contents = persist::load_snapshot(env, file_of(options.dir, p.id));
    if (!contents.ok()) {  // it changed since it was verified
      warn(contents.status().message());
      return 1;
    }
    Status s = options.overwrite ? send_values(sender, contents->entries, skipped)
                                 : send_merges(sender, contents->entries);
    if (!s.ok()) {
      warn("the cluster could not be reached: " + s.message());
      return 1;
    }
  }
  if (Status s = sender.flush(); !s.ok()) {
    warn("the cluster could not be reached: " + s.message());
    return 1;
  }
  const Tally& t = sender.tally();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("restored %llu entries of %zu partitions from %s through %s in %.1f s: ",
              static_cast<unsigned long long>(manifest->total_entries()),
              manifest->partitions.size(), options.dir.c_str(), sender.member().c_str(), seconds);
  if (options.overwrite) {
    std::printf("%llu written, %llu skipped (deleted or expired), %llu refused\n",
                static_cast<unsigned long long>(t.changed),
                static_cast<unsigned long long>(skipped),
                static_cast<unsigned long long>(t.refused));
  } else {
    std::printf(
        "%llu changed, %llu unchanged (the cluster held them or something newer, or they "
        "expired), %llu refused\n",
        static_cast<unsigned long long>(t.changed), static_cast<unsigned long long>(t.unchanged),
        static_cast<unsigned long long>(t.refused));
  }
  for (const auto& e : t.errors) warn("refused: " + e);
  if (!options.overwrite && t.changed == 0 && t.unchanged > 0 && t.refused == 0) {
    // The usual reason besides restoring twice: a FLUSHALL since the backup was made. Its
    // horizon discards every write stamped before it, restored ones included.
    std::printf(
        "nothing changed: the cluster already holds every entry or something newer; after a "
        "FLUSHALL it also discards everything written before the flush (use --overwrite, or "
        "restore into a fresh cluster; docs/persistence.md)\n");
  }
  return t.refused == 0 ? 0 : 1;
}

}  // namespace apiary::cli
