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

std::string data_summary(const WorkloadReport& d) {
  using ull = unsigned long long;
  std::ostringstream o;
  char buf[400];
  std::snprintf(buf, sizeof buf,
                "  workload: %llu GET, %llu SET, %llu SET NX, %llu DEL, %llu INCR; %llu ok, "
                "%llu errors, %llu timeouts (%llu late replies); %llu forwarded\n",
                ull(d.gets), ull(d.sets), ull(d.set_nx), ull(d.dels), ull(d.incrs), ull(d.ok),
                ull(d.errors), ull(d.timeouts), ull(d.late_replies), ull(d.forwarded));
  o << buf;
  std::snprintf(buf, sizeof buf,
                "  counters: %llu keys, %llu acked + %llu ambiguous INCRs; out of bounds %llu, "
                "unread %llu, order violations %llu\n",
                ull(d.counter_keys), ull(d.increments_acked), ull(d.increments_ambiguous),
                ull(d.counter_violations), ull(d.counters_unread), ull(d.counter_order_violations));
  o << buf;
  std::snprintf(buf, sizeof buf,
                "  SET NX: %llu wins; double wins %llu in stable windows, %llu near faults\n",
                ull(d.set_nx_wins), ull(d.set_nx_double_wins), ull(d.set_nx_double_wins_unstable));
  o << buf;
  std::snprintf(buf, sizeof buf,
                "  linearizability (%s): %llu stable windows (%.1fs), %llu histories (%llu ops) "
                "checked, %llu skipped, %llu not linearizable; %llu ops near faults\n",
                d.linearizability_claimed ? "claimed" : "not claimed with R=1: counted only",
                ull(d.stable_windows), d.stable_s, ull(d.histories_checked), ull(d.ops_checked),
                ull(d.histories_skipped), ull(d.linearizability_violations), ull(d.ops_unstable));
  o << buf;
  if (d.split_stable_s > 0) {
    std::snprintf(buf, sizeof buf,
                  "  split start: each side judged as a cluster of its own (SET NX, INCR order, "
                  "linearizability) for %.1fs of windows\n",
                  d.split_stable_s);
    o << buf;
  }
  if (d.durability_checked > 0) {
    std::snprintf(buf, sizeof buf,
                  "  durability: %llu (fault, key) pairs judged, %llu acknowledged writes missed\n",
                  ull(d.durability_checked), ull(d.durability_violations));
    o << buf;
  }
  const CollectionReport& c = d.collections;
  if (c.keys > 0) {
    std::snprintf(buf, sizeof buf,
                  "  hashes/sets: %llu SADD, %llu SREM, %llu SMEMBERS, %llu HSET, %llu HDEL, "
                  "%llu HINCRBY, %llu HGETALL on %llu keys\n",
                  ull(d.sadds), ull(d.srems), ull(d.smembers), ull(d.hsets), ull(d.hdels),
                  ull(d.hincrbys), ull(d.hgetalls), ull(c.keys));
    o << buf;
    std::snprintf(buf, sizeof buf,
                  "  sorted sets: %llu ZADD, %llu ZREM, %llu ZINCRBY, %llu ZRANGE\n", ull(d.zadds),
                  ull(d.zrems), ull(d.zincrbys), ull(d.zranges));
    o << buf;
    std::snprintf(
        buf, sizeof buf,
        "    final reads %llu (keys unread %llu): %llu elements required (%llu re-added), "
        "%llu lost, %llu removed unobserved, %llu phantoms, %llu resurrected (counted); "
        "%llu counter fields, %llu acked + "
        "%llu ambiguous HINCRBY/ZINCRBY, %llu out of bounds; %llu keys read differently\n",
        ull(c.reads), ull(c.unread), ull(c.elements_required), ull(c.readds_required),
        ull(c.elements_lost), ull(c.removals_unobserved), ull(c.phantom_elements),
        ull(c.resurrected), ull(c.counter_fields), ull(c.increments_acked),
        ull(c.increments_ambiguous), ull(c.counter_violations), ull(c.divergent_keys));
    o << buf;
  }
  const ListReport& l = d.lists;
  if (l.keys > 0) {
    std::snprintf(buf, sizeof buf,
                  "  lists: %llu pushes, %llu pops, %llu blocking pops, %llu LRANGE on %llu keys; "
                  "final reads %llu (keys unread %llu)\n",
                  ull(d.pushes), ull(d.pops), ull(d.blocking_pops), ull(d.lranges), ull(l.keys),
                  ull(l.reads), ull(l.unread));
    o << buf;
    std::snprintf(buf, sizeof buf,
                  "    elements pushed %llu acked + %llu ambiguous, popped %llu, left %llu; "
                  "%llu missing (%llu ambiguous pops), %llu lost, %llu popped yet present\n",
                  ull(l.pushed_acked), ull(l.pushed_ambiguous), ull(l.popped),
                  ull(l.final_elements), ull(l.missing), ull(l.pops_ambiguous), ull(l.lost),
                  ull(l.popped_present));
    o << buf;
    std::snprintf(buf, sizeof buf,
                  "    %llu phantoms, %llu duplicates, double pops %llu stable + %llu near faults "
                  "(counted); %llu keys read differently\n",
                  ull(l.phantoms), ull(l.duplicates), ull(l.double_pops),
                  ull(l.double_pops_unstable), ull(l.divergent_keys));
    o << buf;
    std::snprintf(buf, sizeof buf,
                  "    blocking pops %llu: %llu served, %llu null, %llu null too early, "
                  "%llu unanswered (+%llu excused: node crashed, left or paused), %llu errors "
                  "(+%llu near faults)\n",
                  ull(l.blocked), ull(l.blocked_served), ull(l.blocked_timed_out),
                  ull(l.blocked_early), ull(l.blocked_unanswered), ull(l.blocked_excused),
                  ull(l.blocked_errors), ull(l.blocked_errors_unstable));
    o << buf;
  }
  const TransferReport& t = d.transfers;
  if (t.pairs > 0) {
    std::snprintf(buf, sizeof buf,
                  "  transfers: %llu pairs, %llu MULTI/EXEC + %llu EVAL; %llu acked (amount %lld) "
                  "+ %llu ambiguous (amount %lld); %llu queueing refusals, %llu partial EXECs\n",
                  ull(t.pairs), ull(t.multi), ull(t.eval), ull(t.acked),
                  static_cast<long long>(t.amount_acked), ull(t.ambiguous),
                  static_cast<long long>(t.amount_ambiguous), ull(t.queue_refused),
                  ull(t.exec_partial));
    o << buf;
    std::snprintf(buf, sizeof buf,
                  "    atomic reads %llu (%llu answered), %llu torn; end: %llu (pair, owner) "
                  "judged, %llu unbalanced, %llu out of bounds, %llu unreadable\n",
                  ull(t.reads), ull(t.reads_ok), ull(t.torn_reads), ull(t.owners_checked),
                  ull(t.unbalanced), ull(t.out_of_bounds), ull(t.unreadable));
    o << buf;
  }
  const PubSubReport& ps = d.pubsub;
  if (ps.subscribers > 0) {
    std::snprintf(buf, sizeof buf,
                  "  pub/sub: %llu subscribers, %llu publishers, %llu channels, %llu sessions; "
                  "%llu SUBSCRIBE + %llu UNSUBSCRIBE (%llu errors)\n",
                  ull(ps.subscribers), ull(ps.publishers), ull(ps.channels), ull(ps.sessions),
                  ull(ps.subscribes), ull(ps.unsubscribes), ull(ps.subscribe_errors));
    o << buf;
    std::snprintf(buf, sizeof buf,
                  "    published %llu (%llu answered, %llu unanswered, %llu bad replies), "
                  "delivered %llu; expected %llu, lost %llu near faults + %llu stable\n",
                  ull(ps.published), ull(ps.publish_acked), ull(ps.publish_unanswered),
                  ull(ps.publish_bad_replies), ull(ps.delivered), ull(ps.expected),
                  ull(ps.lost_near_faults), ull(ps.lost_stable));
    o << buf;
    std::snprintf(buf, sizeof buf,
                  "    %llu reordered, %llu duplicated, %llu phantoms, %llu after unsubscribe; "
                  "receiver counts %llu judged, %llu mismatched (%llu over)\n",
                  ull(ps.reordered), ull(ps.duplicated), ull(ps.phantoms),
                  ull(ps.unsubscribed_deliveries), ull(ps.count_checked), ull(ps.count_mismatches),
                  ull(ps.count_over));
    o << buf;
  }
  std::snprintf(buf, sizeof buf, "  convergence: %llu/%llu keys, max siblings %llu\n",
                ull(d.converged_keys), ull(d.keys), ull(d.max_siblings));
  o << buf;
  for (double h : d.handoff_s) {
    if (h < 0) {
      o << "  handoff after join/leave: not finished\n";
    } else {
      std::snprintf(buf, sizeof buf, "  handoff after join/leave: %.2fs\n", h);
      o << buf;
    }
  }
  for (double h : d.heal_handoff_s) {
    if (h < 0) {
      o << "  one view and handoffs done after a heal: not reached\n";
    } else {
      std::snprintf(buf, sizeof buf, "  one view and handoffs done after a heal: %.2fs\n", h);
      o << buf;
    }
  }
  for (const auto& sample : d.samples) o << "    " << sample << "\n";
  return o.str();
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
    auto field = [&o](const char* name, auto value) {
      o << "  \"" << name << "\": " << value << ",\n";
    };
    field("gets", d.gets);
    field("sets", d.sets);
    field("set_nx", d.set_nx);
    field("dels", d.dels);
    field("incrs", d.incrs);
    field("ok", d.ok);
    field("errors", d.errors);
    field("timeouts", d.timeouts);
    field("late_replies", d.late_replies);
    field("forwarded", d.forwarded);
    field("counter_keys", d.counter_keys);
    field("increments_acked", d.increments_acked);
    field("increments_ambiguous", d.increments_ambiguous);
    field("counter_violations", d.counter_violations);
    field("counters_unread", d.counters_unread);
    field("counter_order_violations", d.counter_order_violations);
    field("set_nx_wins", d.set_nx_wins);
    field("set_nx_double_wins", d.set_nx_double_wins);
    field("set_nx_double_wins_unstable", d.set_nx_double_wins_unstable);
    field("linearizability_claimed", d.linearizability_claimed ? "true" : "false");
    field("stable_windows", d.stable_windows);
    field("stable_s", num(d.stable_s));
    field("split_stable_s", num(d.split_stable_s));
    field("histories_checked", d.histories_checked);
    field("histories_skipped", d.histories_skipped);
    field("ops_checked", d.ops_checked);
    field("ops_unstable", d.ops_unstable);
    field("linearizability_violations", d.linearizability_violations);
    field("durability_checked", d.durability_checked);
    field("durability_violations", d.durability_violations);
    field("sadds", d.sadds);
    field("srems", d.srems);
    field("smembers", d.smembers);
    field("hsets", d.hsets);
    field("hdels", d.hdels);
    field("hincrbys", d.hincrbys);
    field("hgetalls", d.hgetalls);
    field("zadds", d.zadds);
    field("zrems", d.zrems);
    field("zincrbys", d.zincrbys);
    field("zranges", d.zranges);
    const CollectionReport& c = d.collections;
    field("collection_keys", c.keys);
    field("collection_reads", c.reads);
    field("collections_unread", c.unread);
    field("elements_required", c.elements_required);
    field("elements_lost", c.elements_lost);
    field("removals_unobserved", c.removals_unobserved);
    field("readds_required", c.readds_required);
    field("phantom_elements", c.phantom_elements);
    field("resurrected", c.resurrected);
    field("hash_counter_fields", c.counter_fields);
    field("hash_increments_acked", c.increments_acked);
    field("hash_increments_ambiguous", c.increments_ambiguous);
    field("hash_counter_violations", c.counter_violations);
    field("collections_divergent", c.divergent_keys);
    field("pushes", d.pushes);
    field("pops", d.pops);
    field("blocking_pops", d.blocking_pops);
    field("lranges", d.lranges);
    const ListReport& l = d.lists;
    field("list_keys", l.keys);
    field("list_reads", l.reads);
    field("lists_unread", l.unread);
    field("list_pushed_acked", l.pushed_acked);
    field("list_pushed_ambiguous", l.pushed_ambiguous);
    field("list_popped", l.popped);
    field("list_final_elements", l.final_elements);
    field("list_pops_ambiguous", l.pops_ambiguous);
    field("list_missing", l.missing);
    field("list_lost", l.lost);
    field("list_popped_present", l.popped_present);
    field("list_phantoms", l.phantoms);
    field("list_duplicates", l.duplicates);
    field("list_double_pops", l.double_pops);
    field("list_double_pops_unstable", l.double_pops_unstable);
    field("lists_divergent", l.divergent_keys);
    field("blocked_pops", l.blocked);
    field("blocked_served", l.blocked_served);
    field("blocked_timed_out", l.blocked_timed_out);
    field("blocked_early", l.blocked_early);
    field("blocked_unanswered", l.blocked_unanswered);
    field("blocked_excused", l.blocked_excused);
    field("blocked_errors", l.blocked_errors);
    field("blocked_errors_unstable", l.blocked_errors_unstable);
    const TransferReport& t = d.transfers;
    field("transfer_pairs", t.pairs);
    field("transfers_multi", t.multi);
    field("transfers_eval", t.eval);
    field("transfers_acked", t.acked);
    field("transfers_ambiguous", t.ambiguous);
    field("transfer_amount_acked", t.amount_acked);
    field("transfer_amount_ambiguous", t.amount_ambiguous);
    field("transfer_reads", t.reads);
    field("transfer_reads_ok", t.reads_ok);
    field("transfer_torn_reads", t.torn_reads);
    field("transfer_queue_refused", t.queue_refused);
    field("transfer_exec_partial", t.exec_partial);
    field("transfer_owners_checked", t.owners_checked);
    field("transfer_unbalanced", t.unbalanced);
    field("transfer_out_of_bounds", t.out_of_bounds);
    field("transfer_unreadable", t.unreadable);
    const PubSubReport& ps = d.pubsub;
    field("pubsub_subscribers", ps.subscribers);
    field("pubsub_publishers", ps.publishers);
    field("pubsub_channels", ps.channels);
    field("pubsub_sessions", ps.sessions);
    field("pubsub_subscribes", ps.subscribes);
    field("pubsub_unsubscribes", ps.unsubscribes);
    field("pubsub_subscribe_errors", ps.subscribe_errors);
    field("pubsub_published", ps.published);
    field("pubsub_publish_acked", ps.publish_acked);
    field("pubsub_publish_unanswered", ps.publish_unanswered);
    field("pubsub_publish_bad_replies", ps.publish_bad_replies);
    field("pubsub_delivered", ps.delivered);
    field("pubsub_expected", ps.expected);
    field("pubsub_lost_near_faults", ps.lost_near_faults);
    field("pubsub_lost_stable", ps.lost_stable);
    field("pubsub_reordered", ps.reordered);
    field("pubsub_duplicated", ps.duplicated);
    field("pubsub_phantoms", ps.phantoms);
    field("pubsub_unsubscribed_deliveries", ps.unsubscribed_deliveries);
    field("pubsub_count_checked", ps.count_checked);
    field("pubsub_count_mismatches", ps.count_mismatches);
    field("pubsub_count_over", ps.count_over);
    field("keys", d.keys);
    field("converged_keys", d.converged_keys);
    field("max_siblings", d.max_siblings);
    auto list = [&](const char* name, const std::vector<double>& v) {
      o << "  \"" << name << "\": [";
      for (std::size_t i = 0; i < v.size(); ++i) {
        o << (i ? ", " : "") << (v[i] < 0 ? "null" : num(v[i]));
      }
      o << "],\n";
    };
    list("handoff_s", d.handoff_s);
    list("heal_handoff_s", d.heal_handoff_s);
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
  if (r.workload) o << data_summary(r.data);
  o << "  trace hash: " << hex64(r.trace_hash) << "\n";
  for (const auto& f : r.failures) o << "  FAILED: " << f << "\n";
  return o.str();
}

}  // namespace apiary::sim
