// CommandStats: what INFO commandstats, errorstats and latencystats show and what the admin
// port's /metrics exports per command: calls, time, rejections, failures and a latency
// histogram per command, and error replies by their code.
//
// A command's time runs from the moment it starts to run on the client's node until its
// reply is complete: for a command forwarded to its key's coordinator or waiting for its
// write quorum that includes the other nodes' share (Redis counts CPU time only; here the
// wait is what a client notices). A blocking command (BLPOP, ...) counts the time it ran,
// not the time it waited. Sans-IO: the durations come from the caller.
// Not thread-safe: one per Server, on the node's loop thread.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "apiary/base/time.hpp"

namespace apiary::resp {

struct CommandSpec;

// Log-linear histogram of durations in nanoseconds: 8 buckets per power of two (at most
// 12.5 % off), from 1 ns to about 73 minutes (longer durations land in the last bucket);
// and, kept exactly, the cumulative counts at the fixed bounds Prometheus's histogram
// exports (kBoundsSeconds).
class LatencyHistogram {
 public:
  static constexpr std::array<double, 17> kBoundsSeconds = {
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,    0.1,    0.25,    0.5,    1.0,   2.5,    5.0,   10.0};

  void record(std::uint64_t ns);
  std::uint64_t count() const { return count_; }
  std::uint64_t sum_ns() const { return sum_ns_; }
  // The duration (ns) at or below which `percent` (0..100) of the samples fall: the upper
  // bound of the bucket that holds that rank. 0 when empty.
  std::uint64_t percentile_ns(double percent) const;
  // Samples of at most kBoundsSeconds[i] (cumulative, as Prometheus's `le`).
  std::uint64_t at_most(std::size_t bound_index) const;

 private:
  static constexpr int kSubBits = 3;
  static constexpr std::size_t kBuckets = (42 - kSubBits + 2) << kSubBits;
  static std::size_t bucket_of(std::uint64_t ns);
  static std::uint64_t bucket_upper(std::size_t bucket);

  std::array<std::uint64_t, kBuckets> buckets_{};
  std::array<std::uint64_t, kBoundsSeconds.size()> bounded_{};  // per bound, not cumulative
  std::uint64_t count_ = 0;
  std::uint64_t sum_ns_ = 0;
};

struct CommandStat {
  std::uint64_t calls = 0;           // ran (including those that failed)
  std::uint64_t rejected_calls = 0;  // refused before running (arity, OOM, MISCONF, ...)
  std::uint64_t failed_calls = 0;    // ran and answered an error
  std::uint64_t total_ns = 0;        // summed durations of the calls
  // Only with latency-tracking on; allocated at the first sample.
  std::unique_ptr<LatencyHistogram> latency;
};

class CommandStats {
 public:
  // A command ran and its reply is complete (`failed`: the reply is an error).
  void call(const CommandSpec& spec, Duration took, bool failed);
  // A known command was refused before it ran.
  void rejected(const CommandSpec& spec);
  // An error reply went to a client: counted under its code, the first word of the error
  // ("-WRONGTYPE Operation ..." -> WRONGTYPE), as Redis's errorstats. At most 128 codes are
  // tracked, as Redis (later new codes are counted in errors_untracked()).
  void error(std::string_view reply_line);
  // A command whose reply waited for other members (forwarded to its coordinator, or a
  // write waiting for its quorum): the node-wide histogram behind
  // apiary_remote_command_duration_seconds.
  void remote(Duration took);

  // CONFIG SET latency-tracking: with it off, no histograms are kept (commandstats still
  // count).
  void set_latency_tracking(bool on) { latency_tracking_ = on; }
  bool latency_tracking() const { return latency_tracking_; }

  // Every command that has a count, by name (subcommands as "client|list").
  std::vector<std::pair<std::string_view, const CommandStat*>> sorted() const;
  const std::map<std::string, std::uint64_t, std::less<>>& errors() const { return errors_; }
  std::uint64_t errors_untracked() const { return errors_untracked_; }
  const LatencyHistogram& remote_latency() const { return remote_; }

  // CONFIG RESETSTAT.
  void reset();

 private:
  CommandStat& of(const CommandSpec& spec);

  // Keyed by the spec's address (the command table outlives the server); iterated only
  // through sorted().
  std::unordered_map<const CommandSpec*, CommandStat> by_spec_;  // nodes: stable addresses
  const CommandSpec* last_spec_ = nullptr;
  CommandStat* last_stat_ = nullptr;
  std::map<std::string, std::uint64_t, std::less<>> errors_;
  std::uint64_t errors_untracked_ = 0;
  LatencyHistogram remote_;
  bool latency_tracking_ = true;
};

// INFO's "commandstats", "errorstats" and "latencystats" lines (Redis 7.0's format;
// `percentiles` from latency-tracking-info-percentiles).
void append_commandstats(std::string& out, const CommandStats& stats);
void append_errorstats(std::string& out, const CommandStats& stats);
void append_latencystats(std::string& out, const CommandStats& stats,
                         const std::vector<double>& percentiles);

}  // namespace apiary::resp
