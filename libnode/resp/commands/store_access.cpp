// Helpers shared by the data commands.
#include "store_access.hpp"

#include <algorithm>
#include <limits>
#include <string>

#include "apiary/data/counter.hpp"
#include "apiary/resp/request_parser.hpp"
#include "apiary/resp/server.hpp"
#include "commands.hpp"
#include "keyspace_notify.hpp"

namespace apiary::resp {

store::Store* store_or_reply(CommandContext& ctx) {
  store::Store* st = ctx.server.store();
  if (st == nullptr) ctx.reply.error(kNoStore);
  return st;
}

void reply_write_error(CommandContext& ctx, const Status& status) {
  if (status.code() == StatusCode::out_of_memory) {
    ctx.reply.error("-OOM command not allowed when used memory > 'maxmemory'.");
  } else if (status.code() == StatusCode::wrong_type) {
    ctx.reply.error(kWrongType);
  } else {
    ctx.reply.error(status.message());
  }
}

const data::Collection* collection_or_reply(CommandContext& ctx, std::string_view key,
                                            data::ValueKind kind, bool& replied, bool keymiss) {
  replied = false;
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) {
    replied = true;
    return nullptr;
  }
  bool wrong_type = false;
  const data::Collection* c = st->read_collection(key, kind, ctx.wall, wrong_type);
  if (wrong_type) {
    ctx.reply.error(kWrongType);
    replied = true;
  } else if (c == nullptr && keymiss) {
    notify_keymiss(ctx, key);
  }
  return c;
}

bool edit_or_reply(CommandContext& ctx, std::string_view key, data::ValueKind kind,
                   const std::function<bool(store::Store::CollectionEdit&)>& edit) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return false;
  const Status s = st->edit_collection(key, kind, ctx.wall, edit);
  if (!s.ok()) reply_write_error(ctx, s);
  return s.ok();
}

// Redis 7.0's encodings of a hash (listpack up to hash-max-listpack-entries 512 fields of at
// most hash-max-listpack-value 64 bytes) and a set (intset up to set-max-intset-entries 512
// integers), by what the collection holds now. Redis never converts back to the smaller
// encoding when elements go; Apiary names the encoding the collection would have now.
std::string_view collection_encoding(const data::Collection& c) {
  std::string scratch;
  // Redis 7.0 keeps every list in a quicklist (7.2 added a plain listpack for small ones).
  if (c.kind() == data::ValueKind::list) return "quicklist";
  if (c.kind() == data::ValueKind::zset) {
    // zset-max-listpack-entries 128, zset-max-listpack-value 64.
    if (c.size() > 128) return "skiplist";
    for (const data::ElementView e : c) {
      if (e.name().size() > 64) return "skiplist";
    }
    return "listpack";
  }
  if (c.kind() == data::ValueKind::hash) {
    if (c.size() > 512) return "hashtable";
    for (const data::ElementView e : c) {
      if (e.name().size() > 64 || e.value(scratch).size() > 64) {
        return "hashtable";
      }
    }
    return "listpack";
  }
  if (c.size() > 512) return "hashtable";
  for (const data::ElementView e : c) {
    std::int64_t n = 0;
    if (!parse_int64(e.name(), n)) return "hashtable";
  }
  return "intset";
}

bool parse_random_count(CommandContext& ctx, std::string_view with_word, RandomCount& out) {
  if (ctx.argv.size() < 3) return true;
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  const auto n = to_int(ctx.argv[2]);
  if (!n) {
    ctx.reply.error(kNotInteger);
    return false;
  }
  if (*n < -kMax) {
    ctx.reply.error("value is out of range, value must between " + std::to_string(-kMax) + " and " +
                    std::to_string(kMax));
    return false;
  }
  if (ctx.argv.size() > 4 || (ctx.argv.size() == 4 && !iequals(ctx.argv[3], with_word))) {
    ctx.reply.error(kSyntaxError);
    return false;
  }
  out.with = ctx.argv.size() == 4;
  if (out.with && (*n < -kMax / 2 || *n > kMax / 2)) {
    ctx.reply.error("value is out of range");
    return false;
  }
  out.count = *n;
  return true;
}

std::optional<CollectionScan> scan_collection(CommandContext& ctx, data::ValueKind kind) {
  std::uint64_t cursor = 0;
  if (!parse_scan_cursor(ctx.argv[2], cursor)) {
    ctx.reply.error("invalid cursor");
    return std::nullopt;
  }
  bool replied = false;
  CollectionScan out;
  out.collection = collection_or_reply(ctx, ctx.argv[1], kind, replied, true);
  if (replied) return std::nullopt;
  if (out.collection == nullptr) {
    ctx.reply.array(2);
    ctx.reply.bulk("0");
    ctx.reply.array(0);
    return std::nullopt;
  }
  std::optional<std::string_view> match;
  std::int64_t count = 10;
  for (std::size_t j = 3; j < ctx.argv.size(); j += 2) {
    const bool has_value = j + 1 < ctx.argv.size();
    if (has_value && iequals(ctx.argv[j], "COUNT")) {
      const auto n = to_int(ctx.argv[j + 1]);
      if (!n) {
        ctx.reply.error(kNotInteger);
        return std::nullopt;
      }
      if (*n < 1) {
        ctx.reply.error(kSyntaxError);
        return std::nullopt;
      }
      count = *n;
    } else if (has_value && iequals(ctx.argv[j], "MATCH")) {
      match = ctx.argv[j + 1];
      if (*match == "*") match.reset();
    } else {
      ctx.reply.error(kSyntaxError);
      return std::nullopt;
    }
  }
  const data::Collection& c = *out.collection;
  const std::string_view encoding = collection_encoding(c);
  if (encoding != "hashtable" && encoding != "skiplist") {
    out.batch.assign(c.begin(), c.end());
  } else {
    out.next =
        c.scan(cursor, static_cast<std::size_t>(std::min<std::int64_t>(count, 1 << 20)), out.batch);
  }
  std::erase_if(out.batch,
                [&](data::ElementView e) { return match && !glob_match(*match, e.name()); });
  return out;
}

std::optional<WallTime> parse_expire(CommandContext& ctx, std::string_view arg, bool unit_seconds,
                                     bool absolute, std::string_view command) {
  const std::string invalid = "invalid expire time in '" + std::string(command) + "' command";
  auto v = to_int(arg);
  if (!v) {
    ctx.reply.error(kNotInteger);
    return std::nullopt;
  }
  std::int64_t ms = *v;
  if (ms <= 0 || (unit_seconds && ms > std::numeric_limits<std::int64_t>::max() / 1000)) {
    ctx.reply.error(invalid);
    return std::nullopt;
  }
  if (unit_seconds) ms *= 1000;
  if (!absolute) {
    if (ms > std::numeric_limits<std::int64_t>::max() - ctx.wall.ms) {
      ctx.reply.error(invalid);
      return std::nullopt;
    }
    ms += ctx.wall.ms;
  }
  return WallTime{ms};
}

}  // namespace apiary::resp
