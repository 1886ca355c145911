// script::Service, running scripts and functions: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, FCALL,
// FCALL_RO on the client's node, APIARY.EVAL[_RO] / APIARY.FCALL[_RO] at the keys'
// coordinator, the Host that redis.call reaches, and the busy state of a long script.
#include "apiary/script/service.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include "../resp/commands/commands.hpp"
#include "../resp/commands/local_run.hpp"
#include "service_impl.hpp"

namespace apiary::script {

namespace {

using resp::CommandContext;
using resp::Outcome;
using resp::ScriptCall;

constexpr std::string_view kNoScript = "-NOSCRIPT No matching script. Please use EVAL.";
// Apiary is always a cluster: Redis Cluster's refusal of scripts that declare `no-cluster`.
constexpr std::string_view kNoCluster = "Can not run script on cluster, 'no-cluster' flag is set.";
constexpr std::string_view kNonLocalKey =
    "Script attempted to access a non local key in a cluster node script";
// How often a busy script lets the driver read the other clients (and answer gossip).
constexpr auto kServeEvery = std::chrono::milliseconds(10);
// From when a running script answers the failure detector's probes.
constexpr auto kKeepAliveAfter = std::chrono::milliseconds(200);

std::string error_line(std::string_view text) {
  std::string out;
  resp::ReplyWriter(out, 2).error(text);
  return out;
}

bool read_only_call(ScriptCall kind) {
  return kind == ScriptCall::eval_ro || kind == ScriptCall::evalsha_ro ||
         kind == ScriptCall::fcall_ro;
}

// What redis.call reaches: one command at a time, run here against the store.
class CallHost final : public Host {
 public:
  CallHost(Service::Impl& s, CommandContext& ctx, Running& running)
      : s_(s), ctx_(ctx), running_(running) {}

  std::string call(std::span<const std::string_view> argv, int protocol) override {
    const resp::CommandSpec* spec = resp::resolve_command(s_.server.commands(), argv);
    if (spec == nullptr) return error_line("Unknown Redis command called from script");
    if (!resp::arity_ok(*spec, argv.size())) {
      return error_line("Wrong number of args calling Redis command from script");
    }
    if ((spec->flags & resp::kNoScript) != 0 || resp::runs_only_alone(*spec) ||
        (spec->flags & resp::kRunsHere) != 0) {
      return error_line("This Redis command is not allowed from script");
    }
    const bool write = (spec->flags & resp::kWrite) != 0;
    if (write && running_.read_only) {
      return error_line("Write commands are not allowed from read-only scripts.");
    }
    // The caller's ACL user (Redis's scriptVerifyACL), before the cluster's key rule.
    switch (s_.server.acl_verdict(ctx_.client, *spec, argv, "lua", ctx_.now, ctx_.wall)) {
      case resp::AclVerdict::ok: break;
      case resp::AclVerdict::command:
        return error_line("The user executing the script can't run this command or subcommand");
      case resp::AclVerdict::key:
        return error_line(
            "The user executing the script can't access at least one of the keys mentioned in "
            "the command");
      case resp::AclVerdict::channel:
        return error_line(
            "The user executing the script can't publish to the channel mentioned in the "
            "command");
      default:
        return error_line("The user executing the script is lacking the permissions for the "
                          "command");
    }
    if (running_.check_keys && spec->has_keys()) {
      for (std::size_t k : resp::command_keys(*spec, argv)) {
        if (running_.keys.count(argv[k]) == 0) return error_line(kNonLocalKey);
      }
    }
    std::string out;
    const TimePoint started = s_.server.clock_now(ctx_.now);
    resp::run_here(s_.server, ctx_.client, *spec, argv, protocol, ctx_.now, ctx_.wall, out);
    s_.server.diagnostics().nested_command_ran(ctx_.client, *spec, argv,
                                               s_.server.clock_now(ctx_.now) - started, ctx_.wall,
                                               resp::Diagnostics::Nested::script);
    if (write && !out.empty() && out[0] != '-') running_.wrote = true;
    return out;
  }

