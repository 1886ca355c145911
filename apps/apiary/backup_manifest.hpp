// The layout of a backup directory (docs/persistence.md, "Backup and restore"):
//
//   DIR/manifest.json          what the backup holds; written last, so a directory without
//                              it is not a finished backup
//   DIR/partition-00042.snap   one snapshot file per partition that was read (Apiary's
//                              snapshot format, persist/snapshot.hpp), written by actor 0
//
// manifest.json: {"format":"apiary-backup","version":1,"cluster":"...","source":"host:port",
// "created_at_ms":..., "created_at":"2026-12-05T11:30:00Z","partition_count":1024,
// "replicas":3,"total_entries":N,"complete":true,"partitions":[{"id":0,
// "file":"partition-00000.snap","entries":3,"member":"n1"},...],"failed_partitions":[...]}
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/status.hpp"
#include "apiary/persist/env.hpp"

namespace apiary::cli {

inline constexpr std::string_view kManifestName = "manifest.json";
inline constexpr int kBackupFormatVersion = 1;

struct BackupPartition {
  std::uint32_t id = 0;
  std::uint64_t entries = 0;
  std::string member;  // whose copy was read
};

struct BackupManifest {
  std::string cluster;  // the cluster's name, as INFO cluster reports it
  std::string source;   // the --http address the backup started from
  std::int64_t created_at_ms = 0;
  std::uint32_t partition_count = 0;
  std::uint32_t replicas = 0;
  std::vector<BackupPartition> partitions;  // the partitions read, by id
  std::vector<std::uint32_t> failed;        // partitions no owner could give

  std::uint64_t total_entries() const;
  bool complete() const { return failed.empty(); }
};

// "partition-00042.snap"
std::string partition_file_name(std::uint32_t id);

std::string manifest_json(const BackupManifest& manifest);
// `malformed` unless it is a manifest of a format this build reads, with partition ids in
// range, each once.
Result<BackupManifest> parse_manifest(std::string_view json);

// Written under a temporary name, synced and renamed into place.
Status write_manifest(persist::Env& env, const std::string& dir, const BackupManifest& manifest);
Result<BackupManifest> read_manifest(persist::Env& env, const std::string& dir);

}  // namespace apiary::cli
