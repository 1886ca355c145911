#include "command_docs.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <string>

#include "apiary/resp/request_parser.hpp"

namespace apiary::resp {
namespace {

// One parsed RESP3 value of the recorded tables (arrays, maps, sets, simple and bulk strings,
// integers, nulls), with the bytes it was read from.
struct Value {
  char type = 0;
  std::string_view text;  // simple or bulk string
  std::int64_t integer = 0;
  std::vector<Value> items;  // aggregates; a map's keys and values alternate
  std::string_view raw;

  const Value* get(std::string_view key) const {
    if (type != '%') return nullptr;
    for (std::size_t i = 0; i + 1 < items.size(); i += 2) {
      if (items[i].text == key) return &items[i + 1];
    }
    return nullptr;
  }
  int get_int(std::string_view key) const {
    const Value* v = get(key);
    return v != nullptr ? static_cast<int>(v->integer) : 0;
  }
};

// Reads the header line at `pos`: its type and the text after it.
bool header(std::string_view s, std::size_t& pos, char& type, std::string_view& rest) {
  const std::size_t end = s.find("\r\n", pos);
  if (pos >= s.size() || end == std::string_view::npos) return false;
  type = s[pos];
  rest = s.substr(pos + 1, end - pos - 1);
  pos = end + 2;
  return true;
}

bool number(std::string_view s, std::int64_t& out) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parse(std::string_view s, std::size_t& pos, Value& out) {
  const std::size_t start = pos;
  std::string_view rest;
  if (!header(s, pos, out.type, rest)) return false;
  std::int64_t n = 0;
  switch (out.type) {
    case '+':
      out.text = rest;
      break;
    case '_':
      break;
    case ':':
      if (!number(rest, out.integer)) return false;
      break;
    case '$':
      if (!number(rest, n) || n < 0 || pos + static_cast<std::size_t>(n) + 2 > s.size()) {
        return false;
      }
      out.text = s.substr(pos, static_cast<std::size_t>(n));
      pos += static_cast<std::size_t>(n) + 2;
      break;
    case '*':
    case '~':
    case '%':
      if (!number(rest, n) || n < 0) return false;
      if (out.type == '%') n *= 2;
      out.items.resize(static_cast<std::size_t>(n));
      for (Value& item : out.items) {
        if (!parse(s, pos, item)) return false;
      }
      break;
    default:
      return false;
  }
  out.raw = s.substr(start, pos - start);
  return true;
}

bool has_flag(const Value& flags, std::string_view name) {
  return std::any_of(flags.items.begin(), flags.items.end(),
                     [&](const Value& f) { return f.text == name; });
}

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lo = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lo(a[i]) != lo(b[i])) return false;
  }
  return true;
}

}  // namespace

const CommandDocsEntry* find_command_docs(std::string_view name) {
  const auto all = redis_command_docs();
  const auto it =
      std::lower_bound(all.begin(), all.end(), name,
                       [](const CommandDocsEntry& e, std::string_view n) { return e.name < n; });
  return it != all.end() && it->name == name ? &*it : nullptr;
}

std::size_t write_resp3_value(ReplyWriter& reply, std::string_view resp3) {
  std::size_t pos = 0;
  char type = 0;
  std::string_view rest;
  if (!header(resp3, pos, type, rest)) return 0;
  std::int64_t n = 0;
  switch (type) {
    case '+':
      reply.simple(rest);
      return pos;
    case '_':
      reply.null();
      return pos;
    case ':':
      if (!number(rest, n)) return 0;
      reply.integer(n);
      return pos;
    case '$':
      if (!number(rest, n) || n < 0 || pos + static_cast<std::size_t>(n) + 2 > resp3.size()) {
        return 0;
      }
      reply.bulk(resp3.substr(pos, static_cast<std::size_t>(n)));
      return pos + static_cast<std::size_t>(n) + 2;
    case '*':
    case '~':
    case '%': {
      if (!number(rest, n) || n < 0) return 0;
      const auto count = static_cast<std::size_t>(n);
      if (type == '*') reply.array(count);
      if (type == '~') reply.set(count);
      if (type == '%') reply.map(count);
      for (std::size_t i = 0; i < (type == '%' ? 2 * count : count); ++i) {
        const std::size_t used = write_resp3_value(reply, resp3.substr(pos));
        if (used == 0) return 0;
        pos += used;
      }
      return pos;
    }
    default:
      return 0;
  }
}

