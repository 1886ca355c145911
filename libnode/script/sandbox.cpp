// Building a Lua state as Redis 7.0 does (eval.c scriptingInit, function_lua.c
// luaEngineInitEngine, script_lua.c): the libraries, the allowed globals, the error handler,
// and read-only globals.
//
// Redis 7.0 patches its Lua with read-only tables; Debian's Lua has none, so protection is
// emulated: the globals a script sees are an empty proxy whose metatable reads through to the
// real globals and refuses writes, every library table is replaced by such a proxy, and the
// base functions that bypass metatables (rawset, rawget, next, pairs, setmetatable,
// getmetatable, table.insert) see through proxies or refuse read-only
// tables. Error texts are Redis's ("Attempt to modify a readonly table", "Script attempted to
// access nonexistent global variable 'x'").
#include <array>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "state.hpp"

extern "C" {
#include <lua-bitop.h>
#include <lua-cjson.h>
}

namespace apiary::script::detail {
namespace {

// Lua's allocator, counting against StateContext::limit. Shrinking never fails (Lua relies
// on it); growing past the limit answers nullptr, which Lua turns into "not enough memory".
void* allocate(void* ud, void* ptr, std::size_t osize, std::size_t nsize) {
  auto* ctx = static_cast<StateContext*>(ud);
  const std::size_t old = ptr == nullptr ? 0 : osize;
  if (nsize == 0) {
    std::free(ptr);
    ctx->allocated -= old;
    return nullptr;
  }
  if (nsize > old && ctx->allocated - old + nsize > ctx->limit) return nullptr;
  void* grown = std::realloc(ptr, nsize);
  if (grown != nullptr) ctx->allocated = ctx->allocated - old + nsize;
  return grown;
}

// Every entry into Lua goes through lua_pcall or lua_cpcall; reaching this is a bug.
int panic(lua_State*) { std::abort(); }

constexpr std::array<std::string_view, 23> kBaseAllowed = {
    "_G",           "_VERSION",     "assert",   "collectgarbage", "coroutine",  "error",
    "gcinfo",       "getmetatable", "ipairs",   "load",           "loadstring", "next",
    "pairs",        "pcall",        "rawequal", "rawget",         "rawset",     "select",
    "setmetatable", "tonumber",     "tostring", "type",           "unpack"};

bool allowed_global(std::string_view name) {
  static constexpr std::array<std::string_view, 10> extra = {
      "xpcall", "string", "table", "math", "debug", "cjson", "struct", "cmsgpack", "bit", "redis"};
  for (auto n : kBaseAllowed) {
    if (n == name) return true;
  }
  for (auto n : extra) {
    if (n == name) return true;
  }
  return false;
}

void load_library(lua_State* L, const char* name, lua_CFunction open) {
  lua_pushcfunction(L, open);
  lua_pushstring(L, name);
  lua_call(L, 1, 1);
  if (name[0] != '\0' && lua_istable(L, -1)) {
    lua_setfield(L, LUA_GLOBALSINDEX, name);
  } else {
    lua_pop(L, 1);
  }
}

// ---- read-only tables ----

// Pushes the table a proxy stands for, or the value itself.
void push_real(lua_State* L, int idx) {
  lua_pushvalue(L, idx);
  if (!lua_istable(L, -1)) return;
  lua_getfield(L, LUA_REGISTRYINDEX, kReadonlyKey);
  lua_pushvalue(L, -2);
  lua_rawget(L, -2);
  if (lua_istable(L, -1)) {
    lua_replace(L, -3);
    lua_pop(L, 1);
  } else {
    lua_pop(L, 2);
  }
}

bool is_readonly(lua_State* L, int idx) {
  if (!lua_istable(L, idx)) return false;
  lua_pushvalue(L, idx);
  lua_getfield(L, LUA_REGISTRYINDEX, kReadonlyKey);
  lua_insert(L, -2);
  lua_rawget(L, -2);
  const bool ro = !lua_isnil(L, -1);
  lua_pop(L, 2);
  return ro;
}

int readonly_error_here(lua_State* L) {
  lua_pushstring(L, "Attempt to modify a readonly table");
  return lua_error(L);
}

// __newindex of every proxy: the script's line goes in front, as Redis's Lua does.
int readonly_newindex(lua_State* L) { return luaL_error(L, "Attempt to modify a readonly table"); }

int nonexistent_global(lua_State* L) {
  if (lua_gettop(L) != 2)
    return luaL_error(L, "Wrong number of arguments to luaProtectedTableError");
  if (!lua_isstring(L, -1) && !lua_isnumber(L, -1)) {
    return luaL_error(L, "Second argument to luaProtectedTableError must be a string or number");
  }
  const char* name = lua_tostring(L, -1);
  return luaL_error(L, "Script attempted to access nonexistent global variable '%s'", name);
}

void set_error_metatable(lua_State* L) {
  lua_newtable(L);
  lua_pushcfunction(L, nonexistent_global);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
}

// Replaces the table on top with its read-only proxy and records both.
void make_proxy(lua_State* L) {
  lua_getfield(L, LUA_REGISTRYINDEX, kReadonlyKey);  // real, ro
  lua_newtable(L);                                   // real, ro, proxy
  lua_newtable(L);                                   // real, ro, proxy, mt
  lua_pushvalue(L, -4);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, readonly_newindex);
  lua_setfield(L, -2, "__newindex");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_pushvalue(L, -4);
  lua_rawset(L, -4);  // ro[proxy] = real
  lua_pushvalue(L, -3);
  lua_pushboolean(L, 1);
  lua_rawset(L, -4);  // ro[real] = true
  lua_replace(L, -3);
  lua_pop(L, 1);
}

// Replaces every table field of the table on top with a proxy (one level: Redis's libraries
// hold functions and constants).
void proxy_fields(lua_State* L) {
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    if (lua_istable(L, -1) && lua_type(L, -2) == LUA_TSTRING &&
        std::strcmp(lua_tostring(L, -2), "_G") != 0) {
      make_proxy(L);
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, -4);  // same key: allowed during lua_next
    } else {
      lua_pop(L, 1);
    }
  }
}

