#include "apiary/store/store.hpp"

#include <algorithm>
#include <utility>

#include "apiary/data/counter.hpp"
#include "apiary/data/partition.hpp"
#include "store_impl.hpp"

namespace apiary::store {

using detail::Entry;
using detail::Table;

namespace {
std::vector<NodeId> keep_set(const StoreConfig& c) {
  std::vector<NodeId> keep = c.keep_actors;
  keep.push_back(c.self);
  return keep;
}
unsigned log2_exact(std::uint32_t v) {
  unsigned bits = 0;
  while ((1u << bits) < v) ++bits;
  return bits;
}
// Redis's proto-max-bulk-len default; also keeps lengths within the entry's 32-bit fields.
constexpr std::size_t kMaxBytes = 512u << 20;
Status check_sizes(std::string_view key, std::string_view value) {
  if (key.size() > kMaxBytes || value.size() > kMaxBytes) {
    return make_error(StatusCode::too_large, "key or value larger than 512 MiB");
  }
  return Status::Ok();
}
}  // namespace

Store::Impl::Impl(Store& owner, std::uint64_t seed, std::uint32_t partition_count)
    : s(owner), rng(seed), partition_bits(log2_exact(partition_count)) {}

std::uint64_t Store::Impl::order_of_key(std::string_view key) const {
  const std::uint64_t hash = data::key_hash(key);
  const std::string_view tag = data::hash_tag(key);
  if (tag.size() == key.size() || partition_bits == 0) return order_of(hash);
  // A tagged key: its partition comes from the tag, its place within the partition from the
  // whole key (so keys sharing a tag still spread over the partition's buckets).
  const std::uint64_t partition = data::key_hash(tag) & ((1ULL << partition_bits) - 1);
  return (partition << (64 - partition_bits)) | (hash >> partition_bits);
}

Store::Store(StoreConfig config) : config_(std::move(config)) {
  if (!data::valid_partition_count(config_.partition_count)) {
    config_.partition_count = data::kDefaultPartitionCount;
  }
  config_.keep_actors = keep_set(config_);
  impl_ = std::make_unique<Impl>(*this, config_.seed, config_.partition_count);
}

Store::~Store() { clear(); }

// ---- entry lifecycle --------------------------------------------------------------------

std::size_t Store::Impl::find(std::string_view key, std::uint64_t order, WallTime now) {
  const std::size_t slot = table.find(order, key);
  if (slot == Table::npos) return slot;
  if (table.entry_at(slot)->expired(now.ms)) {
    expiring(table.entry_at(slot));
    erase_slot(slot);
    ++s.stats_.expired;
    return Table::npos;
  }
  return slot;
}

std::size_t Store::Impl::find_live(std::string_view key, std::uint64_t order, WallTime now) {
  const std::size_t slot = find(key, order, now);
  if (slot == Table::npos || table.entry_at(slot)->tombstone()) return Table::npos;
  return slot;
}

void Store::Impl::register_volatile(Entry* e) {
  if (!e->has_expiry()) return;
  e->expiry()->volatile_index = static_cast<std::uint32_t>(volatile_keys.size());
  volatile_keys.push_back(e);
}

void Store::Impl::unregister_volatile(Entry* e) {
  if (!e->has_expiry()) return;
  const std::uint32_t i = e->expiry()->volatile_index;
  Entry* last = volatile_keys.back();
  volatile_keys[i] = last;
  last->expiry()->volatile_index = i;
  volatile_keys.pop_back();
}

std::size_t Store::Impl::insert_entry(std::uint64_t order, Entry* e) {
  s.entries_bytes_ += detail::entry_memory(e);
  if (e->tombstone()) {
    ++s.tombstones_;
  } else {
    ++s.live_keys_;
  }
  register_volatile(e);
  const std::size_t slot = table.insert(order, e);
  changed(e->key());
  return slot;
}

void Store::Impl::erase_slot(std::size_t slot) {
  Entry* e = table.entry_at(slot);
  s.entries_bytes_ -= detail::entry_memory(e);
  if (e->tombstone()) {
    --s.tombstones_;
  } else {
    --s.live_keys_;
  }
  unregister_volatile(e);
  changed(e->key());
  table.erase(slot);
  detail::free_entry(e);
}

void Store::Impl::replace(std::size_t slot, Entry* fresh) {
  Entry* old = table.entry_at(slot);
  fresh->access_s = old->access_s;
  fresh->lfu = old->lfu;
  s.entries_bytes_ -= detail::entry_memory(old);
  s.entries_bytes_ += detail::entry_memory(fresh);
  if (old->tombstone() != fresh->tombstone()) {
    if (fresh->tombstone()) {
      --s.live_keys_;
      ++s.tombstones_;
    } else {
      ++s.live_keys_;
      --s.tombstones_;
    }
  }
  unregister_volatile(old);
  register_volatile(fresh);
  table.entry_at(slot) = fresh;
  detail::free_entry(old);
  changed(fresh->key());
}

Entry* Store::Impl::build(std::string_view key, data::DvvSet&& version,
                          std::optional<WallTime> expiry, WallTime now) {
  const bool tomb = detail::is_dead(version);
  const int sibling_index = tomb ? -1 : detail::inline_sibling_index(version);
  const bool inl = sibling_index >= 0;
  std::uint8_t flags = 0;
  if (!inl) flags |= detail::kComplex;
  if (inl && version.siblings()[0].kind == data::ValueKind::counter) flags |= detail::kCounter;
  if (tomb) flags |= detail::kTombstone | detail::kHasExpiry;
  if (!tomb && expiry) flags |= detail::kHasExpiry;
  const std::size_t value_len = inl ? version.siblings()[0].value.size() : 0;
  Entry* e = detail::allocate_entry(flags, key, value_len, inl ? version.clock().size() : 0);
  e->access_s = static_cast<std::uint32_t>(now.ms / 1000);
  if (tomb) {
    e->expiry()->at_ms = (now + s.config_.tombstone_grace).ms;
  } else if (expiry) {
    e->expiry()->at_ms = expiry->ms;
  }
  if (inl) {
    const data::Sibling& sib = version.siblings()[0];
    for (std::size_t i = 0; i < version.clock().size(); ++i) {
      const data::ClockEntry& c = version.clock()[i];
      e->clock()[i] = detail::InlineClock{c.actor.value, c.counter, c.stamp.packed};
    }
    e->sibling_index = static_cast<std::uint8_t>(sibling_index);
    if (value_len > 0) std::memcpy(e->value_ptr(), sib.value.data(), value_len);
  } else {
    e->set_dvv(new data::DvvSet(std::move(version)));
  }
  return e;
}

void Store::Impl::store_version(std::string_view key, std::uint64_t order, std::size_t slot,
                                data::DvvSet&& version, std::optional<WallTime> expiry,
                                WallTime now) {
  version.prune(s.config_.limits, s.config_.keep_actors);
  const bool tomb = detail::is_dead(version);
  Entry* fresh = build(key, std::move(version), expiry, now);
  if (slot == Table::npos) {
    insert_entry(order, fresh);
  } else {
    replace(slot, fresh);
  }
  if (tomb) {
    if (s.config_.tombstone_grace.count() <= 0) {
      const std::size_t at = table.find(order, key);
      if (at != Table::npos) {
        erase_slot(at);
        ++s.stats_.tombstones_collected;
      }
      return;
    }
    tombstone_queue.emplace_back(fresh->expiry()->at_ms, std::string(key));
  }
}

// ---- reads ----------------------------------------------------------------------------

std::optional<std::string_view> Store::get_value(std::string_view key, WallTime now,
                                                 bool* wrong_type) {
  const std::size_t slot = impl_->find_live(key, impl_->order_of_key(key), now);
  if (slot == Table::npos) {
    ++stats_.misses;
    return std::nullopt;
  }
  Entry* e = impl_->table.entry_at(slot);
  if (e->complex() && impl_->type_of(e) != KeyType::string) {
    if (wrong_type != nullptr) *wrong_type = true;
    return std::nullopt;
  }
  ++stats_.hits;
  impl_->touch(e, now);
  return impl_->read_value(e);
}

std::string_view Store::Impl::read_value(const Entry* e) {
  if (!e->complex()) {
    return e->inline_counter() ? data::counter_text(e->inline_value()) : e->inline_value();
  }
  const auto& siblings = e->dvv()->siblings();
  if (!data::has_counter(siblings)) {
    const data::Sibling* winner = detail::live_winner(*e->dvv());
    return winner != nullptr ? std::string_view(winner->value) : std::string_view();
  }
  if (siblings.size() == 1) return data::counter_text(siblings[0].value);
  data::Resolved r = data::resolve(siblings);
  if (r.plain != nullptr) return r.plain->value;
  scratch = std::move(r.counter->text);
  return scratch;
}

Result<ReadResult> Store::get(std::string_view key, WallTime now) {
  const std::size_t slot = impl_->find_live(key, impl_->order_of_key(key), now);
  if (slot == Table::npos) {
    ++stats_.misses;
    return make_error(StatusCode::not_found, "no such key");
  }
  Entry* e = impl_->table.entry_at(slot);
  if (impl_->type_of(e) != KeyType::string) {
    return make_error(StatusCode::wrong_type, "the key holds a hash or a set");
  }
  ++stats_.hits;
  impl_->touch(e, now);
  data::DvvSet v = detail::load_version(e);
  ReadResult out;
  out.context = v.context();
  out.siblings = v.siblings();
  for (auto& sib : out.siblings) {
    if (sib.kind == data::ValueKind::counter) {
      sib.value = std::string(data::counter_text(sib.value));
    }
  }
  if (e->has_expiry()) out.expiry = WallTime{e->expiry()->at_ms};
  return out;
}

bool Store::exists(std::string_view key, WallTime now) {
  return impl_->find_live(key, impl_->order_of_key(key), now) != Table::npos;
}

KeyType Store::type(std::string_view key, WallTime now) {
  const std::size_t slot = impl_->find_live(key, impl_->order_of_key(key), now);
  return slot == Table::npos ? KeyType::none : impl_->type_of(impl_->table.entry_at(slot));
}

KeyType Store::Impl::type_of(const Entry* e) const {
  if (e->tombstone()) return KeyType::none;
  if (!e->complex()) return KeyType::string;
  const data::Sibling* winner = detail::live_winner(*e->dvv());
  if (winner == nullptr) return KeyType::none;
  switch (winner->kind) {
    case data::ValueKind::hash:
      return KeyType::hash;
    case data::ValueKind::set:
      return KeyType::set;
    case data::ValueKind::zset:
      return KeyType::zset;
    case data::ValueKind::list:
      return KeyType::list;
    case data::ValueKind::string:
    case data::ValueKind::counter:
      break;
  }
  return KeyType::string;
}

// ---- writes ---------------------------------------------------------------------------

namespace {
std::optional<WallTime> apply_expiry(const Entry* e, ExpiryUpdate u) {
  switch (u.kind) {
    case ExpiryUpdate::Kind::clear:
      return std::nullopt;
    case ExpiryUpdate::Kind::set:
      return u.at;
    case ExpiryUpdate::Kind::keep:
      break;
  }
  if (e != nullptr && e->has_expiry()) return WallTime{e->expiry()->at_ms};
  return std::nullopt;
}
}  // namespace

Status Store::put_local(std::string_view key, std::string_view value, WallTime now,
                        ExpiryUpdate expiry) {
  if (Status st = check_sizes(key, value); !st.ok()) return st;
  if (Status st = impl_->make_room(now); !st.ok()) return st;
  const std::uint64_t order = impl_->order_of_key(key);
  const std::size_t slot = impl_->find(key, order, now);
  Entry* e = slot == Table::npos ? nullptr : impl_->table.entry_at(slot);
  const std::optional<WallTime> new_expiry = apply_expiry(e, expiry);
  // Fast path: this node's own inline entry, same value size, same expiry shape: rewrite
  // the value and advance the dot in place.
  if (e != nullptr && !e->complex() && !e->tombstone() && !e->inline_counter() &&
      e->sibling_clock()->actor == config_.self.value && e->value_len == value.size() &&
      e->has_expiry_block() == new_expiry.has_value()) {
    detail::InlineClock* c = e->sibling_clock();
    c->counter += 1;
    c->stamp = hlc_.now(now).packed;
    if (!value.empty()) std::memcpy(e->value_ptr(), value.data(), value.size());
    if (new_expiry) e->expiry()->at_ms = new_expiry->ms;
    impl_->touch(e, now);
    impl_->changed(e->key());
    return Status::Ok();
  }
  data::DvvSet v = e == nullptr ? data::DvvSet{} : detail::load_version(e);
  const data::VersionVector ctx = v.context();
  v.update(ctx, config_.self, hlc_.now(now), std::string(value));
  impl_->store_version(key, order, slot, std::move(v), new_expiry, now);
  return Status::Ok();
}

Status Store::put(std::string_view key, std::string_view value, const data::VersionVector& context,
                  WallTime now, ExpiryUpdate expiry) {
  if (Status st = check_sizes(key, value); !st.ok()) return st;
  if (Status st = impl_->make_room(now); !st.ok()) return st;
  const std::uint64_t order = impl_->order_of_key(key);
  const std::size_t slot = impl_->find(key, order, now);
  Entry* e = slot == Table::npos ? nullptr : impl_->table.entry_at(slot);
  const std::optional<WallTime> new_expiry = apply_expiry(e, expiry);
  data::DvvSet v = e == nullptr ? data::DvvSet{} : detail::load_version(e);
  v.update(context, config_.self, hlc_.now(now), std::string(value));
  impl_->store_version(key, order, slot, std::move(v), new_expiry, now);
  return Status::Ok();
}

Result<bool> Store::merge(std::string_view key, const data::DvvSet& remote,
                          std::optional<WallTime> expiry, WallTime now) {
  return merge_version(key, remote, nullptr, expiry, now);
}

Result<bool> Store::merge(std::string_view key, data::DvvSet&& remote,
                          std::optional<WallTime> expiry, WallTime now) {
  return merge_version(key, remote, &remote, expiry, now);
}

// `owned` is `incoming` when the caller gave it away: a key new here takes it as it is.
Result<bool> Store::merge_version(std::string_view key, const data::DvvSet& incoming,
                                  data::DvvSet* owned, std::optional<WallTime> expiry,
                                  WallTime now) {
  // Writes at or before the flush horizon were flushed: they must not come back.
  std::optional<data::DvvSet> after_flush;
  if (horizon_ != HlcTimestamp{} && detail::crosses_horizon(incoming, horizon_)) {
    after_flush = detail::after_horizon(incoming, horizon_);
    if (!after_flush) return false;
  }
  const data::DvvSet& remote = after_flush ? *after_flush : incoming;
  if (remote.empty()) return false;
  // Clock entries too (a tombstone has no sibling): the HLC stays above every stamp this node
  // holds, which a cluster-wide flush relies on when it picks its horizon.
  hlc_.update(now, detail::newest_stamp(remote));
  const std::uint64_t order = impl_->order_of_key(key);
  std::size_t slot = impl_->find(key, order, now);
  if (slot == Table::npos) {
    // A version that is already dead here adds nothing (every replica expires alike).
    if (!detail::is_dead(remote) && expiry && now.ms > expiry->ms) return false;
    const std::uint64_t shape = impl_->table.version();
    if (Status st = impl_->make_room(now); !st.ok()) return st;
    if (impl_->table.version() != shape) slot = impl_->find(key, order, now);
    if (slot == Table::npos) {
      data::DvvSet v = owned != nullptr && !after_flush ? std::move(*owned) : remote;
      impl_->store_version(key, order, slot, std::move(v), expiry, now);
      return true;
    }
  }
  Entry* e = impl_->table.entry_at(slot);
  data::DvvSet local = detail::load_version(e);
  const std::optional<WallTime> local_expiry =
      e->has_expiry() ? std::optional<WallTime>(WallTime{e->expiry()->at_ms}) : std::nullopt;
  std::optional<WallTime> merged_expiry;
  switch (data::compare(local, remote)) {
    case data::Order::before:
      merged_expiry = expiry;
      break;
    case data::Order::after:
      merged_expiry = local_expiry;
      break;
    case data::Order::equal:
    case data::Order::concurrent:
      // The later expiry (none = never) wins: commutative, and it never loses a write early.
      if (local_expiry && expiry) merged_expiry = std::max(*local_expiry, *expiry);
      break;
  }
  data::DvvSet merged = data::DvvSet::joined(local, remote);
  merged.prune(config_.limits, config_.keep_actors);
  if (merged == local && merged_expiry == local_expiry) return false;
  // The slot stays valid unless eviction changed the table (handles live until then).
  const std::uint64_t shape = impl_->table.version();
  if (Status st = impl_->make_room(now); !st.ok()) return st;
  if (impl_->table.version() != shape) slot = impl_->table.find(order, key);
  if (slot == Table::npos) {
    impl_->store_version(key, order, slot, std::move(merged), merged_expiry, now);
    return true;
  }
  const bool was_tombstone = impl_->table.entry_at(slot)->tombstone();
  if (was_tombstone && detail::is_dead(merged)) merged_expiry = std::nullopt;
  const std::uint64_t before_store = impl_->table.version();
  impl_->store_version(key, order, slot, std::move(merged), merged_expiry, now);
  const std::size_t after =
      impl_->table.version() == before_store ? slot : impl_->table.find(order, key);
  if (after != Table::npos && impl_->table.entry_at(after)->expired(now.ms)) {
    impl_->expiring(impl_->table.entry_at(after));
    impl_->erase_slot(after);
    ++stats_.expired;
  }
  return true;
}

bool Store::del_local(std::string_view key, WallTime now) {
  const std::uint64_t order = impl_->order_of_key(key);
  const std::size_t slot = impl_->find_live(key, order, now);
  if (slot == Table::npos) return false;
  if (const KeyType t = impl_->type_of(impl_->table.entry_at(slot)); t != KeyType::string) {
    // A hash or set is emptied rather than tombstoned, so the removal of what this node saw
    // merges with elements other coordinators add concurrently (add wins).
    return edit_collection(key, collection_kind(t), now, [](CollectionEdit& edit) {
             edit.collection.clear();
             return true;
           }).ok();
  }
  data::DvvSet v = detail::load_version(impl_->table.entry_at(slot));
  v.remove(v.context(), config_.self, hlc_.now(now));
  impl_->store_version(key, order, slot, std::move(v), std::nullopt, now);
  return true;
}

bool Store::del(std::string_view key, const data::VersionVector& context, WallTime now) {
  const std::uint64_t order = impl_->order_of_key(key);
  const std::size_t slot = impl_->find_live(key, order, now);
  if (slot == Table::npos) return false;
  Entry* e = impl_->table.entry_at(slot);
  data::DvvSet v = detail::load_version(e);
  const std::size_t before = v.siblings().size();
  const std::optional<WallTime> expiry =
      e->has_expiry() ? std::optional<WallTime>(WallTime{e->expiry()->at_ms}) : std::nullopt;
  v.remove(context, config_.self, hlc_.now(now));
  const bool removed = v.siblings().size() < before;
  impl_->store_version(key, order, slot, std::move(v), expiry, now);
  return removed;
}

// ---- expiry -------------------------------------------------------------------------------

bool Store::set_expiry(std::string_view key, WallTime at, WallTime now) {
  const std::size_t hits = stats_.hits;
  const std::size_t misses = stats_.misses;
  const bool ok = impl_->rewrite_expiry(key, at, now);
  stats_.hits = hits;
  stats_.misses = misses;
  return ok;
}

bool Store::clear_expiry(std::string_view key, WallTime now) {
  const std::size_t slot = impl_->find_live(key, impl_->order_of_key(key), now);
  if (slot == Table::npos || !impl_->table.entry_at(slot)->has_expiry()) return false;
  const std::size_t hits = stats_.hits;
  const std::size_t misses = stats_.misses;
  const bool ok = impl_->rewrite_expiry(key, std::nullopt, now);
  stats_.hits = hits;
  stats_.misses = misses;
  return ok;
}

KeyTtl Store::ttl(std::string_view key, WallTime now) {
  const std::size_t slot = impl_->find_live(key, impl_->order_of_key(key), now);
  if (slot == Table::npos) return {};
  const Entry* e = impl_->table.entry_at(slot);
  KeyTtl out;
  out.exists = true;
  if (e->has_expiry()) out.expiry = WallTime{e->expiry()->at_ms};
  return out;
}

}  // namespace apiary::store
