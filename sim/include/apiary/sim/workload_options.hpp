// WorkloadOptions: the data mode's settings (apiary-sim --workload; see sim/workload.hpp and
// docs/simulator.md). A plain value.
#pragma once

#include <chrono>
#include <cstdint>

#include "apiary/base/time.hpp"

namespace apiary::sim {

using namespace std::chrono_literals;

struct WorkloadOptions {
  bool enabled = false;
  std::uint32_t keys = 1000;
  double read_ratio = 0.5;
  std::uint32_t clients = 8;  // operations in flight
  std::uint32_t replicas = 3;
  std::uint32_t write_quorum = 2;
  std::uint32_t read_quorum = 1;
  // Fewer than the runtime's 1024 by default: a join re-plans every partition on every node,
  // and anti-entropy (one partition per interval per node) cycles 4x faster.
  std::uint32_t partitions = 256;
  Duration op_timeout = 5s;
  Duration anti_entropy_interval = 200ms;
};

}  // namespace apiary::sim
