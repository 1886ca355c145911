// BITFIELD and BITFIELD_RO, answering as Redis 7.0.15's bitfieldGeneric does: every
// subcommand is parsed (and refused with Redis's error) before the key is looked at; then a
// command with a SET or INCRBY grows the string to the farthest bit it writes -- creating the
// key even when every write fails under OVERFLOW FAIL -- and runs the operations in order.
// The overflow arithmetic is Redis's, ported with the same integer types, so WRAP, SAT and
// FAIL give the same values at every width.
//
// The whole command is one read-modify-write of the key's string at its coordinator
// (bit_support.hpp).
#include <algorithm>
#include <cstdint>
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

enum class Overflow : unsigned char { wrap, sat, fail };
enum class OpCode : unsigned char { get, set, incrby };

struct FieldOp {
  OpCode code = OpCode::get;
  Overflow overflow = Overflow::wrap;
  bool is_signed = false;
  int bits = 0;
  std::uint64_t offset = 0;
  std::int64_t value = 0;  // SET's value, INCRBY's increment
};

// Redis's getBitfieldTypeFromArgument: i1..i64 or u1..u63 (lower-case letter).
bool parse_type(CommandContext& ctx, std::string_view arg, FieldOp& op) {
  std::optional<std::int64_t> bits;
  if (!arg.empty() && (arg.front() == 'i' || arg.front() == 'u')) {
    op.is_signed = arg.front() == 'i';
    const std::string_view digits = arg.substr(1);
    bits = to_int(digits.substr(0, digits.find('\0')));  // Redis reads them with strlen
  }
  if (!bits || *bits < 1 || *bits > (op.is_signed ? 64 : 63)) {
    ctx.reply.error(
        "Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but "
        "i64 is.");
    return false;
  }
  op.bits = static_cast<int>(*bits);
  return true;
}

// Reads the subcommands into `ops`; false after replying an error. `highest` is the last bit
// a write touches, `writes` whether there is one.
bool parse_ops(CommandContext& ctx, std::vector<FieldOp>& ops, bool& writes,
               std::uint64_t& highest) {
  Overflow overflow = Overflow::wrap;
  const std::size_t argc = ctx.argv.size();
  for (std::size_t j = 2; j < argc; ++j) {
    const std::size_t remaining = argc - j - 1;
    const std::string_view sub = ctx.argv[j];
    FieldOp op;
    if (iequals(sub, "get") && remaining >= 2) {
      op.code = OpCode::get;
    } else if (iequals(sub, "set") && remaining >= 3) {
      op.code = OpCode::set;
    } else if (iequals(sub, "incrby") && remaining >= 3) {
      op.code = OpCode::incrby;
    } else if (iequals(sub, "overflow") && remaining >= 1) {
      const std::string_view kind = ctx.argv[++j];
      if (iequals(kind, "wrap")) {
        overflow = Overflow::wrap;
      } else if (iequals(kind, "sat")) {
        overflow = Overflow::sat;
      } else if (iequals(kind, "fail")) {
        overflow = Overflow::fail;
      } else {
        ctx.reply.error("Invalid OVERFLOW type specified");
        return false;
      }
      continue;
    } else {
      ctx.reply.error(kSyntaxError);
      return false;
    }
    if (!parse_type(ctx, ctx.argv[j + 1], op)) return false;
    if (!parse_bit_offset(ctx, ctx.argv[j + 2], true, op.bits, op.offset)) return false;
    if (op.code != OpCode::get) {
      writes = true;
      highest = std::max(highest, op.offset + static_cast<std::uint64_t>(op.bits) - 1);
      const auto value = to_int(ctx.argv[j + 3]);
      if (!value) {
        ctx.reply.error(kNotInteger);
        return false;
      }
      op.value = *value;
    }
    op.overflow = overflow;
    ops.push_back(op);
    j += op.code == OpCode::get ? 2 : 3;
  }
  return true;
}

// ---- Redis's bitfield arithmetic (bitops.c), bit for bit ----------------------------------

// Bits [offset, offset + bits) of `p`, most significant first; `p` holds them all.
std::uint64_t get_unsigned(const unsigned char* p, std::uint64_t offset, int bits) {
  std::uint64_t value = 0;
  for (int j = 0; j < bits; ++j, ++offset) {
    value = (value << 1) | ((p[offset >> 3] >> (7 - (offset & 7))) & 1u);
  }
  return value;
}

std::int64_t get_signed(const unsigned char* p, std::uint64_t offset, int bits) {
  std::uint64_t value = get_unsigned(p, offset, bits);
  if (bits < 64 && (value & (std::uint64_t{1} << (bits - 1))) != 0) {
    value |= ~std::uint64_t{0} << bits;  // extend the sign
  }
  return static_cast<std::int64_t>(value);
}

