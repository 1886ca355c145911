// Hinted handoff: a stand-in keeps (intended owner, key) for writes it took in an owner's
// place and sends the key's current version to the owner once it is live again.
#include "replicator_state.hpp"

namespace apiary::replication {

void Replicator::State::add_hint(std::string owner, std::string key) {
  auto k = std::make_pair(std::move(owner), std::move(key));
  if (hints.count(k) != 0) return;  // the delivery ships the key's latest version anyway
  if (hints.size() >= config.max_hints && !hint_order.empty()) {
    auto oldest = hint_order.begin();
    auto it = hints.find(oldest->second);
    if (it != hints.end()) {
      if (it->second.in_flight != 0) --hints_in_flight;
      hints.erase(it);
    }
    hint_order.erase(oldest);
    ++stats.hints_dropped;
  }
  const std::uint64_t seq = next_hint_seq++;
  hint_order.emplace(seq, k);
  hints.emplace(std::move(k), Hint{seq, 0});
  ++stats.hints_stored;
  if (hint_next == kNever) hint_next = TimePoint{};  // deliver at the next timeout
}

void Replicator::State::deliver_hints(TimePoint now, WallTime wall) {
  if (!has_view || hints.empty()) return;
  bool waiting = false;  // hints whose owner is not reachable yet
  for (auto it = hint_order.begin(); it != hint_order.end();) {
    if (hints_in_flight >= config.max_hints_in_flight) {
      waiting = true;
      break;
    }
    auto h = hints.find(it->second);
    const std::string& owner = it->second.first;
    const std::string& key = it->second.second;
    if (h->second.in_flight != 0) {
      ++it;
      continue;
    }
    if (!given_view.is_live(owner)) {
      waiting = true;
      ++it;
      continue;
    }
    const auto entry = store.export_entry(key, wall);
    if (!entry) {
      // Expired, collected or handed off already: nothing left to deliver from here.
      ++stats.hints_dropped;
      hints.erase(h);
      it = hint_order.erase(it);
      continue;
    }
    Op op;
    op.kind = OpKind::hint;
    op.deadline = now + config.transfer_timeout;
    op.key = key;
    op.peer = owner;
    op.asked.push_back(owner);
    const std::uint64_t id = new_id();
    if (!send_to(owner, wire::MessageType::data_request,
                 encode_replicate(id, *entry, {}, store.flush_horizon()))) {
      waiting = true;
      ++it;
      continue;
    }
    h->second.in_flight = id;
    ++hints_in_flight;
    timers.emplace(op.deadline, id);
    ops.emplace(id, std::move(op));
    ++it;
  }
  hint_next = waiting ? now + config.hint_retry_interval : kNever;
}

void Replicator::State::on_hint_ack(std::uint64_t id, StatusCode code, std::string_view from) {
  Op& op = ops.at(id);
  if (from != op.peer) {
    ++stats.unmatched_dropped;
    return;
  }
  auto h = hints.find({op.peer, op.key});
  if (h != hints.end() && h->second.in_flight == id) {
    --hints_in_flight;
    if (code == StatusCode::ok) {
      ++stats.hints_delivered;
      hint_order.erase(h->second.seq);
      hints.erase(h);
    } else {
      h->second.in_flight = 0;
      if (hint_next == kNever) hint_next = op.deadline;
    }
  }
  erase_op(id);
}

void Replicator::State::on_hint_timeout(const Op& op) {
  auto h = hints.find({op.peer, op.key});
  if (h == hints.end()) return;
  if (h->second.in_flight != 0) --hints_in_flight;
  h->second.in_flight = 0;
  if (hint_next == kNever) hint_next = op.deadline;
}

}  // namespace apiary::replication
