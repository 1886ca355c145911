// String commands: GET, SET and its variants, MGET/MSET, APPEND, STRLEN, GETRANGE (and SUBSTR),
// SETRANGE, INCR/DECR family and INCRBYFLOAT. A key holding a hash or a set answers WRONGTYPE,
// as in Redis (MGET answers nil for it).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "apiary/data/counter.hpp"
#include "apiary/resp/request_parser.hpp"
#include "apiary/resp/server.hpp"
#include "commands.hpp"
#include "keyspace_notify.hpp"
#include "store_access.hpp"

namespace apiary::resp {
namespace {

using store::ExpiryUpdate;

// Redis's checkStringLength: a string that APPEND or SETRANGE would make longer than
// proto-max-bulk-len is refused before anything is allocated. `size` and `append` are
// non-negative, so their unsigned sum cannot wrap (SETRANGE k 9223372036854775807 x).
bool string_length_ok(CommandContext& ctx, std::int64_t size, std::int64_t append) {
  const std::uint64_t total = static_cast<std::uint64_t>(size) + static_cast<std::uint64_t>(append);
  if (total > static_cast<std::uint64_t>(ctx.server.config().proto_max_bulk_len())) {
    ctx.reply.error("string exceeds maximum allowed size (proto-max-bulk-len)");
    return false;
  }
  return true;
}

// The key's string value for a string command: false after replying WRONGTYPE when the key
// holds another type. `read`: the command looks the key up as Redis's lookupKeyRead does, so a
// missing key is a "keymiss" event (APPEND and SETRANGE look up for writing: no event).
bool string_value(CommandContext& ctx, store::Store& st, std::string_view key,
                  std::optional<std::string_view>& out, bool read = true) {
  bool wrong_type = false;
  out = st.get_value(key, ctx.wall, &wrong_type);
  if (wrong_type) ctx.reply.error(kWrongType);
  if (read && !wrong_type && !out) notify_keymiss(ctx, key);
  return !wrong_type;
}

// Redis's setKey as SET and its variants notify it: "new" when the key was missing, "set", and
// "expire" when the write gave the key an expiry.
Status put_and_notify(CommandContext& ctx, store::Store& st, std::string_view key,
                      std::string_view value, ExpiryUpdate expiry, bool expires) {
  NewKeyWatch watch(ctx, st, key);
  const Status s = st.put_local(key, value, ctx.wall, expiry);
  if (!s.ok()) return s;
  watch.created();
  notify(ctx, kNotifyString, "set", key);
  if (expires) notify(ctx, kNotifyGeneric, "expire", key);
  return s;
}

Outcome get(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  std::optional<std::string_view> v;
  if (!string_value(ctx, *st, ctx.argv[1], v)) return Outcome::done();
  if (v) {
    ctx.reply.bulk(*v);
  } else {
    ctx.reply.null();
  }
  return Outcome::done();
}

// SET's and GETEX's options as Redis's parseExtendedStringArgumentsOrReply reads them: every
// flag first (so a syntax error wins over a bad time), a repeated flag or a repeated expiry of
// the same unit is allowed (the last time wins), the expire time itself is checked later.
struct StringOptions {
  enum class Unit : unsigned char { none, ex, px, exat, pxat };
  bool nx = false, xx = false, get = false, keepttl = false, persist = false;
  Unit unit = Unit::none;
  std::string_view expire;  // the time argument when unit != none
};

bool parse_string_options(CommandContext& ctx, std::size_t first, bool for_set, StringOptions& o) {
  using Unit = StringOptions::Unit;
  for (std::size_t j = first; j < ctx.argv.size(); ++j) {
    const std::string_view opt = ctx.argv[j];
    const bool has_next = j + 1 < ctx.argv.size();
    // An expiry of another unit, KEEPTTL or PERSIST excludes this one.
    const auto expiry_ok = [&](Unit unit) {
      return !o.keepttl && !o.persist && (o.unit == Unit::none || o.unit == unit) && has_next;
    };
    Unit unit = Unit::none;
    if (iequals(opt, "EX")) unit = Unit::ex;
    if (iequals(opt, "PX")) unit = Unit::px;
    if (iequals(opt, "EXAT")) unit = Unit::exat;
    if (iequals(opt, "PXAT")) unit = Unit::pxat;
    if (for_set && iequals(opt, "NX") && !o.xx) {
      o.nx = true;
    } else if (for_set && iequals(opt, "XX") && !o.nx) {
      o.xx = true;
    } else if (for_set && iequals(opt, "GET")) {
      o.get = true;
    } else if (for_set && iequals(opt, "KEEPTTL") && o.unit == Unit::none) {
      o.keepttl = true;
    } else if (!for_set && iequals(opt, "PERSIST") && o.unit == Unit::none) {
      o.persist = true;
    } else if (unit != Unit::none && expiry_ok(unit)) {
      o.unit = unit;
      o.expire = ctx.argv[++j];
    } else {
      ctx.reply.error(kSyntaxError);
      return false;
    }
  }
  return true;
}

// The absolute expiry the options ask for, or nullopt after replying Redis's error.
std::optional<WallTime> options_expiry(CommandContext& ctx, const StringOptions& o,
                                       std::string_view command) {
  using Unit = StringOptions::Unit;
  const bool seconds = o.unit == Unit::ex || o.unit == Unit::exat;
  const bool absolute = o.unit == Unit::exat || o.unit == Unit::pxat;
  return parse_expire(ctx, o.expire, seconds, absolute, command);
}

// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]
Outcome set(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  StringOptions o;
  if (!parse_string_options(ctx, 3, true, o)) return Outcome::done();
  std::optional<WallTime> expire_at;
  if (o.unit != StringOptions::Unit::none) {
    expire_at = options_expiry(ctx, o, "set");
    if (!expire_at) return Outcome::done();
  }
  const std::string_view key = ctx.argv[1];
  std::optional<std::string> old;
  if (o.get) {
    std::optional<std::string_view> v;
    if (!string_value(ctx, *st, key, v)) return Outcome::done();
    if (v) old.emplace(*v);
  }
  const bool exists = o.get ? old.has_value() : (o.nx || o.xx) && st->exists(key, ctx.wall);
  const bool apply = !((o.nx && exists) || (o.xx && !exists));
  if (apply) {
    ExpiryUpdate e = ExpiryUpdate::clear();
    if (o.keepttl) e = ExpiryUpdate::keep();
    if (expire_at) e = ExpiryUpdate::set(*expire_at);
    const Status s = put_and_notify(ctx, *st, key, ctx.argv[2], e, expire_at.has_value());
    if (!s.ok()) {
      reply_write_error(ctx, s);
      return Outcome::done();
    }
  }
  if (o.get) {
    if (old) {
      ctx.reply.bulk(*old);
    } else {
      ctx.reply.null();
    }
  } else if (apply) {
    ctx.reply.ok();
  } else {
    ctx.reply.null();
  }
  return Outcome::done();
}

Outcome setnx(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  if (st->exists(ctx.argv[1], ctx.wall)) {
    ctx.reply.integer(0);
    return Outcome::done();
  }
  const Status s = put_and_notify(ctx, *st, ctx.argv[1], ctx.argv[2], ExpiryUpdate::clear(), false);
  if (!s.ok()) {
    reply_write_error(ctx, s);
  } else {
    ctx.reply.integer(1);
  }
  return Outcome::done();
}

Outcome setex_common(CommandContext& ctx, bool seconds, std::string_view name) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  const auto at = parse_expire(ctx, ctx.argv[2], seconds, false, name);
  if (!at) return Outcome::done();
  const Status s = put_and_notify(ctx, *st, ctx.argv[1], ctx.argv[3], ExpiryUpdate::set(*at), true);
  if (!s.ok()) {
    reply_write_error(ctx, s);
  } else {
    ctx.reply.ok();
  }
  return Outcome::done();
}
Outcome setex(CommandContext& ctx) { return setex_common(ctx, true, "setex"); }
Outcome psetex(CommandContext& ctx) { return setex_common(ctx, false, "psetex"); }

Outcome getset(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  std::optional<std::string> old;
  std::optional<std::string_view> v;
  if (!string_value(ctx, *st, ctx.argv[1], v)) return Outcome::done();
  if (v) old.emplace(*v);
  const Status s = put_and_notify(ctx, *st, ctx.argv[1], ctx.argv[2], ExpiryUpdate::clear(), false);
  if (!s.ok()) {
    reply_write_error(ctx, s);
  } else if (old) {
    ctx.reply.bulk(*old);
  } else {
    ctx.reply.null();
  }
  return Outcome::done();
}

Outcome getdel(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  std::optional<std::string_view> v;
  if (!string_value(ctx, *st, ctx.argv[1], v)) return Outcome::done();
  if (!v) {
    ctx.reply.null();
    return Outcome::done();
  }
  ctx.reply.bulk(*v);  // written before the delete invalidates the view
  st->del_local(ctx.argv[1], ctx.wall);
  notify(ctx, kNotifyGeneric, "del", ctx.argv[1]);
  return Outcome::done();
}

// GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST]. As in Redis, a missing key answers nil
// before the expire time is checked.
Outcome getex(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  StringOptions o;
  if (!parse_string_options(ctx, 2, false, o)) return Outcome::done();
  std::optional<std::string_view> v;
  if (!string_value(ctx, *st, ctx.argv[1], v)) return Outcome::done();
  if (!v) {
    ctx.reply.null();
    return Outcome::done();
  }
  std::optional<WallTime> at;
  if (o.unit != StringOptions::Unit::none) {
    at = options_expiry(ctx, o, "getex");
    if (!at) return Outcome::done();
  }
  ctx.reply.bulk(*v);  // written before an expiry in the past deletes the key
  if (at) {
    if (*at <= ctx.wall) {
      st->del_local(ctx.argv[1], ctx.wall);  // an expiry in the past deletes, as in Redis
      notify(ctx, kNotifyGeneric, "del", ctx.argv[1]);
    } else {
      st->set_expiry(ctx.argv[1], *at, ctx.wall);
      notify(ctx, kNotifyGeneric, "expire", ctx.argv[1]);
    }
  } else if (o.persist) {
    if (st->clear_expiry(ctx.argv[1], ctx.wall))
      notify(ctx, kNotifyGeneric, "persist", ctx.argv[1]);
  }
  return Outcome::done();
}

Outcome mget(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  ctx.reply.array(ctx.argv.size() - 1);
  for (std::size_t i = 1; i < ctx.argv.size(); ++i) {
    bool wrong_type = false;
    if (auto v = st->get_value(ctx.argv[i], ctx.wall, &wrong_type)) {
      ctx.reply.bulk(*v);
    } else {
      if (!wrong_type) notify_keymiss(ctx, ctx.argv[i]);
      ctx.reply.null();
    }
  }
  return Outcome::done();
}

Outcome mset_common(CommandContext& ctx, bool nx, std::string_view name) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  if (ctx.argv.size() % 2 == 0) {
    ctx.reply.error("wrong number of arguments for '" + std::string(name) + "' command");
    return Outcome::done();
  }
  if (nx) {
    for (std::size_t i = 1; i < ctx.argv.size(); i += 2) {
      if (st->exists(ctx.argv[i], ctx.wall)) {
        ctx.reply.integer(0);
        return Outcome::done();
      }
    }
  }
  for (std::size_t i = 1; i + 1 < ctx.argv.size(); i += 2) {
    const Status s =
        put_and_notify(ctx, *st, ctx.argv[i], ctx.argv[i + 1], ExpiryUpdate::clear(), false);
    if (!s.ok()) {
      reply_write_error(ctx, s);
      return Outcome::done();
    }
  }
  if (nx) {
    ctx.reply.integer(1);
  } else {
    ctx.reply.ok();
  }
  return Outcome::done();
}
Outcome mset(CommandContext& ctx) { return mset_common(ctx, false, "mset"); }
Outcome msetnx(CommandContext& ctx) { return mset_common(ctx, true, "msetnx"); }