void set_unsigned(unsigned char* p, std::uint64_t offset, int bits, std::uint64_t value) {
  for (int j = 0; j < bits; ++j, ++offset) {
    const std::uint64_t bitval = (value >> (bits - 1 - j)) & 1u;
    const auto mask = static_cast<unsigned char>(1u << (7 - (offset & 7)));
    unsigned char& byte = p[offset >> 3];
    byte = static_cast<unsigned char>(bitval != 0 ? (byte | mask) : (byte & ~mask));
  }
}

// checkUnsignedBitfieldOverflow: nonzero when value + incr leaves [0, 2^bits); `limit` is
// then what WRAP or SAT store.
int unsigned_overflow(std::uint64_t value, std::int64_t incr, int bits, Overflow how,
                      std::uint64_t& limit) {
  const std::uint64_t max = bits == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
  const auto maxincr = static_cast<std::int64_t>(max - value);
  const auto minincr = static_cast<std::int64_t>(std::uint64_t{0} - value);
  const auto wrap = [&] {
    limit = (value + static_cast<std::uint64_t>(incr)) & ~(~std::uint64_t{0} << bits);
  };
  if (value > max || (bits != 64 && incr > maxincr) || (incr > 0 && incr > maxincr)) {
    if (how == Overflow::wrap) wrap();
    if (how == Overflow::sat) limit = max;
    return 1;
  }
  if (incr < 0 && incr < minincr) {
    if (how == Overflow::wrap) wrap();
    if (how == Overflow::sat) limit = 0;
    return -1;
  }
  return 0;
}

// checkSignedBitfieldOverflow: nonzero when value + incr leaves the signed range of `bits`.
int signed_overflow(std::int64_t value, std::int64_t incr, int bits, Overflow how,
                    std::int64_t& limit) {
  const std::int64_t max =
      bits == 64 ? INT64_MAX : static_cast<std::int64_t>((std::uint64_t{1} << (bits - 1)) - 1);
  const std::int64_t min = -max - 1;
  // Computed modulo 2^64 as Redis intends; used only once `value` is known to be in range.
  const auto maxincr = static_cast<std::int64_t>(static_cast<std::uint64_t>(max) -
                                                 static_cast<std::uint64_t>(value));
  const auto minincr = static_cast<std::int64_t>(static_cast<std::uint64_t>(min) -
                                                 static_cast<std::uint64_t>(value));
  const auto wrap = [&] {
    std::uint64_t c = static_cast<std::uint64_t>(value) + static_cast<std::uint64_t>(incr);
    if (bits < 64) {
      const std::uint64_t mask = ~std::uint64_t{0} << bits;
      c = (c & (std::uint64_t{1} << (bits - 1))) != 0 ? (c | mask) : (c & ~mask);
    }
    limit = static_cast<std::int64_t>(c);
  };
  if (value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr)) {
    if (how == Overflow::wrap) wrap();
    if (how == Overflow::sat) limit = max;
    return 1;
  }
  if (value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr)) {
    if (how == Overflow::wrap) wrap();
    if (how == Overflow::sat) limit = min;
    return -1;
  }
  return 0;
}

// Runs a SET or INCRBY on `p` (grown to hold it); nullopt when OVERFLOW FAIL refused it.
std::optional<std::int64_t> run_write_bits(unsigned char* p, const FieldOp& op) {
  const bool incr = op.code == OpCode::incrby;
  if (op.is_signed) {
    const std::int64_t old = get_signed(p, op.offset, op.bits);
    std::int64_t wrapped = 0;
    int overflow = 0;
    std::int64_t stored = 0, answer = 0;
    if (incr) {
      overflow = signed_overflow(old, op.value, op.bits, op.overflow, wrapped);
      stored = overflow != 0 ? wrapped
                             : static_cast<std::int64_t>(static_cast<std::uint64_t>(old) +
                                                         static_cast<std::uint64_t>(op.value));
      answer = stored;
    } else {
      overflow = signed_overflow(op.value, 0, op.bits, op.overflow, wrapped);
      stored = overflow != 0 ? wrapped : op.value;
      answer = old;
    }
    if (overflow != 0 && op.overflow == Overflow::fail) return std::nullopt;
    set_unsigned(p, op.offset, op.bits, static_cast<std::uint64_t>(stored));
    return answer;
  }
  const std::uint64_t old = get_unsigned(p, op.offset, op.bits);
  std::uint64_t wrapped = 0, stored = 0;
  int overflow = 0;
  std::int64_t answer = 0;
  if (incr) {
    overflow = unsigned_overflow(old, op.value, op.bits, op.overflow, wrapped);
    stored = overflow != 0 ? wrapped : old + static_cast<std::uint64_t>(op.value);
    answer = static_cast<std::int64_t>(stored);
  } else {
    const auto value = static_cast<std::uint64_t>(op.value);
    overflow = unsigned_overflow(value, 0, op.bits, op.overflow, wrapped);
    stored = overflow != 0 ? wrapped : value;
    answer = static_cast<std::int64_t>(old);
  }
  if (overflow != 0 && op.overflow == Overflow::fail) return std::nullopt;
  set_unsigned(p, op.offset, op.bits, stored);
  return answer;
}

