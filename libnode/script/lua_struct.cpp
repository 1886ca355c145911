// The `struct` library Redis bundles (deps/lua/src/lua_struct.c: Roberto Ierusalimschy's
// struct 0.2 with Redis's bound checks): struct.pack, struct.unpack, struct.size.
//
// Formats: '>' big endian, '<' little endian, '![n]' alignment, 'x' padding, 'b'/'B' signed
// and unsigned char, 'h'/'H' short, 'l'/'L' long, 'T' size_t, 'i'/'I'[n] integer of n bytes,
// 'c'[n] n chars (n == 0: the whole string when packing, the previous number when
// unpacking), 's' zero-terminated string, 'f' float, 'd' double, ' ' ignored.
// Error texts are the original's; nothing here owns C++ resources (luaL_error longjmps).
#include <cctype>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstring>

#include "state.hpp"

namespace apiary::script::detail {
namespace {

using Int = long;
using Uint = unsigned long;

constexpr int kMaxIntSize = 32;
constexpr int kBig = 0;
constexpr int kLittle = 1;

struct Padded {
  char c;
  double d;
};
constexpr int kMaxAlign = static_cast<int>(
    sizeof(Padded) - sizeof(double) > sizeof(int) ? sizeof(Padded) - sizeof(double) : sizeof(int));

int native_endian() {
  const int one = 1;
  char first = 0;
  std::memcpy(&first, &one, 1);
  return first == 1 ? kLittle : kBig;
}

struct Header {
  int endian;
  int align;
};

bool is_power_of_2(int x) { return x > 0 && (x & (x - 1)) == 0; }

int getnum(lua_State* L, const char** fmt, int df) {
  if (!std::isdigit(static_cast<unsigned char>(**fmt))) return df;
  int a = 0;
  do {
    if (a > (INT_MAX / 10) || a * 10 > (INT_MAX - (**fmt - '0'))) {
      luaL_error(L, "integral size overflow");
    }
    a = a * 10 + *((*fmt)++) - '0';
  } while (std::isdigit(static_cast<unsigned char>(**fmt)));
  return a;
}

std::size_t optsize(lua_State* L, char opt, const char** fmt) {
  switch (opt) {
    case 'B':
    case 'b':
      return sizeof(char);
    case 'H':
    case 'h':
      return sizeof(short);
    case 'L':
    case 'l':
      return sizeof(long);
    case 'T':
      return sizeof(std::size_t);
    case 'f':
      return sizeof(float);
    case 'd':
      return sizeof(double);
    case 'x':
      return 1;
    case 'c':
      return static_cast<std::size_t>(getnum(L, fmt, 1));
    case 'i':
    case 'I': {
      const int sz = getnum(L, fmt, sizeof(int));
      if (sz > kMaxIntSize) {
        luaL_error(L, "integral size %d is larger than limit of %d", sz, kMaxIntSize);
      }
      return static_cast<std::size_t>(sz);
    }
    default:
      return 0;
  }
}

std::size_t gettoalign(std::size_t len, const Header& h, int opt, std::size_t size) {
  if (size == 0 || opt == 'c') return 0;
  if (size > static_cast<std::size_t>(h.align)) size = static_cast<std::size_t>(h.align);
  return (size - (len & (size - 1))) & (size - 1);
}

void controloptions(lua_State* L, int opt, const char** fmt, Header& h) {
  switch (opt) {
    case ' ':
      return;
    case '>':
      h.endian = kBig;
      return;
    case '<':
      h.endian = kLittle;
      return;
    case '!': {
      const int a = getnum(L, fmt, kMaxAlign);
      if (!is_power_of_2(a)) luaL_error(L, "alignment %d is not a power of 2", a);
      h.align = a;
      return;
    }
    default: {
      const char* msg = lua_pushfstring(L, "invalid format option '%c'", opt);
      luaL_argerror(L, 1, msg);
    }
  }
}

// C's (Int)n and (Uint)n as x86-64 computes them, without the undefined behaviour.
Uint to_unsigned(lua_Number n) {
  constexpr double two63 = 9223372036854775808.0;
  if (std::isnan(n)) return Uint{1} << 63;
  if (n < 0) {
    if (n < -two63) return Uint{1} << 63;
    return static_cast<Uint>(static_cast<Int>(n));
  }
  if (n >= 2 * two63) return 0;
  if (n >= two63) return static_cast<Uint>(static_cast<Int>(n - two63)) ^ (Uint{1} << 63);
  return static_cast<Uint>(static_cast<Int>(n));
}

void putinteger(lua_State* L, luaL_Buffer* b, int arg, int endian, int size) {
  Uint value = to_unsigned(luaL_checknumber(L, arg));
  char buff[kMaxIntSize];
  if (endian == kLittle) {
    for (int i = 0; i < size; i++) {
      buff[i] = static_cast<char>(value & 0xff);
      value = size > 8 && i >= 7 ? 0 : value >> 8;
    }
  } else {
    for (int i = size - 1; i >= 0; i--) {
      buff[i] = static_cast<char>(value & 0xff);
      value = value >> 8;
    }
  }
  luaL_addlstring(b, buff, static_cast<std::size_t>(size));
}

void correctbytes(char* b, int size, int endian) {
  if (endian != native_endian()) {
    int i = 0;
    while (i < --size) {
      const char temp = b[i];
      b[i++] = b[size];
      b[size] = temp;
    }
  }
}

int b_pack(lua_State* L) {
  luaL_Buffer b;
  const char* fmt = luaL_checkstring(L, 1);
  Header h{native_endian(), 1};
  int arg = 2;
  std::size_t totalsize = 0;
  lua_pushnil(L);  // mark to separate arguments from string buffer
  luaL_buffinit(L, &b);
  while (*fmt != '\0') {
    const int opt = *fmt++;
    std::size_t size = optsize(L, static_cast<char>(opt), &fmt);
    std::size_t toalign = gettoalign(totalsize, h, opt, size);
    totalsize += toalign;
    while (toalign-- > 0) luaL_addchar(&b, '\0');
    switch (opt) {
      case 'b':
      case 'B':
      case 'h':
      case 'H':
      case 'l':
      case 'L':
      case 'T':
      case 'i':
      case 'I':
        putinteger(L, &b, arg++, h.endian, static_cast<int>(size));
        break;
      case 'x':
        luaL_addchar(&b, '\0');
        break;
      case 'f': {
        float f = static_cast<float>(luaL_checknumber(L, arg++));
        char bytes[sizeof(float)];
        std::memcpy(bytes, &f, sizeof(f));
        correctbytes(bytes, static_cast<int>(size), h.endian);
        luaL_addlstring(&b, bytes, size);
        break;
      }
      case 'd': {
        double d = luaL_checknumber(L, arg++);
        char bytes[sizeof(double)];
        std::memcpy(bytes, &d, sizeof(d));
        correctbytes(bytes, static_cast<int>(size), h.endian);
        luaL_addlstring(&b, bytes, size);
        break;
      }
      case 'c':
      case 's': {
        std::size_t l = 0;
        const char* s = luaL_checklstring(L, arg++, &l);
        if (size == 0) size = l;
        luaL_argcheck(L, l >= size, arg, "string too short");
        luaL_addlstring(&b, s, size);
        if (opt == 's') {
          luaL_addchar(&b, '\0');
          size++;
        }
        break;
      }
      default:
        controloptions(L, opt, &fmt, h);
    }
    totalsize += size;
  }
  luaL_pushresult(&b);
  return 1;
}

lua_Number getinteger(const char* buff, int endian, bool issigned, int size) {
  Uint l = 0;
  if (endian == kBig) {
    for (int i = 0; i < size; i++) {
      l = size > 8 && i < size - 8 ? 0 : l << 8;
      l |= static_cast<Uint>(static_cast<unsigned char>(buff[i]));
    }
  } else {
    for (int i = size - 1; i >= 0; i--) {
      l = size > 8 && i >= 8 ? 0 : l << 8;
      l |= static_cast<Uint>(static_cast<unsigned char>(buff[i]));
    }
  }
  if (!issigned) return static_cast<lua_Number>(l);
  const int shift = size * 8 - 1;
  if (shift < 64) {
    const Uint mask = ~Uint{0} << shift;
    if (l & mask) l |= mask;
  }
  return static_cast<lua_Number>(static_cast<Int>(l));
}

int b_unpack(lua_State* L) {
  Header h{native_endian(), 1};
  const char* fmt = luaL_checkstring(L, 1);
  std::size_t ld = 0;
  const char* data = luaL_checklstring(L, 2, &ld);
  // As Redis: the offset is a size_t, so only 0 is refused here; a negative one wraps and
  // fails the length check below.
  const auto offset = static_cast<std::size_t>(luaL_optinteger(L, 3, 1));
  luaL_argcheck(L, offset > 0, 3, "offset must be 1 or greater");
  std::size_t pos = offset - 1;
  int n = 0;
  while (*fmt) {
    const int opt = *fmt++;
    std::size_t size = optsize(L, static_cast<char>(opt), &fmt);
    pos += gettoalign(pos, h, opt, size);
    luaL_argcheck(L, size <= ld && pos <= ld - size, 2, "data string too short");
    luaL_checkstack(L, 2, "too many results");
    switch (opt) {
      case 'b':
      case 'B':
      case 'h':
      case 'H':
      case 'l':
      case 'L':
      case 'T':
      case 'i':
      case 'I': {
        const bool issigned = std::islower(opt) != 0;
        lua_pushnumber(L, getinteger(data + pos, h.endian, issigned, static_cast<int>(size)));
        n++;
        break;
      }
      case 'x':
        break;
      case 'f': {
        float f = 0;
        char bytes[sizeof(float)];
        std::memcpy(bytes, data + pos, size);
        correctbytes(bytes, sizeof(f), h.endian);
        std::memcpy(&f, bytes, sizeof(f));
        lua_pushnumber(L, f);
        n++;
        break;
      }
      case 'd': {
        double d = 0;
        char bytes[sizeof(double)];
        std::memcpy(bytes, data + pos, size);
        correctbytes(bytes, sizeof(d), h.endian);
        std::memcpy(&d, bytes, sizeof(d));
        lua_pushnumber(L, d);
        n++;
        break;
      }
      case 'c': {
        if (size == 0) {
          if (n == 0 || !lua_isnumber(L, -1)) luaL_error(L, "format 'c0' needs a previous size");
          size = static_cast<std::size_t>(lua_tonumber(L, -1));
          lua_pop(L, 1);
          n--;
          luaL_argcheck(L, size <= ld && pos <= ld - size, 2, "data string too short");
        }
        lua_pushlstring(L, data + pos, size);
        n++;
        break;
      }
      case 's': {
        const auto* e =
            pos > ld ? nullptr : static_cast<const char*>(std::memchr(data + pos, '\0', ld - pos));
        if (e == nullptr) luaL_error(L, "unfinished string in data");
        size = static_cast<std::size_t>(e - (data + pos)) + 1;
        lua_pushlstring(L, data + pos, size - 1);
        n++;
        break;
      }
      default:
        controloptions(L, opt, &fmt, h);
    }
    pos += size;
  }
  lua_pushinteger(L, static_cast<lua_Integer>(pos + 1));
  return n + 1;
}

int b_size(lua_State* L) {
  Header h{native_endian(), 1};
  const char* fmt = luaL_checkstring(L, 1);
  std::size_t pos = 0;
  while (*fmt) {
    const int opt = *fmt++;
    const std::size_t size = optsize(L, static_cast<char>(opt), &fmt);
    pos += gettoalign(pos, h, opt, size);
    if (opt == 's') {
      luaL_argerror(L, 1, "option 's' has no fixed size");
    } else if (opt == 'c' && size == 0) {
      luaL_argerror(L, 1, "option 'c0' has no fixed size");
    }
    if (!std::isalnum(opt)) controloptions(L, opt, &fmt, h);
    pos += size;
  }
  lua_pushinteger(L, static_cast<lua_Integer>(pos));
  return 1;
}

constexpr luaL_Reg kFunctions[] = {
    {"pack", b_pack}, {"unpack", b_unpack}, {"size", b_size}, {nullptr, nullptr}};

}  // namespace

int luaopen_struct(lua_State* L) {
  luaL_register(L, "struct", kFunctions);
  return 1;
}

}  // namespace apiary::script::detail
