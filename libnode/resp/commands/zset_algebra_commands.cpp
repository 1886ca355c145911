// Sorted set algebra: ZUNION, ZINTER, ZDIFF (numkeys key [key ...] [WEIGHTS w ...]
// [AGGREGATE SUM|MIN|MAX] [WITHSCORES]), their STORE forms, and ZINTERCARD, answering as
// Redis 7.0's zunionInterDiffGenericCommand does: the key count checked first, then every
// key's type (a set counts as a zset whose members all score 1), then the options; a product
// or sum that is NaN (0 * inf, inf + -inf) counts as 0. Keys are in one partition (hash tags)
// or the command is refused with CROSSSLOT before it gets here, as for the set algebra.
//
// The inputs are copied out of the store (a read pointer lasts only until the next store
// call), so a destination may also be a source.
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <string>
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
using store::KeyType;

enum class ZOp : unsigned char { unite, inter, diff };
enum class Aggregate : unsigned char { sum, min, max };

// One input: member -> score, and its weight.
struct Input {
  std::map<std::string, double, std::less<>> members;
  double weight = 1;
};

void aggregate(double& target, double value, Aggregate how) {
  switch (how) {
    case Aggregate::sum:
      target += value;
      if (std::isnan(target)) target = 0;
      break;
    case Aggregate::min:
      target = value < target ? value : target;
      break;
    case Aggregate::max:
      target = value > target ? value : target;
      break;
  }
}

double weighted(double score, double weight) {
  const double v = score * weight;
  return std::isnan(v) ? 0 : v;
}

// The inputs' members, read once every key's type is known to fit.
bool read_inputs(CommandContext& ctx, std::span<const std::string_view> keys,
                 std::vector<Input>& inputs) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return false;
  inputs.assign(keys.size(), Input{});
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const KeyType t = st->type(keys[i], ctx.wall);
    if (t != KeyType::none && t != KeyType::zset && t != KeyType::set) {
      ctx.reply.error(kWrongType);
      return false;
    }
    if (t == KeyType::none) notify_keymiss(ctx, keys[i]);
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const KeyType t = st->type(keys[i], ctx.wall);
    if (t == KeyType::none) continue;
    bool wrong = false;
    const Collection* c = st->read_collection(keys[i], store::collection_kind(t), ctx.wall, wrong);
    if (c == nullptr) continue;
    for (const data::ElementView e : *c) {
      inputs[i].members.emplace(std::string(e.name()),
                                t == KeyType::zset ? Collection::score_of(e) : 1.0);
    }
  }
  return true;
}

// The result, in zset order, at most `limit` members for an intersection (0: no limit).
std::vector<ScoredMember> compute(std::vector<Input> inputs, ZOp op, Aggregate how,
                                  std::size_t limit) {
  std::map<std::string, double, std::less<>> out;
  if (op == ZOp::diff) {
    for (const auto& [member, score] : inputs[0].members) {
      bool elsewhere = false;
      for (std::size_t j = 1; j < inputs.size() && !elsewhere; ++j) {
        elsewhere = inputs[j].members.contains(member);
      }
      if (!elsewhere) out.emplace(member, score);
    }
  } else {
    // Smallest first, as Redis sorts its inputs (the order sums are taken in).
    std::stable_sort(inputs.begin(), inputs.end(), [](const Input& a, const Input& b) {
      return a.members.size() < b.members.size();
    });
    if (op == ZOp::inter) {
      for (const auto& [member, score] : inputs[0].members) {
        double total = weighted(score, inputs[0].weight);
        bool everywhere = true;
        for (std::size_t j = 1; j < inputs.size() && everywhere; ++j) {
          const auto it = inputs[j].members.find(member);
          everywhere = it != inputs[j].members.end();
          if (everywhere) aggregate(total, weighted(it->second, inputs[j].weight), how);
        }
        if (!everywhere) continue;
        out.emplace(member, total);
        if (limit != 0 && out.size() >= limit) break;
      }
    } else {
      for (const auto& input : inputs) {
        for (const auto& [member, score] : input.members) {
          const double v = weighted(score, input.weight);
          auto [it, fresh] = out.emplace(member, v);
          if (!fresh) aggregate(it->second, v, how);
        }
      }
    }
  }
  std::vector<ScoredMember> result;
  result.reserve(out.size());
  for (auto& [member, score] : out) result.push_back(ScoredMember{score, member});
  std::sort(result.begin(), result.end(), score_less);
  return result;
}

