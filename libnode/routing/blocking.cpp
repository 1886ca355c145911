// Blocking commands across the cluster (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN,
// BZPOPMAX, BZMPOP).
//
// A blocking command runs where every write of its keys runs: on their coordinator. Its
// handler either serves it at once, or answers Outcome::blocked, and the coordinator parks it
// on each of its keys, in order of arrival. A write of a key there marks it ready; at the next
// settle the key's parked commands run again, oldest first, as long as the key holds a value
// of their type (a parked BLPOP is not woken by a SET, as in Redis), each as the write it is
// (replicated, its reply held for its quorum). A client on another node waits on a forward
// that the coordinator answers when it serves the command or its timeout passes, so a push
// through any node wakes a client blocked on any node, and clients are served in the order
// their commands reached the coordinator.
//
// Timeouts run at the coordinator, on its clock; the requester waits a forward timeout longer
// and then answers the null itself, asking the coordinator to drop the command. When a client
// leaves (or CLIENT UNBLOCK releases it) its node asks the same. When the coordinator changes,
// the old one hands its parked commands back (StatusCode::moved) and their requesters route
// them again, with what is left of their timeout; a requester whose coordinator left the live
// members (dead, or leaving and still able to serve) asks it to give the command back and
// routes it again on that answer or on a forward timeout of silence. An element popped in the instant between a coordinator serving a command and its
// reply reaching the client (the client left, the coordinator died) is lost to the client, as
// with a Redis server that dies after popping; docs/datatypes.md, "Blocking commands".
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

#include "apiary/store/store.hpp"
#include "router_impl.hpp"

