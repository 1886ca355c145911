// The `redis` table (script_lua.c luaRegisterRedisAPI and friends): call, pcall, log,
// setresp, sha1hex, error_reply, status_reply, set_repl, replicate_commands, breakpoint,
// debug, acl_check_cmd (answered by Host::acl_check), the LOG_* and REPL_* constants and the
// version. Texts are redis-server 7.0.15's.
#include <array>
#include <cstdio>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "convert.hpp"
#include "sha1.hpp"
#include "state.hpp"

namespace apiary::script::detail {

void push_error(lua_State* L, std::string_view message) {
  std::string code = "ERR";
  std::string_view msg = message;
  if (!message.empty() && message[0] == '-') {
    const auto space = message.find(' ');
    if (space == std::string_view::npos) {
      msg = message.substr(1);
    } else {
      code.assign(message.substr(1, space - 1));
      msg = message.substr(space + 1);
    }
  }
  while (!msg.empty() && (msg.back() == '\r' || msg.back() == '\n')) msg.remove_suffix(1);
  while (!msg.empty() && (msg.front() == '\r' || msg.front() == '\n')) msg.remove_prefix(1);
  code += ' ';
  code.append(msg);
  lua_newtable(L);
  lua_pushliteral(L, "err");
  lua_pushlstring(L, code.data(), code.size());
  lua_settable(L, -3);
}

void count_hook(lua_State* L, lua_Debug*) {
  StateContext* ctx = context(L);
  if (ctx->drafts != nullptr) {
    if (++ctx->load_hooks <= kLoadHookBudget) return;
    lua_sethook(L, count_hook, LUA_MASKLINE, 0);
    push_error(L, "FUNCTION LOAD timeout");
    lua_error(L);
    return;
  }
  if (!ctx->killed) {
    if (ctx->host == nullptr || ctx->host->on_hook() != HookVerdict::kill) return;
    ctx->killed = true;
    // Called on every line from now on, so a pcall cannot swallow the kill for long.
    lua_sethook(L, count_hook, LUA_MASKLINE, 0);
  }
  push_error(L, "Script killed by user with SCRIPT KILL...");
  lua_error(L);
}

namespace {

int raise_error(lua_State* L, const char* message) {
  push_error(L, message);
  return lua_error(L);
}

// The script's arguments (stack 1..argc, already checked) as the command's argv: numbers as
// Redis formats them ("%.17g", not Lua's "%.14g"), strings as they are.
class Argv {
 public:
  Argv(lua_State* L, int argc) {
    views_.reserve(static_cast<std::size_t>(argc));
    numbers_.reserve(static_cast<std::size_t>(argc));
    for (int j = 1; j <= argc; ++j) {
      if (lua_type(L, j) == LUA_TNUMBER) {
        auto& buf = numbers_.emplace_back();
        const int n = std::snprintf(buf.data(), buf.size(), "%.17g", lua_tonumber(L, j));
        views_.emplace_back(buf.data(), static_cast<std::size_t>(n));
      } else {
        std::size_t len = 0;
        const char* s = lua_tolstring(L, j, &len);
        views_.emplace_back(s, len);
      }
    }
  }
  std::span<const std::string_view> views() const { return views_; }

