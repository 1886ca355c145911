#include "apiary/sim/run.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "apiary/sim/heartbeat_process.hpp"
#ifdef APIARY_SIM_HAS_SWIM
#include "apiary/sim/swim_process.hpp"
#endif
#ifdef APIARY_SIM_HAS_DATA
#include "apiary/sim/node_process.hpp"
#include "apiary/sim/workload.hpp"
#endif

namespace apiary::sim {
namespace {

using namespace std::chrono_literals;

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }
Duration from_seconds(double s) {
  return Duration(static_cast<std::int64_t>(std::llround(s * 1e9)));
}

Status bad(std::string message) { return make_error(StatusCode::invalid_argument, message); }

#ifdef APIARY_SIM_HAS_DATA
NodeOptions node_options(const RunOptions& o) {
  NodeOptions d;
  auto& r = d.replication;
  r.partition_count = o.workload.partitions;
  r.replicas = o.workload.replicas;
  r.write_quorum = o.workload.write_quorum;
  r.read_quorum = o.workload.read_quorum;
  r.anti_entropy_interval =
      std::chrono::duration_cast<std::chrono::milliseconds>(o.workload.anti_entropy_interval);
  d.appendfsync = o.workload.appendfsync;
  d.zeroed_tail_probability = o.workload.zeroed_tail_probability;
  d.disk_seed = o.seed;
  return d;
}
#endif

Result<ProcessFactory> make_factory(const RunOptions& o) {
  if (o.workload.enabled) {
    if (o.protocol != ProtocolKind::swim) return bad("--workload needs --protocol swim");
    const std::uint32_t p = o.workload.partitions;
    if (p == 0 || (p & (p - 1)) != 0) return bad("--partitions must be a power of two");
    if (o.workload.keys == 0 || o.workload.clients == 0 || o.workload.replicas == 0) {
      return bad("--keys, --clients and --replicas must be at least 1");
    }
#ifdef APIARY_SIM_HAS_DATA
    if (auto st = check_node_options(node_options(o)); !st.ok()) return bad(st.message());
    return node_factory(o.swim, node_options(o));
#else
    return bad("this build has no data layer (libnode/core was not built)");
#endif
  }
  if (o.protocol == ProtocolKind::heartbeat) return heartbeat_factory();
#ifdef APIARY_SIM_HAS_SWIM
  return swim_factory(o.swim);
#else
  return bad(
      "this build has no Swim adapter (the gossip core was not built); use "
      "--protocol heartbeat");
#endif
}

Action random_action(ActionKind kind, Duration at, std::uint32_t count) {
  Action a;
  a.kind = kind;
  a.at = at;
  a.targets.random_count = count;
  return a;
}

// Random faults from the counts in the options, relative to the start of the window.
Result<std::vector<Action>> plan_random_faults(const RunOptions& o, Duration window_len) {
  std::vector<Action> out;
  Rng plan(o.seed ^ 0x706c616e66617531ULL);
  const Duration first = std::min<Duration>(1s, window_len);
  Duration last = window_len - from_seconds(settle_seconds(o));
  if (last < first) last = first;
  const Duration span = last - first;
  auto at_random = [&] { return first + Duration(plan.uniform_between(0, span.count())); };
  for (std::uint32_t i = 0; i < o.crash; ++i)
    out.push_back(random_action(ActionKind::crash, at_random(), 1));
  for (std::uint32_t i = 0; i < o.leave; ++i)
    out.push_back(random_action(ActionKind::leave, at_random(), 1));
  for (std::uint32_t i = 0; i < o.pause; ++i) {
    Action a = random_action(ActionKind::pause, at_random(), 1);
    a.length = o.pause_length;
    out.push_back(a);
  }
  if (o.join > 0) {
    Action a = random_action(ActionKind::join, first + span / 4, 0);
    a.count = o.join;
    out.push_back(a);
  }
  if (o.restart > 0) out.push_back(random_action(ActionKind::restart, first + span / 2, o.restart));
  if (!o.partition.empty()) {
    auto rule = parse_partition(o.partition);
    if (!rule) return rule.status();
    Action a;
    a.kind = ActionKind::partition;
    a.at = first + span / 3;
    a.length = std::max<Duration>(1s, span / 4);
    a.rule = std::move(*rule);
    out.push_back(std::move(a));
  }
  return out;
}

void fill_detection(RunReport& r, const Checker& c) {
  std::vector<double> detection, first, first_dead, dissemination;
  for (const auto& e : c.episodes()) {
    if (e.graceful) continue;
    ++r.crashes;
    if (e.first_suspect) first.push_back(seconds(*e.first_suspect - e.crashed));
    if (e.first_dead) first_dead.push_back(seconds(*e.first_dead - e.crashed));
    if (e.everywhere) {
      ++r.crashes_detected;
      detection.push_back(seconds(*e.everywhere - e.crashed));
      if (e.first_dead) dissemination.push_back(seconds(*e.everywhere - *e.first_dead));
    }
  }
  r.detection_s = percentiles(std::move(detection));
  r.first_detection_s = percentiles(std::move(first));
  r.first_dead_s = percentiles(std::move(first_dead));
  r.dissemination_s = percentiles(std::move(dissemination));
}

// 2ms apart up to 1,000 nodes, then spread so that about 1,000 nodes start per 10 seconds.
Duration default_start_spacing(std::uint32_t nodes) {
  return nodes <= 1000 ? Duration(2ms) : Duration(10ms);
}

// The core's push-pull interval scaled to the cluster size (memberlist's formula). A node
// that missed every gossip of a join or a refutation only learns it from a push-pull.
double push_pull_seconds(const RunOptions& o) {
  double pp = seconds(o.swim.push_pull_interval);
  if (o.nodes > 32) pp *= std::ceil(std::log2(double(o.nodes)) - 5.0) + 1.0;
  return pp;
}

// With a split start the cluster is two clusters until the heal: each side's views must agree
// among themselves (the sides cannot hear of each other). Counts the (observer, subject) pairs
// on one side where the observer does not hold the subject alive or suspect; O(N^2).
std::uint64_t split_gaps(World& world, std::vector<std::string>* samples) {
  std::uint64_t gaps = 0;
  const std::uint32_t n = world.started_nodes();
  for (std::uint32_t i = 0; i < n; ++i) {
    if (world.status(i) != NodeStatus::running) continue;
    for (std::uint32_t j = 0; j < n; ++j) {
      if (i == j || world.status(j) != NodeStatus::running) continue;
      if (world.network().blocked(i, j) || world.network().blocked(j, i)) continue;
      const auto v = world.checker().view(i, j);
      if (v && (*v == gossip::MemberState::alive || *v == gossip::MemberState::suspect)) continue;
      ++gaps;
      if (samples != nullptr && samples->size() < 5) {
        samples->push_back(node_name(i) + " does not hold " + node_name(j) +
                           " (same side of the split) alive");
      }
    }
  }
  return gaps;
}

void check_data(RunReport& r) {
  const WorkloadReport& d = r.data;
  auto fail = [&](const std::string& what) {
    std::string line = what;
    for (const auto& s : d.samples) line += "; " + s;
    r.failures.push_back(line);
  };
  if (d.counter_violations > 0) {
    fail(std::to_string(d.counter_violations) +
         " counters ended outside [acknowledged, acknowledged + ambiguous] increments");
  }
  if (r.settled && d.counters_unread > 0) {
    fail(std::to_string(d.counters_unread) + " counters could not be read at the end");
  }
  if (d.counter_order_violations > 0) {
    fail(std::to_string(d.counter_order_violations) +
         " INCR replies in stable windows repeated or went back");
  }
  if (d.set_nx_double_wins > 0) {
    fail(std::to_string(d.set_nx_double_wins) +
         " pairs of SET NX winners without a DEL between them in stable windows");
  }
  if (d.linearizability_claimed && d.durability_violations > 0) {
    fail(std::to_string(d.durability_violations) +
         " register writes acknowledged before a fault were missed by the first read after it");
  }
  if (d.linearizability_claimed && d.linearizability_violations > 0) {
    fail(std::to_string(d.linearizability_violations) +
         " key histories not linearizable in stable windows");
  }
  const CollectionReport& c = d.collections;
  if (c.phantom_elements > 0) {
    fail(std::to_string(c.phantom_elements) +
         " elements or values in the final reads of hashes, sets and sorted sets that no command "
         "wrote");
  }
  if (r.settled && c.elements_lost > 0) {
    fail(std::to_string(c.elements_lost) +
         " acknowledged SADD/HSET elements missing from final reads, though nothing removed them");
  }
  if (r.settled && c.removals_unobserved > 0) {
    fail(std::to_string(c.removals_unobserved) +
         " acknowledged SADD/HSET elements missing from final reads, removed only by SREM/HDEL "
         "that returned before the add was sent");
  }
  if (r.settled && c.counter_violations > 0) {
    fail(std::to_string(c.counter_violations) +
         " HINCRBY fields read outside [acknowledged, acknowledged + ambiguous] increments");
  }
  if (r.settled && c.divergent_keys > 0) {
    fail(std::to_string(c.divergent_keys) +
         " hash or set keys read differently through different nodes at the end");
  }
  if (r.settled && c.unread > 0) {
    fail(std::to_string(c.unread) + " hash or set keys could not be read at the end");
  }
  const ListReport& l = d.lists;
  auto fail_if = [&](bool when, std::uint64_t n, const std::string& what) {
    if (when && n > 0) fail(std::to_string(n) + " " + what);
  };
  fail_if(true, l.phantoms, "list elements popped or read that no push had sent");
  fail_if(true, l.double_pops, "list elements popped twice in a stable cluster");
  fail_if(true, l.blocked_early, "blocking pops answered null before their timeout");
  fail_if(true, l.blocked_unanswered,
          "blocking pops without an answer within their timeout + the client's wait, their "
          "node running");
  fail_if(true, l.blocked_errors, "blocking pops answered an error in a stable cluster");
  fail_if(r.settled, l.lost,
          "acknowledged list pushes neither popped nor in the final lists (beyond what "
          "unanswered pops can have taken)");
  fail_if(r.settled, l.popped_present, "popped list elements still in the final lists");
  fail_if(r.settled, l.duplicates, "list elements twice in one read");
  fail_if(r.settled, l.divergent_keys, "list keys read differently through different nodes");
  fail_if(r.settled, l.unread, "list keys could not be read at the end");
  const TransferReport& t = d.transfers;
  fail_if(true, t.torn_reads, "atomic reads of a transfer pair whose two values do not sum to 0");
  fail_if(true, t.exec_partial, "transfer EXECs that answered an error for one of their commands");
  fail_if(r.settled, t.unbalanced,
          "(pair, owner) stores where a + b != 0 at the end: money created or destroyed");
  fail_if(r.settled, t.out_of_bounds,
          "(pair, owner) stores where b lies outside [acknowledged, acknowledged + ambiguous] "
          "transferred amounts");
  fail_if(r.settled, t.unreadable, "(pair, owner) stores holding a non-integer account value");
  const PubSubReport& ps = d.pubsub;
  fail_if(true, ps.lost_stable,
          "pub/sub messages lost in a stable window (published after the subscriber's SUBSCRIBE "
          "reply, both nodes up and connected)");
  fail_if(true, ps.reordered, "pub/sub messages received out of their publisher's order");
  fail_if(true, ps.duplicated, "pub/sub messages received twice on one subscription");
  fail_if(true, ps.phantoms,
          "pub/sub messages received that were not published (or on another channel)");
  fail_if(true, ps.unsubscribed_deliveries,
          "pub/sub messages received on a subscription after its UNSUBSCRIBE reply");
  fail_if(true, ps.publish_bad_replies, "PUBLISH replies that were errors or negative counts");
  fail_if(true, ps.count_mismatches,
          "PUBLISH replies in a stable window whose receiver count differs from the deliveries "
          "(no (un)subscribe of a matching name near)");
  if (r.settled && d.converged_keys < d.keys) {
    fail(std::to_string(d.keys - d.converged_keys) + " of " + std::to_string(d.keys) +
         " keys not converged on their owners after the settle time");
  }
  if (r.settled &&
      std::any_of(d.handoff_s.begin(), d.handoff_s.end(), [](double h) { return h < 0; })) {
    fail("a handoff after a join or leave did not finish");
  }
  if (r.settled && std::any_of(d.heal_handoff_s.begin(), d.heal_handoff_s.end(),
                               [](double h) { return h < 0; })) {
    fail("after a heal the views never agreed with no handoff pending");
  }
}

}  // namespace

