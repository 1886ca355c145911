// `apiary backup`: every partition from its coordinator into one snapshot file each, then
// the manifest (backup.hpp).
#include "backup.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "apiary/data/partition.hpp"
#include "apiary/persist/posix_env.hpp"
#include "apiary/persist/snapshot.hpp"
#include "apiary/store/entry_codec.hpp"
#include "backup_manifest.hpp"
#include "cluster_http.hpp"
#include "resp_client.hpp"

namespace apiary::cli {

namespace {

// A member answers an export page at once; one that does not for this long is left out.
constexpr std::chrono::seconds kTimeout{10};

void warn(const std::string& message) {
  std::fprintf(stderr, "apiary backup: %s\n", message.c_str());
}

std::int64_t wall_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One field of a member's INFO cluster, or "" when it does not report it.
std::string info_field(const std::string& info, const std::string& name) {
  const std::string field = name + ":";
  const auto at = info.find(field);
  if (at == std::string::npos) return "";
  const auto end = info.find_first_of("\r\n", at);
  return info.substr(at + field.size(), end - at - field.size());
}

// What a member says about itself before it is read: the cluster's name, and whether its
// copy may still be missing writes -- partitions handed to it by a join that have not
// arrived yet, or a new coordinator still catching up from the other owners (cluster.md,
// "Conditional writes and locks"). Those partitions are read all the same; the warning says
// to back up again once the cluster settled.
Result<std::string> describe_member(RespClient& conn, const std::string& name) {
  auto reply = conn.call({"INFO", "cluster"});
  if (!reply.ok()) return reply.status();
  if (reply->type != RespReply::Type::bulk) return std::string();
  const std::string& info = reply->text;
  const std::string handoff = info_field(info, "cluster_handoff_pending");
  const std::string promoting = info_field(info, "cluster_partitions_promoting");
  if ((!handoff.empty() && handoff != "0") || (!promoting.empty() && promoting != "0")) {
    warn("member " + name + " is still receiving partitions (handoff pending: " + handoff +
         ", partitions catching up: " + promoting +
         "): its copy may miss recent writes; back up again once the cluster settled");
  }
  return info_field(info, "cluster_name");
}

// One connection per member, opened when first needed. A member that failed once (could not
// be reached, or broke off an export) is not asked again during this backup.
class MemberConnections {
 public:
  explicit MemberConnections(const ClusterMembers& members) : members_(members) {}

  // The member's connection, or nullptr (with a warning the first time) when it cannot serve.
  RespClient* get(const std::string& name) {
    if (failed_.count(name) > 0) return nullptr;
    if (auto it = open_.find(name); it != open_.end()) return it->second.get();
    const ClusterMember* m = members_.find(name);
    if (m == nullptr || !m->live()) return nullptr;
    auto client = std::make_unique<RespClient>();
    if (Status s = client->connect(m->redis_addr, kTimeout); !s.ok()) {
      drop(name, s.message());
      return nullptr;
    }
    const auto cluster = describe_member(*client, name);
    if (!cluster.ok()) {
      drop(name, "INFO cluster: " + cluster.status().message());
      return nullptr;
    }
    if (cluster_name_.empty()) cluster_name_ = *cluster;
    return open_.emplace(name, std::move(client)).first->second.get();
  }

  // The cluster's name, as the first member reached reports it.
  const std::string& cluster_name() const { return cluster_name_; }

  void drop(const std::string& name, const std::string& why) {
    open_.erase(name);
    if (failed_.insert(name).second) warn("member " + name + " is left out: " + why);
  }