// run_write_bits, setting `changed` when the field's bits are not what they were.
std::optional<std::int64_t> run_write(unsigned char* p, const FieldOp& op, bool& changed) {
  const std::uint64_t before = get_unsigned(p, op.offset, op.bits);
  auto answer = run_write_bits(p, op);
  changed = changed || get_unsigned(p, op.offset, op.bits) != before;
  return answer;
}

// GET on `s`, which may be shorter than the field: missing bits read as 0.
std::int64_t run_get(std::string_view s, const FieldOp& op) {
  unsigned char buf[9] = {};
  const std::uint64_t byte = op.offset >> 3;
  for (std::uint64_t i = 0; i < 9 && byte + i < s.size(); ++i) {
    buf[i] = static_cast<unsigned char>(s[byte + i]);
  }
  const std::uint64_t at = op.offset - byte * 8;
  return op.is_signed ? get_signed(buf, at, op.bits)
                      : static_cast<std::int64_t>(get_unsigned(buf, at, op.bits));
}

Outcome bitfield_common(CommandContext& ctx, bool read_only) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  std::vector<FieldOp> ops;
  bool writes = false;
  std::uint64_t highest = 0;
  if (!parse_ops(ctx, ops, writes, highest)) return Outcome::done();
  if (writes && read_only) {
    ctx.reply.error("BITFIELD_RO only supports the GET subcommand");
    return Outcome::done();
  }
  const std::string_view key = ctx.argv[1];
  std::optional<std::string_view> v;
  if (!bit_string(ctx, *st, key, v, !writes)) return Outcome::done();
  if (!writes) {
    ctx.reply.array(ops.size());
    for (const FieldOp& op : ops) ctx.reply.integer(run_get(v ? *v : std::string_view(), op));
    return Outcome::done();
  }
  // As Redis: a new key, or a string that had to grow, is written even when every write
  // failed under OVERFLOW FAIL; otherwise only a change is.
  bool changed = !v.has_value();
  std::string value = v ? std::string(*v) : std::string();
  const std::uint64_t needed = (highest >> 3) + 1;
  if (value.size() < needed) {
    value.resize(needed, '\0');
    changed = true;
  }
  // The replies wait until the write is done: a refused write answers its error alone.
  std::vector<std::optional<std::int64_t>> answers;
  answers.reserve(ops.size());
  auto* p = reinterpret_cast<unsigned char*>(value.data());
  const bool grown = changed;
  bool bits_changed = false, any_written = false;
  for (const FieldOp& op : ops) {
    if (op.code == OpCode::get) {
      answers.emplace_back(run_get(value, op));
      continue;
    }
    answers.push_back(run_write(p, op, bits_changed));
    any_written = any_written || answers.back().has_value();
  }
  changed = changed || bits_changed;
  if (changed && !write_bits(ctx, *st, key, value)) {
    return Outcome::done();
  }
  // Redis: "setbit" once a write that was not refused (OVERFLOW FAIL) changed bits, or ran on
  // a string it created or grew.
  if (any_written && (grown || bits_changed)) notify(ctx, kNotifyString, "setbit", key);
  ctx.reply.array(answers.size());
  for (const auto& a : answers) {
    if (a) {
      ctx.reply.integer(*a);
    } else {
      ctx.reply.null();
    }
  }
  return Outcome::done();
}

Outcome bitfield(CommandContext& ctx) { return bitfield_common(ctx, false); }
Outcome bitfield_ro(CommandContext& ctx) { return bitfield_common(ctx, true); }

}  // namespace

void register_bitfield_commands(CommandTable& t) {
  t.add(make_spec({"bitfield", -2, kWrite | kDenyOom, 1, 1, 1, "@write @bitmap @slow",
                   "RW access update variable_flags", "bitmap",
                   "Perform arbitrary bitfield integer operations on strings", "3.2.0",
                   "O(1) for each subcommand specified", bitfield}));
  t.add(make_spec({"bitfield_ro", -2, kReadonly | kFast, 1, 1, 1, "@read @bitmap @fast",
                   "RO access", "bitmap",
                   "Perform arbitrary bitfield integer operations on strings. Read-only variant of "
                   "BITFIELD",
                   "6.0.0", "O(1) for each subcommand specified", bitfield_ro}));
}

}  // namespace apiary::resp