double settle_seconds(const RunOptions& o) {
  if (o.settle_s) return *o.settle_s;
  return 40.0 + push_pull_seconds(o);
}

Result<RunReport> run_simulation(const RunOptions& o) {
  if (o.nodes == 0) return bad("--nodes must be at least 1");
  if (!(o.duration_s > 0)) return bad("--duration must be positive");
  Scenario scenario;
  if (!o.scenario_text.empty()) {
    auto parsed = parse_scenario(o.scenario_text);
    if (!parsed) return parsed.status();
    scenario = std::move(*parsed);
  }
  if (scenario.workload && !o.workload.enabled) {
    // The scenario file's workload line, unless the command line turned it on itself.
    RunOptions with = o;
    with.workload = *scenario.workload;
    return run_simulation(with);
  }
  auto factory = make_factory(o);
  if (!factory) return factory.status();

  std::optional<PartitionRule> split = scenario.split_start;
  if (!o.split_start.empty()) {
    auto rule = parse_partition(o.split_start);
    if (!rule) return rule.status();
    if (rule->one_way) return bad("--split-start wants two sides, 'A|B'");
    split = std::move(*rule);
  }
  if (o.heal_at_s && !(*o.heal_at_s >= 0 && *o.heal_at_s < o.duration_s)) {
    return bad("--heal-at must lie inside the window [0, --duration)");
  }

  std::uint32_t extra = o.join;
  for (const auto& a : scenario.actions) {
    if (a.kind == ActionKind::join) extra += a.count;
  }
  WorldConfig wc;
  wc.seed = o.seed;
  wc.initial_nodes = o.nodes;
  wc.capacity = o.nodes + extra;
  wc.network = o.network;
  wc.clock_skew = scenario.has_skew ? scenario.clock_skew : o.clock_skew;
  wc.seed_nodes = o.seed_nodes;
  wc.start_spacing = o.start_spacing.value_or(default_start_spacing(o.nodes));
  wc.simultaneous_start = o.simultaneous_start || scenario.simultaneous_start || split;
  wc.split_start = split;
  wc.false_positive_grace = std::chrono::seconds(o.fp_grace_s);
  wc.on_event = o.on_event;
  wc.timers_first_on_resume = o.timers_first_on_resume;
  {
    const double scale = std::max(1.0, std::log10(std::max(1.0, double(o.nodes))));
    const double max_suspicion =
        static_cast<double>(o.swim.suspicion_max_timeout_mult * o.swim.suspicion_mult) * scale *
        seconds(o.swim.probe_interval);
    wc.heal_grace = std::max<Duration>(wc.false_positive_grace, from_seconds(max_suspicion + 5));
  }
  World world(wc, std::move(*factory));
#ifdef APIARY_SIM_HAS_DATA
  std::optional<Workload> workload;
  if (o.workload.enabled) {
    workload.emplace(o.workload, Rng(o.seed ^ 0x776f726b6c6f6164ULL));
    world.set_agent(&*workload);
  }
#endif

  // Bootstrap: start everyone, then wait (bounded) for the first convergence.
  const Duration start_span = wc.simultaneous_start ? Duration{0} : wc.start_spacing * o.nodes;
  const double warmup_limit = o.warmup_s.value_or(
      seconds(start_span) + 20.0 + 10.0 * std::log10(o.nodes + 1.0) + push_pull_seconds(o));
  const TimePoint warmup_end = TimePoint{} + from_seconds(warmup_limit);
  auto tick = [&](TimePoint now) {
    if (o.tick) o.tick(now, warmup_end, world);
  };
  world.run_until(TimePoint{} + start_span, tick);
  auto bootstrapped = [&] {
    return split ? split_gaps(world, nullptr) == 0 : world.checker().converged();
  };
  if (!split) world.checker().open_convergence(world.now(), "bootstrap (last start)");
  // Each side's agreement is polled (the checker knows only one cluster), in small steps.
  const Duration step = split ? Duration(100ms) : Duration(1s);
  while (!bootstrapped() && world.now() < warmup_end) {
    world.run_until(std::min(warmup_end, world.now() + step), tick);
  }
  const TimePoint start = world.now();
  const bool bootstrap_converged = bootstrapped();
  std::string bootstrap_gaps;
  if (!bootstrap_converged && split) {
    std::vector<std::string> samples;
    split_gaps(world, &samples);
    for (const auto& d : samples) bootstrap_gaps += "; " + d;
  } else if (!bootstrap_converged) {
    for (const auto& d : world.checker().disagreements(5)) bootstrap_gaps += "; " + d;
  }
  world.reset_load();

  const Duration window = from_seconds(o.duration_s);
  const TimePoint end = start + window;
  auto faults = plan_random_faults(o, window);
  if (!faults) return faults.status();
  for (auto a : scenario.actions) {
    a.at += start.time_since_epoch();
    world.schedule(std::move(a));
  }
  for (auto a : *faults) {
    a.at += start.time_since_epoch();
    world.schedule(std::move(a));
  }
  if (o.heal_at_s || !o.split_start.empty()) {
    Action heal;
    heal.kind = ActionKind::heal;
    heal.at = start.time_since_epoch() + (o.heal_at_s ? from_seconds(*o.heal_at_s) : window / 4);
    world.schedule(std::move(heal));
  }
#ifdef APIARY_SIM_HAS_DATA
  if (workload) {
    // Clients stop when the settle time begins, so the end state can be judged.
    Duration active = window - from_seconds(settle_seconds(o));
    if (active < window / 2) active = window / 2;
    // The counters are read through the cluster near the end, once the faults are over.
    workload->start(world, start, start + active, end - std::min<Duration>(3s, window / 4));
  }
#endif
  world.run_until(end, [&](TimePoint now) {
    if (o.tick) o.tick(now, end, world);
  });

  RunReport r;
  r.protocol = o.protocol == ProtocolKind::swim ? "swim" : "heartbeat";
  r.nodes = o.nodes;
  r.nodes_ever = world.started_nodes();
  r.seed = o.seed;
  r.duration_s = o.duration_s;
  r.warmup_s = seconds(start.time_since_epoch());
  r.lifeguard = o.swim.lifeguard;
  r.bootstrap_converged = bootstrap_converged;
  const Checker& c = world.checker();
  fill_detection(r, c);
  r.false_dead_views = c.false_dead_views();
  for (const auto& f : c.false_positives()) {
    ++r.false_positives;
    if (r.false_positive_samples.size() < 10) {
      r.false_positive_samples.push_back(
          {seconds(f.at - start), node_name(f.victim), node_name(f.declarer)});
    }
  }
  if (split) {
    r.convergence.push_back({"bootstrap (each side of the split)",
                             -seconds(start.time_since_epoch()),
                             bootstrap_converged ? seconds(start.time_since_epoch()) : -1.0});
  }
  for (const auto& cv : c.convergences()) {
    r.convergence.push_back(
        {cv.label, seconds(cv.start - start), cv.done ? seconds(*cv.done - cv.start) : -1.0});
  }
  r.converged = c.converged();
  r.wrong_pairs = c.wrong_pairs();
  bool any_paused = false;
  for (std::uint32_t n = 0; n < world.started_nodes(); ++n)
    any_paused = any_paused || world.paused(n);
  r.settled = !any_paused && !world.network().partitioned() &&
              seconds(world.now() - world.last_disturbance()) >= settle_seconds(o);
  const LoadWindow load = world.load();
  if (load.node_seconds > 0) {
    r.msgs_per_node_per_s = static_cast<double>(load.messages) / load.node_seconds;
    r.bytes_per_node_per_s = static_cast<double>(load.bytes) / load.node_seconds;
  }
  const WorldStats& st = world.stats();
  r.events = st.events;
  r.messages_sent = st.messages_sent;
  r.messages_delivered = st.messages_delivered;
  r.messages_dropped = st.dropped_loss + st.dropped_partition + st.dropped_dead + st.unroutable;
  r.trace_hash = world.trace_hash();
#ifdef APIARY_SIM_HAS_DATA
  if (workload) {
    r.workload = true;
    r.data = workload->finish(world);
    if (o.on_workload) o.on_workload(*workload);
  }
#endif

  if (o.check) {
    if (!bootstrap_converged) {
      r.failures.push_back("bootstrap did not converge within " + std::to_string(warmup_limit) +
                           "s of warm-up" + bootstrap_gaps);
    }
    for (const auto& cv : r.convergence) {
      if (cv.label == "merge" && cv.seconds < 0) {
        r.failures.push_back(
            "the two clusters of the split start did not become one after the "
            "heal at " +
            std::to_string(cv.at_s) + "s");
      }
    }
    if (r.settled && !r.converged) {
      std::string what = "views not converged " + std::to_string(settle_seconds(o)) +
                         "s after the last disturbance (" + std::to_string(r.wrong_pairs) +
                         " wrong pairs)";
      for (const auto& d : c.disagreements(5)) what += "; " + d;
      r.failures.push_back(what);
    }
    if (r.workload) check_data(r);
  }
  return r;
}

