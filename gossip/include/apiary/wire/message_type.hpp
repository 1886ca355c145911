// Every node-to-node message type, with explicit numbers that never change meaning.
// Membership uses 1..31 (gossip/), the data layer 32..127 (libnode/). A number is retired,
// never reused. Decoders reject numbers not listed here (`is_known`).
#pragma once

#include <cstdint>
#include <string_view>

namespace apiary::wire {

inline constexpr std::uint8_t kProtocolVersion = 1;

enum class MessageType : std::uint16_t {
  // --- membership (gossip/swim) ---
  ping = 1,             // direct probe; may carry the buddy-system "you are suspected" hint
  ping_req = 2,         // ask a member to probe a target on our behalf
  ack = 3,              // answer to ping (direct or relayed)
  nack = 4,             // indirect prober could not reach the target (Lifeguard)
  push_pull = 5,        // full member-list exchange, request (also the join handshake)
  push_pull_reply = 6,  // full member-list exchange, answer
  gossip = 7,           // piggyback-only carrier of membership updates

  // --- data (libnode/) ---
  data_request = 32,   // replication / forwarding request
  data_response = 33,  // reply to data_request
  handoff_batch = 34,  // ownership handoff stream
  handoff_ack = 35,
  digest_request = 36,  // anti-entropy
  digest_response = 37,
  keyspace_request = 38,  // a question about the keyspace (DBSIZE, SCAN, FLUSHALL, ...)
  keyspace_response = 39,
  data_batch = 40,  // several data messages for one peer in one envelope (replication/outbox)
};

bool is_known(MessageType type);
std::string_view to_string(MessageType type);

}  // namespace apiary::wire
