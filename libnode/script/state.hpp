// What every part of the engine shares about one Lua state: the Lua headers, the context a
// state carries (found from any lua_State through its allocator's user data, so hooks and C
// functions need no registry lookup), Redis's deterministic PRNG, and the error helpers.
//
// Map of the engine's files: sandbox.cpp builds a state (libraries, global protection, error
// handler); redis_api.cpp is the `redis` table; convert.cpp converts replies both ways;
// engine.cpp holds the script cache and runs scripts; functions.cpp loads FUNCTION libraries
// and runs their functions; shebang.cpp parses `#!lua` lines; lua_struct.cpp and
// lua_cmsgpack.cpp are the `struct` and `cmsgpack` libraries; library_guards.cpp carries
// Redis's fixes over Debian's cjson, bitop and Lua 5.1 (Debian's packages lack them).
//
// Lua 5.1 raises errors with longjmp: a C function that may raise keeps no C++ object with a
// destructor alive across the raising call (a memory error is the exception: it can only leak).
// Scripts never load bytecode, and every entry into Lua is protected (lua_pcall/lua_cpcall).
#pragma once

extern "C" {
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
}

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/script/engine.hpp"

namespace apiary::script::detail {

// Redis's redisLrand48 (src/rand.c): the 48-bit linear congruential generator of lrand48, with
// its own state so a script's math.random sequence matches redis-server's. Redis 7.0 seeds it
// once (the libc default state) and never again unless a script calls math.randomseed; eval
// scripts and functions share it.
class Rand48 {
 public:
  void seed(std::int32_t value) {
    const auto v = static_cast<std::uint32_t>(value);
    x_ = 0x330E | (std::uint64_t{v & 0xFFFF} << 16) | (std::uint64_t{v >> 16} << 32);
  }
  std::int32_t next() {
    x_ = (0x5DEECE66DULL * x_ + 0xB) & ((1ULL << 48) - 1);
    return static_cast<std::int32_t>(x_ >> 17);
  }

 private:
  std::uint64_t x_ = 0x1234ABCD330EULL;
};

enum class StateKind : unsigned char { eval, functions };

// A function registered by redis.register_function while a library loads.
struct FunctionDraft {
  std::string name;
  std::string description;
  Flags flags;
  int ref = LUA_NOREF;  // the callback, in the registry
};

// The most one Lua state (the scripts', or the functions') may allocate.
inline constexpr std::size_t kLuaMemoryLimit = std::size_t{512} << 20;

struct StateContext {
  StateKind kind = StateKind::eval;
  Rand48* rng = nullptr;
  Host* host = nullptr;  // set while a script or function runs
  int resp = 2;          // redis.setresp
  bool killed = false;   // the Host said kill: every further hook raises again
  // FUNCTION LOAD: the library body is running and registers into `drafts`.
  std::vector<FunctionDraft>* drafts = nullptr;
  std::uint64_t load_hooks = 0;
  // What the state's allocator holds, and its cap: a script that grows past it gets Lua's
  // "not enough memory" error instead of taking the node's memory (Redis sets no cap).
  std::size_t allocated = 0;
  std::size_t limit = kLuaMemoryLimit;
};

inline StateContext* context(lua_State* L) {
  void* ud = nullptr;
  lua_getallocf(L, &ud);
  return static_cast<StateContext*>(ud);
}

// Registry keys.
inline constexpr const char* kErrorHandlerKey = "apiary.error_handler";
inline constexpr const char* kGlobalsKey = "apiary.globals";         // the real globals
inline constexpr const char* kGlobalsMetaKey = "apiary.globals_mt";  // the proxy's metatable
inline constexpr const char* kLoadApiKey = "apiary.load_api";        // FUNCTION LOAD globals
inline constexpr const char* kReadonlyKey = "apiary.readonly";

// Instructions between two hook calls, as Redis.
inline constexpr int kHookInstructions = 100000;
// FUNCTION LOAD gives up after this many hook calls (Redis: 500 ms of wall time; the engine has
// no clock, so the budget is in instructions: 50 million).
inline constexpr std::uint64_t kLoadHookBudget = 500;

// Builds a state of `kind` with `ctx` as its context: Redis's libraries, the `redis` table,
// the error handler and the read-only globals. Returns nullptr if Lua fails to build it.
lua_State* open_state(StateContext* ctx);
void close_state(lua_State* L);

// Redis's luaPushErrorBuff: pushes {err="<CODE> <message>"}; a message "-CODE rest" keeps
// its code, any other gets "ERR".
void push_error(lua_State* L, std::string_view message);
// The count hook (Host::on_hook, SCRIPT KILL and the FUNCTION LOAD budget).
void count_hook(lua_State* L, lua_Debug* ar);

// sandbox.cpp: the `redis` API tables.
void register_redis_api(lua_State* L);   // sets global `redis`
void push_load_redis_api(lua_State* L);  // FUNCTION LOAD's restricted `redis` table
int register_function(lua_State* L);     // functions.cpp: redis.register_function

// library_guards.cpp: Redis's fixes to cjson and bit, over Debian's copies.
void install_library_guards(lua_State* L);

// The struct and cmsgpack libraries (lua_struct.cpp, lua_cmsgpack.cpp).
int luaopen_struct(lua_State* L);
int luaopen_cmsgpack(lua_State* L);

}  // namespace apiary::script::detail