namespace apiary::routing {

namespace {

constexpr auto kSweep = std::chrono::seconds(1);
constexpr std::string_view kUnblocked = "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n";

// Where the timeout argument is: right before numkeys (BLMPOP, BZMPOP), else last.
std::size_t timeout_index(const resp::CommandSpec& spec, std::size_t argc) {
  return spec.numkeys_index > 0 ? static_cast<std::size_t>(spec.numkeys_index - 1) : argc - 1;
}

// The command's timeout as the coordinator will read it; nullopt when it is not one (the
// coordinator then answers the error at once).
std::optional<Duration> timeout_of(const resp::CommandSpec& spec,
                                   std::span<const std::string_view> argv) {
  const std::size_t i = timeout_index(spec, argv.size());
  if (i >= argv.size() || argv[i].empty() || argv[i].size() > 64) return std::nullopt;
  const std::string text(argv[i]);
  char* end = nullptr;
  const long double seconds = std::strtold(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(seconds) || seconds > 1e12L) {
    return std::nullopt;
  }
  const long double ms = std::ceil(seconds * 1000.0L);  // -0.5 ms is 0: no timeout
  if (ms < 0) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

// The reply of a timeout, for a requester that answers it itself: a null array, as Redis
// 7.0 answers every blocking list and sorted set command that timed out (BLMOVE too).
std::string timeout_reply(int protocol) { return protocol >= 3 ? "_\r\n" : "*-1\r\n"; }

// The type a parked command waits for, by its ACL category, as store::type_name spells it.
std::string_view wanted_type(const resp::CommandSpec& spec) {
  return spec.acl.find("@sortedset") != std::string_view::npos ? "zset" : "list";
}

}  // namespace

void Router::Impl::forward_blocking(const resp::CommandSpec& spec,
                                    std::span<const std::string_view> argv,
                                    std::span<const std::size_t> key_args, int protocol,
                                    const Sink& sink, TimePoint now, QuorumOverride quorum) {
  const std::optional<Duration> timeout = timeout_of(spec, argv);
  const std::uint64_t id = next_id++;
  Waiter w;
  w.forward = true;
  w.sink = sink;
  w.blocking = timeout.has_value();
  w.spec = &spec;
  w.argv.assign(argv.begin(), argv.end());
  w.protocol = protocol;
  w.quorum = quorum;
  if (timeout && *timeout != Duration::zero()) w.deadline = now + *timeout;
  const resp::ClientId client = client_of(sink);
  if (w.blocking && client != 0 && sink.kind == Sink::Kind::client) blocked_forwards[client] = id;
  waiters[id] = std::move(w);
  std::optional<Duration> hold;
  if (timeout) hold = *timeout == Duration::zero() ? Duration::max() : *timeout;
  replicator.forward(now, argv[key_args.front()], argv, protocol, id, quorum, false, hold,
                     user_of(sink));
}

void Router::Impl::park(const resp::CommandSpec& spec, std::span<const std::string_view> argv,
                        int protocol, const Sink& sink, QuorumOverride quorum, Duration timeout,
                        std::string timeout_reply_bytes, TimePoint now, WallTime wall) {
  if (sink.parked != 0) {  // ran again and found nothing: back in its place
    auto it = parked.find(sink.parked);
    if (it == parked.end()) return;
    it->second.trying = false;
    if (it->second.expired) answer_parked(sink.parked, it->second.timeout_reply, now, wall);
    return;
  }
  const std::uint64_t id = next_id++;
  Parked& p = parked[id];
  p.spec = &spec;
  p.argv.assign(argv.begin(), argv.end());
  p.protocol = protocol;
  p.sink = sink;
  p.quorum = quorum;
  p.arrival = ++arrivals;
  p.timeout_reply = std::move(timeout_reply_bytes);
  for (std::size_t k : key_indices(spec, argv)) {
    if (std::find(p.keys.begin(), p.keys.end(), argv[k]) == p.keys.end()) {
      p.keys.emplace_back(argv[k]);
    }
  }
  for (const auto& key : p.keys) {
    auto q = blocked_on.find(key);
    if (q == blocked_on.end()) q = blocked_on.emplace(key, decltype(q->second){}).first;
    q->second.emplace(p.arrival, id);
  }
  if (timeout != Duration::zero()) {
    p.deadline = now + timeout;
    block_deadlines.emplace(p.deadline, id);
  }
  if (next_sweep == kNever) next_sweep = now + kSweep;
}

void Router::Impl::unpark(std::uint64_t id) {
  auto it = parked.find(id);
  if (it == parked.end()) return;
  const Parked& p = it->second;
  for (const auto& key : p.keys) {
    auto q = blocked_on.find(key);
    if (q == blocked_on.end()) continue;
    q->second.erase({p.arrival, id});
    if (q->second.empty()) blocked_on.erase(q);
  }
  if (p.deadline != kNever) block_deadlines.erase({p.deadline, id});
  parked.erase(it);
  if (parked.empty()) next_sweep = kNever;
}

void Router::Impl::answer_parked(std::uint64_t id, std::string reply, TimePoint now,
                                 WallTime wall) {
  const Sink sink = parked.at(id).sink;
  unpark(id);
  finish(sink, Answer::of(std::move(reply)), now, wall);
}

void Router::Impl::serve_ready(TimePoint now, WallTime wall) {
  store::Store* st = server.store();
  if (serving || st == nullptr) return;
  serving = true;
  while (!ready_keys.empty()) {
    const std::string key = std::move(ready_keys.extract(ready_keys.begin()).value());
    auto q = blocked_on.find(key);
    if (q == blocked_on.end() || !replicator.coordinates(key)) continue;
    std::vector<std::uint64_t> order;
    for (const auto& entry : q->second) order.push_back(entry.second);
    for (const std::uint64_t id : order) {
      auto it = parked.find(id);
      if (it == parked.end() || it->second.trying) continue;
      Parked& p = it->second;
      if (store::type_name(st->type(key, wall)) != wanted_type(*p.spec)) break;
      resp::Connection* conn = connection_for(p.sink);
      if (conn == nullptr) {  // its client left
        unpark(id);
        continue;
      }
      p.trying = true;
      Sink sink = p.sink;
      sink.parked = id;
      // Copies: serving it unparks it.
      const resp::CommandSpec& spec = *p.spec;
      const std::vector<std::string> argv = p.argv;
      const int protocol = p.protocol;
      const QuorumOverride quorum = p.quorum;
      const std::vector<std::string_view> args(argv.begin(), argv.end());
      auto reply =
          run_owned(spec, args, key_indices(spec, args), protocol, *conn, sink, now, wall, quorum);
      if (reply) finish(sink, Answer::of(std::move(*reply)), now, wall);
    }
  }
  serving = false;
}

void Router::Impl::expire_parked(TimePoint now, WallTime wall) {
  while (!block_deadlines.empty() && block_deadlines.begin()->first <= now) {
    const std::uint64_t id = block_deadlines.begin()->second;
    block_deadlines.erase(block_deadlines.begin());
    Parked& p = parked.at(id);
    p.deadline = kNever;  // no longer in block_deadlines
    if (p.trying) {
      p.expired = true;  // answered by its run: what it popped, or the null
      continue;
    }
    answer_parked(id, p.timeout_reply, now, wall);
  }
  if (next_sweep <= now) {
    // A key may also fill by a merge (a write another coordinator made during a change of
    // coordinator, a handoff), which marks nothing: look at every blocked key now and then.
    for (const auto& [key, queue] : blocked_on) ready_keys.insert(key);
    move_parked(now, wall);
    next_sweep = parked.empty() ? kNever : now + kSweep;
  }
}

void Router::Impl::move_parked(TimePoint now, WallTime wall) {
  std::vector<std::uint64_t> moving;
  for (const auto& [id, p] : parked) {
    if (!p.trying && !replicator.coordinates(p.keys.front())) moving.push_back(id);
  }
  for (const std::uint64_t id : moving) {
    const Parked p = parked.at(id);
    unpark(id);
    if (p.sink.kind == Sink::Kind::peer) {
      // Its requester routes it again, with what is left of its own timeout.
      finish(p.sink, Answer::failed(StatusCode::moved, "TRYAGAIN the key's coordinator changed"),
             now, wall);
      continue;
    }
    reroute_blocking(*p.spec, p.argv, p.protocol, p.sink, p.quorum, p.deadline, now, wall);
  }
}

void Router::Impl::reroute_blocking(const resp::CommandSpec& spec,
                                    const std::vector<std::string>& argv, int protocol,
                                    const Sink& sink, QuorumOverride quorum, TimePoint deadline,
                                    TimePoint now, WallTime wall) {
  resp::Connection* conn = connection_for(sink);
  if (conn == nullptr) return;  // its client left
  if (deadline != kNever && deadline <= now) {
    finish(sink, Answer::of(timeout_reply(protocol)), now, wall);
    return;
  }
  std::vector<std::string> again = argv;
  const std::size_t t = timeout_index(spec, again.size());
  if (deadline == kNever) {
    again[t] = "0";
  } else {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    again[t] = std::to_string(std::max<std::int64_t>(ms, 1) / 1000) + "." +
               std::to_string(1000 + std::max<std::int64_t>(ms, 1) % 1000).substr(1);
  }
  const std::vector<std::string_view> args(again.begin(), again.end());
  Sink fresh = sink;
  fresh.parked = 0;
  if (auto answer = route(spec, args, protocol, *conn, fresh, now, wall, quorum)) {
    finish(fresh, std::move(*answer), now, wall);
  }
}

void Router::Impl::on_blocking_completion(const Waiter& w, const replication::Completion& c,
                                          TimePoint now, WallTime wall) {
  if (w.sink.kind == Sink::Kind::client) {
    auto b = blocked_forwards.find(w.sink.client);
    if (b != blocked_forwards.end() && b->second == c.id) blocked_forwards.erase(b);
  }
  if (c.status.code() == StatusCode::moved) {  // the coordinator changed: wait at the new one
    reroute_blocking(*w.spec, w.argv, w.protocol, w.sink, w.quorum, w.deadline, now, wall);
    return;
  }
  if (c.status.code() == StatusCode::timeout && c.reply.empty()) {
    // The coordinator did not answer within the timeout and a forward timeout more: answer
    // the null here (the Replicator asked it to drop the command).
    finish(w.sink, Answer::of(timeout_reply(w.protocol)), now, wall);
    return;
  }
  if (c.status.ok()) {
    finish(w.sink, Answer::of(c.reply), now, wall);
    return;
  }
  std::string_view text = c.reply;
  if (!text.empty() && text.front() == '-') text.remove_prefix(1);
  if (text.size() >= 2 && text.substr(text.size() - 2) == "\r\n") text.remove_suffix(2);
  if (text.empty()) {
    ++stats.forward_failures;
    finish(w.sink,
           Answer::failed(c.status.code(),
                          "CLUSTERDOWN the key's owner did not answer: " + c.status.message()),
           now, wall);
    return;
  }
  finish(w.sink, Answer::failed(c.status.code(), std::string(text)), now, wall);
}

bool Router::Impl::unblock(resp::ClientId client, bool error, TimePoint now, WallTime wall) {
  for (auto& [id, p] : parked) {
    if (p.sink.kind != Sink::Kind::client || p.sink.client != client) continue;
    if (p.trying) return false;  // being served
    answer_parked(id, error ? std::string(kUnblocked) : p.timeout_reply, now, wall);
    return true;
  }
  auto b = blocked_forwards.find(client);
  if (b == blocked_forwards.end()) return false;
  replicator.cancel_forward(b->second, error ? replication::CancelMode::unblock_error
                                             : replication::CancelMode::timeout);
  return true;
}

void Router::Impl::cancel_peer(std::uint64_t token, replication::CancelMode mode, TimePoint now,
                               WallTime wall) {
  for (auto& [id, p] : parked) {
    if (p.sink.kind != Sink::Kind::peer || p.sink.peer_token != token) continue;
    if (p.trying) return;  // being served: its reply is on the way
    if (mode == replication::CancelMode::give_back) {
      const Sink sink = p.sink;
      unpark(id);
      finish(sink, Answer::failed(StatusCode::moved, "TRYAGAIN the key's coordinator changed"),
             now, wall);
      return;
    }
    const bool error = mode == replication::CancelMode::unblock_error;
    answer_parked(id, error ? std::string(kUnblocked) : p.timeout_reply, now, wall);
    return;
  }
}

void Router::Impl::client_closed(resp::ClientId client) {
  std::vector<std::uint64_t> gone;
  for (const auto& [id, p] : parked) {
    if (p.sink.kind == Sink::Kind::client && p.sink.client == client && !p.trying) {
      gone.push_back(id);
    }
  }
  for (const std::uint64_t id : gone) unpark(id);
  auto b = blocked_forwards.find(client);
  if (b == blocked_forwards.end()) return;
  replicator.cancel_forward(b->second, replication::CancelMode::timeout);
  blocked_forwards.erase(b);
}

// ---- Router ---------------------------------------------------------------------------

void Router::settle(TimePoint now, WallTime wall) { impl_->serve_ready(now, wall); }

TimePoint Router::next_deadline() const {
  const Impl& s = *impl_;
  const TimePoint first = s.block_deadlines.empty() ? kNever : s.block_deadlines.begin()->first;
  return std::min(first, s.next_sweep);
}

void Router::on_timer(TimePoint now, WallTime wall) {
  impl_->expire_parked(now, wall);
  impl_->serve_ready(now, wall);
}

void Router::on_view_change(TimePoint now, WallTime wall) {
  Impl& s = *impl_;
  if (s.parked.empty()) return;
  s.move_parked(now, wall);
  for (const auto& [key, queue] : s.blocked_on) s.ready_keys.insert(key);
  s.serve_ready(now, wall);
}

std::size_t Router::parked() const { return impl_->parked.size(); }

}  // namespace apiary::routing
