// Counter values: what the INCR family (INCR, INCRBY, DECR, DECRBY, INCRBYFLOAT) stores, so
// that increments made at two coordinators at once -- a failover, a join, two nodes briefly
// disagreeing on the view -- merge by adding instead of one overwriting the other (a counter
// CRDT, as Riak's counters and Redis Active-Active's string counters).
//
// A counter is a *base* plus one running sum per actor (a NodeId: one node process lifetime)
// that incremented it. The base is the plain value INCR first built on, tagged with that
// write's HLC stamp and writer (BaseTag), or zero with an empty tag when INCR created the
// key. An actor's entry carries the HLC stamp of its latest increment (`seq`): an actor only
// ever increments its own latest state, so a larger seq supersedes a smaller one.
//
// Merging the siblings of one key (resolve()):
//  - every sibling has a base tag: a counter's own, a plain value's (stamp, writer);
//  - the largest tag wins: the siblings that share it form the result. A plain value written
//    concurrently with increments, or after them, therefore replaces them (SET is a reset);
//    increments on the same base merge: the base plus, per actor, the sum with the largest
//    seq. Concurrent INCRs at two coordinators thus add up exactly.
//  - a version that deleted the key (a tombstone) is not a sibling: an increment concurrent
//    with a DEL survives with the value it produced (add wins).
// The value text is cached in the encoding: one counter sibling answers GET without decoding.
//
// Integer counters are exact (int64, with Redis's overflow errors); float counters keep long
// double sums and render the total as Redis's INCRBYFLOAT does. Plain value, thread-safe
// (pure functions). Decoding is bounded and never throws: a counter from a peer that does not
// decode is read as its text, or as an empty string.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/hlc.hpp"
#include "apiary/base/ids.hpp"
#include "apiary/data/dvv.hpp"

namespace apiary::data {

struct BaseTag {
  HlcTimestamp stamp;
  NodeId writer;
  friend auto operator<=>(const BaseTag&, const BaseTag&) = default;
};

struct CounterEntry {
  NodeId actor;
  HlcTimestamp seq;      // stamp of the actor's latest increment
  std::int64_t sum = 0;  // integer counters
  long double fsum = 0;  // float counters
};

struct Counter {
  bool is_float = false;
  BaseTag tag;
  std::int64_t base = 0;
  long double fbase = 0;
  std::vector<CounterEntry> entries;  // sorted by actor, one per actor
  std::string text;                   // the total as GET shows it
};

inline constexpr std::size_t kMaxCounterEntries = 4096;  // decode bound

std::string encode_counter(const Counter& c);
std::optional<Counter> decode_counter(std::string_view bytes);
// The cached text of an encoded counter without decoding the rest ("" when malformed).
std::string_view counter_text(std::string_view bytes);

// The merge of a key's siblings by the rules above: either the counter the winning siblings
// form (its text rendered), or the winning plain sibling.
struct Resolved {
  std::optional<Counter> counter;
  const Sibling* plain = nullptr;
};
Resolved resolve(std::span<const Sibling> siblings);
bool has_counter(std::span<const Sibling> siblings);

// An increment by one actor, as the INCR family (and HINCRBY on a hash field) does it.
enum class CounterError : unsigned char { none, not_integer, not_float, overflow, nan_or_infinity };
// The counter a write builds on: the merge of `siblings`, or a fresh zero when there are
// none. A plain value becomes the base (tagged with its write); nullopt when it is not a
// number of the wanted kind.
std::optional<Counter> counter_base(std::span<const Sibling> siblings, bool is_float);
// The merge of `siblings` (none: a missing value, 0) plus `delta` (or `fdelta` when
// `is_float`), counted as `self`'s increment at `stamp`. A plain value becomes the base; an
// integer increment on a float counter that holds an integer starts a new base; Redis's
// overflow and NaN rules apply to the total. On success `out` is the counter to write.
CounterError counter_increment(std::span<const Sibling> siblings, bool is_float,
                               std::int64_t delta, long double fdelta, HlcTimestamp stamp,
                               NodeId self, Counter& out);
// `c` plus `delta` counted as `self`'s increment (c.text is the current total).
CounterError counter_add(Counter& c, std::int64_t delta, HlcTimestamp stamp, NodeId self);

// The total of an integer counter; nullopt when it does not fit in an int64.
std::optional<std::int64_t> counter_total(const Counter& c);
long double counter_ftotal(const Counter& c);
// Renders c.text from the base and the sums.
void render_counter(Counter& c);

// Numbers as Redis parses and prints them (shared with the RESP commands).
// string2ll: strict decimal, optional '-', no leading zeros, no spaces, no overflow.
bool parse_int64(std::string_view s, std::int64_t& out);
// string2ld: the whole string a finite long double, no leading space.
bool parse_long_double(std::string_view s, long double& out);
// ld2string in LD_STR_HUMAN mode: "%.17Lf" without trailing zeros.
std::string format_long_double(long double v);

}  // namespace apiary::data
