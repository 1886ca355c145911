// Sibling-aware commands, for clients that resolve concurrent writes themselves (the embedding
// API's get_versions/put run through them, so a key owned by another node works the same):
//   APIARY.VGET key
//     -> [context, [[value, stamp_ms, writer], ...]]   siblings in last-writer-wins order
//        (the last is the one GET returns); a missing key
//        gives an empty context and no siblings. stamp_ms: the writer's hybrid clock
//        (milliseconds since the epoch); writer: 16 hex digits naming the writing process.
//   APIARY.VPUT key value context [PX ms | EX s]
//     -> +OK; supersedes exactly the siblings the context (from APIARY.VGET) covers.
//   APIARY.VDEL key context [digest]
//     -> :1 when the key was removed (or emptied), :0 when nothing was. A string key loses
//        exactly the siblings the context covers; a write the context did not see survives.
//        A hash, set, zset or list (whose APIARY.VGET context is empty) is emptied as DEL
//        empties it -- unless `digest` is given and differs from the key's DUMP payload's
//        CRC-64 (its last 8 bytes, 16 lower-case hex digits): then it was written since that
//        DUMP and is kept. MIGRATE deletes what it moved through it.
// The context is opaque binary (data::encode_context); a malformed one is refused.
#include <algorithm>
#include <cstdio>
#include <vector>

#include "apiary/data/version_vector.hpp"
#include "commands.hpp"
#include "keyspace_notify.hpp"
#include "restore_support.hpp"
#include "store_access.hpp"

namespace apiary::resp {
namespace {

Outcome vget(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  auto read = st->get(ctx.argv[1], ctx.wall);
  ctx.reply.array(2);
  if (!read.ok()) {
    ctx.reply.bulk("");
    ctx.reply.array(0);
    return Outcome::done();
  }
  ctx.reply.bulk(data::encode_context(read->context));
  // Last-writer-wins order: the last sibling is the one GET answers.
  std::vector<const data::Sibling*> order;
  for (const auto& s : read->siblings) order.push_back(&s);
  std::sort(order.begin(), order.end(),
            [](const data::Sibling* a, const data::Sibling* b) { return data::lww_less(*a, *b); });
  ctx.reply.array(order.size());
  for (const data::Sibling* sp : order) {
    const data::Sibling& s = *sp;
    char writer[17];
    std::snprintf(writer, sizeof writer, "%016llx",
                  static_cast<unsigned long long>(s.writer().value));
    ctx.reply.array(3);
    ctx.reply.bulk(s.value);
    ctx.reply.integer(s.stamp.wall_ms());
    ctx.reply.bulk(writer);
  }
  return Outcome::done();
}

Outcome vput(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  std::optional<WallTime> expire_at;
  if (ctx.argv.size() == 6) {
    const bool seconds = iequals(ctx.argv[4], "EX");
    if (!seconds && !iequals(ctx.argv[4], "PX")) {
      ctx.reply.error(kSyntaxError);
      return Outcome::done();
    }
    expire_at = parse_expire(ctx, ctx.argv[5], seconds, false, "apiary.vput");
    if (!expire_at) return Outcome::done();
  } else if (ctx.argv.size() != 4) {
    ctx.reply.error(kSyntaxError);
    return Outcome::done();
  }
  const std::string_view bytes = ctx.argv[3];
  auto context =
      data::decode_context({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
  if (!bytes.empty() && !context.ok()) {
    ctx.reply.error("invalid causal context: " + context.status().message());
    return Outcome::done();
  }
  const data::VersionVector vv = bytes.empty() ? data::VersionVector{} : *context;
  const auto expiry =
      expire_at ? store::ExpiryUpdate::set(*expire_at) : store::ExpiryUpdate::clear();
  NewKeyWatch watch(ctx, *st, ctx.argv[1]);
  const Status s = st->put(ctx.argv[1], ctx.argv[2], vv, ctx.wall, expiry);
  if (!s.ok()) {
    reply_write_error(ctx, s);
    return Outcome::done();
  }
  // The events of a SET with the same options.
  watch.created();
  notify(ctx, kNotifyString, "set", ctx.argv[1]);
  if (expire_at) notify(ctx, kNotifyGeneric, "expire", ctx.argv[1]);
  ctx.reply.ok();
  return Outcome::done();
}

// The CRC-64 that ends the key's DUMP payload, in hex; empty when the key is missing.
std::string payload_digest(store::Store* st, std::string_view key, WallTime now) {
  const auto payload = dump_payload(*st, key, now);
  if (!payload || payload->size() < 8) return {};
  std::string out;
  for (std::size_t i = payload->size() - 8; i < payload->size(); ++i) {
    char hex[3];
    std::snprintf(hex, sizeof hex, "%02x", static_cast<unsigned char>((*payload)[i]));
    out += hex;
  }
  return out;
}

Outcome vdel(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  const std::string_view key = ctx.argv[1];
  const std::string_view bytes = ctx.argv[2];
  auto context =
      data::decode_context({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
  if (!bytes.empty() && !context.ok()) {
    ctx.reply.error("invalid causal context: " + context.status().message());
    return Outcome::done();
  }
  if (ctx.argv.size() > 4) {
    ctx.reply.error(kSyntaxError);
    return Outcome::done();
  }
  const store::KeyType type = st->type(key, ctx.wall);
  if (type == store::KeyType::none) {
    ctx.reply.integer(0);
  } else if (type != store::KeyType::string) {
    if (ctx.argv.size() == 4 && payload_digest(st, key, ctx.wall) != ctx.argv[3]) {
      ctx.reply.integer(0);  // changed since the DUMP the digest is of
      return Outcome::done();
    }
    const bool removed = st->del_local(key, ctx.wall);
    if (removed) notify(ctx, kNotifyGeneric, "del", key);  // MIGRATE's delete, as Redis's
    ctx.reply.integer(removed ? 1 : 0);
  } else {
    const data::VersionVector vv = bytes.empty() ? data::VersionVector{} : *context;
    const bool removed = st->del(key, vv, ctx.wall);
    if (removed) notify(ctx, kNotifyGeneric, "del", key);
    ctx.reply.integer(removed ? 1 : 0);
  }
  return Outcome::done();
}

}  // namespace

void register_version_commands(CommandTable& t) {
  t.add(make_spec({"apiary.vget", 2, kReadonly | kFast, 1, 1, 1, "@read @string @fast", "RO access",
                   "string", "Get every sibling of a key and its causal context", "0.1.0",
                   "O(siblings)", vget}));
  t.add(
      make_spec({"apiary.vput", -4, kWrite | kDenyOom, 1, 1, 1, "@write @string @slow", "RW update",
                 "string", "Set a key's value, superseding the siblings a causal context covers",
                 "0.1.0", "O(siblings)", vput}));
  t.add(make_spec({"apiary.vdel", -3, kWrite, 1, 1, 1, "@write @keyspace @slow", "RW delete",
                   "generic", "Delete the versions of a key that a causal context covers", "0.1.0",
                   "O(siblings)", vdel}));
}

}  // namespace apiary::resp