Outcome append(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  std::string value;
  std::optional<std::string_view> v;
  if (!string_value(ctx, *st, ctx.argv[1], v, false)) return Outcome::done();
  if (v) {
    if (!string_length_ok(ctx, static_cast<std::int64_t>(v->size()),
                          static_cast<std::int64_t>(ctx.argv[2].size()))) {
      return Outcome::done();
    }
    value.assign(*v);
  }
  value.append(ctx.argv[2]);
  NewKeyWatch watch(ctx, *st, ctx.argv[1]);
  const Status s = st->put_local(ctx.argv[1], value, ctx.wall, ExpiryUpdate::keep());
  if (!s.ok()) {
    reply_write_error(ctx, s);
  } else {
    watch.created();
    notify(ctx, kNotifyString, "append", ctx.argv[1]);
    ctx.reply.integer(static_cast<std::int64_t>(value.size()));
  }
  return Outcome::done();
}

Outcome strlen_cmd(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  std::optional<std::string_view> v;
  if (!string_value(ctx, *st, ctx.argv[1], v)) return Outcome::done();
  ctx.reply.integer(v ? static_cast<std::int64_t>(v->size()) : 0);
  return Outcome::done();
}

Outcome getrange(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  auto start = to_int(ctx.argv[2]);
  auto end = to_int(ctx.argv[3]);
  if (!start || !end) {
    ctx.reply.error(kNotInteger);
    return Outcome::done();
  }
  std::optional<std::string_view> v;
  if (!string_value(ctx, *st, ctx.argv[1], v)) return Outcome::done();
  const std::string_view s = v ? *v : std::string_view();
  std::int64_t a = *start, b = *end;
  const auto len = static_cast<std::int64_t>(s.size());
  // Redis 7.0 getrangeCommand, including its early-out for two negatives in wrong order.
  if (a < 0 && b < 0 && a > b) {
    ctx.reply.bulk("");
    return Outcome::done();
  }
  if (a < 0) a = len + a;
  if (b < 0) b = len + b;
  if (a < 0) a = 0;
  if (b < 0) b = 0;
  if (b >= len) b = len - 1;
  if (a > b || len == 0) {
    ctx.reply.bulk("");
  } else {
    ctx.reply.bulk(s.substr(static_cast<std::size_t>(a), static_cast<std::size_t>(b - a + 1)));
  }
  return Outcome::done();
}

