// GET /metrics: this node's counters and gauges in the Prometheus text exposition format
// 0.0.4, or OpenMetrics 1.0.0. Names follow redis_exporter's where Redis has the concept
// (prefix apiary_ instead of redis_), so its dashboards and alerts carry over; the rest are
// Apiary's own (membership, partitions, replication, handoff, hints). docs/observability.md
// lists them all.
//
// Runs on the node's loop thread (Node::Impl::ask_loop): it reads the cores directly and
// builds one string; no locks but the snapshot mutex for the partition table.
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include "apiary/resp/command_stats.hpp"
#include "apiary/resp/connection.hpp"
#include "node_impl.hpp"
#include "observability.hpp"

namespace apiary::runtime {

namespace {

// `shadowed_counter`: a counter whose name without _total is a histogram's
// (apiary_commands_duration_seconds_total beside the histogram apiary_commands_duration_seconds,
// as redis_exporter names them). OpenMetrics names a counter's family without _total, which
// would clash with the histogram, so there it is exposed as `unknown` under its full name.
enum class Kind : unsigned char { counter, shadowed_counter, gauge, histogram, info };

// Appends metric families to one string. In the text format a counter's family is named with
// its `_total`; in OpenMetrics the family is named without it and only the sample carries it.
class Exposition {
 public:
  explicit Exposition(bool openmetrics) : openmetrics_(openmetrics) { out_.reserve(64 << 10); }

  // Starts a family: HELP and TYPE. `name` is the sample name without labels (counters end in
  // _total, info gauges in _info).
  void family(std::string_view name, Kind kind, std::string_view help) {
    std::string_view base = name;
    std::string_view type = "gauge";
    if (kind == Kind::counter) {
      type = "counter";
      if (openmetrics_) base.remove_suffix(6);  // "_total"
    } else if (kind == Kind::shadowed_counter) {
      type = openmetrics_ ? "unknown" : "counter";
    } else if (kind == Kind::histogram) {
      type = "histogram";
    } else if (kind == Kind::info && openmetrics_) {
      type = "info";
      base.remove_suffix(5);  // "_info"
    }
    out_.append("# HELP ").append(base).append(" ").append(help).append("\n");
    out_.append("# TYPE ").append(base).append(" ").append(type).append("\n");
  }

  // One sample: `labels` is already rendered (`a="x",b="y"`) or empty.
  template <typename V>
  void sample(std::string_view name, std::string_view labels, V value) {
    out_.append(name);
    if (!labels.empty()) out_.append("{").append(labels).append("}");
    out_.append(" ");
    number(value);
    out_.append("\n");
  }
  template <typename V>
  void sample(std::string_view name, V value) {
    sample(name, std::string_view{}, value);
  }

  // A family with one unlabelled sample.
  template <typename V>
  void single(std::string_view name, Kind kind, std::string_view help, V value) {
    family(name, kind, help);
    sample(name, value);
  }

  // A family with one sample per label value: `label`="value" for each (value, figure).
  template <typename V>
  void labelled(std::string_view name, Kind kind, std::string_view help, std::string_view label,
                std::initializer_list<std::pair<std::string_view, V>> values) {
    family(name, kind, help);
    for (const auto& [value, figure] : values) sample(name, label_pair(label, value), figure);
  }

  // The samples of one histogram (family() written by the caller): buckets at the fixed
  // bounds, +Inf, _sum in seconds and _count. `labels` go before `le`.
  void histogram(std::string_view name, std::string_view labels, const resp::LatencyHistogram& h) {
    std::string bucket(name);
    bucket.append("_bucket");
    std::string with_le(labels);
    if (!with_le.empty()) with_le.push_back(',');
    const std::size_t prefix = with_le.size();
    for (std::size_t i = 0; i < resp::LatencyHistogram::kBoundsSeconds.size(); ++i) {
      with_le.resize(prefix);
      with_le.append("le=\"");
      append_double(with_le, resp::LatencyHistogram::kBoundsSeconds[i]);
      with_le.append("\"");
      sample(bucket, with_le, h.at_most(i));
    }
    with_le.resize(prefix);
    with_le.append("le=\"+Inf\"");
    sample(bucket, with_le, h.count());
    sample(std::string(name) + "_sum", labels, static_cast<double>(h.sum_ns()) / 1e9);
    sample(std::string(name) + "_count", labels, h.count());
  }

