// Keyspace iteration (SCAN, KEYS, RANDOMKEY), partitions (handoff batches, digests) and
// memory accounting.
#include <xxhash.h>

#include <algorithm>
#include <cstring>

#include "apiary/data/partition.hpp"
#include "apiary/store/entry_codec.hpp"
#include "apiary/wire/msgpack_codec.hpp"
#include "store_impl.hpp"

namespace apiary::store {

using detail::Entry;
using detail::Table;

namespace {

VersionedEntry export_of(const Entry* e) {
  VersionedEntry out;
  out.key = std::string(e->key());
  out.version = detail::load_version(e);
  if (e->has_expiry()) out.expiry = WallTime{e->expiry()->at_ms};
  return out;
}

void append_u64(std::string& buf, std::uint64_t v) {
  char b[8];
  std::memcpy(b, &v, 8);
  buf.append(b, 8);
}

// Hash of what replicas must agree on: key, clock counters, sibling dots (a dot names one
// write, so equal dots mean equal values) and expiry. HLC stamps are left out on purpose:
// they only order pruning and never make two replicas' contents differ.
std::uint64_t content_hash(const Entry* e, std::string& buf) {
  buf.clear();
  append_u64(buf, e->key_len);
  buf.append(e->key());
  if (e->complex()) {
    const data::DvvSet* v = e->dvv();
    append_u64(buf, v->clock().size());
    for (const auto& c : v->clock()) {
      append_u64(buf, c.actor.value);
      append_u64(buf, c.counter);
    }
    append_u64(buf, v->siblings().size());
    for (const auto& s : v->siblings()) {
      append_u64(buf, s.dot.actor.value);
      append_u64(buf, s.dot.counter);
    }
  } else {
    // Same bytes as the complex form above for the same version: replicas may hold one
    // version in different forms and must still agree.
    append_u64(buf, e->clock_n);
    for (std::size_t i = 0; i < e->clock_n; ++i) {
      append_u64(buf, e->clock()[i].actor);
      append_u64(buf, e->clock()[i].counter);
    }
    const detail::InlineClock* c = e->sibling_clock();
    for (std::uint64_t v : {std::uint64_t{1}, c->actor, c->counter}) append_u64(buf, v);
  }
  append_u64(buf, e->has_expiry() ? static_cast<std::uint64_t>(e->expiry()->at_ms) : ~0ull);
  return XXH3_64bits(buf.data(), buf.size());
}

}  // namespace

std::vector<std::string> Store::scan(ScanCursor& cursor, std::size_t count, WallTime now) {
  std::vector<std::string> keys;
  const Table& t = impl_->table;
  const std::size_t n = t.end();
  std::size_t i = t.lower_bound(cursor.position);
  std::size_t visited = 0;
  const std::size_t limit = std::max<std::size_t>(1, count);
  std::uint64_t last = 0;
  for (; i < n; i = t.next(i)) {
    const Table::Slot& slot = t.slot(i);
    // Entries sharing an order key (a 64-bit hash collision) go in the same batch, so the
    // cursor can always point at the first entry of the next batch.
    if (visited >= limit && slot.order != last) break;
    ++visited;
    last = slot.order;
    if (slot.entry->tombstone() || slot.entry->expired(now.ms)) continue;
    keys.emplace_back(slot.entry->key());
  }
  cursor.started = true;
  cursor.position = i < n ? t.slot(i).order : 0;
  return keys;
}

std::vector<ScannedKey> Store::scan_keys(ScanCursor& cursor, std::size_t count,
                                         const std::function<bool(PartitionId)>& include,
                                         WallTime now) const {
  std::vector<ScannedKey> keys;
  const Table& t = impl_->table;
  const std::size_t n = t.end();
  const std::size_t limit = std::max<std::size_t>(1, count);
  std::size_t visited = 0;
  std::uint64_t last = 0;
  std::optional<PartitionId> checked;  // the partition `include` was last asked about
  bool included = false;
  std::size_t i = t.lower_bound(cursor.position);
  while (i < n) {
    const Table::Slot& slot = t.slot(i);
    const PartitionId p = impl_->partition_of_order(slot.order);
    if (p != checked) {
      checked = p;
      included = include(p);
    }
    if (!included) {
      std::uint32_t next = p.value + 1;
      while (next < config_.partition_count && !include(PartitionId{next})) ++next;
      i = next < config_.partition_count ? t.lower_bound(impl_->partition_begin(PartitionId{next}))
                                         : n;
      continue;
    }
    // As in scan(): entries sharing an order key go in the same batch.
    if (visited >= limit && slot.order != last) break;
    ++visited;
    last = slot.order;
    if (!slot.entry->tombstone() && !slot.entry->expired(now.ms)) {
      keys.push_back(ScannedKey{slot.order, std::string(slot.entry->key())});
    }
    i = t.next(i);
  }
  cursor.started = true;
  cursor.position = i < n ? t.slot(i).order : 0;
  return keys;
}

KeyCount Store::count_keys(const std::function<bool(PartitionId)>& include, WallTime now) const {
  KeyCount out;
  const Table& t = impl_->table;
  for (std::uint32_t p = 0; p < config_.partition_count; ++p) {
    if (!include(PartitionId{p})) continue;
    for (std::size_t i = t.lower_bound(impl_->partition_begin(PartitionId{p})); i < t.end();
         i = t.next(i)) {
      const Table::Slot& slot = t.slot(i);
      if (impl_->partition_of_order(slot.order).value != p) break;
      if (slot.entry->tombstone() || slot.entry->expired(now.ms)) continue;
      ++out.keys;
      if (slot.entry->has_expiry()) ++out.expires;
    }
  }
  return out;
}

void Store::for_each_key(WallTime now, const std::function<void(std::string_view)>& fn) const {
  const Table& t = impl_->table;
  for (std::size_t i = t.lower_bound(0); i < t.end(); i = t.next(i)) {
    const Entry* e = t.slot(i).entry;
    if (!e->tombstone() && !e->expired(now.ms)) fn(e->key());
  }
}

std::optional<std::string> Store::random_key(WallTime now) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    Entry* e = impl_->sample_any();
    if (e == nullptr) return std::nullopt;
    if (!e->expired(now.ms)) return std::string(e->key());
  }
  return std::nullopt;
}

