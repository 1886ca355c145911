// The Swim adapter: runs the real gossip core (apiary::gossip::Swim) as a simulated process.
// No copy and no mock of the protocol: the world feeds it exactly what the runtime would.
// Not thread-safe.
#pragma once

#include "apiary/gossip/swim.hpp"
#include "apiary/gossip/swim_config.hpp"
#include "apiary/sim/process.hpp"

namespace apiary::sim {

class SwimProcess final : public Process {
 public:
  SwimProcess(gossip::SwimConfig config, const ProcessSpec& spec, Rng rng, TimePoint now);

  void join(TimePoint now, std::vector<std::string> seeds) override;
  void leave(TimePoint now) override { swim_.leave(now); }
  bool leave_done() const override { return swim_.leave_done(); }
  void handle_message(TimePoint now, std::span<const std::uint8_t> bytes) override {
    swim_.handle_message(now, bytes);
  }
  void handle_timeout(TimePoint now) override { swim_.handle_timeout(now); }
  TimePoint next_deadline() const override { return swim_.next_deadline(); }
  std::optional<gossip::Outgoing> poll_send() override { return swim_.poll_send(); }
  std::optional<gossip::MemberEvent> poll_event() override { return swim_.poll_event(); }
  std::vector<gossip::Member> members() const override { return swim_.members(); }
  ProcessCounters counters() const override;

  gossip::Swim& swim() { return swim_; }

 private:
  gossip::Swim swim_;
};

ProcessFactory swim_factory(gossip::SwimConfig config);

}  // namespace apiary::sim
