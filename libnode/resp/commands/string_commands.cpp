// String commands: GET, SET and its variants, MGET/MSET, APPEND, STRLEN, GETRANGE, SETRANGE,
// INCR/DECR family and INCRBYFLOAT. Every value in the store is a string, so WRONGTYPE
// cannot arise here.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "apiary/data/counter.hpp"
#include "apiary/resp/request_parser.hpp"
#include "apiary/resp/server.hpp"
#include "commands.hpp"
#include "store_access.hpp"

namespace apiary::resp {
namespace {

using store::ExpiryUpdate;

constexpr std::int64_t kMaxStringLen = 512LL * 1024 * 1024;

Outcome get(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  if (auto v = st->get_value(ctx.argv[1], ctx.wall)) {
    ctx.reply.bulk(*v);
  } else {
    ctx.reply.null();
  }
  return Outcome::done();
}

// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]
Outcome set(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  bool nx = false, xx = false, get_old = false, keepttl = false, have_expire = false;
  std::optional<WallTime> expire_at;
  for (std::size_t j = 3; j < ctx.argv.size(); ++j) {
    const std::string_view opt = ctx.argv[j];
    const bool has_next = j + 1 < ctx.argv.size();
    if (iequals(opt, "NX") && !xx) {
      nx = true;
    } else if (iequals(opt, "XX") && !nx) {
      xx = true;
    } else if (iequals(opt, "GET")) {
      get_old = true;
    } else if (iequals(opt, "KEEPTTL") && !have_expire) {
      keepttl = true;
    } else if ((iequals(opt, "EX") || iequals(opt, "PX") || iequals(opt, "EXAT") ||
                iequals(opt, "PXAT")) &&
               !keepttl && !have_expire && has_next) {
      have_expire = true;
      const bool seconds = iequals(opt, "EX") || iequals(opt, "EXAT");
      const bool absolute = iequals(opt, "EXAT") || iequals(opt, "PXAT");
      expire_at = parse_expire(ctx, ctx.argv[++j], seconds, absolute, "set");
      if (!expire_at) return Outcome::done();
    } else {
      ctx.reply.error(kSyntaxError);
      return Outcome::done();
    }
  }
  const std::string_view key = ctx.argv[1];
  std::optional<std::string> old;
  if (get_old) {
    if (auto v = st->get_value(key, ctx.wall)) old.emplace(*v);
  }
  const bool exists = get_old ? old.has_value() : (nx || xx) && st->exists(key, ctx.wall);
  const bool apply = !((nx && exists) || (xx && !exists));
  if (apply) {
    ExpiryUpdate e = ExpiryUpdate::clear();
    if (keepttl) e = ExpiryUpdate::keep();
    if (expire_at) e = ExpiryUpdate::set(*expire_at);
    const Status s = st->put_local(key, ctx.argv[2], ctx.wall, e);
    if (!s.ok()) {
      reply_write_error(ctx, s);
      return Outcome::done();
    }
  }
  if (get_old) {
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
  const Status s = st->put_local(ctx.argv[1], ctx.argv[2], ctx.wall);
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
  const Status s = st->put_local(ctx.argv[1], ctx.argv[3], ctx.wall, ExpiryUpdate::set(*at));
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
  if (auto v = st->get_value(ctx.argv[1], ctx.wall)) old.emplace(*v);
  const Status s = st->put_local(ctx.argv[1], ctx.argv[2], ctx.wall);
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
  auto v = st->get_value(ctx.argv[1], ctx.wall);
  if (!v) {
    ctx.reply.null();
    return Outcome::done();
  }
  ctx.reply.bulk(*v);  // written before the delete invalidates the view
  st->del_local(ctx.argv[1], ctx.wall);
  return Outcome::done();
}

// GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST]
Outcome getex(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  std::optional<WallTime> at;
  bool persist = false;
  for (std::size_t j = 2; j < ctx.argv.size(); ++j) {
    const std::string_view opt = ctx.argv[j];
    const bool has_next = j + 1 < ctx.argv.size();
    if ((iequals(opt, "EX") || iequals(opt, "PX") || iequals(opt, "EXAT") ||
         iequals(opt, "PXAT")) &&
        !at && !persist && has_next) {
      const bool seconds = iequals(opt, "EX") || iequals(opt, "EXAT");
      const bool absolute = iequals(opt, "EXAT") || iequals(opt, "PXAT");
      at = parse_expire(ctx, ctx.argv[++j], seconds, absolute, "getex");
      if (!at) return Outcome::done();
    } else if (iequals(opt, "PERSIST") && !at && !persist) {
      persist = true;
    } else {
      ctx.reply.error(kSyntaxError);
      return Outcome::done();
    }
  }
  auto v = st->get_value(ctx.argv[1], ctx.wall);
  if (!v) {
    ctx.reply.null();
    return Outcome::done();
  }
  ctx.reply.bulk(*v);
  if (at) {
    if (*at <= ctx.wall) {
      st->del_local(ctx.argv[1], ctx.wall);  // an expiry in the past deletes, as in Redis
    } else {
      st->set_expiry(ctx.argv[1], *at, ctx.wall);
    }
  } else if (persist) {
    st->clear_expiry(ctx.argv[1], ctx.wall);
  }
  return Outcome::done();
}

Outcome mget(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  ctx.reply.array(ctx.argv.size() - 1);
  for (std::size_t i = 1; i < ctx.argv.size(); ++i) {
    if (auto v = st->get_value(ctx.argv[i], ctx.wall)) {
      ctx.reply.bulk(*v);
    } else {
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
    const Status s = st->put_local(ctx.argv[i], ctx.argv[i + 1], ctx.wall);
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
  if (auto v = st->get_value(ctx.argv[1], ctx.wall)) value.assign(*v);
  if (static_cast<std::int64_t>(value.size() + ctx.argv[2].size()) > kMaxStringLen) {
    ctx.reply.error("string exceeds maximum allowed size (proto-max-bulk-len)");
    return Outcome::done();
  }
  value.append(ctx.argv[2]);
  const Status s = st->put_local(ctx.argv[1], value, ctx.wall, ExpiryUpdate::keep());
  if (!s.ok()) {
    reply_write_error(ctx, s);
  } else {
    ctx.reply.integer(static_cast<std::int64_t>(value.size()));
  }
  return Outcome::done();
}

Outcome strlen_cmd(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  auto v = st->get_value(ctx.argv[1], ctx.wall);
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
  auto v = st->get_value(ctx.argv[1], ctx.wall);
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
  auto v = st->get_value(ctx.argv[1], ctx.wall);
  if (!v && patch.empty()) {
    ctx.reply.integer(0);  // nothing to create
    return Outcome::done();
  }
  if (*offset + static_cast<std::int64_t>(patch.size()) > kMaxStringLen) {
    ctx.reply.error("string exceeds maximum allowed size (proto-max-bulk-len)");
    return Outcome::done();
  }
  std::string value = v ? std::string(*v) : std::string();
  if (patch.empty()) {
    ctx.reply.integer(static_cast<std::int64_t>(value.size()));
    return Outcome::done();
  }
  const auto off = static_cast<std::size_t>(*offset);
  if (value.size() < off + patch.size()) value.resize(off + patch.size(), '\0');
  value.replace(off, patch.size(), patch);
  const Status s = st->put_local(ctx.argv[1], value, ctx.wall, ExpiryUpdate::keep());
  if (!s.ok()) {
    reply_write_error(ctx, s);
  } else {
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
  }
  return false;
}

// The INCR family writes a counter (apiary/data/counter.hpp), so that increments made at two
// coordinators at once add up when their versions merge.
Outcome incr_by(CommandContext& ctx, std::int64_t delta) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  const store::IncrOutcome r = st->incr(ctx.argv[1], delta, ctx.wall);
  if (reply_incr_error(ctx, r.error)) {
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
  const store::IncrOutcome r = st->incr_float(ctx.argv[1], incr, ctx.wall);
  if (reply_incr_error(ctx, r.error)) ctx.reply.bulk(r.value);
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
