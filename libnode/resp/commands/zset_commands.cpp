// Sorted set commands: ZADD, ZINCRBY, ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK/ZREVRANK, ZCOUNT,
// ZLEXCOUNT, the ZRANGE family (ZRANGE, ZRANGESTORE, ZRANGEBYSCORE, ZREVRANGEBYSCORE,
// ZRANGEBYLEX, ZREVRANGEBYLEX, ZREVRANGE) and ZREMRANGEBYRANK/BYSCORE/BYLEX, answering as
// Redis 7.0's t_zset.c does: the same replies in RESP2 and RESP3 (RESP3 doubles for scores,
// WITHSCORES as pairs), the same error texts, the arguments checked in the same order.
// ZRANK/ZREVRANK also take 7.2's WITHSCORE. The set algebra (ZUNION, ZINTER, ZDIFF, their STORE
// forms, ZINTERCARD) is in zset_algebra_commands.cpp, ZRANDMEMBER and ZSCAN in
// zset_pick_commands.cpp, the pops (ZPOPMIN/ZPOPMAX, ZMPOP and the blocking pops) in
// zset_pop_commands.cpp.
//
// A zset is a data::Collection of kind zset with its score order (Collection::scores(),
// data/score_index.hpp): ranks, counts and range starts are O(log n) above 128 members. Scores are
// doubles, formatted as Redis 7.0 does (%.17g, "inf", "-inf"); a score of -0 is kept as 0.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "apiary/data/collection.hpp"
#include "apiary/resp/server.hpp"
#include "apiary/resp/server_config.hpp"
#include "commands.hpp"
#include "keyspace_notify.hpp"
#include "store_access.hpp"
#include "zset_support.hpp"

