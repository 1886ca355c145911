// Network: the simulated datagram network between node indices.
//
// Every message independently may be lost (probability `loss`), duplicated (`duplicate`), and
// is delayed by the link's base latency plus a per-message jitter; a jitter larger than the
// gap between two sends reorders them. A link's base latency is uniform in
// [latency_min, latency_max], derived from a hash of the world seed and the (unordered) pair,
// so it is stable for the run without storing N^2 values.
//
// Partitions are rules between two node sets; a symmetric rule drops traffic both ways, a
// one-way rule only from side A to side B. Rules are added and healed by the world's
// schedule. All randomness comes from the Rng the caller passes in. Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "apiary/base/rng.hpp"
#include "apiary/base/time.hpp"

namespace apiary::sim {

using namespace std::chrono_literals;

struct NetworkConfig {
  Duration latency_min = 1ms;
  Duration latency_max = 5ms;
  Duration jitter = 1ms;  // extra delay per message, uniform in [0, jitter]
  double loss = 0.0;
  double duplicate = 0.0;
};

struct PartitionRule {
  std::vector<std::uint32_t> side_a;
  std::vector<std::uint32_t> side_b;  // ignored when b_is_rest
  bool b_is_rest = false;             // side B = every node not in side A
  bool one_way = false;               // only A -> B is dropped
};

class Network {
 public:
  Network(NetworkConfig config, std::uint64_t seed, std::size_t capacity);

  NetworkConfig& config() { return config_; }
  const NetworkConfig& config() const { return config_; }

  // Returns the rule's id, used to heal it alone.
  std::uint32_t add_partition(const PartitionRule& rule);
  void heal(std::uint32_t id);
  void heal_all();
  bool partitioned() const { return !rules_.empty(); }

  // True when a message from -> to is dropped by an active partition.
  bool blocked(std::uint32_t from, std::uint32_t to) const;
  // True when some active rule touches this node (it may not reach everyone).
  bool cut_off(std::uint32_t node) const;

  Duration base_latency(std::uint32_t from, std::uint32_t to) const;
  // Delays for the copies of one message (0, 1 or 2 entries: lost, normal, duplicated).
  // Partitions are not applied here; see blocked().
  void sample(std::uint32_t from, std::uint32_t to, Rng& rng, std::vector<Duration>& out) const;

 private:
  struct ActiveRule {
    std::uint32_t id;
    std::vector<std::uint8_t> side;  // 0 = untouched, 1 = A, 2 = B
    bool one_way;
  };
  NetworkConfig config_;
  std::uint64_t seed_;
  std::size_t capacity_;
  std::uint32_t next_rule_id_ = 1;
  std::vector<ActiveRule> rules_;
};

}  // namespace apiary::sim