int ro_rawset(lua_State* L) {
  if (is_readonly(L, 1)) return readonly_error_here(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checkany(L, 2);
  luaL_checkany(L, 3);
  lua_settop(L, 3);
  lua_rawset(L, 1);
  return 1;
}

int ro_rawget(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checkany(L, 2);
  push_real(L, 1);
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);
  return 1;
}

int ro_next(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 2);
  push_real(L, 1);
  lua_pushvalue(L, 2);
  if (lua_next(L, -2)) return 2;
  lua_pushnil(L);
  return 1;
}

// Upvalues: the proxy-aware next, Lua's own next (for every table that is no proxy).
int ro_pairs(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  bool proxy = false;
  if (lua_getmetatable(L, 1)) {  // a proxy always has one: skip the lookup for plain tables
    lua_pop(L, 1);
    push_real(L, 1);
    proxy = !lua_rawequal(L, -1, 1);
    lua_pop(L, 1);
  }
  lua_pushvalue(L, lua_upvalueindex(proxy ? 1 : 2));
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

// A wrapped base function whose first argument must not be read-only.
int ro_guarded(lua_State* L) {
  if (is_readonly(L, 1)) return readonly_error_here(L);
  // Run the original in this frame, so its argument errors name the function as the script
  // called it ("bad argument #1 to 'insert'") and carry the script's line.
  const lua_CFunction original = lua_tocfunction(L, lua_upvalueindex(1));
  return original(L);
}

int ro_getmetatable(lua_State* L) {
  luaL_checkany(L, 1);
  push_real(L, 1);
  if (!lua_getmetatable(L, -1)) {
    lua_pushnil(L);
    return 1;
  }
  if (luaL_getmetafield(L, -2, "__metatable")) return 1;
  // A protected metatable is handed out as its proxy.
  lua_getfield(L, LUA_REGISTRYINDEX, "apiary.mt_proxies");
  lua_pushvalue(L, -2);
  lua_rawget(L, -2);
  if (lua_istable(L, -1)) return 1;
  lua_pop(L, 2);
  return 1;
}

void wrap_guarded(lua_State* L, int table, const char* name) {
  lua_getfield(L, table, name);
  lua_pushcclosure(L, ro_guarded, 1);
  lua_setfield(L, table, name);
}

void install_readonly_functions(lua_State* L) {
  lua_pushcfunction(L, ro_rawset);
  lua_setfield(L, LUA_GLOBALSINDEX, "rawset");
  lua_pushcfunction(L, ro_rawget);
  lua_setfield(L, LUA_GLOBALSINDEX, "rawget");
  lua_pushcfunction(L, ro_next);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_GLOBALSINDEX, "next");
  lua_getfield(L, LUA_GLOBALSINDEX, "pairs");  // Lua's pairs keeps Lua's next as upvalue 1
  lua_getupvalue(L, -1, 1);
  lua_remove(L, -2);
  lua_pushcclosure(L, ro_pairs, 2);
  lua_setfield(L, LUA_GLOBALSINDEX, "pairs");
  lua_pushcfunction(L, ro_getmetatable);
  lua_setfield(L, LUA_GLOBALSINDEX, "getmetatable");
  wrap_guarded(L, LUA_GLOBALSINDEX, "setmetatable");
  lua_getfield(L, LUA_GLOBALSINDEX, "table");
  const int t = lua_gettop(L);
  // insert is the only one that writes to an empty table (a proxy is empty: sort and remove
  // find nothing to move, as on Redis's read-only tables).
  wrap_guarded(L, t, "insert");
  lua_pop(L, 1);
}

