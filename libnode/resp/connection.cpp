#include "apiary/resp/connection.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "apiary/resp/command_table.hpp"
#include "apiary/resp/server.hpp"
#include "apiary/store/store.hpp"
#include "commands/local_run.hpp"

namespace apiary::resp {
namespace {

// Input buffers above this size are released once empty, so one huge request does not pin
// its memory for the life of the connection.
constexpr std::size_t kKeepInputCapacity = 1024 * 1024;
constexpr std::size_t kPushOutputLimit = 32u * 1024 * 1024;

// printf's "%.*s" stops at a NUL byte; Redis builds these messages with it.
std::string_view c_prefix(std::string_view s, std::size_t max) {
  const void* nul = std::memchr(s.data(), '\0', s.size());
  if (nul != nullptr)
    s = s.substr(0, static_cast<std::size_t>(static_cast<const char*>(nul) - s.data()));
  return s.substr(0, max);
}

// As Redis 7.0's processCommand: these run at once inside MULTI (MULTI and WATCH to answer
// their errors, which do not abort the transaction); every other command is queued.
bool queues(const CommandSpec& spec) {
  const std::string_view name = spec.name;
  return !(name == "exec" || name == "discard" || name == "multi" || name == "watch" ||
           name == "quit" || name == "reset");
}

}  // namespace

Connection::Connection(Server& server, ClientId id, ClientAddress address, TimePoint now)
    : server_(server), id_(id), address_(std::move(address)), created_(now), last_activity_(now) {
  authenticated_ = !server_.auth_required();
  if (id_ != kInternalClient) server_.register_client(this);
  ParserLimits limits;
  limits.max_bulk_len = server_.config().proto_max_bulk_len();
  parser_.set_limits(limits);
}

Connection::~Connection() {
  set_wait(Wait::none);
  if (id_ != kInternalClient) server_.unregister_client(id_);
}

void Connection::set_wait(Wait wait) {
  if ((wait_ == Wait::none) != (wait == Wait::none)) {
    if (wait == Wait::none) {
      --server_.waiting_clients_;
    } else {
      ++server_.waiting_clients_;
    }
  }
  wait_ = wait;
}

std::string_view Connection::last_command() const {
  return last_command_ == nullptr ? std::string_view("NULL")
                                  : std::string_view(last_command_->name);
}

std::string Connection::flags() const {
  std::string f;  // in the order of Redis 7.0's getClientInfoString
  if (subscriptions_ > 0) f += 'P';
  if (transaction_.multi) f += 'x';
  if (blocked_) f += 'b';
  if (tracking_.on) f += 't';
  if (tracking_.broken_redirect) f += 'R';
  if (tracking_.bcast) f += 'B';
  if (close_ != CloseReason::none) f += 'c';
  if (no_evict_) f += 'e';
  if (no_touch_) f += 'T';
  return f.empty() ? "N" : f;
}

void Connection::reset_state() {
  protocol_ = 2;
  user_ = "default";  // Redis's clientSetDefaultAuth
  authenticated_ = !server_.auth_required();
  name_.clear();
  // Redis 7.0's RESET keeps CLIENT NO-EVICT (7.2 clears it); NO-TOUCH, a 7.2 flag, as 7.2.
  no_touch_ = false;
  reply_mode_ = ReplyMode::on;
  transaction_.clear();
  server_.pubsub().drop_client(id_);  // unsubscribes from everything, without replies
  server_.tracking().client_closed(id_);
  tracking_ = TrackingFlags{};
}

void Connection::kill() {
  close_ = CloseReason::killed;
  out_.clear();
  out_pos_ = 0;
  held_reply_.clear();
  deferred_pushes_.clear();
  pushed_spans_.clear();
  slots_.clear();
  set_wait(Wait::none);
  wake_at_ = kNever;
}

void Connection::reject(std::string_view error) {
  ReplyWriter reply(out_, protocol_);
  reply.error(error);
  ++server_.stats_.error_replies;
  close_ = CloseReason::after_reply;
}

void Connection::consume_output(std::size_t n) {
  n = std::min(n, out_.size() - out_pos_);
  out_pos_ += n;
  server_.stats_.net_output_bytes += n;
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
  }
}