void Store::clear() {
  if (!impl_) return;
  Table& t = impl_->table;
  for (std::size_t i = t.lower_bound(0); i < t.end(); i = t.next(i)) {
    detail::free_entry(t.entry_at(i));
    t.entry_at(i) = nullptr;
  }
  t.clear();
  impl_->volatile_keys.clear();
  impl_->volatile_keys.shrink_to_fit();
  impl_->pool.clear();
  impl_->tombstone_queue.clear();
  live_keys_ = 0;
  tombstones_ = 0;
  entries_bytes_ = 0;
}

std::optional<std::uint8_t> Store::lfu_frequency(std::string_view key, WallTime now) const {
  const std::size_t slot = impl_->table.find(impl_->order_of_key(key), key);
  if (slot == Table::npos) return std::nullopt;
  const Entry* e = impl_->table.slot(slot).entry;
  if (e->tombstone() || e->expired(now.ms)) return std::nullopt;
  return impl_->lfu_decayed(e, now);
}

std::optional<std::chrono::seconds> Store::idle_time(std::string_view key, WallTime now) const {
  const std::size_t slot = impl_->table.find(impl_->order_of_key(key), key);
  if (slot == Table::npos) return std::nullopt;
  const Entry* e = impl_->table.slot(slot).entry;
  if (e->tombstone() || e->expired(now.ms)) return std::nullopt;
  const std::int64_t t = now.ms / 1000;
  return std::chrono::seconds(std::max<std::int64_t>(0, t - e->access_s));
}

std::optional<std::size_t> Store::memory_usage(std::string_view key) const {
  const std::size_t slot = impl_->table.find(impl_->order_of_key(key), key);
  if (slot == Table::npos || impl_->table.slot(slot).entry->tombstone()) return std::nullopt;
  return detail::entry_memory(impl_->table.slot(slot).entry) + sizeof(Table::Slot);
}

std::vector<VersionedEntry> Store::scan_partition(PartitionId partition, ScanCursor& cursor,
                                                  std::size_t max_entries, WallTime now) {
  std::vector<VersionedEntry> out;
  const Table& t = impl_->table;
  const std::size_t n = t.end();
  const std::uint64_t from = cursor.started ? cursor.position : impl_->partition_begin(partition);
  const std::size_t limit = std::max<std::size_t>(1, max_entries);
  std::size_t i = cursor.started && cursor.position == 0 ? n : t.lower_bound(from);
  std::size_t visited = 0;
  std::uint64_t last = 0;
  for (; i < n; i = t.next(i)) {
    const Table::Slot& slot = t.slot(i);
    if (impl_->partition_of_order(slot.order) != partition) {
      i = n;
      break;
    }
    if (visited >= limit && slot.order != last) break;
    ++visited;
    last = slot.order;
    if (slot.entry->expired(now.ms)) continue;
    out.push_back(export_of(slot.entry));
  }
  cursor.started = true;
  cursor.position = i < n ? t.slot(i).order : 0;
  return out;
}

PartitionDigest Store::digest(PartitionId partition, WallTime now) const {
  PartitionDigest d;
  const Table& t = impl_->table;
  std::string buf;
  for (std::size_t i = t.lower_bound(impl_->partition_begin(partition)); i < t.end();
       i = t.next(i)) {
    const Table::Slot& slot = t.slot(i);
    if (impl_->partition_of_order(slot.order) != partition) break;
    if (slot.entry->expired(now.ms)) continue;
    d.buckets[impl_->bucket_of(slot.order)] += content_hash(slot.entry, buf);
    ++d.entries;
  }
  return d;
}

