#include "apiary/wire/message_type.hpp"

namespace apiary::wire {

std::string_view to_string(MessageType type) {
  switch (type) {
    case MessageType::ping:
      return "ping";
    case MessageType::ping_req:
      return "ping_req";
    case MessageType::ack:
      return "ack";
    case MessageType::nack:
      return "nack";
    case MessageType::push_pull:
      return "push_pull";
    case MessageType::push_pull_reply:
      return "push_pull_reply";
    case MessageType::gossip:
      return "gossip";
    case MessageType::data_request:
      return "data_request";
    case MessageType::data_response:
      return "data_response";
    case MessageType::handoff_batch:
      return "handoff_batch";
    case MessageType::handoff_ack:
      return "handoff_ack";
    case MessageType::digest_request:
      return "digest_request";
    case MessageType::digest_response:
      return "digest_response";
    case MessageType::keyspace_request:
      return "keyspace_request";
    case MessageType::keyspace_response:
      return "keyspace_response";
    case MessageType::data_batch:
      return "data_batch";
  }
  return "unknown";
}

bool is_known(MessageType type) { return to_string(type) != "unknown"; }

}  // namespace apiary::wire