 private:
  std::vector<std::string_view> views_;
  std::vector<std::array<char, 64>> numbers_;
};

// Redis's luaArgsToRedisArgv checks: pushes the error table and returns false when there are
// no arguments or one is neither a string nor a number.
bool check_arguments(lua_State* L) {
  const int argc = lua_gettop(L);
  if (argc == 0) {
    push_error(L, "Please specify at least one argument for this redis lib call");
    return false;
  }
  for (int j = 1; j <= argc; ++j) {
    const int t = lua_type(L, j);
    if (t != LUA_TNUMBER && t != LUA_TSTRING) {
      lua_pop(L, argc);
      push_error(L, "Lua redis lib command arguments must be strings or integers");
      return false;
    }
  }
  return true;
}

// Runs argv (stack 1..argc, already checked) through the Host and pushes its reply bytes as
// a Lua string. The C++ objects live only here, so nothing raises while they are alive except
// the final push (a memory error, after the Host call).
void call_host(lua_State* L, StateContext* ctx, int argc) {
  std::string reply;
  {
    const Argv argv(L, argc);
    try {
      reply = ctx->host->call(argv.views(), ctx->resp);
    } catch (...) {
      reply = "-ERR internal error while running the command\r\n";
    }
  }
  if (reply.empty()) reply = "-ERR empty reply\r\n";
  lua_pushlstring(L, reply.data(), reply.size());
}

int generic_call(lua_State* L, bool raise) {
  StateContext* ctx = context(L);
  if (ctx->host == nullptr) {
    return raise_error(L, "redis.call/pcall can only be called inside a script invocation");
  }
  if (!check_arguments(L)) return raise ? lua_error(L) : 1;
  call_host(L, ctx, lua_gettop(L));
  lua_replace(L, 1);
  lua_settop(L, 1);
  std::size_t len = 0;
  const char* reply = lua_tolstring(L, 1, &len);
  const bool is_error = len > 0 && reply[0] == '-';
  push_resp_as_lua(L, reply, len);
  lua_remove(L, 1);
  if (raise && is_error) return lua_error(L);
  return 1;
}

int redis_call(lua_State* L) { return generic_call(L, true); }

// 1 allowed, 0 refused, -1 no such command.
int acl_verdict(lua_State* L, Host& host) {
  const Argv argv(L, lua_gettop(L));
  std::optional<bool> verdict;
  try {
    verdict = host.acl_check(argv.views());
  } catch (...) {
    verdict = false;
  }
  return verdict.has_value() ? (*verdict ? 1 : 0) : -1;
}

int redis_acl_check_cmd(lua_State* L) {
  StateContext* ctx = context(L);
  if (ctx->host == nullptr) {
    return raise_error(L, "redis.acl_check_cmd can only be called inside a script invocation");
  }
  if (!check_arguments(L)) return lua_error(L);
  const int verdict = acl_verdict(L, *ctx->host);
  if (verdict < 0) return raise_error(L, "Invalid command passed to redis.acl_check_cmd()");
  lua_pushboolean(L, verdict);
  return 1;
}
int redis_pcall(lua_State* L) { return generic_call(L, false); }

int redis_log(lua_State* L) {
  const int argc = lua_gettop(L);
  if (argc < 2) return raise_error(L, "redis.log() requires two arguments or more.");
  if (!lua_isnumber(L, -argc))
    return raise_error(L, "First argument must be a number (log level).");
  const auto level = static_cast<int>(lua_tonumber(L, -argc));
  if (level < 0 || level > 3) return raise_error(L, "Invalid debug level.");
  Host* host = context(L)->host;
  if (host == nullptr) return 0;  // FUNCTION LOAD: no Host to log to
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  bool first = true;
  for (int j = 2; j <= argc; ++j) {
    std::size_t len = 0;
    const char* s = lua_tolstring(L, j, &len);
    if (s == nullptr) continue;
    if (!first) luaL_addchar(&b, ' ');
    luaL_addlstring(&b, s, len);
    first = false;
  }
  luaL_pushresult(&b);
  std::size_t len = 0;
  const char* text = lua_tolstring(L, -1, &len);
  host->log(level, std::string_view(text, len));
  return 0;
}

int redis_setresp(lua_State* L) {
  StateContext* ctx = context(L);
  if (ctx->host == nullptr) {
    return raise_error(L, "redis.setresp can only be called inside a script invocation");
  }
  const int argc = lua_gettop(L);
  if (argc != 1) return raise_error(L, "redis.setresp() requires one argument.");
  const auto resp = static_cast<int>(lua_tonumber(L, -argc));
  if (resp != 2 && resp != 3) return raise_error(L, "RESP version must be 2 or 3.");
  ctx->resp = resp;
  return 0;
}

int redis_sha1hex(lua_State* L) {
  if (lua_gettop(L) != 1) return raise_error(L, "wrong number of arguments");
  std::size_t len = 0;
  const char* s = lua_tolstring(L, 1, &len);
  char digest[41];
  {
    const std::string hex = sha1_hex(s == nullptr ? std::string_view() : std::string_view(s, len));
    std::memcpy(digest, hex.c_str(), 41);
  }
  lua_pushstring(L, digest);
  return 1;
}

int single_field_table(lua_State* L, const char* field) {
  if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
    push_error(L, "wrong number or type of arguments");
    return 1;
  }
  lua_newtable(L);
  lua_pushstring(L, field);
  lua_pushvalue(L, -3);
  lua_settable(L, -3);
  return 1;
}

int redis_error_reply(lua_State* L) {
  if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
    push_error(L, "wrong number or type of arguments");
    return 1;
  }
  std::size_t len = 0;
  const char* err = lua_tolstring(L, -1, &len);
  if (len > 0 && err[0] == '-') {
    push_error(L, std::string_view(err, len));
  } else {
    lua_pushliteral(L, "-");
    lua_pushvalue(L, -2);
    lua_concat(L, 2);
    const char* with_dash = lua_tolstring(L, -1, &len);
    push_error(L, std::string_view(with_dash, len));
  }
  return 1;
}

