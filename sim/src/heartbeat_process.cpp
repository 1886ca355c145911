#include "apiary/sim/heartbeat_process.hpp"

#include <charconv>

namespace apiary::sim {

using gossip::MemberEventKind;
using gossip::MemberState;

HeartbeatProcess::HeartbeatProcess(HeartbeatConfig config, ProcessSpec spec, Rng rng, TimePoint now)
    : config_(config), spec_(std::move(spec)), rng_(rng), next_tick_(now + config.period) {}

void HeartbeatProcess::join(TimePoint, std::vector<std::string> seeds) {
  seeds_ = std::move(seeds);
  for (const auto& s : seeds_) send_table(s);
}

void HeartbeatProcess::leave(TimePoint) {
  const std::string msg = "L " + spec_.name;
  for (const auto& [name, peer] : peers_) {
    if (peer.state != MemberState::alive) continue;
    const auto idx = parse_node_index(name);
    if (idx) out_.push_back({node_addr(*idx), std::vector<std::uint8_t>(msg.begin(), msg.end())});
  }
  left_ = true;
}

void HeartbeatProcess::emit(const std::string& name, MemberState state, MemberEventKind kind) {
  gossip::MemberEvent ev;
  ev.kind = kind;
  ev.member.name = name;
  ev.member.state = state;
  events_.push_back(std::move(ev));
}

void HeartbeatProcess::send_table(const std::string& to_addr) {
  std::string msg = "H " + spec_.name + ":" + std::to_string(counter_);
  for (const auto& [name, peer] : peers_) {
    if (peer.state == MemberState::alive) msg += " " + name + ":" + std::to_string(peer.counter);
  }
  out_.push_back({to_addr, std::vector<std::uint8_t>(msg.begin(), msg.end())});
}

void HeartbeatProcess::learn(TimePoint now, const std::string& name, std::uint64_t counter) {
  if (name == spec_.name) return;
  auto [it, inserted] = peers_.try_emplace(name);
  Peer& p = it->second;
  if (!inserted && counter <= p.counter) return;
  p.counter = counter;
  p.heard = now;
  if (inserted || p.state != MemberState::alive) {
    p.state = MemberState::alive;
    emit(name, MemberState::alive, MemberEventKind::joined);
  }
}

void HeartbeatProcess::handle_message(TimePoint now, std::span<const std::uint8_t> bytes) {
  if (left_) return;
  const std::string text(bytes.begin(), bytes.end());
  if (text.starts_with("L ")) {
    const std::string name = text.substr(2);
    auto it = peers_.find(name);
    if (it != peers_.end() && it->second.state != MemberState::left) {
      it->second.state = MemberState::left;
      emit(name, MemberState::left, MemberEventKind::left);
    }
    return;
  }
  if (!text.starts_with("H ")) return;
  std::size_t i = 2;
  while (i < text.size()) {
    std::size_t end = text.find(' ', i);
    if (end == std::string::npos) end = text.size();
    const std::string entry = text.substr(i, end - i);
    i = end + 1;
    const auto colon = entry.find(':');
    if (colon == std::string::npos) continue;
    std::uint64_t counter = 0;
    const char* first = entry.data() + colon + 1;
    const char* last = entry.data() + entry.size();
    if (std::from_chars(first, last, counter).ec != std::errc()) continue;
    learn(now, entry.substr(0, colon), counter);
  }
}

void HeartbeatProcess::handle_timeout(TimePoint now) {
  if (left_ || now < next_tick_) return;
  ++counter_;
  std::vector<std::string> alive;
  std::vector<std::string> dead;
  for (auto& [name, peer] : peers_) {
    if (peer.state == MemberState::alive && now - peer.heard > config_.fail_after) {
      peer.state = MemberState::dead;
      emit(name, MemberState::dead, MemberEventKind::dead);
    }
    if (peer.state == MemberState::alive) alive.push_back(name);
    if (peer.state == MemberState::dead) dead.push_back(name);
  }
  // Now and then try a dead peer, so that a healed partition can merge again.
  if (!dead.empty() && counter_ % 5 == 0) {
    if (const auto n = parse_node_index(dead[rng_.uniform(dead.size())])) {
      send_table(node_addr(*n));
    }
  }
  if (alive.empty()) {
    for (const auto& s : seeds_) send_table(s);
  }
  for (auto idx : rng_.sample(alive.size(), config_.fanout)) {
    if (const auto n = parse_node_index(alive[idx])) send_table(node_addr(*n));
  }
  next_tick_ = now + config_.period;
}

std::optional<gossip::Outgoing> HeartbeatProcess::poll_send() {
  if (out_.empty()) return std::nullopt;
  auto o = std::move(out_.front());
  out_.pop_front();
  return o;
}

std::optional<gossip::MemberEvent> HeartbeatProcess::poll_event() {
  if (events_.empty()) return std::nullopt;
  auto e = std::move(events_.front());
  events_.pop_front();
  return e;
}

std::vector<gossip::Member> HeartbeatProcess::members() const {
  std::vector<gossip::Member> out;
  gossip::Member self;
  self.name = spec_.name;
  self.addr = spec_.addr;
  out.push_back(self);
  for (const auto& [name, peer] : peers_) {
    gossip::Member m;
    m.name = name;
    m.state = peer.state;
    out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

ProcessFactory heartbeat_factory(HeartbeatConfig config) {
  return [config](const ProcessSpec& spec, Rng rng, TimePoint now) {
    return std::make_unique<HeartbeatProcess>(config, spec, rng, now);
  };
}

}  // namespace apiary::sim
