// Hash commands: HSET/HMSET/HSETNX, HGET/HMGET, HGETALL/HKEYS/HVALS, HDEL, HLEN, HEXISTS,
// HSTRLEN, HINCRBY/HINCRBYFLOAT, HRANDFIELD and HSCAN, answering as Redis 7.0's t_hash.c does:
// the same replies in RESP2 and RESP3, the same error texts, and the arguments checked in the
// same order (an argument that does not parse is refused before the key is looked at, except
// for HSCAN's options, which Redis reads only once it has found the hash).
//
// A hash is a data::Collection (an observed-remove map), so two things differ by design from
// a standalone Redis: whole-hash replies (HGETALL, HKEYS, HVALS, HRANDFIELD, HSCAN) list the
// fields in field-hash order instead of insertion order, and an HSCAN cursor over a big hash
// is a field hash instead of a position in a hash table. A small hash (listpack-sized, see
// collection_encoding) answers HSCAN whole with cursor 0, as Redis does.
#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "apiary/data/collection.hpp"
#include "apiary/data/counter.hpp"
#include "apiary/resp/server.hpp"
#include "apiary/resp/server_config.hpp"
#include "commands.hpp"
#include "keyspace_notify.hpp"
#include "store_access.hpp"

namespace apiary::resp {
namespace {

using data::Collection;
using Element = Collection::const_iterator;

constexpr data::ValueKind kHash = data::ValueKind::hash;

// The key's hash for a read: nullptr when it is missing, or with `replied` set after an error.
const Collection* read_hash(CommandContext& ctx, bool& replied) {
  return collection_or_reply(ctx, ctx.argv[1], kHash, replied, true);
}

void reply_value(CommandContext& ctx, data::ElementView e) {
  std::string scratch;
  ctx.reply.bulk(e.value(scratch));
}

// A field, or a field and its value: RESP3 pairs them in an array of two (HRANDFIELD).
void reply_pair(CommandContext& ctx, data::ElementView e, bool with_value, bool nested) {
  if (with_value && nested) ctx.reply.array(2);
  ctx.reply.bulk(e.name());
  if (with_value) reply_value(ctx, e);
}

// ---- writes -----------------------------------------------------------------------------

// HSET key field value [field value ...] (the number of fields created) and HMSET (+OK).
Outcome hset_common(CommandContext& ctx, std::string_view name, bool reply_ok) {
  if (ctx.argv.size() % 2 == 1) {
    ctx.reply.error("wrong number of arguments for '" + std::string(name) + "' command");
    return Outcome::done();
  }
  std::int64_t created = 0;
  const bool ok = edit_and_notify(
      ctx, ctx.argv[1], kHash, kNotifyHash, "hset", [&](store::Store::CollectionEdit& e) {
        for (std::size_t i = 2; i + 1 < ctx.argv.size(); i += 2) {
          if (e.collection.set(ctx.argv[i], std::string(ctx.argv[i + 1]), e.dot, e.stamp)) {
            ++created;
          }
        }
        return true;
      });
  if (!ok) return Outcome::done();
  if (reply_ok) {
    ctx.reply.ok();
  } else {
    ctx.reply.integer(created);
  }
  return Outcome::done();
}
Outcome hset(CommandContext& ctx) { return hset_common(ctx, "hset", false); }
Outcome hmset(CommandContext& ctx) { return hset_common(ctx, "hmset", true); }

Outcome hsetnx(CommandContext& ctx) {
  bool created = false;
  const bool ok = edit_and_notify(
      ctx, ctx.argv[1], kHash, kNotifyHash, "hset", [&](store::Store::CollectionEdit& e) {
        if (e.collection.contains(ctx.argv[2])) return false;
        created = e.collection.set(ctx.argv[2], std::string(ctx.argv[3]), e.dot, e.stamp);
        return true;
      });
  if (ok) ctx.reply.integer(created ? 1 : 0);
  return Outcome::done();
}

Outcome hdel(CommandContext& ctx) {
  // A read first: deleting nothing is no write (and so never refused for memory).
  bool replied = false;
  const Collection* c = collection_or_reply(ctx, ctx.argv[1], kHash, replied);
  if (replied) return Outcome::done();
  bool any = false;
  for (std::size_t i = 2; c != nullptr && i < ctx.argv.size() && !any; ++i) {
    any = c->contains(ctx.argv[i]);
  }
  if (!any) {
    ctx.reply.integer(0);
    return Outcome::done();
  }
  std::int64_t removed = 0;
  const bool ok = edit_and_notify(ctx, ctx.argv[1], kHash, kNotifyHash, "hdel",
                                  [&](store::Store::CollectionEdit& e) {
                                    for (std::size_t i = 2; i < ctx.argv.size(); ++i) {
                                      if (e.collection.remove(ctx.argv[i])) ++removed;
                                    }
                                    return removed > 0;
                                  });
  if (ok) ctx.reply.integer(removed);
  return Outcome::done();
}

// HINCRBY key field increment. The increment is checked before the key; the field's value
// must be a strict integer ("hash value is not an integer"), the sum must fit in an int64.
Outcome hincrby(CommandContext& ctx) {
  std::int64_t delta = 0;
  if (!data::parse_int64(ctx.argv[3], delta)) {
    ctx.reply.error(kNotInteger);
    return Outcome::done();
  }
  data::CounterError error = data::CounterError::none;
  std::string text;
  const bool ok = edit_and_notify(
      ctx, ctx.argv[1], kHash, kNotifyHash, "hincrby", [&](store::Store::CollectionEdit& e) {
        error = e.collection.incr(ctx.argv[2], delta, e.dot, e.stamp, text);
        return error == data::CounterError::none;
      });
  if (!ok) return Outcome::done();
  if (error == data::CounterError::none) {
    std::int64_t value = 0;
    (void)data::parse_int64(text, value);
    ctx.reply.integer(value);
  } else if (error == data::CounterError::overflow) {
    ctx.reply.error("increment or decrement would overflow");
  } else {
    ctx.reply.error("hash value is not an integer");
  }
  return Outcome::done();
}

// HINCRBYFLOAT key field increment: the increment parsed as Redis's string2ld (which takes
// "inf", so it is refused next, before the key is looked at), the sum rendered as a long
// double in Redis's human form (10.5 + 0.1 = "10.6", 3.0e3 = "3000").
Outcome hincrbyfloat(CommandContext& ctx) {
  long double delta = 0;
  if (!data::parse_long_double(ctx.argv[3], delta)) {
    ctx.reply.error(kNotFloat);
    return Outcome::done();
  }
  if (std::isnan(delta) || std::isinf(delta)) {
    ctx.reply.error("value is NaN or Infinity");
    return Outcome::done();
  }
  data::CounterError error = data::CounterError::none;
  std::string text;
  const bool ok = edit_and_notify(
      ctx, ctx.argv[1], kHash, kNotifyHash, "hincrbyfloat", [&](store::Store::CollectionEdit& e) {
        error = e.collection.incr_float(ctx.argv[2], delta, e.dot, e.stamp, text);
        return error == data::CounterError::none;
      });
  if (!ok) return Outcome::done();
  if (error == data::CounterError::none) {
    ctx.reply.bulk(text);
  } else if (error == data::CounterError::nan_or_infinity) {
    ctx.reply.error("increment would produce NaN or Infinity");
  } else {
    ctx.reply.error("hash value is not a float");
  }
  return Outcome::done();
}

// ---- reads ------------------------------------------------------------------------------

Outcome hget(CommandContext& ctx) {
  bool replied = false;
  const Collection* c = read_hash(ctx, replied);
  if (replied) return Outcome::done();
  const auto e = c == nullptr ? std::nullopt : c->find(ctx.argv[2]);
  if (!e) {
    ctx.reply.null();
  } else {
    reply_value(ctx, *e);
  }
  return Outcome::done();
}

Outcome hmget(CommandContext& ctx) {
  bool replied = false;
  const Collection* c = read_hash(ctx, replied);
  if (replied) return Outcome::done();
  ctx.reply.array(ctx.argv.size() - 2);
  for (std::size_t i = 2; i < ctx.argv.size(); ++i) {
    const auto e = c == nullptr ? std::nullopt : c->find(ctx.argv[i]);
    if (!e) {
      ctx.reply.null();
    } else {
      reply_value(ctx, *e);
    }
  }
  return Outcome::done();
}

// HGETALL (a map in RESP3), HKEYS and HVALS (arrays), in field-hash order.
Outcome hgetall_common(CommandContext& ctx, bool fields, bool values) {
  bool replied = false;
  const Collection* c = read_hash(ctx, replied);
  if (replied) return Outcome::done();
  const std::size_t n = c == nullptr ? 0 : c->size();
  if (fields && values) {
    ctx.reply.map(n);
  } else {
    ctx.reply.array(n);
  }
  if (c == nullptr) return Outcome::done();
  for (const data::ElementView e : *c) {
    if (fields) ctx.reply.bulk(e.name());
    if (values) reply_value(ctx, e);
  }
  return Outcome::done();
}
Outcome hgetall(CommandContext& ctx) { return hgetall_common(ctx, true, true); }
Outcome hkeys(CommandContext& ctx) { return hgetall_common(ctx, true, false); }
Outcome hvals(CommandContext& ctx) { return hgetall_common(ctx, false, true); }

Outcome hlen(CommandContext& ctx) {
  bool replied = false;
  const Collection* c = read_hash(ctx, replied);
  if (replied) return Outcome::done();
  ctx.reply.integer(c == nullptr ? 0 : static_cast<std::int64_t>(c->size()));
  return Outcome::done();
}

Outcome hexists(CommandContext& ctx) {
  bool replied = false;
  const Collection* c = read_hash(ctx, replied);
  if (replied) return Outcome::done();
  ctx.reply.integer(c != nullptr && c->contains(ctx.argv[2]) ? 1 : 0);
  return Outcome::done();
}

Outcome hstrlen(CommandContext& ctx) {
  bool replied = false;
  const Collection* c = read_hash(ctx, replied);
  if (replied) return Outcome::done();
  const auto e = c == nullptr ? std::nullopt : c->find(ctx.argv[2]);
  std::string scratch;
  ctx.reply.integer(e ? static_cast<std::int64_t>(e->value(scratch).size()) : 0);
  return Outcome::done();
}

// ---- HRANDFIELD -------------------------------------------------------------------------

// Random fields of a non-empty hash. A hash small enough to list is picked from uniformly by
// position, as Redis picks from a listpack; a big one by a random field hash
// (Collection::random_element, O(log n)), which favours the fields after wider hash gaps.
class FieldPicker {
 public:
  FieldPicker(const Collection& c, store::Store& st) : c_(c), st_(st) {
    if (c.size() <= kListLimit) {
      for (auto it = c.begin(); it != c.end(); ++it) all_.push_back(it);
    }
  }
  Element next() {
    if (all_.empty()) return c_.random_element(st_.random());
    return all_[st_.random() % all_.size()];
  }

