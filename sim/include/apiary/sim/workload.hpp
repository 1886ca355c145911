// Workload: clients issuing GET and SET against the simulated data nodes (DataProcess), and
// the checkers that judge what they saw.
//
// `clients` closed-loop clients each keep one operation in flight: a key drawn uniformly
// from `keys`, a read with probability `read_ratio`, sent to a random running node. Every
// write's value is unique ("v<op id>"), so a checker can tell writes apart. An operation
// without an answer after `op_timeout` counts as failed (its outcome is unknown).
//
// Checkers (finish()):
//  - lost writes: an acknowledged write whose dot is not covered by the final version of its
//    key (neither a sibling nor overwritten by a write that saw it). A violation unless at
//    least W owners of the key's partition crashed after the write started.
//  - sibling preservation: an acknowledged write covered by the final clock but missing from
//    the final siblings, although no recorded write saw it.
//  - stale reads: a read that found nothing although an acknowledged write of the key
//    completed before the read started (the workload never deletes). A violation when a join
//    or leave changed the key's owners between that write and the read and the read ran on a
//    node that was not an owner when the write completed.
//  - convergence: at the end, every owner of every key holds the same sibling set.
//  - handoff_s: from a join or leave until every running node's view matches the running
//    set and no node has handoff_pending() or a partition in transition.
// "Owners" here are computed from the nodes actually running (and leaving), with the ring's
// PartitionTable. Deterministic (its Rng is split from the run's seed). Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "apiary/base/rng.hpp"
#include "apiary/base/time.hpp"
#include "apiary/cluster/partition_table.hpp"
#include "apiary/data/dvv.hpp"
#include "apiary/sim/data_process.hpp"
#include "apiary/sim/report.hpp"
#include "apiary/sim/workload_options.hpp"
#include "apiary/sim/world.hpp"

namespace apiary::sim {

class Workload final : public Agent {
 public:
  Workload(WorkloadOptions options, Rng rng);

  // Clients run from `from` (absolute virtual time) until `stop`; nothing new starts after.
  void start(World& world, TimePoint from, TimePoint stop);
  WorkloadReport finish(World& world);

  void on_wake(World& world, std::uint32_t tag) override;
  void after_call(World& world, std::uint32_t node, Process& process) override;
  void on_status(World& world, std::uint32_t node, NodeStatus status) override;

 private:
  struct Client {
    bool in_flight = false;
    std::uint64_t op = 0;
    TimePoint started{};
    ClientOp request;
  };
  struct WriteRecord {
    std::uint64_t op = 0;
    std::string value;
    TimePoint started{};
    TimePoint completed{};
    bool acked = false;
    bool outcome_known = false;  // the dot and clock came back
    std::optional<data::Dot> dot;
    std::vector<data::ClockEntry> clock;
  };
  struct RingEpoch {
    TimePoint at{};
    bool membership = false;  // a join or a leave (not a crash or restart)
    cluster::PartitionTable table;
  };
  enum Tag : std::uint32_t { kTimeout = 1u << 30, kCheck = 1u << 29 };

  void issue(World& world, std::uint32_t client);
  void complete(World& world, std::uint32_t client, const ClientResult* result);
  void ring_changed(TimePoint at, bool membership);
  const RingEpoch& epoch_at(TimePoint t) const;
  std::vector<std::string> owners_at(TimePoint t, const std::string& key) const;
  void check_handoff(World& world);
  void note(std::string what);

  WorkloadOptions options_;
  Rng rng_;
  TimePoint stop_{};
  std::vector<Client> clients_;
  std::uint64_t next_op_ = 1;
  std::map<std::uint64_t, std::uint32_t> op_client_;
  std::map<std::string, std::vector<WriteRecord>> writes_;  // by key, in completion order
  std::set<std::uint32_t> ring_;                            // running and leaving nodes
  std::vector<RingEpoch> epochs_;
  std::vector<std::pair<std::uint32_t, TimePoint>> crashes_;  // node, when
  std::vector<TimePoint> open_handoffs_;                      // join/leave times not yet settled
  bool checking_ = false;
  bool started_ = false;
  WorkloadReport report_;
};

}  // namespace apiary::sim
