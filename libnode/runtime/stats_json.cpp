// GET /v1/stats: one node's counters and gauges as one flat-ish JSON object, the dashboard's
// data (libnode/http/dashboard). Counters are totals since the start; the browser turns two
// successive samples into rates, so the node keeps no time series. Runs on the loop thread.
#include <algorithm>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "apiary/base/json.hpp"
#include "node_impl.hpp"
#include "observability.hpp"

namespace apiary::runtime {

namespace {

// Appends `"name":value` fields separated by commas.
class Fields {
 public:
  explicit Fields(std::string& out) : out_(out) {}
  Fields& num(std::string_view name, std::uint64_t v) { return raw(name, std::to_string(v)); }
  Fields& str(std::string_view name, std::string_view v) { return raw(name, http::json_quote(v)); }
  Fields& flag(std::string_view name, bool v) { return raw(name, v ? "true" : "false"); }
  Fields& raw(std::string_view name, std::string_view json) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += http::json_quote(name);
    out_ += ':';
    out_ += json;
    return *this;
  }

 private:
  std::string& out_;
  bool first_ = true;
};

std::string handoff_json(const replication::Replicator& replicator) {
  const auto progress = replicator.handoff_progress();
  const auto& st = replicator.stats();
  std::string out = "{";
  Fields(out)
      .flag("pending", replicator.handoff_pending())
      .num("outbound_partitions", progress.outbound_partitions)
      .num("outbound_streams", progress.outbound_streams)
      .num("outbound_streams_done", progress.outbound_streams_done)
      .num("inbound_partitions", progress.inbound_partitions)
      .num("inbound_owners_waiting", progress.inbound_owners_waiting)
      .num("inbound_owners_done", progress.inbound_owners_done)
      .num("promoting_partitions", replicator.partitions_promoting())
      .num("entries_sent", st.handoff_entries_sent)
      .num("bytes_sent", st.handoff_bytes_sent)
      .num("entries_received", st.handoff_entries_received)
      .num("batches_sent", st.handoff_batches_sent)
      .num("partitions_dropped", st.partitions_dropped)
      .num("transitions_started", st.transitions_started)
      .num("transitions_completed", st.transitions_completed)
      .num("transitions_abandoned", st.transitions_abandoned)
      .num("promotions_started", st.promotions_started)
      .num("promotions_completed", st.promotions_completed)
      .num("anti_entropy_keys_sent", st.anti_entropy_keys_sent)
      .num("anti_entropy_keys_received", st.anti_entropy_keys_received);
  return out + "}";
}

// The ten commands with the most calls: {"name", "calls", "failed", "usec"}.
std::string top_commands_json(const resp::CommandStats& stats) {
  auto all = stats.sorted();
  std::stable_sort(all.begin(), all.end(),
                   [](const auto& a, const auto& b) { return a.second->calls > b.second->calls; });
  if (all.size() > 10) all.resize(10);
  std::string out = "[";
  for (const auto& [name, stat] : all) {
    if (out.size() > 1) out += ',';
    out += '{';
    Fields(out)
        .str("name", name)
        .num("calls", stat->calls)
        .num("failed", stat->failed_calls)
        .num("usec", stat->total_ns / 1000);
    out += '}';
  }
  return out + "]";
}

std::size_t partitions_owned(Node::Impl& node) {
  std::shared_ptr<const cluster::PartitionTable> table;
  {
    std::lock_guard<std::mutex> lock(node.snapshot_mutex);
    table = node.table;
  }
  if (!table) return 0;
  std::size_t owned = 0;
  for (std::uint32_t p = 0; p < table->partition_count(); ++p) {
    owned += table->owns(node.name, PartitionId{p});
  }
  return owned;
}

}  // namespace

