// The parameters CONFIG GET / CONFIG SET expose, with Redis's names, defaults, value syntax
// ("100mb", "yes"/"no") and error texts.
//
// Some parameters belong to this layer (proto-max-bulk-len, client-query-buffer-limit,
// client-output-buffer-limit, maxclients, timeout); others are kept here for the store or the
// runtime to read (maxmemory, maxmemory-policy) and read-only ones are filled in by the
// driver (port, bind). A listener is told after every successful CONFIG SET so the owner of a
// parameter can apply it. Not thread-safe: owned by the node's event loop.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "apiary/base/status.hpp"

namespace apiary::resp {

struct OutputBufferLimit {
  std::int64_t hard_bytes = 0;  // 0 = no limit
  std::int64_t soft_bytes = 0;
  std::int64_t soft_seconds = 0;
};

class ServerConfig {
 public:
  ServerConfig();

  // CONFIG GET: every parameter whose name matches one of the glob patterns, as
  // (name, value) pairs sorted by name.
  std::vector<std::pair<std::string, std::string>> get(
      const std::vector<std::string_view>& patterns) const;
  // CONFIG SET of several pairs, all or nothing. The error is the full Redis error text.
  Status set(const std::vector<std::pair<std::string_view, std::string_view>>& pairs);
  // A parameter only the driver may set (CONFIG SET answers that it is immutable).
  void set_readonly(std::string name, std::string value);
  // Like set_readonly, but CONFIG SET answers "can't set protected config" (Redis's dir and
  // dbfilename, with enable-protected-configs at its default, no).
  void set_protected(std::string name, std::string value);
  // CONFIG SET of this settable parameter to anything but its current value fails with
  // `detail` (what the node lacks for it).
  void refuse(std::string name, std::string detail);
  std::string get_one(std::string_view name) const;

  // Called after a successful CONFIG SET with the parameters that changed.
  void set_listener(std::function<void(const std::vector<std::string>&)> listener) {
    listener_ = std::move(listener);
  }
  // Another such listener, called after the one above (the Server's own: requirepass).
  void add_listener(std::function<void(const std::vector<std::string>&)> listener) {
    more_listeners_.push_back(std::move(listener));
  }

  // TLS on the Redis port (tls-port, tls-cert-file, ... with Redis's names, defaults and
  // syntax; read them with get_one()). A CONFIG SET that changes any of them calls `apply`
  // with the new values before they take effect: it loads the certificates (and rebinds
  // tls-port) and returns "" on success, or the error detail, which fails the CONFIG SET and
  // keeps the old values, as Redis keeps its old TLS context.
  void set_tls_applier(std::function<std::string(const ServerConfig& next)> apply) {
    tls_applier_ = std::move(apply);
  }

  std::int64_t maxmemory() const { return maxmemory_; }
  const std::string& maxmemory_policy() const { return maxmemory_policy_; }
  std::int64_t maxmemory_samples() const { return maxmemory_samples_; }
  std::int64_t timeout_seconds() const { return timeout_; }
  std::int64_t maxclients() const { return maxclients_; }
  std::int64_t proto_max_bulk_len() const { return proto_max_bulk_len_; }
  std::int64_t client_query_buffer_limit() const { return query_buffer_limit_; }
  // busy-reply-threshold (alias lua-time-limit), milliseconds: a script running longer makes
  // the node answer BUSY and accept SCRIPT KILL.
  std::int64_t busy_reply_threshold_ms() const { return busy_reply_threshold_; }
  const OutputBufferLimit& output_buffer_limit() const { return output_limit_; }
  // Persistence (core::Persistence applies them through the listener).
  bool appendonly() const { return appendonly_; }
  const std::string& appendfsync() const { return appendfsync_; }
  const std::string& save() const { return save_; }  // "3600 1 300 100", validated
  std::int64_t auto_aof_rewrite_percentage() const { return aof_rewrite_percentage_; }
  std::int64_t auto_aof_rewrite_min_size() const { return aof_rewrite_min_size_; }
  bool aof_load_truncated() const { return aof_load_truncated_; }
  bool stop_writes_on_bgsave_error() const { return stop_writes_on_bgsave_error_; }
  // notify-keyspace-events as KeyspaceEventClass bits (keyspace_events.hpp).
  std::uint32_t notify_keyspace_events() const { return notify_keyspace_events_; }
  // tracking-table-max-keys: keys the tracking table remembers before it evicts (0: no limit).
  std::int64_t tracking_table_max_keys() const { return tracking_table_max_keys_; }
  // Observability (Redis's names and defaults): slowlog-log-slower-than (microseconds; -1
  // logs nothing, 0 everything), slowlog-max-len, latency-monitor-threshold (milliseconds;
  // 0 is off), latency-tracking and latency-tracking-info-percentiles (INFO latencystats).
  std::int64_t slowlog_log_slower_than() const { return slowlog_log_slower_than_; }
  std::int64_t slowlog_max_len() const { return slowlog_max_len_; }
  std::int64_t latency_monitor_threshold() const { return latency_monitor_threshold_; }
  bool latency_tracking() const { return latency_tracking_; }
  const std::vector<double>& latency_percentiles() const { return latency_percentiles_; }
  // ACL: acllog-max-len (ACL LOG entries kept) and requirepass (the default user's password).
  std::int64_t acllog_max_len() const { return acllog_max_len_; }
  const std::string& requirepass() const { return requirepass_; }
  // protected-mode: with no password for the default user, clients from other than the
  // loopback interface are refused (Redis's DENIED error).
  bool protected_mode() const { return protected_mode_; }