// zunionInterDiffGenericCommand. `dst`: the STORE forms (argv[1]); `card`: ZINTERCARD.
Outcome zalgebra(CommandContext& ctx, ZOp op, bool store, bool card) {
  const std::size_t numkeys_at = store ? 2 : 1;
  const auto numkeys = to_int(ctx.argv[numkeys_at]);
  if (!numkeys) {
    ctx.reply.error(kNotInteger);
    return Outcome::done();
  }
  if (*numkeys < 1) {
    ctx.reply.error("at least 1 input key is needed for '" + to_lower(ctx.argv[0]) + "' command");
    return Outcome::done();
  }
  if (static_cast<std::uint64_t>(*numkeys) > ctx.argv.size() - numkeys_at - 1) {
    ctx.reply.error(kSyntaxError);
    return Outcome::done();
  }
  const auto n = static_cast<std::size_t>(*numkeys);
  std::vector<Input> inputs;
  if (!read_inputs(ctx, ctx.argv.subspan(numkeys_at + 1, n), inputs)) return Outcome::done();
  Aggregate how = Aggregate::sum;
  bool withscores = false;
  std::int64_t limit = 0;
  for (std::size_t j = numkeys_at + 1 + n; j < ctx.argv.size();) {
    const std::size_t remaining = ctx.argv.size() - j;
    const std::string_view a = ctx.argv[j];
    if (op != ZOp::diff && !card && remaining >= n + 1 && iequals(a, "weights")) {
      ++j;
      for (std::size_t i = 0; i < n; ++i, ++j) {
        if (!parse_score(ctx.argv[j], inputs[i].weight)) {
          ctx.reply.error("weight value is not a float");
          return Outcome::done();
        }
      }
    } else if (op != ZOp::diff && !card && remaining >= 2 && iequals(a, "aggregate")) {
      const std::string_view how_name = ctx.argv[j + 1];
      if (iequals(how_name, "sum")) {
        how = Aggregate::sum;
      } else if (iequals(how_name, "min")) {
        how = Aggregate::min;
      } else if (iequals(how_name, "max")) {
        how = Aggregate::max;
      } else {
        ctx.reply.error(kSyntaxError);
        return Outcome::done();
      }
      j += 2;
    } else if (!store && !card && iequals(a, "withscores")) {
      withscores = true;
      ++j;
    } else if (card && remaining >= 2 && iequals(a, "limit")) {
      const auto l = to_int(ctx.argv[j + 1]);
      if (!l || *l < 0) {
        ctx.reply.error("LIMIT can't be negative");
        return Outcome::done();
      }
      limit = *l;
      j += 2;
    } else {
      ctx.reply.error(kSyntaxError);
      return Outcome::done();
    }
  }
  const std::vector<ScoredMember> result =
      compute(std::move(inputs), op, how, static_cast<std::size_t>(limit));
  if (card) {
    ctx.reply.integer(static_cast<std::int64_t>(result.size()));
  } else if (store) {
    const std::string_view event = op == ZOp::unite   ? "zunionstore"
                                   : op == ZOp::inter ? "zinterstore"
                                                      : "zdiffstore";
    if (store_zset(ctx, ctx.argv[1], result, event)) {
      ctx.reply.integer(static_cast<std::int64_t>(result.size()));
    }
  } else {
    reply_scored(ctx, result, withscores);
  }
  return Outcome::done();
}

Outcome zunion(CommandContext& ctx) { return zalgebra(ctx, ZOp::unite, false, false); }
Outcome zinter(CommandContext& ctx) { return zalgebra(ctx, ZOp::inter, false, false); }
Outcome zdiff(CommandContext& ctx) { return zalgebra(ctx, ZOp::diff, false, false); }
Outcome zunionstore(CommandContext& ctx) { return zalgebra(ctx, ZOp::unite, true, false); }
Outcome zinterstore(CommandContext& ctx) { return zalgebra(ctx, ZOp::inter, true, false); }
Outcome zdiffstore(CommandContext& ctx) { return zalgebra(ctx, ZOp::diff, true, false); }
Outcome zintercard(CommandContext& ctx) { return zalgebra(ctx, ZOp::inter, false, true); }

}  // namespace

void register_zset_algebra_commands(CommandTable& t) {
  // Keys counted by numkeys (numkeys_index); the STORE forms' destination is their legacy
  // key range 1 1 1 and is routed with the sources (command_keys).
  const auto Z = [&](const char* name, int arity, std::uint32_t flags, int first,
                     std::string_view acl, std::string_view key_flags, std::string_view summary,
                     std::string_view since, std::string_view complexity, CommandHandler h,
                     int numkeys_index) {
    t.add(make_spec({name, arity, flags | kMovableKeys, first, first, first, acl, key_flags,
                     "sorted_set", summary, since, complexity, h, numkeys_index}));
  };
  constexpr std::string_view kReadAcl = "@read @sortedset @slow";
  constexpr std::string_view kWriteAcl = "@write @sortedset @slow";
  constexpr std::string_view kUnionCost =
      "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being "
      "the number of elements in the resulting sorted set.";
  constexpr std::string_view kInterCost =
      "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the "
      "number of input sorted sets and M being the number of elements in the resulting sorted "
      "set.";
  constexpr std::string_view kDiffCost =
      "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N "
      "is the size of the first set, and K is the size of the result set.";
  Z("zunion", -3, kReadonly, 0, kReadAcl, "RO access", "Add multiple sorted sets", "6.2.0",
    kUnionCost, zunion, 1);
  Z("zinter", -3, kReadonly, 0, kReadAcl, "RO access", "Intersect multiple sorted sets", "6.2.0",
    kInterCost, zinter, 1);
  Z("zdiff", -3, kReadonly, 0, kReadAcl, "RO access", "Subtract multiple sorted sets", "6.2.0",
    kDiffCost, zdiff, 1);
  Z("zunionstore", -4, kWrite | kDenyOom, 1, kWriteAcl, "OW update",
    "Add multiple sorted sets and store the resulting sorted set in a new key", "2.0.0", kUnionCost,
    zunionstore, 2);
  Z("zinterstore", -4, kWrite | kDenyOom, 1, kWriteAcl, "OW update",
    "Intersect multiple sorted sets and store the resulting sorted set in a new key", "2.0.0",
    kInterCost, zinterstore, 2);
  Z("zdiffstore", -4, kWrite | kDenyOom, 1, kWriteAcl, "OW update",
    "Subtract multiple sorted sets and store the resulting sorted set in a new key", "6.2.0",
    kDiffCost, zdiffstore, 2);
  Z("zintercard", -3, kReadonly, 0, kReadAcl, "RO access",
    "Intersect multiple sorted sets and return the cardinality of the result", "7.0.0",
    "O(N*K) worst case with N being the smallest input sorted set, K being the number of input "
    "sorted sets.",
    zintercard, 1);
}

}  // namespace apiary::resp
