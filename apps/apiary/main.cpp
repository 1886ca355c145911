// apiary: the admin command-line client. Data commands go through redis-cli (any node speaks
// the Redis protocol); this tool shows the cluster as a node's HTTP admin port reports it,
// checks (and repairs) append-only files offline, as redis-check-aof does, imports a Redis
// RDB file into a running cluster (import.hpp), and backs a cluster up and restores it
// (backup.hpp).
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "apiary/base/host_port.hpp"
#include "apiary/base/version.hpp"
#include "apiary/persist/aof_check.hpp"
#include "apiary/persist/posix_env.hpp"
#include "apiary/runtime/keyring.hpp"
#include "backup.hpp"
#include "cluster_http.hpp"
#include "drain_command.hpp"
#include "import.hpp"
#include "ops_commands.hpp"

namespace {

int fetch(const std::string& http_addr, const std::string& path) {
  auto parsed = apiary::parse_host_port(http_addr);
  if (!parsed.ok()) {
    std::fprintf(stderr, "apiary: --http: %s\n", parsed.status().message().c_str());
    return 2;
  }
  auto client = apiary::cli::admin_client(parsed->host, parsed->port);
  client->set_connection_timeout(3);
  client->set_read_timeout(5);
  auto res = client->Get(path);
  if (!res) {
    std::fprintf(stderr, "apiary: cannot reach %s: %s\n", http_addr.c_str(),
                 httplib::to_string(res.error()).c_str());
    return 1;
  }
  if (res->status != 200) {
    std::fprintf(stderr, "apiary: %s answered HTTP %d\n", http_addr.c_str(), res->status);
    return 1;
  }
  std::fwrite(res->body.data(), 1, res->body.size(), stdout);
  if (!res->body.empty() && res->body.back() != '\n') std::fputc('\n', stdout);
  return 0;
}

// Exit 0: the file is clean (or was fixed); 1: it is damaged (and not fixed); 2: it could
// not be read as an AOF at all.
int check_aof(const std::string& path, bool fix) {
  apiary::persist::PosixEnv env;
  auto checked = apiary::persist::check_aof(env, path, /*fix=*/false);
  if (!checked.ok()) {
    std::fprintf(stderr, "apiary check-aof: %s\n", checked.status().to_string().c_str());
    return 2;
  }
  const auto& r = checked.value().report;
  if (r.has_header) {
    std::printf("%s: Apiary AOF format %u, created by actor %s\n", path.c_str(),
                static_cast<unsigned>(r.header.version), apiary::to_string(r.header.actor).c_str());
  }
  std::printf("records: %llu", static_cast<unsigned long long>(r.records));
  if (r.skipped_optional > 0) {
    std::printf(" (+%llu optional records of unknown type)",
                static_cast<unsigned long long>(r.skipped_optional));
  }
  std::printf("\nfile size: %llu bytes, last good offset: %llu\n",
              static_cast<unsigned long long>(r.file_size),
              static_cast<unsigned long long>(r.good_offset));
  if (r.clean()) {
    std::printf(r.has_header ? "OK: the file ends with a whole record\n"
                             : "OK: an empty file (a writer starts it with a header)\n");
    return 0;
  }
  std::printf("problem: %s%s%s\n", std::string(apiary::persist::to_string(r.reason)).c_str(),
              r.detail.empty() ? "" : ": ", r.detail.c_str());
  if (!r.repairable()) {
    std::printf("not repairable by truncation (%s)\n",
                r.reason == apiary::persist::StopReason::unsupported
                    ? "written by a newer Apiary: upgrade instead"
                    : "the file could not be read");
    return 1;
  }
  if (!fix) {
    std::printf(
        "run `apiary check-aof --fix %s` to truncate it to offset %llu (drops %llu bytes)\n",
        path.c_str(), static_cast<unsigned long long>(r.good_offset),
        static_cast<unsigned long long>(r.bytes_after_good()));
    return 1;
  }
  std::printf(
      "fixing: truncating to offset %llu drops %llu bytes (everything after the last "
      "whole record)\n",
      static_cast<unsigned long long>(r.good_offset),
      static_cast<unsigned long long>(r.bytes_after_good()));
  auto fixed = apiary::persist::check_aof(env, path, /*fix=*/true);
  if (!fixed.ok() || !fixed.value().fixed) {
    std::fprintf(stderr, "apiary check-aof: fix failed: %s\n",
                 fixed.ok() ? "the file changed meanwhile" : fixed.status().to_string().c_str());
    return 1;
  }
  std::printf("fixed: %llu bytes dropped, %llu records kept\n",
              static_cast<unsigned long long>(fixed.value().dropped_bytes),
              static_cast<unsigned long long>(fixed.value().report.records));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"apiary - admin client for an Apiary cluster (data: use redis-cli)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(apiary::version()));
  std::string http_addr = "127.0.0.1:8080";
  bool json = false;
  // Admin ports with TLS or a token (docs/security.md); before or after the subcommand.
  apiary::cli::AdminAccess access;
  std::string token_file;
  app.fallthrough();
  app.add_option("--admin-token", access.token,
                 "Bearer token of the admin port (also $APIARY_ADMIN_TOKEN)")
      ->envname("APIARY_ADMIN_TOKEN");
  app.add_option("--admin-token-file", token_file, "File holding the admin token (first line)")
      ->check(CLI::ExistingFile);
  app.add_flag("--https", access.https, "The admin port speaks https (system CAs)");
  app.add_option("--cacert", access.ca_file,
                 "CA (PEM) of the admin port's certificate; implies --https")
      ->check(CLI::ExistingFile);

  auto* members = app.add_subcommand("members", "Print the member table as a node sees it");
  members->add_option("--http", http_addr, "HTTP admin address of any node")->capture_default_str();
  members->add_flag("--json", json, "Print the raw JSON of GET /v1/members");

  bool all = false;
  auto* partitions = app.add_subcommand(
      "partitions", "Print the partition table: partitions owned per member (and per partition)");
  partitions->add_option("--http", http_addr, "HTTP admin address of any node")
      ->capture_default_str();
  partitions->add_flag("--all", all, "Also list every partition with its owners in order");
  partitions->add_flag("--json", json, "Print the raw JSON of GET /v1/partitions");

  auto* health = app.add_subcommand("health", "Exit 0 when the node answers /healthz");
  health->add_option("--http", http_addr, "HTTP admin address of the node")->capture_default_str();

  std::string aof_path;
  bool fix = false;
  auto* check = app.add_subcommand(
      "check-aof",
      "Check an append-only file offline; --fix truncates it to its last whole record");
  check->add_option("FILE", aof_path, "The append-only file")->required();
  check->add_flag("--fix", fix,
                  "Truncate the file after its last whole record (says how much first)");

  apiary::cli::ImportOptions import_options;
  auto* import = app.add_subcommand(
      "import",
      "Load a Redis RDB file (dump.rdb) into the cluster: strings, hashes and sets with their "
      "expiry (hash fields without their own TTL); lists, sorted sets, streams and modules are "
      "reported and skipped");
  import->add_option("FILE", import_options.path, "The RDB file (Redis 6.0 to 7.4)")->required();
  import->add_option("--http", http_addr, "HTTP admin address of any node")->capture_default_str();
  import->add_flag("--dry-run", import_options.dry_run,
                   "Check the file and report what it holds; write nothing");
  import->add_option("--batch", import_options.batch, "Commands (SET, HSET, SADD, PEXPIREAT) per pipelined batch")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));

  apiary::cli::BackupOptions backup_options;
  auto* backup = app.add_subcommand(
      "backup", "Write every partition of the cluster, with versions and expiries, to a directory");
  backup->add_option("--http", http_addr, "HTTP admin address of any node")->capture_default_str();
  backup->add_option("--out", backup_options.out_dir, "Directory to write (must not hold a backup)")
      ->required();
  backup->add_option("--page", backup_options.page, "Entries per APIARY.EXPORT call")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));

  apiary::cli::RestoreOptions restore_options;
  auto* restore = app.add_subcommand(
      "restore", "Merge a backup into a running cluster of any size (newer data in it is kept)");
  restore->add_option("DIR", restore_options.dir, "A directory `apiary backup` wrote")->required();
  restore->add_option("--http", http_addr, "HTTP admin address of any node")->capture_default_str();
  restore->add_option("--batch", restore_options.batch, "Commands in flight")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  restore->add_flag("--overwrite", restore_options.overwrite,
                    "SET each key's value instead of merging versions: replaces newer data, and "
                    "works after a FLUSHALL (counters and siblings come back as their value)");

  auto* keygen = app.add_subcommand(
      "keygen",
      "Print a new random cluster key (base64, 32 bytes) for apiaryd --cluster-key-file");

  const apiary::cli::OpsCommands ops(app);  // meet (ops_commands.hpp)

  apiary::cli::DrainOptions drain_options;
  auto* drain = app.add_subcommand(
      "drain",
      "Hand a node's partitions off and leave the cluster, keeping its process up until it is "
      "stopped (before maintenance; a Kubernetes preStop hook)");
  drain->add_option("--node", drain_options.node_addr, "HTTP admin address of the node")
      ->capture_default_str();
  drain->add_flag("--wait", drain_options.wait,
                  "Follow GET /readyz until the node reports drained (exit 1 on --timeout)");
  drain->add_option("--timeout", drain_options.timeout_s, "Seconds --wait waits at most")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    std::getline(in, access.token);
    while (!access.token.empty() && (access.token.back() == '\r' || access.token.back() == ' ')) {
      access.token.pop_back();
    }
  }
  if (!access.ca_file.empty()) access.https = true;
  apiary::cli::set_admin_access(access);
  if (members->parsed()) return fetch(http_addr, json ? "/v1/members" : "/v1/members?format=text");
  if (partitions->parsed()) {
    return fetch(http_addr, json  ? "/v1/partitions"
                            : all ? "/v1/partitions?format=text&all=1"
                                  : "/v1/partitions?format=text");
  }
  if (auto code = ops.run()) return *code;
  if (drain->parsed()) return apiary::cli::run_drain(drain_options);
  if (health->parsed()) return fetch(http_addr, "/healthz");
  if (keygen->parsed()) {
    auto key = apiary::runtime::generate_cluster_key();
    if (!key.ok()) {
      std::fprintf(stderr, "apiary keygen: %s\n", key.status().message().c_str());
      return 1;
    }
    std::printf("%s\n", apiary::runtime::encode_cluster_key(*key).c_str());
    return 0;
  }
  if (check->parsed()) return check_aof(aof_path, fix);
  if (import->parsed()) {
    import_options.http_addr = http_addr;
    return apiary::cli::run_import(import_options);
  }
  if (backup->parsed()) {
    backup_options.http_addr = http_addr;
    return apiary::cli::run_backup(backup_options);
  }
  if (restore->parsed()) {
    restore_options.http_addr = http_addr;
    return apiary::cli::run_restore(restore_options);
  }
  return 2;
}
