// Keyspace commands: DEL/UNLINK, EXISTS, TYPE, TOUCH, the EXPIRE family, TTL/PTTL, PERSIST,
// KEYS, SCAN, RANDOMKEY, RENAME(NX), COPY, DBSIZE, FLUSHDB/FLUSHALL.
#include <cstdio>
#include <limits>
#include <string>

#include "apiary/resp/request_parser.hpp"
#include "apiary/resp/server.hpp"
#include "commands.hpp"
#include "keyspace_notify.hpp"
#include "store_access.hpp"

namespace apiary::resp {
namespace {

Outcome del(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  std::int64_t n = 0;
  for (std::size_t i = 1; i < ctx.argv.size(); ++i) {
    if (!st->del_local(ctx.argv[i], ctx.wall)) continue;
    ++n;
    notify(ctx, kNotifyGeneric, "del", ctx.argv[i]);
  }
  ctx.reply.integer(n);
  return Outcome::done();
}

Outcome exists(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  std::int64_t n = 0;
  for (std::size_t i = 1; i < ctx.argv.size(); ++i) {
    const bool found = st->exists(ctx.argv[i], ctx.wall);
    if (!found) notify_keymiss(ctx, ctx.argv[i]);
    n += found;
  }
  ctx.reply.integer(n);
  return Outcome::done();
}

bool touch_key(store::Store& st, std::string_view key, WallTime now) {
  const store::KeyType type = st.type(key, now);
  if (type == store::KeyType::none) return false;
  if (type == store::KeyType::string) return st.get_value(key, now).has_value();
  bool wrong = false;
  return st.read_collection(key, store::collection_kind(type), now, wrong) != nullptr;
}

Outcome touch(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  std::int64_t n = 0;
  for (std::size_t i = 1; i < ctx.argv.size(); ++i) {
    const bool found = touch_key(*st, ctx.argv[i], ctx.wall);  // a read touches LRU/LFU
    if (!found) notify_keymiss(ctx, ctx.argv[i]);
    n += found;
  }
  ctx.reply.integer(n);
  return Outcome::done();
}

Outcome type(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  const store::KeyType t = st->type(ctx.argv[1], ctx.wall);
  if (t == store::KeyType::none) notify_keymiss(ctx, ctx.argv[1]);
  ctx.reply.simple(store::type_name(t));
  return Outcome::done();
}

// EXPIRE key t [NX|XX|GT|LT] and its PEXPIRE / EXPIREAT / PEXPIREAT variants (Redis 7.0).
Outcome expire_generic(CommandContext& ctx, bool seconds, bool absolute, std::string_view name) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  bool nx = false, xx = false, gt = false, lt = false;
  for (std::size_t j = 3; j < ctx.argv.size(); ++j) {
    const std::string_view o = ctx.argv[j];
    if (iequals(o, "NX")) {
      nx = true;
    } else if (iequals(o, "XX")) {
      xx = true;
    } else if (iequals(o, "GT")) {
      gt = true;
    } else if (iequals(o, "LT")) {
      lt = true;
    } else {
      ctx.reply.error("Unsupported option " + std::string(o));
      return Outcome::done();
    }
  }
  if (nx && (xx || gt || lt)) {
    ctx.reply.error("NX and XX, GT or LT options at the same time are not compatible");
    return Outcome::done();
  }
  if (gt && lt) {
    ctx.reply.error("GT and LT options at the same time are not compatible");
    return Outcome::done();
  }
  auto v = to_int(ctx.argv[2]);
  if (!v) {
    ctx.reply.error(kNotInteger);
    return Outcome::done();
  }
  // Unlike SET, EXPIRE accepts zero and negative times (the key is deleted); only overflow
  // is an error.
  const std::string invalid = "invalid expire time in '" + std::string(name) + "' command";
  std::int64_t when = *v;
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  if (seconds) {
    if (when > kMax / 1000 || when < kMin / 1000) {
      ctx.reply.error(invalid);
      return Outcome::done();
    }
    when *= 1000;
  }
  if (!absolute) {
    if ((when > 0 && ctx.wall.ms > kMax - when) || (when < 0 && ctx.wall.ms < kMin - when)) {
      ctx.reply.error(invalid);
      return Outcome::done();
    }
    when += ctx.wall.ms;
  }
  const store::KeyTtl current = st->ttl(ctx.argv[1], ctx.wall);
  if (!current.exists) {
    ctx.reply.integer(0);
    return Outcome::done();
  }
  if (nx && current.expiry) return ctx.reply.integer(0), Outcome::done();
  if (xx && !current.expiry) return ctx.reply.integer(0), Outcome::done();
  if (gt && (!current.expiry || when <= current.expiry->ms)) {
    return ctx.reply.integer(0), Outcome::done();  // no expiry counts as infinite
  }
  if (lt && current.expiry && when >= current.expiry->ms) {
    return ctx.reply.integer(0), Outcome::done();
  }
  if (when <= ctx.wall.ms) {
    st->del_local(ctx.argv[1], ctx.wall);
    notify(ctx, kNotifyGeneric, "del", ctx.argv[1]);
  } else {
    st->set_expiry(ctx.argv[1], WallTime{when}, ctx.wall);
    notify(ctx, kNotifyGeneric, "expire", ctx.argv[1]);
  }
  ctx.reply.integer(1);
  return Outcome::done();
}
Outcome expire(CommandContext& ctx) { return expire_generic(ctx, true, false, "expire"); }
Outcome pexpire(CommandContext& ctx) { return expire_generic(ctx, false, false, "pexpire"); }
Outcome expireat(CommandContext& ctx) { return expire_generic(ctx, true, true, "expireat"); }
Outcome pexpireat(CommandContext& ctx) { return expire_generic(ctx, false, true, "pexpireat"); }

Outcome ttl_generic(CommandContext& ctx, bool millis, bool absolute) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  const store::KeyTtl t = st->ttl(ctx.argv[1], ctx.wall);
  if (!t.exists) {
    notify_keymiss(ctx, ctx.argv[1]);
    ctx.reply.integer(-2);
  } else if (!t.expiry) {
    ctx.reply.integer(-1);
  } else {
    // Redis rounds to the nearest second; ms / 1000 plus the rounding cannot overflow near
    // INT64_MAX (PXAT 9223372036854775807) as ms + 500 would.
    const std::int64_t ms =
        absolute ? t.expiry->ms : std::max<std::int64_t>(0, t.expiry->ms - ctx.wall.ms);
    ctx.reply.integer(millis ? ms : ms / 1000 + (ms % 1000 >= 500 ? 1 : 0));
  }
  return Outcome::done();
}
Outcome ttl(CommandContext& ctx) { return ttl_generic(ctx, false, false); }
Outcome pttl(CommandContext& ctx) { return ttl_generic(ctx, true, false); }
Outcome expiretime(CommandContext& ctx) { return ttl_generic(ctx, false, true); }
Outcome pexpiretime(CommandContext& ctx) { return ttl_generic(ctx, true, true); }