Outcome setrange(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  auto offset = to_int(ctx.argv[2]);
  if (!offset) {
    ctx.reply.error(kNotInteger);
    return Outcome::done();
  }
  if (*offset < 0) {
    ctx.reply.error("offset is out of range");
    return Outcome::done();
  }
  const std::string_view patch = ctx.argv[3];
  std::optional<std::string_view> v;
  if (!string_value(ctx, *st, ctx.argv[1], v, false)) return Outcome::done();
  if (!v && patch.empty()) {
    ctx.reply.integer(0);  // nothing to create
    return Outcome::done();
  }
  if (v && patch.empty()) {
    ctx.reply.integer(static_cast<std::int64_t>(v->size()));  // nothing to write
    return Outcome::done();
  }
  if (!string_length_ok(ctx, *offset, static_cast<std::int64_t>(patch.size()))) {
    return Outcome::done();
  }
  std::string value = v ? std::string(*v) : std::string();
  const auto off = static_cast<std::size_t>(*offset);
  if (value.size() < off + patch.size()) value.resize(off + patch.size(), '\0');
  value.replace(off, patch.size(), patch);
  NewKeyWatch watch(ctx, *st, ctx.argv[1]);
  const Status s = st->put_local(ctx.argv[1], value, ctx.wall, ExpiryUpdate::keep());
  if (!s.ok()) {
    reply_write_error(ctx, s);
  } else {
    watch.created();
    notify(ctx, kNotifyString, "setrange", ctx.argv[1]);
    ctx.reply.integer(static_cast<std::int64_t>(value.size()));
  }
  return Outcome::done();
}

