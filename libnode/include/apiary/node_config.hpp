// NodeConfig: everything needed to start one Apiary member, whether as the apiaryd daemon or
// embedded in a service. The daemon's flags map one-to-one onto these fields and share these
// defaults.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "apiary/gossip/swim_config.hpp"
#include "apiary/replication/replication_config.hpp"

namespace apiary {

// TLS on the Redis port, with Redis's settings and defaults (docs/security.md).
struct TlsConfig {
  // Where the TLS listener binds ("ipv4:port"; port 0 picks a free port); empty: no TLS
  // port. It serves beside NodeConfig::client_addr, or alone when that is empty.
  std::string addr;
  std::string cert_file;      // PEM certificate chain (tls-cert-file)
  std::string key_file;       // PEM private key (tls-key-file)
  std::string key_file_pass;  // its passphrase when encrypted (tls-key-file-pass)
  std::string ca_cert_file;   // CA that client certificates must chain to (tls-ca-cert-file)
  std::string ca_cert_dir;    // or a hashed directory of CAs (tls-ca-cert-dir)
  // yes: every client presents a certificate signed by the CA; optional: one presented must
  // be valid; no: none is asked for (then no CA is needed).
  std::string auth_clients = "yes";
  std::string protocols;     // "TLSv1.2 TLSv1.3"; empty: those two
  std::string ciphers;       // TLS 1.2 cipher list (OpenSSL syntax); empty: OpenSSL's default
  std::string ciphersuites;  // TLS 1.3 suites; empty: OpenSSL's default
  bool prefer_server_ciphers = false;
  bool session_caching = true;
  std::int64_t session_cache_size = 20480;
  std::int64_t session_cache_timeout_seconds = 300;
};

struct NodeConfig {
  // Unique member name; a restarted node should reuse its name. Empty: "<hostname>-<port>".
  std::string name;
  // Where the gossip socket binds ("host:port"; port 0 picks a free port).
  std::string gossip_addr = "0.0.0.0:7946";
  // What peers use to reach this node; empty: gossip_addr, with 0.0.0.0 replaced by this
  // host's first non-loopback IPv4 address and port 0 by the bound port.
  std::string advertise_addr;
  // Members to join through; empty starts a new cluster. Each entry is HOST:PORT (a gossip
  // address), dns:NAME:PORT (every A record of NAME, each with PORT) or dns+srv:NAME (its SRV
  // records); see runtime/seed_resolver.hpp. Names are resolved off the event loop: at start
  // (until they yield another node's address; after join_timeout, 10 s, a node whose name
  // lists only itself, or nothing, serves as the first member), every ~2 s while joining or
  // alone, and every seed_refresh_interval otherwise, so that two clusters that formed apart
  // merge once the name lists members of both.
  std::vector<std::string> seeds;
  std::chrono::milliseconds seed_refresh_interval{30000};
  // HTTP admin endpoint ("host:port"); empty turns it off.
  std::string http_addr;
  // Node-to-node data channel ("host:port"; port 0 picks a free port). Empty: the gossip
  // bind host with a free port. Other members learn it from the gossip metadata, with the
  // advertised host.
  std::string data_addr;
  // Redis protocol endpoint ("ipv4:port"; port 0 picks a free port); empty turns it off.
  std::string client_addr;
  // TLS on the Redis port (tls.addr empty: none).
  TlsConfig tls;
  // The HTTP admin port: https when both are set (PEM certificate chain and key), and a
  // bearer token that every endpoint but /healthz requires when set (empty: open).
  std::string http_tls_cert_file;
  std::string http_tls_key_file;
  // CA that the other members' admin certificates must chain to when this node asks them for
  // /v1/cluster/stats; empty: http_tls_cert_file.
  std::string http_tls_ca_file;
  std::string admin_token;
  // Memory limit for stored data in bytes (0 = none) and what to do when it is reached
  // (Redis's policy names: noeviction, allkeys-lru, allkeys-lfu, allkeys-random,
  // volatile-lru, volatile-lfu, volatile-random, volatile-ttl).
  std::size_t maxmemory = 0;
  std::string maxmemory_policy = "noeviction";
  // Largest bulk string a Redis client may send, and longest string APPEND or SETRANGE may
  // build (Redis's proto-max-bulk-len; at least 1 MiB; CONFIG SET changes it at run time).
  std::int64_t proto_max_bulk_len = 512LL * 1024 * 1024;
  // How long a Lua script or function runs before the node answers BUSY and accepts SCRIPT
  // KILL (Redis's busy-reply-threshold; CONFIG SET changes it at run time).
  std::chrono::milliseconds busy_reply_threshold{5000};
  // Keyspace notifications, Redis's notify-keyspace-events flags ("KEA", "Ex", ...; empty:
  // none); CONFIG SET changes it at run time (docs/pubsub.md).
  std::string notify_keyspace_events;
  // Client authentication (docs/security.md), Redis's settings: the default user's password
  // (empty: none), an ACL file that ACL LOAD and ACL SAVE use and that is loaded at start
  // (users then converge across the cluster), and protected mode (with no password, refuse
  // clients that do not come from the loopback interface).
  std::string requirepass;
  std::string aclfile;
  bool protected_mode = true;
  // Persistence (docs/persistence.md), with Redis's names. Empty `dir`: the node reads and
  // writes no files at all (SAVE, BGSAVE and BGREWRITEAOF answer an error). Otherwise, at
  // start it loads `dir`/`appendfilename` when `appendonly` is on and that file exists, else
  // `dir`/`dbfilename` when it exists; the directory is created if missing.
  std::string dir;
  bool appendonly = false;
  std::string appendfsync = "everysec";  // always, everysec or no
  std::string appendfilename = "appendonly.aof";
  std::string dbfilename = "dump.apiary";
  // Snapshot rules, "<seconds> <changes>" pairs ("3600 1 300 100"); empty: none (unlike
  // Redis, whose default is "3600 1 300 100 60 10000").
  std::string save;
  std::int64_t auto_aof_rewrite_percentage = 100;  // 0: no automatic rewrite
  std::uint64_t auto_aof_rewrite_min_size = 64ull << 20;
  bool aof_load_truncated = true;  // load a torn AOF up to its last whole record
  // The near cache (docs/embedding.md): get() keeps up to this many keys that this member
  // does not own in a local cache, kept coherent by the owners' invalidations (as Redis's
  // client-side caching); 0 turns it off. An entry is read again from the cluster after
  // near_cache_max_age at the latest (0: no age limit).
  std::size_t near_cache_keys = 0;
  std::chrono::milliseconds near_cache_max_age{60000};
  // Members only talk to members with the same cluster name.
  std::string cluster_name = "apiary";
  // Node-to-node encryption (docs/security.md): every gossip and data message is sealed
  // (AES-256-GCM) with the primary cluster key and opened with any installed key; a member
  // without the key cannot join. `cluster_key_file` holds one base64 32-byte key per line,
  // the primary first ('#' comments; `apiary keygen` makes a key); it is re-read by
  // Node::reload_cluster_keys() and when its modification time changes (checked every
  // `cluster_key_check_interval`; 0: never). Without a file, `cluster_keys` (primary first)
  // are used as given. Both empty: node-to-node traffic is not encrypted.
  std::string cluster_key_file;
  std::vector<std::array<std::uint8_t, 32>> cluster_keys;
  std::chrono::milliseconds cluster_key_check_interval{5000};
  // Partitions of the key space (a power of two) and owners per partition (the replication
  // factor N, capped at the number of live members).
  std::uint32_t partition_count = 1024;
  std::uint32_t replicas = 3;
  // Quorums: W replicas (the coordinator's own write included) acknowledge a write before
  // the client gets its reply; R replicas answer a read. Both at most `replicas`.
  std::uint32_t write_quorum = 2;
  std::uint32_t read_quorum = 1;
  // A failed member keeps its partitions this long (its writes go to stand-ins with hints);
  // then the others take them over and re-replicate its data.
  std::chrono::milliseconds dead_grace{10000};
  // Replication tunables (timeouts, hints, anti-entropy, handoff batches). cluster_name,
  // partition_count, replicas and the quorums above override the fields of the same meaning.
  replication::ReplicationConfig replication;
  // Free-form labels published to other members.
  std::map<std::string, std::string> tags;
  // Membership protocol tunables (cluster_name above overrides swim.cluster_name).
  gossip::SwimConfig swim;
  // A graceful leave first hands every partition to its new owners (at most
  // handoff_timeout), then announces the departure (at most leave_timeout).
  std::chrono::milliseconds handoff_timeout{120000};
  std::chrono::milliseconds leave_timeout{5000};
  // Log level of the process's default logger (trace, debug, info, warn, error, off) set by
  // Node::start; empty leaves it as it is. The node logs member changes, leaves and
  // warnings to stderr.
  std::string log_level;
};

}  // namespace apiary
