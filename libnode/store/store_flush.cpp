// The flush horizon: what a cluster-wide FLUSHALL leaves on every node, and the filter that
// keeps flushed writes from coming back through merge() (replication, hints, read repair,
// anti-entropy, handoff). Also restore() and remove(), which replay a saved table.
//
// A flush cannot simply clear the table: replicas that missed it (down, partitioned, or with
// a replica write still in flight) would hand the old versions back. Instead every write
// carries its writer's HLC stamp, and a flush at horizon H forgets every stamp <= H -- on
// this node at once, and in every remote version merged from then on.
//
// Clock entries go too, not only siblings: after a flush a node's copy of a key is gone, so
// its next write of the key starts its dot counter again at 1. An old clock entry (actor A,
// counter 5) merged into such a version would claim that A's new writes 1..5 were already
// seen and drop them. Dropping every clock entry stamped <= H keeps old and new counters
// apart (an entry's stamp is the newest event of that actor it covers).
#include <algorithm>
#include <utility>

#include "store_impl.hpp"

namespace apiary::store {

using detail::Entry;
using detail::Table;

namespace detail {

HlcTimestamp newest_stamp(const data::DvvSet& v) {
  HlcTimestamp newest{};
  for (const auto& c : v.clock()) newest = std::max(newest, c.stamp);
  for (const auto& s : v.siblings()) newest = std::max(newest, s.stamp);
  return newest;
}

bool crosses_horizon(const data::DvvSet& v, HlcTimestamp horizon) {
  return std::any_of(v.clock().begin(), v.clock().end(),
                     [&](const data::ClockEntry& c) { return c.stamp <= horizon; }) ||
         std::any_of(v.siblings().begin(), v.siblings().end(),
                     [&](const data::Sibling& s) { return s.stamp <= horizon; });
}

std::optional<data::DvvSet> after_horizon(const data::DvvSet& v, HlcTimestamp horizon) {
  std::vector<data::Sibling> siblings;
  for (const auto& s : v.siblings()) {
    if (s.stamp > horizon) siblings.push_back(s);
  }
  std::vector<data::ClockEntry> clock;
  for (const auto& c : v.clock()) {
    // An entry covering a sibling that stays must stay (a version's invariant); its stamp is
    // then at least that sibling's, so this only matters for a malformed remote version.
    const bool covers_kept =
        std::any_of(siblings.begin(), siblings.end(),
                    [&](const data::Sibling& s) { return s.writer() == c.actor; });
    if (c.stamp > horizon || covers_kept) clock.push_back(c);
  }
  if (clock.empty()) return std::nullopt;
  auto kept = data::DvvSet::from_parts(std::move(clock), std::move(siblings));
  if (!kept.ok()) return std::nullopt;
  return std::move(kept).value();
}

}  // namespace detail

namespace {

// The newest stamp an entry holds, without copying its version.
HlcTimestamp newest_stamp_of(const Entry* e) {
  if (e->complex()) return detail::newest_stamp(*e->dvv());
  HlcTimestamp newest{};
  for (std::size_t i = 0; i < e->clock_n; ++i) {
    newest = std::max(newest, HlcTimestamp{e->clock()[i].stamp});
  }
  return newest;  // the inline sibling's stamp is its writer's clock entry's
}

}  // namespace

std::size_t Store::flush_before(HlcTimestamp horizon, WallTime now) {
  if (horizon <= horizon_) return 0;
  horizon_ = horizon;
  hlc_.update(now, horizon);
  // Usually everything goes. What survives -- writes stamped after the horizon, which were
  // concurrent with the flush -- is copied out, the table cleared, and the rest put back.
  std::vector<VersionedEntry> kept;
  const std::size_t before = live_keys_ + tombstones_;
  const Table& t = impl_->table;
  for (std::size_t i = t.lower_bound(0); i < t.end(); i = t.next(i)) {
    const Entry* e = t.slot(i).entry;
    if (e->expired(now.ms) || newest_stamp_of(e) <= horizon) continue;
    data::DvvSet version = detail::load_version(e);
    std::optional<WallTime> expiry;
    if (e->has_expiry()) expiry = WallTime{e->expiry()->at_ms};
    if (!detail::crosses_horizon(version, horizon)) {
      kept.push_back(VersionedEntry{std::string(e->key()), std::move(version), expiry});
    } else if (auto rest = detail::after_horizon(version, horizon)) {
      kept.push_back(VersionedEntry{std::string(e->key()), std::move(*rest), expiry});
    }
  }
  if (listener_ != nullptr) listener_->flushed(horizon);
  if (observer_ != nullptr) observer_->flushed(horizon);
  clear();  // not reported key by key: the flush is
  for (auto& e : kept) {
    impl_->store_version(e.key, impl_->order_of_key(e.key), Table::npos, std::move(e.version),
                         e.expiry, now);
  }
  return before - std::min(before, live_keys_ + tombstones_);
}

// ---- loading from disk ---------------------------------------------------------------

void Store::restore(std::string_view key, data::DvvSet version, std::optional<WallTime> expiry,
                    WallTime now) {
  ChangeListener* listener = std::exchange(listener_, nullptr);
  hlc_.update(now, detail::newest_stamp(version));
  const std::uint64_t order = impl_->order_of_key(key);
  const std::size_t slot = impl_->table.find(order, key);
  if (version.empty() || (!detail::is_dead(version) && expiry && now.ms >= expiry->ms)) {
    if (slot != Table::npos) impl_->erase_slot(slot);
  } else {
    impl_->store_version(key, order, slot, std::move(version), expiry, now);
  }
  listener_ = listener;
}

bool Store::remove(std::string_view key) {
  const std::size_t slot = impl_->table.find(impl_->order_of_key(key), key);
  if (slot == Table::npos) return false;
  ChangeListener* listener = std::exchange(listener_, nullptr);
  impl_->erase_slot(slot);
  listener_ = listener;
  return true;
}

}  // namespace apiary::store
