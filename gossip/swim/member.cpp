#include "apiary/gossip/member.hpp"

namespace apiary::gossip {

std::string_view to_string(MemberState state) {
  switch (state) {
    case MemberState::alive:
      return "alive";
    case MemberState::suspect:
      return "suspect";
    case MemberState::dead:
      return "dead";
    case MemberState::left:
      return "left";
  }
  return "unknown";
}

std::string_view to_string(MemberEventKind kind) {
  switch (kind) {
    case MemberEventKind::joined:
      return "joined";
    case MemberEventKind::suspect:
      return "suspect";
    case MemberEventKind::alive:
      return "alive";
    case MemberEventKind::dead:
      return "dead";
    case MemberEventKind::left:
      return "left";
    case MemberEventKind::updated:
      return "updated";
  }
  return "unknown";
}

}  // namespace apiary::gossip
