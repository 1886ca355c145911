#include "apiary/sim/swim_process.hpp"

namespace apiary::sim {

SwimProcess::SwimProcess(gossip::SwimConfig config, const ProcessSpec& spec, Rng rng, TimePoint now)
    : swim_(std::move(config), gossip::LocalNode{spec.name, spec.addr, {}}, rng, now) {}

void SwimProcess::join(TimePoint now, std::vector<std::string> seeds) {
  swim_.join(now, std::move(seeds));
}

ProcessCounters SwimProcess::counters() const {
  const auto& s = swim_.stats();
  return ProcessCounters{s.refutations, s.malformed_dropped, s.local_health};
}

ProcessFactory swim_factory(gossip::SwimConfig config) {
  return [config](const ProcessSpec& spec, Rng rng, TimePoint now) {
    return std::make_unique<SwimProcess>(config, spec, rng, now);
  };
}

}  // namespace apiary::sim