void Connection::feed(TimePoint now, WallTime wall, std::string_view bytes) {
  last_activity_ = now;
  server_.stats_.net_input_bytes += bytes.size();
  if (close_ != CloseReason::none) return;  // Redis ignores what follows a fatal error
  // CONFIG SET proto-max-bulk-len applies to connected clients too, as in Redis.
  const std::int64_t max_bulk = server_.config().proto_max_bulk_len();
  if (parser_.limits().max_bulk_len != max_bulk) {
    ParserLimits limits = parser_.limits();
    limits.max_bulk_len = max_bulk;
    parser_.set_limits(limits);
  }
  if (in_pos_ == in_.size() && wait_ == Wait::none) {
    // Nothing buffered: parse straight from the caller's bytes and keep only an incomplete
    // tail, so a read that holds whole commands is never copied.
    in_.clear();
    in_pos_ = 0;
    const std::size_t used = run(bytes, now, wall);
    if (close_ == CloseReason::none && used < bytes.size()) in_.append(bytes.substr(used));
  } else {
    in_.append(bytes);
    if (wait_ == Wait::none) resume(now, wall);
  }
  if (close_ == CloseReason::none && static_cast<std::int64_t>(query_buffer_size()) >
                                         server_.config().client_query_buffer_limit()) {
    // Like redis-server: no reply, the client is dropped ("closing client that reached max
    // query buffer length").
    ++server_.stats_.query_buffer_disconnections;
    kill();
  }
}

void Connection::resume(TimePoint now, WallTime wall) {
  const std::size_t used = run(std::string_view(in_).substr(in_pos_), now, wall);
  in_pos_ += used;
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
    if (in_.capacity() > kKeepInputCapacity) in_.shrink_to_fit();
  } else if (wait_ == Wait::none && in_pos_ > 0) {
    in_.erase(0, in_pos_);  // the parser keeps offsets relative to the command start
    in_pos_ = 0;
  }
}

std::size_t Connection::run(std::string_view buf, TimePoint now, WallTime wall) {
  std::size_t pos = 0;
  while (wait_ == Wait::none && close_ == CloseReason::none && pos < buf.size()) {
    const ParseStatus status = parser_.parse(buf.substr(pos));
    if (status == ParseStatus::incomplete) break;
    if (status == ParseStatus::error) {
      std::string error;
      ReplyWriter reply(error, protocol_);
      reply.error(parser_.error());
      if (slots_.empty()) {
        out_.append(error);
      } else {
        slots_.push_back(Slot{{}, std::move(error), true, false});
      }
      ++server_.stats_.error_replies;
      close_ = CloseReason::after_reply;
      parser_.reset();
      return buf.size();  // the rest of the input is discarded
    }
    const std::size_t used = parser_.consumed();
    if (!parser_.argv().empty()) {
      if (!slots_.empty() && !may_run_ahead(parser_.argv())) {
        parser_.reset();  // parsed again once the replies before it are in
        set_wait(Wait::slots);
        break;
      }
      execute(parser_.argv(), now, wall);
    }
    pos += used;
    parser_.reset();
  }
  return pos;
}

bool Connection::reject_unknown(std::span<const std::string_view> argv, ReplyWriter& reply) {
  std::string msg = "unknown command '";
  msg.append(c_prefix(argv[0], 128));
  msg.append("', with args beginning with: ");
  std::size_t args_len = 0;
  for (std::size_t i = 1; i < argv.size() && args_len < 128; ++i) {
    const std::string_view a = c_prefix(argv[i], 128 - args_len);
    msg += '\'';
    msg.append(a);
    msg.append("' ");
    args_len += a.size() + 3;
  }
  reply.error(msg);
  return false;
}