  std::string finish() {
    if (openmetrics_) out_.append("# EOF\n");
    return std::move(out_);
  }

  // `label="value"` with the value escaped as both formats require (\\, \", \n).
  static std::string label_pair(std::string_view label, std::string_view value) {
    std::string out(label);
    out.append("=\"");
    for (char c : value) {
      if (c == '\\') {
        out.append("\\\\");
      } else if (c == '"') {
        out.append("\\\"");
      } else if (c == '\n') {
        out.append("\\n");
      } else {
        out.push_back(c);
      }
    }
    out.push_back('"');
    return out;
  }

 private:
  // Shortest round-trip form; OpenMetrics wants a float to look like one ("1.0", not "1").
  void append_double(std::string& to, double v) const {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    (void)ec;
    std::string_view text(buf, static_cast<std::size_t>(end - buf));
    to.append(text);
    if (text.find_first_of(".en") == std::string_view::npos) to.append(".0");
  }
  void number(double v) { append_double(out_, v); }
  void number(bool v) { out_.push_back(v ? '1' : '0'); }
  template <typename I>
  void number(I v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    (void)ec;
    out_.append(buf, end);
  }

  bool openmetrics_;
  std::string out_;
};

using U = std::uint64_t;
constexpr Kind kCounter = Kind::counter;
constexpr Kind kGauge = Kind::gauge;

// ---- Redis's concepts (redis_exporter's names) --------------------------------------------

void server_metrics(Exposition& x, Node::Impl& node) {
  resp::Server& server = node.core->resp_server();
  const auto& id = server.identity();
  x.family("apiary_node_info", Kind::info, "The node's name, cluster and versions; always 1.");
  std::string labels = Exposition::label_pair("node", node.name) + "," +
                       Exposition::label_pair("cluster", node.core->config().cluster_name) + "," +
                       Exposition::label_pair("version", id.apiary_version) + "," +
                       Exposition::label_pair("redis_version", id.version) + "," +
                       Exposition::label_pair("run_id", id.run_id);
  x.sample("apiary_node_info", labels, 1);

  const auto up = std::chrono::duration_cast<std::chrono::seconds>(core_now() - server.started());
  x.single("apiary_uptime_in_seconds", kGauge, "Seconds since the node started.",
           static_cast<std::int64_t>(up.count()));
  x.single("apiary_start_time_seconds", kGauge, "Unix time the node started.",
           static_cast<std::int64_t>(runtime::wall_now().ms / 1000 - up.count()));

  std::size_t blocked = 0;
  for (const auto& [cid, c] : server.clients()) blocked += c->blocked() ? 1 : 0;
  x.single("apiary_connected_clients", kGauge, "Client connections open on the Redis port.",
           server.clients().size());
  x.single("apiary_blocked_clients", kGauge, "Clients waiting in a blocking command.", blocked);
  x.single("apiary_tracking_clients", kGauge, "Clients with CLIENT TRACKING on.",
           server.tracking().tracking_clients());
  x.single("apiary_config_maxclients", kGauge, "The maxclients setting.",
           server.config().maxclients());

  // The process (as redis_exporter's redis_cpu_*_seconds_total and redis_memory_used_rss_bytes).
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) == 0) {
    auto secs = [](const timeval& t) {
      return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    x.single("apiary_cpu_user_seconds_total", kCounter, "User CPU time of the process.",
             secs(usage.ru_utime));
    x.single("apiary_cpu_sys_seconds_total", kCounter, "System CPU time of the process.",
             secs(usage.ru_stime));
  }
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    unsigned long size = 0, resident = 0;
    if (std::fscanf(f, "%lu %lu", &size, &resident) == 2) {
      x.single("apiary_memory_used_rss_bytes", kGauge, "Resident set size of the process.",
               static_cast<U>(resident) * static_cast<U>(::sysconf(_SC_PAGESIZE)));
    }
    std::fclose(f);
  }
}

