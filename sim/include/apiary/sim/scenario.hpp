// Scenario: a timed fault schedule, parsed from a small line format (docs/simulator.md).
//
//   # comment
//   loss 0.01                       settings without `at` apply from the start
//   at 30s crash 5                  crash node 5 (sets: 5 | 1,4,9 | 0-49)
//   at 30s crash random 3           three random running nodes
//   at 60s partition 0-49 | 50-99   symmetric; `0-9 -> 10-99` drops only A->B traffic;
//   at 60s partition 7 | rest for 20s      `rest` = every other node; `for` heals it alone
//   at 90s heal                     heal every partition
//   at 10s pause 3 for 2s           node 3 stops processing (messages queue, timers wait)
//   at 100s restart 5               fresh instance, same name, joins again through seeds
//   at 5s join 10                   ten new nodes start and join
//   at 50s leave 7                  graceful leave
//   at 20s loss 0.05 | duplicate 0.01 | latency 1..20ms | jitter 5ms
//   skew 0.001                      per-node clock rate in [1-eps, 1+eps] (start only)
//   simultaneous-start              every initial node starts at time 0 with the seed list of
//                                   every initial node, its own included (start only)
//   split-start 0-2 | 3-5           a simultaneous start with the two sets partitioned from the
//                                   first instant; each forms a cluster; `at T heal` merges them
//   workload keys=8 clients=8       the data mode with these settings (start only; also
//                                   counters, read-ratio, replicas, write-quorum,
//                                   read-quorum, partitions)
//
// Parsing is pure and bounded; errors name the line. Not thread-safe (plain values).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/status.hpp"
#include "apiary/base/time.hpp"
#include "apiary/sim/network.hpp"
#include "apiary/sim/workload_options.hpp"

namespace apiary::sim {

enum class ActionKind : std::uint8_t {
  crash,
  restart,
  leave,
  pause,
  join,
  partition,
  heal,
  set_loss,
  set_duplicate,
  set_latency,
  set_jitter,
};

// Explicit node indices, or `random_count` nodes picked when the action runs.
struct NodeSelector {
  std::vector<std::uint32_t> nodes;
  std::uint32_t random_count = 0;
};

struct Action {
  Duration at{0};
  ActionKind kind = ActionKind::crash;
  NodeSelector targets;     // crash, restart, leave, pause
  Duration length{0};       // pause length; partition auto-heal after (0 = until `heal`)
  std::uint32_t count = 0;  // join
  PartitionRule rule;       // partition
  double value = 0.0;       // set_loss, set_duplicate
  Duration lo{0}, hi{0};    // set_latency (lo..hi), set_jitter (lo)
};

struct Scenario {
  std::vector<Action> actions;  // in file order; the world orders them by time
  double clock_skew = 0.0;      // max |rate - 1| of a node's local clock
  bool has_skew = false;
  std::optional<WorkloadOptions> workload;  // a `workload` line turns the data mode on
  bool simultaneous_start = false;          // also implied by split_start
  std::optional<PartitionRule> split_start;
};

Result<Scenario> parse_scenario(std::string_view text);
// Node sets: "5", "1,4,9", "0-49", "0-9,20-29".
Result<std::vector<std::uint32_t>> parse_node_set(std::string_view text);
// "30s", "250ms", "2m", "1.5s"; a bare number is seconds.
Result<Duration> parse_duration(std::string_view text);
// "0-49|50-99" or "0-9->10-99" or "7|rest" (spaces allowed).
Result<PartitionRule> parse_partition(std::string_view text);
std::string_view to_string(ActionKind kind);

}  // namespace apiary::sim