namespace apiary::resp {

namespace {

using data::Collection;

// `keymiss`: false for the writes, which look the key up as Redis's lookupKeyWrite does.
const Collection* read_key(CommandContext& ctx, bool& replied, bool keymiss = true) {
  return read_zset(ctx, ctx.argv[1], replied, keymiss);
}

std::vector<ScoredMember> copy_entries(std::span<const data::ScoreIndex::Entry> entries) {
  std::vector<ScoredMember> out;
  out.reserve(entries.size());
  for (const auto& e : entries) out.push_back(ScoredMember{e.score, std::string(e.member)});
  return out;
}

// ---- ZADD, ZINCRBY, ZREM ----------------------------------------------------------------

struct ZaddFlags {
  bool nx = false, xx = false, gt = false, lt = false, ch = false, incr = false;
};

// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...], and ZINCRBY key
// increment member (ZADD INCR without flags). Scores are all parsed before the key is looked
// at. A member whose score does not change is not written (Redis neither counts nor
// notifies it); ZINCRBY writes a counter version, so concurrent increments add up.
Outcome zadd_common(CommandContext& ctx, bool zincrby) {
  ZaddFlags f;
  std::size_t at = 2;
  if (zincrby) {
    f.incr = true;
  } else {
    for (; at < ctx.argv.size(); ++at) {
      const std::string_view a = ctx.argv[at];
      if (iequals(a, "nx")) {
        f.nx = true;
      } else if (iequals(a, "xx")) {
        f.xx = true;
      } else if (iequals(a, "ch")) {
        f.ch = true;
      } else if (iequals(a, "incr")) {
        f.incr = true;
      } else if (iequals(a, "gt")) {
        f.gt = true;
      } else if (iequals(a, "lt")) {
        f.lt = true;
      } else {
        break;
      }
    }
  }
  const std::size_t elements = ctx.argv.size() - at;
  if (elements == 0 || elements % 2 != 0) {
    ctx.reply.error(kSyntaxError);
    return Outcome::done();
  }
  if (f.nx && f.xx) {
    ctx.reply.error("XX and NX options at the same time are not compatible");
    return Outcome::done();
  }
  if ((f.gt && f.nx) || (f.lt && f.nx) || (f.gt && f.lt)) {
    ctx.reply.error("GT, LT, and/or NX options at the same time are not compatible");
    return Outcome::done();
  }
  if (f.incr && elements > 2) {
    ctx.reply.error("INCR option supports a single increment-element pair");
    return Outcome::done();
  }
  std::vector<double> scores(elements / 2);
  for (std::size_t j = 0; j < scores.size(); ++j) {
    if (!parse_score(ctx.argv[at + 2 * j], scores[j])) {
      ctx.reply.error(kNotFloat);
      return Outcome::done();
    }
  }
  std::int64_t added = 0, updated = 0, processed = 0;
  double last_score = 0;
  bool nan = false;
  bool replied = false;
  const Collection* existing = read_key(ctx, replied, false);
  if (replied) return Outcome::done();
  if (existing != nullptr || !f.xx) {
    const std::string_view event = f.incr ? "zincr" : "zadd";
    const bool ok = edit_and_notify(
        ctx, ctx.argv[1], kZset, kNotifyZset, event, [&](store::Store::CollectionEdit& e) {
          for (std::size_t j = 0; j < scores.size(); ++j) {
            const std::string_view member = ctx.argv[at + 2 * j + 1];
            double score = scores[j];
            const std::optional<double> current = e.collection.score(member);
            if (current) {
              if (f.nx) continue;
              if (f.incr) {
                score += *current;
                if (std::isnan(score)) {
                  nan = true;
                  return added + updated > 0;
                }
              }
              if ((f.lt && score >= *current) || (f.gt && score <= *current)) continue;
              ++processed;
              last_score = score + 0.0;
              if (score == *current) continue;
              if (f.incr) {
                double sum = 0;
                (void)e.collection.incr_score(member, scores[j], e.dot, e.stamp, sum);
              } else {
                e.collection.set(member, Collection::score_text(score + 0.0), e.dot, e.stamp);
              }
              ++updated;
            } else {
              if (f.xx) continue;
              double sum = score + 0.0;
              if (f.incr) {
                (void)e.collection.incr_score(member, score, e.dot, e.stamp, sum);
              } else {
                e.collection.set(member, Collection::score_text(sum), e.dot, e.stamp);
              }
              last_score = sum + 0.0;
              ++added;
              ++processed;
            }
          }
          return added + updated > 0;
        });
    if (!ok) return Outcome::done();
  }
  if (nan) {
    ctx.reply.error("resulting score is not a number (NaN)");
  } else if (f.incr) {
    if (processed > 0) {
      ctx.reply.double_value(last_score);
    } else {
      ctx.reply.null();
    }
  } else {
    ctx.reply.integer(f.ch ? added + updated : added);
  }
  return Outcome::done();
}
Outcome zadd(CommandContext& ctx) { return zadd_common(ctx, false); }
Outcome zincrby(CommandContext& ctx) { return zadd_common(ctx, true); }

Outcome zrem(CommandContext& ctx) {
  bool replied = false;
  const Collection* c = read_key(ctx, replied, false);
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
  const bool ok = edit_and_notify(ctx, ctx.argv[1], kZset, kNotifyZset, "zrem",
                                  [&](store::Store::CollectionEdit& e) {
                                    for (std::size_t i = 2; i < ctx.argv.size(); ++i) {
                                      if (e.collection.remove(ctx.argv[i])) ++removed;
                                    }
                                    return removed > 0;
                                  });
  if (ok) ctx.reply.integer(removed);
  return Outcome::done();
}

// ---- point reads ------------------------------------------------------------------------

Outcome zcard(CommandContext& ctx) {
  bool replied = false;
  const Collection* c = read_key(ctx, replied);
  if (!replied) ctx.reply.integer(c == nullptr ? 0 : static_cast<std::int64_t>(c->size()));
  return Outcome::done();
}

Outcome zscore(CommandContext& ctx) {
  bool replied = false;
  const Collection* c = read_key(ctx, replied);
  if (replied) return Outcome::done();
  const auto s = c == nullptr ? std::nullopt : c->score(ctx.argv[2]);
  if (s) {
    ctx.reply.double_value(*s);
  } else {
    ctx.reply.null();
  }
  return Outcome::done();
}

Outcome zmscore(CommandContext& ctx) {
  bool replied = false;
  const Collection* c = read_key(ctx, replied);
  if (replied) return Outcome::done();
  ctx.reply.array(ctx.argv.size() - 2);
  for (std::size_t i = 2; i < ctx.argv.size(); ++i) {
    const auto s = c == nullptr ? std::nullopt : c->score(ctx.argv[i]);
    if (s) {
      ctx.reply.double_value(*s);
    } else {
      ctx.reply.null();
    }
  }
  return Outcome::done();
}

// ZRANK/ZREVRANK key member [WITHSCORE] (WITHSCORE as Redis 7.2: [rank, score], a null array
// when the member is missing). O(log n).
Outcome zrank_common(CommandContext& ctx, bool reverse) {
  if (ctx.argv.size() > 4 || (ctx.argv.size() == 4 && !iequals(ctx.argv[3], "withscore"))) {
    ctx.reply.error(kSyntaxError);
    return Outcome::done();
  }
  const bool withscore = ctx.argv.size() == 4;
  bool replied = false;
  const Collection* c = read_key(ctx, replied);
  if (replied) return Outcome::done();
  const auto s = c == nullptr ? std::nullopt : c->score(ctx.argv[2]);
  if (!s) {
    if (withscore) {
      ctx.reply.null_array();
    } else {
      ctx.reply.null();
    }
    return Outcome::done();
  }
  std::size_t rank = c->scores().rank(*s, ctx.argv[2]);
  if (reverse) rank = c->size() - 1 - rank;
  if (withscore) ctx.reply.array(2);
  ctx.reply.integer(static_cast<std::int64_t>(rank));
  if (withscore) ctx.reply.double_value(*s);
  return Outcome::done();
}
Outcome zrank(CommandContext& ctx) { return zrank_common(ctx, false); }
Outcome zrevrank(CommandContext& ctx) { return zrank_common(ctx, true); }

// ---- ranges -----------------------------------------------------------------------------

// zslParseRange: "(" makes a bound exclusive; the rest goes through strtod as a C string, so
// an empty bound is 0 and trailing bytes or NaN are refused.
bool parse_score_bound(std::string_view arg, double& value, bool& exclusive) {
  std::string text(arg);
  const char* p = text.c_str();
  exclusive = false;
  if (*p == '(') {
    exclusive = true;
    ++p;
  }
  char* end = nullptr;
  value = std::strtod(p, &end);
  return *end == '\0' && !std::isnan(value);
}

struct ScoreRange {
  double min = 0, max = 0;
  bool minex = false, maxex = false;
};
bool parse_score_range(std::string_view min, std::string_view max, ScoreRange& r) {
  return parse_score_bound(min, r.min, r.minex) && parse_score_bound(max, r.max, r.maxex);
}

// zslParseLexRangeItem: "+" and "-" alone, or "(" / "[" and the member.
struct LexBound {
  enum class Kind : unsigned char { minus, plus, member } kind = Kind::member;
  bool exclusive = false;
  std::string member;
};
bool parse_lex_bound(std::string_view arg, LexBound& b) {
  if (arg.empty()) return false;
  const std::string text(arg);
  switch (text[0]) {
    case '+':
    case '-':
      if (text.c_str()[1] != '\0') return false;
      b.kind = text[0] == '+' ? LexBound::Kind::plus : LexBound::Kind::minus;
      b.exclusive = true;
      return true;
    case '(':
    case '[':
      b.kind = LexBound::Kind::member;
      b.exclusive = text[0] == '(';
      b.member = std::string(arg.substr(1));
      return true;
    default:
      return false;
  }
}
struct LexRange {
  LexBound min, max;
};
bool parse_lex_range(std::string_view min, std::string_view max, LexRange& r) {
  return parse_lex_bound(min, r.min) && parse_lex_bound(max, r.max);
}

// Ascending ranks [first, end) of the members in a range.
struct RankSpan {
  std::size_t first = 0, end = 0;
  std::size_t size() const { return end > first ? end - first : 0; }
};
RankSpan ranks_of(const Collection& c, const ScoreRange& r) {
  const data::ScoreOrder index = c.scores();
  return RankSpan{index.count_below(r.min, r.minex), index.count_below(r.max, !r.maxex)};
}
std::size_t lex_position(const data::ScoreOrder& index, const LexBound& b, bool as_min) {
  switch (b.kind) {
    case LexBound::Kind::minus:
      return 0;
    case LexBound::Kind::plus:
      return index.size();
    case LexBound::Kind::member:
      break;
  }
  return index.count_member_below(b.member, as_min == b.exclusive);
}
RankSpan ranks_of(const Collection& c, const LexRange& r) {
  const data::ScoreOrder index = c.scores();
  return RankSpan{lex_position(index, r.min, true), lex_position(index, r.max, false)};
}

Outcome zcount(CommandContext& ctx) {
  ScoreRange r;
  if (!parse_score_range(ctx.argv[2], ctx.argv[3], r)) {
    ctx.reply.error("min or max is not a float");
    return Outcome::done();
  }
  bool replied = false;
  const Collection* c = read_key(ctx, replied);
  if (replied) return Outcome::done();
  ctx.reply.integer(c == nullptr ? 0 : static_cast<std::int64_t>(ranks_of(*c, r).size()));
  return Outcome::done();
}

Outcome zlexcount(CommandContext& ctx) {
  LexRange r;
  if (!parse_lex_range(ctx.argv[2], ctx.argv[3], r)) {
    ctx.reply.error("min or max not valid string range item");
    return Outcome::done();
  }
  bool replied = false;
  const Collection* c = read_key(ctx, replied);
  if (replied) return Outcome::done();
  ctx.reply.integer(c == nullptr ? 0 : static_cast<std::int64_t>(ranks_of(*c, r).size()));
  return Outcome::done();
}

enum class RangeType : unsigned char { automatic, rank, score, lex };
enum class Direction : unsigned char { automatic, forward, reverse };

// Redis's start/end sanitizing of a rank range over `n` members: [first, end) ascending.
std::optional<RankSpan> rank_span(std::int64_t start, std::int64_t stop, std::size_t n) {
  const auto len = static_cast<std::int64_t>(n);
  if (start < 0) start += len;
  if (stop < 0) stop += len;
  if (start < 0) start = 0;
  if (start > stop || start >= len) return std::nullopt;
  if (stop >= len) stop = len - 1;
  return RankSpan{static_cast<std::size_t>(start), static_cast<std::size_t>(stop) + 1};
}

// The members at ascending ranks `span`, walked forward or backward, after skipping `offset`
// and keeping at most `limit` (negative: all), as genericZrangebyscoreCommand does.
std::vector<ScoredMember> take(const Collection& c, RankSpan span, bool reverse,
                               std::int64_t offset, std::int64_t limit) {
  if (offset < 0 || span.size() == 0) return {};
  if (offset > 0 && static_cast<std::uint64_t>(offset) >= c.size()) return {};
  const std::size_t available = span.size();
  if (static_cast<std::uint64_t>(offset) >= available) return {};
  std::size_t count = available - static_cast<std::size_t>(offset);
  if (limit >= 0) count = std::min<std::size_t>(count, static_cast<std::size_t>(limit));
  const std::size_t from = reverse ? span.end - 1 - static_cast<std::size_t>(offset)
                                   : span.first + static_cast<std::size_t>(offset);
  return copy_entries(c.scores().range(from, count, reverse));
}

// zrangeGenericCommand: ZRANGE and its older forms, and ZRANGESTORE (`store`: argv[1] is the
// destination). The options are read, the range parsed, then the key looked at.
Outcome zrange_generic(CommandContext& ctx, std::size_t key_at, bool store, RangeType type,
                       Direction direction) {
  std::string_view min = ctx.argv[key_at + 1], max = ctx.argv[key_at + 2];
  bool withscores = false;
  std::int64_t offset = 0, limit = -1;
  for (std::size_t j = key_at + 3; j < ctx.argv.size(); ++j) {
    const std::size_t left = ctx.argv.size() - j - 1;
    const std::string_view a = ctx.argv[j];
    if (!store && iequals(a, "withscores")) {
      withscores = true;
    } else if (iequals(a, "limit") && left >= 2) {
      const auto o = to_int(ctx.argv[j + 1]);
      const auto l = o ? to_int(ctx.argv[j + 2]) : std::nullopt;
      if (!o || !l) {
        ctx.reply.error(kNotInteger);
        return Outcome::done();
      }
      offset = *o;
      limit = *l;
      j += 2;
    } else if (direction == Direction::automatic && iequals(a, "rev")) {
      direction = Direction::reverse;
    } else if (type == RangeType::automatic && iequals(a, "bylex")) {
      type = RangeType::lex;
    } else if (type == RangeType::automatic && iequals(a, "byscore")) {
      type = RangeType::score;
    } else {
      ctx.reply.error(kSyntaxError);
      return Outcome::done();
    }
  }
  if (direction == Direction::automatic) direction = Direction::forward;
  if (type == RangeType::automatic) type = RangeType::rank;
  if (limit != -1 && type == RangeType::rank) {
    ctx.reply.error(
        "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
    return Outcome::done();
  }
  if (withscores && type == RangeType::lex) {
    ctx.reply.error("syntax error, WITHSCORES not supported in combination with BYLEX");
    return Outcome::done();
  }
  const bool reverse = direction == Direction::reverse;
  if (reverse && type != RangeType::rank) std::swap(min, max);
  std::int64_t start = 0, stop = 0;
  ScoreRange score_range;
  LexRange lex_range;
  switch (type) {
    case RangeType::automatic:
    case RangeType::rank: {
      const auto a = to_int(min);
      const auto b = a ? to_int(max) : std::nullopt;
      if (!a || !b) {
        ctx.reply.error(kNotInteger);
        return Outcome::done();
      }
      start = *a;
      stop = *b;
      break;
    }
    case RangeType::score:
      if (!parse_score_range(min, max, score_range)) {
        ctx.reply.error("min or max is not a float");
        return Outcome::done();
      }
      break;
    case RangeType::lex:
      if (!parse_lex_range(min, max, lex_range)) {
        ctx.reply.error("min or max not valid string range item");
        return Outcome::done();
      }
      break;
  }
  bool replied = false;
  const Collection* c = read_zset(ctx, ctx.argv[key_at], replied);
  if (replied) return Outcome::done();
  std::vector<ScoredMember> result;
  if (c != nullptr) {
    if (type == RangeType::rank) {
      if (const auto span = rank_span(start, stop, c->size())) {
        const std::size_t from = reverse ? c->size() - 1 - span->first : span->first;
        result = copy_entries(c->scores().range(from, span->size(), reverse));
      }
    } else if (type == RangeType::score) {
      result = take(*c, ranks_of(*c, score_range), reverse, offset, limit);
    } else {
      result = take(*c, ranks_of(*c, lex_range), reverse, offset, limit);
    }
  }
  if (store) {
    if (store_zset(ctx, ctx.argv[1], result, "zrangestore")) {
      ctx.reply.integer(static_cast<std::int64_t>(result.size()));
    }
  } else {
    reply_scored(ctx, result, withscores);
  }
  return Outcome::done();
}
Outcome zrange(CommandContext& ctx) {
  return zrange_generic(ctx, 1, false, RangeType::automatic, Direction::automatic);
}
Outcome zrangestore(CommandContext& ctx) {
  return zrange_generic(ctx, 2, true, RangeType::automatic, Direction::automatic);
}
Outcome zrevrange(CommandContext& ctx) {
  return zrange_generic(ctx, 1, false, RangeType::rank, Direction::reverse);
}
Outcome zrangebyscore(CommandContext& ctx) {
  return zrange_generic(ctx, 1, false, RangeType::score, Direction::forward);
}
Outcome zrevrangebyscore(CommandContext& ctx) {
  return zrange_generic(ctx, 1, false, RangeType::score, Direction::reverse);
}
Outcome zrangebylex(CommandContext& ctx) {
  return zrange_generic(ctx, 1, false, RangeType::lex, Direction::forward);
}
Outcome zrevrangebylex(CommandContext& ctx) {
  return zrange_generic(ctx, 1, false, RangeType::lex, Direction::reverse);
}

// ---- removals by range -----------------------------------------------------------------

// Removes `members` from the key's zset (all present): false after replying an error.
bool remove_members(CommandContext& ctx, std::span<const ScoredMember> members,
                    std::string_view event) {
  if (members.empty()) return true;
  return edit_and_notify(ctx, ctx.argv[1], kZset, kNotifyZset, event,
                         [&](store::Store::CollectionEdit& e) {
                           for (const auto& m : members) e.collection.remove(m.member);
                           return true;
                         });
}

// ZREMRANGEBYRANK/BYSCORE/BYLEX key min max: the range is parsed before the key is read.
Outcome zremrange(CommandContext& ctx, RangeType type, std::string_view event) {
  std::int64_t start = 0, stop = 0;
  ScoreRange score_range;
  LexRange lex_range;
  if (type == RangeType::rank) {
    const auto a = to_int(ctx.argv[2]);
    const auto b = a ? to_int(ctx.argv[3]) : std::nullopt;
    if (!a || !b) {
      ctx.reply.error(kNotInteger);
      return Outcome::done();
    }
    start = *a;
    stop = *b;
  } else if (type == RangeType::score) {
    if (!parse_score_range(ctx.argv[2], ctx.argv[3], score_range)) {
      ctx.reply.error("min or max is not a float");
      return Outcome::done();
    }
  } else if (!parse_lex_range(ctx.argv[2], ctx.argv[3], lex_range)) {
    ctx.reply.error("min or max not valid string range item");
    return Outcome::done();
  }
  bool replied = false;
  const Collection* c = read_key(ctx, replied, false);
  if (replied) return Outcome::done();
  std::vector<ScoredMember> doomed;
  if (c != nullptr) {
    RankSpan span;
    if (type == RangeType::rank) {
      span = rank_span(start, stop, c->size()).value_or(RankSpan{});
    } else if (type == RangeType::score) {
      span = ranks_of(*c, score_range);
    } else {
      span = ranks_of(*c, lex_range);
    }
    doomed = copy_entries(c->scores().range(span.first, span.size(), false));
  }
  if (remove_members(ctx, doomed, event))
    ctx.reply.integer(static_cast<std::int64_t>(doomed.size()));
  return Outcome::done();
}
Outcome zremrangebyrank(CommandContext& ctx) {
  return zremrange(ctx, RangeType::rank, "zremrangebyrank");
}
Outcome zremrangebyscore(CommandContext& ctx) {
  return zremrange(ctx, RangeType::score, "zremrangebyscore");
}
Outcome zremrangebylex(CommandContext& ctx) {
  return zremrange(ctx, RangeType::lex, "zremrangebylex");
}

constexpr std::uint32_t kW = kWrite;
constexpr std::uint32_t kR = kReadonly;

}  // namespace

void register_zset_commands(CommandTable& t) {
  const auto Z = [&](const char* name, int arity, std::uint32_t flags, int first, int last,
                     std::string_view acl, std::string_view key_flags, std::string_view summary,
                     std::string_view since, std::string_view complexity, CommandHandler h) {
    t.add(make_spec({name, arity, flags, first, last, 1, acl, key_flags, "sorted_set", summary,
                     since, complexity, h}));
  };
  constexpr std::string_view kWriteFast = "@write @sortedset @fast";
  constexpr std::string_view kWriteSlow = "@write @sortedset @slow";
  constexpr std::string_view kReadFast = "@read @sortedset @fast";
  constexpr std::string_view kReadSlow = "@read @sortedset @slow";
  constexpr std::string_view kLogRange =
      "O(log(N)+M) with N being the number of elements in the sorted set and M the number of "
      "elements returned.";
  constexpr std::string_view kLogRemove =
      "O(log(N)+M) with N being the number of elements in the sorted set and M the number of "
      "elements removed by the operation.";
  Z("zadd", -4, kW | kDenyOom | kFast, 1, 1, kWriteFast, "RW update",
    "Add one or more members to a sorted set, or update its score if it already exists", "1.2.0",
    "O(log(N)) for each item added, where N is the number of elements in the sorted set.", zadd);
  Z("zincrby", 4, kW | kDenyOom | kFast, 1, 1, kWriteFast, "RW access update",
    "Increment the score of a member in a sorted set", "1.2.0",
    "O(log(N)) where N is the number of elements in the sorted set.", zincrby);
  Z("zrem", -3, kW | kFast, 1, 1, kWriteFast, "RW delete",
    "Remove one or more members from a sorted set", "1.2.0",
    "O(M*log(N)) with N being the number of elements in the sorted set and M the number of "
    "elements to be removed.",
    zrem);
  Z("zcard", 2, kR | kFast, 1, 1, kReadFast, "RO", "Get the number of members in a sorted set",
    "1.2.0", "O(1)", zcard);
  Z("zscore", 3, kR | kFast, 1, 1, kReadFast, "RO access",
    "Get the score associated with the given member in a sorted set", "1.2.0", "O(1)", zscore);
  Z("zmscore", -3, kR | kFast, 1, 1, kReadFast, "RO access",
    "Get the score associated with the given members in a sorted set", "6.2.0",
    "O(N) where N is the number of members being requested.", zmscore);
  Z("zrank", -3, kR | kFast, 1, 1, kReadFast, "RO access",
    "Determine the index of a member in a sorted set", "2.0.0", "O(log(N))", zrank);
  Z("zrevrank", -3, kR | kFast, 1, 1, kReadFast, "RO access",
    "Determine the index of a member in a sorted set, with scores ordered from high to low",
    "2.0.0", "O(log(N))", zrevrank);
  Z("zcount", 4, kR | kFast, 1, 1, kReadFast, "RO access",
    "Count the members in a sorted set with scores within the given values", "2.0.0",
    "O(log(N)) with N being the number of elements in the sorted set.", zcount);
  Z("zlexcount", 4, kR | kFast, 1, 1, kReadFast, "RO access",
    "Count the number of members in a sorted set between a given lexicographical range", "2.8.9",
    "O(log(N)) with N being the number of elements in the sorted set.", zlexcount);
  Z("zrange", -4, kR, 1, 1, kReadSlow, "RO access", "Return a range of members in a sorted set",
    "1.2.0", kLogRange, zrange);
  Z("zrangestore", -5, kW | kDenyOom, 1, 2, kWriteSlow, "OW update",
    "Store a range of members from sorted set into another key", "6.2.0", kLogRange, zrangestore);
  Z("zrangebyscore", -4, kR, 1, 1, kReadSlow, "RO access",
    "Return a range of members in a sorted set, by score", "1.0.5", kLogRange, zrangebyscore);
  Z("zrevrangebyscore", -4, kR, 1, 1, kReadSlow, "RO access",
    "Return a range of members in a sorted set, by score, with scores ordered from high to low",
    "2.2.0", kLogRange, zrevrangebyscore);
  Z("zrangebylex", -4, kR, 1, 1, kReadSlow, "RO access",
    "Return a range of members in a sorted set, by lexicographical range", "2.8.9", kLogRange,
    zrangebylex);
  Z("zrevrangebylex", -4, kR, 1, 1, kReadSlow, "RO access",
    "Return a range of members in a sorted set, by lexicographical range, ordered from higher "
    "to lower strings.",
    "2.8.9", kLogRange, zrevrangebylex);
  Z("zrevrange", -4, kR, 1, 1, kReadSlow, "RO access",
    "Return a range of members in a sorted set, by index, with scores ordered from high to low",
    "1.2.0", kLogRange, zrevrange);
  Z("zremrangebyrank", 4, kW, 1, 1, kWriteSlow, "RW delete",
    "Remove all members in a sorted set within the given indexes", "2.0.0", kLogRemove,
    zremrangebyrank);
  Z("zremrangebyscore", 4, kW, 1, 1, kWriteSlow, "RW delete",
    "Remove all members in a sorted set within the given scores", "1.2.0", kLogRemove,
    zremrangebyscore);
  Z("zremrangebylex", 4, kW, 1, 1, kWriteSlow, "RW delete",
    "Remove all members in a sorted set between the given lexicographical range", "2.8.9",
    kLogRemove, zremrangebylex);
}

}  // namespace apiary::resp
