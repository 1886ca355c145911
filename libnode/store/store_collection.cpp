// Hashes and sets in the store: reads join a key's concurrent states, a write at the
// coordinator edits the state in place when this node holds the only copy of it, and
// COPY/RENAME write a retagged copy under the destination's own history.
#include <memory>

#include "apiary/data/collection.hpp"
#include "apiary/store/store.hpp"
#include "store_impl.hpp"

namespace apiary::store {

using detail::Entry;
using detail::Table;

namespace {

KeyType type_of_kind(data::ValueKind kind) {
  return kind == data::ValueKind::hash ? KeyType::hash : KeyType::set;
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
  if (Status st = impl_->make_room(now); !st.ok()) return st;
  slot = impl_->find(key, order, now);  // eviction may have moved or removed it
  e = slot == Table::npos ? nullptr : impl_->table.entry_at(slot);
  const HlcTimestamp stamp = hlc_.now(now);

  // In place: this node's entry holds the only state, and nobody shares it.
  if (e != nullptr && e->complex() && !e->tombstone()) {
    data::DvvSet& v = *e->dvv();
    if (v.siblings().size() == 1 && v.siblings()[0].kind == kind &&
        v.siblings()[0].collection.use_count() == 1) {
      const std::size_t before = detail::entry_memory(e);
      std::shared_ptr<data::Collection> c = v.siblings()[0].collection;
      CollectionEdit change{*c, data::Dot{config_.self, v.counter(config_.self) + 1}, stamp};
      if (!edit(change)) return Status::Ok();
      c->observe(v.context());
      c->observe(change.dot);
      v.update(v.context(), config_.self, stamp, std::move(c), kind);
      v.prune(config_.limits, config_.keep_actors);
      entries_bytes_ = entries_bytes_ - before + detail::entry_memory(e);
      if (detail::is_dead(v)) {  // emptied: becomes a tombstone entry
        const std::optional<WallTime> none;
        impl_->store_version(key, order, slot, data::DvvSet(v), none, now);
        return Status::Ok();
      }
      impl_->touch(e, now);
      impl_->changed(e->key());
      return Status::Ok();
    }
  }

  data::DvvSet v = e == nullptr ? data::DvvSet{} : detail::load_version(e);
  std::shared_ptr<data::Collection> base =
      type == KeyType::none ? nullptr : current_state(v, kind);
  auto c = base == nullptr ? std::make_shared<data::Collection>(kind)
                           : std::make_shared<data::Collection>(*base);
  base.reset();
  CollectionEdit change{*c, data::Dot{config_.self, v.counter(config_.self) + 1}, stamp};
  if (!edit(change)) return Status::Ok();
  // The new state supersedes everything this node has seen of the key.
  c->observe(v.context());
  c->observe(change.dot);
  const std::optional<WallTime> expiry =
      e != nullptr && e->has_expiry() ? std::optional<WallTime>(WallTime{e->expiry()->at_ms})
                                      : std::nullopt;
  v.update(v.context(), config_.self, stamp, std::move(c), kind);
  impl_->store_version(key, order, slot, std::move(v), expiry, now);
  return Status::Ok();
}

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
  const auto kind = type == KeyType::hash ? data::ValueKind::hash : data::ValueKind::set;
  bool wrong = false;
  const data::Collection* c = read_collection(src, kind, now, wrong);
  if (c == nullptr) return false;
  const data::Collection source = *c;
  // A value of another type at dst is deleted first; one of the same type is replaced (the
  // new state covers everything dst held, so its elements go).
  const KeyType existing = this->type(dst, now);
  if (existing != KeyType::none && existing != type) del_local(dst, now);
  Status s = edit_collection(dst, kind, now, [&](CollectionEdit& edit) {
    edit.collection = source.retagged(edit.dot, edit.stamp);
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
  const auto kind = type_of(e) == KeyType::hash ? data::ValueKind::hash : data::ValueKind::set;
  data::DvvSet v = detail::load_version(e);
  auto c = std::make_shared<data::Collection>(*current_state(v, kind));
  const HlcTimestamp stamp = s.hlc_.now(now);
  c->observe(v.context());
  c->observe(data::Dot{s.config_.self, v.counter(s.config_.self) + 1});
  const std::string key(e->key());
  v.update(v.context(), s.config_.self, stamp, std::move(c), kind);
  store_version(key, order_of_key(key), slot, std::move(v), at, now);
  return true;
}

}  // namespace apiary::store
