// Sorted set pops: ZPOPMIN/ZPOPMAX, ZMPOP, and the blocking forms BZPOPMIN/BZPOPMAX and
// BZMPOP, answering as Redis 7.0's t_zset.c (genericZpopCommand, zmpopGenericCommand,
// blockingGenericZpopCommand) does: the same reply shapes in RESP2 and RESP3, the same error
// texts, the arguments checked in the same order.
//
// A blocking pop that finds a member pops exactly as its non-blocking form. One that finds
// none (every key missing) changes nothing, writes the null its client gets if the timeout
// passes, and returns Outcome::blocked: the cluster layer parks it at the keys' coordinator
// and runs it again when one of its keys is written (resp/command.hpp).
#include <algorithm>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/data/collection.hpp"
#include "apiary/resp/server.hpp"
#include "commands.hpp"
#include "keyspace_notify.hpp"
#include "store_access.hpp"
#include "zset_support.hpp"

namespace apiary::resp {
namespace {

using data::Collection;

enum class End : unsigned char { min, max };

// How a pop's reply is laid out, Redis's (emitkey, use_nested_array) pair.
enum class Shape : unsigned char {
  flat,          // ZPOPMIN/ZPOPMAX: [member, score, ...]; RESP3 pairs when a count was given
  keyed_flat,    // BZPOPMIN/BZPOPMAX: [key, member, score]
  keyed_nested,  // ZMPOP/BZMPOP: [key, [[member, score], ...]]
};

// Pops up to `count` members from the `end` of `key`'s zset (present and not empty) and
// replies in `shape`. False after replying an error (the write was refused).
bool pop_and_reply(CommandContext& ctx, std::string_view key, const Collection& zset, End end,
                   std::uint64_t count, Shape shape, bool pairs) {
  const std::size_t n = std::min<std::uint64_t>(count, zset.size());
  const bool max = end == End::max;
  std::vector<ScoredMember> popped;
  popped.reserve(n);
  for (const auto& e : zset.scores().range(max ? zset.size() - 1 : 0, n, max)) {
    popped.push_back(ScoredMember{e.score, std::string(e.member)});
  }
  // `zset` points into the store: it is not read after the edit.
  const bool ok = edit_and_notify(ctx, key, kZset, kNotifyZset, max ? "zpopmax" : "zpopmin",
                                  [&](store::Store::CollectionEdit& e) {
                                    for (const auto& m : popped) e.collection.remove(m.member);
                                    return true;
                                  });
  if (!ok) return false;
  switch (shape) {
    case Shape::flat:
      ctx.reply.array(popped.size() * (pairs ? 1 : 2));
      break;
    case Shape::keyed_flat:
      ctx.reply.array(popped.size() * 2 + 1);
      ctx.reply.bulk(key);
      break;
    case Shape::keyed_nested:
      ctx.reply.array(2);
      ctx.reply.bulk(key);
      ctx.reply.array(popped.size());
      break;
  }
  for (const auto& m : popped) {
    if (pairs || shape == Shape::keyed_nested) ctx.reply.array(2);
    ctx.reply.bulk(m.member);
    ctx.reply.double_value(m.score);
  }
  return true;
}

// The first of `keys` that holds a zset, as Redis looks them up: a missing key is skipped,
// WRONGTYPE on the first key of another type. Sets `replied` after an error.
struct Candidate {
  std::string_view key;
  const Collection* zset = nullptr;
};
std::optional<Candidate> first_zset(CommandContext& ctx, std::span<const std::string_view> keys,
                                    bool& replied) {
  for (std::string_view key : keys) {
    const Collection* c = read_zset(ctx, key, replied, false);
    if (replied) return std::nullopt;
    if (c != nullptr && c->size() > 0) return Candidate{key, c};
  }
  return std::nullopt;
}

// ZPOPMIN/ZPOPMAX key [count]: a count must be a non-negative integer, checked before the
// key; with a count, RESP3 pairs each member with its score.
Outcome zpop(CommandContext& ctx, End end) {
  if (ctx.argv.size() > 3) {
    ctx.reply.error(kSyntaxError);
    return Outcome::done();
  }
  std::int64_t count = 1;
  const bool has_count = ctx.argv.size() == 3;
  if (has_count) {
    const auto n = to_int(ctx.argv[2]);
    if (!n || *n < 0) {  // Redis's getPositiveLongFromObjectOrReply: one text for both
      ctx.reply.error("value is out of range, must be positive");
      return Outcome::done();
    }
    if (*n == 0) {
      ctx.reply.array(0);
      return Outcome::done();
    }
    count = *n;
  }
  bool replied = false;
  const Collection* c = read_zset(ctx, ctx.argv[1], replied, false);
  if (replied) return Outcome::done();
  // Without a count the reply is [member, score] even in RESP3.
  const bool pairs = has_count && ctx.reply.protocol() > 2;
  if (c == nullptr || c->size() == 0) {
    ctx.reply.array(0);
    return Outcome::done();
  }
  pop_and_reply(ctx, ctx.argv[1], *c, end, static_cast<std::uint64_t>(count), Shape::flat, pairs);
  return Outcome::done();
}
Outcome zpopmin(CommandContext& ctx) { return zpop(ctx, End::min); }
Outcome zpopmax(CommandContext& ctx) { return zpop(ctx, End::max); }

// BZPOPMIN/BZPOPMAX key [key ...] timeout: the timeout first, then the keys in order.
Outcome bzpop(CommandContext& ctx, End end) {
  Duration timeout{};
  if (!parse_block_timeout(ctx.reply, ctx.argv.back(), timeout)) return Outcome::done();
  bool replied = false;
  const auto found = first_zset(ctx, ctx.argv.subspan(1, ctx.argv.size() - 2), replied);
  if (replied) return Outcome::done();
  if (found) {
    pop_and_reply(ctx, found->key, *found->zset, end, 1, Shape::keyed_flat, false);
    return Outcome::done();
  }
  ctx.reply.null_array();
  return Outcome::blocked(timeout);
}
Outcome bzpopmin(CommandContext& ctx) { return bzpop(ctx, End::min); }
Outcome bzpopmax(CommandContext& ctx) { return bzpop(ctx, End::max); }

// What follows numkeys in ZMPOP and BZMPOP: the keys, MIN|MAX, [COUNT count].
struct MpopArgs {
  std::span<const std::string_view> keys;
  End end = End::min;
  std::uint64_t count = 1;
};

// Redis's getRangeLongFromObjectOrReply(1, LONG_MAX): one text for "not a number" and "< 1".
std::optional<std::uint64_t> positive(CommandContext& ctx, std::string_view arg,
                                      std::string_view error) {
  const auto n = to_int(arg);
  if (!n || *n < 1) {
    ctx.reply.error(error);
    return std::nullopt;
  }
  return static_cast<std::uint64_t>(*n);
}

// As zmpopGenericCommand: numkeys, then MIN|MAX, then COUNT (once). False after an error.
bool parse_mpop(CommandContext& ctx, std::size_t numkeys_at, MpopArgs& out) {
  const auto numkeys = positive(ctx, ctx.argv[numkeys_at], "numkeys should be greater than 0");
  if (!numkeys) return false;
  const std::size_t rest = ctx.argv.size() - numkeys_at - 1;
  if (*numkeys >= rest) {  // no room for MIN|MAX
    ctx.reply.error(kSyntaxError);
    return false;
  }
  const auto n = static_cast<std::size_t>(*numkeys);
  out.keys = ctx.argv.subspan(numkeys_at + 1, n);
  const std::string_view where = ctx.argv[numkeys_at + 1 + n];
  if (iequals(where, "min")) {
    out.end = End::min;
  } else if (iequals(where, "max")) {
    out.end = End::max;
  } else {
    ctx.reply.error(kSyntaxError);
    return false;
  }
  bool counted = false;
  for (std::size_t j = numkeys_at + 2 + n; j < ctx.argv.size(); ++j) {
    if (counted || !iequals(ctx.argv[j], "count") || j + 1 == ctx.argv.size()) {
      ctx.reply.error(kSyntaxError);
      return false;
    }
    const auto count = positive(ctx, ctx.argv[++j], "count should be greater than 0");
    if (!count) return false;
    out.count = *count;
    counted = true;
  }
  return true;
}

// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count] and BZMPOP timeout numkeys ...: the
// timeout is read after the other arguments, as Redis reads it.
Outcome mpop(CommandContext& ctx, bool blocking) {
  MpopArgs args;
  if (!parse_mpop(ctx, blocking ? 2 : 1, args)) return Outcome::done();
  Duration timeout{};
  if (blocking && !parse_block_timeout(ctx.reply, ctx.argv[1], timeout)) {
    return Outcome::done();
  }
  bool replied = false;
  const auto found = first_zset(ctx, args.keys, replied);
  if (replied) return Outcome::done();
  if (found) {
    pop_and_reply(ctx, found->key, *found->zset, args.end, args.count, Shape::keyed_nested, false);
    return Outcome::done();
  }
  ctx.reply.null_array();
  return blocking ? Outcome::blocked(timeout) : Outcome::done();
}
Outcome zmpop(CommandContext& ctx) { return mpop(ctx, false); }
Outcome bzmpop(CommandContext& ctx) { return mpop(ctx, true); }

}  // namespace

void register_zset_pop_commands(CommandTable& t) {
  const auto Z = [&](const char* name, int arity, std::uint32_t flags, int first, int last,
                     std::string_view acl, std::string_view summary, std::string_view since,
                     std::string_view complexity, CommandHandler h, int numkeys_index) {
    const int step = first > 0 ? 1 : 0;  // COMMAND INFO's 0 0 0 for movable keys
    t.add(make_spec({name, arity, flags, first, last, step, acl, "RW access delete", "sorted_set",
                     summary, since, complexity, h, numkeys_index}));
  };
  constexpr std::string_view kPopCost =
      "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number "
      "of elements popped.";
  constexpr std::string_view kMpopCost =
      "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements "
      "in the sorted set, and M being the number of elements popped.";
  constexpr std::string_view kBlockingPopCost =
      "O(log(N)) with N being the number of elements in the sorted set.";
  Z("zpopmin", -2, kWrite | kFast, 1, 1, "@write @sortedset @fast",
    "Remove and return members with the lowest scores in a sorted set", "5.0.0", kPopCost, zpopmin,
    0);
  Z("zpopmax", -2, kWrite | kFast, 1, 1, "@write @sortedset @fast",
    "Remove and return members with the highest scores in a sorted set", "5.0.0", kPopCost, zpopmax,
    0);
  Z("bzpopmin", -3, kWrite | kNoScript | kBlocking | kFast, 1, -2,
    "@write @sortedset @fast @blocking",
    "Remove and return the member with the lowest score from one or more sorted sets, or block "
    "until one is available",
    "5.0.0", kBlockingPopCost, bzpopmin, 0);
  Z("bzpopmax", -3, kWrite | kNoScript | kBlocking | kFast, 1, -2,
    "@write @sortedset @fast @blocking",
    "Remove and return the member with the highest score from one or more sorted sets, or block "
    "until one is available",
    "5.0.0", kBlockingPopCost, bzpopmax, 0);
  // Keys counted by numkeys (numkeys_index), as ZINTERCARD's.
  Z("zmpop", -4, kWrite | kMovableKeys, 0, 0, "@write @sortedset @slow",
    "Remove and return members with scores in a sorted set", "7.0.0", kMpopCost, zmpop, 1);
  Z("bzmpop", -5, kWrite | kBlocking | kMovableKeys, 0, 0, "@write @sortedset @slow @blocking",
    "Remove and return members with scores in a sorted set or block until one is available",
    "7.0.0", kMpopCost, bzmpop, 2);
}

}  // namespace apiary::resp
