#include "convert.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "apiary/resp/reply_writer.hpp"

namespace apiary::script::detail {
namespace {

// ---- RESP -> Lua ----

struct Cursor {
  const char* p;
  const char* end;
};

// The header line after the type byte, without CRLF; advances past CRLF.
bool read_line(Cursor& c, const char*& start, std::size_t& len) {
  const char* s = c.p;
  while (c.p + 1 < c.end && !(c.p[0] == '\r' && c.p[1] == '\n')) ++c.p;
  if (c.p + 1 >= c.end) return false;
  start = s;
  len = static_cast<std::size_t>(c.p - s);
  c.p += 2;
  return true;
}

bool read_count(Cursor& c, long long& n) {
  const char* s = nullptr;
  std::size_t len = 0;
  if (!read_line(c, s, len)) return false;
  char buf[32];
  if (len == 0 || len >= sizeof(buf)) return false;
  std::memcpy(buf, s, len);
  buf[len] = '\0';
  char* endp = nullptr;
  n = std::strtoll(buf, &endp, 10);
  return *endp == '\0';
}

bool read_blob(Cursor& c, long long n, const char*& s) {
  if (n < 0 || c.end - c.p < n + 2) return false;
  s = c.p;
  c.p += n + 2;
  return true;
}

void set_field_string(lua_State* L, const char* field, const char* s, std::size_t len) {
  lua_pushstring(L, field);
  lua_pushlstring(L, s, len);
  lua_settable(L, -3);
}

// Nesting deeper than this in a command's reply raises "reached lua stack limit": real replies
// nest a few levels, and the recursion below must not outgrow the C stack.
constexpr int kMaxReplyDepth = 1000;

bool push_value(lua_State* L, Cursor& c, int depth);

// Pushes a table of `n` elements (array), or {kind={...}} of pairs (map) or members (set).
bool push_aggregate(lua_State* L, Cursor& c, long long n, char type, int depth) {
  if (depth > kMaxReplyDepth || !lua_checkstack(L, 4)) luaL_error(L, "reached lua stack limit");
  if (type == '*' || type == '>') {
    lua_createtable(L, static_cast<int>(n > 0 && n < (1 << 20) ? n : 0), 0);
    for (long long j = 1; j <= n; ++j) {
      lua_pushnumber(L, static_cast<lua_Number>(j));
      if (!push_value(L, c, depth + 1)) return false;
      lua_settable(L, -3);
    }
    return true;
  }
  lua_newtable(L);
  lua_pushstring(L, type == '%' ? "map" : "set");
  lua_newtable(L);
  for (long long j = 0; j < n; ++j) {
    if (!push_value(L, c, depth + 1)) return false;
    if (type == '%') {
      if (!push_value(L, c, depth + 1)) return false;
    } else {
      lua_pushboolean(L, 1);
    }
    lua_settable(L, -3);
  }
  lua_settable(L, -3);
  return true;
}

bool push_value(lua_State* L, Cursor& c, int depth) {
  if (c.p >= c.end) return false;
  const char type = *c.p++;
  const char* s = nullptr;
  std::size_t len = 0;
  long long n = 0;
  switch (type) {
    case '+':
      if (!read_line(c, s, len)) return false;
      lua_newtable(L);
      set_field_string(L, "ok", s, len);
      return true;
    case '-': {
      if (!read_line(c, s, len)) return false;
      lua_pushliteral(L, "-");
      lua_pushlstring(L, s, len);
      lua_concat(L, 2);
      std::size_t full_len = 0;
      const char* full = lua_tolstring(L, -1, &full_len);
      push_error(L, std::string_view(full, full_len));
      lua_remove(L, -2);
      lua_pushliteral(L, "ignore_error_stats_update");
      lua_pushboolean(L, 1);
      lua_settable(L, -3);
      return true;
    }
    case ':':
      if (!read_count(c, n)) return false;
      lua_pushnumber(L, static_cast<lua_Number>(n));
      return true;
    case '$':
      if (!read_count(c, n)) return false;
      if (n < 0) {
        lua_pushboolean(L, 0);
        return true;
      }
      if (!read_blob(c, n, s)) return false;
      lua_pushlstring(L, s, static_cast<std::size_t>(n));
      return true;
    case '*':
    case '>':
    case '%':
    case '~':
      if (!read_count(c, n)) return false;
      if (n < 0) {
        lua_pushboolean(L, 0);
        return true;
      }
      return push_aggregate(L, c, n, type, depth);
    case '_':
      if (!read_line(c, s, len)) return false;
      lua_pushnil(L);
      return true;
    case '#':
      if (!read_line(c, s, len) || len != 1) return false;
      lua_pushboolean(L, s[0] == 't');
      return true;
    case ',': {
      if (!read_line(c, s, len)) return false;
      char buf[128];
      const std::size_t k = len < sizeof(buf) ? len : sizeof(buf) - 1;
      std::memcpy(buf, s, k);
      buf[k] = '\0';
      lua_newtable(L);
      lua_pushliteral(L, "double");
      lua_pushnumber(L, std::strtod(buf, nullptr));
      lua_settable(L, -3);
      return true;
    }
    case '(':
      if (!read_line(c, s, len)) return false;
      lua_newtable(L);
      set_field_string(L, "big_number", s, len);
      return true;
    case '=': {
      if (!read_count(c, n) || !read_blob(c, n, s) || n < 4) return false;
      lua_newtable(L);
      lua_pushliteral(L, "verbatim_string");
      lua_newtable(L);
      set_field_string(L, "format", s, 3);
      set_field_string(L, "string", s + 4, static_cast<std::size_t>(n - 4));
      lua_settable(L, -3);
      return true;
    }
    case '|': {
      // Attributes are not exposed to scripts: parse and drop them, then the reply itself.
      if (!read_count(c, n)) return false;
      const int top = lua_gettop(L);
      for (long long j = 0; j < 2 * n; ++j) {
        if (!push_value(L, c, depth + 1)) return false;
        lua_settop(L, top);
      }
      return push_value(L, c, depth);
    }
    default:
      return false;
  }
}

// ---- Lua -> RESP ----

void append_double(std::string& out, double d, int protocol) {
  char buf[64];
  int n = 0;
  if (std::isinf(d)) {
    n = std::snprintf(buf, sizeof(buf), "%s", d > 0 ? "inf" : "-inf");
  } else {
    n = std::snprintf(buf, sizeof(buf), "%.17g", d);
  }
  resp::ReplyWriter w(out, protocol);
  if (protocol >= 3) {
    out.push_back(',');
    out.append(buf, static_cast<std::size_t>(n));
    out.append("\r\n", 2);
  } else {
    w.bulk(std::string_view(buf, static_cast<std::size_t>(n)));
  }
}

// (long long) of a double as x86 converts it: NaN and out-of-range values give INT64_MIN.
long long to_integer(double d) {
  if (std::isnan(d) || d >= 9223372036854775808.0 || d < -9223372036854775808.0) {
    return static_cast<long long>(0x8000000000000000ULL);
  }
  return static_cast<long long>(d);
}

std::string mapped(const char* s, std::size_t len) {
  std::string v(s, len);
  for (char& ch : v) {
    if (ch == '\r' || ch == '\n') ch = ' ';
  }
  return v;
}

// Pushes t[field] (raw) for the table at absolute index `table` and returns its type.
int raw_field(lua_State* L, int table, const char* field) {
  lua_pushstring(L, field);
  lua_rawget(L, table);
  return lua_type(L, -1);
}

// The walk over nested tables keeps its own stack of frames instead of recursing, so a deep
// or self-referencing table costs heap, not C stack (sanitizer builds and small thread stacks
// included). The Lua stack holds the same values Redis's recursive luaReplyToRedisReply
// keeps there, so "reached lua stack limit" comes at the same depth.
struct Frame {
  enum class Kind : unsigned char { array, map, set } kind;
  int next = 1;           // array: next index
  int n = 0;              // array: length
  bool key_done = false;  // map: the key of the current pair is written, its value is next
};

// Writes the table on top if it is one of the single-field replies (err, ok, double,
// big_number, verbatim_string) and pops it; otherwise starts a frame for it (writing the
// aggregate's header) and leaves the Lua stack ready for the frame's first step.
void start_table(lua_State* L, std::string& out, int client_protocol, std::vector<Frame>& frames) {
  resp::ReplyWriter w(out, client_protocol);
  std::size_t len = 0;
  const int t = lua_gettop(L);
  if (raw_field(L, t, "err") == LUA_TSTRING) {
    const char* s = lua_tolstring(L, -1, &len);
    std::string_view msg(s, len);
    while (!msg.empty() && (msg.back() == '\r' || msg.back() == '\n')) msg.remove_suffix(1);
    out.push_back('-');
    out += mapped(msg.data(), msg.size());
    out.append("\r\n", 2);
    lua_pop(L, 2);
    return;
  }
  lua_pop(L, 1);
  if (raw_field(L, t, "ok") == LUA_TSTRING) {
    const char* s = lua_tolstring(L, -1, &len);
    w.simple(mapped(s, len));
    lua_pop(L, 2);
    return;
  }
  lua_pop(L, 1);
  if (raw_field(L, t, "double") == LUA_TNUMBER) {
    append_double(out, lua_tonumber(L, -1), client_protocol);
    lua_pop(L, 2);
    return;
  }
  lua_pop(L, 1);
  if (raw_field(L, t, "big_number") == LUA_TSTRING) {
    const char* s = lua_tolstring(L, -1, &len);
    w.big_number(mapped(s, len));
    lua_pop(L, 2);
    return;
  }
  lua_pop(L, 1);
  if (raw_field(L, t, "verbatim_string") == LUA_TTABLE) {
    const int v = lua_gettop(L);
    if (raw_field(L, v, "format") == LUA_TSTRING) {
      if (raw_field(L, v, "string") == LUA_TSTRING) {
        std::size_t flen = 0;
        const char* format = lua_tolstring(L, -2, &flen);
        const char* s = lua_tolstring(L, -1, &len);
        // Redis's addReplyVerbatim: three bytes of format, cut at a NUL, padded with spaces.
        char ext[3] = {' ', ' ', ' '};
        for (std::size_t i = 0; i < 3 && i < flen && format[i] != '\0'; ++i) ext[i] = format[i];
        w.verbatim(std::string_view(ext, 3), std::string_view(s, len));
        lua_pop(L, 4);
        return;
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  for (const auto kind : {Frame::Kind::map, Frame::Kind::set}) {
    if (raw_field(L, t, kind == Frame::Kind::map ? "map" : "set") == LUA_TTABLE) {
      std::size_t count = 0;
      lua_pushnil(L);
      while (lua_next(L, -2) != 0) {
        lua_pop(L, 1);
        ++count;
      }
      if (kind == Frame::Kind::map) {
        w.map(count);
      } else {
        w.set(count);
      }
      lua_pushnil(L);  // stack: table, inner, nil (the iteration's first key)
      frames.push_back(Frame{kind});
      return;
    }
    lua_pop(L, 1);
  }
  // An array: up to the first nil.
  int n = 0;
  for (;;) {
    lua_rawgeti(L, -1, n + 1);
    const bool end = lua_isnil(L, -1);
    lua_pop(L, 1);
    if (end) break;
    ++n;
  }
  w.array(static_cast<std::size_t>(n));
  frames.push_back(Frame{Frame::Kind::array, 1, n});
}

// Writes the value on top unless it is a table that needs a frame; pops what it writes.
void start_value(lua_State* L, std::string& out, int client_protocol, int script_resp,
                 std::vector<Frame>& frames) {
  resp::ReplyWriter w(out, client_protocol);
  if (!lua_checkstack(L, 4)) {
    // Redis's depth limit: a self-referencing or very deep table ends in this error.
    append_error(out, "reached lua stack limit");
    lua_pop(L, 1);
    return;
  }
  switch (lua_type(L, -1)) {
    case LUA_TSTRING: {
      std::size_t len = 0;
      const char* s = lua_tolstring(L, -1, &len);
      w.bulk(std::string_view(s, len));
      break;
    }
    case LUA_TBOOLEAN:
      if (script_resp == 2) {
        if (lua_toboolean(L, -1)) {
          w.integer(1);
        } else {
          w.null();
        }
      } else {
        w.boolean(lua_toboolean(L, -1) != 0);
      }
      break;
    case LUA_TNUMBER:
      w.integer(to_integer(lua_tonumber(L, -1)));
      break;
    case LUA_TTABLE:
      start_table(L, out, client_protocol, frames);
      return;
    default:
      w.null();
  }
  lua_pop(L, 1);
}

// Advances the innermost frame: pushes its next value and returns true, or finishes it (pops
// its tables) and returns false.
bool next_value(lua_State* L, std::vector<Frame>& frames) {
  Frame& f = frames.back();
  switch (f.kind) {
    case Frame::Kind::array:
      if (f.next <= f.n) {
        lua_rawgeti(L, -1, f.next++);
        return true;
      }
      lua_pop(L, 1);
      break;
    case Frame::Kind::map:
      // stack: table, inner, key, value after the key was written; table, inner, key before
      if (f.key_done) {
        f.key_done = false;
        return true;  // the value is on top
      }
      if (lua_next(L, -2) != 0) {
        lua_pushvalue(L, -2);  // write a copy of the key, keep the key for lua_next
        f.key_done = true;
        return true;
      }
      lua_pop(L, 2);
      break;
    case Frame::Kind::set:
      if (lua_next(L, -2) != 0) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        return true;
      }
      lua_pop(L, 2);
      break;
  }
  frames.pop_back();
  return false;
}

}  // namespace

void push_resp_as_lua(lua_State* L, const char* data, std::size_t len) {
  Cursor c{data, data + len};
  const int top = lua_gettop(L);
  if (!push_value(L, c, 0)) {
    lua_settop(L, top);
    push_error(L, "-ERR protocol error in the reply of a command called from a script");
  }
}

void append_lua_as_resp(lua_State* L, std::string& out, int client_protocol, int script_resp) {
  std::vector<Frame> frames;
  start_value(L, out, client_protocol, script_resp, frames);
  while (!frames.empty()) {
    if (next_value(L, frames)) start_value(L, out, client_protocol, script_resp, frames);
  }
}

void append_error(std::string& out, std::string_view message) {
  resp::ReplyWriter w(out, 2);
  w.error(message);
}

}  // namespace apiary::script::detail
