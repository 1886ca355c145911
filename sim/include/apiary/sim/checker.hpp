// Checker: invariants and measurements over every node's membership view.
//
// The world feeds it each node's membership events (the same events a runtime would log) and
// every change of a node's real status. It keeps an N x N matrix of what each node believes
// about each other node, and, incrementally, the number of "wrong" (observer, subject) pairs:
//
//   - a running observer sees a running subject as dead, left or not at all, or
//   - a running observer sees a crashed / leaving / left / never-started subject as alive or
//     suspect (dead, left and unknown are all fine).
//
// The cluster is *converged* when that count is zero; it is O(1) to ask, so convergence times
// are exact. From the same data it measures, per crash, the time to the first suspicion by
// anyone and to "not alive in every live view"; and it records false positives: a node that
// the world says is healthy (running, unpaused, reachable) going dead in a first view.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "apiary/base/time.hpp"
#include "apiary/gossip/member.hpp"

namespace apiary::sim {

enum class NodeStatus : std::uint8_t {
  absent,  // not started yet
  running,
  leaving,  // announced a graceful leave, still being driven until leave_done
  left,
  crashed,
};
std::string_view to_string(NodeStatus status);

struct CrashEpisode {
  std::uint32_t node = 0;
  TimePoint crashed;
  std::optional<TimePoint> first_suspect;  // first suspect-or-dead mark in any view
  std::optional<TimePoint> first_dead;     // first dead mark in any view
  std::optional<TimePoint> everywhere;     // not alive/suspect in any live view any more
  bool restarted_first = false;            // came back before it was detected everywhere
  bool graceful = false;                   // a leave, not a crash
};

struct FalsePositive {
  TimePoint at;
  std::uint32_t victim = 0;
  std::uint32_t declarer = 0;
};

struct Convergence {
  std::string label;
  TimePoint start;
  std::optional<TimePoint> done;
};

class Checker {
 public:
  explicit Checker(std::uint32_t capacity);

  void set_status(TimePoint now, std::uint32_t node, NodeStatus status);
  NodeStatus status(std::uint32_t node) const { return status_[node]; }
  // A fresh process instance knows nobody yet; call while the node is not running.
  void reset_view(std::uint32_t observer);
  // One membership event of `observer` about `subject`. `subject_healthy` is the world's
  // verdict used for false positives.
  void on_event(TimePoint now, std::uint32_t observer, std::uint32_t subject,
                gossip::MemberState state, bool subject_healthy);
  // Starts a clock that stops the next time the cluster is converged.
  void open_convergence(TimePoint now, std::string label);

  bool converged() const { return wrong_ == 0; }
  std::uint64_t wrong_pairs() const { return wrong_; }
  // Up to `limit` human-readable disagreements (O(N^2); for failure reports).
  std::vector<std::string> disagreements(std::size_t limit) const;
  // What `observer` believes about `subject` (nullopt = unknown).
  std::optional<gossip::MemberState> view(std::uint32_t observer, std::uint32_t subject) const;

  const std::vector<CrashEpisode>& episodes() const { return episodes_; }
  const std::vector<FalsePositive>& false_positives() const { return false_positives_; }
  const std::vector<Convergence>& convergences() const { return convergences_; }
  std::uint64_t false_dead_views() const { return false_dead_views_; }

 private:
  static constexpr std::uint8_t kUnknown = 0xff;
  bool observer(std::uint32_t i) const { return status_[i] == NodeStatus::running; }
  bool wrong(std::uint32_t subject, std::uint8_t v) const;
  std::uint8_t& cell(std::uint32_t i, std::uint32_t j) {
    return view_[static_cast<std::size_t>(i) * capacity_ + j];
  }
  std::uint8_t cell(std::uint32_t i, std::uint32_t j) const {
    return view_[static_cast<std::size_t>(i) * capacity_ + j];
  }
  // Adds (+1) or removes (-1) every wrong pair that involves `node` as observer or subject.
  void account(std::uint32_t node, int sign);
  void settle(TimePoint now);

  std::uint32_t capacity_;
  std::vector<std::uint8_t> view_;
  std::vector<NodeStatus> status_;
  std::vector<std::uint32_t> col_wrong_;
  std::vector<std::uint32_t> dead_count_;   // live observers that see the subject dead
  std::vector<std::int64_t> open_episode_;  // index into episodes_, or -1
  std::vector<std::uint32_t> open_nodes_;   // nodes with an open episode
  std::uint64_t wrong_ = 0;
  std::uint64_t false_dead_views_ = 0;
  std::vector<CrashEpisode> episodes_;
  std::vector<FalsePositive> false_positives_;
  std::vector<Convergence> convergences_;
  std::size_t open_convergences_ = 0;
};

}  // namespace apiary::sim
