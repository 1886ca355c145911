#include "backup_manifest.hpp"

#include <cstdio>
#include <ctime>
#include <optional>
#include <set>
#include <span>

#include "apiary/http/admin_server.hpp"
#include "json.hpp"

namespace apiary::cli {

namespace {

constexpr std::uint64_t kMaxManifestBytes = 64u << 20;

std::string utc_time(std::int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Status bad(const std::string& what) {
  return make_error(StatusCode::malformed, std::string(kManifestName) + ": " + what);
}

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// A non-negative integer field, or nullopt.
std::optional<std::int64_t> count_field(const Json& object, std::string_view name) {
  const Json* f = object.find(name);
  if (f == nullptr) return std::nullopt;
  const auto v = f->as_int();
  if (!v || *v < 0) return std::nullopt;
  return v;
}

}  // namespace

std::uint64_t BackupManifest::total_entries() const {
  std::uint64_t n = 0;
  for (const auto& p : partitions) n += p.entries;
  return n;
}

std::string partition_file_name(std::uint32_t id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "partition-%05u.snap", static_cast<unsigned>(id));
  return buf;
}

std::string manifest_json(const BackupManifest& m) {
  std::string out =
      "{\n  \"format\": \"apiary-backup\",\n  \"version\": " +
      std::to_string(kBackupFormatVersion) + ",\n  \"cluster\": " + http::json_quote(m.cluster) +
      ",\n  \"source\": " + http::json_quote(m.source) +
      ",\n  \"created_at_ms\": " + std::to_string(m.created_at_ms) +
      ",\n  \"created_at\": " + http::json_quote(utc_time(m.created_at_ms)) +
      ",\n  \"partition_count\": " + std::to_string(m.partition_count) +
      ",\n  \"replicas\": " + std::to_string(m.replicas) +
      ",\n  \"total_entries\": " + std::to_string(m.total_entries()) +
      ",\n  \"complete\": " + (m.complete() ? "true" : "false") + ",\n  \"partitions\": [";
  for (std::size_t i = 0; i < m.partitions.size(); ++i) {
    const auto& p = m.partitions[i];
    out += i == 0 ? "\n" : ",\n";
    out += "    {\"id\": " + std::to_string(p.id) +
           ", \"file\": " + http::json_quote(partition_file_name(p.id)) +
           ", \"entries\": " + std::to_string(p.entries) +
           ", \"member\": " + http::json_quote(p.member) + "}";
  }
  out += "\n  ],\n  \"failed_partitions\": [";
  for (std::size_t i = 0; i < m.failed.size(); ++i) {
    out += (i == 0 ? "" : ", ") + std::to_string(m.failed[i]);
  }
  return out + "]\n}\n";
}

Result<BackupManifest> parse_manifest(std::string_view text) {
  auto parsed = parse_json(text);
  if (!parsed.ok()) return bad(parsed.status().message());
  const Json& j = *parsed;
  const Json* format = j.find("format");
  if (format == nullptr || format->as_string() != "apiary-backup") {
    return bad("not an Apiary backup manifest");
  }
  const auto version = count_field(j, "version");
  if (!version) return bad("no version");
  if (*version > kBackupFormatVersion) {
    return make_error(StatusCode::unsupported,
                      std::string(kManifestName) + ": backup format version " +
                          std::to_string(*version) + " is newer than this apiary reads (" +
                          std::to_string(kBackupFormatVersion) + ")");
  }
  BackupManifest m;
  if (const Json* c = j.find("cluster")) m.cluster = c->as_string().value_or("");
  if (const Json* s = j.find("source")) m.source = s->as_string().value_or("");
  m.created_at_ms = count_field(j, "created_at_ms").value_or(0);
  const auto count = count_field(j, "partition_count");
  if (!count || *count == 0 || *count > (1 << 20)) return bad("no valid partition_count");
  m.partition_count = static_cast<std::uint32_t>(*count);
  m.replicas = static_cast<std::uint32_t>(count_field(j, "replicas").value_or(0));
  const Json* parts = j.find("partitions");
  if (parts == nullptr || parts->kind != Json::Kind::array) return bad("no partition list");
  std::set<std::int64_t> seen;
  for (const Json& p : parts->items) {
    const auto id = count_field(p, "id");
    const auto entries = count_field(p, "entries");
    if (!id || !entries || *id >= *count) return bad("a partition without a valid id or count");
    if (!seen.insert(*id).second) return bad("partition " + std::to_string(*id) + " twice");
    BackupPartition bp;
    bp.id = static_cast<std::uint32_t>(*id);
    bp.entries = static_cast<std::uint64_t>(*entries);
    if (const Json* member = p.find("member")) bp.member = member->as_string().value_or("");
    m.partitions.push_back(std::move(bp));
  }
  if (const Json* failed = j.find("failed_partitions")) {
    for (const Json& f : failed->items) {
      const auto id = f.as_int();
      if (!id || *id < 0 || *id >= *count) return bad("an invalid failed partition");
      m.failed.push_back(static_cast<std::uint32_t>(*id));
    }
  }
  return m;
}

Status write_manifest(persist::Env& env, const std::string& dir, const BackupManifest& manifest) {
  const std::string path = persist::join_path(dir, std::string(kManifestName));
  const std::string temp = path + ".tmp";
  auto file = env.create(temp);
  if (!file.ok()) return file.status();
  const std::string text = manifest_json(manifest);
  if (Status s = (*file)->append(bytes_of(text)); !s.ok()) return s;
  if (Status s = (*file)->sync(); !s.ok()) return s;
  if (Status s = (*file)->close(); !s.ok()) return s;
  return env.rename(temp, path);
}

Result<BackupManifest> read_manifest(persist::Env& env, const std::string& dir) {
  const std::string path = persist::join_path(dir, std::string(kManifestName));
  auto size = env.file_size(path);
  if (!size.ok()) {
    return make_error(size.status().code(),
                      path + ": " + size.status().message() + " (not a finished backup?)");
  }
  if (*size > kMaxManifestBytes) return bad("larger than 64 MiB");
  auto file = env.open_read(path);
  if (!file.ok()) return file.status();
  std::string text(static_cast<std::size_t>(*size), '\0');
  std::size_t filled = 0;
  while (filled < text.size()) {
    auto n = (*file)->read(
        {reinterpret_cast<std::uint8_t*>(text.data()) + filled, text.size() - filled});
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    filled += *n;
  }
  text.resize(filled);
  return parse_manifest(text);
}

}  // namespace apiary::cli
