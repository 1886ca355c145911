// HeartbeatProcess: a deliberately simple gossip failure detector used to test the world
// (event loop, network model, faults, checkers) independently of the SWIM core.
//
// Every `period` a node bumps its own heartbeat counter and sends its whole table of
// (name, counter) pairs to `fanout` random peers it believes alive (van Renesse-style gossip
// failure detection). A peer whose counter has not advanced for `fail_after` is declared
// dead; a higher counter revives it. A leave sends "left" to every known peer. Not a
// production protocol: tables are sent in full and text-encoded. Not thread-safe.
#pragma once

#include <deque>
#include <map>

#include "apiary/sim/process.hpp"

namespace apiary::sim {

using namespace std::chrono_literals;

struct HeartbeatConfig {
  Duration period = 200ms;
  Duration fail_after = 4s;
  std::size_t fanout = 3;
};

class HeartbeatProcess final : public Process {
 public:
  HeartbeatProcess(HeartbeatConfig config, ProcessSpec spec, Rng rng, TimePoint now);

  void join(TimePoint now, std::vector<std::string> seeds) override;
  void leave(TimePoint now) override;
  bool leave_done() const override { return left_; }
  void handle_message(TimePoint now, std::span<const std::uint8_t> bytes) override;
  void handle_timeout(TimePoint now) override;
  TimePoint next_deadline() const override { return left_ ? kNever : next_tick_; }
  std::optional<gossip::Outgoing> poll_send() override;
  std::optional<gossip::MemberEvent> poll_event() override;
  std::vector<gossip::Member> members() const override;

 private:
  struct Peer {
    std::uint64_t counter = 0;
    TimePoint heard;
    gossip::MemberState state = gossip::MemberState::alive;
  };
  void emit(const std::string& name, gossip::MemberState state, gossip::MemberEventKind kind);
  void send_table(const std::string& to_addr);
  void learn(TimePoint now, const std::string& name, std::uint64_t counter);

  HeartbeatConfig config_;
  ProcessSpec spec_;
  Rng rng_;
  std::uint64_t counter_ = 1;
  std::map<std::string, Peer> peers_;
  std::vector<std::string> seeds_;
  std::deque<gossip::Outgoing> out_;
  std::deque<gossip::MemberEvent> events_;
  TimePoint next_tick_;
  bool left_ = false;
};

ProcessFactory heartbeat_factory(HeartbeatConfig config = {});

}  // namespace apiary::sim
