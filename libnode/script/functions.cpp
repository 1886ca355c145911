// FUNCTION libraries (functions.c functionsCreateWithLibraryCtx, function_lua.c
// luaEngineCreate / luaRegisterFunction / luaEngineCall). A library's body runs once, at load,
// with globals that hold only redis.register_function, redis.log and the version; its
// callbacks then run against the full API with (keys, args) as their two arguments.
#include <algorithm>
#include <cstring>

#include "engine_impl.hpp"
#include "shebang.hpp"

namespace apiary::script {

using detail::FunctionDraft;
using detail::StateContext;

namespace detail {
namespace {

// Reads redis.register_function's arguments into `draft` (taking a ref to the callback);
// returns Redis's error text or nullptr.
const char* read_positional(lua_State* L, FunctionDraft& draft) {
  if (!lua_isstring(L, 1)) return "first argument to redis.register_function must be a string";
  std::size_t len = 0;
  const char* s = lua_tolstring(L, 1, &len);
  draft.name.assign(s, len);
  if (!lua_isfunction(L, 2)) return "second argument to redis.register_function must be a function";
  lua_settop(L, 2);
  draft.ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return nullptr;
}

const char* read_flags(lua_State* L, Flags& flags) {
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER) {
      lua_pop(L, 2);
      return "unknown flag given";
    }
    lua_pushvalue(L, -1);
    std::size_t len = 0;
    const char* s = lua_tolstring(L, -1, &len);
    const bool known = apply_flag(std::string_view(s, len), flags);
    lua_pop(L, 2);
    if (!known) {
      lua_pop(L, 1);
      return "unknown flag given";
    }
  }
  return nullptr;
}

const char* read_named(lua_State* L, FunctionDraft& draft) {
  if (!lua_istable(L, 1)) {
    return "calling redis.register_function with a single argument is only applicable to Lua "
           "table (representing named arguments).";
  }
  bool named = false;
  lua_settop(L, 1);
  lua_pushnil(L);
  while (lua_next(L, 1) != 0) {
    // stack: table, key, value
    if (lua_type(L, -2) != LUA_TSTRING && lua_type(L, -2) != LUA_TNUMBER) {
      return "named argument key given to redis.register_function is not a string";
    }
    lua_pushvalue(L, -2);
    const char* key = lua_tostring(L, -1);
    lua_pop(L, 1);  // the string stays alive: the key itself is still on the stack
    if (strcasecmp(key, "function_name") == 0) {
      if (!lua_isstring(L, -1)) {
        return "function_name argument given to redis.register_function must be a string";
      }
      lua_pushvalue(L, -1);
      std::size_t len = 0;
      const char* s = lua_tolstring(L, -1, &len);
      draft.name.assign(s, len);
      lua_pop(L, 1);
      named = true;
    } else if (strcasecmp(key, "description") == 0) {
      if (!lua_isstring(L, -1)) {
        return "description argument given to redis.register_function must be a string";
      }
      lua_pushvalue(L, -1);
      std::size_t len = 0;
      const char* s = lua_tolstring(L, -1, &len);
      draft.description.assign(s, len);
      lua_pop(L, 1);
    } else if (strcasecmp(key, "callback") == 0) {
      if (!lua_isfunction(L, -1)) {
        return "callback argument given to redis.register_function must be a function";
      }
      if (draft.ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, draft.ref);
      draft.ref = luaL_ref(L, LUA_REGISTRYINDEX);
      continue;  // luaL_ref popped the value
    } else if (strcasecmp(key, "flags") == 0) {
      if (!lua_istable(L, -1)) {
        return "flags argument to redis.register_function must be a table representing "
               "function flags";
      }
      if (const char* err = read_flags(L, draft.flags)) return err;
    } else {
      return "unknown argument given to redis.register_function";
    }
    lua_pop(L, 1);
  }
  if (!named) return "redis.register_function must get a function name argument";
  if (draft.ref == LUA_NOREF) return "redis.register_function must get a callback argument";
  return nullptr;
}

// Registers into the loading library's drafts; returns an error text or nullptr. Every C++
// object is gone when this returns, so the caller may raise.
const char* register_into(lua_State* L, std::vector<FunctionDraft>& drafts) {
  const int argc = lua_gettop(L);
  if (argc < 1 || argc > 2) return "wrong number of arguments to redis.register_function";
  FunctionDraft draft;
  draft.flags.declared = true;  // functions always follow the flags they declare
  const char* err = argc == 1 ? read_named(L, draft) : read_positional(L, draft);
  if (err == nullptr && !valid_name(draft.name)) {
    err =
        "Library names can only contain letters, numbers, or underscores(_) and must be at "
        "least one character long";
  }
  if (err == nullptr) {
    for (const auto& d : drafts) {
      if (d.name == draft.name) err = "Function already exists in the library";
    }
  }
  if (err != nullptr) {
    if (draft.ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, draft.ref);
    return err;
  }
  drafts.push_back(std::move(draft));
  return nullptr;
}

struct LoadFrame {
  std::string_view code;
  std::string error;  // "Error compiling function: ..." / "Error registering functions: ..."
};

void set_globals_index(lua_State* L, const char* key) {
  lua_getfield(L, LUA_REGISTRYINDEX, kGlobalsMetaKey);
  lua_getfield(L, LUA_REGISTRYINDEX, key);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}

int load_in_lua(lua_State* L) {
  auto* frame = static_cast<LoadFrame*>(lua_touserdata(L, 1));
  lua_settop(L, 0);
  set_globals_index(L, kLoadApiKey);
  lua_pushliteral(L, "@user_function");  // anchored while Lua parses (CVE-2025-49844)
  if (luaL_loadbuffer(L, frame->code.data(), frame->code.size(), "@user_function") != 0) {
    frame->error = std::string("Error compiling function: ") + lua_tostring(L, -1);
    return 0;
  }
  lua_sethook(L, count_hook, LUA_MASKCOUNT, kHookInstructions);
  const int err = lua_pcall(L, 0, 0, 0);
  lua_sethook(L, nullptr, 0, 0);
  if (err != 0) {
    std::string msg = "(null)";
    if (lua_isstring(L, -1)) {
      msg = std::string("ERR ") + lua_tostring(L, -1);
    } else if (lua_istable(L, -1)) {
      lua_getfield(L, -1, "err");
      if (lua_isstring(L, -1)) msg = lua_tostring(L, -1);
      lua_pop(L, 1);
    }
    frame->error = "Error registering functions: " + msg;
  }
  return 0;
}

int restore_in_lua(lua_State* L) {
  lua_settop(L, 0);
  set_globals_index(L, kGlobalsKey);
  return 0;
}

}  // namespace