// Redis's math.random/randomseed on its own generator (eval.c redis_math_random).
int math_random(lua_State* L) {
  constexpr double kMax = 2147483647.0;  // REDIS_LRAND48_MAX
  const double r = static_cast<double>(context(L)->rng->next() % 2147483647) / kMax;
  switch (lua_gettop(L)) {
    case 0:
      lua_pushnumber(L, r);
      break;
    case 1: {
      const int u = luaL_checkint(L, 1);
      luaL_argcheck(L, 1 <= u, 1, "interval is empty");
      lua_pushnumber(L, std::floor(r * u) + 1);
      break;
    }
    case 2: {
      const int l = luaL_checkint(L, 1);
      const int u = luaL_checkint(L, 2);
      luaL_argcheck(L, l <= u, 2, "interval is empty");
      lua_pushnumber(L, std::floor(r * (u - l + 1)) + l);
      break;
    }
    default:
      return luaL_error(L, "wrong number of arguments");
  }
  return 1;
}

int math_randomseed(lua_State* L) {
  context(L)->rng->seed(luaL_checkint(L, 1));
  return 0;
}

// The error handler of eval.c / function_lua.c, verbatim: it records where the error happened
// (the caller's line when a C function such as redis.call raised it).
constexpr const char* kErrorHandlerBody =
    "  local i = dbg.getinfo(2,'nSl')\n"
    "  if i and i.what == 'C' then\n"
    "    i = dbg.getinfo(3,'nSl')\n"
    "  end\n"
    "  if type(err) ~= 'table' then\n"
    "    err = {err='ERR ' .. tostring(err)}"
    "  end"
    "  if i then\n"
    "    err['source'] = i.source\n"
    "    err['line'] = i.currentline\n"
    "  end"
    "  return err\n"
    "end\n";

void install_error_handler(lua_State* L, StateKind kind) {
  std::string code = "local dbg = debug\ndebug = nil\n";
  if (kind == StateKind::eval) {
    code += "function __redis__err__handler(err)\n";
    code += kErrorHandlerBody;
    code += "return __redis__err__handler";
  } else {
    code += "local error_handler = function (err)\n";
    code += kErrorHandlerBody;
    code += "return error_handler";
  }
  lua_pushliteral(L, "@err_handler");  // anchored while Lua parses (CVE-2025-49844)
  if (luaL_loadbuffer(L, code.data(), code.size(), "@err_handler") != 0) lua_error(L);
  lua_call(L, 0, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, kErrorHandlerKey);
}

