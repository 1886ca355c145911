// apiary-sim: run a simulated Apiary cluster on virtual time and report what it measured.
// Exit codes: 0 every invariant held, 1 an invariant failed (the replay command is printed),
// 2 bad command line or scenario file.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "apiary/sim/process.hpp"
#include "apiary/sim/run.hpp"
#include "apiary/sim/scenario.hpp"
#ifdef APIARY_SIM_HAS_DATA
#include "apiary/sim/workload.hpp"
#endif

namespace {

using apiary::sim::ProtocolKind;
using apiary::sim::RunOptions;

int usage_error(const std::string& message) {
  std::cerr << "apiary-sim: " << message << "\n(see apiary-sim --help)\n";
  return 2;
}

bool parse_latency(const std::string& text, RunOptions& o) {
  const auto dots = text.find("..");
  try {
    if (dots == std::string::npos) {
      const double v = std::stod(text);
      o.network.latency_min = o.network.latency_max = std::chrono::duration_cast<apiary::Duration>(
          std::chrono::duration<double, std::milli>(v));
      return v >= 0;
    }
    const double lo = std::stod(text.substr(0, dots));
    const double hi = std::stod(text.substr(dots + 2));
    if (lo < 0 || hi < lo) return false;
    o.network.latency_min =
        std::chrono::duration_cast<apiary::Duration>(std::chrono::duration<double, std::milli>(lo));
    o.network.latency_max =
        std::chrono::duration_cast<apiary::Duration>(std::chrono::duration<double, std::milli>(hi));
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace

int main(int argc, char** argv) {
  RunOptions o;
  CLI::App app{"apiary-sim: thousands of Apiary nodes on virtual time with injected faults"};
  std::string latency = "1..5";
  double jitter_ms = 1.0;
  double pause_ms = 3000.0;
  double probe_interval_ms = 0;
  std::string protocol = "swim";
  std::string scenario_path;
  std::string json_path;
  bool no_lifeguard = false;
  bool progress = false;
  bool quiet = false;
  bool no_check = false;
  double warmup = -1;
  std::vector<std::uint32_t> watch;

  app.add_option("--nodes", o.nodes, "initial number of nodes")->check(CLI::Range(1u, 100000u));
  app.add_option("--duration", o.duration_s, "measured window in simulated seconds")
      ->check(CLI::PositiveNumber);
  app.add_option("--seed", o.seed, "master seed; the same seed replays the same run");
  app.add_option("--loss", o.network.loss, "probability a datagram is lost")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--duplicate", o.network.duplicate, "probability a datagram is duplicated")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--latency-ms", latency, "per-link base latency range A..B in ms");
  app.add_option("--jitter-ms", jitter_ms, "extra per-message delay, uniform 0..J ms (reorders)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--skew", o.clock_skew, "max clock-rate skew: node clocks run at 1±eps")
      ->check(CLI::Range(0.0, 0.5));
  app.add_option("--crash", o.crash, "crash K random nodes at random times");
  app.add_option("--pause", o.pause, "pause K random nodes (GC-like stalls) at random times");
  app.add_option("--pause-ms", pause_ms, "length of each --pause stall")
      ->check(CLI::PositiveNumber);
  app.add_option("--partition", o.partition,
                 "partition 'A|B' or 'A->B' (node sets like 0-49) for a quarter of the window");
  app.add_flag("--simultaneous-start", o.simultaneous_start,
               "every initial node starts at the same instant with the same seed list: every "
               "initial node's address, its own included (as a DNS name over the pods gives)");
  app.add_option("--split-start", o.split_start,
                 "'A|B': a simultaneous start with A and B partitioned from the first instant, "
                 "so each forms its own cluster; healed at --heal-at, then they must merge");
  double heal_at = -1;
  app.add_option("--heal-at", heal_at,
                 "heal every partition this many seconds into the window (default with "
                 "--split-start: a quarter of the window)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--join", o.join, "K new nodes join at once a quarter into the window");
  app.add_option("--leave", o.leave, "K random nodes leave gracefully at random times");
  app.add_option("--restart", o.restart, "K random nodes restart at once mid-window");
  app.add_option("--scenario", scenario_path, "fault schedule file (docs/simulator.md)")
      ->check(CLI::ExistingFile);
  app.add_option("--json", json_path, "write the report as JSON to this file");
  std::string history_path;
  app.add_option("--history", history_path,
                 "workload: write every client command (invocation, completion, reply) to this "
                 "file, one line each, for reading a failure");
  app.add_flag("--no-lifeguard", no_lifeguard, "plain SWIM: turn the Lifeguard extensions off");
  app.add_option("--protocol", protocol, "swim (default) or heartbeat (test protocol)")
      ->check(CLI::IsMember({"swim", "heartbeat"}));
  app.add_option("--probe-interval-ms", probe_interval_ms, "SWIM probe interval override")
      ->check(CLI::PositiveNumber);
  app.add_option("--warmup", warmup, "bootstrap time limit in seconds (default: scales with N)")
      ->check(CLI::NonNegativeNumber);
  double settle = -1;
  double start_spacing_ms = -1;
  app.add_option("--start-spacing-ms", start_spacing_ms,
                 "gap between the starts of the initial nodes (default 2ms, 10ms above 1,000)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--settle", settle,
                 "quiet seconds at the end needed to judge convergence (default 40 + push-pull)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seed-nodes", o.seed_nodes, "seeds a joining node contacts")
      ->check(CLI::Range(1u, 64u));
  app.add_option("--watch", watch, "print every membership event about these nodes to stderr");
  bool messages_first = false;
  app.add_flag("--resume-messages-first", messages_first,
               "a resumed node reads queued messages before its overdue timers");
  auto& wl = o.workload;
  app.add_flag("--workload", wl.enabled,
               "data mode: the real node (core::NodeCore) on every simulated node, Redis "
               "clients issuing GET/SET/SET NX/DEL/INCR and hash/set commands, data checkers "
               "(counters, SET NX, hashes and sets, "
               "linearizability, convergence, handoff time)");
  app.add_option("--keys", wl.keys, "workload: register keys (GET, SET, SET NX, DEL)")
      ->check(CLI::Range(1u, 100000000u));
  app.add_option("--counters", wl.counters, "workload: counter keys (INCR)")
      ->check(CLI::Range(0u, 100000u));
  app.add_option("--read-ratio", wl.read_ratio, "workload: fraction of operations that are reads")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--sets", wl.sets, "workload: set keys s0.. (SADD, SREM, SMEMBERS; default 2)")
      ->check(CLI::Range(0u, 100000u));
  app.add_option("--hashes", wl.hashes,
                 "workload: hash keys h0.. (HSET, HDEL, HINCRBY, HGETALL; default 2)")
      ->check(CLI::Range(0u, 100000u));
  app.add_option("--zsets", wl.zsets,
                 "workload: sorted set keys z0.. (ZADD, ZREM, ZINCRBY, ZRANGE; default 2)")
      ->check(CLI::Range(0u, 100000u));
  app.add_option("--lists", wl.lists,
                 "workload: list keys l0.. used as queues (RPUSH, LPUSH, LPOP, RPOP, BLPOP, BRPOP, "
                 "LRANGE; default 2)")
      ->check(CLI::Range(0u, 100000u));
  app.add_option("--blocking-ratio", wl.blocking_ratio,
                 "workload: fraction of list pops that block (BLPOP, BRPOP with a 0.05-0.5 s "
                 "timeout; default 0.4)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--hash-counters", wl.hash_counters,
                 "workload: HINCRBY and ZINCRBY counter fields n0.. per hash and sorted set key "
                 "(default 2)")
      ->check(CLI::Range(0u, 1000u));
  app.add_option("--collection-ratio", wl.collection_ratio,
                 "workload: fraction of commands on the hash, set, sorted set and list keys "
                 "(default 0.2; the read ratio applies to the rest)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--transfers", wl.transfers,
                 "workload: pairs of accounts {acct:<p>}:a/b that MULTI/EXEC and EVAL transfers "
                 "move amounts between (default 0: off)")
      ->check(CLI::Range(0u, 100000u));
  app.add_option("--transfer-ratio", wl.transfer_ratio,
                 "workload: fraction of commands that are transfers or atomic reads of a pair "
                 "(default 0.3; with --transfers)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--pubsub", wl.pubsub,
                 "workload: pub/sub subscriber clients on channels ch0.. and patterns, with "
                 "publishers and the pub/sub checks (default 0: off)")
      ->check(CLI::Range(0u, 10000u));
  app.add_option("--pubsub-channels", wl.pubsub_channels,
                 "workload: pub/sub channels ch0..ch<K-1> (default 4; with --pubsub)")
      ->check(CLI::Range(1u, 10000u));
  app.add_option("--pubsub-publishers", wl.pubsub_publishers,
                 "workload: pub/sub publisher clients (default 3; with --pubsub)")
      ->check(CLI::Range(0u, 1000u));
  app.add_option("--clients", wl.clients, "workload: concurrent operations in flight")
      ->check(CLI::Range(1u, 100000u));
  app.add_option("--replicas", wl.replicas, "workload: replication factor N")
      ->check(CLI::Range(1u, 16u));
  app.add_option("--write-quorum", wl.write_quorum, "workload: W (counts the coordinator)")
      ->check(CLI::Range(1u, 16u));
  app.add_option("--read-quorum", wl.read_quorum, "workload: R (counts the coordinator)")
      ->check(CLI::Range(1u, 16u));
  double stable_after_s = -1;
  app.add_option("--stable-after", stable_after_s,
                 "workload: seconds after a fault before the quiet-cluster checkers (SET NX, "
                 "linearizability, INCR order) judge again (default 30)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--appendfsync", wl.appendfsync,
                 "workload: give every node an AOF with this fsync policy on a simulated disk "
                 "that keeps its synced bytes across restarts (each restart is a power loss)")
      ->check(CLI::IsMember({"always", "everysec", "no"}));
  app.add_option("--partitions", wl.partitions,
                 "workload: partition count, a power of two (default 256, the runtime's 1024 "
                 "makes every view change 4x dearer)")
      ->check(CLI::Range(1u, 65536u));
  app.add_flag("--progress", progress, "show progress on stderr even when it is not a TTY");
  app.add_flag("--quiet", quiet, "no summary on stdout");
  app.add_flag("--no-check", no_check, "report only; never fail on invariants");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return usage_error(e.what());
  }

  if (!parse_latency(latency, o)) return usage_error("--latency-ms wants A..B in ms, e.g. 1..5");
  o.network.jitter = std::chrono::duration_cast<apiary::Duration>(
      std::chrono::duration<double, std::milli>(jitter_ms));
  o.pause_length = std::chrono::duration_cast<apiary::Duration>(
      std::chrono::duration<double, std::milli>(pause_ms));
  if (probe_interval_ms > 0) {
    o.swim.probe_interval = std::chrono::duration_cast<apiary::Duration>(
        std::chrono::duration<double, std::milli>(probe_interval_ms));
  }
  o.swim.lifeguard = !no_lifeguard;
  o.protocol = protocol == "heartbeat" ? ProtocolKind::heartbeat : ProtocolKind::swim;
  if (warmup >= 0) o.warmup_s = warmup;
  if (stable_after_s >= 0) {
    wl.stable_after =
        std::chrono::duration_cast<apiary::Duration>(std::chrono::duration<double>(stable_after_s));
  }
  if (settle >= 0) o.settle_s = settle;
  if (heal_at >= 0) o.heal_at_s = heal_at;
  if (!o.split_start.empty()) {
    auto rule = apiary::sim::parse_partition(o.split_start);
    if (!rule || rule->one_way) return usage_error("--split-start wants two node sets, 'A|B'");
  }
  if (start_spacing_ms >= 0) {
    o.start_spacing = std::chrono::duration_cast<apiary::Duration>(
        std::chrono::duration<double, std::milli>(start_spacing_ms));
  }
  o.check = !no_check;
  o.timers_first_on_resume = !messages_first;
  if (!o.partition.empty()) {
    if (auto rule = apiary::sim::parse_partition(o.partition); !rule) {
      return usage_error("--partition: " + rule.status().message());
    }
  }
  if (!scenario_path.empty()) {
    std::ifstream in(scenario_path);
    std::stringstream text;
    text << in.rdbuf();
    o.scenario_text = text.str();
    o.scenario_path = scenario_path;
    if (auto sc = apiary::sim::parse_scenario(o.scenario_text); !sc) {
      return usage_error(scenario_path + ": " + sc.status().message());
    }
  }

  if (!watch.empty()) {
    o.on_event = [watch](apiary::TimePoint now, std::uint32_t observer,
                         const apiary::gossip::MemberEvent& ev) {
      const auto subject = apiary::sim::parse_node_index(ev.member.name);
      const bool hit = std::find(watch.begin(), watch.end(), observer) != watch.end() ||
                       (subject && std::find(watch.begin(), watch.end(), *subject) != watch.end());
      if (!hit) return;
      std::fprintf(stderr, "%10.3fs n%u: %s %s inc=%llu\n",
                   std::chrono::duration<double>(now.time_since_epoch()).count(), observer,
                   std::string(apiary::gossip::to_string(ev.kind)).c_str(), ev.member.name.c_str(),
                   static_cast<unsigned long long>(ev.member.incarnation.value));
    };
  }
  const bool show_progress = progress || isatty(STDERR_FILENO);
  const auto wall_start = std::chrono::steady_clock::now();
  auto last_draw = wall_start;
  if (show_progress) {
    o.tick = [&](apiary::TimePoint now, apiary::TimePoint end, const apiary::sim::World& w) {
      const auto t = std::chrono::steady_clock::now();
      if (t - last_draw < std::chrono::milliseconds(500)) return;
      last_draw = t;
      std::fprintf(stderr, "\r[apiary-sim] t=%.0fs/%.0fs  running %u  events %llu  wall %.1fs   ",
                   std::chrono::duration<double>(now.time_since_epoch()).count(),
                   std::chrono::duration<double>(end.time_since_epoch()).count(), w.running_count(),
                   static_cast<unsigned long long>(w.stats().events),
                   std::chrono::duration<double>(t - wall_start).count());
      std::fflush(stderr);
    };
  }

  bool history_written = true;
#ifdef APIARY_SIM_HAS_DATA
  if (!history_path.empty()) {
    o.on_workload = [&](const apiary::sim::Workload& w) {
      std::ofstream out(history_path);
      for (const auto& op : w.history()) out << w.describe(op) << "\n";
      history_written = static_cast<bool>(out);
    };
  }
#endif
  auto result = apiary::sim::run_simulation(o);
  if (show_progress) std::fprintf(stderr, "\r%80s\r", "");
  if (!result) return usage_error(result.status().message());
  apiary::sim::RunReport report = std::move(*result);
  report.wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

  if (!quiet) std::cout << apiary::sim::summary(report);
  if (!history_written) {
    std::cerr << "apiary-sim: cannot write " << history_path << "\n";
    return 2;
  }
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << apiary::sim::to_json(report);
    if (!out) {
      std::cerr << "apiary-sim: cannot write " << json_path << "\n";
      return 2;
    }
  }
  if (!report.failures.empty()) {
    std::cerr << "apiary-sim: invariant failed with seed " << o.seed << "\n";
    for (const auto& f : report.failures) std::cerr << "  " << f << "\n";
    std::cerr << "replay: " << apiary::sim::replay_command(o) << "\n";
    return 1;
  }
  return 0;
}
