// Payload codecs of the data-layer messages (internal to libnode/replication).
//
// Every payload is one MessagePack array; the envelope's MessageType says which layout:
//   data_request     [kind, id, ...]            kind: RequestKind
//     replicate      [1, id, entry, hint_owner]  hint_owner "" = none
//     read           [2, id, key (, version hash)]  the asker's Store::version_hash of the
//                                                 key (absent or 0: none)
//     forward        [3, id, [argv...], protocol (, w, r)]   protocol: the client's RESP
//                    version; w, r: quorum overrides (absent: the owner's own)
//     entries        [4, id, partition, [entry...]]   anti-entropy push
//     replicate_many [5, id, [entry...], hint_owner]  the keys of one command, one ack
//     replicate_delta [7, id, delta]            a hash/set write as its element changes
//                                                 (store/entry_codec.hpp, "delta")
//   data_response    [kind, id, code, ...]       code: StatusCode of the request
//     replicate      [1, id, code]
//     read           [2, id, code, [entry] (, horizon (, 1))]  empty array: no version here;
//                                                 with the trailing 1 (after a horizon, 0 for
//                                                 none): the same version as the asker's hash,
//                                                 not sent again
//     forward        [3, id, code, reply, [carried entry...]]
//     entries        [4, id, code]
//     replicate_many [5, id, code]
//     replicate_delta [7, id, code (, key, [entry])]  code not_found: the replica lacks the
//                                                 delta's base; it sends its own version of
//                                                 the key (none: empty array), which the
//                                                 coordinator merges before it sends the
//                                                 whole entry under the same id
//     acks           [6, 0, 0, [id...]]           the replica writes of one data_batch that
//                                                 merged (replicate or replicate_many), at
//                                                 least two; a refused one is acked alone
//   handoff_batch    [id, partition, final, [entry...]]
//   handoff_ack      [id, partition, code]
//   digest_request   [id, partition, [bucket hash x 64]]
//   digest_response  [id, partition, [differing bucket...], [entry...], complete]
//   keyspace_request  [kind, id, ...]          kind: index of the KeyspaceQuery + 1
//     clock          [1, id]
//     count          [2, id, partitions]          partitions: bitmap (bin), PartitionSet
//     scan           [3, id, partitions, cursor, count, pattern, type]
//     random         [4, id, partitions]
//     flush          [5, id, horizon]
//     members        [6, id, op, [arg...] (, seq)]   id 0: told one way; seq: numbers them
//   keyspace_response [kind, id, code, ...]     nothing more unless code is ok
//     clock          [1, id, code, last]
//     count          [2, id, code, keys, expires]
//     scan           [3, id, code, [position...], [key...], next]
//     random         [4, id, code, found, key]
//     flush          [5, id, code, removed]
//   entry            [key, dvv, has_expiry, expiry_ms]
//   data_batch       [[type, payload(bin)]...]   several of the above for one peer (outbox.hpp)
// Every message that carries versions (replicate, read and forward responses, entries,
// handoff_batch, digest_response; digest_request too) ends with the sender's flush horizon (HLC,
// u64) when it has one: a receiver with an older horizon adopts it (Store::flush_before) before it
// merges anything, so old and new versions of a flushed key never meet (docs/cluster.md).
// Decoding checks every size against ReplicationConfig's bounds and returns a Status on
// anything unexpected; it never throws. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "apiary/base/hlc.hpp"
#include "apiary/base/status.hpp"
#include "apiary/replication/keyspace_query.hpp"
#include "apiary/replication/replicator.hpp"
#include "apiary/replication/replication_config.hpp"
#include "apiary/store/store.hpp"
#include "apiary/wire/message_type.hpp"
#include "apiary/wire/msgpack_codec.hpp"