int register_function(lua_State* L) {
  StateContext* ctx = context(L);
  const char* err = ctx->drafts == nullptr
                        ? "redis.register_function can only be called on FUNCTION LOAD command"
                        : register_into(L, *ctx->drafts);
  if (err == nullptr) return 0;
  push_error(L, err);
  return lua_error(L);
}

}  // namespace detail

namespace {

void unref_all(lua_State* L, const std::vector<FunctionDraft>& drafts) {
  if (L == nullptr) return;
  for (const auto& d : drafts) luaL_unref(L, LUA_REGISTRYINDEX, d.ref);
}

}  // namespace

Loaded<std::string> Engine::load_library(std::string_view code, bool replace) {
  Loaded<std::string> result;
  Impl& impl = *impl_;
  const auto md = detail::parse_library_metadata(code);
  if (!md.ok) {
    result.refusal.message = "ERR " + md.error;
    return result;
  }
  if (!detail::valid_name(md.name)) {
    result.refusal.message =
        "ERR Library names can only contain letters, numbers, or underscores(_) and must be at "
        "least one character long";
    return result;
  }
  if (lowercase(md.engine) != "lua") {
    result.refusal.message = "ERR Engine '" + md.engine + "' not found";
    return result;
  }
  auto old = impl.libraries.find(md.name);
  if (old != impl.libraries.end() && !replace) {
    result.refusal.message = "ERR Library '" + md.name + "' already exists";
    return result;
  }
  if (impl.fn == nullptr || impl.running) {
    result.refusal.message = "ERR Lua engine not available";
    return result;
  }

  std::vector<FunctionDraft> drafts;
  impl.fn_ctx.drafts = &drafts;
  impl.fn_ctx.load_hooks = 0;
  detail::LoadFrame frame{code.substr(md.code_offset), {}};
  if (lua_cpcall(impl.fn, detail::load_in_lua, &frame) != 0 && frame.error.empty()) {
    frame.error = "Error registering functions: ERR out of memory";
  }
  lua_settop(impl.fn, 0);
  lua_cpcall(impl.fn, detail::restore_in_lua, nullptr);
  lua_settop(impl.fn, 0);
  impl.fn_ctx.drafts = nullptr;

  std::string error = frame.error;
  if (error.empty() && drafts.empty()) error = "No functions registered";
  if (error.empty()) {
    for (const auto& d : drafts) {
      auto f = impl.functions.find(lowercase(d.name));
      if (f != impl.functions.end() && f->second.library != md.name) {
        error = "Function " + d.name + " already exists";
        break;
      }
    }
  }
  if (!error.empty()) {
    unref_all(impl.fn, drafts);
    result.refusal.message = "ERR " + error;
    return result;
  }

  if (old != impl.libraries.end()) delete_library(md.name);
  Impl::LoadedLibrary loaded;
  loaded.library.name = md.name;
  loaded.library.code = std::string(code);
  std::sort(drafts.begin(), drafts.end(),
            [](const FunctionDraft& a, const FunctionDraft& b) { return a.name < b.name; });
  for (const auto& d : drafts) {
    loaded.library.functions.push_back(Function{d.name, md.name, d.description, d.flags});
    loaded.refs.emplace(d.name, d.ref);
  }
  auto [it, inserted] = impl.libraries.emplace(md.name, std::move(loaded));
  (void)inserted;
  for (const auto& f : it->second.library.functions) {
    impl.functions[lowercase(f.name)] =
        Impl::FunctionEntry{md.name, it->second.refs.at(f.name), &f};
  }
  impl.libraries_bytes += code.size();
  result.value = md.name;
  return result;
}