// Redis 7.0.15 replaces `pcall` so that a caught error table {err=...} reaches the script as
// its message string.
int redis_pcall(lua_State* L) {
  const int argc = lua_gettop(L);
  luaL_checkany(L, 1);
  lua_pushboolean(L, 1);
  lua_insert(L, 1);
  if (lua_pcall(L, argc - 1, LUA_MULTRET, 0) != 0) {
    lua_remove(L, 1);
    if (lua_istable(L, -1)) {
      lua_getfield(L, -1, "err");
      if (lua_isstring(L, -1)) {
        lua_replace(L, -2);
      } else {
        lua_pop(L, 1);
      }
    }
    lua_pushboolean(L, 0);
    lua_insert(L, 1);
  }
  return lua_gettop(L);
}

// ---- no bytecode ----
// Lua 5.1 loads precompiled chunks without verifying them, and crafted bytecode escapes any
// sandbox. Redis patches its parser to treat every chunk as text; here a chunk that starts
// with the bytecode signature's ESC gets a space in front, so the text parser sees it and
// fails exactly as Redis's does ("unexpected symbol near 'char(27)'", same line, same name).

int load_aux(lua_State* L, int status) {
  if (status == 0) return 1;
  lua_pushnil(L);
  lua_insert(L, -2);
  return 2;
}

int safe_loadstring(lua_State* L) {
  std::size_t len = 0;
  const char* s = luaL_checklstring(L, 1, &len);
  const char* chunkname = luaL_optstring(L, 2, s);
  if (len > 0 && s[0] == LUA_SIGNATURE[0]) {
    lua_pushliteral(L, " ");
    lua_pushvalue(L, 1);
    lua_concat(L, 2);
    s = lua_tolstring(L, -1, &len);
  }
  return load_aux(L, luaL_loadbuffer(L, s, len, chunkname));
}

struct ReaderState {
  bool first = true;
  bool pending = false;  // the first piece, held back behind the space
};

// luaB_load's generic_reader (stack: function, name, reserved slot), plus the space.
const char* safe_reader(lua_State* L, void* ud, std::size_t* size) {
  auto* state = static_cast<ReaderState*>(ud);
  if (state->pending) {
    state->pending = false;
    return lua_tolstring(L, 3, size);
  }
  luaL_checkstack(L, 2, "too many nested functions");
  lua_pushvalue(L, 1);
  lua_call(L, 0, 1);
  if (lua_isnil(L, -1)) {
    *size = 0;
    return nullptr;
  }
  if (!lua_isstring(L, -1)) luaL_error(L, "reader function must return a string");
  lua_replace(L, 3);
  const char* piece = lua_tolstring(L, 3, size);
  if (state->first && *size > 0) {
    state->first = false;
    if (piece[0] == LUA_SIGNATURE[0]) {
      state->pending = true;
      *size = 1;
      return " ";
    }
  }
  return piece;
}

int safe_load(lua_State* L) {
  luaL_optstring(L, 2, "=(load)");  // argument check, as luaB_load
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 3);
  // The name stays on the stack while Lua parses: Debian's Lua 5.1 does not anchor it
  // (CVE-2025-49844). loadstring's name is always one of its arguments.
  if (lua_isnil(L, 2)) {
    lua_pushliteral(L, "=(load)");
    lua_replace(L, 2);
  }
  const char* chunkname = lua_tostring(L, 2);
  ReaderState state;
  return load_aux(L, lua_load(L, safe_reader, &state, chunkname));
}

void remove_unsupported_globals(lua_State* L) {
  lua_pushnil(L);
  std::vector<std::string> doomed;
  while (lua_next(L, LUA_GLOBALSINDEX) != 0) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
      std::size_t len = 0;
      const char* s = lua_tolstring(L, -1, &len);
      if (!allowed_global(std::string_view(s, len))) doomed.emplace_back(s, len);
    }
  }
  for (const auto& name : doomed) {
    lua_pushnil(L);
    lua_setfield(L, LUA_GLOBALSINDEX, name.c_str());
  }
}

