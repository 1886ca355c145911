// SORT and SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
// [STORE destination] on lists, sets and sorted sets, as Redis 7.0's sort.c does it, with the
// BY and GET patterns restricted as Redis Cluster (7.4) restricts them: a pattern is accepted
// when every key it can form is in the sorted key's partition (its hash tag, before any
// wildcard, names that partition), and those keys are read from this node, the coordinator of
// that partition. STORE writes a list (or deletes the destination) at this coordinator; the
// router sends SORT to the coordinator of the key and of the destination, and answers
// CROSSSLOT when they differ (sort_keys() tells it where the destination is).
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "apiary/data/partition.hpp"
#include "apiary/resp/server.hpp"
#include "commands.hpp"
#include "keyspace_notify.hpp"
#include "restore_support.hpp"
#include "store_access.hpp"

namespace apiary::resp {
namespace {

using data::Collection;

// A string as C sees it (Redis's patterns go through strchr/strstr): up to its first NUL.
std::string_view c_string(std::string_view s) { return s.substr(0, s.find('\0')); }

// The part of a pattern that decides the partition of every key it can form, as Redis's
// patternHashSlot: nullopt when a wildcard ('*', '?', '[') or an escape comes before a
// complete hash tag, or the tag is empty ("{}": the whole key is hashed, so any partition).
std::optional<std::string_view> pattern_hash_part(std::string_view pattern) {
  std::size_t open = std::string_view::npos;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '*' || c == '?' || c == '[' || c == '\\') return std::nullopt;
    if (open == std::string_view::npos && c == '{') {
      open = i;
    } else if (open != std::string_view::npos && c == '}') {
      if (i == open + 1) return std::nullopt;
      return pattern.substr(open + 1, i - open - 1);
    }
  }
  return pattern;
}

bool same_partition(const store::Store& st, std::string_view pattern, std::string_view key) {
  const auto part = pattern_hash_part(pattern);
  if (!part) return false;
  const std::uint32_t count = st.config().partition_count;
  return data::partition_of_hash(data::key_hash(*part), count) == data::partition_of(key, count);
}

struct SortOptions {
  bool desc = false;
  bool alpha = false;
  bool dontsort = false;
  std::int64_t limit_start = 0;
  std::int64_t limit_count = -1;
  std::optional<std::string_view> by;
  std::optional<std::string_view> store;
  std::vector<std::string_view> gets;
};

// The options as sortCommandGeneric reads them, left to right; false after replying.
bool parse_sort(CommandContext& ctx, const store::Store& st, bool readonly, SortOptions& o) {
  const std::string_view key = ctx.argv[1];
  for (std::size_t j = 2; j < ctx.argv.size(); ++j) {
    const std::string_view a = ctx.argv[j];
    const std::size_t left = ctx.argv.size() - j - 1;
    if (iequals(a, "ASC")) {
      o.desc = false;
    } else if (iequals(a, "DESC")) {
      o.desc = true;
    } else if (iequals(a, "ALPHA")) {
      o.alpha = true;
    } else if (iequals(a, "LIMIT") && left >= 2) {
      const auto from = to_int(ctx.argv[j + 1]);
      const auto count = from ? to_int(ctx.argv[j + 2]) : std::nullopt;
      if (!from || !count) return ctx.reply.error(kNotInteger), false;
      o.limit_start = *from;
      o.limit_count = *count;
      j += 2;
    } else if (!readonly && iequals(a, "STORE") && left >= 1) {
      o.store = ctx.argv[++j];
    } else if (iequals(a, "BY") && left >= 1) {
      o.by = ctx.argv[++j];
      if (c_string(*o.by).find('*') == std::string_view::npos) {
        o.dontsort = true;  // a constant: nothing to sort by, nothing to look up
      } else if (!same_partition(st, *o.by, key)) {
        ctx.reply.error(
            "BY option of SORT denied in Cluster mode when keys formed by the pattern may be in "
            "different slots.");
        return false;
      }
    } else if (iequals(a, "GET") && left >= 1) {
      const std::string_view pattern = ctx.argv[++j];
      if (c_string(pattern) != "#" && !same_partition(st, pattern, key)) {
        ctx.reply.error(
            "GET option of SORT denied in Cluster mode when keys formed by the pattern may be "
            "in different slots.");
        return false;
      }
      o.gets.push_back(pattern);
    } else {
      return ctx.reply.error(kSyntaxError), false;
    }
  }
  return true;
}

