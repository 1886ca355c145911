#include "apiary/sim/network.hpp"

#include <algorithm>
#include <utility>

namespace apiary::sim {

Network::Network(NetworkConfig config, std::uint64_t seed, std::size_t capacity)
    : config_(config), seed_(seed), capacity_(capacity) {}

std::uint32_t Network::add_partition(const PartitionRule& rule) {
  ActiveRule active{next_rule_id_++, std::vector<std::uint8_t>(capacity_, 0), rule.one_way};
  if (rule.b_is_rest) std::fill(active.side.begin(), active.side.end(), std::uint8_t{2});
  for (auto n : rule.side_b) {
    if (n < capacity_) active.side[n] = 2;
  }
  for (auto n : rule.side_a) {
    if (n < capacity_) active.side[n] = 1;
  }
  rules_.push_back(std::move(active));
  return rules_.back().id;
}

void Network::heal(std::uint32_t id) {
  std::erase_if(rules_, [id](const ActiveRule& r) { return r.id == id; });
}

void Network::heal_all() { rules_.clear(); }

bool Network::blocked(std::uint32_t from, std::uint32_t to) const {
  for (const auto& r : rules_) {
    const auto sf = r.side[from];
    const auto st = r.side[to];
    if (sf == 1 && st == 2) return true;
    if (!r.one_way && sf == 2 && st == 1) return true;
  }
  return false;
}

bool Network::cut_off(std::uint32_t node) const {
  for (const auto& r : rules_) {
    if (r.side[node] != 0) return true;
  }
  return false;
}

Duration Network::base_latency(std::uint32_t from, std::uint32_t to) const {
  const std::uint64_t lo = std::min(from, to);
  const std::uint64_t hi = std::max(from, to);
  std::uint64_t state = seed_ ^ (lo << 32 | hi) ^ 0x6c696e6bULL;
  const std::uint64_t h = splitmix64(state);
  const auto span = config_.latency_max.count() - config_.latency_min.count();
  if (span <= 0) return config_.latency_min;
  return config_.latency_min + Duration(static_cast<std::int64_t>(h % (span + 1)));
}

void Network::sample(std::uint32_t from, std::uint32_t to, Rng& rng,
                     std::vector<Duration>& out) const {
  out.clear();
  if (rng.chance(config_.loss)) return;
  const int copies = rng.chance(config_.duplicate) ? 2 : 1;
  const Duration base = base_latency(from, to);
  for (int i = 0; i < copies; ++i) {
    Duration d = base;
    if (config_.jitter.count() > 0) {
      d += Duration(rng.uniform_between(0, config_.jitter.count()));
    }
    out.push_back(d);
  }
}

}  // namespace apiary::sim