void Connection::execute(std::span<const std::string_view> argv, TimePoint now, WallTime wall) {
  ReplyWriter reply(out_, protocol_);
  const std::size_t mark = out_.size();
  const bool skip_this = reply_mode_ == ReplyMode::skip_this;
  if (skip_this) reply_mode_ = ReplyMode::on;
  // Rejections (unknown command, bad arity) are replies too: CLIENT REPLY OFF/SKIP hide them.
  auto rejected = [&] {
    ++server_.stats_.error_replies;
    if (out_.size() > mark) server_.command_stats_.error(std::string_view(out_).substr(mark));
    if (transaction_.multi) transaction_.dirty = true;  // EXEC answers EXECABORT
    if (skip_this || reply_mode_ == ReplyMode::off) out_.resize(mark);
  };
  const CommandSpec* spec = server_.commands().find(argv[0]);
  if (spec == nullptr) {
    reject_unknown(argv, reply);
    return rejected();
  }
  if (!spec->subcommands.empty() && argv.size() >= 2) {
    const CommandSpec* sub = CommandTable::find_subcommand(*spec, argv[1]);
    if (sub == nullptr) {
      std::string upper(spec->name);
      for (char& c : upper) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
      reply.error("unknown subcommand '" + std::string(c_prefix(argv[1], 128)) + "'. Try " + upper +
                  " HELP.");
      return rejected();
    }
    spec = sub;
  }
  // Redis's rejectCommand: a refused EXEC discards the transaction (and the watched keys), in
  // MULTI or not, and says why (execCommandAbort).
  auto refuse = [&](std::string_view error) {
    if (spec->name == "exec") {
      transaction_.clear();
      if (!error.empty() && error[0] == '-') error.remove_prefix(1);
      reply.error("-EXECABORT Transaction discarded because of: " + std::string(error));
    } else {
      reply.error(error);
    }
    server_.command_stats_.rejected(*spec);
    rejected();
  };
  const auto argc = static_cast<std::int64_t>(argv.size());
  if ((spec->arity > 0 && argc != spec->arity) || argc < -spec->arity) {
    return refuse("wrong number of arguments for '" + spec->name + "' command");
  }
  // Redis's processCommand: authentication, then the user's ACL (before queuing in MULTI).
  if (!authenticated_ && (spec->flags & kNoAuth) == 0 && server_.auth_required()) {
    return refuse("-NOAUTH Authentication required.");
  }
  if (id_ != kInternalClient) {
    const std::string denied = server_.acl_refusal(
        *this, *spec, argv, transaction_.multi ? "multi" : "toplevel", now, wall);
    if (!denied.empty()) return refuse(denied);
  }
  // A script has been running past busy-reply-threshold: only what can end it runs, and the
  // commands Redis flags allow_busy (SCRIPT/FUNCTION KILL, FUNCTION STATS, MULTI, DISCARD,
  // UNWATCH, HELLO, AUTH, RESET, QUIT) -- but not WATCH, which would ask the cluster layer
  // (APIARY.WATCHV) from inside the script that holds it.
  if (!server_.busy_error().empty() &&
      ((spec->flags & kAllowBusy) == 0 || spec->name == "watch")) {
    return refuse(server_.busy_error());
  }
  last_command_ = spec;
  ++server_.stats_.commands_processed;
  // Over maxmemory, with nothing left to evict, a command that may grow the data is refused
  // before it runs (Redis's processCommand; commands that free memory still run). Inside
  // MULTI every command that would be queued is (queuing takes memory), and EXEC of a
  // transaction holding one that may grow the data.
  const std::string_view name = spec->name;
  const bool in_multi = transaction_.multi && name != "exec" && name != "discard" &&
                        name != "quit" && name != "reset";
  const bool exec = transaction_.multi && name == "exec";
  auto queued_with = [&](std::uint32_t flag) {
    return std::any_of(transaction_.queued.begin(), transaction_.queued.end(),
                       [&](const std::vector<std::string>& command) {
                         const std::vector<std::string_view> words(command.begin(), command.end());
                         const CommandSpec* queued = resolve_command(server_.commands(), words);
                         return queued != nullptr && (queued->flags & flag) != 0;
                       });
  };
  if (store::Store* st = server_.store();
      st != nullptr && st->config().maxmemory != 0 &&
      ((spec->flags & kDenyOom) != 0 || in_multi || (exec && queued_with(kDenyOom))) &&
      !st->make_room(wall).ok()) {
    return refuse("-OOM command not allowed when used memory > 'maxmemory'.");
  }
  // A node that cannot persist refuses writes (and PING, as Redis does) with MISCONF; EXEC
  // too when its transaction holds a write.
  if (const PersistenceControl* p = server_.persistence();
      p != nullptr && !p->write_refusal().empty() &&
      ((spec->flags & kWrite) != 0 || spec->name == "ping" || (exec && queued_with(kWrite)))) {
    return refuse(p->write_refusal());
  }

  // A MONITOR client (a replica in Redis) may not touch the keyspace.
  if ((spec->flags & (kWrite | kReadonly | kMayReplicate)) != 0 &&
      server_.diagnostics().is_monitor(id_)) {
    return refuse("Replica can't interact with the keyspace");
  }

  // Redis's processCommand: a RESP2 client in subscribe mode runs only these.
  if (subscriptions_ > 0 && protocol_ == 2 && name != "ping" && name != "subscribe" &&
      name != "ssubscribe" && name != "unsubscribe" && name != "sunsubscribe" &&
      name != "psubscribe" && name != "punsubscribe" && name != "quit" && name != "reset") {
    return refuse("Can't execute '" + spec->name +
                  "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed "
                  "in this context");
  }
  if (tracking_.on && (!transaction_.multi || exec)) {
    server_.tracking().before_command(*this, *spec, argv);  // EXEC: the queued commands' keys
  }

  CommandContext ctx{server_, *this, reply, argv, now, wall};
  executing_ = true;
  store::Store* untouched = no_touch_ && spec->name != "touch" ? server_.store() : nullptr;
  if (untouched != nullptr) untouched->set_touch_suppressed(true);
  const TimePoint started = server_.clock_now(now);
  const bool queued = transaction_.multi && queue(*spec, argv, reply);
  const Outcome outcome =
      queued ? Outcome::done() : server_.guarded(ctx, *spec, [&] {
        std::optional<Outcome> taken;
        if (spec->has_keys() && server_.forwarder()) taken = server_.forwarder()(ctx, *spec);
        return taken ? *taken : spec->handler(ctx);
      });
  if (untouched != nullptr) untouched->set_touch_suppressed(false);
  if (!queued) {
    const Duration ran = server_.clock_now(now) - started;
    CommandStats& stats = server_.command_stats_;
    stats.set_latency_tracking(server_.config().latency_tracking());
    // A reply that waits for other members is counted when it arrives (count_completed); a
    // blocking command counts the time it ran, not the time it waits.
    if (outcome.kind() != Outcome::Kind::pending || (spec->flags & kBlocking) != 0) {
      const bool failed = out_.size() > mark && out_[mark] == '-';
      if (failed) {
        ++server_.stats_.error_replies;
        stats.error(std::string_view(out_).substr(mark));
      }
      stats.call(*spec, ran, failed);
    }
    server_.diagnostics().command_ran(*this, *spec, argv, ran, wall);
  }
  protocol_ = reply.protocol();  // HELLO may have switched it

  // (Un)subscribe confirmations are pushes in Redis, which CLIENT REPLY OFF/SKIP leave alone.
  const bool confirms = (spec->flags & kPubsub) != 0 && name.ends_with("subscribe");
  const bool suppress = (skip_this || reply_mode_ == ReplyMode::off) && !confirms;
  if (reply_mode_ == ReplyMode::skip_next) reply_mode_ = ReplyMode::skip_this;
  // Takes the command's reply out of out_, leaving what was pushed while it ran (which goes to
  // the client now, whatever becomes of the reply).
  auto take_reply = [&] {
    std::string reply_bytes, pushed;
    std::size_t pos = mark;
    for (const auto& [at, n] : pushed_spans_) {
      if (at < pos || at + n > out_.size()) continue;
      reply_bytes.append(out_, pos, at - pos);
      pushed.append(out_, at, n);
      pos = at + n;
    }
    reply_bytes.append(out_, std::min(pos, out_.size()), std::string::npos);
    out_.resize(mark);
    out_.append(pushed);
    return reply_bytes;
  };
  switch (outcome.kind()) {
    case Outcome::Kind::done:
      if (close_ == CloseReason::killed) break;
      if (suppress) {
        (void)take_reply();
      } else if (!slots_.empty() && out_.size() > mark) {
        slots_.push_back(Slot{{}, take_reply(), true, false});
      }
      break;
    case Outcome::Kind::reply_after:
      held_reply_ = take_reply();
      held_suppressed_ = suppress;
      set_wait(Wait::timer);
      wake_at_ = now + outcome.delay();
      break;
    case Outcome::Kind::blocked:  // no cluster layer: the timeout's reply, when it passes
      blocked_ = true;
      held_reply_ = take_reply();
      held_suppressed_ = suppress;
      set_wait(Wait::timer);
      wake_at_ = outcome.delay() == Duration::zero() ? kNever : now + outcome.delay();
      break;
    case Outcome::Kind::pending:
      (void)take_reply();
      // A blocked command stops the pipeline, as in Redis: nothing runs until it is served.
      blocked_ = (spec->flags & kBlocking) != 0;
      if (spec->has_keys() && !blocked_) {
        slots_.push_back(Slot{outcome.token(), {}, false, suppress, spec, started});
        break;
      }
      held_suppressed_ = suppress;
      set_wait(Wait::token);
      waiting_for_ = outcome.token();
      waiting_spec_ = blocked_ || queued ? nullptr : spec;
      waiting_started_ = started;
      break;
  }
  executing_ = false;
  pushed_spans_.clear();
  pending_reply_ = outcome.kind() == Outcome::Kind::pending ? outcome.token() : PendingToken{};
  if (tracking_.on) server_.tracking().after_command(*this, *spec);
  if (server_.acl_dirty()) server_.spread_acl(now);
  if (!deferred_pushes_.empty() && wait_ != Wait::token) {
    if (close_ == CloseReason::none) out_.append(deferred_pushes_);
    deferred_pushes_.clear();
  }
  if (close_ != CloseReason::killed) check_output_limit(now);
}

