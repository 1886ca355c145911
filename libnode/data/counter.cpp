#include "apiary/data/counter.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace apiary::data {

namespace {

// Sums of int64 entries are taken in 128 bits so that a merge past the int64 range is seen.
__extension__ typedef __int128 Int128;
__extension__ typedef unsigned __int128 UInt128;

// Layout (little endian):
//   u32 text_len | text | u8 is_float | u64 tag.stamp | u64 tag.writer | number base |
//   u32 n | n x (u64 actor | u64 seq | number sum)
// number: i64 for integer counters; u16 len + "%La" text for float counters (exact).
void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_float(std::string& out, long double v) {
  char buf[64];
  const int n = std::snprintf(buf, sizeof(buf), "%La", v);
  const auto len = static_cast<std::uint16_t>(n > 0 ? n : 0);
  out.push_back(static_cast<char>(len & 0xff));
  out.push_back(static_cast<char>(len >> 8));
  out.append(buf, len);
}

struct Reader {
  std::string_view in;
  std::size_t pos = 0;
  bool ok = true;

  std::uint64_t uint(int bytes) {
    if (in.size() - pos < static_cast<std::size_t>(bytes)) {
      ok = false;
      return 0;
    }
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) {
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[pos + i])) << (8 * i);
    }
    pos += static_cast<std::size_t>(bytes);
    return v;
  }
  std::string_view bytes(std::size_t n) {
    if (in.size() - pos < n) {
      ok = false;
      return {};
    }
    auto v = in.substr(pos, n);
    pos += n;
    return v;
  }
  long double floating() {
    const auto len = static_cast<std::size_t>(uint(2));
    const std::string text(bytes(len));
    if (!ok || text.empty()) {
      ok = false;
      return 0;
    }
    char* end = nullptr;
    const long double v = std::strtold(text.c_str(), &end);
    if (end != text.c_str() + text.size() || !std::isfinite(v)) ok = false;
    return v;
  }
};

BaseTag tag_of(const Sibling& s, const Counter* c) {
  return c != nullptr ? c->tag : BaseTag{s.stamp, s.writer()};
}

}  // namespace

std::string encode_counter(const Counter& c) {
  std::string out;
  out.reserve(4 + c.text.size() + 32 + c.entries.size() * 24);
  put_u32(out, static_cast<std::uint32_t>(c.text.size()));
  out.append(c.text);
  out.push_back(c.is_float ? 1 : 0);
  put_u64(out, c.tag.stamp.packed);
  put_u64(out, c.tag.writer.value);
  if (c.is_float) {
    put_float(out, c.fbase);
  } else {
    put_u64(out, static_cast<std::uint64_t>(c.base));
  }
  put_u32(out, static_cast<std::uint32_t>(c.entries.size()));
  for (const auto& e : c.entries) {
    put_u64(out, e.actor.value);
    put_u64(out, e.seq.packed);
    if (c.is_float) {
      put_float(out, e.fsum);
    } else {
      put_u64(out, static_cast<std::uint64_t>(e.sum));
    }
  }
  return out;
}

std::optional<Counter> decode_counter(std::string_view bytes) {
  Reader r{bytes};
  Counter c;
  const auto text_len = static_cast<std::size_t>(r.uint(4));
  c.text = std::string(r.bytes(text_len));
  const auto is_float = r.uint(1);
  c.is_float = is_float == 1;
  c.tag.stamp.packed = r.uint(8);
  c.tag.writer.value = r.uint(8);
  if (c.is_float) {
    c.fbase = r.floating();
  } else {
    c.base = static_cast<std::int64_t>(r.uint(8));
  }
  const auto n = static_cast<std::size_t>(r.uint(4));
  if (!r.ok || is_float > 1 || n > kMaxCounterEntries) return std::nullopt;
  c.entries.resize(n);
  for (auto& e : c.entries) {
    e.actor.value = r.uint(8);
    e.seq.packed = r.uint(8);
    if (c.is_float) {
      e.fsum = r.floating();
    } else {
      e.sum = static_cast<std::int64_t>(r.uint(8));
    }
    if (!r.ok) return std::nullopt;
  }
  // One entry per actor, sorted: what merges rely on.
  for (std::size_t i = 1; i < n; ++i) {
    if (!(c.entries[i - 1].actor < c.entries[i].actor)) return std::nullopt;
  }
  if (r.pos != bytes.size()) return std::nullopt;
  return c;
}

std::string_view counter_text(std::string_view bytes) {
  Reader r{bytes};
  const auto len = static_cast<std::size_t>(r.uint(4));
  const auto text = r.bytes(len);
  return r.ok ? text : std::string_view();
}

bool has_counter(std::span<const Sibling> siblings) {
  return std::any_of(siblings.begin(), siblings.end(),
                     [](const Sibling& s) { return s.kind == ValueKind::counter; });
}