  HookVerdict on_hook() override {
    const auto& watch = s_.server.busy_watch();
    if (!watch.now) return running_.kill ? HookVerdict::kill : HookVerdict::go_on;
    const TimePoint t = watch.now();
    if (watch.keep_alive && t - running_.started >= kKeepAliveAfter &&
        t - running_.last_alive >= kServeEvery) {
      running_.last_alive = t;
      watch.keep_alive();
    }
    const auto threshold = std::chrono::milliseconds(s_.server.config().busy_reply_threshold_ms());
    if (t - running_.started < threshold) return HookVerdict::go_on;
    if (s_.server.busy_error().empty()) {
      s_.server.set_busy(running_.function
                             ? "-BUSY Redis is busy running a script. You can only call "
                               "FUNCTION KILL or SHUTDOWN NOSAVE."
                             : "-BUSY Redis is busy running a script. You can only call "
                               "SCRIPT KILL or SHUTDOWN NOSAVE.");
    }
    if (watch.serve && t - running_.last_served >= kServeEvery) {
      running_.last_served = t;
      if (watch.serve(running_.client)) running_.kill = true;  // shutting down
    }
    return running_.kill ? HookVerdict::kill : HookVerdict::go_on;
  }

  void log(int level, std::string_view message) override {
    if (s_.log_sink) s_.log_sink(level, message);
  }