void Connection::push(std::string_view bytes, bool after_reply) {
  // Pushes are not replies: CLIENT REPLY OFF and SKIP leave them alone, as in Redis 7.0.
  if (close_ != CloseReason::none) return;
  if (executing_) {
    if (after_reply) {
      deferred_pushes_.append(bytes);
    } else {  // where the running command's reply has got to, as Redis writes it
      pushed_spans_.emplace_back(out_.size(), bytes.size());
      out_.append(bytes);
    }
    return;
  }
  // After the reply of the command without keys this connection waits for (a SUBSCRIBE's
  // confirmation comes before the channel's first message); a client blocked in BLPOP and
  // the like gets them at once, as in Redis.
  if (wait_ == Wait::token && !blocked_) {
    deferred_pushes_.append(bytes);
  } else {
    out_.append(bytes);
    server_.note_pushed(id_);
  }
  // Redis's client-output-buffer-limit for pub/sub clients, hard part (32mb): a subscriber
  // that does not read is disconnected rather than let its messages grow without bound.
  if (out_.size() - out_pos_ + deferred_pushes_.size() > kPushOutputLimit) {
    ++server_.stats_.output_buffer_disconnections;
    kill();
    server_.mark_closing(id_);
  }
}

bool Connection::queue(const CommandSpec& spec, std::span<const std::string_view> argv,
                       ReplyWriter& reply) {
  if (!queues(spec)) return false;
  std::vector<std::string>& command = transaction_.queued.emplace_back(argv.begin(), argv.end());
  for (const auto& a : command) transaction_.queued_bytes += a.size();
  reply.simple("QUEUED");
  return true;
}

