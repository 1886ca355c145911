// List commands: LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP, LLEN, LRANGE, LINDEX, LSET, LINSERT,
// LREM, LTRIM and LPOS, answering as Redis 7.0's t_list.c does: the same replies in RESP2 and
// RESP3, the same error texts, the arguments checked in the same order. LMOVE, RPOPLPUSH,
// LMPOP and the blocking forms are in list_move_commands.cpp.
//
// A list is a data::Collection of kind list: its elements' names are positions
// (data/list_position.hpp), so its pages hold it in order; an index is found in O(log pages)
// plus a walk of one page (Collection::at), a push or pop rewrites one page. Every command that
// changes a list is one write (one dot), shipped to replicas as its element changes.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "apiary/data/collection.hpp"
#include "commands.hpp"
#include "keyspace_notify.hpp"
#include "list_support.hpp"
#include "store_access.hpp"

namespace apiary::resp {

namespace {

using data::Collection;

// The list at argv[1], or nullptr after replying: WRONGTYPE, or what `missing` replies when
// the key holds none.
// `keymiss`: a missing key is a "keymiss" event (a read, as Redis's lookupKeyRead).
template <typename Missing>
const Collection* list_or_reply(CommandContext& ctx, Missing&& missing, bool keymiss = false) {
  bool replied = false;
  const Collection* c = read_list(ctx, ctx.argv[1], replied, keymiss);
  if (!replied && c == nullptr) missing();
  return c;
}

// ---- pushes and pops ------------------------------------------------------------------

// LPUSH/RPUSH key element [element ...]; the X forms only when the key holds a list.
Outcome push(CommandContext& ctx, bool left, bool only_existing) {
  if (only_existing && list_or_reply(ctx, [&] { ctx.reply.integer(0); }) == nullptr) {
    return Outcome::done();
  }
  const auto length = push_elements(ctx, ctx.argv[1], left, ctx.argv.subspan(2));
  if (length) ctx.reply.integer(static_cast<std::int64_t>(*length));
  return Outcome::done();
}
Outcome lpush(CommandContext& ctx) { return push(ctx, true, false); }
Outcome rpush(CommandContext& ctx) { return push(ctx, false, false); }
Outcome lpushx(CommandContext& ctx) { return push(ctx, true, true); }
Outcome rpushx(CommandContext& ctx) { return push(ctx, false, true); }

// LPOP/RPOP key [count]: the count (a non-negative integer) is read before the key; a missing
// key answers a null, or a null array when a count was given; a count of 0 an empty array.
Outcome pop(CommandContext& ctx, bool left) {
  if (ctx.argv.size() > 3) {
    ctx.reply.error("wrong number of arguments for '" + to_lower(ctx.argv[0]) + "' command");
    return Outcome::done();
  }
  const bool has_count = ctx.argv.size() == 3;
  std::int64_t count = 1;
  if (has_count) {
    const auto n = to_int(ctx.argv[2]);
    if (!n || *n < 0) {
      ctx.reply.error("value is out of range, must be positive");
      return Outcome::done();
    }
    count = *n;
  }
  bool replied = false;
  const Collection* c = read_list(ctx, ctx.argv[1], replied);
  if (replied) return Outcome::done();
  if (c == nullptr) {
    if (has_count) {
      ctx.reply.null_array();
    } else {
      ctx.reply.null();
    }
    return Outcome::done();
  }
  const auto values = pop_elements(ctx, ctx.argv[1], left, static_cast<std::size_t>(count));
  if (!values) return Outcome::done();
  if (has_count) {
    reply_values(ctx, *values);
  } else {
    ctx.reply.bulk(values->front());
  }
  return Outcome::done();
}
Outcome lpop(CommandContext& ctx) { return pop(ctx, true); }
Outcome rpop(CommandContext& ctx) { return pop(ctx, false); }

// ---- reads ----------------------------------------------------------------------------

Outcome llen(CommandContext& ctx) {
  bool replied = false;
  const Collection* c = read_list(ctx, ctx.argv[1], replied, true);
  if (!replied) ctx.reply.integer(c == nullptr ? 0 : static_cast<std::int64_t>(c->size()));
  return Outcome::done();
}

bool parse_index(CommandContext& ctx, std::string_view arg, std::int64_t& out) {
  const auto n = to_int(arg);
  if (!n) {
    ctx.reply.error(kNotInteger);
    return false;
  }
  out = *n;
  return true;
}

// Redis's start/stop normalisation (LRANGE, LTRIM): negative indices count from the end; an
// empty range when start passes stop or the end.
struct Range {
  std::size_t from = 0;
  std::size_t count = 0;
};
Range normalise(std::int64_t start, std::int64_t stop, std::size_t size) {
  const auto len = static_cast<std::int64_t>(size);
  if (start < 0) start += len;
  if (stop < 0) stop += len;
  if (start < 0) start = 0;
  if (start > stop || start >= len) return {};
  if (stop >= len) stop = len - 1;
  return Range{static_cast<std::size_t>(start), static_cast<std::size_t>(stop - start + 1)};
}

// LRANGE/LTRIM key start stop: the indices (read before the key), the list (nullptr when
// missing) and the range in it. False after replying an error.
struct ListRange {
  const Collection* list = nullptr;
  Range range;
};
// `keymiss`: LRANGE reads (a missing key is a "keymiss" event), LTRIM writes.
bool read_range(CommandContext& ctx, ListRange& out, bool keymiss) {
  std::int64_t start = 0, stop = 0;
  if (!parse_index(ctx, ctx.argv[2], start) || !parse_index(ctx, ctx.argv[3], stop)) {
    return false;
  }
  bool replied = false;
  out.list = read_list(ctx, ctx.argv[1], replied, keymiss);
  if (replied) return false;
  if (out.list != nullptr) out.range = normalise(start, stop, out.list->size());
  return true;
}

// LRANGE key start stop.
Outcome lrange(CommandContext& ctx) {
  ListRange lr;
  if (!read_range(ctx, lr, true)) return Outcome::done();
  const Collection* c = lr.list;
  const Range r = lr.range;
  ctx.reply.array(r.count);
  std::string scratch;
  auto it = r.count > 0 ? c->at(r.from) : Collection::const_iterator();
  for (std::size_t i = 0; i < r.count; ++i, ++it) ctx.reply.bulk((*it).value(scratch));
  return Outcome::done();
}

// An index into a list of `size` (negative from the end), or nullopt when out of range.
std::optional<std::size_t> position(std::int64_t index, std::size_t size) {
  const auto len = static_cast<std::int64_t>(size);
  if (index < 0) index += len;
  if (index < 0 || index >= len) return std::nullopt;
  return static_cast<std::size_t>(index);
}

// LINDEX key index: the key first (a missing key answers a null whatever the index).
Outcome lindex(CommandContext& ctx) {
  const Collection* c = list_or_reply(
      ctx, [&] { ctx.reply.null(); }, true);
  if (c == nullptr) return Outcome::done();
  std::int64_t index = 0;
  if (!parse_index(ctx, ctx.argv[2], index)) return Outcome::done();
  const auto at = position(index, c->size());
  if (!at) {
    ctx.reply.null();
    return Outcome::done();
  }
  std::string scratch;
  ctx.reply.bulk((*c->at(*at)).value(scratch));
  return Outcome::done();
}

// LSET key index element: writes the element's value in place (the same position, a new
// version: concurrent LSETs of one element resolve by last writer).
Outcome lset(CommandContext& ctx) {
  const Collection* c = list_or_reply(ctx, [&] { ctx.reply.error("no such key"); });
  if (c == nullptr) return Outcome::done();
  std::int64_t index = 0;
  if (!parse_index(ctx, ctx.argv[2], index)) return Outcome::done();
  const auto at = position(index, c->size());
  if (!at) {
    ctx.reply.error("index out of range");
    return Outcome::done();
  }
  const bool ok = edit_and_notify(ctx, ctx.argv[1], kList, kNotifyList, "lset",
                                  [&](store::Store::CollectionEdit& e) {
                                    const std::string name((*e.collection.at(*at)).name());
                                    e.collection.set(name, ctx.argv[3], e.dot, e.stamp);
                                    return true;
                                  });
  if (ok) ctx.reply.ok();
  return Outcome::done();
}

// LINSERT key BEFORE|AFTER pivot element: 0 for a missing key, -1 when the pivot (its first
// occurrence from the head) is not there, else the new length.
Outcome linsert(CommandContext& ctx) {
  bool after = false;
  if (iequals(ctx.argv[2], "after")) {
    after = true;
  } else if (!iequals(ctx.argv[2], "before")) {
    ctx.reply.error(kSyntaxError);
    return Outcome::done();
  }
  const Collection* c = list_or_reply(ctx, [&] { ctx.reply.integer(0); });
  if (c == nullptr) return Outcome::done();
  std::optional<std::string> left, right;
  std::string scratch;
  bool found = false;
  for (auto it = c->begin(); it != c->end(); ++it) {
    if ((*it).value(scratch) != ctx.argv[3]) {
      left = std::string((*it).name());
      continue;
    }
    found = true;
    if (after) {
      left = std::string((*it).name());
      if (++it != c->end()) right = std::string((*it).name());
    } else {
      right = std::string((*it).name());
    }
    break;
  }
  if (!found) {
    ctx.reply.integer(-1);
    return Outcome::done();
  }
  std::size_t length = 0;
  const bool ok = edit_and_notify(ctx, ctx.argv[1], kList, kNotifyList, "linsert",
                                  [&](store::Store::CollectionEdit& e) {
                                    e.collection.insert(left, right, ctx.argv[4], e.dot, e.stamp);
                                    length = e.collection.size();
                                    return true;
                                  });
  if (ok) ctx.reply.integer(static_cast<std::int64_t>(length));
  return Outcome::done();
}

// Removes the elements named `names` as one write; nullopt after replying an error.
std::optional<CollectionWrite> remove_names(CommandContext& ctx,
                                            const std::vector<std::string>& names) {
  if (names.empty()) return CollectionWrite{.ok = true};
  const CollectionWrite w =
      edit_tracked(ctx, ctx.argv[1], kList, [&](store::Store::CollectionEdit& e) {
        for (const auto& n : names) e.collection.remove(n);
        return true;
      });
  if (!w.ok) return std::nullopt;
  return w;
}

// LREM key count element: count > 0 removes the first `count` matches from the head, < 0 the
// last from the tail, 0 all of them.
Outcome lrem(CommandContext& ctx) {
  std::int64_t count = 0;
  if (!parse_index(ctx, ctx.argv[2], count)) return Outcome::done();
  bool replied = false;
  const Collection* c = read_list(ctx, ctx.argv[1], replied);
  if (replied) return Outcome::done();
  std::vector<std::string> names;
  std::string scratch;
  for (auto it = c == nullptr ? Collection::const_iterator() : c->begin();
       c != nullptr && it != c->end(); ++it) {
    if ((*it).value(scratch) == ctx.argv[3]) names.emplace_back((*it).name());
    if (count > 0 && names.size() == static_cast<std::uint64_t>(count)) break;
  }
  if (count < 0 && names.size() > static_cast<std::uint64_t>(-(count + 1)) + 1) {
    names.erase(names.begin(), names.end() - static_cast<std::ptrdiff_t>(-(count + 1)) - 1);
  }
  const auto w = remove_names(ctx, names);
  if (!w) return Outcome::done();
  if (w->changed) notify_write(ctx, *w, ctx.argv[1], kNotifyList, "lrem");
  ctx.reply.integer(static_cast<std::int64_t>(names.size()));
  return Outcome::done();
}

// LTRIM key start stop: keeps the range (LRANGE's normalisation); an empty range deletes the
// key.
Outcome ltrim(CommandContext& ctx) {
  ListRange lr;
  if (!read_range(ctx, lr, false)) return Outcome::done();
  const Collection* c = lr.list;
  std::vector<std::string> names;
  if (c != nullptr) {
    // What goes: the elements before the range and after it (all of them when it is empty).
    const Range keep = lr.range;
    auto it = c->begin();
    for (std::size_t i = 0; i < keep.from && it != c->end(); ++i, ++it) {
      names.emplace_back((*it).name());
    }
    for (it = keep.count == 0 ? it : c->at(keep.from + keep.count); it != c->end(); ++it) {
      names.emplace_back((*it).name());
    }
  }
  const auto w = remove_names(ctx, names);
  if (!w) return Outcome::done();
  // Redis notifies "ltrim" for any trim of an existing list, even one that removes nothing.
  if (c != nullptr) notify_write(ctx, *w, ctx.argv[1], kNotifyList, "ltrim");
  ctx.reply.ok();
  return Outcome::done();
}

// ---- LPOS ----------------------------------------------------------------------------

struct LposOptions {
  std::int64_t rank = 1;
  std::int64_t count = -1;  // -1: no COUNT (a single answer)
  std::int64_t maxlen = 0;
};

bool parse_lpos(CommandContext& ctx, LposOptions& o) {
  for (std::size_t j = 3; j < ctx.argv.size(); ++j) {
    const std::string_view opt = ctx.argv[j];
    const bool more = j + 1 < ctx.argv.size();
    if (iequals(opt, "rank") && more) {
      if (!parse_index(ctx, ctx.argv[++j], o.rank)) return false;
      if (o.rank == 0) {
        ctx.reply.error(
            "RANK can't be zero: use 1 to start from the first match, 2 from the second ... or "
            "use negative to start from the end of the list");
        return false;
      }
    } else if ((iequals(opt, "count") || iequals(opt, "maxlen")) && more) {
      const bool is_count = iequals(opt, "count");
      const auto n = to_int(ctx.argv[++j]);
      if (!n || *n < 0) {
        ctx.reply.error(is_count ? "COUNT can't be negative" : "MAXLEN can't be negative");
        return false;
      }
      (is_count ? o.count : o.maxlen) = *n;
    } else {
      ctx.reply.error(kSyntaxError);
      return false;
    }
  }
  return true;
}

// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]: the options first; a
// negative rank searches from the tail. Redis negates the rank without a check, so a rank of
// INT64_MIN stays negative and matches from the first one found: kept as Redis does.
Outcome lpos(CommandContext& ctx) {
  LposOptions o;
  if (!parse_lpos(ctx, o)) return Outcome::done();
  const bool from_tail = o.rank < 0;
  if (from_tail && o.rank != std::numeric_limits<std::int64_t>::min()) o.rank = -o.rank;
  bool replied = false;
  const Collection* c = read_list(ctx, ctx.argv[1], replied, true);
  if (replied) return Outcome::done();
  std::vector<std::int64_t> found;
  if (c != nullptr) {
    const auto size = static_cast<std::int64_t>(c->size());
    std::int64_t matches = 0;
    std::string scratch;
    auto it = c->begin();
    for (std::int64_t seen = 0; seen < size && (o.maxlen == 0 || seen < o.maxlen); ++seen) {
      // From the tail, each step finds its element by index (O(log n)); from the head, walks.
      const std::int64_t index = from_tail ? size - 1 - seen : seen;
      const data::ElementView e = from_tail ? *c->at(static_cast<std::size_t>(index)) : *it++;
      if (e.value(scratch) != ctx.argv[2] || ++matches < o.rank) continue;
      found.push_back(index);
      if (o.count == -1) break;
      // matches - rank + 1 matches found since the rank-th (Redis's wraps for INT64_MIN: never).
      const bool min_rank = o.rank == std::numeric_limits<std::int64_t>::min();
      if (o.count > 0 && !min_rank && matches - o.rank + 1 >= o.count) break;
    }
  }
  if (o.count == -1) {
    if (found.empty()) {
      ctx.reply.null();
    } else {
      ctx.reply.integer(found.front());
    }
    return Outcome::done();
  }
  ctx.reply.array(found.size());
  for (const std::int64_t i : found) ctx.reply.integer(i);
  return Outcome::done();
}

}  // namespace

void register_list_commands(CommandTable& t) {
  const auto L = [&](const char* name, int arity, std::uint32_t flags, std::string_view acl,
                     std::string_view key_flags, std::string_view summary, std::string_view since,
                     std::string_view complexity, CommandHandler h) {
    t.add(make_spec(
        {name, arity, flags, 1, 1, 1, acl, key_flags, "list", summary, since, complexity, h}));
  };
  constexpr std::string_view kWriteFast = "@write @list @fast";
  constexpr std::string_view kWriteSlow = "@write @list @slow";
  constexpr std::string_view kPushCost =
      "O(1) for each element added, so O(N) to add N elements when the command is called with "
      "multiple arguments.";
  constexpr std::string_view kPopCost = "O(N) where N is the number of elements returned";
  L("lpush", -3, kWrite | kDenyOom | kFast, kWriteFast, "RW insert",
    "Prepend one or multiple elements to a list", "1.0.0", kPushCost, lpush);
  L("rpush", -3, kWrite | kDenyOom | kFast, kWriteFast, "RW insert",
    "Append one or multiple elements to a list", "1.0.0", kPushCost, rpush);
  L("lpushx", -3, kWrite | kDenyOom | kFast, kWriteFast, "RW insert",
    "Prepend an element to a list, only if the list exists", "2.2.0", kPushCost, lpushx);
  L("rpushx", -3, kWrite | kDenyOom | kFast, kWriteFast, "RW insert",
    "Append an element to a list, only if the list exists", "2.2.0", kPushCost, rpushx);
  L("lpop", -2, kWrite | kFast, kWriteFast, "RW access delete",
    "Remove and get the first elements in a list", "1.0.0", kPopCost, lpop);
  L("rpop", -2, kWrite | kFast, kWriteFast, "RW access delete",
    "Remove and get the last elements in a list", "1.0.0", kPopCost, rpop);
  L("llen", 2, kReadonly | kFast, "@read @list @fast", "RO", "Get the length of a list", "1.0.0",
    "O(1)", llen);
  L("lrange", 4, kReadonly, "@read @list @slow", "RO access", "Get a range of elements from a list",
    "1.0.0",
    "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end "
    "(HEAD or TAIL) for large lists; and N is the number of elements in the specified range.",
    lrange);
  L("lindex", 3, kReadonly, "@read @list @slow", "RO access",
    "Get an element from a list by its index", "1.0.0",
    "O(N) where N is the number of elements to traverse to get to the element at index. This "
    "makes asking for the first or the last element of the list O(1).",
    lindex);
  L("lset", 4, kWrite | kDenyOom, kWriteSlow, "RW update",
    "Set the value of an element in a list by its index", "1.0.0",
    "O(N) where N is the length of the list. Setting either the first or the last element of "
    "the list is O(1).",
    lset);
  L("linsert", 5, kWrite | kDenyOom, kWriteSlow, "RW insert",
    "Insert an element before or after another element in a list", "2.2.0",
    "O(N) where N is the number of elements to traverse before seeing the value pivot. This "
    "means that inserting somewhere on the left end on the list (head) can be considered O(1) "
    "and inserting somewhere on the right end (tail) is O(N).",
    linsert);
  L("lrem", 4, kWrite, kWriteSlow, "RW delete", "Remove elements from a list", "1.0.0",
    "O(N+M) where N is the length of the list and M is the number of elements removed.", lrem);
  L("ltrim", 4, kWrite, kWriteSlow, "RW delete", "Trim a list to the specified range", "1.0.0",
    "O(N) where N is the number of elements to be removed by the operation.", ltrim);
  L("lpos", -3, kReadonly, "@read @list @slow", "RO access",
    "Return the index of matching elements on a list", "6.0.6",
    "O(N) where N is the number of elements in the list, for the average case. When searching "
    "for elements near the head or the tail of the list, or when the MAXLEN option is provided, "
    "the command may run in constant time.",
    lpos);
}

}  // namespace apiary::resp