// Renders a refused increment as Redis does; true when there was nothing to refuse.
bool reply_incr_error(CommandContext& ctx, store::IncrError error) {
  switch (error) {
    case store::IncrError::none:
      return true;
    case store::IncrError::not_integer:
      ctx.reply.error(kNotInteger);
      break;
    case store::IncrError::not_float:
      ctx.reply.error(kNotFloat);
      break;
    case store::IncrError::overflow:
      ctx.reply.error("increment or decrement would overflow");
      break;
    case store::IncrError::nan_or_infinity:
      ctx.reply.error("increment would produce NaN or Infinity");
      break;
    case store::IncrError::out_of_memory:
      reply_write_error(ctx, make_error(StatusCode::out_of_memory, "out of memory"));
      break;
    case store::IncrError::wrong_type:
      ctx.reply.error(kWrongType);
      break;
  }
  return false;
}

// The INCR family writes a counter (apiary/data/counter.hpp), so that increments made at two
// coordinators at once add up when their versions merge.
Outcome incr_by(CommandContext& ctx, std::int64_t delta) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  NewKeyWatch watch(ctx, *st, ctx.argv[1]);
  const store::IncrOutcome r = st->incr(ctx.argv[1], delta, ctx.wall);
  if (reply_incr_error(ctx, r.error)) {
    watch.created();
    notify(ctx, kNotifyString, "incrby", ctx.argv[1]);
    std::int64_t value = 0;
    (void)data::parse_int64(r.value, value);
    ctx.reply.integer(value);
  }
  return Outcome::done();
}

