// apiaryd: one Apiary member as a daemon. See `apiaryd --help` and README.md.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "apiary/base/host_port.hpp"
#include "apiary/base/version.hpp"
#include "apiary/core/persistence.hpp"
#include "apiary/node.hpp"
#include "apiary/resp/keyspace_events.hpp"
#include "apiary/resp/server_config.hpp"
#include "apiary/runtime/json_log.hpp"
#include "apiary/runtime/seed_resolver.hpp"
#include "apiary/runtime/tls.hpp"

namespace {

// CLI11 validator for "host:port".
struct HostPort : CLI::Validator {
  HostPort() {
    name_ = "HOST:PORT";
    func_ = [](std::string& value) -> std::string {
      auto parsed = apiary::parse_host_port(value);
      return parsed.ok() ? std::string() : parsed.status().message();
    };
  }
};

}  // namespace

int main(int argc, char** argv) {
  apiary::NodeConfig config;
  std::string log_level = "info";
  std::string log_format = "text";
  std::string seeds_csv;
  std::string bind_ip = "0.0.0.0";
  int port = 6379;
  std::string maxmemory = "0";
  std::string proto_max_bulk_len = "512mb";
  std::int64_t busy_reply_threshold_ms = 5000;

  CLI::App app{
      "apiaryd - an Apiary cache node.\n"
      "Starts a member that joins the cluster through --seeds (or starts a new cluster when\n"
      "none are given). SIGTERM or SIGINT leaves the cluster gracefully (after `apiary drain`\n"
      "it only stops)."};
  app.set_config("--config", "", "Read flags from a TOML/INI file (keys are the long flag names)");
  app.set_version_flag("--version", std::string(apiary::version()));
  const HostPort host_port;
  app.add_option("--name", config.name,
                 "Unique member name; reuse it when restarting a node (default: HOSTNAME-PORT)");
  app.add_option("--gossip-addr", config.gossip_addr, "Address the gossip socket binds")
      ->check(host_port)
      ->capture_default_str();
  app.add_option("--advertise-addr", config.advertise_addr,
                 "Gossip address peers use to reach this node (default: --gossip-addr with "
                 "0.0.0.0 replaced by this host's first non-loopback IPv4 address)")
      ->check(host_port);
  app.add_option("--seeds", seeds_csv,
                 "Comma-separated members to join through: HOST:PORT (a gossip address), "
                 "dns:NAME:PORT (every A record of NAME, each with PORT; a Kubernetes headless "
                 "Service) or dns+srv:NAME (its SRV records). Names are looked up again while "
                 "joining or alone and every --seed-refresh-interval-ms, so clusters that "
                 "formed apart merge once the name lists both");
  std::int64_t seed_refresh_ms = 30000;
  app.add_option("--seed-refresh-interval-ms", seed_refresh_ms,
                 "How often a node in a cluster looks its seed names up again (every ~2 s "
                 "while joining or alone)")
      ->check(CLI::Range(std::int64_t{100}, std::int64_t{86400000}))
      ->capture_default_str();
  app.add_option(
         "--http-addr", config.http_addr,
         "HTTP admin address (/healthz, /readyz, /v1/members, /v1/partitions, /metrics, the "
         "dashboard at /); empty disables it")
      ->check(host_port);
  app.add_option("--port", port, "Redis protocol (RESP) port; 0 picks a free port")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app.add_option("--bind", bind_ip, "IPv4 address the Redis protocol port listens on")
      ->check(CLI::ValidIPV4)
      ->capture_default_str();
  app.add_option("--maxmemory", maxmemory,
                 "Memory limit for data, Redis syntax (100mb, 2gb); 0 means no limit")
      ->capture_default_str();
  app.add_option("--maxmemory-policy", config.maxmemory_policy,
                 "What to do at the limit: noeviction, allkeys-lru, allkeys-lfu, "
                 "allkeys-random, volatile-lru, volatile-lfu, volatile-random, volatile-ttl")
      ->check(CLI::IsMember({"noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random",
                             "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"}))
      ->capture_default_str();
  app.add_option("--proto-max-bulk-len", proto_max_bulk_len,
                 "Largest bulk string a client may send and longest string APPEND/SETRANGE may "
                 "build, Redis syntax (1mb at least); CONFIG SET proto-max-bulk-len changes it")
      ->capture_default_str();
  app.add_option("--busy-reply-threshold", busy_reply_threshold_ms,
                 "Milliseconds a Lua script may run before other clients get BUSY and SCRIPT KILL "
                 "can stop it; CONFIG SET busy-reply-threshold changes it")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{86400000}))
      ->capture_default_str();
  app.add_option("--notify-keyspace-events", config.notify_keyspace_events,
                 "Keyspace notifications, Redis's flags (KEA, Ex, ...; empty: none); CONFIG SET "
                 "notify-keyspace-events changes it")
      ->check([](const std::string& v) {
        return apiary::resp::parse_keyspace_events(v)
                   ? std::string()
                   : std::string("invalid event class character; use Ag$lshzxeKEtmdn");
      });
  std::string protected_mode = "yes";
  app.add_option("--requirepass", config.requirepass,
                 "Password of the default user (empty: none); clients AUTH with it. Users and "
                 "their rules apply on every member (ACL SETUSER, docs/security.md)");
  app.add_option("--aclfile", config.aclfile,
                 "ACL file loaded at start and used by ACL LOAD and ACL SAVE (Redis's format: one "
                 "'user <name> <rules>' per line)");
  app.add_option("--protected-mode", protected_mode,
                 "yes: while the default user has no password, refuse clients that do not come "
                 "from the loopback interface (Redis's DENIED error)")
      ->check(CLI::IsMember({"yes", "no"}))
      ->capture_default_str();
  app.add_option("--data-addr", config.data_addr,
                 "Address the node-to-node data channel binds, IPv4 (default: the --gossip-addr "
                 "host with a free port); peers learn it through gossip")
      ->check(host_port);
  app.add_option("--replicas", config.replicas,
                 "Replication factor N: owners of every partition (capped at the live members)")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  app.add_option("--write-quorum", config.write_quorum,
                 "W: replicas (this node included) that acknowledge a write before it is "
                 "answered; at most --replicas")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  app.add_option("--read-quorum", config.read_quorum,
                 "R: replicas asked by a read, merged by vector clock; at most --replicas")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  app.add_option("--partitions", config.partition_count,
                 "Partitions of the key space, a power of two (every member must agree)")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  std::int64_t dead_grace_ms = config.dead_grace.count();
  app.add_option("--dead-grace-ms", dead_grace_ms,
                 "How long a failed member keeps its partitions (writes go to stand-ins with "
                 "hints) before the others take them over and re-replicate")
      ->check(CLI::Range(0, 86400000))
      ->capture_default_str();
  std::int64_t handoff_timeout_ms = config.handoff_timeout.count();
  app.add_option("--handoff-timeout-ms", handoff_timeout_ms,
                 "On SIGTERM, how long handing partitions to their new owners may take before "
                 "the node leaves anyway")
      ->check(CLI::Range(0, 86400000))
      ->capture_default_str();
  std::string appendonly = "no";
  std::string aof_load_truncated = "yes";
  std::string aof_min_size = "64mb";
  app.add_option("--dir", config.dir,
                 "Directory of the AOF and snapshot files (created if missing); empty: the node "
                 "reads and writes no files")
      ->capture_default_str();
  app.add_option("--appendonly", appendonly,
                 "yes: log every write to the append-only file and load it at start")
      ->check(CLI::IsMember({"yes", "no"}))
      ->capture_default_str();
  app.add_option("--appendfsync", config.appendfsync,
                 "always (a write is answered once on disk), everysec (lose at most ~1 s) or no "
                 "(the OS decides); CONFIG SET appendfsync changes it")
      ->check(CLI::IsMember({"always", "everysec", "no"}))
      ->capture_default_str();
  app.add_option("--appendfilename", config.appendfilename, "Name of the AOF inside --dir")
      ->capture_default_str();
  app.add_option("--dbfilename", config.dbfilename, "Name of the snapshot inside --dir")
      ->capture_default_str();
  app.add_option("--save", config.save,
                 "Snapshot rules as '<seconds> <changes>' pairs, e.g. '3600 1 300 100'; empty: "
                 "none; CONFIG SET save changes them")
      ->capture_default_str();
  app.add_option("--auto-aof-rewrite-percentage", config.auto_aof_rewrite_percentage,
                 "Rewrite the AOF in the background when it grew by this percentage since the "
                 "last rewrite (0: never)")
      ->check(CLI::Range(0, std::numeric_limits<int>::max()))
      ->capture_default_str();
  app.add_option("--auto-aof-rewrite-min-size", aof_min_size,
                 "...and is at least this big, Redis syntax (64mb)")
      ->capture_default_str();
  app.add_option("--aof-load-truncated", aof_load_truncated,
                 "yes: an AOF whose last record was cut short by a crash loads up to it (and is "
                 "truncated there); no: refuse to start")
      ->check(CLI::IsMember({"yes", "no"}))
      ->capture_default_str();
  app.add_option("--cluster-name", config.cluster_name,
                 "Members only talk to members with the same cluster name")
      ->capture_default_str();
  app.add_option("--cluster-key-file", config.cluster_key_file,
                 "Keyring that encrypts and authenticates node-to-node traffic: one base64 "
                 "32-byte key per line (apiary keygen), the first seals, all open; re-read on "
                 "SIGHUP and when it changes. Mode 0600. Empty: no encryption")
      ->check(CLI::ExistingFile);
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  app.add_option("--log-format", log_format,
                 "text: one human line per entry; json: one JSON object per line (ts, level, "
                 "msg, node, and event_id, event and the event's fields for node events)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();

  // TLS on the Redis port, Redis's settings (docs/security.md).
  int tls_port = 0;
  std::string tls_prefer_server_ciphers = "no";
  std::string tls_session_caching = "yes";
  apiary::TlsConfig& tls = config.tls;
  app.add_option("--tls-port", tls_port,
                 "Redis protocol port with TLS, beside --port (--port 0 then turns plaintext "
                 "off, as Redis); 0: no TLS port")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app.add_option("--tls-cert-file", tls.cert_file,
                 "PEM certificate (chain) of the TLS port; CONFIG SET tls-cert-file reloads it");
  app.add_option("--tls-key-file", tls.key_file, "PEM private key of --tls-cert-file");
  app.add_option("--tls-key-file-pass", tls.key_file_pass,
                 "Passphrase of --tls-key-file when it is encrypted");
  app.add_option("--tls-ca-cert-file", tls.ca_cert_file,
                 "PEM CA bundle that client certificates must chain to");
  app.add_option("--tls-ca-cert-dir", tls.ca_cert_dir,
                 "Directory of hashed CA certificates (c_rehash), instead of or with "
                 "--tls-ca-cert-file");
  app.add_option("--tls-auth-clients", tls.auth_clients,
                 "yes: clients must present a certificate signed by the CA; optional: one "
                 "presented must be valid; no: none is asked for")
      ->check(CLI::IsMember({"yes", "no", "optional"}))
      ->capture_default_str();
  app.add_option("--tls-protocols", tls.protocols,
                 "TLS versions to accept, e.g. \"TLSv1.2 TLSv1.3\" (default: those two)");
  app.add_option("--tls-ciphers", tls.ciphers, "TLSv1.2 ciphers, OpenSSL syntax");
  app.add_option("--tls-ciphersuites", tls.ciphersuites, "TLSv1.3 cipher suites, OpenSSL syntax");
  app.add_option("--tls-prefer-server-ciphers", tls_prefer_server_ciphers,
                 "yes: the server's cipher order wins over the client's")
      ->check(CLI::IsMember({"yes", "no"}))
      ->capture_default_str();
  app.add_option("--tls-session-caching", tls_session_caching,
                 "yes: clients may resume TLS sessions (a shorter handshake)")
      ->check(CLI::IsMember({"yes", "no"}))
      ->capture_default_str();
  app.add_option("--tls-session-cache-size", tls.session_cache_size, "Sessions kept for resumption")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{2147483647}))
      ->capture_default_str();
  app.add_option("--tls-session-cache-timeout", tls.session_cache_timeout_seconds,
                 "Seconds a cached session stays valid")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{2147483647}))
      ->capture_default_str();
  // The HTTP admin port: https and a bearer token (docs/security.md).
  std::string admin_token_file;
  app.add_option("--http-tls-cert-file", config.http_tls_cert_file,
                 "PEM certificate (chain): the admin port speaks https (with --http-tls-key-file)")
      ->check(CLI::ExistingFile);
  app.add_option("--http-tls-key-file", config.http_tls_key_file,
                 "PEM private key of --http-tls-cert-file")
      ->check(CLI::ExistingFile);
  app.add_option("--http-tls-ca-file", config.http_tls_ca_file,
                 "PEM CA that the other members' admin certificates must chain to (for "
                 "/v1/cluster/stats; default: --http-tls-cert-file)")
      ->check(CLI::ExistingFile);
  app.add_option(
      "--admin-token", config.admin_token,
      "Bearer token every admin endpoint but /healthz and /readyz requires (Authorization: Bearer "
      "TOKEN); prefer --admin-token-file, which other users cannot read in ps");
  app.add_option("--admin-token-file", admin_token_file,
                 "File holding the admin token (its first line)")
      ->check(CLI::ExistingFile);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }

  if (!seeds_csv.empty()) {
    std::size_t start = 0;
    while (start <= seeds_csv.size()) {
      const auto comma = seeds_csv.find(',', start);
      std::string seed =
          seeds_csv.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!seed.empty()) {
        if (auto spec = apiary::runtime::parse_seed_spec(seed); !spec.ok()) {
          std::fprintf(stderr, "--seeds: %s\n", spec.status().message().c_str());
          return 2;
        }
        config.seeds.push_back(seed);
      }
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  config.seed_refresh_interval = std::chrono::milliseconds(seed_refresh_ms);
  std::uint64_t maxmemory_bytes = 0;
  if (!apiary::resp::parse_memory(maxmemory, maxmemory_bytes)) {
    std::fprintf(stderr, "--maxmemory: '%s' is not a size (examples: 0, 100mb, 2gb)\n",
                 maxmemory.c_str());
    return 2;
  }
  config.maxmemory = static_cast<std::size_t>(maxmemory_bytes);
  std::uint64_t bulk_bytes = 0;
  if (!apiary::resp::parse_memory(proto_max_bulk_len, bulk_bytes) || bulk_bytes < (1u << 20) ||
      bulk_bytes > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    std::fprintf(stderr,
                 "--proto-max-bulk-len: '%s' is not a size from 1mb up (examples: 1mb, 512mb, "
                 "2gb)\n",
                 proto_max_bulk_len.c_str());
    return 2;
  }
  config.proto_max_bulk_len = static_cast<std::int64_t>(bulk_bytes);
  config.busy_reply_threshold = std::chrono::milliseconds(busy_reply_threshold_ms);
  config.client_addr = bind_ip + ":" + std::to_string(port);
  config.appendonly = appendonly == "yes";
  config.protected_mode = protected_mode == "yes";
  config.aof_load_truncated = aof_load_truncated == "yes";
  if (!apiary::resp::parse_memory(aof_min_size, config.auto_aof_rewrite_min_size)) {
    std::fprintf(stderr, "--auto-aof-rewrite-min-size: '%s' is not a size (examples: 64mb)\n",
                 aof_min_size.c_str());
    return 2;
  }
  if (config.dir.empty() && (config.appendonly || !config.save.empty())) {
    std::fprintf(stderr, "--appendonly yes and --save need --dir (where the files go)\n");
    return 2;
  }
  if (!config.dir.empty() && !apiary::core::parse_save_rules(config.save)) {
    std::fprintf(stderr, "--save: '%s' is not '<seconds> <changes>' pairs\n", config.save.c_str());
    return 2;
  }
  config.dead_grace = std::chrono::milliseconds(dead_grace_ms);
  config.handoff_timeout = std::chrono::milliseconds(handoff_timeout_ms);
  if (config.write_quorum > config.replicas || config.read_quorum > config.replicas) {
    std::fprintf(stderr, "--write-quorum and --read-quorum must not exceed --replicas (%u)\n",
                 config.replicas);
    return 2;
  }
  if ((config.partition_count & (config.partition_count - 1)) != 0) {
    std::fprintf(stderr, "--partitions must be a power of two\n");
    return 2;
  }
  if (config.cluster_name.empty() || config.cluster_name.size() > 64) {
    std::fprintf(stderr, "--cluster-name must be 1 to 64 characters\n");
    return 2;
  }

  if (tls_port != 0) {
    tls.addr = bind_ip + ":" + std::to_string(tls_port);
    if (port == 0) config.client_addr.clear();  // TLS only, as Redis's port 0
  }
  tls.prefer_server_ciphers = tls_prefer_server_ciphers == "yes";
  tls.session_caching = tls_session_caching == "yes";
  if (!tls.addr.empty()) {
    // Bad certificates are a bad flag: the same message and exit code as the others.
    if (auto checked = apiary::runtime::TlsContext::create(tls); !checked.ok()) {
      std::fprintf(stderr, "--tls-*: %s\n", checked.status().message().c_str());
      return 2;
    }
  }
  if (config.http_tls_cert_file.empty() != config.http_tls_key_file.empty()) {
    std::fprintf(stderr, "--http-tls-cert-file and --http-tls-key-file go together\n");
    return 2;
  }
  if (!config.http_tls_cert_file.empty()) {
    // The same loader as the Redis port's (no client certificates): a bad pair is a bad flag.
    apiary::TlsConfig admin_tls;
    admin_tls.cert_file = config.http_tls_cert_file;
    admin_tls.key_file = config.http_tls_key_file;
    admin_tls.auth_clients = "no";
    if (auto checked = apiary::runtime::TlsContext::create(admin_tls); !checked.ok()) {
      std::fprintf(stderr, "--http-tls-*: %s\n", checked.status().message().c_str());
      return 2;
    }
  }
  if (!admin_token_file.empty()) {
    if (!config.admin_token.empty()) {
      std::fprintf(stderr, "give --admin-token or --admin-token-file, not both\n");
      return 2;
    }
    std::ifstream in(admin_token_file);
    std::getline(in, config.admin_token);
    while (!config.admin_token.empty() &&
           (config.admin_token.back() == '\r' || config.admin_token.back() == ' ' ||
            config.admin_token.back() == '\t')) {
      config.admin_token.pop_back();
    }
    if (!in && config.admin_token.empty()) {
      std::fprintf(stderr, "--admin-token-file: cannot read a token from %s\n",
                   admin_token_file.c_str());
      return 2;
    }
  }
  if (config.admin_token.find_first_of(" \t\r\n") != std::string::npos ||
      (config.admin_token.empty() && !admin_token_file.empty())) {
    std::fprintf(stderr, "the admin token must be one word, not empty\n");
    return 2;
  }

  spdlog::set_level(spdlog::level::from_str(log_level));
  const auto format = apiary::runtime::parse_log_format(log_format);  // checked by CLI11
  apiary::runtime::set_log_format(format.value_or(apiary::runtime::LogFormat::text), config.name);

  // Block the shutdown signals in every thread; this thread waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);  // reloads (the cluster keys), see below
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto node = apiary::Node::start(config);
  if (!node.ok()) {
    spdlog::error("cannot start: {}", node.status().to_string());
    return 1;
  }
  // Ready means serving: a node joining through seeds answers data commands once a seed's
  // member list arrived (before that it would answer CLUSTERDOWN). Wait for its first
  // partition table, at most 5 s (a node whose seeds are all down serves alone after 10 s).
  for (int i = 0; i < 500 && (*node)->partitions().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // Machine-readable line for scripts and tests that start nodes on port 0 (a JSON line with
  // the same text as `msg`, and the addresses as fields, under --log-format json).
  const std::string http = (*node)->http_addr().empty() ? "-" : (*node)->http_addr();
  const std::string redis = (*node)->client_addr().empty() ? "-" : (*node)->client_addr();
  const std::string ready = "apiaryd ready name=" + (*node)->name() +
                            " gossip=" + (*node)->gossip_addr() + " redis=" + redis +
                            " http=" + http + " data=" + (*node)->data_addr() +
                            (tls.addr.empty() ? std::string() : " tls=" + tls.addr);
  if (format == apiary::runtime::LogFormat::json) {
    apiary::runtime::JsonFields fields;
    fields.add("gossip", (*node)->gossip_addr())
        .add("redis", redis)
        .add("http", http)
        .add("data", (*node)->data_addr());
    if (!tls.addr.empty()) fields.add("tls", tls.addr);
    std::fputs(apiary::runtime::json_line(spdlog::level::info, ready, fields).c_str(), stdout);
    std::fflush(stdout);
  } else {
    std::printf("%s\n", ready.c_str());
    std::fflush(stdout);
  }

  int sig = 0;
  for (;;) {
    sigwait(&signals, &sig);
    if (sig != SIGHUP) break;
    if (!config.cluster_key_file.empty()) {
      spdlog::info("SIGHUP: re-reading the cluster keys from {}", config.cluster_key_file);
      // A bad file is logged by the node, which keeps the keys it has.
      (void)(*node)->reload_cluster_keys();
    }
  }
  const char* signal_name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
  if ((*node)->drained()) {
    // POST /v1/drain (`apiary drain`) already handed everything off and left: only stop.
    spdlog::info("signal {}: drained earlier, stopping", signal_name);
  } else {
    spdlog::info("signal {}: leaving the cluster", signal_name);
  }
  auto status = (*node)->leave();
  if (!status.ok()) spdlog::warn("leave: {}", status.to_string());
  node->reset();
  spdlog::info("stopped");
  return 0;
}
