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

IncrError incr_error(data::CounterError e) {
  switch (e) {
    case data::CounterError::none: return IncrError::none;
    case data::CounterError::not_integer: return IncrError::not_integer;
    case data::CounterError::not_float: return IncrError::not_float;
    case data::CounterError::overflow: return IncrError::overflow;
    case data::CounterError::nan_or_infinity: return IncrError::nan_or_infinity;
  }
  return IncrError::not_integer;
}

// The counter a rewrite keeps: the merge of `v`'s siblings; nullopt when the winner is a
// plain value that is no number.
std::optional<data::Counter> current_counter(const data::DvvSet& v) {
  auto c = data::counter_base(v.siblings(), false);
  return c ? c : data::counter_base(v.siblings(), true);
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
  const IncrError error = incr_error(data::counter_add(*c, delta, stamp, s.config_.self));
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
  if (slot != Table::npos) {
    const KeyType type = type_of(table.entry_at(slot));
    if (type != KeyType::string && type != KeyType::none) {
      out.error = IncrError::wrong_type;
      return out;
    }
  }
  const Entry* e = slot == Table::npos ? nullptr : table.entry_at(slot);
  data::DvvSet v = e == nullptr ? data::DvvSet{} : detail::load_version(e);
  const std::optional<WallTime> expiry =
      e != nullptr && e->has_expiry() ? std::optional<WallTime>(WallTime{e->expiry()->at_ms})
                                      : std::nullopt;
  data::Counter c;
  const HlcTimestamp stamp = s.hlc_.now(now);
  out.error = incr_error(data::counter_increment(v.siblings(), is_float, delta, fdelta, stamp,
                                                 s.config_.self, c));
  if (out.error != IncrError::none) return out;
  out.value = c.text;
  v.update(v.context(), s.config_.self, stamp, data::encode_counter(c), data::ValueKind::counter);
  store_version(key, order, slot, std::move(v), expiry, now);
  return out;
}

bool Store::Impl::rewrite_expiry(std::string_view key, std::optional<WallTime> at, WallTime now) {
  const ExpiryUpdate update = at ? ExpiryUpdate::set(*at) : ExpiryUpdate::clear();
  const std::size_t live = find_live(key, order_of_key(key), now);
  if (live == Table::npos) return false;
  const Entry* e = table.entry_at(live);
  if (type_of(e) != KeyType::string) {
    if (!make_room(now).ok()) return false;
    const std::size_t slot = find_live(key, order_of_key(key), now);
    return slot != Table::npos && rewrite_collection_expiry(slot, at, now);
  }
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
  auto c = current_counter(v);
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
