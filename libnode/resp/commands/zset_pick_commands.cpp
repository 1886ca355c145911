// ZRANDMEMBER and ZSCAN, answering as Redis 7.0's t_zset.c does (zset_commands.cpp has the
// rest of the sorted set commands): random picks uniform by rank with the store's seeded
// generator, and scans whose cursor over a zset bigger than a listpack is a member hash.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "apiary/data/collection.hpp"
#include "apiary/resp/server.hpp"
#include "apiary/resp/server_config.hpp"
#include "commands.hpp"
#include "store_access.hpp"
#include "zset_support.hpp"

namespace apiary::resp {
namespace {

using data::Collection;

const Collection* read_key(CommandContext& ctx, bool& replied) {
  return read_zset(ctx, ctx.argv[1], replied);
}

// ---- ZRANDMEMBER ------------------------------------------------------------------------

// Random members of a non-empty zset, uniformly by rank through the score index (O(log n) a
// pick), with the store's seeded generator.
void reply_random_pick(CommandContext& ctx, const data::ScoreIndex::Entry& e, bool withscores,
                       bool nested) {
  if (withscores && nested) ctx.reply.array(2);
  ctx.reply.bulk(e.member);
  if (withscores) ctx.reply.double_value(e.score);
}

// As Redis's zrandmemberWithCountCommand: a negative count may repeat members; a count at
// least the size answers the whole zset; otherwise distinct members.
void reply_random_members(CommandContext& ctx, const Collection& c, store::Store& st,
                          std::int64_t l, bool withscores) {
  const bool nested = withscores && ctx.reply.protocol() > 2;
  const bool distinct = l >= 0;
  const std::uint64_t count =
      distinct ? static_cast<std::uint64_t>(l) : static_cast<std::uint64_t>(-l);
  if (count == 0) {
    ctx.reply.array(0);
    return;
  }
  const std::size_t flat = withscores && !nested ? 2 : 1;
  const data::ScoreOrder index = c.scores();
  const std::size_t size = c.size();
  if (!distinct || count == 1) {
    ctx.reply.array(count * flat);
    const std::int64_t hard = ctx.server.config().output_buffer_limit().hard_bytes;
    for (std::uint64_t i = 0; i < count; ++i) {
      reply_random_pick(ctx, index.at(st.random() % size), withscores, nested);
      if (hard > 0 && ctx.reply.buffer().size() > static_cast<std::size_t>(hard)) break;
    }
    return;
  }
  if (count >= size) {  // the whole zset, highest score first, as Redis lists it
    ctx.reply.array(size * flat);
    for (const auto& e : index.range(size - 1, size, true)) {
      reply_random_pick(ctx, e, withscores, nested);
    }
    return;
  }
  std::vector<std::size_t> chosen;
  if (count * 3 > size) {
    for (std::size_t i = 0; i < size; ++i) chosen.push_back(i);
    while (chosen.size() > count) {
      std::swap(chosen[st.random() % chosen.size()], chosen.back());
      chosen.pop_back();
    }
  } else {
    std::set<std::size_t> seen;
    while (chosen.size() < count) {
      const std::size_t r = st.random() % size;
      if (seen.insert(r).second) chosen.push_back(r);
    }
  }
  ctx.reply.array(chosen.size() * flat);
  for (const std::size_t r : chosen) reply_random_pick(ctx, index.at(r), withscores, nested);
}

// ZRANDMEMBER key [count [WITHSCORES]]: the count and the options are checked before the key.
Outcome zrandmember(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  RandomCount pick;
  if (!parse_random_count(ctx, "WITHSCORES", pick)) return Outcome::done();
  bool replied = false;
  const Collection* c = read_key(ctx, replied);
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
    reply_random_members(ctx, *c, *st, *pick.count, pick.with);
  } else {
    ctx.reply.bulk(c->scores().at(st->random() % c->size()).member);
  }
  return Outcome::done();
}

// ---- ZSCAN ------------------------------------------------------------------------------

// ZSCAN key cursor [MATCH pattern] [COUNT count]: members and scores (as d2string writes
// them). A zset of listpack size answers whole, in score order, with cursor 0, as Redis does.
Outcome zscan(CommandContext& ctx) {
  auto scan = scan_collection(ctx, kZset);
  if (!scan) return Outcome::done();
  std::vector<ScoredMember> items;
  items.reserve(scan->batch.size());
  for (const data::ElementView e : scan->batch) {
    items.push_back(ScoredMember{Collection::score_of(e), std::string(e.name())});
  }
  if (collection_encoding(*scan->collection) == "listpack") {
    std::sort(items.begin(), items.end(), score_less);
  }
  ctx.reply.array(2);
  ctx.reply.bulk(std::to_string(scan->next));
  ctx.reply.array(items.size() * 2);
  for (const auto& item : items) {
    ctx.reply.bulk(item.member);
    ctx.reply.bulk(score_string(item.score));
  }
  return Outcome::done();
}

}  // namespace

void register_zset_pick_commands(CommandTable& t) {
  const auto Z = [&](const char* name, int arity, std::uint32_t flags, int first, int last,
                     std::string_view acl, std::string_view key_flags, std::string_view summary,
                     std::string_view since, std::string_view complexity, CommandHandler h) {
    t.add(make_spec({name, arity, flags, first, last, 1, acl, key_flags, "sorted_set", summary,
                     since, complexity, h}));
  };
  constexpr std::uint32_t kR = kReadonly;
  constexpr std::string_view kReadSlow = "@read @sortedset @slow";
  Z("zrandmember", -2, kR, 1, 1, kReadSlow, "RO access",
    "Get one or multiple random elements from a sorted set", "6.2.0",
    "O(N) where N is the number of elements returned", zrandmember);
  Z("zscan", -3, kR, 1, 1, kReadSlow, "RO access",
    "Incrementally iterate sorted sets elements and associated scores", "2.8.0",
    "O(1) for every call. O(N) for a complete iteration, including enough command calls for the "
    "cursor to return back to 0. N is the number of elements inside the collection..",
    zscan);
}

}  // namespace apiary::resp