int redis_status_reply(lua_State* L) { return single_field_table(L, "ok"); }

int redis_set_repl(lua_State* L) {
  if (context(L)->host == nullptr) {
    return raise_error(L, "redis.set_repl can only be called inside a script invocation");
  }
  if (lua_gettop(L) != 1) return raise_error(L, "redis.set_repl() requires two arguments.");
  const auto flags = static_cast<int>(lua_tonumber(L, -1));
  if ((flags & ~3) != 0) {
    return raise_error(
        L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
  }
  return 0;  // effects replication is always on: accepted, no effect
}

int redis_replicate_commands(lua_State* L) {
  lua_pushboolean(L, 1);
  return 1;
}

int redis_breakpoint(lua_State* L) {
  lua_pushboolean(L, 0);
  return 1;
}

int redis_debug(lua_State*) { return 0; }

void set_function(lua_State* L, const char* name, lua_CFunction f) {
  lua_pushcfunction(L, f);
  lua_setfield(L, -2, name);
}

void set_number(lua_State* L, const char* name, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, name);
}

void register_log_and_version(lua_State* L) {
  set_function(L, "log", redis_log);
  set_number(L, "LOG_DEBUG", 0);
  set_number(L, "LOG_VERBOSE", 1);
  set_number(L, "LOG_NOTICE", 2);
  set_number(L, "LOG_WARNING", 3);
  lua_pushliteral(L, "7.0.15");
  lua_setfield(L, -2, "REDIS_VERSION");
  set_number(L, "REDIS_VERSION_NUM", 0x07000f);
}

}  // namespace

void register_redis_api(lua_State* L) {
  lua_newtable(L);
  set_function(L, "call", redis_call);
  set_function(L, "pcall", redis_pcall);
  register_log_and_version(L);
  set_function(L, "setresp", redis_setresp);
  set_function(L, "sha1hex", redis_sha1hex);
  set_function(L, "error_reply", redis_error_reply);
  set_function(L, "status_reply", redis_status_reply);
  set_function(L, "set_repl", redis_set_repl);
  set_number(L, "REPL_NONE", 0);
  set_number(L, "REPL_AOF", 1);
  set_number(L, "REPL_SLAVE", 2);
  set_number(L, "REPL_REPLICA", 2);
  set_number(L, "REPL_ALL", 3);
  if (context(L)->kind == StateKind::eval) {  // eval.c adds these; functions do not have them
    set_function(L, "replicate_commands", redis_replicate_commands);
    set_function(L, "breakpoint", redis_breakpoint);
    set_function(L, "debug", redis_debug);
  }
  set_function(L, "acl_check_cmd", redis_acl_check_cmd);
  lua_setfield(L, LUA_GLOBALSINDEX, "redis");
}

void push_load_redis_api(lua_State* L) {
  lua_newtable(L);
  register_log_and_version(L);
  lua_pushcfunction(L, register_function);
  lua_setfield(L, -2, "register_function");
}

}  // namespace apiary::script::detail
