// The script cache and the run path shared by EVAL scripts and functions (eval.c
// luaCreateFunction / evalGenericCommand, script_lua.c luaCallFunction).
#include <algorithm>
#include <cctype>
#include <cstring>

#include "convert.hpp"
#include "engine_impl.hpp"
#include "sha1.hpp"
#include "shebang.hpp"

namespace apiary::script {

using detail::StateContext;

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

namespace {
// A sha as the cache keys it (lower case) without a copy when it is one already, as every
// sha this engine hands out is: EVALSHA's hot path looks scripts up several times.
template <class Map>
auto find_sha(Map& scripts, std::string_view sha) {
  const bool lower =
      std::none_of(sha.begin(), sha.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  return lower ? scripts.find(sha) : scripts.find(lowercase(sha));
}
}  // namespace

namespace {

constexpr unsigned kGcPeriod = 50;  // LUA_GC_CYCLE_PERIOD

void push_array(lua_State* L, std::span<const std::string_view> items) {
  lua_createtable(L, static_cast<int>(items.size()), 0);
  int j = 1;
  for (auto item : items) {
    lua_pushlstring(L, item.data(), item.size());
    lua_rawseti(L, -2, j++);
  }
}

void set_real_global(lua_State* L, const char* name) {
  lua_getfield(L, LUA_REGISTRYINDEX, detail::kGlobalsKey);
  lua_pushstring(L, name);
  lua_pushvalue(L, -3);
  lua_rawset(L, -3);
  lua_pop(L, 2);
}

// The error on top (the error handler's table, or a string when Lua failed outside it) as
// Redis's reply: "-<err> script: <name>, on <source>:<line>.".
void append_run_error(lua_State* L, std::string& out, std::string_view name) {
  if (!lua_istable(L, -1)) {
    const char* msg = lua_isstring(L, -1) ? lua_tostring(L, -1) : "execution failure";
    std::string text = "Error running script " + std::string(name) + ", ";
    text.append(msg, std::min<std::size_t>(std::strlen(msg), 100));
    detail::append_error(out, text);
    return;
  }
  std::string text = "-";
  lua_getfield(L, -1, "err");
  if (lua_isstring(L, -1)) {
    std::size_t len = 0;
    const char* s = lua_tolstring(L, -1, &len);
    text.append(s, len);
  } else {
    text += "ERR unknown error";  // redis-server 7.0 crashes on error({})
  }
  lua_pop(L, 1);
  lua_getfield(L, -1, "source");
  lua_getfield(L, -2, "line");
  if (lua_isstring(L, -1) && lua_isstring(L, -2)) {
    lua_pushvalue(L, -1);  // tostring a copy: the number stays a number
    text += " script: ";
    text += name;
    text += ", on ";
    text += lua_tostring(L, -3);
    text += ':';
    text += lua_tostring(L, -1);
    text += '.';
    lua_pop(L, 1);
  }
  lua_pop(L, 2);
  detail::append_error(out, text);
}

struct RunFrame {
  detail::RunCall* call;
  StateContext* ctx;
};

int run_in_lua(lua_State* L) {
  auto* frame = static_cast<RunFrame*>(lua_touserdata(L, 1));
  detail::RunCall& call = *frame->call;
  lua_settop(L, 0);
  lua_getfield(L, LUA_REGISTRYINDEX, detail::kErrorHandlerKey);
  if (call.function_mode) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, call.ref);
  } else {
    lua_getfield(L, LUA_REGISTRYINDEX, call.script_key);
  }
  push_array(L, call.options->keys);
  if (!call.function_mode) set_real_global(L, "KEYS");
  push_array(L, call.options->args);
  if (!call.function_mode) set_real_global(L, "ARGV");
  lua_sethook(L, detail::count_hook, LUA_MASKCOUNT, detail::kHookInstructions);
  const int err = call.function_mode ? lua_pcall(L, 2, 1, -4) : lua_pcall(L, 0, 1, -2);
  lua_sethook(L, nullptr, 0, 0);
  if (err != 0) {
    call.out_of_memory = err == LUA_ERRMEM;
    append_run_error(L, *call.out, call.name);
    lua_pop(L, 1);
  } else {
    detail::append_lua_as_resp(L, *call.out, call.options->protocol, frame->ctx->resp);
  }
  return 0;
}

struct CompileFrame {
  std::string_view code;
  const char* chunk_name;
  const char* registry_key;
  std::string error;  // set on failure (the compiler's message)
};

int compile_in_lua(lua_State* L) {
  auto* frame = static_cast<CompileFrame*>(lua_touserdata(L, 1));
  lua_settop(L, 0);
  std::string_view code = frame->code;
  if (!code.empty() && code[0] == LUA_SIGNATURE[0]) {
    // Never bytecode (sandbox.cpp's safe_loadstring says why): the text parser rejects it.
    lua_pushliteral(L, " ");
    lua_pushlstring(L, code.data(), code.size());
    lua_concat(L, 2);
    std::size_t len = 0;
    const char* s = lua_tolstring(L, -1, &len);
    code = std::string_view(s, len);
  }
  // The chunk's name stays on the stack while Lua parses: Debian's Lua 5.1 does not anchor
  // it, and a collection during the parse would free it (CVE-2025-49844).
  lua_pushstring(L, frame->chunk_name);
  if (luaL_loadbuffer(L, code.data(), code.size(), frame->chunk_name) != 0) {
    std::size_t len = 0;
    const char* s = lua_tolstring(L, -1, &len);
    frame->error.assign(s != nullptr ? s : "unknown error", s != nullptr ? len : 13);
    return 0;
  }
  lua_setfield(L, LUA_REGISTRYINDEX, frame->registry_key);
  return 0;
}

}  // namespace

