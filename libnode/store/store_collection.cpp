// Hashes and sets in the store: reads join a key's concurrent states, a write at the
// coordinator edits the state in place when this node holds the only copy of it, and
// COPY/RENAME write the source's elements anew under the destination's own history.
#include <algorithm>
#include <memory>
#include <utility>

#include "apiary/data/collection.hpp"
#include "apiary/store/store.hpp"
#include "store_impl.hpp"

namespace apiary::store {

using detail::Entry;
using detail::Table;

namespace {

KeyType type_of_kind(data::ValueKind kind) {
  switch (kind) {
    case data::ValueKind::hash:
      return KeyType::hash;
    case data::ValueKind::zset:
      return KeyType::zset;
    case data::ValueKind::list:
      return KeyType::list;
    default:
      return KeyType::set;
  }
}

// The collection a write builds on: the one sibling's state shared, or the siblings of
// `kind` joined into a new state. nullptr for a dead version.
std::shared_ptr<data::Collection> current_state(const data::DvvSet& v, data::ValueKind kind) {
  std::shared_ptr<data::Collection> out;
  bool copied = false;
  for (const auto& s : v.siblings()) {
    if (s.kind != kind || s.collection == nullptr) continue;
    if (out == nullptr) {
      out = s.collection;
    } else {
      if (!copied) out = std::make_shared<data::Collection>(*out);
      copied = true;
      out->join(*s.collection);
    }
  }
  return out;
}

}  // namespace

std::string_view type_name(KeyType type) {
  switch (type) {
    case KeyType::none:
      return "none";
    case KeyType::string:
      return "string";
    case KeyType::hash:
      return "hash";
    case KeyType::set:
      return "set";
    case KeyType::zset:
      return "zset";
    case KeyType::list:
      return "list";
  }
  return "none";
}

const data::Collection* Store::Impl::collection_of(const Entry* e, data::ValueKind kind) {
  const data::DvvSet& v = *e->dvv();
  const data::Sibling* only = nullptr;
  std::size_t count = 0;
  for (const auto& sib : v.siblings()) {
    if (sib.kind == kind && sib.collection != nullptr) {
      only = &sib;
      ++count;
    }
  }
  if (count == 1) return only->collection.get();
  joined = std::make_unique<data::Collection>(*current_state(v, kind));
  return joined.get();
}

const data::Collection* Store::read_collection(std::string_view key, data::ValueKind kind,
                                               WallTime now, bool& wrong_type) {
  wrong_type = false;
  const std::size_t slot = impl_->find_live(key, impl_->order_of_key(key), now);
  Entry* e = slot == Table::npos ? nullptr : impl_->table.entry_at(slot);
  const KeyType type = e == nullptr ? KeyType::none : impl_->type_of(e);
  if (type != KeyType::none && type != type_of_kind(kind)) {
    wrong_type = true;
    return nullptr;
  }
  const data::Collection* c = type == KeyType::none ? nullptr : impl_->collection_of(e, kind);
  if (c == nullptr || c->empty()) {
    ++stats_.misses;
    return nullptr;
  }
  ++stats_.hits;
  impl_->touch(e, now);
  return c;
}

Status Store::edit_collection(std::string_view key, data::ValueKind kind, WallTime now,
                              const std::function<bool(CollectionEdit&)>& edit) {
  const std::uint64_t order = impl_->order_of_key(key);
  std::size_t slot = impl_->find(key, order, now);
  Entry* e = slot == Table::npos ? nullptr : impl_->table.entry_at(slot);
  const KeyType type = e == nullptr ? KeyType::none : impl_->type_of(e);
  if (type != KeyType::none && type != type_of_kind(kind)) {
    return Status(StatusCode::wrong_type, "the key holds another type");
  }
  // Over maxmemory (noeviction), a write that frees memory still runs (HDEL, SREM: Redis
  // runs them); one that would grow the collection is refused.
  const std::uint64_t shape = impl_->table.version();
  const bool room = impl_->make_room(now).ok();
  if (impl_->table.version() != shape) slot = impl_->find(key, order, now);  // evicted
  CollectionDelta delta;
  delta.key = std::string(key);
  delta.kind = kind;
  delta.stamp = hlc_.now(now);
  bool recorded = true;
  std::size_t too_large = 0;  // the encoded size a refused write would have reached
  bool out_of_memory = false;
  const std::size_t limit = config_.max_collection_bytes;
  const bool committed = impl_->write_collection(
      order, slot, delta, config_.self, std::nullopt, now,
      [&](data::Collection& c) {
        const std::size_t before = c.encoded_size();
        c.set_journal(&delta.changes);
        CollectionEdit change{c, delta.dot, delta.stamp};
        const bool changed = edit(change);
        recorded = c.journal() == &delta.changes;
        c.set_journal(nullptr);
        if (changed && limit != 0 && c.encoded_size() > limit && c.encoded_size() > before) {
          too_large = c.encoded_size();
          return false;
        }
        if (changed && !room && c.encoded_size() > before) {
          out_of_memory = true;
          return false;
        }
        return changed;
      });
  if (out_of_memory) return Status(StatusCode::out_of_memory, "maxmemory reached");
  if (too_large != 0) {
    return Status(StatusCode::too_large,
                  "collection too large for the cluster: " + std::to_string(too_large) +
                      " bytes encoded, at most " + std::to_string(limit));
  }
  if (committed && recorded) {
    if (listener_ != nullptr) listener_->collection_delta(delta);
    impl_->remember(std::move(delta));
  }
  return Status::Ok();
}

bool Store::Impl::write_collection(std::uint64_t order, std::size_t slot, CollectionDelta& delta,
                                   NodeId actor, std::optional<std::optional<WallTime>> expiry,
                                   WallTime now,
                                   const std::function<bool(data::Collection&)>& mutate) {
  Entry* e = slot == Table::npos ? nullptr : table.entry_at(slot);
  const KeyType type = e == nullptr ? KeyType::none : type_of(e);
  const auto kind = delta.kind;
  // In place: the entry holds the only state of this type, shared with nobody, and keeps its
  // shape (a live entry with the same expiry).
  if (e != nullptr && e->complex() && !e->tombstone() &&
      (!expiry || expiry->has_value() == e->has_expiry())) {
    data::DvvSet& v = *e->dvv();
    if (v.siblings().size() == 1 && v.siblings()[0].kind == kind &&
        v.siblings()[0].collection.use_count() == 1) {
      const std::size_t before = detail::entry_memory(e);
      delta.base = v.context();
      delta.base_dots = {v.siblings()[0].dot};
      delta.dot = data::Dot{actor, v.counter(actor) + 1};
      std::shared_ptr<data::Collection> c = v.siblings()[0].collection;
      c->begin_undo();
      if (!mutate(*c)) {
        c->rollback();  // a refused write leaves no trace (but may leave pages split)
        s.entries_bytes_ = s.entries_bytes_ - before + detail::entry_memory(e);
        return false;
      }
      c->end_undo();
      c->observe(v.context());
      c->observe(delta.dot);
      v.update(v.context(), actor, delta.stamp, std::move(c), kind);
      v.prune(s.config_.limits, s.config_.keep_actors);
      if (expiry && *expiry) e->expiry()->at_ms = (*expiry)->ms;
      s.entries_bytes_ = s.entries_bytes_ - before + detail::entry_memory(e);
      delta.expiry = e->has_expiry() ? std::optional<WallTime>(WallTime{e->expiry()->at_ms})
                                     : std::nullopt;
      if (detail::is_dead(v)) {  // emptied: becomes a tombstone entry
        store_version(delta.key, order, slot, data::DvvSet(v), std::nullopt, now);
        return true;
      }
      touch(e, now);
      changed(e->key());
      return true;
    }
  }
  data::DvvSet v = e == nullptr ? data::DvvSet{} : detail::load_version(e);
  delta.base = v.context();
  delta.base_dots.clear();
  for (const auto& sib : v.siblings()) delta.base_dots.push_back(sib.dot);
  delta.dot = data::Dot{actor, v.counter(actor) + 1};
  std::shared_ptr<data::Collection> base =
      type == KeyType::none ? nullptr : current_state(v, kind);
  auto c = base == nullptr ? std::make_shared<data::Collection>(kind)
                           : std::make_shared<data::Collection>(*base);
  base.reset();
  if (!mutate(*c)) return false;
  // The new state supersedes everything this node has seen of the key.
  c->observe(v.context());
  c->observe(delta.dot);
  delta.expiry = expiry ? *expiry
                 : e != nullptr && e->has_expiry()
                     ? std::optional<WallTime>(WallTime{e->expiry()->at_ms})
                     : std::nullopt;
  v.update(v.context(), actor, delta.stamp, std::move(c), kind);
  store_version(delta.key, order, slot, std::move(v), delta.expiry, now);
  return true;
}

void Store::Impl::remember(CollectionDelta&& delta) {
  // A delta is wanted by the replication of its write, right after it: a few are enough.
  constexpr std::size_t kKept = 64;
  // A second change before the first was shipped (RESTORE's value then its TTL, a STORE into
  // a key with a TTL): its base is a version no replica has, so neither delta is kept and the
  // write ships whole.
  if (std::erase_if(deltas, [&](const CollectionDelta& d) { return d.key == delta.key; }) > 0) {
    return;
  }
  if (deltas.size() == kKept) deltas.pop_front();
  deltas.push_back(std::move(delta));
}

std::optional<CollectionDelta> Store::take_delta(std::string_view key) {
  auto& deltas = impl_->deltas;
  auto it = std::find_if(deltas.begin(), deltas.end(),
                         [&](const CollectionDelta& d) { return d.key == key; });
  if (it == deltas.end()) return std::nullopt;
  CollectionDelta d = std::move(*it);
  deltas.erase(it);
  // Still the key's version: its only sibling is the write's.
  const std::size_t slot = impl_->table.find(impl_->order_of_key(key), key);
  if (slot == Table::npos) return std::nullopt;
  const Entry* e = impl_->table.entry_at(slot);
  if (!e->complex() || e->dvv()->siblings().size() != 1 ||
      e->dvv()->siblings()[0].dot != d.dot) {
    return std::nullopt;
  }
  return d;
}

bool Store::has_delta(std::string_view key) const {
  return std::any_of(impl_->deltas.begin(), impl_->deltas.end(),
                     [&](const CollectionDelta& d) { return d.key == key; });
}

Result<bool> Store::apply_delta(const CollectionDelta& delta, WallTime now) {
  if (horizon_ != HlcTimestamp{} && delta.stamp <= horizon_) return false;  // flushed
  const auto need_full = [] {
    return make_error(StatusCode::not_found, "the base of the delta is not here");
  };
  const std::uint64_t order = impl_->order_of_key(delta.key);
  std::size_t slot = impl_->find(delta.key, order, now);
  if (slot == Table::npos && !delta.base.empty()) return need_full();
  if (slot != Table::npos) {
    const Entry* e = impl_->table.entry_at(slot);
    // An inline entry is a live string: never the base of a collection write.
    if (!e->complex()) return need_full();
    const data::DvvSet* v = e->dvv();
    // The same clock and the same siblings: the state the coordinator built on.
    const bool same_siblings = std::equal(
        v->siblings().begin(), v->siblings().end(), delta.base_dots.begin(),
        delta.base_dots.end(), [](const data::Sibling& s, const data::Dot& d) { return s.dot == d; });
    if (!same_siblings || v->context() != delta.base) return need_full();
    const KeyType type = impl_->type_of(e);
    if (type != KeyType::none && type != type_of_kind(delta.kind)) return need_full();
  }
  hlc_.update(now, delta.stamp);
  const std::uint64_t shape = impl_->table.version();
  if (Status st = impl_->make_room(now); !st.ok()) return st;
  if (impl_->table.version() != shape) slot = impl_->find(delta.key, order, now);
  CollectionDelta applied;
  applied.key = delta.key;
  applied.kind = delta.kind;
  applied.stamp = delta.stamp;
  const bool committed = impl_->write_collection(
      order, slot, applied, delta.dot.actor, delta.expiry, now, [&](data::Collection& c) {
        for (const auto& change : delta.changes) c.apply(change, delta.dot, delta.stamp);
        return true;
      });
  if (committed && applied.dot != delta.dot) {
    // Cannot happen when the bases matched; say so rather than hold a wrong dot silently.
    return make_error(StatusCode::internal, "delta applied under another dot");
  }
  // The change is the delta on its base (eviction above may have taken the base away: then
  // it is reported as a plain change only).
  if (committed && listener_ != nullptr && applied.base == delta.base &&
      applied.base_dots == delta.base_dots) {
    listener_->collection_delta(delta);
  }
  return committed;
}

ReplayOutcome Store::replay_delta(const CollectionDelta& delta, WallTime now) {
  if (horizon_ != HlcTimestamp{} && delta.stamp <= horizon_) {
    return ReplayOutcome::already_applied;  // flushed, as apply_delta
  }
  const std::uint64_t order = impl_->order_of_key(delta.key);
  // Expired or not: a replayed key keeps its history until the load ends.
  const std::size_t slot = impl_->table.find(order, delta.key);
  if (slot == Table::npos) {
    if (!delta.base.empty()) return ReplayOutcome::base_mismatch;
  } else {
    const Entry* e = impl_->table.entry_at(slot);
    const data::DvvSet version = detail::load_version(e);
    if (version.context().covers(delta.dot.actor, delta.dot.counter)) {
      return ReplayOutcome::already_applied;  // a put written after the delta holds it
    }
    const bool same_siblings = std::equal(
        version.siblings().begin(), version.siblings().end(), delta.base_dots.begin(),
        delta.base_dots.end(), [](const data::Sibling& s, const data::Dot& d) { return s.dot == d; });
    if (!e->complex() || !same_siblings || version.context() != delta.base) {
      return ReplayOutcome::base_mismatch;
    }
    const KeyType type = impl_->type_of(e);
    if (type != KeyType::none && type != type_of_kind(delta.kind)) {
      return ReplayOutcome::base_mismatch;
    }
  }
  ChangeListener* listener = std::exchange(listener_, nullptr);
  hlc_.update(now, delta.stamp);
  CollectionDelta applied;
  applied.key = delta.key;
  applied.kind = delta.kind;
  applied.stamp = delta.stamp;
  impl_->write_collection(order, slot, applied, delta.dot.actor, delta.expiry, now,
                          [&](data::Collection& c) {
                            for (const auto& change : delta.changes) {
                              c.apply(change, delta.dot, delta.stamp);
                            }
                            return true;
                          });
  listener_ = listener;
  return ReplayOutcome::applied;
}

Status Store::make_room(WallTime now) { return impl_->make_room(now); }

std::uint64_t Store::random() { return impl_->rng.next(); }

Result<bool> Store::copy(std::string_view src, std::string_view dst, WallTime now) {
  const KeyType type = this->type(src, now);
  if (type == KeyType::none) return false;
  const KeyTtl t = ttl(src, now);
  const auto expiry = t.expiry ? ExpiryUpdate::set(*t.expiry) : ExpiryUpdate::clear();
  if (type == KeyType::string) {
    auto v = get_value(src, now);
    if (!v) return false;
    const std::string value(*v);
    Status s = put_local(dst, value, now, expiry);
    if (!s.ok()) return s;
    return true;
  }
  const auto kind = collection_kind(type);
  bool wrong = false;
  const data::Collection* c = read_collection(src, kind, now, wrong);
  if (c == nullptr) return false;
  const data::Collection source = *c;
  // A value of another type at dst is deleted first; one of the same type is replaced (the
  // new state covers everything dst held, so its elements go).
  const KeyType existing = this->type(dst, now);
  if (existing != KeyType::none && existing != type) del_local(dst, now);
  Status s = edit_collection(dst, kind, now, [&](CollectionEdit& edit) {
    edit.collection.replace_with(source, edit.dot, edit.stamp);
    return true;
  });
  if (!s.ok()) return s;
  if (t.expiry) {
    set_expiry(dst, *t.expiry, now);
  } else {
    clear_expiry(dst, now);
  }
  return true;
}

bool Store::Impl::rewrite_collection_expiry(std::size_t slot, std::optional<WallTime> at,
                                            WallTime now) {
  const Entry* e = table.entry_at(slot);
  CollectionDelta delta;
  delta.key = std::string(e->key());
  delta.kind = collection_kind(type_of(e));
  delta.stamp = s.hlc_.now(now);
  // A write without element changes: replicas get the new expiry as a delta.
  const bool committed =
      write_collection(order_of_key(delta.key), slot, delta, s.config_.self, at, now,
                       [](data::Collection&) { return true; });
  if (committed && s.listener_ != nullptr) s.listener_->collection_delta(delta);
  remember(std::move(delta));
  return true;
}

}  // namespace apiary::store