Outcome persist(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  const bool cleared = st->clear_expiry(ctx.argv[1], ctx.wall);
  if (cleared) notify(ctx, kNotifyGeneric, "persist", ctx.argv[1]);
  ctx.reply.integer(cleared ? 1 : 0);
  return Outcome::done();
}

Outcome keys(CommandContext& ctx) {
  if (ClusterKeyspace* cluster = ctx.server.cluster_keyspace()) {
    return cluster->keys(ctx, ctx.argv[1]);
  }
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  std::vector<std::string> found;
  const std::string_view pattern = ctx.argv[1];
  const bool all = pattern == "*";
  st->for_each_key(ctx.wall, [&](std::string_view k) {
    if (all || glob_match(pattern, k)) found.emplace_back(k);
  });
  ctx.reply.array(found.size());
  for (const auto& k : found) ctx.reply.bulk(k);
  return Outcome::done();
}

// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
Outcome scan(CommandContext& ctx) {
  ClusterKeyspace* cluster = ctx.server.cluster_keyspace();
  store::Store* st = cluster != nullptr ? nullptr : store_or_reply(ctx);
  if (cluster == nullptr && st == nullptr) return Outcome::done();
  std::uint64_t cursor = 0;
  if (!parse_scan_cursor(ctx.argv[1], cursor)) {
    ctx.reply.error("invalid cursor");
    return Outcome::done();
  }
  std::optional<std::string_view> match, type_filter;
  std::int64_t count = 10;
  for (std::size_t j = 2; j < ctx.argv.size(); j += 2) {
    if (j + 1 >= ctx.argv.size()) {
      ctx.reply.error(kSyntaxError);
      return Outcome::done();
    }
    if (iequals(ctx.argv[j], "COUNT")) {
      auto c = to_int(ctx.argv[j + 1]);
      if (!c) {
        ctx.reply.error(kNotInteger);
        return Outcome::done();
      }
      if (*c < 1) {
        ctx.reply.error(kSyntaxError);
        return Outcome::done();
      }
      count = *c;
    } else if (iequals(ctx.argv[j], "MATCH")) {
      match = ctx.argv[j + 1];
    } else if (iequals(ctx.argv[j], "TYPE")) {
      type_filter = ctx.argv[j + 1];
    } else {
      ctx.reply.error(kSyntaxError);
      return Outcome::done();
    }
  }
  // Redis compares the TYPE argument with each key's type name, ignoring case.
  std::optional<std::string> type_name;
  if (type_filter) type_name = to_lower(*type_filter);
  if (cluster != nullptr) {
    ScanRequest request;
    request.cursor = cursor;
    request.count = static_cast<std::size_t>(count);
    if (match && *match != "*") request.match = std::string(*match);
    request.type = type_name;
    return cluster->scan(ctx, request);
  }
  store::ScanCursor sc = store::ScanCursor::from_redis(cursor);
  auto batch =
      st->scan(sc, static_cast<std::size_t>(std::min<std::int64_t>(count, 1 << 20)), ctx.wall);
  std::vector<std::string_view> out;
  for (const auto& k : batch) {
    if (match && *match != "*" && !glob_match(*match, k)) continue;
    if (type_name && store::type_name(st->type(k, ctx.wall)) != *type_name) continue;
    out.push_back(k);
  }
  ctx.reply.array(2);
  ctx.reply.bulk(std::to_string(sc.to_redis()));
  ctx.reply.array(out.size());
  for (auto k : out) ctx.reply.bulk(k);
  return Outcome::done();
}

