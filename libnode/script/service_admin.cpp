// script::Service, managing scripts and libraries: SCRIPT and FUNCTION, the other members'
// questions (Server::member_handler), sync(), and FUNCTION DUMP / RESTORE's payload.
#include <algorithm>
#include <cstring>

#include "../resp/commands/commands.hpp"
#include "apiary/persist/rdb_dump.hpp"
#include "apiary/resp/server_config.hpp"
#include "service_impl.hpp"

namespace apiary::script {

namespace {

using resp::CommandContext;
using resp::Outcome;

void reply_function_flags(resp::ReplyWriter& reply, const Flags& f) {
  std::vector<std::string_view> names;
  if (f.no_writes) names.emplace_back("no-writes");
  if (f.allow_oom) names.emplace_back("allow-oom");
  if (f.allow_stale) names.emplace_back("allow-stale");
  if (f.no_cluster) names.emplace_back("no-cluster");
  if (f.allow_cross_slot_keys) names.emplace_back("allow-cross-slot-keys");
  reply.set(names.size());
  for (auto n : names) reply.simple(n);
}

}  // namespace

void Service::Impl::tell(TimePoint now, std::string op, std::vector<std::string> args) {
  if (resp::ClusterKeyspace* cluster = server.cluster_members()) {
    cluster->tell_members(now, std::move(op), std::move(args));
  }
}

std::vector<std::string> Service::Impl::on_member(std::string_view op,
                                                  std::span<const std::string> args) {
  std::vector<std::string> out;
  if (op == "script.load") {
    for (const auto& body : args) (void)load_script(body);
  } else if (op == "script.flush") {
    flush_scripts();
  } else if (op == "script.all") {
    // Every cached body (the sha is recomputed by whoever loads it).
    for (const auto& sha : scripts) {
      if (const std::string* body = engine.script_body(sha)) out.push_back(*body);
    }
  } else if (op == "function.load" && args.size() == 1) {
    if (engine.load_library(args[0], true).ok()) libraries_changed();
  } else if (op == "function.delete" && args.size() == 1) {
    if (engine.delete_library(args[0])) libraries_changed();
  } else if (op == "function.flush") {
    engine.flush_libraries();
    libraries_changed();
  } else if (op == "function.all") {
    for (const Library* lib : engine.libraries()) out.push_back(lib->code);
  }
  return out;
}

Outcome Service::Impl::script(CommandContext& ctx) {
  const std::string_view sub = ctx.argv[1];
  if (resp::iequals(sub, "help")) {
    resp::reply_help(
        ctx.reply, "SCRIPT",
        {"DEBUG (YES|SYNC|NO)", "    Set the debug mode for subsequent scripts executed.",
         "EXISTS <sha1> [<sha1> ...]",
         "    Return information about the existence of the scripts in the script cache.",
         "FLUSH [ASYNC|SYNC]", "    Flush the Lua scripts cache. Very dangerous on replicas.",
         "    When called without the optional mode argument, the behavior is determined by the",
         "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
         "    * ASYNC: Asynchronously flush the scripts cache.",
         "    * SYNC: Synchronously flush the scripts cache.", "KILL",
         "    Kill the currently executing Lua script.", "LOAD <script>",
         "    Load a script into the scripts cache without executing it."});
  } else if (resp::iequals(sub, "load")) {
    const bool known = engine.has_script(Engine::sha1_hex(ctx.argv[2]));
    auto loaded = load_script(ctx.argv[2]);
    if (!loaded.ok()) {
      ctx.reply.error("-" + loaded.refusal.message);
    } else {
      if (!known) tell(ctx.now, "script.load", {std::string(ctx.argv[2])});
      ctx.reply.bulk(*loaded.value);
    }
  } else if (resp::iequals(sub, "exists")) {
    ctx.reply.array(ctx.argv.size() - 2);
    for (std::size_t i = 2; i < ctx.argv.size(); ++i) {
      ctx.reply.integer(engine.has_script(ctx.argv[i]) ? 1 : 0);
    }
  } else if (resp::iequals(sub, "flush")) {
    if (ctx.argv.size() > 3 || (ctx.argv.size() == 3 && !resp::iequals(ctx.argv[2], "sync") &&
                                !resp::iequals(ctx.argv[2], "async"))) {
      ctx.reply.error("SCRIPT FLUSH only support SYNC|ASYNC option");
    } else {
      flush_scripts();
      tell(ctx.now, "script.flush", {});
      ctx.reply.ok();
    }
  } else if (resp::iequals(sub, "kill")) {
    kill(ctx, false);
  } else if (resp::iequals(sub, "debug")) {
    if (resp::iequals(ctx.argv[2], "no")) {
      ctx.reply.ok();
    } else if (resp::iequals(ctx.argv[2], "yes") || resp::iequals(ctx.argv[2], "sync")) {
      ctx.reply.error("SCRIPT DEBUG is not supported by Apiary (use redis.log and redis.pcall)");
    } else {
      ctx.reply.error("Use SCRIPT DEBUG YES/SYNC/NO");
    }
  }
  return Outcome::done();
}

namespace {

void reply_list(CommandContext& ctx, const Engine& engine) {
  std::optional<std::string_view> pattern;
  bool with_code = false;
  for (std::size_t i = 2; i < ctx.argv.size(); ++i) {
    if (resp::iequals(ctx.argv[i], "withcode") && !with_code) {
      with_code = true;
    } else if (resp::iequals(ctx.argv[i], "libraryname") && !pattern) {
      if (i + 1 >= ctx.argv.size()) {
        ctx.reply.error("library name argument was not given");
        return;
      }
      pattern = ctx.argv[++i];
    } else {
      ctx.reply.error("Unknown argument " + std::string(ctx.argv[i]));
      return;
    }
  }
  std::vector<const Library*> shown;
  for (const Library* lib : engine.libraries()) {
    if (!pattern || resp::glob_match(*pattern, lib->name)) shown.push_back(lib);
  }
  auto& r = ctx.reply;
  r.array(shown.size());
  for (const Library* lib : shown) {
    r.map(with_code ? 4 : 3);
    r.bulk("library_name");
    r.bulk(lib->name);
    r.bulk("engine");
    r.bulk(lib->engine);
    r.bulk("functions");
    r.array(lib->functions.size());
    for (const Function& f : lib->functions) {
      r.map(3);
      r.bulk("name");
      r.bulk(f.name);
      r.bulk("description");
      if (f.description.empty()) {
        r.null();
      } else {
        r.bulk(f.description);
      }
      r.bulk("flags");
      reply_function_flags(r, f.flags);
    }
    if (with_code) {
      r.bulk("library_code");
      r.bulk(lib->code);
    }
  }
}

}  // namespace

Outcome Service::Impl::function(CommandContext& ctx) {
  const std::string_view sub = ctx.argv[1];
  auto& r = ctx.reply;
  if (resp::iequals(sub, "help")) {
    resp::reply_help(
        r, "FUNCTION",
        {"LOAD [REPLACE] <FUNCTION CODE>",
         "    Create a new library with the given library name and code.",
         "DELETE <LIBRARY NAME>",
         "    Delete the given library.",
         "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
         "    Return general information on all the libraries:",
         "    * Library name",
         "    * The engine used to run the Library",
         "    * Library description",
         "    * Functions list",
         "    * Library code (if WITHCODE is given)",
         "    It also possible to get only function that matches a pattern using LIBRARYNAME "
         "argument.",
         "STATS",
         "    Return information about the current function running:",
         "    * Function name",
         "    * Command used to run the function",
         "    * Duration in MS that the function is running",
         "    If no function is running, return nil",
         "    In addition, returns a list of available engines.",
         "KILL",
         "    Kill the current running function.",
         "FLUSH [ASYNC|SYNC]",
         "    Delete all the libraries.",
         "    When called without the optional mode argument, the behavior is determined by the",
         "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
         "    * ASYNC: Asynchronously flush the libraries.",
         "    * SYNC: Synchronously flush the libraries.",
         "DUMP",
         "    Return a serialized payload representing the current libraries, can be restored "
         "using FUNCTION RESTORE command",
         "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
         "    Restore the libraries represented by the given payload, it is possible to give a "
         "restore policy to",
         "    control how to handle existing libraries (default APPEND):",
         "    * FLUSH: delete all existing libraries.",
         "    * APPEND: appends the restored libraries to the existing libraries. On collision, "
         "abort.",
         "    * REPLACE: appends the restored libraries to the existing libraries, On collision, "
         "replace the old",
         "      libraries with the new libraries (notice that even on this option there is a "
         "chance of failure",
         "      in case of functions name collision with another library)."});
  } else if (resp::iequals(sub, "load")) {
    bool replace = false;
    for (std::size_t i = 2; i + 1 < ctx.argv.size(); ++i) {
      if (!resp::iequals(ctx.argv[i], "replace")) {
        r.error("Unknown option given: " + std::string(ctx.argv[i]));
        return Outcome::done();
      }
      replace = true;
    }
    const std::string_view code = ctx.argv.back();
    auto loaded = engine.load_library(code, replace);
    if (!loaded.ok()) {
      r.error("-" + loaded.refusal.message);
    } else {
      libraries_changed();
      tell(ctx.now, "function.load", {std::string(code)});
      r.bulk(*loaded.value);
    }
  } else if (resp::iequals(sub, "delete")) {
    if (!engine.delete_library(ctx.argv[2])) {
      r.error("Library not found");
    } else {
      libraries_changed();
      tell(ctx.now, "function.delete", {std::string(ctx.argv[2])});
      r.ok();
    }
  } else if (resp::iequals(sub, "flush")) {
    if (ctx.argv.size() > 3 || (ctx.argv.size() == 3 && !resp::iequals(ctx.argv[2], "sync") &&
                                !resp::iequals(ctx.argv[2], "async"))) {
      r.error("FUNCTION FLUSH only supports SYNC|ASYNC option");
    } else {
      engine.flush_libraries();
      libraries_changed();
      tell(ctx.now, "function.flush", {});
      r.ok();
    }
  } else if (resp::iequals(sub, "list")) {
    reply_list(ctx, engine);
  } else if (resp::iequals(sub, "stats")) {
    r.map(2);
    r.bulk("running_script");
    if (running == nullptr || !running->function) {
      r.null();
    } else {
      r.map(3);
      r.bulk("name");
      r.bulk(running->name);
      r.bulk("command");
      r.array(1);
      r.bulk(running->command);
      r.bulk("duration_ms");
      const auto& watch = server.busy_watch();
      const TimePoint t = watch.now ? watch.now() : ctx.now;
      r.integer(
          std::chrono::duration_cast<std::chrono::milliseconds>(t - running->started).count());
    }
    r.bulk("engines");
    r.map(1);
    r.bulk("LUA");
    r.map(2);
    r.bulk("libraries_count");
    r.integer(static_cast<std::int64_t>(engine.libraries().size()));
    r.bulk("functions_count");
    r.integer(static_cast<std::int64_t>(engine.function_count()));
  } else if (resp::iequals(sub, "kill")) {
    kill(ctx, true);
  } else if (resp::iequals(sub, "dump")) {
    r.bulk(dump());
  } else if (resp::iequals(sub, "restore")) {
    std::string_view policy = "append";
    if (ctx.argv.size() > 4) {
      r.error("unknown subcommand or wrong number of arguments for 'RESTORE'. Try FUNCTION HELP.");
      return Outcome::done();
    }
    if (ctx.argv.size() == 4) {
      policy = ctx.argv[3];
      if (!resp::iequals(policy, "flush") && !resp::iequals(policy, "append") &&
          !resp::iequals(policy, "replace")) {
        r.error("Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
        return Outcome::done();
      }
    }
    const auto codes = persist::rdb_read_dump_functions(ctx.argv[2]);
    if (!codes.ok()) {
      r.error("DUMP payload version or checksum are wrong");
      return Outcome::done();
    }
    const Status st =
        restore(*codes, resp::iequals(policy, "flush"), resp::iequals(policy, "replace"));
    if (!st.ok()) {
      r.error("-" + st.message());
      return Outcome::done();
    }
    libraries_changed();
    // The others take the same libraries, whatever they held.
    tell(ctx.now, "function.flush", {});
    for (const Library* lib : engine.libraries()) tell(ctx.now, "function.load", {lib->code});
    r.ok();
  }
  return Outcome::done();
}

Status Service::Impl::restore(const std::vector<std::string>& codes, bool flush, bool replace) {
  // All or nothing: the current libraries are put back when one does not load.
  std::vector<std::string> before;
  for (const Library* lib : engine.libraries()) before.push_back(lib->code);
  if (flush) engine.flush_libraries();
  for (const auto& code : codes) {
    auto loaded = engine.load_library(code, replace);
    if (!loaded.ok()) {
      engine.flush_libraries();
      for (const auto& c : before) (void)engine.load_library(c, true);
      // FUNCTION RESTORE names the library without the quotes FUNCTION LOAD puts around it.
      std::string message = loaded.refusal.message;
      constexpr std::string_view kExists = "ERR Library '";
      if (message.starts_with(kExists) && message.ends_with("' already exists")) {
        const std::string name =
            message.substr(kExists.size(), message.size() - kExists.size() - 16);
        message = "ERR Library " + name + " already exists";
      }
      return make_error(StatusCode::invalid_argument, message);
    }
  }
  return Status::Ok();
}

void Service::sync(TimePoint now) {
  resp::ClusterKeyspace* cluster = impl_->server.cluster_members();
  if (cluster == nullptr) return;
  Impl* impl = impl_.get();
  cluster->ask_members(now, "script.all", {}, [impl](resp::ClusterKeyspace::MemberAnswers all) {
    for (const auto& answer : all) {
      for (const auto& body : answer) (void)impl->load_script(body);
    }
  });
  cluster->ask_members(now, "function.all", {}, [impl](resp::ClusterKeyspace::MemberAnswers all) {
    bool changed = false;
    for (const auto& answer : all) {
      for (const auto& code : answer) {
        // A library this node has keeps its version; one it lacks is taken.
        auto loaded = impl->engine.load_library(code, false);
        changed = changed || loaded.ok();
      }
    }
    if (changed) impl->libraries_changed();
  });
}

std::string Service::Impl::dump() const {
  std::vector<std::string_view> codes;
  for (const Library* lib : engine.libraries()) codes.push_back(lib->code);
  return persist::rdb_dump_functions(codes);
}

std::string Service::dump_libraries() const { return impl_->dump(); }

Status Service::restore_libraries(std::string_view payload) {
  if (payload.empty()) return Status::Ok();
  const auto codes = persist::rdb_read_dump_functions(payload);
  if (!codes.ok()) {
    return make_error(StatusCode::malformed, "function libraries: " + codes.status().message());
  }
  return impl_->restore(*codes, true, true);
}

void Service::info(std::string& out) const {
  const Engine& e = impl_->engine;
  std::size_t code = 0;
  for (const Library* lib : e.libraries()) code += lib->code.size();
  auto line = [&](std::string_view k, std::size_t v) {
    out.append(k).append(":").append(std::to_string(v)).append("\r\n");
  };
  // Redis 7.0's names and order (INFO memory).
  line("used_memory_lua", e.eval_memory_bytes());
  line("used_memory_vm_eval", e.eval_memory_bytes());
  line("used_memory_scripts_eval", e.scripts_bytes());
  line("number_of_cached_scripts", e.script_count());
  line("number_of_functions", e.function_count());
  line("number_of_libraries", e.libraries().size());
  line("used_memory_vm_functions", e.functions_memory_bytes());
  line("used_memory_vm_total", e.eval_memory_bytes() + e.functions_memory_bytes());
  line("used_memory_functions", code);
  line("used_memory_scripts", e.scripts_bytes() + code);
}

}  // namespace apiary::script
