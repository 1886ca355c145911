// SETBIT, GETBIT, BITCOUNT, BITPOS and BITOP, answering as Redis 7.0.15's bitops.c does,
// including the order in which it checks its arguments: BITCOUNT and BITPOS look the key up
// before they read their range (a missing key answers 0, or BITPOS's -1/0, whatever the range
// says), SETBIT and GETBIT read their offset and bit before the key.
//
// A bitmap is a string (bit_support.hpp): reads see the key's string as GET does, writes are
// a read-modify-write of the whole string at the key's coordinator. BITOP's keys are in one
// partition (hash tags) or the router refuses it with CROSSSLOT before it gets here.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "apiary/resp/server.hpp"
#include "bit_support.hpp"
#include "commands.hpp"
#include "keyspace_notify.hpp"
#include "store_access.hpp"

namespace apiary::resp {
namespace {

// The value of bit `offset` (0 is the most significant bit of the first byte); bits past the
// end of the string are 0.
int bit_at(std::string_view s, std::uint64_t offset) {
  const std::uint64_t byte = offset >> 3;
  if (byte >= s.size()) return 0;
  return (static_cast<unsigned char>(s[byte]) >> (7 - (offset & 7))) & 1;
}

// SETBIT key offset value
Outcome setbit(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  std::uint64_t offset = 0;
  if (!parse_bit_offset(ctx, ctx.argv[2], false, 0, offset)) return Outcome::done();
  const auto on = to_int(ctx.argv[3]);
  if (!on || (*on & ~std::int64_t{1}) != 0) {
    ctx.reply.error("bit is not an integer or out of range");
    return Outcome::done();
  }
  std::optional<std::string_view> v;
  if (!bit_string(ctx, *st, ctx.argv[1], v, false)) return Outcome::done();
  const std::uint64_t byte = offset >> 3;
  if (v && byte < v->size() && bit_at(*v, offset) == *on) {  // nothing to write, no copy
    ctx.reply.integer(*on);
    return Outcome::done();
  }
  // As in Redis, a new key or a string that has to grow is written even for a 0 bit.
  std::string value = v ? std::string(*v) : std::string();
  if (value.size() <= byte) value.resize(byte + 1, '\0');
  const int old = bit_at(value, offset);
  const auto mask = static_cast<unsigned char>(1u << (7 - (offset & 7)));
  auto& c = reinterpret_cast<unsigned char&>(value[byte]);
  c = static_cast<unsigned char>(*on != 0 ? (c | mask) : (c & ~mask));
  if (!write_bits(ctx, *st, ctx.argv[1], value)) return Outcome::done();
  notify(ctx, kNotifyString, "setbit", ctx.argv[1]);
  ctx.reply.integer(old);
  return Outcome::done();
}

// GETBIT key offset
Outcome getbit(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  std::uint64_t offset = 0;
  if (!parse_bit_offset(ctx, ctx.argv[2], false, 0, offset)) return Outcome::done();
  std::optional<std::string_view> v;
  if (!bit_string(ctx, *st, ctx.argv[1], v)) return Outcome::done();
  ctx.reply.integer(v ? bit_at(*v, offset) : 0);
  return Outcome::done();
}

// A BITCOUNT/BITPOS range once Redis has read it: inclusive bit positions, empty when
// first > last.
struct BitRange {
  std::int64_t first = 0;
  std::int64_t last = -1;
  bool empty() const { return first > last; }
};

// Redis's normalization of start/end against `total` units (bytes or bits): negatives count
// from the end, then both are clamped into the string.
void clamp_range(std::int64_t total, std::int64_t& start, std::int64_t& end) {
  if (start < 0) start = total + start;
  if (end < 0) end = total + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= total) end = total - 1;
}

BitRange to_bits(std::int64_t start, std::int64_t end, bool in_bits) {
  if (start > end) return {};
  if (in_bits) return {start, end};
  return {start * 8, end * 8 + 7};
}

// BYTE or BIT, as Redis reads it (case-insensitive); nullopt after replying a syntax error.
std::optional<bool> parse_unit(CommandContext& ctx, std::string_view arg) {
  if (iequals(arg, "bit")) return true;
  if (iequals(arg, "byte")) return false;
  ctx.reply.error(kSyntaxError);
  return std::nullopt;
}

// Redis's redisPopcount arithmetic: the baseline x86-64 target has no POPCNT instruction, and
// std::popcount then calls a library routine per word.
int popcount64(std::uint64_t x) {
  x = x - ((x >> 1) & 0x5555555555555555ULL);
  x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
  x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
  return static_cast<int>((x * 0x0101010101010101ULL) >> 56);
}

std::int64_t count_bits(std::string_view s, BitRange r) {
  std::int64_t count = 0;
  std::int64_t bit = r.first;
  for (; bit <= r.last && (bit & 7) != 0; ++bit) {
    count += bit_at(s, static_cast<std::uint64_t>(bit));
  }
  // Whole bytes, eight at a time.
  for (; bit + 63 <= r.last; bit += 64) {
    std::uint64_t word = 0;
    std::memcpy(&word, s.data() + (bit >> 3), sizeof word);
    count += popcount64(word);
  }
  for (; bit + 7 <= r.last; bit += 8) {
    count += popcount64(static_cast<unsigned char>(s[static_cast<std::size_t>(bit >> 3)]));
  }
  for (; bit <= r.last; ++bit) count += bit_at(s, static_cast<std::uint64_t>(bit));
  return count;
}

// BITCOUNT key [start end [BYTE|BIT]]
Outcome bitcount(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  std::optional<std::string_view> v;
  if (!bit_string(ctx, *st, ctx.argv[1], v)) return Outcome::done();
  if (!v) {
    ctx.reply.integer(0);
    return Outcome::done();
  }
  const std::string_view s = *v;
  const auto len = static_cast<std::int64_t>(s.size());
  BitRange range{0, len * 8 - 1};
  const std::size_t argc = ctx.argv.size();
  if (argc == 4 || argc == 5) {
    auto start = to_int(ctx.argv[2]);
    if (!start) {
      ctx.reply.error(kNotInteger);
      return Outcome::done();
    }
    auto end = to_int(ctx.argv[3]);
    if (!end) {
      ctx.reply.error(kNotInteger);
      return Outcome::done();
    }
    if (*start < 0 && *end < 0 && *start > *end) {  // Redis answers before reading the unit
      ctx.reply.integer(0);
      return Outcome::done();
    }
    bool in_bits = false;
    if (argc == 5) {
      const auto unit = parse_unit(ctx, ctx.argv[4]);
      if (!unit) return Outcome::done();
      in_bits = *unit;
    }
    clamp_range(in_bits ? len * 8 : len, *start, *end);
    range = to_bits(*start, *end, in_bits);
  } else if (argc != 2) {
    ctx.reply.error(kSyntaxError);
    return Outcome::done();
  }
  ctx.reply.integer(range.empty() ? 0 : count_bits(s, range));
  return Outcome::done();
}

// The first bit equal to `bit` in `r`, or -1. Whole bytes (and runs of eight) that cannot
// hold it are skipped.
std::int64_t find_bit(std::string_view s, BitRange r, int bit) {
  const auto skip = static_cast<unsigned char>(bit != 0 ? 0x00 : 0xff);
  const std::uint64_t skip_word = bit != 0 ? 0 : ~std::uint64_t{0};
  std::int64_t pos = r.first;
  while (pos <= r.last) {
    if ((pos & 7) == 0 && pos + 63 <= r.last) {
      std::uint64_t word = 0;
      std::memcpy(&word, s.data() + (pos >> 3), sizeof word);
      if (word == skip_word) {
        pos += 64;
        continue;
      }
    }
    if ((pos & 7) == 0 && pos + 7 <= r.last &&
        static_cast<unsigned char>(s[static_cast<std::size_t>(pos >> 3)]) == skip) {
      pos += 8;
      continue;
    }
    if (bit_at(s, static_cast<std::uint64_t>(pos)) == bit) return pos;
    ++pos;
  }
  return -1;
}

// BITPOS key bit [start [end [BYTE|BIT]]]. Redis's answer, reduced to what it computes: the
// first matching bit of the range; when there is none, -1 -- except that a search for 0
// without an explicit end treats the string as followed by zeros and answers the bit just
// past its end.
Outcome bitpos(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  const auto bit = to_int(ctx.argv[2]);
  if (!bit) {
    ctx.reply.error(kNotInteger);
    return Outcome::done();
  }
  if (*bit != 0 && *bit != 1) {
    ctx.reply.error("The bit argument must be 1 or 0.");
    return Outcome::done();
  }
  std::optional<std::string_view> v;
  if (!bit_string(ctx, *st, ctx.argv[1], v)) return Outcome::done();
  if (!v) {  // an endless run of zeros
    ctx.reply.integer(*bit != 0 ? -1 : 0);
    return Outcome::done();
  }
  const std::string_view s = *v;
  const auto len = static_cast<std::int64_t>(s.size());
  const std::size_t argc = ctx.argv.size();
  BitRange range{0, len * 8 - 1};
  bool end_given = false;
  if (argc >= 4 && argc <= 6) {
    auto start = to_int(ctx.argv[3]);
    if (!start) {
      ctx.reply.error(kNotInteger);
      return Outcome::done();
    }
    bool in_bits = false;
    if (argc == 6) {  // Redis reads the unit before the end
      const auto unit = parse_unit(ctx, ctx.argv[5]);
      if (!unit) return Outcome::done();
      in_bits = *unit;
    }
    std::int64_t end = in_bits ? len * 8 - 1 : len - 1;
    if (argc >= 5) {
      const auto e = to_int(ctx.argv[4]);
      if (!e) {
        ctx.reply.error(kNotInteger);
        return Outcome::done();
      }
      end = *e;
      end_given = true;
    }
    clamp_range(in_bits ? len * 8 : len, *start, end);
    range = to_bits(*start, end, in_bits);
  } else if (argc != 3) {
    ctx.reply.error(kSyntaxError);
    return Outcome::done();
  }
  if (range.empty()) {
    ctx.reply.integer(-1);
    return Outcome::done();
  }
  std::int64_t pos = find_bit(s, range, static_cast<int>(*bit));
  if (pos < 0 && *bit == 0 && !end_given) pos = range.last + 1;
  ctx.reply.integer(pos);
  return Outcome::done();
}

enum class BitOp : unsigned char { and_op, or_op, xor_op, not_op };

std::optional<BitOp> parse_bitop(std::string_view name) {
  if (iequals(name, "and")) return BitOp::and_op;
  if (iequals(name, "or")) return BitOp::or_op;
  if (iequals(name, "xor")) return BitOp::xor_op;
  if (iequals(name, "not")) return BitOp::not_op;
  return std::nullopt;
}

// The result of `op` over `sources`, each zero-padded to the longest.
std::string combine(BitOp op, const std::vector<std::string>& sources, std::size_t length) {
  std::string out(length, '\0');
  const auto byte_of = [&](std::size_t j, std::size_t i) -> unsigned char {
    return i < sources[j].size() ? static_cast<unsigned char>(sources[j][i]) : 0;
  };
  for (std::size_t i = 0; i < length; ++i) {
    unsigned char b = byte_of(0, i);
    if (op == BitOp::not_op) b = static_cast<unsigned char>(~b);
    for (std::size_t j = 1; j < sources.size(); ++j) {
      const unsigned char x = byte_of(j, i);
      if (op == BitOp::and_op) b &= x;
      if (op == BitOp::or_op) b |= x;
      if (op == BitOp::xor_op) b ^= x;
    }
    out[i] = static_cast<char>(b);
  }
  return out;
}

// BITOP AND|OR|XOR|NOT destkey key [key ...]: the result replaces the destination whatever
// it held (its TTL cleared, as SET does); an empty result deletes it.
Outcome bitop(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  const auto op = parse_bitop(ctx.argv[1]);
  if (!op) {
    ctx.reply.error(kSyntaxError);
    return Outcome::done();
  }
  if (*op == BitOp::not_op && ctx.argv.size() != 4) {
    ctx.reply.error("BITOP NOT must be called with a single source key.");
    return Outcome::done();
  }
  std::vector<std::string> sources;  // copies: a store read lasts until the next store call
  std::size_t length = 0;
  for (std::size_t i = 3; i < ctx.argv.size(); ++i) {
    std::optional<std::string_view> v;
    if (!bit_string(ctx, *st, ctx.argv[i], v)) return Outcome::done();
    sources.emplace_back(v ? *v : std::string_view());
    length = std::max(length, sources.back().size());
  }
  const std::string_view dest = ctx.argv[2];
  if (length == 0) {
    if (st->del_local(dest, ctx.wall)) notify(ctx, kNotifyGeneric, "del", dest);
  } else {
    NewKeyWatch watch(ctx, *st, dest);
    const Status s = st->put_local(dest, combine(*op, sources, length), ctx.wall);
    if (!s.ok()) {
      reply_write_error(ctx, s);
      return Outcome::done();
    }
    watch.created();
    notify(ctx, kNotifyString, "set", dest);
  }
  ctx.reply.integer(static_cast<std::int64_t>(length));
  return Outcome::done();
}

constexpr std::uint32_t kW = kWrite | kDenyOom;

}  // namespace