std::string replay_command(const RunOptions& o) {
  std::ostringstream s;
  s << "apiary-sim --nodes " << o.nodes << " --duration " << o.duration_s << " --seed " << o.seed;
  if (o.protocol == ProtocolKind::heartbeat) s << " --protocol heartbeat";
  if (!o.swim.lifeguard) s << " --no-lifeguard";
  if (o.network.loss > 0) s << " --loss " << o.network.loss;
  if (o.network.duplicate > 0) s << " --duplicate " << o.network.duplicate;
  s << " --latency-ms " << seconds(o.network.latency_min) * 1e3 << ".."
    << seconds(o.network.latency_max) * 1e3;
  s << " --jitter-ms " << seconds(o.network.jitter) * 1e3;
  if (o.clock_skew > 0) s << " --skew " << o.clock_skew;
  if (o.crash) s << " --crash " << o.crash;
  if (o.pause) s << " --pause " << o.pause << " --pause-ms " << seconds(o.pause_length) * 1e3;
  if (o.join) s << " --join " << o.join;
  if (o.leave) s << " --leave " << o.leave;
  if (o.restart) s << " --restart " << o.restart;
  if (!o.partition.empty()) s << " --partition '" << o.partition << "'";
  if (o.simultaneous_start) s << " --simultaneous-start";
  if (!o.split_start.empty()) s << " --split-start '" << o.split_start << "'";
  if (o.heal_at_s) s << " --heal-at " << *o.heal_at_s;
  if (!o.scenario_path.empty()) s << " --scenario '" << o.scenario_path << "'";
  if (o.warmup_s) s << " --warmup " << *o.warmup_s;
  s << " --settle " << settle_seconds(o);
  if (o.seed_nodes != 3) s << " --seed-nodes " << o.seed_nodes;
  if (!o.timers_first_on_resume) s << " --resume-messages-first";
  if (o.start_spacing) {
    s << " --start-spacing-ms " << seconds(*o.start_spacing) * 1e3;
  }
  if (o.workload.enabled) {
    const auto& w = o.workload;
    s << " --workload --keys " << w.keys << " --counters " << w.counters << " --read-ratio "
      << w.read_ratio << " --clients " << w.clients << " --replicas " << w.replicas
      << " --write-quorum " << w.write_quorum << " --read-quorum " << w.read_quorum
      << " --partitions " << w.partitions << " --sets " << w.sets << " --hashes " << w.hashes
      << " --zsets " << w.zsets << " --lists " << w.lists << " --blocking-ratio "
      << w.blocking_ratio << " --hash-counters " << w.hash_counters << " --collection-ratio "
      << w.collection_ratio;
    if (w.transfers > 0) {
      s << " --transfers " << w.transfers << " --transfer-ratio " << w.transfer_ratio;
    }
    if (w.pubsub > 0) {
      s << " --pubsub " << w.pubsub << " --pubsub-channels " << w.pubsub_channels
        << " --pubsub-publishers " << w.pubsub_publishers;
    }
    if (!w.appendfsync.empty()) s << " --appendfsync " << w.appendfsync;
    if (w.stable_after != WorkloadOptions{}.stable_after) {
      s << " --stable-after " << seconds(w.stable_after);
    }
  }
  return s.str();
}

}  // namespace apiary::sim
