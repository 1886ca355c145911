#include "apiary/sim/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace apiary::sim {
namespace {

std::string num(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string pct_json(const Percentiles& p) {
  return "{\"count\": " + std::to_string(p.count) + ", \"mean\": " + num(p.mean) +
         ", \"p50\": " + num(p.p50) + ", \"p99\": " + num(p.p99) + ", \"max\": " + num(p.max) + "}";
}

std::string pct_text(const Percentiles& p) {
  if (p.count == 0) return "n/a";
  char buf[128];
  std::snprintf(buf, sizeof buf, "mean %.2fs  p50 %.2fs  p99 %.2fs  max %.2fs  (n=%zu)", p.mean,
                p.p50, p.p99, p.max, p.count);
  return buf;
}

}  // namespace

std::string hex64(std::uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

Percentiles percentiles(std::vector<double> values) {
  Percentiles p;
  p.count = values.size();
  if (values.empty()) return p;
  std::sort(values.begin(), values.end());
  auto rank = [&](double q) {
    const auto idx = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
    return values[std::min(values.size() - 1, idx == 0 ? 0 : idx - 1)];
  };
  p.p50 = rank(0.50);
  p.p99 = rank(0.99);
  p.max = values.back();
  double sum = 0;
  for (double v : values) sum += v;
  p.mean = sum / static_cast<double>(values.size());
  return p;
}

std::string to_json(const RunReport& r) {
  std::ostringstream o;
  o << "{\n";
  o << "  \"protocol\": " << quote(r.protocol) << ",\n";
  o << "  \"nodes\": " << r.nodes << ",\n";
  o << "  \"nodes_ever\": " << r.nodes_ever << ",\n";
  o << "  \"seed\": " << r.seed << ",\n";
  o << "  \"duration_s\": " << num(r.duration_s) << ",\n";
  o << "  \"warmup_s\": " << num(r.warmup_s) << ",\n";
  o << "  \"lifeguard\": " << (r.lifeguard ? "true" : "false") << ",\n";
  o << "  \"bootstrap_converged\": " << (r.bootstrap_converged ? "true" : "false") << ",\n";
  o << "  \"crashes\": " << r.crashes << ",\n";
  o << "  \"crashes_detected\": " << r.crashes_detected << ",\n";
  o << "  \"detection_s\": " << pct_json(r.detection_s) << ",\n";
  o << "  \"first_detection_s\": " << pct_json(r.first_detection_s) << ",\n";
  o << "  \"first_dead_s\": " << pct_json(r.first_dead_s) << ",\n";
  o << "  \"dissemination_s\": " << pct_json(r.dissemination_s) << ",\n";
  o << "  \"false_positives\": " << r.false_positives << ",\n";
  o << "  \"false_dead_views\": " << r.false_dead_views << ",\n";
  o << "  \"false_positive_samples\": [";
  for (std::size_t i = 0; i < r.false_positive_samples.size(); ++i) {
    const auto& f = r.false_positive_samples[i];
    o << (i ? ", " : "") << "{\"at_s\": " << num(f.at_s) << ", \"victim\": " << quote(f.victim)
      << ", \"declarer\": " << quote(f.declarer) << "}";
  }
  o << "],\n";
  o << "  \"convergence\": [";
  for (std::size_t i = 0; i < r.convergence.size(); ++i) {
    const auto& c = r.convergence[i];
    o << (i ? ", " : "") << "{\"label\": " << quote(c.label) << ", \"at_s\": " << num(c.at_s)
      << ", \"seconds\": " << (c.seconds < 0 ? "null" : num(c.seconds)) << "}";
  }
  o << "],\n";
  o << "  \"converged\": " << (r.converged ? "true" : "false") << ",\n";
  o << "  \"settled\": " << (r.settled ? "true" : "false") << ",\n";
  o << "  \"wrong_pairs\": " << r.wrong_pairs << ",\n";
  o << "  \"msgs_per_node_per_s\": " << num(r.msgs_per_node_per_s) << ",\n";
  o << "  \"bytes_per_node_per_s\": " << num(r.bytes_per_node_per_s) << ",\n";
  o << "  \"events\": " << r.events << ",\n";
  o << "  \"messages_sent\": " << r.messages_sent << ",\n";
  o << "  \"messages_delivered\": " << r.messages_delivered << ",\n";
  o << "  \"messages_dropped\": " << r.messages_dropped << ",\n";
  o << "  \"wall_s\": " << num(r.wall_s) << ",\n";
  o << "  \"trace_hash\": \"" << hex64(r.trace_hash) << "\",\n";
  if (r.workload) {
    const WorkloadReport& d = r.data;
    o << "  \"writes\": " << d.writes << ",\n";
    o << "  \"acked_writes\": " << d.acked_writes << ",\n";
    o << "  \"failed_writes\": " << d.failed_writes << ",\n";
    o << "  \"reads\": " << d.reads << ",\n";
    o << "  \"failed_reads\": " << d.failed_reads << ",\n";
    o << "  \"forwarded\": " << d.forwarded << ",\n";
    o << "  \"lost_writes\": " << d.lost_writes << ",\n";
    o << "  \"lost_writes_excused\": " << d.lost_writes_excused << ",\n";
    o << "  \"sibling_violations\": " << d.sibling_violations << ",\n";
    o << "  \"max_siblings\": " << d.max_siblings << ",\n";
    o << "  \"stale_reads\": " << d.stale_reads << ",\n";
    o << "  \"stale_reads_membership\": " << d.stale_reads_membership << ",\n";
    o << "  \"keys\": " << d.keys << ",\n";
    o << "  \"converged_keys\": " << d.converged_keys << ",\n";
    o << "  \"handoff_s\": [";
    for (std::size_t i = 0; i < d.handoff_s.size(); ++i) {
      o << (i ? ", " : "") << (d.handoff_s[i] < 0 ? "null" : num(d.handoff_s[i]));
    }
    o << "],\n";
    o << "  \"data_samples\": [";
    for (std::size_t i = 0; i < d.samples.size(); ++i) o << (i ? ", " : "") << quote(d.samples[i]);
    o << "],\n";
  }
  o << "  \"failures\": [";
  for (std::size_t i = 0; i < r.failures.size(); ++i) o << (i ? ", " : "") << quote(r.failures[i]);
  o << "]\n}\n";
  return o.str();
}

std::string summary(const RunReport& r) {
  std::ostringstream o;
  char buf[256];
  o << "apiary-sim: " << r.nodes << " nodes (" << r.nodes_ever << " ever), protocol " << r.protocol
    << (r.lifeguard ? " +lifeguard" : " (no lifeguard)") << ", seed " << r.seed << "\n";
  std::snprintf(buf, sizeof buf, "  warm-up %.1fs (%s), measured window %.1fs\n", r.warmup_s,
                r.bootstrap_converged ? "converged" : "NOT converged", r.duration_s);
  o << buf;
  o << "  crashes/leaves: " << r.crashes << ", detected everywhere: " << r.crashes_detected << "\n";
  o << "  detection (everywhere):  " << pct_text(r.detection_s) << "\n";
  o << "  first detection:         " << pct_text(r.first_detection_s) << "\n";
  o << "  first dead mark:         " << pct_text(r.first_dead_s) << "\n";
  o << "  dissemination of dead:   " << pct_text(r.dissemination_s) << "\n";
  o << "  false positives: " << r.false_positives << " (" << r.false_dead_views
    << " views marked a healthy node dead)\n";
  for (const auto& f : r.false_positive_samples) {
    std::snprintf(buf, sizeof buf, "    at %.2fs %s declared %s dead\n", f.at_s, f.declarer.c_str(),
                  f.victim.c_str());
    o << buf;
  }
  for (const auto& c : r.convergence) {
    if (c.seconds < 0) {
      std::snprintf(buf, sizeof buf, "  convergence after %s at %.1fs: not reached\n",
                    c.label.c_str(), c.at_s);
    } else {
      std::snprintf(buf, sizeof buf, "  convergence after %s at %.1fs: %.2fs\n", c.label.c_str(),
                    c.at_s, c.seconds);
    }
    o << buf;
  }
  std::snprintf(buf, sizeof buf, "  load: %.2f msgs/node/s, %.0f bytes/node/s\n",
                r.msgs_per_node_per_s, r.bytes_per_node_per_s);
  o << buf;
  std::snprintf(buf, sizeof buf,
                "  messages: %llu sent, %llu delivered, %llu dropped; %llu events; wall %.2fs\n",
                static_cast<unsigned long long>(r.messages_sent),
                static_cast<unsigned long long>(r.messages_delivered),
                static_cast<unsigned long long>(r.messages_dropped),
                static_cast<unsigned long long>(r.events), r.wall_s);
  o << buf;
  o << "  end state: " << (r.converged ? "converged" : "NOT converged")
    << (r.settled ? "" : " (not settled: a disturbance was too recent to judge)") << "\n";
  if (r.workload) {
    const WorkloadReport& d = r.data;
    std::snprintf(
        buf, sizeof buf,
        "  workload: %llu writes (%llu acked, %llu failed), %llu reads (%llu failed), "
        "%llu forwarded\n",
        static_cast<unsigned long long>(d.writes), static_cast<unsigned long long>(d.acked_writes),
        static_cast<unsigned long long>(d.failed_writes), static_cast<unsigned long long>(d.reads),
        static_cast<unsigned long long>(d.failed_reads),
        static_cast<unsigned long long>(d.forwarded));
    o << buf;
    std::snprintf(buf, sizeof buf,
                  "  data checks: lost writes %llu (+%llu excused), sibling violations %llu, "
                  "stale reads %llu (%llu by join/leave), converged keys %llu/%llu, "
                  "max siblings %llu\n",
                  static_cast<unsigned long long>(d.lost_writes),
                  static_cast<unsigned long long>(d.lost_writes_excused),
                  static_cast<unsigned long long>(d.sibling_violations),
                  static_cast<unsigned long long>(d.stale_reads),
                  static_cast<unsigned long long>(d.stale_reads_membership),
                  static_cast<unsigned long long>(d.converged_keys),
                  static_cast<unsigned long long>(d.keys),
                  static_cast<unsigned long long>(d.max_siblings));
    o << buf;
    for (double h : d.handoff_s) {
      if (h < 0) {
        o << "  handoff after join/leave: not finished\n";
      } else {
        std::snprintf(buf, sizeof buf, "  handoff after join/leave: %.2fs\n", h);
        o << buf;
      }
    }
    for (const auto& sample : d.samples) o << "    " << sample << "\n";
  }
  o << "  trace hash: " << hex64(r.trace_hash) << "\n";
  for (const auto& f : r.failures) o << "  FAILED: " << f << "\n";
  return o.str();
}

}  // namespace apiary::sim
