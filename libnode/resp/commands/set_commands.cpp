// Set commands: SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SPOP, SRANDMEMBER, SMOVE,
// SINTER/SINTERCARD/SINTERSTORE, SUNION/SUNIONSTORE, SDIFF/SDIFFSTORE and SSCAN, answering as
// Redis 7.0's t_set.c does: the same replies in RESP2 and RESP3 (a RESP3 set where Redis
// sends one: SMEMBERS, the algebra, SPOP with a count), the same error texts, and the checks
// in the same order (SPOP's and SRANDMEMBER's count before the key, SSCAN's options only once
// the set is found, every key of a multi-key command looked at before anything is computed).
//
// A set is a data::Collection (an observed-remove set), so two things differ by design from a
// standalone Redis: a set Redis would hold as a hash table is listed in member-hash order
// (Redis's order is its table's), and an SSCAN cursor over such a set is a member hash. A set
// Redis would hold as an intset (at most 512 integers, see collection_encoding) is listed in
// ascending integer order as Redis lists it, and SSCAN answers it whole with cursor 0.
#include <algorithm>
#include <limits>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "apiary/data/collection.hpp"
#include "apiary/resp/request_parser.hpp"
#include "apiary/resp/server.hpp"
#include "apiary/resp/server_config.hpp"
#include "commands.hpp"
#include "keyspace_notify.hpp"
#include "store_access.hpp"

namespace apiary::resp {
namespace {

using data::Collection;
using store::KeyType;
// A copy of a set's members in the collection's order (member hash, then name): a read
// pointer lasts only until the next store call, so multi-key commands copy what they keep.
using Members = std::vector<Collection::Key>;

constexpr data::ValueKind kSet = data::ValueKind::set;
constexpr std::size_t kIntsetEntries = 512;  // Redis's set-max-intset-entries

// Numbers for SPOP and SRANDMEMBER (splitmix64), seeded once from the store's generator so
// that no store call happens while a set is being read.
class Picker {
 public:
  explicit Picker(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return next() % n; }

 private:
  std::uint64_t state_;
};

// Random members of a non-empty set. Collection::random_element takes the member at or after
// a random hash, which favours members after wide gaps between hashes: over a big set some
// come up several times as often as 1/n, some almost never. So a set of intset size is picked
// from uniformly by position (as Redis picks from an intset), and a bigger one by taking one
// of the kWindow members that follow a random hash, which averages kWindow gaps: each
// member's chance is then within some 20% of 1/n, for O(kWindow) steps a pick.
class MemberPicker {
 public:
  MemberPicker(const Collection& c, Picker& pick) : c_(c), pick_(pick) {
    if (c.size() > kIntsetEntries) return;
    for (auto it = c.begin(); it != c.end(); ++it) all_.push_back(it);
  }
  Collection::const_iterator next() {
    if (!all_.empty()) return all_[pick_.below(all_.size())];
    auto it = c_.random_element(pick_.next());
    for (std::uint64_t steps = pick_.below(kWindow); steps > 0; --steps) {
      if (++it == c_.end()) it = c_.begin();
    }
    return it;
  }