Outcome incr(CommandContext& ctx) { return incr_by(ctx, 1); }
Outcome decr(CommandContext& ctx) { return incr_by(ctx, -1); }
Outcome incrby(CommandContext& ctx) {
  auto d = to_int(ctx.argv[2]);
  if (!d) {
    ctx.reply.error(kNotInteger);
    return Outcome::done();
  }
  return incr_by(ctx, *d);
}
Outcome decrby(CommandContext& ctx) {
  auto d = to_int(ctx.argv[2]);
  if (!d) {
    ctx.reply.error(kNotInteger);
    return Outcome::done();
  }
  if (*d == std::numeric_limits<std::int64_t>::min()) {
    ctx.reply.error("decrement would overflow");
    return Outcome::done();
  }
  return incr_by(ctx, -*d);
}

Outcome incrbyfloat(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  long double incr = 0;
  if (!data::parse_long_double(ctx.argv[2], incr)) {
    ctx.reply.error(kNotFloat);
    return Outcome::done();
  }
  NewKeyWatch watch(ctx, *st, ctx.argv[1]);
  const store::IncrOutcome r = st->incr_float(ctx.argv[1], incr, ctx.wall);
  if (reply_incr_error(ctx, r.error)) {
    watch.created();
    notify(ctx, kNotifyString, "incrbyfloat", ctx.argv[1]);
    ctx.reply.bulk(r.value);
  }
  return Outcome::done();
}

constexpr std::uint32_t kW = kWrite | kDenyOom;
constexpr std::uint32_t kR = kReadonly;

}  // namespace

