// Keyspace queries: a node asks another member about the partitions it names (Replicator::ask)
// and the member answers from its own store through the driver's KeyspaceHandler. The
// flush horizon that version-carrying messages piggyback is adopted here too.
#include "replicator_state.hpp"

namespace apiary::replication {

namespace {
// The request id of a told query (request ids count up from a random start and never come
// back to 0 in a process's life).
constexpr std::uint64_t kOneWay = 0;
}  // namespace

void Replicator::set_keyspace_handler(KeyspaceHandler handler) {
  state_->keyspace_handler = std::move(handler);
}

void Replicator::ask(TimePoint now, std::string_view member, KeyspaceQuery query,
                     std::uint64_t completion_id) {
  State& s = *state_;
  ++s.stats.keyspace_queries;
  Op op;
  op.kind = OpKind::keyspace;
  op.completion_id = completion_id;
  op.deadline = now + s.config.keyspace_timeout;
  op.peer = std::string(member);
  op.query_kind = query.index();
  const std::uint64_t id = s.new_id();
  if (!s.has_view || member == s.self() ||
      !s.send_to(member, wire::MessageType::keyspace_request, encode_keyspace_request(id, query))) {
    ++s.stats.keyspace_query_failures;
    s.complete(op, OperationKind::keyspace,
               make_error(StatusCode::unavailable, "no address for member '" + op.peer + "'"), 0);
    return;
  }
  s.timers.emplace(op.deadline, id);
  s.ops.emplace(id, std::move(op));
}

bool Replicator::tell(std::string_view member, const KeyspaceQuery& query) {
  State& s = *state_;
  if (!s.has_view || member == s.self()) return false;
  ++s.stats.keyspace_notices_sent;
  // Numbered per receiver (members queries), so that it notices one that went missing.
  std::uint64_t* counter = nullptr;
  if (std::holds_alternative<MembersQuery>(query)) {
    auto it = s.told_out.find(member);
    if (it == s.told_out.end()) it = s.told_out.emplace(std::string(member), 0).first;
    counter = &it->second;
  }
  const std::uint64_t seq = counter != nullptr ? *counter + 1 : 0;
  if (!s.send_to(member, wire::MessageType::keyspace_request,
                 encode_keyspace_request(kOneWay, query, seq))) {
    return false;  // not sent: not counted either, or the receiver would see a gap
  }
  if (counter != nullptr) *counter = seq;
  return true;
}

void Replicator::set_tell_gap_handler(std::function<void(std::string_view from)> handler) {
  state_->tell_gap_handler = std::move(handler);
}

void Replicator::State::on_keyspace_request(WallTime wall, const Message& m,
                                            std::string_view from, std::string_view reply_to) {
  const std::size_t kind = m.query.index();
  if (m.id == kOneWay) {  // tell(): answered by nobody
    if (m.seq != 0) {
      auto it = told_in.find(from);
      if (it == told_in.end()) it = told_in.emplace(std::string(from), 0).first;
      // A gap: a message from `from` was lost (a broken link, a full send buffer) or `from`
      // restarted and counts from 1 again.
      if (m.seq != it->second + 1) {
        ++stats.told_gaps;
        if (tell_gap_handler) tell_gap_handler(from);
      }
      it->second = m.seq;
    }
    if (keyspace_handler) (void)keyspace_handler(m.query, wall);
    return;
  }
  if (!keyspace_handler) {
    send_addr(std::string(reply_to), wire::MessageType::keyspace_response,
              encode_keyspace_response(m.id, StatusCode::unavailable, kind, nullptr));
    return;
  }
  ++stats.keyspace_queries_answered;
  const KeyspaceAnswer answer = keyspace_handler(m.query, wall);
  const StatusCode code = answer.index() == kind ? StatusCode::ok : StatusCode::internal;
  send_addr(std::string(reply_to), wire::MessageType::keyspace_response,
            encode_keyspace_response(m.id, code, kind, &answer));
}

void Replicator::State::on_keyspace_response(const Message& m, std::string_view from) {
  auto it = ops.find(m.id);
  if (it == ops.end() || it->second.kind != OpKind::keyspace || it->second.peer != from ||
      (m.code == StatusCode::ok && m.answer.index() != it->second.query_kind)) {
    ++stats.unmatched_dropped;
    return;
  }
  const Op& op = it->second;
  if (m.code == StatusCode::ok) {
    completions.push_back(Completion{op.completion_id, OperationKind::keyspace, Status::Ok(), 0,
                                     std::string(), m.answer});
  } else {
    ++stats.keyspace_query_failures;
    complete(op, OperationKind::keyspace,
             make_error(m.code, "member '" + op.peer + "' could not answer"), 0);
  }
  erase_op(m.id);
}

void Replicator::State::on_keyspace_timeout(const Op& op) {
  ++stats.keyspace_query_failures;
  complete(op, OperationKind::keyspace,
           make_error(StatusCode::timeout, "member '" + op.peer + "' did not answer in time"), 0);
}

void Replicator::State::adopt_horizon(HlcTimestamp horizon, WallTime wall) {
  if (horizon <= store.flush_horizon()) return;
  store.flush_before(horizon, wall);
  ++stats.flush_horizons_adopted;
}

}  // namespace apiary::replication