std::string render_stats_json(Node::Impl& node) {
  auto& core = *node.core;
  auto& server = core.resp_server();
  const auto& store = core.store();
  const auto& store_stats = store.stats();
  const auto& routed = core.router().stats();
  const auto& replication = core.replicator().stats();
  const auto& gossip = core.swim().stats();
  const auto& net = server.stats();
  const auto uptime =
      std::chrono::duration_cast<std::chrono::milliseconds>(core_now() - node.created);

  std::string out = "{";
  Fields(out)
      .str("name", node.name)
      .num("time", static_cast<std::uint64_t>(wall_now().ms))
      .num("uptime_ms", static_cast<std::uint64_t>(std::max<std::int64_t>(0, uptime.count())))
      .str("client_addr", node.client_bound)
      .str("http_addr", node.http_bound)
      .num("commands_processed", net.commands_processed)
      .num("commands_local", routed.local)
      .num("commands_forwarded", routed.forwarded)
      .num("error_replies", net.error_replies)
      .num("hits", store_stats.hits)
      .num("misses", store_stats.misses)
      .num("keys", store.size())
      .num("used_memory", store.used_memory())
      .num("maxmemory", store.config().maxmemory)
      .num("connected_clients", server.clients().size())
      .num("connections_received", net.connections_received)
      .num("net_input_bytes", net.net_input_bytes)
      .num("net_output_bytes", net.net_output_bytes)
      .num("expired", store_stats.expired)
      .num("evicted", store_stats.evicted)
      .num("hints", core.replicator().hint_count())
      .num("write_quorum_failures", routed.write_failures)
      .num("read_repairs", replication.read_repairs)
      .num("replication_bytes_sent", replication.bytes_sent)
      .num("replication_bytes_received", replication.bytes_received)
      .num("gossip_bytes_sent", gossip.bytes_sent)
      .num("gossip_bytes_received", gossip.bytes_received)
      .num("local_health", gossip.local_health)
      .num("partitions_owned", partitions_owned(node))
      .raw("handoff", handoff_json(core.replicator()))
      .raw("commands", top_commands_json(server.command_stats()))
      .raw("slowlog", server.diagnostics().slowlog_json(10));
  return out + "}";
}

std::string render_ready_json(Node::Impl& node, bool& ready) {
  std::vector<std::string> reasons;
  std::shared_ptr<const cluster::PartitionTable> table;
  {
    std::lock_guard<std::mutex> lock(node.snapshot_mutex);
    table = node.table;
  }
  const auto& members = table ? table->members() : std::vector<std::string>{};
  if (!table || std::find(members.begin(), members.end(), node.name) == members.end()) {
    reasons.emplace_back("not joined: no partition table with this member yet");
  }
  const auto progress = node.core->replicator().handoff_progress();
  if (progress.inbound_partitions > 0) {
    reasons.push_back(std::to_string(progress.inbound_partitions) +
                      " partitions still being handed to this member");
  }
  if (const std::size_t promoting = node.core->replicator().partitions_promoting(); promoting > 0) {
    reasons.push_back(std::to_string(promoting) +
                      " partitions this member now coordinates are being caught up");
  }
  if (node.drained.load()) {
    // Not a member any more: the partition table above may still name it (the last view
    // before the leave), so this is the one reason given.
    reasons.assign({"drained: every partition handed off and the cluster left; stop the process"});
  } else if (node.leaving.load() || node.core->leave_state() != core::LeaveState::none) {
    const auto outbound = progress.outbound_partitions;
    reasons.push_back(
        std::string(node.draining.load() ? "leaving the cluster (drain)" : "leaving the cluster") +
        (outbound > 0 ? ": " + std::to_string(outbound) + " partitions still being handed off"
                      : std::string()));
  }
  ready = reasons.empty();
  std::string out = std::string("{\"ready\":") + (ready ? "true" : "false") + ",\"reasons\":[";
  for (std::size_t i = 0; i < reasons.size(); ++i) {
    if (i > 0) out += ',';
    append_json_string(out, reasons[i]);
  }
  return out + "]}";
}

}  // namespace apiary::runtime
