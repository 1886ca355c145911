// Internal to libnode/resp: what the sorted set commands share (zset_commands.cpp and
// zset_algebra_commands.cpp): Redis's number parsing and score formatting, results written to
// a destination key, and scored replies in RESP2 and RESP3.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/data/collection.hpp"
#include "apiary/resp/command.hpp"

namespace apiary::resp {

inline constexpr data::ValueKind kZset = data::ValueKind::zset;

// A member with its score, copied out of a collection (a read pointer lasts only until the
// next store call).
struct ScoredMember {
  double score = 0;
  std::string member;
};

// Redis's string2d: the whole argument a double, no leading space, not NaN, no overflow and
// no underflow to zero ("inf" and "-inf" are scores).
bool parse_score(std::string_view s, double& out);
// Redis's d2string (ZSCAN, and a listpack's score text): integers as integers, else %.17g.
std::string score_string(double score);
// The order of a zset: score, then member bytes.
bool score_less(const ScoredMember& a, const ScoredMember& b);

// The key's zset for a read: nullptr when missing, or with `replied` after WRONGTYPE.
// `keymiss`: a missing key is a "keymiss" event (Redis's lookupKeyRead; the writes pass false).
const data::Collection* read_zset(CommandContext& ctx, std::string_view key, bool& replied,
                                  bool keymiss = true);

// Replaces `dst` (of any type, and its expiry) with `items` as a new zset, as Redis's setKey
// does; an empty result deletes it. False after replying an error. Emits the keyspace events:
// "new" and `event`, or "del" when an empty result deleted a key.
bool store_zset(CommandContext& ctx, std::string_view dst, std::span<const ScoredMember> items,
                std::string_view event);

// Members, with their scores when `withscores`: RESP2 a flat array, RESP3 pairs.
void reply_scored(CommandContext& ctx, std::span<const ScoredMember> items, bool withscores);

}  // namespace apiary::resp