namespace apiary::replication {

enum class RequestKind : std::uint8_t {
  replicate = 1,
  read = 2,
  forward = 3,
  entries = 4,
  replicate_many = 5,
  acks = 6,  // responses only
  replicate_delta = 7,
  // A requester gives up a forwarded blocking command (its client left, CLIENT UNBLOCK, its
  // own deadline): the owner answers it now, if it still holds it. Requests only.
  forward_cancel = 8,
};

// One decoded data-layer payload; which fields mean something depends on type and kind.
struct Message {
  wire::MessageType type{};
  RequestKind kind = RequestKind::replicate;
  std::uint64_t id = 0;
  StatusCode code = StatusCode::ok;
  std::uint32_t partition = 0;
  bool final = false;  // handoff batch: the last of a pass; digest response: complete
  std::string hint_owner;
  std::vector<store::VersionedEntry> entries;
  std::optional<store::CollectionDelta> delta;  // replicate_delta request
  std::string key;                              // replicate_delta refusal: the key
  std::vector<std::string> argv;
  std::string reply;
  std::uint8_t protocol = 2;       // forward: RESP version the reply must use
  std::uint32_t write_quorum = 0;  // forward: quorum overrides, 0 = the owner's own
  std::uint32_t read_quorum = 0;
  std::string user;  // forward: the client's ACL user (empty: the node itself, trusted)
  CancelMode cancel_mode = CancelMode::timeout;  // forward_cancel
  std::vector<std::uint64_t> numbers;  // digest buckets, differing bucket indices, or acks
  HlcTimestamp horizon;                // the sender's flush horizon; zero = none
  std::uint64_t version_hash = 0;      // read request: the asker's version hash (0: none)
  bool same = false;                   // read response: the asker's version, not resent
  KeyspaceQuery query;                 // keyspace_request
  std::uint64_t seq = 0;               // keyspace_request told one way: its number (0: none)
  KeyspaceAnswer answer;               // keyspace_response (code ok)
};

// Approximate encoded size of an entry, for batch budgets.
std::size_t entry_bytes(const store::VersionedEntry& e);

std::vector<std::uint8_t> encode_replicate(std::uint64_t id, const store::VersionedEntry& e,
                                           std::string_view hint_owner, HlcTimestamp horizon);
// The same with the entry already packed by the entry codec (Store::packed_entry).
std::vector<std::uint8_t> encode_replicate(std::uint64_t id, std::span<const std::uint8_t> packed,
                                           std::string_view hint_owner, HlcTimestamp horizon);
// Several keys one command wrote, for a replica that owns them all (Replicator::replicate_together).
std::vector<std::uint8_t> encode_replicate_many(std::uint64_t id,
                                                std::span<const store::VersionedEntry> entries,
                                                std::string_view hint_owner, HlcTimestamp horizon);
std::vector<std::uint8_t> encode_replicate_delta(std::uint64_t id,
                                                 const store::CollectionDelta& delta,
                                                 HlcTimestamp horizon);
// A replica's refusal of a delta whose base it lacks, with its own version of the key.
std::vector<std::uint8_t> encode_delta_refused(std::uint64_t id, std::string_view key,
                                               const store::VersionedEntry* mine,
                                               HlcTimestamp horizon);
std::vector<std::uint8_t> encode_read(std::uint64_t id, std::string_view key,
                                      std::uint64_t version_hash = 0);
std::vector<std::uint8_t> encode_forward(std::uint64_t id, std::span<const std::string_view> argv,
                                         std::uint8_t protocol, std::uint32_t write_quorum = 0,
                                         std::uint32_t read_quorum = 0,
                                         std::string_view user = {});
// The same forward without its ACL user field, for a member of wire version 1, which refuses
// the field (membership_view.hpp); a request without the field comes back unchanged.
bool forward_has_user(std::span<const std::uint8_t> request);
std::vector<std::uint8_t> forward_without_user(std::span<const std::uint8_t> request,
                                               const ReplicationConfig& config);
// Cancels forward `id` (its requester's id), to be answered as `mode` says.
std::vector<std::uint8_t> encode_forward_cancel(std::uint64_t id, CancelMode mode);
std::vector<std::uint8_t> encode_entries(std::uint64_t id, std::uint32_t partition,
                                         std::span<const store::VersionedEntry> entries,
                                         HlcTimestamp horizon);
std::vector<std::uint8_t> encode_response(RequestKind kind, std::uint64_t id, StatusCode code);
std::vector<std::uint8_t> encode_acks(std::span<const std::uint64_t> ids);
// `same`: the replica holds the version whose hash the asker sent (`entry` is not sent).
std::vector<std::uint8_t> encode_read_response(std::uint64_t id, StatusCode code,
                                               const store::VersionedEntry* entry,
                                               HlcTimestamp horizon, bool same = false);
// `carried`: the versions a forwarded write produced, for a requester that is one of their
// replicas (it merges them before it relays the reply; Replicator::reply_forwarded). Carried
// versions travel with the owner's flush horizon.
std::vector<std::uint8_t> encode_forward_response(
    std::uint64_t id, StatusCode code, std::string_view reply,
    std::span<const store::VersionedEntry> carried = {}, HlcTimestamp horizon = {});
// The same with the entries already packed (Store::packed_entry), for the owners themselves.
std::vector<std::uint8_t> encode_replicate_many(std::uint64_t id,
                                                std::span<const std::vector<std::uint8_t>> packed,
                                                HlcTimestamp horizon);
// The same with the carried entries already packed (Store::packed_entry).
std::vector<std::uint8_t> encode_forward_response_packed(
    std::uint64_t id, StatusCode code, std::string_view reply,
    std::span<const std::vector<std::uint8_t>> carried, HlcTimestamp horizon);
std::vector<std::uint8_t> encode_handoff_batch(std::uint64_t id, std::uint32_t partition,
                                               bool final,
                                               std::span<const store::VersionedEntry> entries,
                                               HlcTimestamp horizon);
std::vector<std::uint8_t> encode_handoff_ack(std::uint64_t id, std::uint32_t partition,
                                             StatusCode code);
std::vector<std::uint8_t> encode_digest_request(std::uint64_t id, std::uint32_t partition,
                                                const store::PartitionDigest& digest,
                                                HlcTimestamp horizon);
// `complete`: `entries` are every entry of the differing buckets (no budget cut them short);
// decoded into Message::final.
std::vector<std::uint8_t> encode_digest_response(std::uint64_t id, std::uint32_t partition,
                                                 std::span<const std::uint64_t> buckets,
                                                 std::span<const store::VersionedEntry> entries,
                                                 bool complete, HlcTimestamp horizon);
// keyspace_messages.cpp
// `seq` (a told MembersQuery only, 0: none): the sender's count of messages told to this
// receiver, so that it sees a gap (Replicator::set_tell_gap_handler).
std::vector<std::uint8_t> encode_keyspace_request(std::uint64_t id, const KeyspaceQuery& query,
                                                  std::uint64_t seq = 0);
// `answer` is ignored (and may be null) unless `code` is ok.
std::vector<std::uint8_t> encode_keyspace_response(std::uint64_t id, StatusCode code,
                                                   std::size_t kind, const KeyspaceAnswer* answer);
Status decode_keyspace_request(wire::Reader& r, Message& m, const ReplicationConfig& config);
Status decode_keyspace_response(wire::Reader& r, Message& m, const ReplicationConfig& config);

Result<Message> decode_message(wire::MessageType type, std::span<const std::uint8_t> payload,
                               const ReplicationConfig& config);

}  // namespace apiary::replication
