// The INCR family and expiry rewrites on counters: a coordinator builds on the merge of the
// key's siblings (data::resolve) and writes a counter sibling that supersedes them.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "apiary/data/counter.hpp"
#include "apiary/store/store.hpp"
#include "store_impl.hpp"

namespace apiary::store {

using detail::Entry;
using detail::Table;

namespace {

// The counter a write builds on: the merge of `v`'s siblings, or a fresh zero. A plain value
// becomes the base (tagged with its write); nullopt when it is not a number of the wanted kind.
std::optional<data::Counter> current_counter(const data::DvvSet& v, bool is_float) {
  data::Counter c;
  c.is_float = is_float;
  c.text = "0";
  if (v.siblings().empty()) return c;  // missing or deleted: starts at 0
  data::Resolved r = data::resolve(v.siblings());
  if (r.counter) return std::move(*r.counter);
  c.tag = data::BaseTag{r.plain->stamp, r.plain->writer()};
  c.text = r.plain->value;
  const bool ok = is_float ? data::parse_long_double(c.text, c.fbase)
                           : data::parse_int64(c.text, c.base);
  if (!ok) return std::nullopt;
  return c;
}

// Starts a new base at `value` (a reset: concurrent increments on the older base lose).
void rebase(data::Counter& c, HlcTimestamp stamp, NodeId self, std::int64_t value) {
  c.is_float = false;
  c.tag = data::BaseTag{stamp, self};
  c.base = value;
  c.fbase = 0;
  c.entries.clear();
}

data::CounterEntry& entry_of(data::Counter& c, NodeId self) {
  auto it = std::lower_bound(c.entries.begin(), c.entries.end(), self,
                             [](const data::CounterEntry& e, NodeId a) { return e.actor < a; });
  if (it == c.entries.end() || it->actor != self) it = c.entries.insert(it, {self, {}, 0, 0});
  return *it;
}

// Adds an integer delta to `c` (an integer counter). Redis's overflow rule applies to the total.
IncrError add_int(data::Counter& c, std::int64_t delta, HlcTimestamp stamp, NodeId self) {
  std::int64_t current = 0;
  if (!data::parse_int64(c.text, current)) return IncrError::not_integer;
  if ((delta < 0 && current < 0 && delta < std::numeric_limits<std::int64_t>::min() - current) ||
      (delta > 0 && current > 0 && delta > std::numeric_limits<std::int64_t>::max() - current)) {
    return IncrError::overflow;
  }
  const std::int64_t next = current + delta;
  data::CounterEntry& mine = entry_of(c, self);
  std::int64_t sum = 0;
  if (__builtin_add_overflow(mine.sum, delta, &sum)) {
    rebase(c, stamp, self, next);  // one actor's sum cannot hold it: fold into a new base
  } else {
    mine.sum = sum;
    mine.seq = stamp;
  }
  c.text = std::to_string(next);
  return IncrError::none;
}

IncrError add_float(data::Counter& c, long double delta, HlcTimestamp stamp, NodeId self) {
  long double current = 0;
  if (!data::parse_long_double(c.text, current)) return IncrError::not_float;
  const long double next = current + delta;
  if (std::isnan(next) || std::isinf(next)) return IncrError::nan_or_infinity;
  if (!c.is_float) {  // an integer counter goes on as a float one
    c.is_float = true;
    c.fbase = static_cast<long double>(c.base);
    for (auto& e : c.entries) e.fsum = static_cast<long double>(e.sum);
  }
  data::CounterEntry& mine = entry_of(c, self);
  mine.fsum += delta;
  mine.seq = stamp;
  // The text is computed as Redis computes it (from the current text), so that a counter
  // only one coordinator touched reads exactly as on Redis.
  c.text = data::format_long_double(next);
  return IncrError::none;
}

}  // namespace

IncrOutcome Store::incr(std::string_view key, std::int64_t delta, WallTime now) {
  return impl_->increment(key, false, delta, 0, now);
}

IncrOutcome Store::incr_float(std::string_view key, long double delta, WallTime now) {
  return impl_->increment(key, true, 0, delta, now);
}

// Fast path, the common case of one coordinator incrementing a key again and again: its own
// inline integer counter is patched where it lies -- a new dot, the same block -- when the
// encoding keeps its size (it grows only when the text gains a digit or a new actor counts).
bool Store::Impl::increment_in_place(Entry* e, bool is_float, std::int64_t delta, WallTime now,
                                     IncrOutcome& out) {
  if (is_float || e->complex() || e->tombstone() || !e->inline_counter() ||
      e->sibling_clock()->actor != s.config_.self.value) {
    return false;
  }
  auto c = data::decode_counter(e->inline_value());
  if (!c || c->is_float) return false;
  const HlcTimestamp stamp = s.hlc_.now(now);
  const IncrError error = add_int(*c, delta, stamp, s.config_.self);
  if (error != IncrError::none) {
    out.error = error;  // nothing written
    return true;
  }
  const std::string encoded = data::encode_counter(*c);
  if (encoded.size() != e->value_len) return false;  // the slow path writes it (and its dot)
  std::memcpy(e->value_ptr(), encoded.data(), encoded.size());
  detail::InlineClock* clock = e->sibling_clock();
  clock->counter += 1;
  clock->stamp = stamp.packed;
  touch(e, now);
  changed(e->key());
  out.value = std::move(c->text);
  return true;
}

IncrOutcome Store::Impl::increment(std::string_view key, bool is_float, std::int64_t delta,
                                   long double fdelta, WallTime now) {
  IncrOutcome out;
  if (!make_room(now).ok()) {
    out.error = IncrError::out_of_memory;
    return out;
  }
  const std::uint64_t order = order_of_key(key);
  const std::size_t slot = find(key, order, now);
  if (slot != Table::npos && increment_in_place(table.entry_at(slot), is_float, delta, now, out)) {
    return out;
  }
  const Entry* e = slot == Table::npos ? nullptr : table.entry_at(slot);
  data::DvvSet v = e == nullptr ? data::DvvSet{} : detail::load_version(e);
  const std::optional<WallTime> expiry =
      e != nullptr && e->has_expiry() ? std::optional<WallTime>(WallTime{e->expiry()->at_ms})
                                      : std::nullopt;
  auto c = current_counter(v, is_float);
  if (!c) {
    out.error = is_float ? IncrError::not_float : IncrError::not_integer;
    return out;
  }
  const HlcTimestamp stamp = s.hlc_.now(now);
  const NodeId self = s.config_.self;
  if (!is_float && c->is_float) {
    // INCR on a float counter whose value is an integer ("5" after INCRBYFLOAT): a new base.
    std::int64_t value = 0;
    if (!data::parse_int64(c->text, value)) {
      out.error = IncrError::not_integer;
      return out;
    }
    rebase(*c, stamp, self, value);
  }
  out.error = is_float ? add_float(*c, fdelta, stamp, self) : add_int(*c, delta, stamp, self);
  if (out.error != IncrError::none) return out;
  out.value = c->text;
  v.update(v.context(), self, stamp, data::encode_counter(*c), data::ValueKind::counter);
  store_version(key, order, slot, std::move(v), expiry, now);
  return out;
}

bool Store::Impl::rewrite_expiry(std::string_view key, std::optional<WallTime> at, WallTime now) {
  const ExpiryUpdate update = at ? ExpiryUpdate::set(*at) : ExpiryUpdate::clear();
  const std::size_t live = find_live(key, order_of_key(key), now);
  if (live == Table::npos) return false;
  const Entry* e = table.entry_at(live);
  const bool counter =
      e->complex() ? data::has_counter(e->dvv()->siblings()) : e->inline_counter();
  if (!counter) {
    // The LWW value under a new local dot, so that the expiry change replicates like any
    // write (siblings collapse to it, as a RESP client sees them).
    const std::string copy(read_value(e));
    return s.put_local(key, copy, now, update).ok();
  }
  // A counter stays a counter: its merged state under a new dot.
  if (!make_room(now).ok()) return false;
  const std::uint64_t order = order_of_key(key);
  const std::size_t slot = find_live(key, order, now);
  if (slot == Table::npos) return false;
  data::DvvSet v = detail::load_version(table.entry_at(slot));
  auto c = current_counter(v, false);
  if (!c) c = current_counter(v, true);
  if (!c) {  // the winner is a plain value that is no number
    const std::string copy(read_value(table.entry_at(slot)));
    return s.put_local(key, copy, now, update).ok();
  }
  v.update(v.context(), s.config_.self, s.hlc_.now(now), data::encode_counter(*c),
           data::ValueKind::counter);
  store_version(key, order, slot, std::move(v), at, now);
  return true;
}

}  // namespace apiary::store