std::optional<std::int64_t> counter_total(const Counter& c) {
  Int128 total = c.base;
  for (const auto& e : c.entries) total += e.sum;
  if (total > std::numeric_limits<std::int64_t>::max() ||
      total < std::numeric_limits<std::int64_t>::min()) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(total);
}

long double counter_ftotal(const Counter& c) {
  long double total = c.fbase;
  for (const auto& e : c.entries) total += e.fsum;
  return total;
}

void render_counter(Counter& c) {
  if (c.is_float) {
    c.text = format_long_double(counter_ftotal(c));
    return;
  }
  if (auto t = counter_total(c)) {
    c.text = std::to_string(*t);
    return;
  }
  // Out of int64 range (only after a merge): print the exact sum; INCR on it fails as Redis
  // fails on a value that is not an integer.
  Int128 total = c.base;
  for (const auto& e : c.entries) total += e.sum;
  const bool negative = total < 0;
  UInt128 mag = negative ? static_cast<UInt128>(-(total + 1)) + 1 : static_cast<UInt128>(total);
  std::string digits;
  do {
    digits.push_back(static_cast<char>('0' + static_cast<int>(mag % 10)));
    mag /= 10;
  } while (mag != 0);
  if (negative) digits.push_back('-');
  c.text.assign(digits.rbegin(), digits.rend());
}

Resolved resolve(std::span<const Sibling> siblings) {
  Resolved out;
  if (siblings.empty()) return out;
  // Decode every counter sibling once; a counter that does not decode counts as plain.
  std::vector<std::optional<Counter>> decoded(siblings.size());
  for (std::size_t i = 0; i < siblings.size(); ++i) {
    if (siblings[i].kind == ValueKind::counter) decoded[i] = decode_counter(siblings[i].value);
  }
  std::size_t best = 0;
  for (std::size_t i = 1; i < siblings.size(); ++i) {
    const BaseTag a = tag_of(siblings[best], decoded[best] ? &*decoded[best] : nullptr);
    const BaseTag b = tag_of(siblings[i], decoded[i] ? &*decoded[i] : nullptr);
    // Equal tags: prefer a counter (it holds the plain value's increments).
    if (a < b || (a == b && !decoded[best] && decoded[i])) best = i;
  }
  if (!decoded[best]) {
    out.plain = &siblings[best];
    return out;
  }
  const BaseTag tag = decoded[best]->tag;
  Counter merged = std::move(*decoded[best]);
  std::size_t members = 1;
  for (std::size_t i = 0; i < siblings.size(); ++i) {
    if (i == best || !decoded[i] || decoded[i]->tag != tag) continue;
    ++members;
    Counter& other = *decoded[i];
    if (other.is_float && !merged.is_float) {
      // One side went on with INCRBYFLOAT: continue as a float counter.
      merged.is_float = true;
      merged.fbase = static_cast<long double>(merged.base);
      for (auto& e : merged.entries) e.fsum = static_cast<long double>(e.sum);
    }
    for (const auto& e : other.entries) {
      auto it = std::lower_bound(
          merged.entries.begin(), merged.entries.end(), e.actor,
          [](const CounterEntry& x, NodeId actor) { return x.actor < actor; });
      CounterEntry add = e;
      if (merged.is_float && !other.is_float) add.fsum = static_cast<long double>(e.sum);
      if (it == merged.entries.end() || it->actor != e.actor) {
        merged.entries.insert(it, add);
      } else if (it->seq < e.seq) {
        *it = add;
      }
    }
  }
  if (members > 1) render_counter(merged);
  out.counter = std::move(merged);
  return out;
}

std::optional<Counter> counter_base(std::span<const Sibling> siblings, bool is_float) {
  Counter c;
  c.is_float = is_float;
  c.text = "0";
  if (siblings.empty()) return c;  // missing or deleted: starts at 0
  Resolved r = resolve(siblings);
  if (r.counter) return std::move(*r.counter);
  c.tag = BaseTag{r.plain->stamp, r.plain->writer()};
  c.text = r.plain->value;
  const bool ok = is_float ? parse_long_double(c.text, c.fbase)
                           : parse_int64(c.text, c.base);
  if (!ok) return std::nullopt;
  return c;
}

// Starts a new base at `value` (a reset: concurrent increments on the older base lose).
static void rebase(Counter& c, HlcTimestamp stamp, NodeId self, std::int64_t value) {
  c.is_float = false;
  c.tag = BaseTag{stamp, self};
  c.base = value;
  c.fbase = 0;
  c.entries.clear();
}