std::vector<KeySpec> parse_key_specs(const CommandDocsEntry& entry) {
  std::vector<KeySpec> out;
  Value info;
  std::size_t pos = 0;
  if (!parse(entry.info, pos, info) || info.items.size() != 2) return out;
  for (const Value& v : info.items[1].items) {
    KeySpec spec;
    const Value* flags = v.get("flags");
    const Value* bs = v.get("begin_search");
    const Value* fk = v.get("find_keys");
    if (flags == nullptr || bs == nullptr || fk == nullptr) continue;
    spec.flags = flags->raw;
    spec.not_key = has_flag(*flags, "not_key");
    spec.incomplete = has_flag(*flags, "incomplete");
    spec.variable_flags = has_flag(*flags, "variable_flags");
    const Value* bs_type = bs->get("type");
    const Value* bs_spec = bs->get("spec");
    const Value* fk_type = fk->get("type");
    const Value* fk_spec = fk->get("spec");
    if (bs_type == nullptr || bs_spec == nullptr || fk_type == nullptr || fk_spec == nullptr) {
      continue;
    }
    spec.unknown = (bs_type->text != "index" && bs_type->text != "keyword") ||
                   (fk_type->text != "range" && fk_type->text != "keynum");
    spec.by_keyword = bs_type->text == "keyword";
    spec.index = bs_spec->get_int("index");
    if (const Value* k = bs_spec->get("keyword")) spec.keyword = k->text;
    spec.startfrom = bs_spec->get_int("startfrom");
    spec.by_keynum = fk_type->text == "keynum";
    spec.lastkey = fk_spec->get_int("lastkey");
    spec.keystep = fk_spec->get_int("keystep");
    spec.limit = fk_spec->get_int("limit");
    spec.keynumidx = fk_spec->get_int("keynumidx");
    spec.firstkey = fk_spec->get_int("firstkey");
    out.push_back(spec);
  }
  return out;
}

std::optional<std::vector<FoundKey>> keys_by_specs(const std::vector<KeySpec>& specs,
                                                   std::span<const std::string_view> argv) {
  std::vector<FoundKey> out;
  const auto argc = static_cast<std::int64_t>(argv.size());
  for (const KeySpec& spec : specs) {
    if (spec.not_key || spec.unknown) continue;
    std::int64_t first = 0;
    if (!spec.by_keyword) {
      first = spec.index;
    } else {
      const std::int64_t start = spec.startfrom > 0 ? spec.startfrom : argc + spec.startfrom;
      const std::int64_t end = spec.startfrom > 0 ? argc - 1 : 1;
      for (std::int64_t i = start; i != end; i = start <= end ? i + 1 : i - 1) {
        if (i >= argc || i < 1) break;
        if (ieq(argv[static_cast<std::size_t>(i)], spec.keyword)) {
          first = i + 1;
          break;
        }
      }
      if (first == 0) continue;  // keyword absent: this spec names no key
    }
    std::int64_t last = 0, step = 1;
    if (!spec.by_keynum) {
      step = spec.keystep;
      if (spec.lastkey >= 0) {
        last = first + spec.lastkey;
      } else if (spec.limit == 0) {
        last = argc + spec.lastkey;
      } else {
        last = first + ((argc - first) / spec.limit + spec.lastkey);
      }
    } else {
      step = spec.keystep;
      const std::int64_t at = first + spec.keynumidx;
      if (spec.keynumidx >= argc || at >= argc) return std::nullopt;
      std::int64_t numkeys = 0;  // string2ll: strict decimal
      if (!parse_int64(argv[static_cast<std::size_t>(at)], numkeys) || numkeys < 0) {
        return std::nullopt;
      }
      first += spec.firstkey;
      last = first + static_cast<std::int32_t>(numkeys) - 1;  // Redis casts the count to int
    }
    if (last >= argc || last < first || first >= argc) return std::nullopt;
    if (step <= 0) return std::nullopt;
    for (std::int64_t i = first; i <= last; i += step) {
      out.push_back({static_cast<std::size_t>(i), spec.flags});
    }
    // An incomplete spec (SORT's STORE) keeps what it found, as Redis's own key finders do.
  }
  return out;
}

}  // namespace apiary::resp

