// SwimCluster's longer steps (swim_harness.hpp): running until a condition, draining a
// node's output, one simulation step.
#include "support/swim_harness.hpp"

namespace apiary::test {

bool SwimCluster::run_until(const std::function<bool()>& done, Duration limit) {
  const TimePoint end = now_ + limit;
  while (!done()) {
    if (!step(end)) {
      now_ = end;
      return done();
    }
  }
  return true;
}

void SwimCluster::drain(std::size_t i) {
  Node& n = nodes_[i];
  while (auto out = n.swim->poll_send()) {
    auto it = by_addr_.find(out->to);
    if (it == by_addr_.end()) {
      ++dropped_;
      continue;
    }
    const std::size_t to = it->second;
    ++nodes_[to].sent_to;
    if (blocked_.contains({i, to}) || (drop_rule_ && drop_rule_(i, to))) {
      ++dropped_;
      continue;
    }
    in_flight_.emplace(std::make_pair(now_ + latency_, seq_++),
                       Delivery{i, to, std::move(out->bytes)});
  }
  while (auto e = n.swim->poll_event()) {
    ++event_count_;
    if (!record_events_) continue;
    events_.push_back(RecordedEvent{now_, n.name, e->kind, e->member.name, e->member.incarnation});
  }
  schedule(i);
}

bool SwimCluster::step(TimePoint end) {
  while (!wakeups_.empty()) {  // discard wake-ups that no longer match the node's deadline
    auto [t, i] = wakeups_.top();
    if (nodes_[i].up && !nodes_[i].paused && nodes_[i].swim->next_deadline() == t) break;
    wakeups_.pop();
  }
  const TimePoint next_msg = in_flight_.empty() ? kNever : in_flight_.begin()->first.first;
  const TimePoint next_wake = wakeups_.empty() ? kNever : wakeups_.top().first;
  const TimePoint t = std::min(next_msg, next_wake);
  if (t > end || t == kNever) return false;
  now_ = std::max(now_, t);
  if (next_msg <= next_wake) {
    auto node = in_flight_.extract(in_flight_.begin());
    Delivery& d = node.mapped();
    if (!nodes_[d.to].up) {
      ++dropped_;
      return true;
    }
    if (nodes_[d.to].paused) {
      nodes_[d.to].queued.push_back(std::move(d.bytes));
      return true;
    }
    ++delivered_;
    nodes_[d.to].swim->handle_message(now_, d.bytes);
    drain(d.to);
  } else {
    const std::size_t i = wakeups_.top().second;
    wakeups_.pop();
    nodes_[i].swim->handle_timeout(now_);
    drain(i);
  }
  return true;
}

}  // namespace apiary::test