std::vector<VersionedEntry> Store::scan_bucket(PartitionId partition, std::size_t bucket,
                                               WallTime now) const {
  std::vector<VersionedEntry> out;
  const Table& t = impl_->table;
  const unsigned shift = 64 - impl_->partition_bits - 6;
  const std::uint64_t from =
      impl_->partition_begin(partition) | (static_cast<std::uint64_t>(bucket & 63) << shift);
  for (std::size_t i = t.lower_bound(from); i < t.end(); i = t.next(i)) {
    const Table::Slot& slot = t.slot(i);
    if (impl_->partition_of_order(slot.order) != partition ||
        impl_->bucket_of(slot.order) != bucket) {
      break;
    }
    if (!slot.entry->expired(now.ms)) out.push_back(export_of(slot.entry));
  }
  return out;
}

std::optional<VersionedEntry> Store::export_entry(std::string_view key, WallTime now) const {
  const std::size_t slot = impl_->table.find(impl_->order_of_key(key), key);
  if (slot == Table::npos || impl_->table.slot(slot).entry->expired(now.ms)) return std::nullopt;
  return export_of(impl_->table.slot(slot).entry);
}

std::vector<std::uint8_t> Store::packed_entry(std::string_view key, WallTime now) const {
  std::vector<std::uint8_t> out;
  const std::size_t slot = impl_->table.find(impl_->order_of_key(key), key);
  if (slot == Table::npos) return out;
  const Entry* e = impl_->table.slot(slot).entry;
  if (e->expired(now.ms)) return out;
  wire::VectorSink sink(out);
  wire::Packer p(sink);
  if (e->complex()) {
    pack_entry(p, export_of(e));
    return out;
  }
  // What pack_entry(export_of(e)) writes for the inline form: one sibling, the clock's
  // entries in order (data::pack_dvv's layout).
  const auto bytes = [](std::string_view s) {
    return std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  };
  out.reserve(64 + key.size() + e->value_len + 24 * e->clock_n);
  p.pack_array(4);
  wire::pack_bin(p, bytes(e->key()));
  p.pack_array(2);
  p.pack_array(3 * static_cast<std::uint32_t>(e->clock_n));
  for (std::size_t i = 0; i < e->clock_n; ++i) {
    const detail::InlineClock& c = e->clock()[i];
    p.pack_uint64(c.actor);
    p.pack_uint64(c.counter);
    p.pack_uint64(c.stamp);
  }
  const detail::InlineClock* s = e->sibling_clock();
  p.pack_array(5);
  p.pack_uint64(s->actor);
  p.pack_uint64(s->counter);
  p.pack_uint64(s->stamp);
  p.pack_uint64(static_cast<std::uint64_t>(e->inline_counter() ? data::ValueKind::counter
                                                               : data::ValueKind::string));
  wire::pack_bin(p, bytes(e->inline_value()));
  p.pack(e->has_expiry());
  p.pack_int64(e->has_expiry() ? e->expiry()->at_ms : 0);
  return out;
}

std::optional<std::uint64_t> Store::version_hash(std::string_view key, WallTime now) const {
  const std::size_t slot = impl_->table.find(impl_->order_of_key(key), key);
  if (slot == Table::npos || impl_->table.slot(slot).entry->expired(now.ms)) return std::nullopt;
  std::string buf;
  const std::uint64_t h = content_hash(impl_->table.slot(slot).entry, buf);
  return h == 0 ? 1 : h;
}

std::size_t Store::drop_partition(PartitionId partition) {
  std::vector<std::pair<std::uint64_t, std::string>> doomed;
  const Table& t = impl_->table;
  for (std::size_t i = t.lower_bound(impl_->partition_begin(partition)); i < t.end();
       i = t.next(i)) {
    const Table::Slot& slot = t.slot(i);
    if (impl_->partition_of_order(slot.order) != partition) break;
    doomed.emplace_back(slot.order, std::string(slot.entry->key()));
  }
  for (const auto& [order, key] : doomed) {
    impl_->erase_slot(impl_->table.find(order, key));
  }
  return doomed.size();
}

std::size_t Store::used_memory() const {
  std::size_t n = entries_bytes_ + impl_->table.bytes();
  n += impl_->volatile_keys.capacity() * sizeof(Entry*);
  n += impl_->tombstone_queue.size() * (sizeof(std::pair<std::int64_t, std::string>) + 16);
  return n;
}

std::size_t Store::recompute_entries_memory() const {
  std::size_t n = 0;
  const Table& t = impl_->table;
  for (std::size_t i = t.lower_bound(0); i < t.end(); i = t.next(i)) {
    n += detail::entry_memory(t.slot(i).entry);
  }
  return n;
}

}  // namespace apiary::store
