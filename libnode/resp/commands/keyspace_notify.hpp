// Internal to libnode/resp: keyspace events as the data commands emit them
// (apiary/resp/keyspace_events.hpp). A handler calls notify() where Redis 7.0's command calls
// notifyKeyspaceEvent, after its write succeeded. Two events come from Redis's db layer rather
// than from the command, and are emitted here the same way: "new" (class n) when dbAdd creates
// a key, before the command's own event, and "keymiss" (class m) when lookupKeyRead finds no
// key.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "apiary/data/collection.hpp"
#include "apiary/resp/command.hpp"
#include "apiary/resp/keyspace_events.hpp"
#include "apiary/store/store.hpp"

namespace apiary::resp {

void notify(CommandContext& ctx, std::uint32_t type, std::string_view event, std::string_view key);
void notify_keymiss(CommandContext& ctx, std::string_view key);

// Watches one key for creation: constructed before the write (it looks at the key only when
// "new" events are on, so it costs one test otherwise), created() after the write succeeded
// emits "new" when the key was missing before.
class NewKeyWatch {
 public:
  NewKeyWatch(CommandContext& ctx, store::Store& st, std::string_view key);
  void created();

 private:
  CommandContext& ctx_;
  std::string_view key_;
  bool missing_ = false;
};

// A write to a hash, set, sorted set or list, through edit_or_reply (the error is replied
// when the store refuses), with what the keyspace events need to know about it.
struct CollectionWrite {
  bool ok = false;       // edit_or_reply's answer
  bool changed = false;  // the edit answered that it changed the collection
  bool created = false;  // ... and the key was missing before
  bool emptied = false;  // ... and left it empty, so the store deleted the key
};
CollectionWrite edit_tracked(CommandContext& ctx, std::string_view key, data::ValueKind kind,
                             const std::function<bool(store::Store::CollectionEdit&)>& edit);
// The events of that write, in Redis's order: "new" if it created the key, `event` of class
// `type`, "del" if it emptied the key.
void notify_write(CommandContext& ctx, const CollectionWrite& w, std::string_view key,
                  std::uint32_t type, std::string_view event);
// edit_tracked, then notify_write when the edit changed the key. Returns `ok`.
bool edit_and_notify(CommandContext& ctx, std::string_view key, data::ValueKind kind,
                     std::uint32_t type, std::string_view event,
                     const std::function<bool(store::Store::CollectionEdit&)>& edit);

}  // namespace apiary::resp
