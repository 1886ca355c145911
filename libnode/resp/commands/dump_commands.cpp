// DUMP and RESTORE: a key's value in Redis's serialization format (an RDB value, the RDB
// version, a CRC-64), so values move between Apiary and Redis both ways (docs/resp.md,
// "DUMP, RESTORE and SORT"). The encoding is apiary/persist/rdb_writer.hpp's; RESTORE decodes
// every encoding Redis writes through apiary/persist/rdb_dump.hpp. MIGRATE is not here: it
// needs an outbound connection, which a command handler cannot open.
#include <chrono>
#include <limits>
#include <optional>
#include <string>

#include "apiary/persist/rdb_dump.hpp"
#include "apiary/persist/rdb_writer.hpp"
#include "apiary/resp/server.hpp"
#include "commands.hpp"
#include "keyspace_notify.hpp"
#include "restore_support.hpp"
#include "store_access.hpp"

namespace apiary::resp {

std::optional<std::string> dump_payload(store::Store& st, std::string_view key, WallTime now) {
  using data::Collection;
  using persist::RdbValueType;
  using persist::RdbValueWriter;
  const store::KeyType type = st.type(key, now);
  if (type == store::KeyType::none) return std::nullopt;
  std::string out;
  RdbValueWriter w(out);
  if (type == store::KeyType::string) {
    auto v = st.get_value(key, now);
    if (!v) return std::nullopt;
    w.string_value(*v);
  } else {
    bool wrong = false;
    const Collection* c = st.read_collection(key, store::collection_kind(type), now, wrong);
    if (c == nullptr) return std::nullopt;
    std::string scratch;
    switch (type) {
      case store::KeyType::hash:
        w.begin(RdbValueType::hash, c->size());
        for (const data::ElementView e : *c) {
          w.element(e.name());
          w.element(e.value(scratch));
        }
        break;
      case store::KeyType::set:
        w.begin(RdbValueType::set, c->size());
        for (const data::ElementView e : *c) w.element(e.name());
        break;
      case store::KeyType::zset:
        w.begin(RdbValueType::zset, c->size());
        for (const data::ElementView e : *c) {
          w.element(e.name());
          w.score(Collection::score_of(e));
        }
        break;
      default:  // a list: its values head to tail
        w.begin(RdbValueType::list, c->size());
        for (const data::ElementView e : *c) w.element(e.value(scratch));
        break;
    }
  }
  persist::rdb_append_dump_footer(out);
  return out;
}

namespace {

Outcome dump(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  if (auto payload = dump_payload(*st, ctx.argv[1], ctx.wall)) {
    ctx.reply.bulk(*payload);
  } else {
    notify_keymiss(ctx, ctx.argv[1]);
    ctx.reply.null();
  }
  return Outcome::done();
}

struct RestoreOptions {
  bool replace = false;
  bool absttl = false;
  std::int64_t idle = -1;  // IDLETIME seconds, -1: not given
  std::int64_t freq = -1;  // FREQ counter, -1: not given
};

// The options after the payload, as Redis reads them: IDLETIME and FREQ exclude each other (the
// second is a syntax error), each needs its value; false after replying.
bool parse_restore_options(CommandContext& ctx, RestoreOptions& o) {
  for (std::size_t j = 4; j < ctx.argv.size(); ++j) {
    const std::string_view a = ctx.argv[j];
    const bool more = j + 1 < ctx.argv.size();
    if (iequals(a, "REPLACE")) {
      o.replace = true;
    } else if (iequals(a, "ABSTTL")) {
      o.absttl = true;
    } else if (iequals(a, "IDLETIME") && more && o.freq == -1) {
      auto v = to_int(ctx.argv[++j]);
      if (!v) return ctx.reply.error(kNotInteger), false;
      if (*v < 0) return ctx.reply.error("Invalid IDLETIME value, must be >= 0"), false;
      o.idle = *v;
    } else if (iequals(a, "FREQ") && more && o.idle == -1) {
      auto v = to_int(ctx.argv[++j]);
      if (!v) return ctx.reply.error(kNotInteger), false;
      if (*v < 0 || *v > 255) {
        return ctx.reply.error("Invalid FREQ value, must be >= 0 and <= 255"), false;
      }
      o.freq = *v;
    } else {
      return ctx.reply.error(kSyntaxError), false;
    }
  }
  return true;
}

// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency],
// checked in Redis 7.0's order: options, BUSYKEY, the TTL, the footer, the value.
Outcome restore(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  RestoreOptions o;
  if (!parse_restore_options(ctx, o)) return Outcome::done();
  const std::string_view key = ctx.argv[1];
  const bool existed = st->exists(key, ctx.wall);
  if (!o.replace && existed) {
    ctx.reply.error("-BUSYKEY Target key name already exists.");
    return Outcome::done();
  }
  const auto ttl = to_int(ctx.argv[2]);
  if (!ttl) {
    ctx.reply.error(kNotInteger);
    return Outcome::done();
  }
  if (*ttl < 0) {
    ctx.reply.error("Invalid TTL value, must be >= 0");
    return Outcome::done();
  }
  const std::string_view payload = ctx.argv[3];
  if (!persist::rdb_check_dump_payload(payload)) {
    ctx.reply.error("DUMP payload version or checksum are wrong");
    return Outcome::done();
  }
  persist::RdbLimits limits;
  limits.max_string_bytes = static_cast<std::uint64_t>(ctx.server.config().proto_max_bulk_len());
  auto item = persist::rdb_read_dump_value(payload, key, limits);
  if (!item.ok()) {
    ctx.reply.error("Bad data format");
    return Outcome::done();
  }
  std::optional<WallTime> expiry;
  if (*ttl != 0) {
    // Redis adds the clock to a relative TTL without an overflow check: past INT64_MAX the
    // sum wraps negative, which has expired.
    std::int64_t at = *ttl;
    if (!o.absttl) {
      at = static_cast<std::int64_t>(static_cast<std::uint64_t>(at) +
                                     static_cast<std::uint64_t>(ctx.wall.ms));
    }
    if (at <= ctx.wall.ms) {  // already expired: the key is deleted, or not created
      if (existed) {
        st->del_local(key, ctx.wall);
        notify(ctx, kNotifyGeneric, "del", key);
      }
      ctx.reply.ok();
      return Outcome::done();
    }
    expiry = WallTime{at};
  }
  if (Status s = replace_value(*st, key, item.value(), expiry, ctx.wall); !s.ok()) {
    reply_write_error(ctx, s);
    return Outcome::done();
  }
  // IDLETIME (with an LRU policy) or FREQ (with an LFU one) set this node's access
  // bookkeeping, as Redis sets the object's; replicas keep their own, as for every access.
  std::optional<std::chrono::seconds> idle;
  std::optional<std::uint8_t> freq;
  if (o.idle >= 0) idle = std::chrono::seconds(o.idle);
  if (o.freq >= 0) freq = static_cast<std::uint8_t>(o.freq);
  if (idle || freq) st->set_access(key, ctx.wall, idle, freq);
  notify(ctx, kNotifyNew, "new", key);  // a replaced key is deleted first, as in Redis
  notify(ctx, kNotifyGeneric, "restore", key);
  ctx.reply.ok();
  return Outcome::done();
}

}  // namespace

void register_dump_commands(CommandTable& t) {
  t.add(make_spec({"dump", 2, kReadonly, 1, 1, 1, "@keyspace @read @slow", "RO access", "generic",
                   "Return a serialized version of the value stored at the specified key.", "2.6.0",
                   "O(1) to access the key and additional O(N*M) to serialize it, where N is the "
                   "number of Redis objects composing the value and M their average size. For "
                   "small string values the time complexity is thus O(1)+O(1*M) where M is small, "
                   "so simply O(1).",
                   dump}));
  t.add(make_spec(
      {"restore", -4, kWrite | kDenyOom, 1, 1, 1, "@keyspace @write @slow @dangerous", "OW update",
       "generic",
       "Create a key using the provided serialized value, previously obtained using DUMP.", "2.6.0",
       "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, "
       "where N is the number of Redis objects composing the value and M their average size. "
       "For small string values the time complexity is thus O(1)+O(1*M) where M is small, so "
       "simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because "
       "inserting values into sorted sets is O(log(N)).",
       restore}));
}

}  // namespace apiary::resp