Outcome randomkey(CommandContext& ctx) {
  if (ClusterKeyspace* cluster = ctx.server.cluster_keyspace()) return cluster->randomkey(ctx);
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  if (auto k = st->random_key(ctx.wall)) {
    ctx.reply.bulk(*k);
  } else {
    ctx.reply.null();
  }
  return Outcome::done();
}

// Copies src's value and expiry to dst. False when src is missing.
Result<bool> copy_key(store::Store& st, std::string_view src, std::string_view dst, WallTime now) {
  return st.copy(src, dst, now);
}

Outcome rename_generic(CommandContext& ctx, bool nx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  const std::string_view src = ctx.argv[1], dst = ctx.argv[2];
  if (!st->exists(src, ctx.wall)) {
    ctx.reply.error("no such key");
    return Outcome::done();
  }
  if (src == dst) {
    if (nx) {
      ctx.reply.integer(0);
    } else {
      ctx.reply.ok();
    }
    return Outcome::done();
  }
  if (nx && st->exists(dst, ctx.wall)) {
    ctx.reply.integer(0);
    return Outcome::done();
  }
  auto r = copy_key(*st, src, dst, ctx.wall);
  if (!r.ok()) {
    reply_write_error(ctx, r.status());
    return Outcome::done();
  }
  st->del_local(src, ctx.wall);
  // Redis deletes dst first, so its dbAdd always creates it ("new").
  notify(ctx, kNotifyNew, "new", dst);
  notify(ctx, kNotifyGeneric, "rename_from", src);
  notify(ctx, kNotifyGeneric, "rename_to", dst);
  if (nx) {
    ctx.reply.integer(1);
  } else {
    ctx.reply.ok();
  }
  return Outcome::done();
}
Outcome rename(CommandContext& ctx) { return rename_generic(ctx, false); }
Outcome renamenx(CommandContext& ctx) { return rename_generic(ctx, true); }

