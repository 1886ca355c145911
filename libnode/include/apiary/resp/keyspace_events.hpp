// Keyspace notifications (Redis's notify-keyspace-events): the event classes, the flags
// string CONFIG SET/GET uses, and the publishing of one event.
//
// A command handler that changed a key calls notify_keyspace_event() once per event Redis
// emits for it (the same class, event name and order as Redis 7.0's notifyKeyspaceEvent
// calls), at the node where the command ran (the key's coordinator). Expiries are reported by
// the key's coordinator, evictions by the node that evicted. The event goes out through
// PubSub::publish as two messages, `__keyspace@0__:<key>` -> event and `__keyevent@0__:<event>`
// -> key, to subscribers on every node. docs/pubsub.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace apiary::resp {

class Server;

// Redis's NOTIFY_* bits (server.h), the same values.
enum KeyspaceEventClass : std::uint32_t {
  kNotifyKeyspace = 1u << 0,  // K
  kNotifyKeyevent = 1u << 1,  // E
  kNotifyGeneric = 1u << 2,   // g
  kNotifyString = 1u << 3,    // $
  kNotifyList = 1u << 4,      // l
  kNotifySet = 1u << 5,       // s
  kNotifyHash = 1u << 6,      // h
  kNotifyZset = 1u << 7,      // z
  kNotifyExpired = 1u << 8,   // x
  kNotifyEvicted = 1u << 9,   // e
  kNotifyStream = 1u << 10,   // t
  kNotifyKeyMiss = 1u << 11,  // m (not part of A)
  kNotifyLoaded = 1u << 12,   // module only
  kNotifyModule = 1u << 13,   // d
  kNotifyNew = 1u << 14,      // n (not part of A)
};

// "KEA" -> flags, as Redis's keyspaceEventsStringToFlags (nullopt on an unknown letter).
std::optional<std::uint32_t> parse_keyspace_events(std::string_view s);
// flags -> the string CONFIG GET shows, as Redis's keyspaceEventsFlagsToString.
std::string keyspace_events_string(std::uint32_t flags);

// Publishes `event` for `key` of class `type` when the node's notify-keyspace-events selects
// it; does nothing (and costs one test) otherwise.
void notify_keyspace_event(Server& server, std::uint32_t type, std::string_view event,
                           std::string_view key);

}  // namespace apiary::resp