// lookupKeyByPattern: "#" is the element itself; otherwise the first '*' is replaced by the
// element and the key read -- a string, or with "->field" (a non-empty field after the '*')
// that field of a hash. nullopt when there is no '*', no such key, or a key of another type.
// A missing key is a "keymiss" event (Redis reads it with lookupKeyRead).
std::optional<std::string> lookup(CommandContext& ctx, store::Store& st, std::string_view pattern,
                                  std::string_view element) {
  const WallTime now = ctx.wall;
  const std::string_view c = c_string(pattern);
  if (c == "#") return std::string(element);
  const std::size_t star = c.find('*');
  if (star == std::string_view::npos) return std::nullopt;
  std::string_view field;
  std::size_t arrow = c.find("->", star + 1);
  if (arrow != std::string_view::npos && arrow + 2 < c.size()) {
    field = pattern.substr(arrow + 2);
  } else {
    arrow = pattern.size();
  }
  std::string key(pattern.substr(0, star));
  key.append(element);
  key.append(pattern.substr(star + 1, arrow - star - 1));
  if (field.empty()) {
    bool wrong = false;
    auto v = st.get_value(key, now, &wrong);
    if (!v && !wrong) notify_keymiss(ctx, key);
    if (!v) return std::nullopt;
    return std::string(*v);
  }
  bool wrong = false;
  const Collection* h = st.read_collection(key, data::ValueKind::hash, now, wrong);
  if (h == nullptr && !wrong) notify_keymiss(ctx, key);
  if (h == nullptr) return std::nullopt;
  auto e = h->find(field);
  if (!e) return std::nullopt;
  std::string scratch;
  return std::string(e->value(scratch));
}

struct Item {
  std::string element;
  double score = 0;
  std::optional<std::string> by;  // ALPHA with BY: the value sorted by (none sorts first)
};

// The elements of the key in the order SORT starts from: a list head to tail, a sorted set by
// rank (score, then member), a set in the store's order.
std::vector<Item> load(const Collection& c) {
  std::vector<Item> out;
  out.reserve(c.size());
  if (c.kind() == data::ValueKind::zset) {
    for (const auto& e : c.scores().range(0, c.size(), false)) {
      out.push_back(Item{std::string(e.member), 0, std::nullopt});
    }
    return out;
  }
  std::string scratch;
  for (const data::ElementView e : c) {
    out.push_back(Item{std::string(c.kind() == data::ValueKind::list ? e.value(scratch) : e.name()),
                       0, std::nullopt});
  }
  return out;
}

// Redis's strtod check: the whole C string a number, no ERANGE, not NaN.
bool parse_score(const std::string& text, double& out) {
  const std::string c(c_string(text));
  char* end = nullptr;
  errno = 0;
  out = std::strtod(c.c_str(), &end);
  return *end == '\0' && errno != ERANGE && !std::isnan(out);
}

int compare_bytes(std::string_view a, std::string_view b) { return a.compare(b); }

// sortCompare, with a stable sort for the ties Redis's qsort leaves in no particular order.
void sort_items(std::vector<Item>& items, const SortOptions& o) {
  const bool by = o.by.has_value();
  std::stable_sort(items.begin(), items.end(), [&](const Item& x, const Item& y) {
    int cmp = 0;
    if (!o.alpha) {
      cmp = x.score > y.score ? 1 : x.score < y.score ? -1 : compare_bytes(x.element, y.element);
    } else if (by) {
      if (!x.by || !y.by) {
        cmp = x.by.has_value() == y.by.has_value() ? 0 : !x.by ? -1 : 1;
      } else {
        cmp = compare_bytes(*x.by, *y.by);
      }
    } else {
      cmp = compare_bytes(x.element, y.element);
    }
    return (o.desc ? -cmp : cmp) < 0;
  });
}