void store_metrics(Exposition& x, Node::Impl& node) {
  const store::Store& st = node.core->store();
  resp::Server& server = node.core->resp_server();
  x.single("apiary_memory_used_bytes", kGauge,
           "Bytes of stored data and its overhead (what maxmemory limits).", st.used_memory());
  x.single("apiary_memory_used_dataset_bytes", kGauge, "Bytes of the stored entries.",
           st.entries_memory());
  x.single("apiary_memory_max_bytes", kGauge, "The maxmemory setting (0: no limit).",
           st.config().maxmemory);
  x.family("apiary_db_keys", kGauge,
           "Live keys this node holds (each replica counts its own copy).");
  x.sample("apiary_db_keys", "db=\"db0\"", st.size());
  x.single("apiary_tombstones", kGauge,
           "Deleted keys kept as tombstones until every replica has seen the delete.",
           st.tombstones());
  const auto& s = st.stats();
  x.single("apiary_keyspace_hits_total", kCounter, "Reads that found their key.", s.hits);
  x.single("apiary_keyspace_misses_total", kCounter, "Reads that did not find their key.",
           s.misses);
  x.single("apiary_expired_keys_total", kCounter, "Keys removed by lazy or active expiry.",
           s.expired);
  x.single("apiary_evicted_keys_total", kCounter, "Keys evicted under maxmemory.", s.evicted);
  x.single("apiary_oom_rejections_total", kCounter, "Writes refused because maxmemory was reached.",
           s.oom_rejections);
  x.single("apiary_tombstones_collected_total", kCounter, "Tombstones removed.",
           s.tombstones_collected);

  const resp::ServerStats& ss = server.stats();
  x.single("apiary_connections_received_total", kCounter, "Client connections accepted.",
           ss.connections_received);
  x.single("apiary_rejected_connections_total", kCounter,
           "Client connections refused (maxclients).", ss.rejected_connections);
  x.single("apiary_commands_processed_total", kCounter, "Commands processed.",
           ss.commands_processed);
  x.single("apiary_net_input_bytes_total", kCounter, "Bytes read from clients.",
           ss.net_input_bytes);
  x.single("apiary_net_output_bytes_total", kCounter, "Bytes written to clients.",
           ss.net_output_bytes);
  x.single("apiary_error_replies_total", kCounter, "Error replies sent to clients.",
           ss.error_replies);
  x.single("apiary_client_query_buffer_limit_disconnections_total", kCounter,
           "Clients closed for exceeding the query buffer limit.", ss.query_buffer_disconnections);
  x.single("apiary_client_output_buffer_limit_disconnections_total", kCounter,
           "Clients closed for exceeding the output buffer limit.",
           ss.output_buffer_disconnections);
  x.single("apiary_command_exceptions_total", kCounter,
           "Commands that failed with an internal error (each is logged).", ss.command_exceptions);

  resp::PubSub& ps = server.pubsub();
  x.single("apiary_pubsub_channels", kGauge, "Channels with subscribers on this node.",
           ps.local_count(resp::SubKind::channel));
  x.single("apiary_pubsub_patterns", kGauge, "Patterns with subscribers on this node.",
           ps.local_count(resp::SubKind::pattern));
  x.single("apiary_pubsubshard_channels", kGauge, "Shard channels with subscribers on this node.",
           ps.local_count(resp::SubKind::shard));
  const resp::PubSubStats& p = ps.stats();
  x.single("apiary_pubsub_published_total", kCounter,
           "Messages published here (PUBLISH, SPUBLISH, keyspace events).", p.published);
  x.single("apiary_pubsub_delivered_total", kCounter,
           "Messages written to this node's subscribers.", p.delivered_local);
  x.labelled<U>("apiary_pubsub_member_messages_total", kCounter,
                "Messages exchanged with other members for their subscribers.", "direction",
                {{"sent", p.sent_to_members}, {"received", p.received_from_members}});
  x.single("apiary_pubsub_resyncs_total", kCounter,
           "Times a member's subscription summary differed from its record here.", p.resyncs);

  resp::Tracking& t = server.tracking();
  x.single("apiary_tracking_total_keys", kGauge, "Keys tracked for clients (CLIENT TRACKING).",
           t.total_keys());
  x.single("apiary_tracking_total_prefixes", kGauge, "Prefixes tracked in broadcast mode.",
           t.total_prefixes());
  const resp::TrackingStats& ts = t.stats();
  x.single("apiary_tracking_invalidations_total", kCounter,
           "Invalidation messages sent to clients.", ts.invalidations_sent);
}

