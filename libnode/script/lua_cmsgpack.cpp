// The `cmsgpack` library Redis bundles (deps/lua/src/lua_cmsgpack.c, lua-cmsgpack 0.4.0):
// cmsgpack.pack(...), unpack(s), unpack_one(s [, offset]) and unpack_limit(s, limit
// [, offset]), with the same encodings (floats when a double fits in one, tables as arrays
// only when their keys are exactly 1..n, nesting cut at 16 levels) and the same error texts.
// The encode buffer is plain malloc'd memory, as the original's: a Lua error while encoding
// (out of stack) leaks it, which is also the original's behaviour.
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "state.hpp"

namespace apiary::script::detail {
namespace {

constexpr int kMaxNesting = 16;

// A double that converts to T and back unchanged (the original's IS_INT_TYPE_EQUIVALENT,
// without casting out-of-range values).
bool is_int64_equivalent(double x) {
  return std::isfinite(x) && x >= -9223372036854775808.0 && x < 9223372036854775808.0 &&
         static_cast<double>(static_cast<std::int64_t>(x)) == x;
}

bool is_int_equivalent(double x) {
  return std::isfinite(x) && x >= INT_MIN && x <= INT_MAX &&
         static_cast<double>(static_cast<int>(x)) == x;
}

void reverse_if_little_endian(unsigned char* p, std::size_t len) {
  const int one = 1;
  unsigned char first = 0;
  std::memcpy(&first, &one, 1);
  if (first != 1) return;
  for (std::size_t i = 0; i < len / 2; ++i) {
    const unsigned char t = p[i];
    p[i] = p[len - 1 - i];
    p[len - 1 - i] = t;
  }
}

struct Buffer {
  unsigned char* b = nullptr;
  std::size_t len = 0;
  std::size_t cap = 0;
};

void append(lua_State* L, Buffer& buf, const unsigned char* s, std::size_t len) {
  if (buf.len + len > buf.cap) {
    std::size_t cap = (buf.len + len) * 2;
    auto* grown = static_cast<unsigned char*>(std::realloc(buf.b, cap));
    if (grown == nullptr) luaL_error(L, "not enough memory");
    buf.b = grown;
    buf.cap = cap;
  }
  std::memcpy(buf.b + buf.len, s, len);
  buf.len += len;
}

void put_be(unsigned char* out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    out[i] = static_cast<unsigned char>(v & 0xff);
    v >>= 8;
  }
}

void encode_bytes(lua_State* L, Buffer& buf, const unsigned char* s, std::size_t len) {
  unsigned char hdr[5];
  int hdrlen = 0;
  if (len < 32) {
    hdr[0] = static_cast<unsigned char>(0xa0 | (len & 0xff));
    hdrlen = 1;
  } else if (len <= 0xff) {
    hdr[0] = 0xd9;
    hdr[1] = static_cast<unsigned char>(len);
    hdrlen = 2;
  } else if (len <= 0xffff) {
    hdr[0] = 0xda;
    put_be(hdr + 1, len, 2);
    hdrlen = 3;
  } else {
    hdr[0] = 0xdb;
    put_be(hdr + 1, len, 4);
    hdrlen = 5;
  }
  append(L, buf, hdr, static_cast<std::size_t>(hdrlen));
  append(L, buf, s, len);
}

void encode_double(lua_State* L, Buffer& buf, double d) {
  unsigned char b[9];
  const auto f = static_cast<float>(d);
  if (d == static_cast<double>(f)) {
    b[0] = 0xca;
    std::memcpy(b + 1, &f, 4);
    reverse_if_little_endian(b + 1, 4);
    append(L, buf, b, 5);
  } else {
    b[0] = 0xcb;
    std::memcpy(b + 1, &d, 8);
    reverse_if_little_endian(b + 1, 8);
    append(L, buf, b, 9);
  }
}

void encode_int(lua_State* L, Buffer& buf, std::int64_t n) {
  unsigned char b[9];
  int enclen = 0;
  const auto u = static_cast<std::uint64_t>(n);
  if (n >= 0) {
    if (n <= 127) {
      b[0] = static_cast<unsigned char>(n & 0x7f);
      enclen = 1;
    } else if (n <= 0xff) {
      b[0] = 0xcc;
      put_be(b + 1, u, 1);
      enclen = 2;
    } else if (n <= 0xffff) {
      b[0] = 0xcd;
      put_be(b + 1, u, 2);
      enclen = 3;
    } else if (n <= 0xffffffffLL) {
      b[0] = 0xce;
      put_be(b + 1, u, 4);
      enclen = 5;
    } else {
      b[0] = 0xcf;
      put_be(b + 1, u, 8);
      enclen = 9;
    }
  } else {
    if (n >= -32) {
      b[0] = static_cast<unsigned char>(static_cast<signed char>(n));
      enclen = 1;
    } else if (n >= -128) {
      b[0] = 0xd0;
      put_be(b + 1, u, 1);
      enclen = 2;
    } else if (n >= -32768) {
      b[0] = 0xd1;
      put_be(b + 1, u, 2);
      enclen = 3;
    } else if (n >= -2147483648LL) {
      b[0] = 0xd2;
      put_be(b + 1, u, 4);
      enclen = 5;
    } else {
      b[0] = 0xd3;
      put_be(b + 1, u, 8);
      enclen = 9;
    }
  }
  append(L, buf, b, static_cast<std::size_t>(enclen));
}

void encode_header(lua_State* L, Buffer& buf, std::uint64_t n, unsigned char fix, unsigned char b16,
                   unsigned char b32) {
  unsigned char b[5];
  int enclen = 0;
  if (n <= 15) {
    b[0] = static_cast<unsigned char>(fix | (n & 0xf));
    enclen = 1;
  } else if (n <= 65535) {
    b[0] = b16;
    put_be(b + 1, n, 2);
    enclen = 3;
  } else {
    b[0] = b32;
    put_be(b + 1, n, 4);
    enclen = 5;
  }
  append(L, buf, b, static_cast<std::size_t>(enclen));
}

void encode_value(lua_State* L, Buffer& buf, int level);

bool table_is_an_array(lua_State* L) {
  int count = 0;
  double max = 0;
  const int top = lua_gettop(L);
  luaL_checkstack(L, 2, "in function table_is_an_array");
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    double n = 0;
    if (lua_type(L, -1) != LUA_TNUMBER || (n = lua_tonumber(L, -1)) <= 0 || !is_int_equivalent(n)) {
      lua_settop(L, top);
      return false;
    }
    max = n > max ? n : max;
    count++;
  }
  lua_settop(L, top);
  return max == count;
}