// Makes the globals read-only: the real table gets the nonexistent-variable metatable and its
// library tables become proxies; the state's globals become an empty proxy over it.
void protect_globals(lua_State* L) {
  lua_newtable(L);
  lua_newtable(L);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, kReadonlyKey);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, "apiary.mt_proxies");

  lua_pushvalue(L, LUA_GLOBALSINDEX);
  const int real = lua_gettop(L);
  proxy_fields(L);
  set_error_metatable(L);

  // The string metatable reads the library through its proxy.
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1);
  lua_getfield(L, real, "string");
  lua_setfield(L, -2, "__index");
  lua_getfield(L, LUA_REGISTRYINDEX, "apiary.mt_proxies");
  for (int which = 0; which < 2; ++which) {
    // the string metatable, then the real globals' metatable
    if (which == 0) {
      lua_pushvalue(L, -2);
    } else {
      lua_getmetatable(L, real);
    }
    lua_pushvalue(L, -1);
    make_proxy(L);
    lua_rawset(L, -3);
  }
  lua_pop(L, 3);

  // The proxy the scripts see as their globals (and as _G).
  lua_newtable(L);
  lua_newtable(L);
  lua_pushvalue(L, real);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, readonly_newindex);
  lua_setfield(L, -2, "__newindex");
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, kGlobalsMetaKey);
  lua_setmetatable(L, -2);
  lua_getfield(L, LUA_REGISTRYINDEX, kReadonlyKey);
  lua_pushvalue(L, -2);
  lua_pushvalue(L, real);
  lua_rawset(L, -3);
  lua_pushvalue(L, real);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  lua_pushvalue(L, -1);
  lua_setfield(L, real, "_G");
  lua_pushvalue(L, real);
  lua_setfield(L, LUA_REGISTRYINDEX, kGlobalsKey);
  lua_replace(L, LUA_GLOBALSINDEX);
  lua_pop(L, 1);
}

// FUNCTION LOAD's globals: only a `redis` table with register_function, log and the version,
// both failing on unknown names (function_lua.c luaEngineInitEngine).
void install_load_api(lua_State* L) {
  lua_newtable(L);
  push_load_redis_api(L);
  set_error_metatable(L);
  make_proxy(L);
  lua_setfield(L, -2, "redis");
  set_error_metatable(L);
  make_proxy(L);
  lua_setfield(L, LUA_REGISTRYINDEX, kLoadApiKey);
}

int setup(lua_State* L) {
  auto* ctx = static_cast<StateContext*>(lua_touserdata(L, 1));
  lua_settop(L, 0);
  load_library(L, "", luaopen_base);
  load_library(L, LUA_TABLIBNAME, luaopen_table);
  load_library(L, LUA_STRLIBNAME, luaopen_string);
  load_library(L, LUA_MATHLIBNAME, luaopen_math);
  load_library(L, LUA_DBLIBNAME, luaopen_debug);
  load_library(L, "cjson", luaopen_cjson);
  load_library(L, "struct", luaopen_struct);
  load_library(L, "cmsgpack", luaopen_cmsgpack);
  load_library(L, "bit", luaopen_bit);
  install_library_guards(L);
  remove_unsupported_globals(L);
  lua_pushcfunction(L, redis_pcall);
  lua_setfield(L, LUA_GLOBALSINDEX, "pcall");
  lua_pushcfunction(L, safe_loadstring);
  lua_setfield(L, LUA_GLOBALSINDEX, "loadstring");
  lua_pushcfunction(L, safe_load);
  lua_setfield(L, LUA_GLOBALSINDEX, "load");

  register_redis_api(L);
  lua_getfield(L, LUA_GLOBALSINDEX, "math");
  lua_pushcfunction(L, math_random);
  lua_setfield(L, -2, "random");
  lua_pushcfunction(L, math_randomseed);
  lua_setfield(L, -2, "randomseed");
  lua_pop(L, 1);

  install_error_handler(L, ctx->kind);
  install_readonly_functions(L);
  protect_globals(L);
  if (ctx->kind == StateKind::functions) install_load_api(L);
  return 0;
}

}  // namespace

lua_State* open_state(StateContext* ctx) {
  lua_State* L = lua_newstate(allocate, ctx);
  if (L == nullptr) return nullptr;
  lua_atpanic(L, panic);
  if (lua_cpcall(L, setup, ctx) != 0) {
    lua_close(L);
    return nullptr;
  }
  lua_settop(L, 0);
  return L;
}

void close_state(lua_State* L) {
  if (L != nullptr) lua_close(L);
}

}  // namespace apiary::script::detail
