#include "handoff_sessions.hpp"

#include <algorithm>
#include <vector>

namespace apiary::replication {

void HandoffSessions::sync_out(const std::map<std::string, std::uint32_t>& pending) {
  for (const auto& [peer, count] : pending) {
    auto [it, fresh] = out_.try_emplace(peer);
    Session& s = it->second;
    // A later view may add partitions to a transfer in progress.
    if (count > s.pending) s.planned += count - s.pending;
    s.pending = count;
    if (fresh) {
      HandoffEvent e;
      e.direction = HandoffEvent::Direction::out;
      e.phase = HandoffEvent::Phase::started;
      e.peer = peer;
      e.partitions = count;
      events_.push_back(std::move(e));
    }
  }
  for (auto it = out_.begin(); it != out_.end();) {
    if (pending.count(it->first) != 0) {
      ++it;
      continue;
    }
    const Session& s = it->second;
    finish(HandoffEvent::Direction::out, it->first, s, s.finished.size() >= s.planned);
    it = out_.erase(it);
  }
}

void HandoffSessions::batch_sent(const std::string& peer, std::uint64_t keys, std::uint64_t bytes) {
  auto it = out_.find(peer);
  if (it == out_.end()) return;
  it->second.keys += keys;
  it->second.bytes += bytes;
}

void HandoffSessions::partition_sent(const std::string& peer, std::uint32_t partition) {
  auto it = out_.find(peer);
  if (it != out_.end()) it->second.finished.insert(partition);
}

void HandoffSessions::batch_received(TimePoint now, std::string_view peer, std::uint32_t partition,
                                     std::uint64_t keys, std::uint64_t bytes, bool final) {
  auto it = in_.find(peer);
  if (it == in_.end()) {
    if (keys == 0) return;  // an empty final ("nothing from here") starts no transfer
    it = in_.emplace(std::string(peer), Session{}).first;
    HandoffEvent e;
    e.direction = HandoffEvent::Direction::in;
    e.phase = HandoffEvent::Phase::started;
    e.peer = std::string(peer);
    events_.push_back(std::move(e));
  }
  Session& s = it->second;
  s.last = now;
  s.keys += keys;
  s.bytes += bytes;
  if (keys != 0) s.started.insert(partition);
  if (final && s.started.count(partition) != 0) s.finished.insert(partition);
}

void HandoffSessions::handle_timeout(TimePoint now) {
  for (auto it = in_.begin(); it != in_.end();) {
    if (it->second.last + quiet_ > now) {
      ++it;
      continue;
    }
    const Session& s = it->second;
    finish(HandoffEvent::Direction::in, it->first, s, s.finished.size() == s.started.size());
    it = in_.erase(it);
  }
}

TimePoint HandoffSessions::next_deadline() const {
  TimePoint t = kNever;
  for (const auto& [peer, s] : in_) t = std::min(t, s.last + quiet_);
  return t;
}

std::optional<HandoffEvent> HandoffSessions::poll() {
  if (events_.empty()) return std::nullopt;
  HandoffEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

void HandoffSessions::finish(HandoffEvent::Direction direction, const std::string& peer,
                             const Session& s, bool complete) {
  HandoffEvent e;
  e.direction = direction;
  e.phase = HandoffEvent::Phase::finished;
  e.peer = peer;
  e.partitions = static_cast<std::uint32_t>(s.finished.size());
  e.keys = s.keys;
  e.bytes = s.bytes;
  e.complete = complete;
  events_.push_back(std::move(e));
}

}  // namespace apiary::replication