std::string Connection::filtered(PendingToken token, std::string_view reply) {
  auto it = filters_.find(token.value);
  if (it == filters_.end()) return std::string(reply);
  ReplyFilter filter = std::move(it->second);
  filters_.erase(it);
  return filter(*this, reply);
}

void Connection::check_output_limit(TimePoint now) {
  const OutputBufferLimit& limit = server_.config().output_buffer_limit();
  const auto pending = static_cast<std::int64_t>(out_.size() - out_pos_);
  bool over = limit.hard_bytes > 0 && pending > limit.hard_bytes;
  if (!over && limit.soft_bytes > 0 && pending > limit.soft_bytes) {
    if (soft_limit_since_ == kNever) soft_limit_since_ = now;
    over = now - soft_limit_since_ >= std::chrono::seconds(limit.soft_seconds);
  } else if (pending <= limit.soft_bytes || limit.soft_bytes == 0) {
    soft_limit_since_ = kNever;
  }
  if (over) {
    ++server_.stats_.output_buffer_disconnections;
    kill();
  }
}

void Connection::on_timer(TimePoint now, WallTime wall) {
  if (wait_ != Wait::timer || now < wake_at_) return;
  if (!held_suppressed_) out_.append(held_reply_);
  blocked_ = false;
  held_reply_.clear();
  set_wait(Wait::none);
  wake_at_ = kNever;
  check_output_limit(now);
  if (close_ == CloseReason::none) resume(now, wall);
}