void command_metrics(Exposition& x, resp::Server& server) {
  const resp::CommandStats& cs = server.command_stats();
  const auto sorted = cs.sorted();
  std::vector<std::string> labels;
  labels.reserve(sorted.size());
  for (const auto& [name, stat] : sorted) labels.push_back(Exposition::label_pair("cmd", name));

  auto each = [&](std::string_view metric, std::string_view help, auto field,
                  Kind kind = kCounter) {
    x.family(metric, kind, help);
    for (std::size_t i = 0; i < sorted.size(); ++i)
      x.sample(metric, labels[i], field(*sorted[i].second));
  };
  each("apiary_commands_total", "Calls of the command that ran (failed ones included).",
       [](const resp::CommandStat& s) { return s.calls; });
  each("apiary_commands_rejected_calls_total",
       "Calls refused before they ran (arity, OOM, MISCONF, ...).",
       [](const resp::CommandStat& s) { return s.rejected_calls; });
  each("apiary_commands_failed_calls_total", "Calls that ran and answered an error.",
       [](const resp::CommandStat& s) { return s.failed_calls; });
  each(
      "apiary_commands_duration_seconds_total",
      "Time from start to complete reply, summed over the calls.",
      [](const resp::CommandStat& s) { return static_cast<double>(s.total_ns) / 1e9; },
      Kind::shadowed_counter);

  x.single("apiary_latency_tracking_enabled", kGauge,
           "1 when latency-tracking is on (the duration histograms are kept).",
           cs.latency_tracking());
  x.family("apiary_commands_duration_seconds", Kind::histogram,
           "Time from start to complete reply, per command (latency-tracking on).");
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (sorted[i].second->latency) {
      x.histogram("apiary_commands_duration_seconds", labels[i], *sorted[i].second->latency);
    }
  }
  x.family("apiary_remote_command_duration_seconds", Kind::histogram,
           "Time to reply of commands that waited for other members (forwards, quorums).");
  x.histogram("apiary_remote_command_duration_seconds", {}, cs.remote_latency());

  x.family("apiary_errors_total", kCounter, "Error replies by their first word.");
  for (const auto& [code, count] : cs.errors()) {
    x.sample("apiary_errors_total", Exposition::label_pair("err", code), count);
  }
  x.single("apiary_errors_untracked_total", kCounter,
           "Error replies whose code was beyond the 128 tracked.", cs.errors_untracked());
}

void persistence_metrics(Exposition& x, core::Persistence* persistence) {
  if (persistence == nullptr) return;
  const auto f = persistence->figures();
  x.single("apiary_rdb_changes_since_last_save", kGauge, "Changes since the last snapshot.",
           f.changes_since_save);
  x.single("apiary_rdb_bgsave_in_progress", kGauge, "1 while a snapshot is being written.",
           f.bgsave_in_progress);
  x.single("apiary_rdb_last_save_timestamp_seconds", kGauge,
           "Unix time of the last successful snapshot.", f.last_save_seconds);
  x.single("apiary_rdb_last_bgsave_status", kGauge, "1 when the last snapshot succeeded.",
           f.last_bgsave_ok);
  x.single("apiary_rdb_saves_total", kCounter, "Snapshots written.", f.saves);
  x.single("apiary_aof_enabled", kGauge, "1 when the append-only file is on.", f.aof_enabled);
  x.single("apiary_aof_rewrite_in_progress", kGauge, "1 while the AOF is being rewritten.",
           f.aof_rewrite_in_progress);
  x.single("apiary_aof_last_bgrewrite_status", kGauge, "1 when the last AOF rewrite succeeded.",
           f.aof_last_rewrite_ok);
  x.single("apiary_aof_last_write_status", kGauge, "1 when the last AOF write succeeded.",
           f.aof_last_write_ok);
  x.single("apiary_aof_rewrites_total", kCounter, "AOF rewrites completed.", f.aof_rewrites);
  x.single("apiary_aof_current_size_bytes", kGauge, "Size of the current AOF.", f.aof_size);
}