 private:
  struct Param {
    std::string name;
    std::function<std::string(const ServerConfig&)> get;
    // Returns the error detail ("argument must be a memory value"), empty on success.
    std::function<std::string(ServerConfig&, std::string_view)> set;
  };
  const Param* find(std::string_view name) const;
  std::vector<Param> params_;
  std::map<std::string, std::string> readonly_;
  std::vector<std::string> protected_;  // names in readonly_ that are protected, not immutable
  std::map<std::string, std::string> refused_;  // refuse(): name -> why CONFIG SET fails

  std::int64_t maxmemory_ = 0;
  std::string maxmemory_policy_ = "noeviction";
  std::int64_t maxmemory_samples_ = 5;
  std::int64_t timeout_ = 0;
  std::int64_t maxclients_ = 10000;
  std::int64_t proto_max_bulk_len_ = 512LL * 1024 * 1024;
  std::int64_t query_buffer_limit_ = 1024LL * 1024 * 1024;
  OutputBufferLimit output_limit_;
  std::int64_t hz_ = 10;
  std::int64_t busy_reply_threshold_ = 5000;
  std::int64_t lazyfree_lazy_user_flush_ = 0;
  bool appendonly_ = false;
  std::string appendfsync_ = "everysec";
  std::string save_;
  std::int64_t aof_rewrite_percentage_ = 100;
  std::int64_t aof_rewrite_min_size_ = 64LL * 1024 * 1024;
  bool aof_load_truncated_ = true;
  bool stop_writes_on_bgsave_error_ = true;
  std::uint32_t notify_keyspace_events_ = 0;
  std::int64_t tracking_table_max_keys_ = 1000000;
  std::int64_t slowlog_log_slower_than_ = 10000;
  std::int64_t slowlog_max_len_ = 128;
  std::int64_t latency_monitor_threshold_ = 0;
  bool latency_tracking_ = true;
  std::vector<double> latency_percentiles_ = {50.0, 99.0, 99.9};
  std::int64_t acllog_max_len_ = 128;
  std::string requirepass_;
  bool protected_mode_ = true;
  std::function<void(const std::vector<std::string>&)> listener_;
  std::map<std::string, std::string> tls_;  // tls-* name -> value (validated)
  std::function<std::string(const ServerConfig&)> tls_applier_;
  std::vector<std::function<void(const std::vector<std::string>&)>> more_listeners_;
};

// Redis's memtoull: "100", "1k", "1kb", "5mb", "2gb" (k=1000, kb=1024). False if malformed
// (a sign, an unknown unit). As in Redis, no digits ("kb") is 0, a number beyond 64 bits
// saturates, and the unit multiplies modulo 2^64.
bool parse_memory(std::string_view s, std::uint64_t& out);

// Redis's glob matching (stringmatchlen): * ? [a-z] [^x] and \ escapes.
bool glob_match(std::string_view pattern, std::string_view text, bool nocase = false);

// Redis's rendering of a configured double: "%f" without trailing zeros ("99.9", "10").
std::string trimmed_double(double d);

// The space-separated words of `s` (views into it); runs of spaces count as one.
std::vector<std::string_view> split_spaces(std::string_view s);

}  // namespace apiary::resp
