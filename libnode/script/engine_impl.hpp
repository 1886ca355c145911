// Engine::Impl: the two Lua states (EVAL scripts and FUNCTION libraries live in separate
// states, as in Redis 7.0), the script cache and the loaded libraries. engine.cpp owns the
// script half and the shared run path; functions.cpp the library half.
#pragma once

#include <map>
#include <string>

#include "apiary/script/engine.hpp"
#include "state.hpp"

namespace apiary::script {

namespace detail {
// One script or function run.
struct RunCall {
  bool function_mode = false;
  const char* script_key = nullptr;  // eval: registry key of the compiled chunk
  int ref = LUA_NOREF;               // function: registry ref of the callback
  std::string_view name;             // the sha or the function name, for errors
  const RunOptions* options = nullptr;
  std::string* out = nullptr;
  bool out_of_memory = false;  // set by the run: collect the garbage it left
};
}  // namespace detail

struct Engine::Impl {
  struct Script {
    std::string body;
    Flags flags;
  };
  struct LoadedLibrary {
    Library library;
    std::map<std::string, int, std::less<>> refs;  // function name -> registry ref
  };
  struct FunctionEntry {
    std::string library;
    int ref = LUA_NOREF;
    const Function* function = nullptr;  // points into the library's `functions`
  };

  detail::Rand48 rng;
  detail::StateContext eval_ctx;
  detail::StateContext fn_ctx;
  lua_State* eval = nullptr;
  lua_State* fn = nullptr;
  std::map<std::string, Script, std::less<>> scripts;  // by lowercase sha
  std::size_t scripts_bytes = 0;
  std::map<std::string, LoadedLibrary, std::less<>> libraries;  // by name (case-sensitive)
  std::map<std::string, FunctionEntry, std::less<>> functions;  // by lowercase name
  std::size_t libraries_bytes = 0;
  bool running = false;
  unsigned runs_since_gc = 0;

  Impl();
  ~Impl();
  void open_eval();
  void open_functions();

  // Runs `call` in `L` (shared by scripts and functions).
  std::string run(lua_State* L, detail::StateContext& ctx, detail::RunCall call, Host& host);
};

std::string lowercase(std::string_view s);

}  // namespace apiary::script
