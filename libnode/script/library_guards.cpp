// Guards around Debian's cjson and bitop for bugs Redis fixed in its own bundled copies
// (Debian's lua-cjson 2.1.0+dfsg-2.2 and lua-bitop 1.0.2-7 carry neither fix):
// - bit.tohex(x, -2^31) negates its digit count into an overflow and writes before its buffer
//   (CVE-2024-31449): replaced by LuaBitOp's tohex with Redis's fix.
// - cjson.encode sizes its buffer in an int: a string over ~357 MB, or an encoding over 2 GB,
//   overflows it (CVE-2022-24834; Redis aborts the server). The wrapper refuses such values
//   before cjson sees them.
// And for Lua 5.1 itself, which Redis also patched or which crashes Redis alike:
// - unpack(t, i, j) computes j - i + 1 in an int; the compiler may assume it cannot overflow
//   and drop the check, so unpack({}, -2^31, 2^31-1) pushes until it crashes. Replaced by
//   Redis's fixed unpack ("too many results to unpack").
// - string.find/match/gmatch/gsub recurse once per quantified pattern item, without Lua 5.2's
//   depth limit: a pattern of a few hundred thousand items overflows the C stack. Patterns with
//   more than 20,000 quantifier characters are refused ("pattern too complex", 5.2's text).
#include <climits>
#include <cstdint>
#include <cstring>

#include "state.hpp"

namespace apiary::script::detail {
namespace {

std::uint32_t bit_argument(lua_State* L, int idx) {
  // LuaBitOp's barg: the low 32 bits of the number, rounded as the FPU adds 2^52+2^51.
  const double n = lua_tonumber(L, idx) + 6755399441055744.0;
  std::uint64_t bits = 0;
  std::memcpy(&bits, &n, sizeof(bits));
  const auto b = static_cast<std::uint32_t>(bits);
  if (b == 0 && !lua_isnumber(L, idx)) luaL_typerror(L, idx, "number");
  return b;
}

int bit_tohex(lua_State* L) {
  std::uint32_t b = bit_argument(L, 1);
  std::int32_t n = lua_isnone(L, 2) ? 8 : static_cast<std::int32_t>(bit_argument(L, 2));
  const char* hexdigits = "0123456789abcdef";
  char buf[8];
  if (n == INT32_MIN) n = INT32_MIN + 1;
  if (n < 0) {
    n = -n;
    hexdigits = "0123456789ABCDEF";
  }
  if (n > 8) n = 8;
  for (int i = n; --i >= 0;) {
    buf[i] = hexdigits[b & 15];
    b >>= 4;
  }
  lua_pushlstring(L, buf, static_cast<std::size_t>(n));
  return 1;
}

// cjson's worst case per value: a string may grow six-fold (\uXXXX escapes); numbers and
// punctuation take a few dozen bytes. Anything deeper than cjson's own limit is left for it to
// refuse.
constexpr std::uint64_t kMaxEncoding = INT_MAX / 2;
constexpr int kMaxDepth = 1001;

std::uint64_t encoded_bound(lua_State* L, int depth) {
  switch (lua_type(L, -1)) {
    case LUA_TSTRING:
      return static_cast<std::uint64_t>(lua_objlen(L, -1)) * 6 + 2;
    case LUA_TTABLE: {
      if (depth >= kMaxDepth || !lua_checkstack(L, 3)) return 2;
      std::uint64_t total = 2;
      lua_pushnil(L);
      while (lua_next(L, -2) != 0) {
        total += encoded_bound(L, depth + 1) + 2;
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        total += encoded_bound(L, depth + 1);
        lua_pop(L, 1);
        if (total > kMaxEncoding) {
          lua_pop(L, 1);
          return total;
        }
      }
      return total;
    }
    default:
      return 32;
  }
}

// Upvalues: Debian's cjson.encode's own (its configuration), then that function itself. The
// original runs in this frame, so it finds its configuration where it expects it.
int cjson_encode(lua_State* L) {
  if (lua_gettop(L) >= 1) {
    lua_pushvalue(L, 1);
    const std::uint64_t bound = encoded_bound(L, 0);
    lua_pop(L, 1);
    if (bound > kMaxEncoding) return luaL_error(L, "Cannot serialise: value too large");
  }
  int k = 1;
  while (!lua_iscfunction(L, lua_upvalueindex(k))) ++k;
  const lua_CFunction original = lua_tocfunction(L, lua_upvalueindex(k));
  return original(L);
}

int safe_unpack(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int i = luaL_optint(L, 2, 1);
  const int e = luaL_opt(L, luaL_checkint, 3, static_cast<int>(lua_objlen(L, 1)));
  if (i > e) return 0;
  unsigned int n = static_cast<unsigned int>(e) - static_cast<unsigned int>(i);
  if (n >= INT_MAX || !lua_checkstack(L, static_cast<int>(++n))) {
    return luaL_error(L, "too many results to unpack");
  }
  lua_rawgeti(L, 1, i);
  while (i < e) lua_rawgeti(L, 1, ++i);
  return static_cast<int>(n);
}

constexpr std::size_t kMaxPatternQuantifiers = 20000;

// Upvalue 1: the string library's own function, run in this frame (argument errors keep its
// name). `find` with plain=true matches no pattern.
int guarded_pattern(lua_State* L) {
  std::size_t len = 0;
  const char* pattern = lua_tolstring(L, 2, &len);
  const bool plain = lua_gettop(L) >= 4 && lua_toboolean(L, 4) &&
                     lua_tocfunction(L, lua_upvalueindex(2)) != nullptr;
  if (pattern != nullptr && !plain && len > kMaxPatternQuantifiers) {
    std::size_t quantifiers = 0;
    for (std::size_t k = 0; k < len; ++k) {
      const char c = pattern[k];
      quantifiers += c == '?' || c == '*' || c == '-' || c == '+';
    }
    if (quantifiers > kMaxPatternQuantifiers) return luaL_error(L, "pattern too complex");
  }
  const lua_CFunction original = lua_tocfunction(L, lua_upvalueindex(1));
  return original(L);
}

}  // namespace

void install_library_guards(lua_State* L) {
  lua_pushcfunction(L, safe_unpack);
  lua_setfield(L, LUA_GLOBALSINDEX, "unpack");
  lua_getfield(L, LUA_GLOBALSINDEX, "string");
  for (const char* name : {"find", "match", "gmatch", "gsub"}) {
    lua_getfield(L, -1, name);
    // find takes a `plain` flag: a second upvalue marks it.
    if (std::strcmp(name, "find") == 0) {
      lua_pushvalue(L, -1);
      lua_pushcclosure(L, guarded_pattern, 2);
    } else {
      lua_pushcclosure(L, guarded_pattern, 1);
    }
    lua_setfield(L, -2, name);
  }
  lua_pop(L, 1);
  lua_getfield(L, LUA_GLOBALSINDEX, "bit");
  lua_pushcfunction(L, bit_tohex);
  lua_setfield(L, -2, "tohex");
  lua_pop(L, 1);
  lua_getfield(L, LUA_GLOBALSINDEX, "cjson");
  lua_getfield(L, -1, "encode");
  int n = 0;
  while (lua_getupvalue(L, -1 - n, n + 1) != nullptr) ++n;  // pushes each upvalue
  lua_pushvalue(L, -1 - n);
  lua_pushcclosure(L, cjson_encode, n + 1);
  lua_remove(L, -2);  // the original encode
  lua_setfield(L, -2, "encode");
  lua_pop(L, 1);
}

}  // namespace apiary::script::detail
