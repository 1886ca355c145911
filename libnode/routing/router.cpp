#include "apiary/routing/router.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "apiary/replication/replicator.hpp"
#include "apiary/resp/command_table.hpp"
#include "apiary/resp/server.hpp"
#include "apiary/store/store.hpp"
#include "router_impl.hpp"

namespace apiary::routing {

namespace {

// Completion id of operations nobody waits for (ids handed out start at 1).
constexpr std::uint64_t kNoWaiter = 0;

std::vector<std::string_view> views(const std::vector<std::string>& argv) {
  return {argv.begin(), argv.end()};
}

// A write answered NOREPLICAS: counted, and the first of a run named for the event log.
void note_write_failure(QuorumFailures& failures, const Job& job) {
  if (failures.count++ != 0 || job.spec == nullptr) return;
  failures.command = job.spec->name;
  const auto argv = views(job.argv);
  const auto keys = key_indices(*job.spec, argv);
  failures.key = keys.empty() ? std::string() : job.argv[keys.front()];
}

}  // namespace

Executed Router::Impl::execute(const resp::CommandSpec& spec,
                               std::span<const std::string_view> argv, int protocol,
                               resp::Connection& conn, const Sink& sink, TimePoint now,
                               WallTime wall) {
  Executed out;
  resp::ReplyWriter writer(out.reply, protocol);
  resp::CommandContext ctx{server, conn, writer, argv, now, wall};
  const TimePoint started = server.clock_now(now);
  // Keyed commands reply at once, or (blocking ones) say they found nothing to serve.
  const resp::Outcome outcome = resp::run_handler(spec, ctx);
  if (sink.kind == Sink::Kind::peer) {
    server.diagnostics().peer_command_ran(spec, argv, server.clock_now(now) - started, wall,
                                          sink.requester);
  }
  if (outcome.kind() == resp::Outcome::Kind::blocked) out.blocked = outcome.delay();
  return out;
}

resp::Connection* Router::Impl::connection_for(const Sink& sink) {
  if (sink.kind != Sink::Kind::client) return &internal;
  return server.find_client(sink.client);
}

std::optional<std::string> Router::Impl::run_owned(const resp::CommandSpec& spec,
                                     std::span<const std::string_view> argv,
                                     std::span<const std::size_t> keys, int protocol,
                                     resp::Connection& conn, const Sink& sink, TimePoint now,
                                     WallTime wall, QuorumOverride override) {
  ++stats.local;
  const QuorumOverride q = effective(override);
  const bool write = (spec.flags & resp::kWrite) != 0;
  // A read merges what R replicas hold first unless the local copy answers it. So does a
  // write, so that what it answers (NX, XX, EXPIRE, DEL's count) and builds on (INCR,
  // APPEND) includes every write a quorum acknowledged (R + W > N then gives
  // read-your-writes through any node), and so does a write on a coordinator that has just
  // gained the partition: it first merges what the previous owners hold.
  {
    std::vector<std::string_view> remote;
    for (std::size_t k : keys) {
      if (!replicator.read_is_local(argv[k], q.read)) remote.push_back(argv[k]);
    }
    if (!remote.empty()) {
      ++stats.quorum_reads;
      const std::uint64_t job_id = start_job(spec, argv, protocol, sink, write, remote.size());
      Job& job = jobs.at(job_id);
      job.read_first = write;
      job.read_quorum = q.read;
      job.write_quorum = q.write;
      for (auto key : remote) replicator.read(now, wall, key, q.read, waiter_for(job_id));
      return std::nullopt;
    }
    if (!write) return execute(spec, argv, protocol, conn, sink, now, wall).reply;
  }
  return write_owned(spec, argv, keys, protocol, conn, sink, now, wall, q);
}

std::optional<std::string> Router::Impl::write_owned(const resp::CommandSpec& spec,
                                       std::span<const std::string_view> argv,
                                       std::span<const std::size_t> keys, int protocol,
                                       resp::Connection& conn, const Sink& sink, TimePoint now,
                                       WallTime wall, QuorumOverride q) {
  Executed ran = execute(spec, argv, protocol, conn, sink, now, wall);
  now = std::max(now, server.noted_time());  // after a long script: its replication starts now
  if (ran.blocked) {  // nothing to serve yet: wait here, the keys' coordinator
    park(spec, argv, protocol, sink, q, *ran.blocked, std::move(ran.reply), now, wall);
    return std::nullopt;
  }
  if (sink.parked != 0) unpark(sink.parked);  // served
  std::string reply = std::move(ran.reply);
  // Refused: nothing to replicate (unless the command may have written first: a script).
  if (!reply.empty() && reply[0] == '-' && (spec.flags & resp::kWritesOnError) == 0) return reply;
  std::vector<std::string_view> touched;
  for (std::size_t k : keys) {
    if (std::find(touched.begin(), touched.end(), argv[k]) == touched.end()) {
      touched.push_back(argv[k]);
      mark_ready(argv[k]);
    }
  }
  // A peer that forwarded the write and is a replica of a key gets its version with the
  // reply and holds it before its client hears of the write: it counts towards W.
  const std::string_view carrier = carrier_of(sink, touched);
  const bool whole = (spec.flags & resp::kOneUnit) != 0;
  // W=1 (or a single owner), or W=2 with a carrier: the local write and the carrier's copy
  // are the quorum; the others get it in the background and the reply leaves now.
  const std::uint32_t owners = replicator.view().table().replicas();
  if (q.write == 1 || owners <= 1 || (q.write == 2 && !carrier.empty())) {
    // A single owner is this node: there is nobody to ship the write to.
    if (owners > 1 && !replicator.replicate_together(now, wall, touched, 1, kNoWaiter, carrier,
                                                     whole)) {
      for (auto key : touched) replicator.replicate(now, wall, key, 1, kNoWaiter, carrier);
    }
    return reply;
  }
  // The keys of a multi-key write travel as one unit when they can (one message and one
  // ack per replica, one completion), else one by one.
  const std::uint64_t job_id = start_job(spec, argv, protocol, sink, true, 1);
  jobs.at(job_id).reply = std::move(reply);
  const std::uint64_t together = waiter_for(job_id);
  if (!replicator.replicate_together(now, wall, touched, q.write, together, carrier, whole)) {
    waiters.erase(together);
    jobs.at(job_id).outstanding = static_cast<std::uint32_t>(touched.size());
    for (auto key : touched) {
      replicator.replicate(now, wall, key, q.write, waiter_for(job_id), carrier);
    }
  }
  return std::nullopt;
}

std::string_view Router::Impl::carrier_of(const Sink& sink, std::span<const std::string_view> touched) {
  if (sink.kind != Sink::Kind::peer || sink.requester.empty()) return {};
  // A hash or set write travels to every replica as its changes (a delta), not whole in
  // the reply.
  if (const store::Store* st = server.store()) {
    for (auto key : touched) {
      if (st->has_delta(key)) return {};
    }
  }
  const auto& view = replicator.view();
  if (!view.is_live(sink.requester)) return {};
  for (auto key : touched) {
    if (!view.owns(sink.requester, replicator.partition_of(key))) return {};
  }
  replicator.carry(sink.peer_token, {touched.begin(), touched.end()});
  return sink.requester;
}

std::uint64_t Router::Impl::start_job(const resp::CommandSpec& spec, std::span<const std::string_view> argv,
                        int protocol, const Sink& sink, bool write, std::size_t outstanding) {
  const std::uint64_t id = next_id++;
  Job& job = jobs[id];
  job.argv.assign(argv.begin(), argv.end());
  job.spec = &spec;
  job.protocol = protocol;
  job.sink = sink;
  job.write = write;
  job.outstanding = static_cast<std::uint32_t>(outstanding);
  return id;
}

std::uint64_t Router::Impl::waiter_for(std::uint64_t job_id) {
  const std::uint64_t id = next_id++;
  Waiter w;
  w.job = job_id;
  waiters[id] = std::move(w);
  return id;
}

resp::ClientId Router::Impl::client_of(const Sink& sink) const {
  if (sink.kind == Sink::Kind::client) return sink.client;
  if (sink.kind != Sink::Kind::part) return 0;
  auto it = fanouts.find(sink.fanout);
  return it != fanouts.end() && it->second.origin.kind == Sink::Kind::client
             ? it->second.origin.client
             : 0;
}

std::string Router::Impl::user_of(const Sink& sink) const {
  const resp::Connection* c = server.find_client(client_of(sink));
  return c != nullptr ? c->user() : std::string();
}

void Router::Impl::forward(const std::string& target, std::span<const std::string_view> argv,
             std::span<const std::size_t> key_args, int protocol, const Sink& sink, TimePoint now,
             QuorumOverride quorum, bool write) {
  const std::uint64_t id = next_id++;
  Waiter w;
  w.forward = true;
  w.sink = sink;
  w.client = write ? client_of(sink) : 0;
  if (w.client != 0) {
    for (std::size_t k : key_args) {
      const std::uint64_t h = key_hash(argv[k]);
      InFlightWrite& f = inflight_writes[{w.client, h}];
      f.target = target;
      ++f.count;
      w.keys.push_back(h);
    }
  }
  waiters[id] = std::move(w);
  replicator.forward(now, argv[key_args.front()], argv, protocol, id, quorum, !write, std::nullopt,
                     user_of(sink));
}

void Router::Impl::release_inflight(const Waiter& w) {
  for (std::uint64_t h : w.keys) {
    auto it = inflight_writes.find({w.client, h});
    if (it != inflight_writes.end() && --it->second.count == 0) inflight_writes.erase(it);
  }
}

const std::string* Router::Impl::pending_write_target(resp::ClientId client, std::string_view key) const {
  if (client == 0 || inflight_writes.empty()) return nullptr;
  auto it = inflight_writes.find({client, key_hash(key)});
  return it == inflight_writes.end() ? nullptr : &it->second.target;
}

void Router::Impl::finish(const Sink& sink, Answer answer, TimePoint now, WallTime wall) {
  if (sink.parked != 0) unpark(sink.parked);
  switch (sink.kind) {
    case Sink::Kind::client:
      ready.push_back(ClientReply{sink.client, sink.token, answer.rendered()});
      return;
    case Sink::Kind::call:
      calls_ready.push_back(
          CallReply{sink.call, std::move(answer.reply), std::move(answer.failure)});
      return;
    case Sink::Kind::peer:
      // The failure's code travels with the text, so the requester's caller gets it typed.
      replicator.reply_forwarded(now, wall, sink.peer_token, answer.rendered(),
                                 answer.failure.code());
      return;
    case Sink::Kind::part: {
      auto it = fanouts.find(sink.fanout);
      if (it == fanouts.end()) return;
      Fanout& f = it->second;
      f.replies[sink.part] = answer.rendered();
      if (--f.outstanding > 0) return;
      const Sink origin = f.origin;
      std::string merged = merge_replies(f.merge, f.replies, f.positions, f.key_count);
      fanouts.erase(it);
      finish(origin, Answer::of(std::move(merged)), now, wall);
      return;
    }
  }
}

void Router::Impl::job_step(std::uint64_t job_id, const replication::Completion& c, TimePoint now,
              WallTime wall) {
  auto it = jobs.find(job_id);
  if (it == jobs.end()) return;
  Job& job = it->second;
  if (!c.status.ok() && job.failure.ok()) {
    job.failure = c.status;
    job.fewest_replicas = c.replicas;
  }
  if (--job.outstanding > 0) return;
  Answer answer;
  if (job.read_first) {
    if (!job.failure.ok()) {
      ++stats.write_failures;
      note_write_failure(quorum_failures, job);
      answer =
          Answer::failed(job.failure.code(),
                         "NOREPLICAS Not enough replicas answered the read before the write: " +
                             std::to_string(job.fewest_replicas) + " (" +
                             job.failure.to_string() + "); the write was not applied");
    } else {
      resp::Connection* conn = connection_for(job.sink);
      if (conn == nullptr) {  // the client went away meanwhile
        if (job.sink.parked != 0) unpark(job.sink.parked);
        jobs.erase(it);
        return;
      }
      // The write runs now, as its own job when it has to wait for the quorum.
      const Job done = std::move(job);
      jobs.erase(it);
      const auto argv = views(done.argv);
      auto written = write_owned(*done.spec, argv, key_indices(*done.spec, argv), done.protocol,
                                 *conn, done.sink, now, wall,
                                 {done.write_quorum, done.read_quorum});
      if (written) finish(done.sink, Answer::of(std::move(*written)), now, wall);
      return;
    }
  } else if (job.write) {
    if (job.failure.ok()) {
      answer = Answer::of(std::move(job.reply));
    } else {
      ++stats.write_failures;
      note_write_failure(quorum_failures, job);
      answer = Answer::failed(
          job.failure.code(),
          "NOREPLICAS Not enough good replicas to write: " + std::to_string(job.fewest_replicas) +
              " acknowledged (" + job.failure.to_string() + "); the write may still be applied");
    }
  } else if (!job.failure.ok() && job.read_quorum > 1) {
    answer =
        Answer::failed(job.failure.code(), "NOREPLICAS Not enough replicas answered the read: " +
                                               std::to_string(job.fewest_replicas) + " (" +
                                               job.failure.to_string() + ")");
  } else {
    resp::Connection* conn = connection_for(job.sink);
    if (conn == nullptr) {  // the client went away meanwhile
      jobs.erase(it);
      return;
    }
    const auto argv = views(job.argv);
    answer = Answer::of(execute(*job.spec, argv, job.protocol, *conn, job.sink, now, wall).reply);
  }
  const Sink sink = job.sink;
  jobs.erase(it);
  finish(sink, std::move(answer), now, wall);
}

std::optional<std::string> Router::Impl::target_of(std::string_view key, bool write) const {
  if (write ? replicator.coordinates(key) : replicator.owns(key)) return std::string();
  std::string c = replicator.coordinator(key);
  if (c.empty()) return std::nullopt;
  return c;
}

std::optional<Answer> Router::Impl::route(const resp::CommandSpec& spec,
                                          std::span<const std::string_view> argv,
                                          std::span<const std::size_t> keys, int protocol,
                                          resp::Connection& conn, const Sink& origin, TimePoint now,
                                          WallTime wall, QuorumOverride quorum) {
  // A key without its value (MSET a 1 b) is refused whole before any part runs, as the
  // command's own handler would.
  if (spec.key_step > 1 && (argv.size() - static_cast<std::size_t>(spec.first_key)) %
                                   static_cast<std::size_t>(spec.key_step) !=
                               0) {
    return Answer::failed(StatusCode::invalid_argument,
                          "ERR wrong number of arguments for '" + spec.name + "' command");
  }
  // Every replica, forward and reply travels in one data message: refuse what cannot.
  std::size_t bytes = 0;
  for (auto a : argv) bytes += a.size();
  if (argv.size() > config.max_command_args) {
    return Answer::failed(StatusCode::too_large,
                          "ERR command too large for the cluster: " + std::to_string(argv.size()) +
                              " arguments, at most " + std::to_string(config.max_command_args));
  }
  if (bytes > config.max_command_bytes) {
    return Answer::failed(StatusCode::too_large,
                          "ERR command too large for the cluster: " + std::to_string(bytes) +
                              " bytes of arguments, at most " +
                              std::to_string(config.max_command_bytes));
  }
  const bool write = (spec.flags & resp::kWrite) != 0;
  const bool at_coordinator = write || (spec.flags & resp::kAtCoordinator) != 0;
  const resp::ClientId client = write ? 0 : client_of(origin);
  std::vector<std::string> targets;
  targets.reserve(keys.size());
  for (std::size_t k : keys) {
    if (const std::string* behind = pending_write_target(client, argv[k])) {
      targets.push_back(*behind);  // follow the client's own write of the key
      continue;
    }
    auto t = target_of(argv[k], at_coordinator);
    if (!t) {
      std::string key(argv[k].substr(0, 128));
      for (char& c : key) c = (c == '\r' || c == '\n') ? ' ' : c;
      if (replicator.view().members().empty()) {
        // A node (re)started through seeds has no member list yet: say so, since the usual
        // cause is this node, not the cluster (a client may try another node).
        return Answer::failed(StatusCode::unavailable,
                              "CLUSTERDOWN this node is still joining the cluster");
      }
      return Answer::failed(StatusCode::unavailable,
                            "CLUSTERDOWN no live node owns the partition of key '" + key + "'");
    }
    targets.push_back(std::move(*t));
  }
  const bool one_target = std::all_of(targets.begin(), targets.end(),
                                      [&](const std::string& t) { return t == targets.front(); });
  if (one_target && targets.front().empty()) {
    auto reply = run_owned(spec, argv, keys, protocol, conn, origin, now, wall, quorum);
    if (!reply) return std::nullopt;
    return Answer::of(std::move(*reply));
  }
  if (one_target) {
    ++stats.forwarded;
    if ((spec.flags & resp::kBlocking) != 0) {
      forward_blocking(spec, argv, keys, protocol, origin, now, quorum);
    } else {
      forward(targets.front(), argv, keys, protocol, origin, now, quorum, write);
    }
    return std::nullopt;
  }
  const Merge merge = merge_kind(spec);
  if (merge == Merge::none) {
    ++stats.cross_slot;
    return Answer::failed(StatusCode::invalid_argument,
                          "CROSSSLOT Keys in request don't hash to the same slot");
  }
  ++stats.fanned_out;
  // One part per target, in target order (this node first), keys in command order.
  std::map<std::string, std::vector<std::size_t>> by_target;
  for (std::size_t i = 0; i < keys.size(); ++i) by_target[targets[i]].push_back(i);
  const std::uint64_t fanout_id = next_id++;
  Fanout& f = fanouts[fanout_id];
  f.origin = origin;
  f.merge = merge;
  f.key_count = keys.size();
  f.replies.resize(by_target.size());
  f.outstanding = by_target.size();
  std::size_t part = 0;
  for (const auto& [target, positions] : by_target) {
    f.positions.push_back(positions);
    std::vector<std::size_t> arg_indices;
    for (std::size_t pos : positions) arg_indices.push_back(keys[pos]);
    const auto sub = sub_command(argv, spec, arg_indices);
    const auto sub_argv = views(sub);
    const auto sub_keys = key_indices(spec, sub_argv.size());
    Sink sink;
    sink.kind = Sink::Kind::part;
    sink.fanout = fanout_id;
    sink.part = part++;
    if (target.empty()) {
      auto reply =
          run_owned(spec, sub_argv, sub_keys, protocol, internal, sink, now, wall, quorum);
      if (reply) finish(sink, Answer::of(std::move(*reply)), now, wall);
    } else {
      forward(target, sub_argv, sub_keys, protocol, sink, now, quorum, write);
    }
  }
  return std::nullopt;
}

std::optional<resp::Outcome> Router::Impl::on_command(resp::CommandContext& ctx,
                                                      const resp::CommandSpec& spec) {
  const auto keys = key_indices(spec, ctx.argv);
  if (keys.empty()) return std::nullopt;
  const resp::PendingToken token = ctx.client.next_token();
  Sink origin;
  origin.client = ctx.client.id();
  origin.token = token;
  auto reply = route(spec, ctx.argv, keys, ctx.reply.protocol(), ctx.client, origin, ctx.now,
                     ctx.wall, {});
  if (!reply) return resp::Outcome::pending(token);
  ctx.reply.raw(reply->rendered());
  return resp::Outcome::done();
}

const resp::CommandSpec* Router::Impl::keyed_spec(std::span<const std::string_view> argv) const {
  if (argv.empty()) return nullptr;
  const resp::CommandSpec* spec = server.commands().find(argv[0]);
  if (spec != nullptr && !spec->subcommands.empty() && argv.size() >= 2) {
    spec = resp::CommandTable::find_subcommand(*spec, argv[1]);
  }
  const auto argc = static_cast<std::int64_t>(argv.size());
  if (spec == nullptr || !spec->has_keys() || (spec->arity > 0 && argc != spec->arity) ||
      argc < -spec->arity || key_indices(*spec, argv).empty()) {
    return nullptr;
  }
  return spec;
}

std::optional<std::string> Router::Impl::on_peer_command(const replication::ForwardedCommand& cmd) {
  ++stats.run_for_peers;
  const auto argv = views(cmd.argv);
  // Only keyed commands are ever forwarded; anything else (FLUSHALL, CONFIG SET, ...) from
  // a peer is refused rather than run on this node's behalf.
  const resp::CommandSpec* spec = keyed_spec(argv);
  if (spec == nullptr) {
    return error_reply("ERR the owner cannot run '" +
                       (cmd.argv.empty() ? std::string() : cmd.argv[0].substr(0, 64)) + "'");
  }
  // The client's user, checked again here: the sender is trusted to be a member, not to have
  // checked (or to share this node's rules, which converge across the cluster).
  // Apiary's internal commands (APIARY.EXEC, APIARY.EVAL, ...) carry what the client's node
  // already checked command by command (a transaction's at queuing); a script's redis.call
  // is checked as it runs, as the user (below).
  if (!cmd.user.empty() && !spec->name.starts_with("apiary.")) {
    if (std::string denied = server.acl_refusal_of(cmd.user, *spec, argv); !denied.empty()) {
      return error_reply(std::string_view(denied).substr(1));  // without the '-'
    }
  }
  const resp::Connection::RunAs as_user(internal, cmd.user);
  const auto [now, wall] = clock();
  // Run here even if this node's view disagrees about ownership: the sender chose it as an
  // owner, and bouncing the command on would risk a loop while views converge.
  Sink sink;
  sink.kind = Sink::Kind::peer;
  sink.peer_token = cmd.token;
  sink.requester = cmd.from;
  return run_owned(*spec, argv, key_indices(*spec, argv), cmd.protocol, internal, sink, now, wall,
                   cmd.quorum);
}

Router::Router(resp::Server& server, replication::Replicator& replicator, RouterConfig config,
               Clock clock)
    : impl_(std::make_unique<Impl>(server, replicator, config, std::move(clock))) {
  Impl* impl = impl_.get();
  server.set_forwarder([impl](resp::CommandContext& ctx, const resp::CommandSpec& spec) {
    return impl->on_command(ctx, spec);
  });
  replicator.set_executor(
      [impl](const replication::ForwardedCommand& cmd) { return impl->on_peer_command(cmd); });
  server.set_cluster_keyspace(&impl->keyspace);
  replicator.set_keyspace_handler([impl](const replication::KeyspaceQuery& query, WallTime wall) {
    return impl->keyspace.answer(query, wall);
  });
  replicator.set_tell_gap_handler([impl](std::string_view from) { impl->server.member_gap(from); });
  // This node's own copy, next to the cluster's count in INFO's keyspace section.
  server.set_info_section("localkeyspace", [impl](std::string& out) {
    // O(1), as Redis's keyspace line: Store::size() (expired keys not yet collected count).
    const store::Store* st = impl->server.store();
    if (st == nullptr || st->size() == 0) return;
    out += "db0:keys=" + std::to_string(st->size()) + ",expires=0,avg_ttl=0\r\n";
  });
  replicator.set_forward_canceller([impl](std::uint64_t token, replication::CancelMode mode) {
    const auto [now, wall] = impl->clock();
    impl->cancel_peer(token, mode, now, wall);
  });
  server.set_blocking_hooks(resp::Server::BlockingHooks{
      [impl](resp::ClientId client, bool error) {
        const auto [now, wall] = impl->clock();
        return impl->unblock(client, error, now, wall);
      },
      [impl](resp::ClientId client) { impl->client_closed(client); }});
}

Router::~Router() {
  impl_->server.set_forwarder(nullptr);
  impl_->replicator.set_executor(nullptr);
  impl_->server.set_cluster_keyspace(nullptr);
  impl_->replicator.set_keyspace_handler(nullptr);
  impl_->replicator.set_tell_gap_handler(nullptr);
  impl_->server.set_info_section("localkeyspace", nullptr);
  impl_->replicator.set_forward_canceller(nullptr);
  impl_->server.set_blocking_hooks({});
}

void Router::on_completion(const replication::Completion& c, TimePoint now, WallTime wall) {
  Impl& s = *impl_;
  if (c.kind == replication::OperationKind::keyspace) {
    s.keyspace.on_completion(c, now, wall);
    return;
  }
  auto it = s.waiters.find(c.id);
  if (it == s.waiters.end()) return;
  const Waiter w = std::move(it->second);
  s.waiters.erase(it);
  s.release_inflight(w);
  if (w.blocking) {
    s.on_blocking_completion(w, c, now, wall);
    return;
  }
  if (!w.forward) {
    s.job_step(w.job, c, now, wall);
    return;
  }
  if (c.status.ok()) {
    s.finish(w.sink, Answer::of(c.reply), now, wall);
    return;
  }
  if (!c.reply.empty()) {
    // The owner's cluster failed the command (its quorum, its forward): its text and code.
    std::string_view text = c.reply;
    if (text.front() == '-') text.remove_prefix(1);
    if (text.size() >= 2 && text.substr(text.size() - 2) == "\r\n") text.remove_suffix(2);
    s.finish(w.sink, Answer::failed(c.status.code(), std::string(text)), now, wall);
    return;
  }
  ++s.stats.forward_failures;
  s.finish(w.sink,
           Answer::failed(c.status.code(),
                          "CLUSTERDOWN the key's owner did not answer: " + c.status.message()),
           now, wall);
}

std::optional<CallReply> Router::call(std::span<const std::string_view> argv,
                                      replication::QuorumOverride quorum, std::uint64_t call_id,
                                      TimePoint now, WallTime wall) {
  Impl& s = *impl_;
  const resp::CommandSpec* spec = s.keyed_spec(argv);
  if (spec == nullptr) {
    return CallReply{
        call_id,
        {},
        Status(StatusCode::invalid_argument,
               "ERR unknown command, wrong number of arguments or no key: '" +
                   (argv.empty() ? std::string() : std::string(argv[0].substr(0, 64))) + "'")};
  }
  Sink origin;
  origin.kind = Sink::Kind::call;
  origin.call = call_id;
  auto answer = s.route(*spec, argv, 3, s.internal, origin, now, wall, quorum);
  if (!answer) return std::nullopt;
  return CallReply{call_id, std::move(answer->reply), std::move(answer->failure)};
}

std::vector<CallReply> Router::take_call_replies() {
  std::vector<CallReply> out;
  out.swap(impl_->calls_ready);
  return out;
}

std::vector<ClientReply> Router::take_replies() {
  std::vector<ClientReply> out;
  out.swap(impl_->ready);
  return out;
}

std::size_t Router::pending() const {
  // Commands, not their parts: a fan-out counts once, a job once whatever it waits for.
  std::size_t n = impl_->fanouts.size() + impl_->keyspace.pending();
  for (const auto& [id, job] : impl_->jobs) n += job.sink.kind == Sink::Kind::part ? 0 : 1;
  for (const auto& [id, w] : impl_->waiters) {
    n += w.forward && w.sink.kind != Sink::Kind::part ? 1 : 0;
  }
  return n;
}

const RouterStats& Router::stats() const { return impl_->stats; }

QuorumFailures Router::take_quorum_failures() { return std::exchange(impl_->quorum_failures, {}); }

}  // namespace apiary::routing
