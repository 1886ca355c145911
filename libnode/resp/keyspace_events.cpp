#include "apiary/resp/keyspace_events.hpp"

#include "apiary/resp/pubsub.hpp"
#include "apiary/resp/server.hpp"

namespace apiary::resp {
namespace {

// Redis's NOTIFY_ALL: every class but key-miss and new ("A").
constexpr std::uint32_t kNotifyAll = kNotifyGeneric | kNotifyString | kNotifyList | kNotifySet |
                                     kNotifyHash | kNotifyZset | kNotifyExpired | kNotifyEvicted |
                                     kNotifyStream | kNotifyModule;

}  // namespace

std::optional<std::uint32_t> parse_keyspace_events(std::string_view s) {
  std::uint32_t flags = 0;
  for (char c : s) {
    switch (c) {
      case 'A': flags |= kNotifyAll; break;
      case 'g': flags |= kNotifyGeneric; break;
      case '$': flags |= kNotifyString; break;
      case 'l': flags |= kNotifyList; break;
      case 's': flags |= kNotifySet; break;
      case 'h': flags |= kNotifyHash; break;
      case 'z': flags |= kNotifyZset; break;
      case 'x': flags |= kNotifyExpired; break;
      case 'e': flags |= kNotifyEvicted; break;
      case 'K': flags |= kNotifyKeyspace; break;
      case 'E': flags |= kNotifyKeyevent; break;
      case 't': flags |= kNotifyStream; break;
      case 'm': flags |= kNotifyKeyMiss; break;
      case 'd': flags |= kNotifyModule; break;
      case 'n': flags |= kNotifyNew; break;
      default: return std::nullopt;
    }
  }
  return flags;
}

std::string keyspace_events_string(std::uint32_t flags) {
  std::string out;
  if ((flags & kNotifyAll) == kNotifyAll) {
    out += 'A';
  } else {
    static constexpr std::pair<std::uint32_t, char> kOrder[] = {
        {kNotifyGeneric, 'g'}, {kNotifyString, '$'}, {kNotifyList, 'l'},   {kNotifySet, 's'},
        {kNotifyHash, 'h'},    {kNotifyZset, 'z'},   {kNotifyExpired, 'x'}, {kNotifyEvicted, 'e'},
        {kNotifyStream, 't'},  {kNotifyModule, 'd'}, {kNotifyNew, 'n'}};
    for (const auto& [bit, letter] : kOrder) {
      if ((flags & bit) != 0) out += letter;
    }
  }
  if ((flags & kNotifyKeyspace) != 0) out += 'K';
  if ((flags & kNotifyKeyevent) != 0) out += 'E';
  if ((flags & kNotifyKeyMiss) != 0) out += 'm';
  return out;
}

void notify_keyspace_event(Server& server, std::uint32_t type, std::string_view event,
                           std::string_view key) {
  const std::uint32_t flags = server.config().notify_keyspace_events();
  if ((flags & type) == 0) return;
  std::string channel;
  if ((flags & kNotifyKeyspace) != 0) {
    channel.assign("__keyspace@0__:").append(key);
    server.pubsub().publish(SubKind::channel, channel, event);
  }
  if ((flags & kNotifyKeyevent) != 0) {
    channel.assign("__keyevent@0__:").append(event);
    server.pubsub().publish(SubKind::channel, channel, key);
  }
}

}  // namespace apiary::resp