// ---- Apiary's own: membership, partitions, replication --------------------------------------

void membership_metrics(Exposition& x, Node::Impl& node) {
  const gossip::Swim& swim = node.core->swim();
  U by_state[4] = {0, 0, 0, 0};
  for (const gossip::Member& m : swim.members()) {
    const auto i = static_cast<std::size_t>(m.state);
    if (i < 4) ++by_state[i];
  }
  x.labelled<U>("apiary_cluster_members", kGauge,
                "Members this node knows, by state (itself included).", "state",
                {{"alive", by_state[0]},
                 {"suspect", by_state[1]},
                 {"dead", by_state[2]},
                 {"left", by_state[3]}});
  const gossip::SwimStats& g = swim.stats();
  x.single("apiary_cluster_suspicions_total", kCounter, "Members this node began to suspect.",
           g.suspicions);
  x.single("apiary_gossip_probes_total", kCounter, "Failure-detector probes sent.", g.probes);
  x.single("apiary_gossip_indirect_probes_total", kCounter,
           "Probes that needed the indirect (ping-req) phase.", g.indirect_probes);
  x.single("apiary_gossip_refutations_total", kCounter,
           "Times this node refuted a suspicion of itself.", g.refutations);
  x.single("apiary_gossip_push_pulls_total", kCounter, "Full state exchanges.", g.push_pulls);
  x.single("apiary_gossip_stalls_total", kCounter, "Times this node noticed it had been stalled.",
           g.stalls);
  x.single("apiary_gossip_local_health", kGauge,
           "Lifeguard awareness score (0: healthy; higher: slower probing).", g.local_health);
  x.labelled<U>("apiary_gossip_messages_total", kCounter, "Gossip messages.", "direction",
                {{"sent", g.messages_sent}, {"received", g.messages_received}});
  x.labelled<U>("apiary_gossip_bytes_total", kCounter, "Gossip bytes.", "direction",
                {{"sent", g.bytes_sent}, {"received", g.bytes_received}});
  U queue_full = 0, too_large = 0, bad_address = 0;
  if (node.gossip_box) {
    const auto& m = node.gossip_box->stats();
    queue_full = m.dropped_queue_full;
    too_large = m.dropped_too_large;
    bad_address = m.dropped_bad_address;
  }
  x.labelled<U>("apiary_gossip_dropped_total", kCounter, "Gossip messages dropped, by reason.",
                "reason",
                {{"malformed", g.malformed_dropped},
                 {"foreign_cluster", g.foreign_cluster_dropped},
                 {"unsupported", g.unsupported_dropped},
                 {"send_queue_full", queue_full},
                 {"send_too_large", too_large},
                 {"send_bad_address", bad_address}});
}

