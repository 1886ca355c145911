#include "import.hpp"

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "apiary/persist/posix_env.hpp"
#include "apiary/persist/rdb_reader.hpp"
#include "cluster_http.hpp"
#include "resp_client.hpp"

namespace apiary::cli {

namespace {

using persist::RdbReader;
using persist::RdbReport;
using persist::RdbStringKey;

// A pipelined batch is sent when it holds this many bytes, even if short of `batch` commands.
constexpr std::size_t kBatchBytes = 4u << 20;

void fail(const std::string& message) {
  std::fprintf(stderr, "apiary import: %s\n", message.c_str());
}

std::int64_t wall_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void append_set(std::string& out, const RdbStringKey& k) {
  if (k.expiry_ms) {
    append_command(out, {"SET", k.key, k.value, "PXAT", std::to_string(*k.expiry_ms)});
  } else {
    append_command(out, {"SET", k.key, k.value});
  }
}

// --- the two passes ---

std::unique_ptr<RdbReader> open_rdb(persist::Env& env, const std::string& path) {
  auto reader = RdbReader::open(env, path);
  if (!reader.ok()) {
    fail(path + ": " + reader.status().to_string());
    return nullptr;
  }
  return std::move(reader.value());
}

// Reads the whole file; its report, or nullopt (and a message) when it is damaged.
std::optional<RdbReport> check_file(persist::Env& env, const std::string& path) {
  auto reader = open_rdb(env, path);
  if (!reader) return std::nullopt;
  while (reader->next()) {
  }
  if (!reader->status().ok()) {
    fail(path + ": " + reader->status().to_string() + " (nothing was imported)");
    return std::nullopt;
  }
  return reader->report();
}

struct Progress {
  std::uint64_t imported = 0;
  std::uint64_t expired = 0;
};

class Importer {
 public:
  Importer(RespClient& conn, std::size_t batch) : conn_(conn), batch_(batch) {}

  bool add(const RdbStringKey& k) {
    append_set(pending_, k);
    keys_.push_back(k.key);
    if (keys_.size() >= batch_ || pending_.size() >= kBatchBytes) return flush();
    return true;
  }

  // Sends what is pending and checks every reply.
  bool flush() {
    if (keys_.empty()) return true;
    if (Status s = conn_.send(pending_); !s.ok()) {
      fail("sending to the cluster failed: " + s.message());
      return false;
    }
    for (const auto& key : keys_) {
      auto reply = conn_.read_reply();
      if (!reply.ok()) {
        fail("reading the cluster's replies failed: " + reply.status().message());
        return false;
      }
      if (reply->type != RespReply::Type::simple || reply->text != "OK") {
        fail("SET " + printable(key) + " was refused: " +
             (reply->is_error() ? "-" + reply->text : reply->text));
        return false;
      }
      ++imported_;
    }
    pending_.clear();
    keys_.clear();
    return true;
  }

  std::uint64_t imported() const { return imported_; }

 private:
  static std::string printable(const std::string& key) {
    std::string out = "\"";
    for (const unsigned char c : key.substr(0, 64)) {
      if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
        out += static_cast<char>(c);
      } else {
        char hex[8];
        std::snprintf(hex, sizeof hex, "\\x%02x", c);
        out += hex;
      }
    }
    return out + (key.size() > 64 ? "...\"" : "\"");
  }

  RespClient& conn_;
  std::size_t batch_;
  std::string pending_;
  std::vector<std::string> keys_;
  std::uint64_t imported_ = 0;
};

std::optional<Progress> import_keys(persist::Env& env, const std::string& path, RespClient& conn,
                                    std::size_t batch) {
  auto reader = open_rdb(env, path);
  if (!reader) return std::nullopt;
  Importer importer(conn, batch);
  Progress progress;
  while (auto item = reader->next()) {
    const auto* k = std::get_if<RdbStringKey>(&*item);
    if (k == nullptr) continue;  // counted by the reader's report
    if (k->expiry_ms && *k->expiry_ms <= wall_ms_now()) {
      ++progress.expired;
      continue;
    }
    if (!importer.add(*k)) return std::nullopt;
  }
  if (!reader->status().ok()) {  // the file changed since it was checked
    fail(path + ": " + reader->status().to_string());
    return std::nullopt;
  }
  if (!importer.flush()) return std::nullopt;
  progress.imported = importer.imported();
  return progress;
}

void print_file_summary(const std::string& path, const RdbReport& r) {
  const std::string ver = r.aux_value("redis-ver");
  std::printf("%s: RDB version %u%s%s, %llu keys (%llu strings), checksum %s\n", path.c_str(),
              r.version, ver.empty() ? "" : ", written by Redis ", ver.c_str(),
              static_cast<unsigned long long>(r.keys()), static_cast<unsigned long long>(r.strings),
              r.checksum_verified ? "verified" : "not present");
}

void print_skipped(const RdbReport& r) {
  if (!r.skipped.empty()) {
    std::string list;
    for (const auto& [type, n] : r.skipped) {
      if (!list.empty()) list += ", ";
      list += std::to_string(n) + " " + type;
    }
    std::printf("skipped (types Apiary does not hold yet): %s\n", list.c_str());
  }
  for (const auto& [db, n] : r.keys_by_db) {
    if (db == 0) continue;
    std::printf("keys from db %llu: %llu (Apiary has one keyspace: they go into it)\n",
                static_cast<unsigned long long>(db), static_cast<unsigned long long>(n));
  }
  if (r.functions > 0) {
    std::printf("skipped %llu function libraries\n", static_cast<unsigned long long>(r.functions));
  }
  if (r.module_aux > 0) {
    std::printf("skipped %llu module auxiliary records\n",
                static_cast<unsigned long long>(r.module_aux));
  }
}

}  // namespace

int run_import(const ImportOptions& options) {
  persist::PosixEnv env;
  const auto report = check_file(env, options.path);
  if (!report) return 1;
  print_file_summary(options.path, *report);
  if (options.dry_run) {
    std::printf("dry run: %llu string keys would be imported (fewer if some expire first)\n",
                static_cast<unsigned long long>(report->strings));
    print_skipped(*report);
    return 0;
  }

  auto live = fetch_live_redis_addrs(options.http_addr);
  if (!live.ok()) {
    fail(live.status().message());
    return 1;
  }
  const std::vector<std::string>& addrs = live.value();
  RespClient conn;
  std::string used;
  for (const auto& addr : addrs) {
    if (Status s = conn.connect(addr, std::chrono::seconds(10)); s.ok()) {
      used = addr;
      break;
    } else {
      std::fprintf(stderr, "apiary import: cannot connect to %s: %s\n", addr.c_str(),
                   s.message().c_str());
    }
  }
  if (used.empty()) {
    fail("no member's Redis port accepted a connection");
    return 1;
  }

  const auto progress = import_keys(env, options.path, conn, options.batch);
  if (!progress) return 1;
  std::printf("imported %llu string keys through %s\n",
              static_cast<unsigned long long>(progress->imported), used.c_str());
  if (progress->expired > 0) {
    std::printf("skipped %llu keys already expired\n",
                static_cast<unsigned long long>(progress->expired));
  }
  print_skipped(*report);
  return 0;
}

}  // namespace apiary::cli
