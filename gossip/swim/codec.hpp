// The SWIM payload codec: what goes inside the wire envelope's `payload` for each membership
// message type. Internal to gossip/swim.
//
// Every payload is one MessagePack array whose last element is a list of membership updates
// (piggybacked dissemination) or, for push-pull, the sender's whole member list:
//
//   ping            [seq, target_name, suspected:bool, suspected_incarnation, updates]
//   ping_req        [seq, target_name, target_addr, want_nack:bool, updates]
//   ack, nack       [seq, updates]
//   gossip          [updates]
//   push_pull(_reply) [join:bool, members]
//
//   update          [kind, name, incarnation, addr_or_from, meta]   (meta only for alive)
//   member entry    [state, name, incarnation, addr, meta]          (push-pull)
//   meta            [client_addr, http_addr, data_addr, {tag: value} with sorted keys]
//
// `kind`/`state` use MemberState's numbering. For alive the string is the member's gossip
// address; for suspect / dead the accuser's name; for left the member's own name.
//
// Decoding is strict and bounded: exact arities, non-empty names, length caps below, the
// update count capped by SwimConfig::max_members_per_message. A decoded Message holds views
// into the input bytes and into its own msgpack zone (kept in `handle`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "apiary/base/ids.hpp"
#include "apiary/base/status.hpp"
#include "apiary/gossip/member.hpp"
#include "apiary/wire/message_type.hpp"
#include "apiary/wire/msgpack_codec.hpp"

namespace apiary::gossip::detail {

// Field caps, enforced on decode (and applied to this node's own data before it is sent).
inline constexpr std::size_t kMaxNameBytes = 255;
inline constexpr std::size_t kMaxAddrBytes = 255;
inline constexpr std::size_t kMaxTags = 64;
inline constexpr std::size_t kMaxTagKeyBytes = 255;
inline constexpr std::size_t kMaxTagValueBytes = 1024;
// Incarnations share a 64-bit word with the member state in the member table.
inline constexpr std::uint64_t kMaxIncarnation = (std::uint64_t{1} << 62) - 1;

// This node's own metadata cut to the caps above (longer strings truncated, excess tags
// dropped), so that peers do not drop its messages as malformed.
MemberMeta within_limits(MemberMeta meta);

// Decoded metadata; `tags` is a validated msgpack map (or null when empty) in the zone.
struct MetaView {
  std::string_view client_addr;
  std::string_view http_addr;
  std::string_view data_addr;
  const msgpack::object* tags = nullptr;

  bool empty() const;
};
// `stored` null means empty metadata.
bool same_meta(const MemberMeta* stored, const MetaView& view);
MemberMeta to_meta(const MetaView& view);

struct UpdateView {
  MemberState kind = MemberState::alive;
  std::string_view name;
  Incarnation incarnation;
  std::string_view addr_or_from;
  MetaView meta;  // alive updates and push-pull entries only
};

struct Message {
  wire::MessageType type{};
  std::uint32_t seq = 0;         // ping, ping_req, ack, nack
  std::string_view target;       // ping, ping_req
  std::string_view target_addr;  // ping_req
  bool flag = false;             // ping: you are suspected; ping_req: nack wanted; push_pull: join
  Incarnation suspected;         // ping with flag set
  std::vector<UpdateView> updates;  // piggybacked updates, or the push-pull member list
  msgpack::object_handle handle;    // owns the decoded tree the views point into
};

// Decodes the payload of a membership message (type 1..31). Returns `malformed` (or
// `too_large`) on any violation; `out` is then unspecified.
Status decode_message(wire::MessageType type, std::span<const std::uint8_t> payload,
                      std::size_t max_updates, Message& out);

// --- encoding ------------------------------------------------------------------------------
// Each begin_* writes the array header and the fixed fields; the caller then appends the
// updates with append_updates (or the members with begin_members + pack_member_entry).
void begin_ping(wire::Packer& p, std::uint32_t seq, std::string_view target, bool suspected,
                Incarnation suspected_incarnation);
void begin_ping_req(wire::Packer& p, std::uint32_t seq, std::string_view target,
                    std::string_view target_addr, bool want_nack);
void begin_ack(wire::Packer& p, std::uint32_t seq);  // also nack
void begin_gossip(wire::Packer& p);
void begin_push_pull(wire::Packer& p, bool join, std::size_t member_count);

// Appends the updates field: an array of `count` updates already encoded back to back.
void append_updates(std::vector<std::uint8_t>& out, std::size_t count,
                    std::span<const std::uint8_t> encoded);
// Worst-case size of the array header append_updates writes.
inline constexpr std::size_t kUpdatesHeaderBytes = 5;

std::vector<std::uint8_t> encode_alive(std::string_view name, Incarnation incarnation,
                                       std::string_view addr, const MemberMeta* meta);
// suspect / dead (`from` = accuser) and left (`from` = the member itself).
std::vector<std::uint8_t> encode_accusation(MemberState kind, std::string_view name,
                                            Incarnation incarnation, std::string_view from);
void pack_member_entry(wire::Packer& p, MemberState state, std::string_view name,
                       Incarnation incarnation, std::string_view addr, const MemberMeta* meta);

// Bytes the envelope adds around a payload for these header strings (an upper bound).
std::size_t envelope_overhead(std::string_view cluster, std::string_view sender_name,
                              std::string_view sender_addr);

}  // namespace apiary::gossip::detail