void encode_table(lua_State* L, Buffer& buf, int level) {
  if (table_is_an_array(L)) {
    const std::size_t len = lua_objlen(L, -1);
    encode_header(L, buf, len, 0x90, 0xdc, 0xdd);
    luaL_checkstack(L, 1, "in function mp_encode_lua_table_as_array");
    for (std::size_t j = 1; j <= len; j++) {
      lua_pushnumber(L, static_cast<lua_Number>(j));
      lua_gettable(L, -2);
      encode_value(L, buf, level + 1);
    }
    return;
  }
  std::size_t len = 0;
  luaL_checkstack(L, 3, "in function mp_encode_lua_table_as_map");
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    len++;
  }
  encode_header(L, buf, len, 0x80, 0xde, 0xdf);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pushvalue(L, -2);
    encode_value(L, buf, level + 1);  // key
    encode_value(L, buf, level + 1);  // value
  }
}

// Encodes the value on top and pops it.
void encode_value(lua_State* L, Buffer& buf, int level) {
  int t = lua_type(L, -1);
  if (t == LUA_TTABLE && level == kMaxNesting) t = LUA_TNIL;
  switch (t) {
    case LUA_TSTRING: {
      std::size_t len = 0;
      const char* s = lua_tolstring(L, -1, &len);
      encode_bytes(L, buf, reinterpret_cast<const unsigned char*>(s), len);
      break;
    }
    case LUA_TBOOLEAN: {
      const unsigned char b = lua_toboolean(L, -1) ? 0xc3 : 0xc2;
      append(L, buf, &b, 1);
      break;
    }
    case LUA_TNUMBER: {
      const lua_Number n = lua_tonumber(L, -1);
      if (is_int64_equivalent(n)) {
        encode_int(L, buf, static_cast<std::int64_t>(n));
      } else {
        encode_double(L, buf, n);
      }
      break;
    }
    case LUA_TTABLE:
      encode_table(L, buf, level);
      break;
    default: {
      const unsigned char b = 0xc0;
      append(L, buf, &b, 1);
    }
  }
  lua_pop(L, 1);
}

