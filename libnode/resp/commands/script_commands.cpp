// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, FCALL, FCALL_RO, SCRIPT and FUNCTION: the specs, as Redis
// 7.0 publishes them, and handlers that hand over to the scripting layer (scripting.hpp,
// implemented in libnode/script/service.cpp). They run on the client's node (kRunsHere): the
// scripting layer checks the arguments there, then sends the script to its keys' coordinator
// as the internal APIARY.EVAL / APIARY.FCALL (keyed, routed and replicated as a write;
// APIARY.EVAL_RO / APIARY.FCALL_RO as a read), carrying the script's sha and body so the
// coordinator never lacks it.
#include "apiary/resp/scripting.hpp"
#include "apiary/resp/server.hpp"
#include "commands.hpp"

namespace apiary::resp {
namespace {

Outcome unavailable(CommandContext& ctx) {
  ctx.reply.error("scripting is not available on this node");
  return Outcome::done();
}

template <ScriptCall kind>
Outcome call(CommandContext& ctx) {
  Scripting* s = ctx.server.scripting();
  return s != nullptr ? s->call(ctx, kind) : unavailable(ctx);
}

Outcome script(CommandContext& ctx) {
  Scripting* s = ctx.server.scripting();
  return s != nullptr ? s->script(ctx) : unavailable(ctx);
}

Outcome function(CommandContext& ctx) {
  Scripting* s = ctx.server.scripting();
  return s != nullptr ? s->function(ctx) : unavailable(ctx);
}

}  // namespace

void register_script_commands(CommandTable& table) {
  // Keys as Redis shows them (numkeys at 2); kRunsHere: the scripting layer routes them.
  constexpr std::uint32_t kEval =
      kNoScript | kStale | kSkipMonitor | kNoMandatoryKeys | kMovableKeys | kRunsHere;
  auto eval_like = [&](const char* name, std::uint32_t extra, std::string_view key_flags,
                       std::string_view summary, std::string_view since, CommandHandler h) {
    table.add(make_spec({name, -3, kEval | extra, 0, 0, 0, "@slow @scripting", key_flags,
                         "scripting", summary, since, "Depends on the script that is executed.",
                         h, 2}));
  };
  eval_like("eval", 0, "RW access update", "Execute a Lua script server side", "2.6.0",
            call<ScriptCall::eval>);
  eval_like("evalsha", 0, "RW access update", "Execute a Lua script server side", "2.6.0",
            call<ScriptCall::evalsha>);
  eval_like("eval_ro", kReadonly, "RO access", "Execute a read-only Lua script server side",
            "7.0.0", call<ScriptCall::eval_ro>);
  eval_like("evalsha_ro", kReadonly, "RO access", "Execute a read-only Lua script server side",
            "7.0.0", call<ScriptCall::evalsha_ro>);
  eval_like("fcall", 0, "RW access update", "Invoke a function", "7.0.0",
            call<ScriptCall::fcall>);
  eval_like("fcall_ro", kReadonly, "RO access", "Invoke a read-only function", "7.0.0",
            call<ScriptCall::fcall_ro>);

  // The coordinator's side: APIARY.EVAL[_RO] sha body numkeys key... arg... (the sha saves
  // hashing the body again), and APIARY.FCALL[_RO] function numkeys key... arg....
  auto internal = [&](const char* name, std::uint32_t flags, std::string_view summary,
                      CommandHandler h, int numkeys_index) {
    table.add(make_spec({name, -1 - numkeys_index,
                         flags | kNoScript | kMovableKeys | kNoMandatoryKeys, 0, 0, 0,
                         "@slow @scripting", flags & kWrite ? "RW access update" : "RO access",
                         "scripting", summary, "0.1.0", "Depends on the script", h,
                         numkeys_index}));
  };
  internal("apiary.eval", kWrite | kWritesOnError | kOneUnit,
           "Run a script at its keys' coordinator", call<ScriptCall::run_script>, 3);
  internal("apiary.eval_ro", kReadonly, "Run a read-only script at an owner of its keys",
           call<ScriptCall::run_script>, 3);
  internal("apiary.fcall", kWrite | kWritesOnError | kOneUnit,
           "Run a function at its keys' coordinator", call<ScriptCall::run_function>, 2);
  internal("apiary.fcall_ro", kReadonly, "Run a read-only function at an owner of its keys",
           call<ScriptCall::run_function>, 2);

  auto container_spec = [&](const char* name, std::string_view summary, std::string_view since,
                            CommandHandler h,
                            std::initializer_list<std::pair<const char*, std::pair<int, std::uint32_t>>> subs) {
    CommandSpec c = make_spec({name, -2, 0, 0, 0, 0, "@slow", "", "scripting", summary, since,
                               "Depends on subcommand.", container_command});
    for (const auto& [sub, shape] : subs) {
      const std::uint32_t flags = shape.second;
      c.subcommands.push_back(make_spec({sub, shape.first, flags, 0, 0, 0,
                                         flags & kWrite ? "@write @slow @scripting"
                                                        : "@slow @scripting",
                                         "", "scripting", "", since, "", h}));
    }
    table.add(std::move(c));
  };
  container_spec("script", "A container for Lua scripts management commands", "2.6.0", script,
                 {{"script|debug", {3, kNoScript}},
                  {"script|exists", {-3, kNoScript}},
                  {"script|flush", {-2, kNoScript}},
                  {"script|help", {2, kLoading | kStale}},
                  {"script|kill", {2, kNoScript | kAllowBusy}},
                  {"script|load", {3, kNoScript | kStale}}});
  container_spec("function", "A container for function commands", "7.0.0", function,
                 {{"function|delete", {3, kWrite | kNoScript}},
                  {"function|dump", {2, kNoScript}},
                  {"function|flush", {-2, kWrite | kNoScript}},
                  {"function|help", {2, kLoading | kStale}},
                  {"function|kill", {2, kNoScript | kAllowBusy}},
                  {"function|list", {-2, kNoScript}},
                  {"function|load", {-3, kWrite | kDenyOom | kNoScript}},
                  {"function|restore", {-3, kWrite | kDenyOom | kNoScript}},
                  {"function|stats", {2, kNoScript | kAllowBusy}}});
}

}  // namespace apiary::resp
