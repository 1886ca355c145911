// Forwarding: a node that does not own a key sends the client's command to a live owner and
// relays the owner's RESP reply; the owner runs it through the driver's executor.
#include <algorithm>

#include "replicator_state.hpp"

namespace apiary::replication {

void Replicator::forward(TimePoint now, std::string_view key,
                         std::span<const std::string_view> argv, int protocol,
                         std::uint64_t completion_id, QuorumOverride quorum, bool may_retry,
                         std::optional<Duration> hold, std::string_view user) {
  State& s = *state_;
  ++s.stats.forwards;
  Op op;
  op.kind = OpKind::forward;
  op.completion_id = completion_id;
  op.key = std::string(key);
  op.may_retry = may_retry && !hold;
  op.hold = hold;
  const std::uint64_t id = s.new_id();
  op.request = encode_forward(id, argv, protocol == 3 ? 3 : 2, quorum.write, quorum.read, user);
  if (!s.has_view || argv.empty() || !s.send_forward(now, op, id)) {
    ++s.stats.forwards_unavailable;
    s.complete(op, OperationKind::forward,
               make_error(StatusCode::unavailable, "no live owner for the key"), 0);
    return;
  }
  s.timers.emplace(op.deadline, id);
  s.ops.emplace(id, std::move(op));
}

// Sends op's command to the next live owner not tried yet; false when none is left.
bool Replicator::State::send_forward(TimePoint now, Op& op, std::uint64_t /*id: in op.request*/) {
  for (const std::uint32_t i : view.owner_indices(partition_of(op.key))) {
    const std::string& owner = view.member_name(i);
    if (owner == self() || !view.is_live_at(i)) continue;
    if (std::find(op.tried.begin(), op.tried.end(), owner) != op.tried.end()) continue;
    op.tried.push_back(owner);
    // A copy: a timeout or a refusal (no view yet) sends it on to the next owner. A member of
    // an older release (wire version 1, during a rolling upgrade) gets it without the
    // client's ACL user and runs it as a command of this node, which checked the client's
    // permissions before forwarding.
    const bool legacy = view.members()[i].wire < 2 && forward_has_user(op.request);
    if (!send_to(owner, wire::MessageType::data_request,
                 legacy ? forward_without_user(op.request, config) : op.request)) {
      continue;
    }
    op.peer = owner;
    op.deadline = !op.hold ? now + config.forward_timeout
                  : *op.hold >= kNever - now - config.forward_timeout
                      ? kNever
                      : now + *op.hold + config.forward_timeout;
    return true;
  }
  return false;
}

void Replicator::cancel_forward(std::uint64_t completion_id, CancelMode mode) {
  State& s = *state_;
  for (const auto& [id, op] : s.ops) {
    if (op.kind != OpKind::forward || op.completion_id != completion_id || !op.hold) continue;
    s.send_to(op.peer, wire::MessageType::data_request, encode_forward_cancel(id, mode));
    return;
  }
}

void Replicator::set_forward_canceller(ForwardCanceller canceller) {
  state_->canceller = std::move(canceller);
}

void Replicator::State::on_forward_cancel(const Message& m, std::string_view reply_to) {
  for (const auto& [token, in] : forwarded) {
    if (in.id != m.id || in.reply_to != reply_to) continue;
    if (canceller) canceller(token, m.cancel_mode);  // answers through reply_forwarded()
    return;
  }
}

// The owner of a blocking forward left the live members: dead, or leaving gracefully and
// still able to serve the command (a leaving node runs what it is sent). Rerouting at once
// could have two nodes serve one client, and the first one's element would be lost; so the
// owner is asked to give the command back, and its answer -- or a forward timeout of silence
// (it is dead) -- completes the operation.
void Replicator::State::recall_blocking_forwards(TimePoint now) {
  for (auto& [id, op] : ops) {
    if (op.kind != OpKind::forward || !op.hold || op.given_back || view.is_live(op.peer)) continue;
    op.given_back = true;
    send_to(op.peer, wire::MessageType::data_request,
            encode_forward_cancel(id, CancelMode::give_back));
    timers.erase({op.deadline, id});
    op.deadline = std::min(op.deadline, now + config.forward_timeout);
    timers.emplace(op.deadline, id);
  }
}

void Replicator::State::on_forward_timeout(TimePoint now, std::uint64_t id) {
  Op& op = ops.at(id);
  timers.erase({op.deadline, id});
  if (op.may_retry && op.tried.size() <= config.forward_retries && send_forward(now, op, id)) {
    ++stats.forward_retries;
    timers.emplace(op.deadline, id);
    return;
  }
  if (op.given_back) {  // its owner left and did not answer: route it again
    complete(op, OperationKind::forward,
             make_error(StatusCode::moved, "the owner left while the command waited"), 0);
    ops.erase(id);
    return;
  }
  ++stats.forward_timeouts;
  // A blocking command the owner never answered: it may still hold it; let it go.
  if (op.hold) {
    send_to(op.peer, wire::MessageType::data_request,
            encode_forward_cancel(id, CancelMode::timeout));
  }
  complete(op, OperationKind::forward,
           make_error(StatusCode::timeout, "the owner did not answer in time"), 0);
  ops.erase(id);
}

void Replicator::State::on_forward_response(TimePoint now, WallTime wall, Message& m,
                                            std::string_view from) {
  Op& op = ops.at(m.id);
  if (std::find(op.tried.begin(), op.tried.end(), from) == op.tried.end()) {
    ++stats.unmatched_dropped;
    return;
  }
  // The write's versions, for this node as one of their replicas: it holds them before the
  // client hears of the write (the coordinator counted it towards W).
  bool stored = true;
  for (auto& e : m.entries) stored = merge_entry(std::move(e), wall) && stored;
  stats.carried_versions_received += m.entries.size();
  if (!stored) {
    ++stats.forwards_unavailable;
    complete(op, OperationKind::forward,
             make_error(StatusCode::unavailable,
                        "this replica could not store the write (out of memory); the write may "
                        "still be applied"),
             0);
    erase_op(m.id);
    return;
  }
  // Refused without running (the owner had no view yet): the next owner may run it, a write
  // included, since it cannot have run twice.
  if (m.code == StatusCode::unavailable && m.reply.empty()) {
    timers.erase({op.deadline, m.id});
    if (send_forward(now, op, m.id)) {
      ++stats.forwards_redirected;
      timers.emplace(op.deadline, m.id);
      return;
    }
  }
  // A late reply from the first owner is as good as the retry's: take whichever comes first.
  if (m.code == StatusCode::ok) {
    ++stats.forwards_ok;
    complete(op, OperationKind::forward, Status::Ok(), 0, m.reply);
  } else {
    // The owner ran it, but its cluster layer failed it: the reply is the error's text.
    ++stats.forwards_unavailable;
    complete(op, OperationKind::forward, make_error(m.code, "the owner could not run the command"),
             0, m.reply);
  }
  erase_op(m.id);
}

void Replicator::State::on_forward_request(TimePoint now, WallTime wall, Message& m,
                                           std::string_view from, std::string_view reply_to) {
  while (!forwards_seen_order.empty() &&
         forwards_seen_order.front().first + 2 * config.forward_timeout <= now) {
    forwards_seen.erase(forwards_seen_order.front().second);
    forwards_seen_order.pop_front();
  }
  auto seen = std::make_pair(std::string(from), m.id);
  if (forwards_seen.count(seen) != 0) {
    ++stats.forwards_duplicate_dropped;  // the first copy ran (or runs) and answers
    return;
  }
  forwards_seen.insert(seen);
  forwards_seen_order.emplace_back(now, std::move(seen));
  if (!executor) {
    send_addr(std::string(reply_to), wire::MessageType::data_response,
              encode_forward_response(m.id, StatusCode::unavailable, {}));
    return;
  }
  ++stats.forwards_executed;
  ForwardedCommand cmd;
  cmd.token = next_token++;
  cmd.from = std::string(from);
  cmd.argv = std::move(m.argv);
  cmd.protocol = m.protocol;
  cmd.quorum = QuorumOverride{m.write_quorum, m.read_quorum};
  cmd.user = std::move(m.user);
  forwarded.emplace(cmd.token, Incoming{std::string(reply_to), m.id, {}});
  auto reply = executor(cmd);
  if (!reply) return;  // delivered later through reply_forwarded()
  auto it = forwarded.find(cmd.token);
  send_forward_reply(it->second, *reply, wall);
  forwarded.erase(it);
}

void Replicator::State::send_forward_reply(const Incoming& to, std::string_view reply,
                                           WallTime wall, StatusCode code) {
  std::vector<std::vector<std::uint8_t>> carried;
  carried.reserve(to.carry.size());
  for (const auto& key : to.carry) {
    if (auto e = store.packed_entry(key, wall); !e.empty()) carried.push_back(std::move(e));
  }
  send_addr(to.reply_to, wire::MessageType::data_response,
            encode_forward_response_packed(to.id, code, reply, carried, store.flush_horizon()));
}

void Replicator::carry(std::uint64_t token, std::vector<std::string> keys) {
  auto it = state_->forwarded.find(token);
  if (it == state_->forwarded.end()) return;
  auto& carry = it->second.carry;
  for (auto& k : keys) {
    if (std::find(carry.begin(), carry.end(), k) == carry.end()) carry.push_back(std::move(k));
  }
}

void Replicator::reply_forwarded(TimePoint now, WallTime wall, std::uint64_t token,
                                 std::string_view reply, StatusCode code) {
  State& s = *state_;
  (void)now;
  auto it = s.forwarded.find(token);
  if (it == s.forwarded.end()) return;
  s.send_forward_reply(it->second, reply, wall, code);
  s.forwarded.erase(it);
}

}  // namespace apiary::replication