Outcome sort_generic(CommandContext& ctx, bool readonly) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  SortOptions o;
  if (!parse_sort(ctx, *st, readonly, o)) return Outcome::done();
  const std::string_view key = ctx.argv[1];
  const store::KeyType type = st->type(key, ctx.wall);
  if (type != store::KeyType::none && type != store::KeyType::list && type != store::KeyType::set &&
      type != store::KeyType::zset) {
    ctx.reply.error(kWrongType);
    return Outcome::done();
  }
  if (type == store::KeyType::none) notify_keymiss(ctx, key);
  std::vector<Item> items;
  if (type != store::KeyType::none) {
    bool wrong = false;
    const Collection* c = st->read_collection(key, store::collection_kind(type), ctx.wall, wrong);
    if (c != nullptr) items = load(*c);
  }
  // A set has no order of its own: stored, it is sorted as ALPHA (as Redis does, so that a
  // replica stores the same list).
  if (o.dontsort && type == store::KeyType::set && o.store) {
    o.dontsort = false;
    o.alpha = true;
    o.by.reset();
  }
  const auto n = static_cast<std::int64_t>(items.size());
  std::int64_t start = std::min(std::max<std::int64_t>(o.limit_start, 0), n);
  const std::int64_t count = std::min(std::max<std::int64_t>(o.limit_count, -1), n);
  std::int64_t end = count < 0 ? n - 1 : start + count - 1;
  if (start >= n) {
    start = n - 1;
    end = n - 2;
  }
  if (end >= n) end = n - 1;
  bool conversion_error = false;
  if (o.dontsort) {
    // A list or sorted set in its own order, reversed by DESC; a set as it comes (its order
    // is the store's, as in Redis it is the hash table's: DESC changes nothing).
    if (o.desc && type != store::KeyType::set) std::reverse(items.begin(), items.end());
  } else {
    for (Item& item : items) {
      std::optional<std::string> by_value;
      if (o.by) {
        by_value = lookup(ctx, *st, *o.by, item.element);
        if (!by_value) continue;
      }
      const std::string& value = o.by ? *by_value : item.element;
      if (o.alpha) {
        if (o.by) item.by = std::move(by_value);
      } else if (!parse_score(value, item.score)) {
        conversion_error = true;
      }
    }
    sort_items(items, o);
  }
  if (conversion_error) {
    ctx.reply.error("One or more scores can't be converted into double");
    return Outcome::done();
  }
  const std::size_t selected = end >= start ? static_cast<std::size_t>(end - start + 1) : 0;
  const std::size_t output = o.gets.empty() ? selected : o.gets.size() * selected;
  std::vector<std::optional<std::string>> values;
  values.reserve(output);
  for (std::int64_t j = start; j <= end; ++j) {
    const std::string& element = items[static_cast<std::size_t>(j)].element;
    if (o.gets.empty()) values.emplace_back(element);
    for (const std::string_view pattern : o.gets) {
      values.push_back(lookup(ctx, *st, pattern, element));
    }
  }
  if (!o.store) {
    ctx.reply.array(values.size());
    for (const auto& v : values) {
      if (v) {
        ctx.reply.bulk(*v);
      } else {
        ctx.reply.null();
      }
    }
    return Outcome::done();
  }
  if (values.empty()) {
    if (st->del_local(*o.store, ctx.wall)) notify(ctx, kNotifyGeneric, "del", *o.store);
  } else {
    NewKeyWatch watch(ctx, *st, *o.store);
    persist::RdbListKey list;
    list.elements.reserve(values.size());
    for (auto& v : values) list.elements.push_back(v ? std::move(*v) : std::string());
    if (Status s = replace_value(*st, *o.store, list, std::nullopt, ctx.wall); !s.ok()) {
      reply_write_error(ctx, s);
      return Outcome::done();
    }
    watch.created();
    notify(ctx, kNotifyList, "sortstore", *o.store);
  }
  ctx.reply.integer(static_cast<std::int64_t>(output));
  return Outcome::done();
}

Outcome sort(CommandContext& ctx) { return sort_generic(ctx, false); }
Outcome sort_ro(CommandContext& ctx) { return sort_generic(ctx, true); }

// sortGetKeys: the key, and the destination of the last STORE, skipping the arguments of
// LIMIT, GET and BY (so "GET store" names no destination).
std::vector<std::size_t> sort_keys(std::span<const std::string_view> argv) {
  std::vector<std::size_t> keys;
  if (argv.size() < 2) return keys;
  keys.push_back(1);
  std::size_t store = 0;
  for (std::size_t i = 2; i < argv.size(); ++i) {
    if (iequals(argv[i], "LIMIT")) {
      i += 2;
    } else if (iequals(argv[i], "GET") || iequals(argv[i], "BY")) {
      i += 1;
    } else if (iequals(argv[i], "STORE") && i + 1 < argv.size()) {
      store = i + 1;
    }
  }
  if (store != 0) keys.push_back(store);
  return keys;
}

std::vector<std::size_t> sort_ro_keys(std::span<const std::string_view> argv) {
  if (argv.size() < 2) return {};
  return {1};
}

}  // namespace

void register_sort_commands(CommandTable& t) {
  constexpr std::string_view kComplexity =
      "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the "
      "number of returned elements. When the elements are not sorted, complexity is O(N).";
  CommandSpec s =
      make_spec({"sort", -2, kWrite | kDenyOom | kMovableKeys, 1, 1, 1,
                 "@write @set @sortedset @list @slow @dangerous", "RO access", "generic",
                 "Sort the elements in a list, set or sorted set", "1.0.0", kComplexity, sort});
  s.find_keys = sort_keys;
  t.add(std::move(s));
  CommandSpec ro =
      make_spec({"sort_ro", -2, kReadonly | kMovableKeys, 1, 1, 1,
                 "@read @set @sortedset @list @slow @dangerous", "RO access", "generic",
                 "Sort the elements in a list, set or sorted set. Read-only variant "
                 "of SORT.",
                 "7.0.0", kComplexity, sort_ro});
  ro.find_keys = sort_ro_keys;
  t.add(std::move(ro));
}

}  // namespace apiary::resp