bool Connection::may_run_ahead(std::span<const std::string_view> argv) const {
  if (slots_.size() >= kMaxInFlight) return false;
  const CommandSpec* spec = server_.commands().find(argv[0]);
  if (spec == nullptr || !spec->subcommands.empty() || !spec->has_keys()) return false;
  if ((spec->flags & kBlocking) != 0) return false;  // waits for what runs before it
  // A rejected command (wrong arity) writes its error at once: it must not overtake.
  const auto argc = static_cast<std::int64_t>(argv.size());
  return spec->arity > 0 ? argc == spec->arity : argc >= -spec->arity;
}

void Connection::flush_slots() {
  while (!slots_.empty() && slots_.front().done) {
    if (!slots_.front().suppressed) out_.append(slots_.front().reply);
    slots_.pop_front();
  }
}

void Connection::complete(PendingToken token, std::string_view reply, TimePoint now,
                          WallTime wall) {
  for (Slot& slot : slots_) {
    if (slot.done || !(slot.token == token)) continue;
    count_completed(slot.spec, slot.started, reply, now);
    slot.reply = filtered(token, reply);
    slot.done = true;
    flush_slots();
    check_output_limit(now);
    if (close_ == CloseReason::none && wait_ == Wait::slots) {
      set_wait(Wait::none);
      resume(now, wall);
    }
    return;
  }
  if (wait_ != Wait::token || !(token == waiting_for_)) {
    filters_.erase(token.value);
    return;
  }
  blocked_ = false;
  count_completed(waiting_spec_, waiting_started_, reply, now);
  waiting_spec_ = nullptr;
  const std::string out = filtered(token, reply);
  if (!held_suppressed_) out_.append(out);
  out_.append(deferred_pushes_);  // what arrived while it waited (a SUBSCRIBE's first messages)
  deferred_pushes_.clear();
  set_wait(Wait::none);
  check_output_limit(now);
  if (close_ == CloseReason::none) resume(now, wall);
}

void Connection::count_completed(const CommandSpec* spec, TimePoint started,
                                 std::string_view reply, TimePoint now) {
  if (spec == nullptr) return;
  const bool failed = !reply.empty() && reply.front() == '-';
  CommandStats& stats = server_.command_stats_;
  if (failed) {
    ++server_.stats_.error_replies;
    stats.error(reply);
  }
  const Duration took = server_.clock_now(now) - started;
  stats.call(*spec, took, failed);
  stats.remote(took);
}

}  // namespace apiary::resp
