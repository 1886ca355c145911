#include "keyspace_notify.hpp"

#include "apiary/resp/server.hpp"
#include "apiary/store/store.hpp"
#include "store_access.hpp"

namespace apiary::resp {

void notify(CommandContext& ctx, std::uint32_t type, std::string_view event, std::string_view key) {
  notify_keyspace_event(ctx.server, type, event, key);
}

void notify_keymiss(CommandContext& ctx, std::string_view key) {
  notify_keyspace_event(ctx.server, kNotifyKeyMiss, "keymiss", key);
}

NewKeyWatch::NewKeyWatch(CommandContext& ctx, store::Store& st, std::string_view key)
    : ctx_(ctx), key_(key) {
  if ((ctx.server.config().notify_keyspace_events() & kNotifyNew) != 0) {
    missing_ = !st.exists(key, ctx.wall);
  }
}

void NewKeyWatch::created() {
  if (!missing_) return;
  missing_ = false;  // one key is created once
  notify_keyspace_event(ctx_.server, kNotifyNew, "new", key_);
}

CollectionWrite edit_tracked(CommandContext& ctx, std::string_view key, data::ValueKind kind,
                             const std::function<bool(store::Store::CollectionEdit&)>& edit) {
  CollectionWrite w;
  bool was_empty = false, is_empty = false;
  w.ok = edit_or_reply(ctx, key, kind, [&](store::Store::CollectionEdit& e) {
    was_empty = e.collection.size() == 0;  // an empty collection is a missing key
    w.changed = edit(e);
    is_empty = e.collection.size() == 0;  // the store deletes a collection left empty
    return w.changed;
  });
  if (!w.ok || !w.changed) {
    w.changed = false;
    return w;
  }
  w.created = was_empty && !is_empty;
  w.emptied = !was_empty && is_empty;
  return w;
}

void notify_write(CommandContext& ctx, const CollectionWrite& w, std::string_view key,
                  std::uint32_t type, std::string_view event) {
  if (w.created) notify(ctx, kNotifyNew, "new", key);
  notify(ctx, type, event, key);
  if (w.emptied) notify(ctx, kNotifyGeneric, "del", key);
}

bool edit_and_notify(CommandContext& ctx, std::string_view key, data::ValueKind kind,
                     std::uint32_t type, std::string_view event,
                     const std::function<bool(store::Store::CollectionEdit&)>& edit) {
  const CollectionWrite w = edit_tracked(ctx, key, kind, edit);
  if (w.changed) notify_write(ctx, w, key, type, event);
  return w.ok;
}

}  // namespace apiary::resp
