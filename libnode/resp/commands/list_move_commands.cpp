// List commands that move elements between keys or wait for them: LMOVE, RPOPLPUSH, LMPOP and
// the blocking forms BLPOP, BRPOP, BLMOVE, BRPOPLPUSH and BLMPOP, answering as Redis 7.0's
// t_list.c does (arguments checked in its order, its replies and error texts).
//
// A blocking form that finds an element does what its non-blocking form does and replies as
// Redis replies for the blocking form (BLPOP: [key, element]; BLMOVE: the element; BLMPOP:
// [key, [elements]]). One that finds none writes the reply of its timeout (a null array, for
// BLMOVE and BRPOPLPUSH too: Redis 7.0's replyToBlockedClientTimedOut sends every list command
// a null array, though LMOVE itself answers a null bulk), changes nothing and returns
// Outcome::blocked: the cluster layer parks it and runs it again when one of its keys is
// written (command.hpp).
//
// The multi-key commands run whole on one coordinator when their keys share it (always with a
// common hash tag) and answer -CROSSSLOT otherwise, like SMOVE.
#include <cstdint>
#include <string>
#include <vector>

#include "apiary/data/collection.hpp"
#include "commands.hpp"
#include "list_support.hpp"
#include "store_access.hpp"

namespace apiary::resp {

namespace {

using data::Collection;

// LMOVE source destination LEFT|RIGHT LEFT|RIGHT.
Outcome lmove(CommandContext& ctx) {
  bool from_left = false, to_left = false;
  if (!parse_side(ctx, ctx.argv[3], from_left) || !parse_side(ctx, ctx.argv[4], to_left)) {
    return Outcome::done();
  }
  if (!move_element(ctx, ctx.argv[1], ctx.argv[2], from_left, to_left)) ctx.reply.null();
  return Outcome::done();
}

// RPOPLPUSH source destination: LMOVE source destination RIGHT LEFT.
Outcome rpoplpush(CommandContext& ctx) {
  if (!move_element(ctx, ctx.argv[1], ctx.argv[2], false, true)) ctx.reply.null();
  return Outcome::done();
}

// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout: the sides, then the timeout.
Outcome blmove(CommandContext& ctx) {
  bool from_left = false, to_left = false;
  if (!parse_side(ctx, ctx.argv[3], from_left) || !parse_side(ctx, ctx.argv[4], to_left)) {
    return Outcome::done();
  }
  Duration timeout{};
  if (!parse_block_timeout(ctx.reply, ctx.argv[5], timeout)) return Outcome::done();
  if (move_element(ctx, ctx.argv[1], ctx.argv[2], from_left, to_left)) return Outcome::done();
  ctx.reply.null_array();  // Redis 7.0 times every blocked list command out with a null array
  return Outcome::blocked(timeout);
}

// BRPOPLPUSH source destination timeout.
Outcome brpoplpush(CommandContext& ctx) {
  Duration timeout{};
  if (!parse_block_timeout(ctx.reply, ctx.argv[3], timeout)) return Outcome::done();
  if (move_element(ctx, ctx.argv[1], ctx.argv[2], false, true)) return Outcome::done();
  ctx.reply.null_array();
  return Outcome::blocked(timeout);
}

// Pops up to `count` elements from the first of `keys` that holds a list and replies
// [key, [elements]] (BLPOP/BRPOP: [key, element] when `single`). False, having replied
// nothing, when none holds one; true after replying (the elements, WRONGTYPE for the first
// key of another type met before a list, or the store's error).
bool pop_first(CommandContext& ctx, std::span<const std::string_view> keys, bool left,
               std::size_t count, bool single) {
  for (const std::string_view key : keys) {
    bool replied = false;
    const Collection* c = read_list(ctx, key, replied);
    if (replied) return true;
    if (c == nullptr) continue;
    const auto values = pop_elements(ctx, key, left, count);
    if (!values) return true;
    ctx.reply.array(2);
    ctx.reply.bulk(key);
    if (single) {
      ctx.reply.bulk(values->front());
    } else {
      reply_values(ctx, *values);
    }
    return true;
  }
  return false;
}

// BLPOP/BRPOP key [key ...] timeout: the timeout first, then the keys in order.
Outcome bpop(CommandContext& ctx, bool left) {
  Duration timeout{};
  if (!parse_block_timeout(ctx.reply, ctx.argv.back(), timeout)) return Outcome::done();
  if (pop_first(ctx, ctx.argv.subspan(1, ctx.argv.size() - 2), left, 1, true)) {
    return Outcome::done();
  }
  ctx.reply.null_array();
  return Outcome::blocked(timeout);
}
Outcome blpop(CommandContext& ctx) { return bpop(ctx, true); }
Outcome brpop(CommandContext& ctx) { return bpop(ctx, false); }

// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count], and BLMPOP timeout numkeys ...: the
// timeout first (Redis 7.0 reads it before numkeys), then numkeys, the side and COUNT.
Outcome mpop(CommandContext& ctx, bool blocking) {
  Duration timeout{};
  std::size_t at = 1;
  if (blocking) {
    if (!parse_block_timeout(ctx.reply, ctx.argv[1], timeout)) return Outcome::done();
    at = 2;
  }
  const auto numkeys = to_int(ctx.argv[at]);
  if (!numkeys || *numkeys < 1) {
    ctx.reply.error("numkeys should be greater than 0");
    return Outcome::done();
  }
  if (static_cast<std::uint64_t>(*numkeys) >= ctx.argv.size() - at - 1) {
    ctx.reply.error(kSyntaxError);
    return Outcome::done();
  }
  const auto n = static_cast<std::size_t>(*numkeys);
  bool left = false;
  if (!parse_side(ctx, ctx.argv[at + n + 1], left)) return Outcome::done();
  std::int64_t count = -1;
  for (std::size_t j = at + n + 2; j < ctx.argv.size(); ++j) {
    if (count == -1 && iequals(ctx.argv[j], "count") && j + 1 < ctx.argv.size()) {
      const auto c = to_int(ctx.argv[++j]);
      if (!c || *c < 1) {
        ctx.reply.error("count should be greater than 0");
        return Outcome::done();
      }
      count = *c;
    } else {
      ctx.reply.error(kSyntaxError);
      return Outcome::done();
    }
  }
  if (count == -1) count = 1;
  if (pop_first(ctx, ctx.argv.subspan(at + 1, n), left, static_cast<std::size_t>(count), false)) {
    return Outcome::done();
  }
  ctx.reply.null_array();
  return blocking ? Outcome::blocked(timeout) : Outcome::done();
}
Outcome lmpop(CommandContext& ctx) { return mpop(ctx, false); }
Outcome blmpop(CommandContext& ctx) { return mpop(ctx, true); }

}  // namespace

void register_list_move_commands(CommandTable& t) {
  // first, last, step as Redis's legacy key range; numkeys_index for the movable keys.
  const auto L = [&](const char* name, int arity, std::uint32_t flags, int first, int last,
                     std::string_view acl, std::string_view summary, std::string_view since,
                     std::string_view complexity, CommandHandler h, int numkeys_index) {
    const int step = first > 0 ? 1 : 0;
    t.add(make_spec({name, arity, flags, first, last, step, acl, "RW access delete", "list",
                     summary, since, complexity, h, numkeys_index}));
  };
  constexpr std::string_view kWriteSlow = "@write @list @slow";
  constexpr std::string_view kBlockingAcl = "@write @list @slow @blocking";
  constexpr std::string_view kMoveSummary =
      "Pop an element from a list, push it to another list and return it; or block until one is "
      "available";
  constexpr std::string_view kMpopCost =
      "O(N+M) where N is the number of provided keys and M is the number of elements returned.";
  constexpr std::string_view kKeysCost = "O(N) where N is the number of provided keys.";
  constexpr std::uint32_t kMovable = kWrite | kMovableKeys;
  L("lmove", 5, kWrite | kDenyOom, 1, 2, kWriteSlow,
    "Pop an element from a list, push it to another list and return it", "6.2.0", "O(1)", lmove,
    0);
  L("rpoplpush", 3, kWrite | kDenyOom, 1, 2, kWriteSlow,
    "Remove the last element in a list, prepend it to another list and return it", "1.2.0",
    "O(1)", rpoplpush, 0);
  L("lmpop", -4, kMovable, 0, 0, kWriteSlow, "Pop elements from a list", "7.0.0", kMpopCost,
    lmpop, 1);
  L("blpop", -3, kWrite | kNoScript | kBlocking, 1, -2, kBlockingAcl,
    "Remove and get the first element in a list, or block until one is available", "2.0.0",
    kKeysCost, blpop, 0);
  L("brpop", -3, kWrite | kNoScript | kBlocking, 1, -2, kBlockingAcl,
    "Remove and get the last element in a list, or block until one is available", "2.0.0",
    kKeysCost, brpop, 0);
  L("blmove", 6, kWrite | kDenyOom | kNoScript | kBlocking, 1, 2, kBlockingAcl, kMoveSummary,
    "6.2.0", "O(1)", blmove, 0);
  L("brpoplpush", 4, kWrite | kDenyOom | kNoScript | kBlocking, 1, 2, kBlockingAcl, kMoveSummary,
    "2.2.0", "O(1)", brpoplpush, 0);
  L("blmpop", -5, kMovable | kBlocking, 0, 0, kBlockingAcl,
    "Pop elements from a list, or block until one is available", "7.0.0", kMpopCost, blmpop, 2);
}

}  // namespace apiary::resp