 private:
  static constexpr std::size_t kListLimit = 512;  // Redis 7.0 hash-max-listpack-entries
  const Collection& c_;
  store::Store& st_;
  std::vector<Element> all_;
};

// Like Redis's hrandfieldWithCountCommand: a negative count may repeat fields; a count at
// least the size answers the whole hash; otherwise distinct fields, by dropping random ones
// from the whole when most are wanted, else by picking until enough distinct ones are found.
void reply_random_fields(CommandContext& ctx, const Collection& c, store::Store& st, std::int64_t l,
                         bool with_values) {
  const bool nested = ctx.reply.protocol() > 2;
  const bool distinct = l >= 0;
  const std::uint64_t count =
      distinct ? static_cast<std::uint64_t>(l) : static_cast<std::uint64_t>(-l);
  if (count == 0) {
    ctx.reply.array(0);
    return;
  }
  const std::size_t flat = with_values && !nested ? 2 : 1;
  FieldPicker picker(c, st);
  if (!distinct || count == 1) {
    ctx.reply.array(count * flat);
    // Redis stops at once when the client is to be closed (its output over the hard limit).
    const std::int64_t hard = ctx.server.config().output_buffer_limit().hard_bytes;
    for (std::uint64_t i = 0; i < count; ++i) {
      reply_pair(ctx, *picker.next(), with_values, nested);
      if (hard > 0 && ctx.reply.buffer().size() > static_cast<std::size_t>(hard)) break;
    }
    return;
  }
  const std::size_t size = c.size();
  if (count >= size) {
    ctx.reply.array(size * flat);
    for (const data::ElementView e : c) reply_pair(ctx, e, with_values, nested);
    return;
  }
  std::vector<Element> chosen;
  if (count * 3 > size) {
    for (auto it = c.begin(); it != c.end(); ++it) chosen.push_back(it);
    while (chosen.size() > count) {
      std::swap(chosen[st.random() % chosen.size()], chosen.back());
      chosen.pop_back();
    }
  } else {
    std::set<const char*> seen;  // an element's name is where its record is
    while (chosen.size() < count) {
      const Element it = picker.next();
      if (seen.insert((*it).name().data()).second) chosen.push_back(it);
    }
  }
  ctx.reply.array(chosen.size() * flat);
  for (const Element it : chosen) reply_pair(ctx, *it, with_values, nested);
}

// HRANDFIELD key [count [WITHVALUES]]: the count and the options are checked before the key.
Outcome hrandfield(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  RandomCount pick;
  if (!parse_random_count(ctx, "WITHVALUES", pick)) return Outcome::done();
  bool replied = false;
  const Collection* c = read_hash(ctx, replied);
  if (replied) return Outcome::done();
  if (c == nullptr || c->empty()) {
    if (pick.count) {
      ctx.reply.array(0);
    } else {
      ctx.reply.null();
    }
    return Outcome::done();
  }
  if (pick.count) {
    reply_random_fields(ctx, *c, *st, *pick.count, pick.with);
  } else {
    ctx.reply.bulk((*FieldPicker(*c, *st).next()).name());
  }
  return Outcome::done();
}

// ---- HSCAN ------------------------------------------------------------------------------

// HSCAN key cursor [MATCH pattern] [COUNT count]. As in Redis, the cursor is checked first,
// a missing key answers an empty scan before the options are read, and COUNT must be >= 1.
Outcome hscan(CommandContext& ctx) {
  auto scan = scan_collection(ctx, kHash);
  if (!scan) return Outcome::done();
  ctx.reply.array(2);
  ctx.reply.bulk(std::to_string(scan->next));
  ctx.reply.array(scan->batch.size() * 2);
  for (const data::ElementView e : scan->batch) reply_pair(ctx, e, true, false);
  return Outcome::done();
}

constexpr std::uint32_t kW = kWrite | kDenyOom;
constexpr std::uint32_t kR = kReadonly;

}  // namespace

void register_hash_commands(CommandTable& t) {
  const auto H = [&](const char* name, int arity, std::uint32_t flags, std::string_view acl,
                     std::string_view key_flags, std::string_view summary, std::string_view since,
                     std::string_view complexity, CommandHandler h) {
    t.add(make_spec(
        {name, arity, flags, 1, 1, 1, acl, key_flags, "hash", summary, since, complexity, h}));
  };
  constexpr std::string_view kWriteFast = "@write @hash @fast";
  constexpr std::string_view kReadFast = "@read @hash @fast";
  constexpr std::string_view kReadSlow = "@read @hash @slow";
  constexpr std::string_view kWholeHash = "O(N) where N is the size of the hash.";
  H("hset", -4, kW | kFast, kWriteFast, "RW update", "Set the string value of a hash field",
    "2.0.0",
    "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command "
    "is called with multiple field/value pairs.",
    hset);
  H("hsetnx", 4, kW | kFast, kWriteFast, "RW insert",
    "Set the value of a hash field, only if the field does not exist", "2.0.0", "O(1)", hsetnx);
  H("hmset", -4, kW | kFast, kWriteFast, "RW update", "Set multiple hash fields to multiple values",
    "2.0.0", "O(N) where N is the number of fields being set.", hmset);
  H("hget", 3, kR | kFast, kReadFast, "RO access", "Get the value of a hash field", "2.0.0", "O(1)",
    hget);
  H("hmget", -3, kR | kFast, kReadFast, "RO access", "Get the values of all the given hash fields",
    "2.0.0", "O(N) where N is the number of fields being requested.", hmget);
  H("hgetall", 2, kR, kReadSlow, "RO access", "Get all the fields and values in a hash", "2.0.0",
    kWholeHash, hgetall);
  H("hkeys", 2, kR, kReadSlow, "RO access", "Get all the fields in a hash", "2.0.0", kWholeHash,
    hkeys);
  H("hvals", 2, kR, kReadSlow, "RO access", "Get all the values in a hash", "2.0.0", kWholeHash,
    hvals);
  H("hdel", -3, kWrite | kFast, kWriteFast, "RW delete", "Delete one or more hash fields", "2.0.0",
    "O(N) where N is the number of fields to be removed.", hdel);
  H("hlen", 2, kR | kFast, kReadFast, "RO", "Get the number of fields in a hash", "2.0.0", "O(1)",
    hlen);
  H("hexists", 3, kR | kFast, kReadFast, "RO", "Determine if a hash field exists", "2.0.0", "O(1)",
    hexists);
  H("hstrlen", 3, kR | kFast, kReadFast, "RO", "Get the length of the value of a hash field",
    "3.2.0", "O(1)", hstrlen);
  H("hincrby", 4, kW | kFast, kWriteFast, "RW access update",
    "Increment the integer value of a hash field by the given number", "2.0.0", "O(1)", hincrby);
  H("hincrbyfloat", 4, kW | kFast, kWriteFast, "RW access update",
    "Increment the float value of a hash field by the given amount", "2.6.0", "O(1)", hincrbyfloat);
  H("hrandfield", -2, kR, kReadSlow, "RO access", "Get one or multiple random fields from a hash",
    "6.2.0", "O(N) where N is the number of fields returned", hrandfield);
  H("hscan", -3, kR, kReadSlow, "RO access",
    "Incrementally iterate hash fields and associated values", "2.8.0",
    "O(1) for every call. O(N) for a complete iteration, including enough command calls for the "
    "cursor to return back to 0. N is the number of elements inside the collection..",
    hscan);
}

}  // namespace apiary::resp