static CounterEntry& entry_of(Counter& c, NodeId self) {
  auto it = std::lower_bound(c.entries.begin(), c.entries.end(), self,
                             [](const CounterEntry& e, NodeId a) { return e.actor < a; });
  if (it == c.entries.end() || it->actor != self) it = c.entries.insert(it, {self, {}, 0, 0});
  return *it;
}

// Adds an integer delta to `c` (an integer counter). Redis's overflow rule applies to the total.
CounterError counter_add(Counter& c, std::int64_t delta, HlcTimestamp stamp, NodeId self) {
  std::int64_t current = 0;
  if (!parse_int64(c.text, current)) return CounterError::not_integer;
  if ((delta < 0 && current < 0 && delta < std::numeric_limits<std::int64_t>::min() - current) ||
      (delta > 0 && current > 0 && delta > std::numeric_limits<std::int64_t>::max() - current)) {
    return CounterError::overflow;
  }
  const std::int64_t next = current + delta;
  CounterEntry& mine = entry_of(c, self);
  std::int64_t sum = 0;
  if (__builtin_add_overflow(mine.sum, delta, &sum)) {
    rebase(c, stamp, self, next);  // one actor's sum cannot hold it: fold into a new base
  } else {
    mine.sum = sum;
    mine.seq = stamp;
  }
  c.text = std::to_string(next);
  return CounterError::none;
}

static CounterError add_float(Counter& c, long double delta, HlcTimestamp stamp, NodeId self) {
  long double current = 0;
  if (!parse_long_double(c.text, current)) return CounterError::not_float;
  const long double next = current + delta;
  if (std::isnan(next) || std::isinf(next)) return CounterError::nan_or_infinity;
  if (!c.is_float) {  // an integer counter goes on as a float one
    c.is_float = true;
    c.fbase = static_cast<long double>(c.base);
    for (auto& e : c.entries) e.fsum = static_cast<long double>(e.sum);
  }
  CounterEntry& mine = entry_of(c, self);
  mine.fsum += delta;
  mine.seq = stamp;
  // The text is computed as Redis computes it (from the current text), so that a counter
  // only one coordinator touched reads exactly as on Redis.
  c.text = format_long_double(next);
  return CounterError::none;
}

CounterError counter_increment(std::span<const Sibling> siblings, bool is_float,
                               std::int64_t delta, long double fdelta, HlcTimestamp stamp,
                               NodeId self, Counter& out) {
  auto c = counter_base(siblings, is_float);
  if (!c) return is_float ? CounterError::not_float : CounterError::not_integer;
  if (!is_float && c->is_float) {
    // INCR on a float counter whose value is an integer ("5" after INCRBYFLOAT): a new base.
    std::int64_t value = 0;
    if (!parse_int64(c->text, value)) return CounterError::not_integer;
    rebase(*c, stamp, self, value);
  }
  const CounterError error =
      is_float ? add_float(*c, fdelta, stamp, self) : counter_add(*c, delta, stamp, self);
  if (error == CounterError::none) out = std::move(*c);
  return error;
}

bool parse_int64(std::string_view s, std::int64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  std::size_t i = 0;
  bool negative = false;
  if (s.size() == 1 && s[0] == '0') {
    out = 0;
    return true;
  }
  if (s[0] == '-') {
    negative = true;
    i = 1;
    if (s.size() == 1) return false;
  }
  if (s[i] < '1' || s[i] > '9') return false;
  std::uint64_t v = 0;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c < '0' || c > '9') return false;
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return false;
    v = v * 10 + d;
  }
  if (negative) {
    constexpr std::uint64_t kMinMagnitude =
        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1;
    if (v > kMinMagnitude) return false;
    out = v == kMinMagnitude ? std::numeric_limits<std::int64_t>::min()
                             : -static_cast<std::int64_t>(v);
  } else {
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return false;
    out = static_cast<std::int64_t>(v);
  }
  return true;
}

bool parse_long_double(std::string_view s, long double& out) {
  // Redis's string2ld: at most 5119 bytes; strtold must stop at the end (or at a NUL byte,
  // as Redis's C string does); an overflow or an underflow to zero is refused, a subnormal
  // result (1e-4950) is not.
  if (s.empty() || s.size() >= 5 * 1024) return false;
  if (std::isspace(static_cast<unsigned char>(s[0]))) return false;
  const std::string copy(s);
  char* end = nullptr;
  errno = 0;
  const long double v = std::strtold(copy.c_str(), &end);
  if (*end != '\0' || std::isnan(v)) return false;
  if (errno == ERANGE && (std::isinf(v) || v == 0)) return false;
  out = v;
  return true;
}

std::string format_long_double(long double v) {
  char buf[5 * 1024 + 64];
  int n = std::snprintf(buf, sizeof(buf), "%.17Lf", v);
  std::string s(buf, static_cast<std::size_t>(n));
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

}  // namespace apiary::data