void partition_metrics(Exposition& x, Node::Impl& node) {
  std::shared_ptr<const cluster::PartitionTable> table;
  {
    std::lock_guard<std::mutex> lock(node.snapshot_mutex);
    table = node.table;
  }
  U owned = 0, primary = 0;
  if (table) {
    for (std::uint32_t p = 0; p < table->partition_count(); ++p) {
      auto owners = table->owner_indices(PartitionId{p});
      for (std::size_t r = 0; r < owners.size(); ++r) {
        if (table->members()[owners[r]] != node.name) continue;
        ++owned;
        if (r == 0) ++primary;
      }
    }
  }
  const replication::Replicator& rep = node.core->replicator();
  x.single("apiary_cluster_partitions", kGauge, "Partitions of the keyspace.",
           rep.config().partition_count);
  x.single("apiary_cluster_replicas", kGauge, "Owners per partition (N).", rep.config().replicas);
  x.single("apiary_partitions_owned", kGauge, "Partitions this node owns a replica of.", owned);
  x.single("apiary_partitions_primary", kGauge, "Partitions this node coordinates.", primary);
  x.single("apiary_partitions_in_transition", kGauge,
           "Partitions gained and still receiving a previous owner's handoff.",
           rep.partitions_in_transition());
  x.single("apiary_partitions_promoting", kGauge,
           "Partitions this node took over as coordinator and is catching up on.",
           rep.partitions_promoting());
  x.single("apiary_handoff_in_progress", kGauge,
           "1 while this node hands partitions it lost to their new owners.",
           rep.handoff_pending());
  const auto handoffs = rep.handoff_progress();
  x.labelled<U>(
      "apiary_handoff_partitions", kGauge,
      "Partitions being handed over now: lost ones this node sends (outbound), "
      "gained ones it receives (inbound).",
      "direction",
      {{"outbound", handoffs.outbound_partitions}, {"inbound", handoffs.inbound_partitions}});
  x.labelled<U>("apiary_handoff_outbound_streams", kGauge,
                "(partition, new owner) streams of the outbound handoffs, by state.", "state",
                {{"sending", handoffs.outbound_streams - handoffs.outbound_streams_done},
                 {"done", handoffs.outbound_streams_done}});
  x.labelled<U>(
      "apiary_handoff_inbound_owners", kGauge, "Previous owners of the inbound handoffs, by state.",
      "state",
      {{"waiting", handoffs.inbound_owners_waiting}, {"done", handoffs.inbound_owners_done}});
}

