// What the membership layer knows about one node, and the events it reports.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "apiary/base/ids.hpp"
#include "apiary/base/time.hpp"

namespace apiary::gossip {

enum class MemberState : std::uint8_t { alive = 0, suspect = 1, dead = 2, left = 3 };
std::string_view to_string(MemberState state);

// Metadata a node publishes about itself; disseminated with its alive messages.
struct MemberMeta {
  std::string client_addr;  // RESP host:port ("" when not serving clients)
  std::string http_addr;    // HTTP admin host:port ("" when off)
  std::string data_addr;    // node-to-node data channel host:port ("" until the data layer)
  std::map<std::string, std::string> tags;
  friend bool operator==(const MemberMeta&, const MemberMeta&) = default;
};

struct Member {
  std::string name;  // unique in the cluster; a restarted node keeps its name
  std::string addr;  // gossip host:port
  MemberState state = MemberState::alive;
  Incarnation incarnation;
  MemberMeta meta;
  TimePoint state_changed;  // local time of the last state change, for reaping and display
};

enum class MemberEventKind : std::uint8_t {
  joined,   // first seen (or seen again after dead/left) as alive; this node on join()
  suspect,  // alive -> suspect
  alive,    // suspect -> alive (refuted)
  dead,     // declared failed
  left,     // announced a graceful leave; this node on leave()
  updated,  // metadata or address changed; this node on update_meta()
};
std::string_view to_string(MemberEventKind kind);

struct MemberEvent {
  MemberEventKind kind{};
  Member member;  // state after the event
};

}  // namespace apiary::gossip