 private:
  static constexpr std::uint64_t kWindow = 32;
  const Collection& c_;
  Picker& pick_;
  std::vector<Collection::const_iterator> all_;  // a small set's members
};

// Redis lists an intset by value; any other set is listed in the order it was given.
void intset_order(std::vector<std::string_view>& names) {
  if (names.size() > kIntsetEntries) return;
  std::vector<std::pair<std::int64_t, std::string_view>> ints;
  ints.reserve(names.size());
  for (const std::string_view n : names) {
    std::int64_t v = 0;
    if (!parse_int64(n, v)) return;
    ints.emplace_back(v, n);
  }
  std::sort(ints.begin(), ints.end());
  for (std::size_t i = 0; i < ints.size(); ++i) names[i] = ints[i].second;
}

// A whole set (or an algebra result) as a RESP3 set or an array, in Redis's listing order.
void reply_members(CommandContext& ctx, std::vector<std::string_view> names, bool as_set) {
  intset_order(names);
  if (as_set) {
    ctx.reply.set(names.size());
  } else {
    ctx.reply.array(names.size());
  }
  for (const std::string_view n : names) ctx.reply.bulk(n);
}

std::vector<std::string_view> names_of(const Collection& c) {
  std::vector<std::string_view> out;
  out.reserve(c.size());
  for (const data::ElementView e : c) out.push_back(e.name());
  return out;
}

std::vector<std::string_view> names_of(const Members& m) {
  std::vector<std::string_view> out;
  out.reserve(m.size());
  for (const auto& key : m) out.push_back(key.name);
  return out;
}

// Whether `key` holds a set, for the writes that act only on an existing one (SREM, SPOP,
// SMOVE's destination): false after replying WRONGTYPE when it holds another type.
bool set_or_missing(CommandContext& ctx, store::Store& st, std::string_view key, bool& exists) {
  const KeyType t = st.type(key, ctx.wall);
  if (t != KeyType::none && t != KeyType::set) {
    ctx.reply.error(kWrongType);
    return false;
  }
  exists = t == KeyType::set;
  return true;
}

// ---- writes -----------------------------------------------------------------------------

Outcome sadd(CommandContext& ctx) {
  std::int64_t added = 0;
  const CollectionWrite w =
      edit_tracked(ctx, ctx.argv[1], kSet, [&](store::Store::CollectionEdit& e) {
        for (std::size_t i = 2; i < ctx.argv.size(); ++i) {
          if (e.collection.add(ctx.argv[i], e.dot, e.stamp)) ++added;
        }
        return true;  // an existing member is re-tagged: a change as well
      });
  if (!w.ok) return Outcome::done();
  if (added > 0) notify_write(ctx, w, ctx.argv[1], kNotifySet, "sadd");  // Redis: only then
  ctx.reply.integer(added);
  return Outcome::done();
}

Outcome srem(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  bool exists = false;
  if (!set_or_missing(ctx, *st, ctx.argv[1], exists)) return Outcome::done();
  std::int64_t removed = 0;
  if (exists) {
    const bool ok = edit_and_notify(ctx, ctx.argv[1], kSet, kNotifySet, "srem",
                                    [&](store::Store::CollectionEdit& e) {
                                      for (std::size_t i = 2; i < ctx.argv.size(); ++i) {
                                        if (e.collection.remove(ctx.argv[i])) ++removed;
                                      }
                                      return removed > 0;
                                    });
    if (!ok) return Outcome::done();
  }
  ctx.reply.integer(removed);
  return Outcome::done();
}

// SPOP key count: "value is out of range, must be positive" for any count that is not a
// non-negative integer, checked before the key; a missing key or count 0 is an empty set.
Outcome spop_count(CommandContext& ctx) {
  const auto count = to_int(ctx.argv[2]);
  if (!count || *count < 0) {
    ctx.reply.error("value is out of range, must be positive");
    return Outcome::done();
  }
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  bool exists = false;
  if (!set_or_missing(ctx, *st, ctx.argv[1], exists)) return Outcome::done();
  if (!exists || *count == 0) {
    ctx.reply.set(0);
    return Outcome::done();
  }
  Picker pick(st->random());
  std::vector<std::string> popped;
  bool whole = false;
  const bool ok = edit_and_notify(
      ctx, ctx.argv[1], kSet, kNotifySet, "spop", [&](store::Store::CollectionEdit& e) {
        Collection& c = e.collection;
        if (static_cast<std::uint64_t>(*count) >= c.size()) {  // the whole set, which goes
          whole = true;
          for (const data::ElementView m : c) popped.emplace_back(m.name());
          c.clear();
        } else {
          for (std::int64_t i = 0; i < *count; ++i) {
            popped.emplace_back((*MemberPicker(c, pick).next()).name());
            c.remove(popped.back());
          }
        }
        return !popped.empty();
      });
  if (!ok) return Outcome::done();
  std::vector<std::string_view> names(popped.begin(), popped.end());
  if (whole) {
    reply_members(ctx, std::move(names), true);
  } else {
    ctx.reply.set(names.size());
    for (const std::string_view n : names) ctx.reply.bulk(n);
  }
  return Outcome::done();
}

Outcome spop(CommandContext& ctx) {
  if (ctx.argv.size() > 3) {
    ctx.reply.error(kSyntaxError);
    return Outcome::done();
  }
  if (ctx.argv.size() == 3) return spop_count(ctx);
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  bool exists = false;
  if (!set_or_missing(ctx, *st, ctx.argv[1], exists)) return Outcome::done();
  std::optional<std::string> popped;
  if (exists) {
    Picker pick(st->random());
    const bool ok = edit_and_notify(ctx, ctx.argv[1], kSet, kNotifySet, "spop",
                                    [&](store::Store::CollectionEdit& e) {
                                      if (e.collection.empty()) return false;
                                      popped = (*MemberPicker(e.collection, pick).next()).name();
                                      e.collection.remove(*popped);
                                      return true;
                                    });
    if (!ok) return Outcome::done();
  }
  if (popped) {
    ctx.reply.bulk(*popped);
  } else {
    ctx.reply.null();
  }
  return Outcome::done();
}

// SMOVE source destination member, in Redis's order: a missing source answers 0 whatever the
// destination holds, then either key holding another type answers WRONGTYPE, then moving a
// member onto its own set only tells whether it is there. Redis looks the keys up for
// writing, which counts no keyspace hit: so do Store::type and an edit that changes nothing.
Outcome smove(CommandContext& ctx) {
  const std::string_view src = ctx.argv[1], dst = ctx.argv[2], member = ctx.argv[3];
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  const KeyType src_type = st->type(src, ctx.wall);
  if (src_type == KeyType::none) {
    ctx.reply.integer(0);
    return Outcome::done();
  }
  if (src_type != KeyType::set) {
    ctx.reply.error(kWrongType);
    return Outcome::done();
  }
  bool dst_exists = false;
  if (!set_or_missing(ctx, *st, dst, dst_exists)) return Outcome::done();
  bool present = false;
  const auto look = [&](store::Store::CollectionEdit& e) {
    present = e.collection.contains(member);
    return false;
  };
  if (!edit_or_reply(ctx, src, kSet, look)) return Outcome::done();
  if (src == dst || !present) {
    ctx.reply.integer(present ? 1 : 0);
    return Outcome::done();
  }
  // The destination first: should the second write fail, the member is in both sets rather
  // than in neither.
  bool added = false;
  const CollectionWrite to = edit_tracked(ctx, dst, kSet, [&](store::Store::CollectionEdit& e) {
    added = e.collection.add(member, e.dot, e.stamp);
    return true;
  });
  if (!to.ok) return Outcome::done();
  const CollectionWrite from = edit_tracked(
      ctx, src, kSet, [&](store::Store::CollectionEdit& e) { return e.collection.remove(member); });
  if (!from.ok) return Outcome::done();
  // Redis's order: the source's events, then the destination's.
  if (from.changed) notify_write(ctx, from, src, kNotifySet, "srem");
  if (added) notify_write(ctx, to, dst, kNotifySet, "sadd");
  ctx.reply.integer(1);
  return Outcome::done();
}

// ---- reads of one set -------------------------------------------------------------------

Outcome smembers(CommandContext& ctx) {
  bool replied = false;
  const Collection* c = collection_or_reply(ctx, ctx.argv[1], kSet, replied, true);
  if (replied) return Outcome::done();
  if (c == nullptr) {
    ctx.reply.set(0);
  } else {
    reply_members(ctx, names_of(*c), true);
  }
  return Outcome::done();
}

Outcome sismember(CommandContext& ctx) {
  bool replied = false;
  const Collection* c = collection_or_reply(ctx, ctx.argv[1], kSet, replied, true);
  if (replied) return Outcome::done();
  ctx.reply.integer(c != nullptr && c->contains(ctx.argv[2]) ? 1 : 0);
  return Outcome::done();
}

Outcome smismember(CommandContext& ctx) {
  bool replied = false;
  const Collection* c = collection_or_reply(ctx, ctx.argv[1], kSet, replied, true);
  if (replied) return Outcome::done();
  ctx.reply.array(ctx.argv.size() - 2);
  for (std::size_t i = 2; i < ctx.argv.size(); ++i) {
    ctx.reply.integer(c != nullptr && c->contains(ctx.argv[i]) ? 1 : 0);
  }
  return Outcome::done();
}

Outcome scard(CommandContext& ctx) {
  bool replied = false;
  const Collection* c = collection_or_reply(ctx, ctx.argv[1], kSet, replied, true);
  if (replied) return Outcome::done();
  ctx.reply.integer(c == nullptr ? 0 : static_cast<std::int64_t>(c->size()));
  return Outcome::done();
}

// Distinct random members, fewer than the set holds: a partial shuffle when they are many
// (Redis too copies the set when count * 3 > size), else draws until enough are distinct.
std::vector<std::string_view> distinct_members(const Collection& c, std::size_t count,
                                               Picker& pick) {
  if (count * 3 > c.size()) {
    std::vector<std::string_view> all = names_of(c);
    for (std::size_t i = 0; i < count; ++i) std::swap(all[i], all[i + pick.below(all.size() - i)]);
    all.resize(count);
    return all;
  }
  MemberPicker picker(c, pick);
  std::vector<std::string_view> out;
  std::set<std::string_view> seen;
  while (out.size() < count) {
    const std::string_view name = (*picker.next()).name();
    if (seen.insert(name).second) out.push_back(name);
  }
  return out;
}

// SRANDMEMBER key count: a count below -LONG_MAX is refused before the key is looked at; a
// negative count may repeat members, a positive one does not (the whole set when it is
// larger). Always an array, in RESP3 too.
Outcome srandmember_count(CommandContext& ctx) {
  const auto count = to_int(ctx.argv[2]);
  if (!count) {
    ctx.reply.error(kNotInteger);
    return Outcome::done();
  }
  if (*count == std::numeric_limits<std::int64_t>::min()) {
    ctx.reply.error(
        "value is out of range, value must between -9223372036854775807 and "
        "9223372036854775807");
    return Outcome::done();
  }
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  Picker pick(st->random());
  bool replied = false;
  const Collection* c = collection_or_reply(ctx, ctx.argv[1], kSet, replied, true);
  if (replied) return Outcome::done();
  if (c == nullptr || *count == 0) {
    ctx.reply.array(0);
    return Outcome::done();
  }
  if (*count < 0) {
    const auto n = static_cast<std::uint64_t>(-*count);
    ctx.reply.array(n);
    // As Redis, the reply stops growing once it is over the client's hard output limit (the
    // connection then closes the client): a huge count cannot exhaust memory.
    const std::int64_t hard = ctx.server.config().output_buffer_limit().hard_bytes;
    MemberPicker picker(*c, pick);
    for (std::uint64_t i = 0; i < n; ++i) {
      ctx.reply.bulk((*picker.next()).name());
      if (hard > 0 && ctx.reply.buffer().size() > static_cast<std::size_t>(hard)) break;
    }
    return Outcome::done();
  }
  if (static_cast<std::uint64_t>(*count) >= c->size()) {
    reply_members(ctx, names_of(*c), false);
    return Outcome::done();
  }
  const auto picked = distinct_members(*c, static_cast<std::size_t>(*count), pick);
  ctx.reply.array(picked.size());
  for (const std::string_view n : picked) ctx.reply.bulk(n);
  return Outcome::done();
}

Outcome srandmember(CommandContext& ctx) {
  if (ctx.argv.size() > 3) {
    ctx.reply.error(kSyntaxError);
    return Outcome::done();
  }
  if (ctx.argv.size() == 3) return srandmember_count(ctx);
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  Picker pick(st->random());
  bool replied = false;
  const Collection* c = collection_or_reply(ctx, ctx.argv[1], kSet, replied, true);
  if (replied) return Outcome::done();
  if (c == nullptr) {
    ctx.reply.null();
  } else {
    ctx.reply.bulk((*MemberPicker(*c, pick).next()).name());
  }
  return Outcome::done();
}

// SSCAN key cursor [MATCH pattern] [COUNT count]: the cursor is checked first, a missing key
// answers an empty scan before the options are read, COUNT must be >= 1 and TYPE is refused.
Outcome sscan(CommandContext& ctx) {
  auto scan = scan_collection(ctx, kSet);
  if (!scan) return Outcome::done();
  std::vector<std::string_view> batch;
  for (const data::ElementView e : scan->batch) batch.push_back(e.name());
  if (collection_encoding(*scan->collection) == "intset") intset_order(batch);
  ctx.reply.array(2);
  ctx.reply.bulk(std::to_string(scan->next));
  ctx.reply.array(batch.size());
  for (const std::string_view n : batch) ctx.reply.bulk(n);
  return Outcome::done();
}

// ---- set algebra ------------------------------------------------------------------------

// A read pointer lasts only until the next store call (reading another key may replace the
// joined state of a key that holds concurrent versions), so the algebra copies what it keeps
// from one set before it reads the next. Every key is looked at before anything is replied:
// the first one that holds another type answers WRONGTYPE, as Redis checks them all first.

void copy_members(const Collection* c, Members& out) {
  if (c == nullptr) return;
  out.reserve(c->size());
  for (const data::ElementView e : *c)
    out.push_back(Collection::Key{e.hash(), std::string(e.name())});
}

// The members every set holds, walking the smallest as Redis does -- O(smallest * keys),
// without copying the larger sets. A first pass finds the sizes, a second reads the smallest
// (copied) and then each other set (so each key counts two keyspace hits). At most `limit`
// members (0: no limit).
std::optional<Members> intersection(CommandContext& ctx, std::span<const std::string_view> keys,
                                    std::size_t limit) {
  std::size_t smallest = 0, smallest_size = 0;
  bool any_missing = false;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    bool replied = false;
    const Collection* c = collection_or_reply(ctx, keys[i], kSet, replied, true);
    if (replied) return std::nullopt;
    if (c == nullptr) any_missing = true;
    const std::size_t size = c == nullptr ? 0 : c->size();
    if (i == 0 || size < smallest_size) {
      smallest = i;
      smallest_size = size;
    }
  }
  Members out;
  if (any_missing) return out;
  bool replied = false;
  copy_members(collection_or_reply(ctx, keys[smallest], kSet, replied), out);
  for (std::size_t i = 0; i < keys.size() && !out.empty(); ++i) {
    if (i == smallest) continue;
    const Collection* c = collection_or_reply(ctx, keys[i], kSet, replied);
    std::erase_if(out,
                  [&](const Collection::Key& k) { return c == nullptr || !c->contains(k.name); });
  }
  if (limit != 0 && out.size() > limit) out.resize(limit);
  return out;
}

// Every member of every set.
std::optional<Members> set_union(CommandContext& ctx, std::span<const std::string_view> keys) {
  Members out;
  for (const std::string_view key : keys) {
    bool replied = false;
    const Collection* c = collection_or_reply(ctx, key, kSet, replied, true);
    if (replied) return std::nullopt;
    if (c == nullptr) continue;
    for (const data::ElementView e : *c)
      out.push_back(Collection::Key{e.hash(), std::string(e.name())});
  }
  std::sort(out.begin(), out.end(), Collection::Less{});
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// The members of the first set that no other holds: the first copied, then filtered by each
// other set in turn.
std::optional<Members> difference(CommandContext& ctx, std::span<const std::string_view> keys) {
  Members out;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    bool replied = false;
    const Collection* c = collection_or_reply(ctx, keys[i], kSet, replied, true);
    if (replied) return std::nullopt;
    if (i == 0) {
      copy_members(c, out);
    } else if (c != nullptr) {
      std::erase_if(out, [&](const Collection::Key& k) { return c->contains(k.name); });
    }
  }
  return out;
}

enum class Algebra : unsigned char { inter, unite, diff };

std::optional<Members> compute(CommandContext& ctx, Algebra op,
                               std::span<const std::string_view> keys) {
  switch (op) {
    case Algebra::inter:
      return intersection(ctx, keys, 0);
    case Algebra::unite:
      return set_union(ctx, keys);
    case Algebra::diff:
      return difference(ctx, keys);
  }
  return std::nullopt;
}

// SINTER, SUNION, SDIFF key [key ...]: a RESP3 set.
Outcome algebra(CommandContext& ctx, Algebra op) {
  const auto result = compute(ctx, op, ctx.argv.subspan(1));
  if (result) reply_members(ctx, names_of(*result), true);
  return Outcome::done();
}
Outcome sinter(CommandContext& ctx) { return algebra(ctx, Algebra::inter); }
Outcome sunion(CommandContext& ctx) { return algebra(ctx, Algebra::unite); }
Outcome sdiff(CommandContext& ctx) { return algebra(ctx, Algebra::diff); }

// SINTERSTORE, SUNIONSTORE, SDIFFSTORE destination key [key ...]: the result replaces what the
// destination held, of any type, and its expiry (Redis's setKey); an empty result deletes it.
Outcome algebra_store(CommandContext& ctx, Algebra op, std::string_view event) {
  const auto computed = compute(ctx, op, ctx.argv.subspan(2));
  if (!computed) return Outcome::done();
  const Members& result = *computed;
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  const std::string_view dst = ctx.argv[1];
  if (result.empty()) {
    if (st->del_local(dst, ctx.wall)) notify(ctx, kNotifyGeneric, "del", dst);
    ctx.reply.integer(0);
    return Outcome::done();
  }
  NewKeyWatch watch(ctx, *st, dst);  // before a key of another type is deleted
  const KeyType held = st->type(dst, ctx.wall);
  if (held != KeyType::none && held != KeyType::set) st->del_local(dst, ctx.wall);
  const bool ok = edit_or_reply(ctx, dst, kSet, [&](store::Store::CollectionEdit& e) {
    e.collection.clear();
    for (const auto& key : result) e.collection.add(key.name, e.dot, e.stamp);
    return true;
  });
  if (!ok) return Outcome::done();
  st->clear_expiry(dst, ctx.wall);
  watch.created();
  notify(ctx, kNotifySet, event, dst);
  ctx.reply.integer(static_cast<std::int64_t>(result.size()));
  return Outcome::done();
}
Outcome sinterstore(CommandContext& ctx) {
  return algebra_store(ctx, Algebra::inter, "sinterstore");
}
Outcome sunionstore(CommandContext& ctx) {
  return algebra_store(ctx, Algebra::unite, "sunionstore");
}
Outcome sdiffstore(CommandContext& ctx) { return algebra_store(ctx, Algebra::diff, "sdiffstore"); }

// SINTERCARD numkeys key [key ...] [LIMIT limit], with Redis's own error texts: numkeys that
// is not a positive integer, more keys than arguments, a LIMIT that is not a non-negative
// integer; the options are read before any key is looked at.
Outcome sintercard(CommandContext& ctx) {
  const auto numkeys = to_int(ctx.argv[1]);
  if (!numkeys || *numkeys < 1) {
    ctx.reply.error("numkeys should be greater than 0");
    return Outcome::done();
  }
  if (static_cast<std::uint64_t>(*numkeys) > ctx.argv.size() - 2) {
    ctx.reply.error("Number of keys can't be greater than number of args");
    return Outcome::done();
  }
  const auto keys_end = 2 + static_cast<std::size_t>(*numkeys);
  std::int64_t limit = 0;
  for (std::size_t j = keys_end; j < ctx.argv.size(); ++j) {
    if (iequals(ctx.argv[j], "LIMIT") && j + 1 < ctx.argv.size()) {
      const auto n = to_int(ctx.argv[++j]);
      if (!n || *n < 0) {
        ctx.reply.error("LIMIT can't be negative");
        return Outcome::done();
      }
      limit = *n;
    } else {
      ctx.reply.error(kSyntaxError);
      return Outcome::done();
    }
  }
  const auto result =
      intersection(ctx, ctx.argv.subspan(2, keys_end - 2), static_cast<std::size_t>(limit));
  if (result) ctx.reply.integer(static_cast<std::int64_t>(result->size()));
  return Outcome::done();
}

constexpr std::uint32_t kW = kWrite;
constexpr std::uint32_t kR = kReadonly;

}  // namespace