void replication_metrics(Exposition& x, Node::Impl& node) {
  const replication::Replicator& rep = node.core->replicator();
  routing::Router& router = node.core->router();
  const replication::ReplicationStats& r = rep.stats();
  const routing::RouterStats& rs = router.stats();

  x.single("apiary_pending_operations", kGauge, "Client operations waiting for other members.",
           rep.pending_operations() + router.pending());
  x.single("apiary_parked_commands", kGauge, "Blocking commands held on this node.",
           router.parked());
  x.labelled<U>("apiary_routed_commands_total", kCounter, "Keyed commands by how they were routed.",
                "route",
                {{"local", rs.local},
                 {"forwarded", rs.forwarded},
                 {"fanned_out", rs.fanned_out},
                 {"run_for_peers", rs.run_for_peers}});
  x.single("apiary_quorum_reads_total", kCounter, "Reads that waited for other replicas.",
           rs.quorum_reads);
  x.single("apiary_write_quorum_failures_total", kCounter,
           "Writes answered NOREPLICAS (the write quorum was not reached).", rs.write_failures);
  x.single("apiary_forward_failures_total", kCounter,
           "Forwards answered CLUSTERDOWN (no owner reachable).", rs.forward_failures);
  x.single("apiary_cross_slot_total", kCounter, "Multi-key commands refused (CROSSSLOT).",
           rs.cross_slot);
  x.single("apiary_keyspace_commands_total", kCounter,
           "Keyless commands answered for the whole cluster (DBSIZE, SCAN, FLUSHALL, ...).",
           rs.keyspace_commands);
  x.single("apiary_keyspace_command_failures_total", kCounter,
           "Keyless commands that could not reach every member.", rs.keyspace_failures);

  x.labelled<U>(
      "apiary_replication_writes_total", kCounter, "Writes this node coordinated, by outcome.",
      "outcome",
      {{"ok", r.writes_ok}, {"timeout", r.write_timeouts}, {"unavailable", r.writes_unavailable}});
  x.labelled<U>(
      "apiary_replication_reads_total", kCounter, "Quorum reads this node coordinated, by outcome.",
      "outcome",
      {{"ok", r.reads_ok}, {"timeout", r.read_timeouts}, {"unavailable", r.reads_unavailable}});
  x.single("apiary_replica_merges_total", kCounter, "Replica writes applied on this node.",
           r.replica_merges);
  x.single("apiary_replica_merge_errors_total", kCounter,
           "Replica writes that failed (out of memory).", r.merge_errors);
  x.single("apiary_delta_writes_total", kCounter, "Hash and set writes shipped as their changes.",
           r.delta_writes);
  x.single("apiary_read_repairs_total", kCounter, "Read-repair messages sent.", r.read_repairs);
  x.labelled<U>("apiary_forwards_total", kCounter,
                "Commands forwarded to their key's coordinator, by outcome.", "outcome",
                {{"ok", r.forwards_ok},
                 {"timeout", r.forward_timeouts},
                 {"unavailable", r.forwards_unavailable}});
  x.single("apiary_forward_retries_total", kCounter, "Forwards sent again.", r.forward_retries);

  x.single("apiary_hints", kGauge, "Writes held for an owner that is down (hinted handoff).",
           rep.hint_count());
  x.single("apiary_hinted_writes_total", kCounter,
           "Writes this coordinator sent to a stand-in for a down owner.", r.hinted_writes);
  x.single("apiary_hints_stored_total", kCounter, "Hints this node took as a stand-in.",
           r.hints_stored);
  x.single("apiary_hints_delivered_total", kCounter, "Hints acknowledged by their intended owner.",
           r.hints_delivered);
  x.single("apiary_hints_dropped_total", kCounter,
           "Hints dropped (over the limit, or the key vanished).", r.hints_dropped);

  x.single("apiary_anti_entropy_rounds_total", kCounter, "Digest exchanges this node started.",
           r.anti_entropy_rounds);
  x.single("apiary_anti_entropy_buckets_differ_total", kCounter, "Digest buckets found different.",
           r.anti_entropy_buckets_differ);
  x.labelled<U>("apiary_anti_entropy_keys_total", kCounter, "Keys exchanged by anti-entropy.",
                "direction",
                {{"sent", r.anti_entropy_keys_sent}, {"received", r.anti_entropy_keys_received}});

  x.single("apiary_handoff_batches_sent_total", kCounter, "Handoff batches sent.",
           r.handoff_batches_sent);
  x.labelled<U>("apiary_handoff_keys_total", kCounter, "Keys moved by ownership handoff.",
                "direction",
                {{"sent", r.handoff_entries_sent}, {"received", r.handoff_entries_received}});
  x.single("apiary_handoff_bytes_sent_total", kCounter, "Bytes of handoff batches sent.",
           r.handoff_bytes_sent);
  x.single("apiary_partitions_dropped_total", kCounter,
           "Partitions dropped after handing them off.", r.partitions_dropped);
  x.labelled<U>("apiary_partition_transitions_total", kCounter,
                "Gained partitions' handoffs, by end.", "outcome",
                {{"completed", r.transitions_completed}, {"abandoned", r.transitions_abandoned}});
  x.single("apiary_promotions_total", kCounter, "Partitions this node took over as coordinator.",
           r.promotions_started);

  x.labelled<U>(
      "apiary_data_messages_total", kCounter,
      "Data channel messages between members (batched ones counted singly).", "direction",
      {{"sent", r.messages_sent}, {"received", r.messages_received + r.batched_messages_received}});
  x.labelled<U>("apiary_data_envelopes_total", kCounter,
                "Data channel envelopes (one message or one batch).", "direction",
                {{"sent", r.envelopes_sent}, {"received", r.messages_received}});
  x.labelled<U>("apiary_data_bytes_total", kCounter, "Data channel bytes.", "direction",
                {{"sent", r.bytes_sent}, {"received", r.bytes_received}});
  U link_drops[4] = {0, 0, 0, 0};
  U connects = 0, connect_failures = 0, refused = 0, peers = 0;
  if (node.data_link) {
    const auto& d = node.data_link->stats();
    link_drops[0] = d.dropped_queue_full;
    link_drops[1] = d.dropped_too_large;
    link_drops[2] = d.dropped_bad_address;
    link_drops[3] = d.dropped_disconnected;
    connects = d.connects;
    connect_failures = d.connect_failures;
    refused = d.inbound_refused;
    peers = d.peers;
  }
  x.labelled<U>("apiary_data_dropped_total", kCounter, "Data messages dropped, by reason.",
                "reason",
                {{"malformed", r.malformed_dropped},
                 {"foreign_cluster", r.foreign_cluster_dropped},
                 {"unsupported", r.unsupported_dropped},
                 {"unmatched", r.unmatched_dropped},
                 {"unroutable", r.unroutable},
                 {"send_queue_full", link_drops[0]},
                 {"send_too_large", link_drops[1]},
                 {"send_bad_address", link_drops[2]},
                 {"send_disconnected", link_drops[3]}});
  x.single("apiary_data_link_peers", kGauge, "Open data connections to other members.", peers);
  x.single("apiary_data_link_connects_total", kCounter, "Data connections established.", connects);
  x.single("apiary_data_link_connect_failures_total", kCounter,
           "Data connections that failed to open.", connect_failures);
  x.single("apiary_data_link_inbound_refused_total", kCounter,
           "Incoming data connections refused (bad preamble, oversized, too many).", refused);
}