void register_string_commands(CommandTable& t) {
  const auto S = [&](const char* name, int arity, std::uint32_t flags, int first, int last,
                     int step, std::string_view acl, std::string_view key_flags,
                     std::string_view summary, std::string_view since, CommandHandler h) {
    t.add(make_spec({name, arity, flags, first, last, step, acl, key_flags, "string", summary,
                     since, "O(1)", h}));
  };
  S("get", 2, kR | kFast, 1, 1, 1, "@read @string @fast", "RO access", "Get the value of a key",
    "1.0.0", get);
  S("set", -3, kW, 1, 1, 1, "@write @string @slow", "RW access update variable_flags",
    "Set the string value of a key", "1.0.0", set);
  S("setnx", 3, kW | kFast, 1, 1, 1, "@write @string @fast", "OW insert",
    "Set the value of a key, only if the key does not exist", "1.0.0", setnx);
  S("setex", 4, kW, 1, 1, 1, "@write @string @slow", "OW update",
    "Set the value and expiration of a key", "2.0.0", setex);
  S("psetex", 4, kW, 1, 1, 1, "@write @string @slow", "OW update",
    "Set the value and expiration in milliseconds of a key", "2.6.0", psetex);
  S("getset", 3, kW | kFast, 1, 1, 1, "@write @string @fast", "RW access update",
    "Set the string value of a key and return its old value", "1.0.0", getset);
  S("getdel", 2, kWrite | kFast, 1, 1, 1, "@write @string @fast", "RW access delete",
    "Get the value of a key and delete the key", "6.2.0", getdel);
  S("getex", -2, kWrite | kFast, 1, 1, 1, "@write @string @fast", "RW access update",
    "Get the value of a key and optionally set its expiration", "6.2.0", getex);
  S("mget", -2, kR | kFast, 1, -1, 1, "@read @string @fast", "RO access",
    "Get the values of all the given keys", "1.0.0", mget);
  S("mset", -3, kW, 1, -1, 2, "@write @string @slow", "OW update",
    "Set multiple keys to multiple values", "1.0.1", mset);
  S("msetnx", -3, kW, 1, -1, 2, "@write @string @slow", "OW insert",
    "Set multiple keys to multiple values, only if none of the keys exist", "1.0.1", msetnx);
  S("append", 3, kW | kFast, 1, 1, 1, "@write @string @fast", "RW insert",
    "Append a value to a key", "2.0.0", append);
  S("strlen", 2, kR | kFast, 1, 1, 1, "@read @string @fast", "RO",
    "Get the length of the value stored in a key", "2.2.0", strlen_cmd);
  S("getrange", 4, kR, 1, 1, 1, "@read @string @slow", "RO access",
    "Get a substring of the string stored at a key", "2.4.0", getrange);
  // SUBSTR is GETRANGE under its pre-2.0 name, as in Redis 7.0 (deprecated there, not removed).
  S("substr", 4, kR, 1, 1, 1, "@read @string @slow", "RO access",
    "Get a substring of the string stored at a key", "1.0.0", getrange);
  S("setrange", 4, kW, 1, 1, 1, "@write @string @slow", "RW update",
    "Overwrite part of a string at key starting at the specified offset", "2.2.0", setrange);
  S("incr", 2, kW | kFast, 1, 1, 1, "@write @string @fast", "RW access update",
    "Increment the integer value of a key by one", "1.0.0", incr);
  S("decr", 2, kW | kFast, 1, 1, 1, "@write @string @fast", "RW access update",
    "Decrement the integer value of a key by one", "1.0.0", decr);
  S("incrby", 3, kW | kFast, 1, 1, 1, "@write @string @fast", "RW access update",
    "Increment the integer value of a key by the given amount", "1.0.0", incrby);
  S("decrby", 3, kW | kFast, 1, 1, 1, "@write @string @fast", "RW access update",
    "Decrement the integer value of a key by the given number", "1.0.0", decrby);
  S("incrbyfloat", 3, kW | kFast, 1, 1, 1, "@write @string @fast", "RW access update",
    "Increment the float value of a key by the given amount", "2.6.0", incrbyfloat);
}

}  // namespace apiary::resp