 private:
  Service::Impl& s_;
  CommandContext& ctx_;
  Running& running_;
};

struct Parsed {
  std::string_view target;  // the script, its sha, or the function's name
  std::span<const std::string_view> keys;
  std::span<const std::string_view> args;
};

// `argv`: [command, target, numkeys, key..., arg...] (`at`: the target's index; APIARY.EVAL
// has the sha before it). nullopt after replying the error.
std::optional<Parsed> parse_call(CommandContext& ctx, std::size_t at) {
  const auto n = resp::to_int(ctx.argv[at + 1]);
  if (!n) {
    ctx.reply.error(resp::kNotInteger);
    return std::nullopt;
  }
  if (*n < 0) {
    ctx.reply.error("Number of keys can't be negative");
    return std::nullopt;
  }
  if (static_cast<std::uint64_t>(*n) > ctx.argv.size() - at - 2) {
    ctx.reply.error("Number of keys can't be greater than number of args");
    return std::nullopt;
  }
  const auto numkeys = static_cast<std::size_t>(*n);
  return Parsed{ctx.argv[at], ctx.argv.subspan(at + 2, numkeys),
                ctx.argv.subspan(at + 2 + numkeys)};
}

}  // namespace

// Runs a script (sha) or function (name) here with `parsed`'s keys and arguments.
static void run_here(Service::Impl& s, CommandContext& ctx, const Parsed& parsed, bool function,
                     bool read_only) {
  Running running;
  running.function = function;
  running.name = std::string(parsed.target);
  running.command = resp::to_lower(ctx.argv[0]);
  running.client = ctx.client.id();
  running.read_only = read_only;
  running.keys.insert(parsed.keys.begin(), parsed.keys.end());
  running.check_keys = static_cast<bool>(s.server.forwarder());
  const auto& watch = s.server.busy_watch();
  running.started = watch.now ? watch.now() : ctx.now;
  running.last_served = running.started;
  running.last_alive = running.started;
  CallHost host(s, ctx, running);
  RunOptions options{parsed.keys, parsed.args, ctx.reply.protocol()};
  s.running = &running;
  std::string reply = function ? s.engine.run_function(parsed.target, options, host)
                               : s.engine.run_script(parsed.target, options, host);
  s.running = nullptr;
  s.server.set_busy({});
  if (watch.now) s.server.note_time(watch.now());  // the script may have run for a while
  ctx.reply.raw(reply);
}

Outcome Service::Impl::call(CommandContext& ctx, ScriptCall kind) {
  const auto parsed = parse_call(ctx, kind == ScriptCall::run_script ? 2 : 1);
  if (!parsed) return Outcome::done();
  const bool function =
      kind == ScriptCall::fcall || kind == ScriptCall::fcall_ro || kind == ScriptCall::run_function;

  // At the keys' coordinator (or an owner, for a read-only one): run it.
  if (kind == ScriptCall::run_script || kind == ScriptCall::run_function) {
    const bool read_only = resp::to_lower(ctx.argv[0]).ends_with("_ro");
    Parsed here = *parsed;
    std::string sha;
    if (!function) {
      sha = ctx.argv[1];
      if (!engine.has_script(sha)) {  // the body is hashed only when the script is new here
        auto loaded = load_script(parsed->target);
        if (!loaded.ok()) {
          ctx.reply.error("-" + loaded.refusal.message);
          return Outcome::done();
        }
        sha = *loaded.value;
      }
      here.target = sha;
    } else if (engine.find_function(parsed->target) == nullptr) {
      ctx.reply.error("Function not found");
      return Outcome::done();
    }
    run_here(*this, ctx, here, function, read_only);
    return Outcome::done();
  }

  // On the client's node: check what Redis checks, then send it to the keys' coordinator.
  std::string_view body;  // the cached copy: no copy per call
  std::string sha;
  Flags flags;  // a function's are always declared
  if (function) {
    const Function* f = engine.find_function(parsed->target);
    if (f == nullptr) {
      ctx.reply.error("Function not found");
      return Outcome::done();
    }
    flags = f->flags;
  } else {
    if (kind == ScriptCall::eval || kind == ScriptCall::eval_ro) {
      sha = Engine::sha1_hex(parsed->target);
      if (!engine.has_script(sha)) {  // new here: compile it, and tell the others
        auto loaded = load_script(parsed->target);
        if (!loaded.ok()) {
          ctx.reply.error("-" + loaded.refusal.message);
          return Outcome::done();
        }
        sha = *loaded.value;
        tell(ctx.now, "script.load", {std::string(parsed->target)});
      }
    } else {
      sha = resp::to_lower(parsed->target);
      if (!engine.has_script(sha)) {
        ctx.reply.error(kNoScript);
        return Outcome::done();
      }
    }
    body = *engine.script_body(sha);
    flags = *engine.script_flags(sha);
  }
  if (flags.no_cluster) {
    ctx.reply.error(kNoCluster);
    return Outcome::done();
  }
  const bool may_write = !(flags.declared && flags.no_writes);
  const bool read_only = read_only_call(kind) || !may_write;
  // A script without a shebang keeps Redis's old rules: EVAL_RO runs it, refusing writes.
  if (read_only_call(kind) && may_write && flags.declared) {
    ctx.reply.error(kWriteFlagRo);
    return Outcome::done();
  }
  const resp::Server::Forwarder& forwarder = server.forwarder();
  // Inside a transaction (already at its keys' coordinator) a script runs where it is.
  if (!parsed->keys.empty() && forwarder && !server.local_only()) {
    const char* internal = function ? (read_only ? "apiary.fcall_ro" : "apiary.fcall")
                                    : (read_only ? "apiary.eval_ro" : "apiary.eval");
    std::vector<std::string_view> argv;
    argv.reserve(ctx.argv.size() + 1);
    argv.push_back(internal);
    if (function) {
      argv.insert(argv.end(), ctx.argv.begin() + 1, ctx.argv.end());
    } else {
      argv.push_back(sha);
      argv.push_back(body);
      argv.insert(argv.end(), ctx.argv.begin() + 2, ctx.argv.end());
    }
    const resp::CommandSpec* spec = server.commands().find(internal);
    resp::CommandContext routed{ctx.server, ctx.client, ctx.reply, argv, ctx.now, ctx.wall};
    if (spec != nullptr) {
      if (auto taken = forwarder(routed, *spec)) return *taken;
    }
  }
  // No keys (or no cluster layer): here.
  Parsed here = *parsed;
  if (!function) here.target = sha;
  run_here(*this, ctx, here, function, read_only);
  return Outcome::done();
}

void Service::Impl::kill(CommandContext& ctx, bool function) {
  if (running == nullptr || running->function != function) {
    ctx.reply.error("-NOTBUSY No scripts in execution right now.");
    return;
  }
  if (running->wrote) {
    ctx.reply.error(
        "-UNKILLABLE Sorry the script already executed write commands against the dataset. You "
        "can either wait the script termination or kill the server in a hard way using the "
        "SHUTDOWN NOSAVE command.");
    return;
  }
  running->kill = true;
  ctx.reply.ok();
}

Service::Service(resp::Server& server) : impl_(std::make_unique<Impl>(server)) {
  Impl* impl = impl_.get();
  server.set_member_handler([impl](std::string_view op, std::span<const std::string> args) {
    return impl->on_member(op, args);
  });
}

Service::~Service() { impl_->server.set_member_handler({}); }

Outcome Service::call(CommandContext& ctx, ScriptCall kind) { return impl_->call(ctx, kind); }
Outcome Service::script(CommandContext& ctx) { return impl_->script(ctx); }
Outcome Service::function(CommandContext& ctx) { return impl_->function(ctx); }

void Service::set_log_sink(std::function<void(int, std::string_view)> sink) {
  impl_->log_sink = std::move(sink);
}

void Service::set_libraries_listener(std::function<void()> listener) {
  impl_->libraries_listener = std::move(listener);
}

}  // namespace apiary::script