Engine::Impl::Impl() {
  eval_ctx.kind = detail::StateKind::eval;
  eval_ctx.rng = &rng;
  fn_ctx.kind = detail::StateKind::functions;
  fn_ctx.rng = &rng;
  open_eval();
  open_functions();
}

Engine::Impl::~Impl() {
  detail::close_state(eval);
  detail::close_state(fn);
}

void Engine::Impl::open_eval() {
  detail::close_state(eval);
  eval = detail::open_state(&eval_ctx);
}

void Engine::Impl::open_functions() {
  detail::close_state(fn);
  fn = detail::open_state(&fn_ctx);
}

std::string Engine::Impl::run(lua_State* L, StateContext& ctx, detail::RunCall call, Host& host) {
  std::string out;
  if (L == nullptr) {
    detail::append_error(out, "Lua engine not available");
    return out;
  }
  if (running) {
    detail::append_error(out, "a script is already running");
    return out;
  }
  running = true;
  ctx.host = &host;
  ctx.resp = 2;
  ctx.killed = false;
  call.out = &out;
  RunFrame frame{&call, &ctx};
  const int top = lua_gettop(L);
  if (lua_cpcall(L, run_in_lua, &frame) != 0) {
    // Lua failed outside the script's own pcall (out of memory while converting).
    const char* msg = lua_isstring(L, -1) ? lua_tostring(L, -1) : "unknown error";
    out.clear();
    detail::append_error(
        out, std::string("Error running script ") + std::string(call.name) + ", " + msg);
  }
  lua_sethook(L, nullptr, 0, 0);
  lua_settop(L, top);
  if (call.out_of_memory) lua_gc(L, LUA_GCCOLLECT, 0);
  ctx.host = nullptr;
  ctx.killed = false;
  running = false;
  if (++runs_since_gc == kGcPeriod) {
    lua_gc(L, LUA_GCSTEP, static_cast<int>(kGcPeriod));
    runs_since_gc = 0;
  }
  return out;
}

// ---- Engine: scripts ----

Engine::Engine() : impl_(std::make_unique<Impl>()) {}
Engine::~Engine() = default;

std::string Engine::sha1_hex(std::string_view body) { return detail::sha1_hex(body); }

Loaded<std::string> Engine::load_script(std::string_view body) {
  Loaded<std::string> result;
  std::string sha = detail::sha1_hex(body);
  if (impl_->scripts.count(sha) != 0) {
    result.value = std::move(sha);
    return result;
  }
  const auto shebang = detail::parse_script_shebang(body);
  if (!shebang.ok) {
    result.refusal.message = "ERR " + shebang.error;
    return result;
  }
  if (impl_->eval == nullptr) {
    result.refusal.message = "ERR Lua engine not available";
    return result;
  }
  // The shebang line is skipped but its '\n' kept, so line numbers stay the user's.
  const std::string key = "f_" + sha;
  CompileFrame frame{body.substr(shebang.length), "@user_script", key.c_str(), {}};
  // Not settop(0): the Host may load a script from a hook while another one runs.
  const int top = lua_gettop(impl_->eval);
  if (lua_cpcall(impl_->eval, compile_in_lua, &frame) != 0) {
    frame.error = lua_isstring(impl_->eval, -1) ? lua_tostring(impl_->eval, -1) : "out of memory";
  }
  lua_settop(impl_->eval, top);
  if (!frame.error.empty()) {
    result.refusal.message = "ERR Error compiling script (new function): " + frame.error;
    return result;
  }
  impl_->scripts_bytes += body.size();
  impl_->scripts.emplace(sha, Impl::Script{std::string(body), shebang.flags});
  result.value = std::move(sha);
  return result;
}

bool Engine::has_script(std::string_view sha) const {
  return find_sha(impl_->scripts, sha) != impl_->scripts.end();
}

const std::string* Engine::script_body(std::string_view sha) const {
  auto it = find_sha(impl_->scripts, sha);
  return it == impl_->scripts.end() ? nullptr : &it->second.body;
}

std::optional<Flags> Engine::script_flags(std::string_view sha) const {
  auto it = find_sha(impl_->scripts, sha);
  if (it == impl_->scripts.end()) return std::nullopt;
  return it->second.flags;
}

void Engine::flush_scripts() {
  // SCRIPT FLUSH starts a fresh Lua state, as Redis does.
  if (impl_->running) return;
  impl_->scripts.clear();
  impl_->scripts_bytes = 0;
  impl_->open_eval();
}

std::size_t Engine::script_count() const { return impl_->scripts.size(); }
std::size_t Engine::scripts_bytes() const { return impl_->scripts_bytes; }

std::string Engine::run_script(std::string_view sha, const RunOptions& options, Host& host) {
  auto it = find_sha(impl_->scripts, sha);
  if (it == impl_->scripts.end()) return "-NOSCRIPT No matching script. Please use EVAL.\r\n";
  const std::string& key_sha = it->first;
  const std::string key = "f_" + key_sha;
  detail::RunCall call;
  call.script_key = key.c_str();
  call.name = key_sha;
  call.options = &options;
  return impl_->run(impl_->eval, impl_->eval_ctx, call, host);
}

namespace {
std::size_t memory_bytes(lua_State* L) {
  if (L == nullptr) return 0;
  return static_cast<std::size_t>(lua_gc(L, LUA_GCCOUNT, 0)) * 1024 +
         static_cast<std::size_t>(lua_gc(L, LUA_GCCOUNTB, 0));
}
}  // namespace

std::size_t Engine::eval_memory_bytes() const { return memory_bytes(impl_->eval); }
std::size_t Engine::functions_memory_bytes() const { return memory_bytes(impl_->fn); }

bool Engine::running() const { return impl_->running; }

}  // namespace apiary::script