int mp_pack(lua_State* L) {
  const int nargs = lua_gettop(L);
  if (nargs == 0) return luaL_argerror(L, 0, "MessagePack pack needs input.");
  if (!lua_checkstack(L, nargs)) {
    return luaL_argerror(L, 0, "Too many arguments for MessagePack pack.");
  }
  Buffer buf;
  for (int i = 1; i <= nargs; i++) {
    luaL_checkstack(L, 1, "in function mp_check");
    lua_pushvalue(L, i);
    encode_value(L, buf, 0);
    lua_pushlstring(L, reinterpret_cast<const char*>(buf.b), buf.len);
    buf.len = 0;
  }
  std::free(buf.b);
  lua_concat(L, nargs);
  return 1;
}

// ---- decoding ----

enum class CursorError : unsigned char { none, eof, bad_format };

struct Cursor {
  const unsigned char* p;
  std::size_t left;
  CursorError err = CursorError::none;

  bool need(std::size_t n) {
    if (left < n) {
      err = CursorError::eof;
      return false;
    }
    return true;
  }
  void consume(std::size_t n) {
    p += n;
    left -= n;
  }
};

std::uint64_t get_be(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

void decode_value(lua_State* L, Cursor& c);

void decode_array(lua_State* L, Cursor& c, std::size_t len) {
  int index = 1;
  lua_newtable(L);
  luaL_checkstack(L, 1, "in function mp_decode_to_lua_array");
  while (len--) {
    lua_pushnumber(L, index++);
    decode_value(L, c);
    if (c.err != CursorError::none) return;
    lua_settable(L, -3);
  }
}

void decode_map(lua_State* L, Cursor& c, std::size_t len) {
  lua_newtable(L);
  while (len--) {
    decode_value(L, c);
    if (c.err != CursorError::none) return;
    decode_value(L, c);
    if (c.err != CursorError::none) return;
    lua_settable(L, -3);
  }
}

void push_string(lua_State* L, Cursor& c, std::size_t header, std::size_t len) {
  if (!c.need(header + len)) return;
  lua_pushlstring(L, reinterpret_cast<const char*>(c.p + header), len);
  c.consume(header + len);
}

void decode_value(lua_State* L, Cursor& c) {
  if (!c.need(1)) return;
  luaL_checkstack(L, 1, "too many return values at once; use unpack_one or unpack_limit instead.");
  const unsigned char type = c.p[0];
  auto fixed = [&](std::size_t n) { return c.need(n); };
  switch (type) {
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf: {
      const int bytes = 1 << (type - 0xcc);
      if (!fixed(1 + static_cast<std::size_t>(bytes))) return;
      lua_pushinteger(L, static_cast<lua_Integer>(get_be(c.p + 1, bytes)));
      c.consume(1 + static_cast<std::size_t>(bytes));
      return;
    }
    case 0xd0:
      if (!fixed(2)) return;
      lua_pushinteger(L, static_cast<signed char>(c.p[1]));
      c.consume(2);
      return;
    case 0xd1:
      if (!fixed(3)) return;
      lua_pushinteger(L, static_cast<std::int16_t>(get_be(c.p + 1, 2)));
      c.consume(3);
      return;
    case 0xd2:
      if (!fixed(5)) return;
      lua_pushinteger(L, static_cast<std::int32_t>(get_be(c.p + 1, 4)));
      c.consume(5);
      return;
    case 0xd3:
      if (!fixed(9)) return;
      lua_pushnumber(L, static_cast<lua_Number>(static_cast<std::int64_t>(get_be(c.p + 1, 8))));
      c.consume(9);
      return;
    case 0xc0:
      lua_pushnil(L);
      c.consume(1);
      return;
    case 0xc3:
      lua_pushboolean(L, 1);
      c.consume(1);
      return;
    case 0xc2:
      lua_pushboolean(L, 0);
      c.consume(1);
      return;
    case 0xca: {
      if (!fixed(5)) return;
      unsigned char b[4];
      std::memcpy(b, c.p + 1, 4);
      reverse_if_little_endian(b, 4);
      float f = 0;
      std::memcpy(&f, b, 4);
      lua_pushnumber(L, f);
      c.consume(5);
      return;
    }
    case 0xcb: {
      if (!fixed(9)) return;
      unsigned char b[8];
      std::memcpy(b, c.p + 1, 8);
      reverse_if_little_endian(b, 8);
      double d = 0;
      std::memcpy(&d, b, 8);
      lua_pushnumber(L, d);
      c.consume(9);
      return;
    }
    case 0xd9:
      if (!fixed(2)) return;
      push_string(L, c, 2, c.p[1]);
      return;
    case 0xda:
      if (!fixed(3)) return;
      push_string(L, c, 3, get_be(c.p + 1, 2));
      return;
    case 0xdb:
      if (!fixed(5)) return;
      push_string(L, c, 5, get_be(c.p + 1, 4));
      return;
    case 0xdc:
    case 0xde: {
      if (!fixed(3)) return;
      const std::size_t l = get_be(c.p + 1, 2);
      c.consume(3);
      type == 0xdc ? decode_array(L, c, l) : decode_map(L, c, l);
      return;
    }
    case 0xdd:
    case 0xdf: {
      if (!fixed(5)) return;
      const std::size_t l = get_be(c.p + 1, 4);
      c.consume(5);
      type == 0xdd ? decode_array(L, c, l) : decode_map(L, c, l);
      return;
    }
    default:
      break;
  }
  if ((type & 0x80) == 0) {
    lua_pushinteger(L, type);
    c.consume(1);
  } else if ((type & 0xe0) == 0xe0) {
    lua_pushinteger(L, static_cast<signed char>(type));
    c.consume(1);
  } else if ((type & 0xe0) == 0xa0) {
    push_string(L, c, 1, type & 0x1f);
  } else if ((type & 0xf0) == 0x90) {
    c.consume(1);
    decode_array(L, c, type & 0xf);
  } else if ((type & 0xf0) == 0x80) {
    c.consume(1);
    decode_map(L, c, type & 0xf);
  } else {
    c.err = CursorError::bad_format;
  }
}

int unpack_full(lua_State* L, int limit, int offset) {
  std::size_t len = 0;
  const char* s = luaL_checklstring(L, 1, &len);
  const bool decode_all = limit == 0 && offset == 0;
  if (offset < 0 || limit < 0) {
    return luaL_error(L, "Invalid request to unpack with offset of %d and limit of %d.", offset,
                      static_cast<int>(len));
  }
  if (static_cast<std::size_t>(offset) > len) {
    return luaL_error(L, "Start offset %d greater than input length %d.", offset,
                      static_cast<int>(len));
  }
  if (decode_all) limit = INT_MAX;
  Cursor c{reinterpret_cast<const unsigned char*>(s) + offset,
           len - static_cast<std::size_t>(offset)};
  int cnt = 0;
  for (; c.left > 0 && cnt < limit; cnt++) {
    decode_value(L, c);
    if (c.err == CursorError::eof) return luaL_error(L, "Missing bytes in input.");
    if (c.err == CursorError::bad_format) return luaL_error(L, "Bad data format in input.");
  }
  if (!decode_all) {
    std::size_t new_offset = len - c.left;
    if (new_offset > INT_MAX) new_offset = INT_MAX;
    lua_pushinteger(L, c.left == 0 ? -1 : static_cast<lua_Integer>(new_offset));
    lua_insert(L, 2);
    cnt += 1;
  }
  return cnt;
}

int mp_unpack(lua_State* L) { return unpack_full(L, 0, 0); }

int mp_unpack_one(lua_State* L) {
  const auto offset = static_cast<int>(luaL_optinteger(L, 2, 0));
  lua_pop(L, lua_gettop(L) - 1);
  return unpack_full(L, 1, offset);
}

int mp_unpack_limit(lua_State* L) {
  const auto limit = static_cast<int>(luaL_checkinteger(L, 2));
  const auto offset = static_cast<int>(luaL_optinteger(L, 3, 0));
  lua_pop(L, lua_gettop(L) - 1);
  return unpack_full(L, limit, offset);
}

}  // namespace

int luaopen_cmsgpack(lua_State* L) {
  lua_newtable(L);
  lua_pushcfunction(L, mp_pack);
  lua_setfield(L, -2, "pack");
  lua_pushcfunction(L, mp_unpack);
  lua_setfield(L, -2, "unpack");
  lua_pushcfunction(L, mp_unpack_one);
  lua_setfield(L, -2, "unpack_one");
  lua_pushcfunction(L, mp_unpack_limit);
  lua_setfield(L, -2, "unpack_limit");
  lua_pushliteral(L, "cmsgpack");
  lua_setfield(L, -2, "_NAME");
  lua_pushliteral(L, "lua-cmsgpack 0.4.0");
  lua_setfield(L, -2, "_VERSION");
  lua_pushliteral(L, "Copyright (C) 2012, Salvatore Sanfilippo");
  lua_setfield(L, -2, "_COPYRIGHT");
  lua_pushliteral(L, "MessagePack C implementation for Lua");
  lua_setfield(L, -2, "_DESCRIPTION");
  return 1;
}

}  // namespace apiary::script::detail