// The cluster key (docs/security.md): nothing without one.
void cluster_key_metrics(Exposition& x, Node::Impl& node) {
  if (!node.cluster_keys) return;
  const runtime::ClusterKeyStats& k = node.cluster_keys->stats();
  x.family("apiary_cluster_key_messages_total", kCounter,
           "Node-to-node messages sealed, opened, and rejected (no installed key opens them), "
           "by channel.");
  for (const auto& [channel, sealed, opened, rejected] :
       {std::tuple{"gossip", k.gossip_sealed, k.gossip_opened, k.gossip_rejected},
        std::tuple{"data", k.data_sealed, k.data_opened, k.data_rejected}}) {
    for (const auto& [result, n] : {std::pair{"sealed", sealed}, std::pair{"opened", opened},
                                    std::pair{"rejected", rejected}}) {
      x.sample("apiary_cluster_key_messages_total",
               std::string("channel=\"") + channel + "\",result=\"" + result + "\"", n);
    }
  }
  x.single("apiary_cluster_key_opened_by_secondary_total", kCounter,
           "Messages opened with an installed key other than the primary (a rotation under way).",
           k.opened_by_secondary);
  x.single("apiary_cluster_key_primary_sealed", kGauge,
           "Messages this node sealed with the current primary key; sum over the members to know "
           "when to rotate (docs/security.md).",
           k.primary_sealed);
  x.single("apiary_cluster_key_seal_failures_total", kCounter,
           "Messages not sent because sealing failed.", k.seal_failures);
  x.labelled("apiary_cluster_key_reloads_total", kCounter,
             "Re-reads of the cluster key file, installed (ok) or refused (failed).", "result",
             {std::pair<std::string_view, std::uint64_t>{"ok", k.reloads},
              std::pair<std::string_view, std::uint64_t>{"failed", k.reload_failures}});
  x.single("apiary_cluster_keys", kGauge, "Keys installed in the keyring.",
           node.cluster_keys->key_count());
}

void near_cache_metrics(Exposition& x, Node::Impl& node) {
  if (!node.near_cache) return;
  const auto c = node.near_cache->counters();
  x.single("apiary_near_cache_hits_total", kCounter,
           "Embedding get() calls served from the near cache.", c.hits);
  x.single("apiary_near_cache_misses_total", kCounter,
           "Embedding get() calls that asked the cluster.", c.misses);
  x.single("apiary_near_cache_invalidations_total", kCounter,
           "Near-cache keys dropped because they changed.", c.invalidations);
  x.single("apiary_near_cache_entries", kGauge, "Keys in the near cache.", c.entries);
}

}  // namespace

std::string render_metrics(Node::Impl& node, bool openmetrics) {
  Exposition x(openmetrics);
  if (!node.core) return x.finish();
  server_metrics(x, node);
  store_metrics(x, node);
  command_metrics(x, node.core->resp_server());
  persistence_metrics(x, node.core->persistence());
  membership_metrics(x, node);
  partition_metrics(x, node);
  replication_metrics(x, node);
  near_cache_metrics(x, node);
  cluster_key_metrics(x, node);
  return x.finish();
}

}  // namespace apiary::runtime