namespace apiary::resp {

std::string_view variable_key_flags(std::string_view command, std::string_view spec_flags,
                                    std::span<const std::string_view> argv) {
  static constexpr std::string_view kRwAccessUpdate = "~3\r\n+RW\r\n+access\r\n+update\r\n";
  if (command == "set") {
    // SET ... GET reads the old value; without GET it overwrites.
    for (std::size_t i = 3; i < argv.size(); ++i) {
      if (ieq(argv[i], "GET")) return kRwAccessUpdate;
    }
    return "~2\r\n+OW\r\n+update\r\n";
  }
  if (command == "bitfield") {
    // Read-only while every operation is a complete GET or OVERFLOW.
    for (std::size_t i = 2; i < argv.size(); ++i) {
      const std::size_t more = argv.size() - i - 1;
      if (ieq(argv[i], "GET") && more >= 2) {
        i += 2;
      } else if (ieq(argv[i], "OVERFLOW") && more >= 1) {
        i += 1;
      } else {
        return kRwAccessUpdate;
      }
    }
    return "~2\r\n+RO\r\n+access\r\n";
  }
  return spec_flags;
}

namespace {

// MIGRATE's keys as Redis 7.0 finds them. Its key specs first: the key argument, plus what
// follows a KEYS searched from the next-to-last argument back; that second spec is
// "incomplete", so when it finds a KEYS Redis asks migrateGetKeys instead: the key argument,
// or every argument after KEYS (none when the key argument is not empty then), skipping the
// arguments of AUTH and AUTH2 in the search for KEYS.
std::vector<FoundKey> migrate_keys(std::span<const std::string_view> argv) {
  constexpr std::string_view kFlags = "~3\r\n+RW\r\n+access\r\n+delete\r\n";
  bool keyword = false;
  for (std::size_t i = 2; i + 1 < argv.size(); ++i) keyword = keyword || ieq(argv[i], "KEYS");
  if (!keyword) return {{3, kFlags}};
  std::size_t first = 3;
  std::size_t num = 1;
  for (std::size_t i = 6; i < argv.size(); ++i) {
    if (ieq(argv[i], "KEYS")) {
      if (!argv[3].empty()) return {};
      first = i + 1;
      num = argv.size() - first;
      break;
    }
    if (ieq(argv[i], "AUTH")) {
      i += 1;
    } else if (ieq(argv[i], "AUTH2")) {
      i += 2;
    }
  }
  std::vector<FoundKey> keys;
  for (std::size_t k = 0; k < num && first + k < argv.size(); ++k) {
    keys.push_back({first + k, kFlags});
  }
  return keys;
}

}  // namespace

std::optional<std::vector<FoundKey>> keys_by_code(std::string_view command,
                                                  std::span<const std::string_view> argv) {
  if (command == "migrate") return migrate_keys(argv);
  if (command != "sort") return std::nullopt;
  std::vector<FoundKey> keys{{1, "~2\r\n+RO\r\n+access\r\n"}};
  std::optional<FoundKey> store;
  for (std::size_t i = 2; i < argv.size(); ++i) {
    if (ieq(argv[i], "LIMIT")) {
      i += 2;
    } else if (ieq(argv[i], "GET") || ieq(argv[i], "BY")) {
      i += 1;
    } else if (ieq(argv[i], "STORE") && i + 1 < argv.size()) {
      store = FoundKey{i + 1, "~2\r\n+OW\r\n+update\r\n"};  // the last STORE counts
    }
  }
  if (store) keys.push_back(*store);
  return keys;
}

namespace {

// C's atoi, as Redis's key finders read a key count: leading spaces, a sign, the digits up to
// the first other character, strtol's saturation, then the cut to int.
int c_atoi(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r'))) ++i;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  std::int64_t v = 0;
  bool saturated = false;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    if (v > (std::numeric_limits<std::int64_t>::max() - (s[i] - '0')) / 10) {
      saturated = true;
      break;
    }
    v = v * 10 + (s[i] - '0');
  }
  if (saturated) {
    v = negative ? std::numeric_limits<std::int64_t>::min()
                 : std::numeric_limits<std::int64_t>::max();
  } else if (negative) {
    v = -v;
  }
  return static_cast<std::int32_t>(v);
}

struct NumkeysFinder {
  std::string_view command;
  std::size_t count_at;  // the key count's index
  std::size_t first;     // the first key's index
  bool destination;      // argv[1] is a destination, listed after the keys
};

constexpr NumkeysFinder kNumkeysFinders[] = {
    {"zunion", 1, 2, false},     {"zinter", 1, 2, false},     {"zdiff", 1, 2, false},
    {"zunionstore", 2, 3, true}, {"zinterstore", 2, 3, true}, {"zdiffstore", 2, 3, true},
    {"sintercard", 1, 2, false}, {"zintercard", 1, 2, false}, {"lmpop", 1, 2, false},
    {"zmpop", 1, 2, false},      {"blmpop", 2, 3, false},     {"bzmpop", 2, 3, false},
};

}  // namespace

std::optional<std::vector<FoundKey>> keys_by_numkeys_code(std::string_view command,
                                                          std::span<const std::string_view> argv) {
  static constexpr std::string_view kNoFlags = "~0\r\n";  // these finders flag nothing
  for (const NumkeysFinder& f : kNumkeysFinders) {
    if (f.command != command) continue;
    if (argv.size() <= f.count_at) return std::nullopt;
    const int n = c_atoi(argv[f.count_at]);
    const auto available =
        static_cast<std::int64_t>(argv.size()) - static_cast<std::int64_t>(f.first);
    if (n < 1 || n > available) return std::vector<FoundKey>{};
    std::vector<FoundKey> keys;
    for (std::size_t i = f.first; i < f.first + static_cast<std::size_t>(n); ++i) {
      keys.push_back({i, kNoFlags});
    }
    if (f.destination) keys.push_back({1, kNoFlags});
    return keys;
  }
  return std::nullopt;
}

}  // namespace apiary::resp