// COPY source destination [DB destination-db] [REPLACE]
Outcome copy(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  bool replace = false, other_db = false;
  for (std::size_t j = 3; j < ctx.argv.size(); ++j) {
    if (iequals(ctx.argv[j], "REPLACE")) {
      replace = true;
    } else if (iequals(ctx.argv[j], "DB") && j + 1 < ctx.argv.size()) {
      // As Redis Cluster (16 databases, only db 0 usable): an int, then a valid index.
      auto db = to_int(ctx.argv[++j]);
      if (!db) {
        ctx.reply.error(kNotInteger);
        return Outcome::done();
      }
      if (*db < std::numeric_limits<int>::min() || *db > std::numeric_limits<int>::max()) {
        ctx.reply.error("value is out of range, value must between -2147483648 and 2147483647");
        return Outcome::done();
      }
      if (*db < 0 || *db >= 16) {
        ctx.reply.error("DB index is out of range");
        return Outcome::done();
      }
      other_db = *db != 0;  // the last DB option counts
    } else {
      ctx.reply.error(kSyntaxError);
      return Outcome::done();
    }
  }
  if (other_db) {
    ctx.reply.error("Copying to another database is not allowed in cluster mode");
    return Outcome::done();
  }
  const std::string_view src = ctx.argv[1], dst = ctx.argv[2];
  if (src == dst) {
    ctx.reply.error("source and destination objects are the same");
    return Outcome::done();
  }
  if (!st->exists(src, ctx.wall)) {  // Redis looks src up first (a "keymiss")
    notify_keymiss(ctx, src);
    ctx.reply.integer(0);
    return Outcome::done();
  }
  if (!replace && st->exists(dst, ctx.wall)) {
    ctx.reply.integer(0);
    return Outcome::done();
  }
  auto r = copy_key(*st, src, dst, ctx.wall);
  if (!r.ok()) {
    reply_write_error(ctx, r.status());
    return Outcome::done();
  }
  if (*r) {
    notify(ctx, kNotifyNew, "new", dst);  // a replaced dst is deleted first, as in Redis
    notify(ctx, kNotifyGeneric, "copy_to", dst);
  } else {
    notify_keymiss(ctx, src);
  }
  ctx.reply.integer(*r ? 1 : 0);
  return Outcome::done();
}

Outcome dbsize(CommandContext& ctx) {
  if (ClusterKeyspace* cluster = ctx.server.cluster_keyspace()) return cluster->dbsize(ctx);
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  ctx.reply.integer(static_cast<std::int64_t>(st->size()));
  return Outcome::done();
}

Outcome flush(CommandContext& ctx) {
  if (ctx.argv.size() > 2 ||
      (ctx.argv.size() == 2 && !iequals(ctx.argv[1], "ASYNC") && !iequals(ctx.argv[1], "SYNC"))) {
    ctx.reply.error(kSyntaxError);
    return Outcome::done();
  }
  if (ClusterKeyspace* cluster = ctx.server.cluster_keyspace()) return cluster->flush(ctx);
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  st->clear();  // ASYNC and SYNC alike: clearing the table is the whole job here
  ctx.reply.ok();
  return Outcome::done();
}

constexpr std::uint32_t kW = kWrite;
constexpr std::uint32_t kR = kReadonly;

}  // namespace