void register_set_commands(CommandTable& t) {
  const auto S = [&](const char* name, int arity, std::uint32_t flags, int first, int last,
                     std::string_view acl, std::string_view key_flags, std::string_view summary,
                     std::string_view since, std::string_view complexity, CommandHandler h) {
    t.add(make_spec({name, arity, flags, first, last, 1, acl, key_flags, "set", summary, since,
                     complexity, h}));
  };
  constexpr std::string_view kWriteFast = "@write @set @fast";
  constexpr std::string_view kWriteSlow = "@write @set @slow";
  constexpr std::string_view kReadFast = "@read @set @fast";
  constexpr std::string_view kReadSlow = "@read @set @slow";
  constexpr std::string_view kInterCost =
      "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of "
      "sets.";
  constexpr std::string_view kAllCost =
      "O(N) where N is the total number of elements in all given sets.";
  S("sadd", -3, kW | kDenyOom | kFast, 1, 1, kWriteFast, "RW insert",
    "Add one or more members to a set", "1.0.0",
    "O(1) for each element added, so O(N) to add N elements when the command is called with "
    "multiple arguments.",
    sadd);
  S("srem", -3, kW | kFast, 1, 1, kWriteFast, "RW delete", "Remove one or more members from a set",
    "1.0.0", "O(N) where N is the number of members to be removed.", srem);
  S("smembers", 2, kR, 1, 1, kReadSlow, "RO access", "Get all the members in a set", "1.0.0",
    "O(N) where N is the set cardinality.", smembers);
  S("sismember", 3, kR | kFast, 1, 1, kReadFast, "RO",
    "Determine if a given value is a member of a set", "1.0.0", "O(1)", sismember);
  S("smismember", -3, kR | kFast, 1, 1, kReadFast, "RO access",
    "Returns the membership associated with the given elements for a set", "6.2.0",
    "O(N) where N is the number of elements being checked for membership", smismember);
  S("scard", 2, kR | kFast, 1, 1, kReadFast, "RO", "Get the number of members in a set", "1.0.0",
    "O(1)", scard);
  S("spop", -2, kW | kFast, 1, 1, kWriteFast, "RW access delete",
    "Remove and return one or multiple random members from a set", "1.0.0",
    "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.",
    spop);
  S("srandmember", -2, kR, 1, 1, kReadSlow, "RO access",
    "Get one or multiple random members from a set", "1.0.0",
    "Without the count argument O(1), otherwise O(N) where N is the absolute value of the "
    "passed count.",
    srandmember);
  // Redis gives SMOVE two key specs (source "RW access delete", destination "RW insert") and
  // the *STORE commands two (destination, sources); a CommandSpec holds one, the first.
  S("smove", 4, kW | kFast, 1, 2, kWriteFast, "RW access delete",
    "Move a member from one set to another", "1.0.0", "O(1)", smove);
  S("sinter", -2, kR, 1, -1, kReadSlow, "RO access", "Intersect multiple sets", "1.0.0", kInterCost,
    sinter);
  // Redis's legacy key range is 0 0 0: movable keys, counted by numkeys (numkeys_index 1).
  t.add(make_spec({"sintercard", -3, kR | kMovableKeys, 0, 0, 0, kReadSlow, "RO access", "set",
                   "Intersect multiple sets and return the cardinality of the result", "7.0.0",
                   kInterCost, sintercard, 1}));
  S("sinterstore", -3, kW | kDenyOom, 1, -1, kWriteSlow, "RW update",
    "Intersect multiple sets and store the resulting set in a key", "1.0.0", kInterCost,
    sinterstore);
  S("sunion", -2, kR, 1, -1, kReadSlow, "RO access", "Add multiple sets", "1.0.0", kAllCost,
    sunion);
  S("sunionstore", -3, kW | kDenyOom, 1, -1, kWriteSlow, "OW update",
    "Add multiple sets and store the resulting set in a key", "1.0.0", kAllCost, sunionstore);
  S("sdiff", -2, kR, 1, -1, kReadSlow, "RO access", "Subtract multiple sets", "1.0.0", kAllCost,
    sdiff);
  S("sdiffstore", -3, kW | kDenyOom, 1, -1, kWriteSlow, "OW update",
    "Subtract multiple sets and store the resulting set in a key", "1.0.0", kAllCost, sdiffstore);
  S("sscan", -3, kR, 1, 1, kReadSlow, "RO access", "Incrementally iterate Set elements", "2.8.0",
    "O(1) for every call. O(N) for a complete iteration, including enough command calls for the "
    "cursor to return back to 0. N is the number of elements inside the collection..",
    sscan);
}

}  // namespace apiary::resp
