// run_simulation: one complete apiary-sim run as a library call (the CLI and the sim tests
// both use it).
//
// Phases: bootstrap (initial nodes start a few ms apart, the first ones seed the rest; or all
// at once with a shared seed list, possibly split in two) until the cluster (each side) has
// converged or the warm-up limit passes; then the measured window of
// `duration`, during which the scenario's actions run (their times are relative to the start
// of the window) along with the random faults asked for by count; then the invariants are
// judged. Deterministic for a given RunOptions. Not thread-safe (one run per thread).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "apiary/base/status.hpp"
#include "apiary/gossip/swim_config.hpp"
#include "apiary/sim/report.hpp"
#include "apiary/sim/scenario.hpp"
#include "apiary/sim/workload_options.hpp"
#include "apiary/sim/world.hpp"

namespace apiary::sim {

class Workload;

enum class ProtocolKind : std::uint8_t { swim, heartbeat };

struct RunOptions {
  std::uint32_t nodes = 100;
  double duration_s = 60.0;
  std::uint64_t seed = 1;
  ProtocolKind protocol = ProtocolKind::swim;
  gossip::SwimConfig swim;  // lifeguard switch included
  NetworkConfig network;
  double clock_skew = 0.0;

  // Random faults, spread over the measured window (all leave `settle_s` at the end).
  std::uint32_t crash = 0;
  std::uint32_t pause = 0;
  Duration pause_length = std::chrono::seconds(3);
  std::uint32_t join = 0;  // one batch of new nodes at 1/4 of the window
  std::uint32_t leave = 0;
  std::uint32_t restart = 0;  // one batch of simultaneous restarts at 1/2 of the window
  std::string partition;      // "0-49|50-99" (from 1/3 of the window, for 1/4 of it)

  // Every initial node starts at once with the seed list of every initial node (its own
  // included), as a DNS name over a StatefulSet's pods gives (WorldConfig::simultaneous_start).
  bool simultaneous_start = false;
  // "0-2|3-5": a simultaneous start with the two sides partitioned from the first instant;
  // each forms its own cluster (the warm-up waits for each side to agree), and the partition
  // heals `heal_at_s` into the window (default a quarter of it), after which the two clusters
  // must merge. Implies simultaneous_start.
  std::string split_start;
  std::optional<double> heal_at_s;  // a `heal` of every partition, seconds into the window

  // The data mode: Store and Replicator on every node, clients, data checkers.
  WorkloadOptions workload;

  std::string scenario_text;  // parsed with parse_scenario
  std::string scenario_path;  // only for the replay command line

  std::optional<double> warmup_s;  // bootstrap limit; default scales with nodes
  // Quiet time needed at the end to judge convergence. Default: 40s plus one scaled push-pull
  // interval, since a stale "dead" that missed the refutation is only repaired by push-pull.
  std::optional<double> settle_s;
  std::uint32_t seed_nodes = 3;
  // Gap between the starts of two initial nodes. Too small and every node's broadcast queue
  // fills with thousands of "alive" updates at once (bootstrap becomes O(N^2) in time and
  // memory); the default keeps joins near the rate gossip can disseminate them.
  std::optional<Duration> start_spacing;
  bool timers_first_on_resume = true;  // see WorldConfig
  bool check = true;                   // turn unsettled-but-wrong ends into failures too
  std::size_t fp_grace_s = 30;

  // Every membership event, with the observer (see WorldConfig::on_event).
  std::function<void(TimePoint, std::uint32_t, const gossip::MemberEvent&)> on_event;
  // Called once per simulated second (progress display); virtual now and end time.
  std::function<void(TimePoint now, TimePoint end, const World& world)> tick;
  // The data workload once its checks ran (apiary-sim --history writes its commands out).
  std::function<void(const Workload& workload)> on_workload;
};

Result<RunReport> run_simulation(const RunOptions& options);
// The apiary-sim command line that replays `options`.
std::string replay_command(const RunOptions& options);
double settle_seconds(const RunOptions& options);

}  // namespace apiary::sim