void register_keyspace_commands(CommandTable& t) {
  const auto K = [&](const char* name, int arity, std::uint32_t flags, int first, int last,
                     int step, std::string_view acl, std::string_view key_flags,
                     std::string_view group, std::string_view summary, std::string_view since,
                     std::string_view complexity, CommandHandler h) {
    t.add(make_spec({name, arity, flags, first, last, step, acl, key_flags, group, summary, since,
                     complexity, h}));
  };
  K("del", -2, kW, 1, -1, 1, "@keyspace @write @slow", "RM delete", "generic", "Delete a key",
    "1.0.0", "O(N)", del);
  K("unlink", -2, kW | kFast, 1, -1, 1, "@keyspace @write @fast", "RM delete", "generic",
    "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.",
    "4.0.0", "O(1) for each key removed", del);
  K("exists", -2, kR | kFast, 1, -1, 1, "@keyspace @read @fast", "RO", "generic",
    "Determine if a key exists", "1.0.0", "O(N)", exists);
  K("touch", -2, kR | kFast, 1, -1, 1, "@keyspace @read @fast", "RO", "generic",
    "Alters the last access time of a key(s). Returns the number of existing keys specified.",
    "3.2.1", "O(N)", touch);
  K("type", 2, kR | kFast, 1, 1, 1, "@keyspace @read @fast", "RO", "generic",
    "Determine the type stored at key", "1.0.0", "O(1)", type);
  K("expire", -3, kW | kFast, 1, 1, 1, "@keyspace @write @fast", "RW update", "generic",
    "Set a key's time to live in seconds", "1.0.0", "O(1)", expire);
  K("pexpire", -3, kW | kFast, 1, 1, 1, "@keyspace @write @fast", "RW update", "generic",
    "Set a key's time to live in milliseconds", "2.6.0", "O(1)", pexpire);
  K("expireat", -3, kW | kFast, 1, 1, 1, "@keyspace @write @fast", "RW update", "generic",
    "Set the expiration for a key as a UNIX timestamp", "1.2.0", "O(1)", expireat);
  K("pexpireat", -3, kW | kFast, 1, 1, 1, "@keyspace @write @fast", "RW update", "generic",
    "Set the expiration for a key as a UNIX timestamp specified in milliseconds", "2.6.0", "O(1)",
    pexpireat);
  K("expiretime", 2, kR | kFast, 1, 1, 1, "@keyspace @read @fast", "RO access", "generic",
    "Get the expiration Unix timestamp for a key", "7.0.0", "O(1)", expiretime);
  K("pexpiretime", 2, kR | kFast, 1, 1, 1, "@keyspace @read @fast", "RO access", "generic",
    "Get the expiration Unix timestamp for a key in milliseconds", "7.0.0", "O(1)", pexpiretime);
  K("ttl", 2, kR | kFast, 1, 1, 1, "@keyspace @read @fast", "RO access", "generic",
    "Get the time to live for a key in seconds", "1.0.0", "O(1)", ttl);
  K("pttl", 2, kR | kFast, 1, 1, 1, "@keyspace @read @fast", "RO access", "generic",
    "Get the time to live for a key in milliseconds", "2.6.0", "O(1)", pttl);
  K("persist", 2, kW | kFast, 1, 1, 1, "@keyspace @write @fast", "RW update", "generic",
    "Remove the expiration from a key", "2.2.0", "O(1)", persist);
  K("keys", 2, kR, 0, 0, 0, "@keyspace @read @slow @dangerous", "", "generic",
    "Find all keys matching the given pattern", "1.0.0", "O(N)", keys);
  K("scan", -2, kR, 0, 0, 0, "@keyspace @read @slow", "", "generic",
    "Incrementally iterate the keys space", "2.8.0",
    "O(1) for every call. O(N) for a complete iteration.", scan);
  K("randomkey", 1, kR, 0, 0, 0, "@keyspace @read @slow", "", "generic",
    "Return a random key from the keyspace", "1.0.0", "O(1)", randomkey);
  K("rename", 3, kW, 1, 2, 1, "@keyspace @write @slow", "RW access delete", "generic",
    "Rename a key", "1.0.0", "O(1)", rename);
  K("renamenx", 3, kW | kFast, 1, 2, 1, "@keyspace @write @fast", "RW access delete", "generic",
    "Rename a key, only if the new key does not exist", "1.0.0", "O(1)", renamenx);
  K("copy", -3, kW | kDenyOom, 1, 2, 1, "@keyspace @write @slow", "RO access", "generic",
    "Copy a key", "6.2.0", "O(N) worst case for collections", copy);
  K("dbsize", 1, kR | kFast, 0, 0, 0, "@keyspace @read @fast", "", "server",
    "Return the number of keys in the selected database", "1.0.0", "O(1)", dbsize);
  K("flushdb", -1, kW, 0, 0, 0, "@keyspace @write @slow @dangerous", "", "server",
    "Remove all keys from the current database", "1.0.0", "O(N)", flush);
  K("flushall", -1, kW, 0, 0, 0, "@keyspace @write @slow @dangerous", "", "server",
    "Remove all keys from all databases", "1.0.0", "O(N)", flush);
}

}  // namespace apiary::resp