bool Engine::delete_library(std::string_view name) {
  Impl& impl = *impl_;
  auto it = impl.libraries.find(name);
  if (it == impl.libraries.end()) return false;
  for (const auto& f : it->second.library.functions) {
    auto entry = impl.functions.find(lowercase(f.name));
    if (entry != impl.functions.end() && entry->second.library == it->first) {
      impl.functions.erase(entry);
    }
  }
  if (impl.fn != nullptr) {
    for (const auto& [fname, ref] : it->second.refs) luaL_unref(impl.fn, LUA_REGISTRYINDEX, ref);
  }
  impl.libraries_bytes -= it->second.library.code.size();
  impl.libraries.erase(it);
  return true;
}

void Engine::flush_libraries() {
  while (!impl_->libraries.empty()) delete_library(impl_->libraries.begin()->first);
}

const Function* Engine::find_function(std::string_view name) const {
  auto it = impl_->functions.find(lowercase(name));
  return it == impl_->functions.end() ? nullptr : it->second.function;
}

const Library* Engine::find_library(std::string_view name) const {
  auto it = impl_->libraries.find(name);
  return it == impl_->libraries.end() ? nullptr : &it->second.library;
}

std::vector<const Library*> Engine::libraries() const {
  std::vector<const Library*> out;
  out.reserve(impl_->libraries.size());
  for (const auto& [name, lib] : impl_->libraries) out.push_back(&lib.library);
  return out;
}

std::size_t Engine::function_count() const { return impl_->functions.size(); }
std::size_t Engine::libraries_bytes() const { return impl_->libraries_bytes; }

std::string Engine::run_function(std::string_view name, const RunOptions& options, Host& host) {
  auto it = impl_->functions.find(lowercase(name));
  if (it == impl_->functions.end()) return "-ERR Function not found\r\n";
  detail::RunCall call;
  call.function_mode = true;
  call.ref = it->second.ref;
  call.name = it->second.function->name;
  call.options = &options;
  return impl_->run(impl_->fn, impl_->fn_ctx, call, host);
}

}  // namespace apiary::script