 private:
  const ClusterMembers& members_;
  std::map<std::string, std::unique_ptr<RespClient>> open_;
  std::set<std::string> failed_;
  std::string cluster_name_;
};

Status export_failed(const std::string& what) {
  return make_error(StatusCode::unavailable, "APIARY.EXPORT " + what);
}

// Every entry of partition `p` as the member holds it, page by page.
Result<std::vector<store::VersionedEntry>> read_partition(RespClient& conn, std::uint32_t p,
                                                          std::uint32_t partition_count,
                                                          std::size_t page) {
  std::vector<store::VersionedEntry> entries;
  const std::string id = std::to_string(p);
  const std::string count = std::to_string(page);
  std::string cursor = "0";
  std::uint64_t position = 0;
  do {
    auto reply = conn.call({"APIARY.EXPORT", id, cursor, count});
    if (!reply.ok()) return export_failed("failed: " + reply.status().to_string());
    if (reply->is_error()) return export_failed("was refused: " + reply->text);
    if (reply->type != RespReply::Type::array || reply->elements.size() != 2 ||
        reply->elements[0].type != RespReply::Type::bulk ||
        reply->elements[1].type != RespReply::Type::array) {
      return export_failed("answered something else than [cursor, entries]");
    }
    for (const RespReply& packed : reply->elements[1].elements) {
      auto entry = store::decode_entry(
          {reinterpret_cast<const std::uint8_t*>(packed.text.data()), packed.text.size()});
      if (!entry.ok()) return export_failed("sent a bad entry: " + entry.status().message());
      // A member that partitions keys otherwise (another partition count) is not this cluster.
      if (data::partition_of(entry->key, partition_count).value != p) {
        return export_failed("sent a key of another partition");
      }
      entries.push_back(std::move(*entry));
    }
    // Positions only grow within a partition: a cursor that does not would loop forever.
    const std::string& next = reply->elements[0].text;
    std::uint64_t next_position = 0;
    const auto [end, ec] = std::from_chars(next.data(), next.data() + next.size(), next_position);
    if (ec != std::errc() || end != next.data() + next.size() ||
        (next_position != 0 && next_position <= position)) {
      return export_failed("answered a cursor that does not advance: " + next.substr(0, 32));
    }
    position = next_position;
    cursor = next;
  } while (cursor != "0");
  return entries;
}

Status write_partition(persist::Env& env, const std::string& dir, std::uint32_t p,
                       std::vector<store::VersionedEntry>& entries) {
  std::size_t next = 0;
  auto written =
      persist::write_snapshot(env, persist::join_path(dir, partition_file_name(p)), NodeId{0},
                              HlcTimestamp{}, [&](store::VersionedEntry& out) {
                                if (next == entries.size()) return false;
                                out = std::move(entries[next++]);
                                return true;
                              });
  return written.ok() ? Status::Ok() : written.status();
}

}  // namespace

int run_backup(const BackupOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  auto table = fetch_partitions(options.http_addr);
  if (!table.ok()) {
    warn(table.status().message());
    return 1;
  }
  auto members = fetch_members(options.http_addr);
  if (!members.ok()) {
    warn(members.status().message());
    return 1;
  }
  persist::PosixEnv env;
  const std::string& dir = options.out_dir;
  if (env.exists(persist::join_path(dir, std::string(kManifestName)))) {
    warn(dir + " already holds a backup (" + std::string(kManifestName) +
         "): choose another directory");
    return 1;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    warn("cannot create " + dir + ": " + ec.message());
    return 1;
  }

  BackupManifest manifest;
  manifest.source = options.http_addr;
  manifest.created_at_ms = wall_ms_now();
  manifest.partition_count = table->partition_count;
  manifest.replicas = table->replicas;
  MemberConnections connections(*members);
  for (std::uint32_t p = 0; p < table->partition_count; ++p) {
    bool done = false;
    for (const std::string& owner : table->owners[p]) {
      RespClient* conn = connections.get(owner);
      if (conn == nullptr) continue;
      auto entries = read_partition(*conn, p, table->partition_count, options.page);
      if (!entries.ok()) {
        warn("partition " + std::to_string(p) + " from " + owner + ": " +
             entries.status().message() + "; trying its next live owner");
        connections.drop(owner, entries.status().message());
        continue;
      }
      const std::uint64_t count = entries->size();
      if (Status s = write_partition(env, dir, p, *entries); !s.ok()) {
        warn("writing partition " + std::to_string(p) + ": " + s.to_string());
        return 1;
      }
      manifest.partitions.push_back({p, count, owner});
      done = true;
      break;
    }
    if (!done) manifest.failed.push_back(p);
  }
  manifest.cluster = connections.cluster_name();
  if (Status s = write_manifest(env, dir, manifest); !s.ok()) {
    warn("writing the manifest: " + s.to_string());
    return 1;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::set<std::string> sources;
  for (const auto& p : manifest.partitions) sources.insert(p.member);
  std::printf("backed up %llu entries of %zu partitions from %zu member%s into %s in %.1f s\n",
              static_cast<unsigned long long>(manifest.total_entries()), manifest.partitions.size(),
              sources.size(), sources.size() == 1 ? "" : "s", dir.c_str(), seconds);
  if (!manifest.complete()) {
    std::string list;
    for (std::uint32_t p : manifest.failed) list += (list.empty() ? "" : " ") + std::to_string(p);
    warn(std::to_string(manifest.failed.size()) +
         " partitions could not be read from any live owner: " + list);
    return 1;
  }
  return 0;
}

}  // namespace apiary::cli