void register_bitmap_commands(CommandTable& t) {
  const auto B = [&](const char* name, int arity, std::uint32_t flags, int first, int last,
                     std::string_view acl, std::string_view key_flags, std::string_view summary,
                     std::string_view since, std::string_view complexity, CommandHandler h) {
    t.add(make_spec({name, arity, flags, first, last, 1, acl, key_flags, "bitmap", summary, since,
                     complexity, h}));
  };
  B("setbit", 4, kW, 1, 1, "@write @bitmap @slow", "RW access update",
    "Sets or clears the bit at offset in the string value stored at key", "2.2.0", "O(1)", setbit);
  B("getbit", 3, kReadonly | kFast, 1, 1, "@read @bitmap @fast", "RO access",
    "Returns the bit value at offset in the string value stored at key", "2.2.0", "O(1)", getbit);
  B("bitcount", -2, kReadonly, 1, 1, "@read @bitmap @slow", "RO access",
    "Count set bits in a string", "2.6.0", "O(N)", bitcount);
  B("bitpos", -3, kReadonly, 1, 1, "@read @bitmap @slow", "RO access",
    "Find first bit set or clear in a string", "2.8.7", "O(N)", bitpos);
  B("bitop", -4, kW, 2, -1, "@write @bitmap @slow", "OW update",
    "Perform bitwise operations between strings", "2.6.0", "O(N)", bitop);
}

}  // namespace apiary::resp
