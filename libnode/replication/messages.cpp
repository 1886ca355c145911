#include "messages.hpp"

#include <algorithm>

#include "apiary/data/codec.hpp"
#include "apiary/store/entry_codec.hpp"
#include "apiary/wire/msgpack_codec.hpp"

namespace apiary::replication {

namespace {

using wire::Packer;
using wire::Reader;

constexpr std::uint64_t kMaxCode = static_cast<std::uint64_t>(StatusCode::moved);

struct Encoder {
  // Most data messages are a few dozen to a few hundred bytes: one allocation instead of
  // the vector doubling its way up from one byte.
  Encoder() { out.reserve(256); }
  std::vector<std::uint8_t> out;
  wire::VectorSink sink{out};
  Packer p{sink};
};

void pack_key(Packer& p, std::string_view key) {
  wire::pack_bin(p, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(key.data()),
                                                  key.size()));
}

void pack_entries(Packer& p, std::span<const store::VersionedEntry> entries) {
  p.pack_array(static_cast<std::uint32_t>(entries.size()));
  for (const auto& e : entries) pack_entry(p, e);
}

Status malformed(std::string_view what) {
  return make_error(StatusCode::malformed, "data message: " + std::string(what));
}

// The store's entry codec (store/entry_codec.hpp): what the persistence files hold too.
using store::pack_entry;

store::EntryLimits entry_limits(const ReplicationConfig& config) {
  store::EntryLimits limits;
  limits.max_key_bytes = config.max_key_bytes;
  limits.max_value_bytes = config.max_message_bytes;
  return limits;
}

Result<store::VersionedEntry> read_entry(Reader& parent, const ReplicationConfig& config) {
  return store::read_entry(parent, entry_limits(config));
}

// At most this many entries in one message (a handoff batch or a digest response is the most).
std::size_t max_entries(const ReplicationConfig& config) {
  return std::max<std::size_t>(
      {4096, config.handoff_batch_entries, config.anti_entropy_max_entries});
}

Status read_entries(Reader& r, const ReplicationConfig& config,
                    std::vector<store::VersionedEntry>& out) {
  Reader items;
  if (!r.array(items) || items.size() > max_entries(config)) return malformed("entries");
  out.reserve(items.size());
  const store::EntryLimits limits = entry_limits(config);
  while (items.remaining() > 0) {
    if (Status s = store::read_entry_into(items, limits, out.emplace_back()); !s.ok()) {
      out.pop_back();
      return s;
    }
  }
  return Status::Ok();
}

Status read_numbers(Reader& r, std::size_t max, std::vector<std::uint64_t>& out) {
  Reader items;
  if (!r.array(items) || items.size() > max) return malformed("number list");
  out.reserve(items.size());
  while (items.remaining() > 0) {
    std::uint64_t v = 0;
    if (!items.u64(v)) return malformed("number list item");
    out.push_back(v);
  }
  return Status::Ok();
}

// The optional trailing flush horizon of the messages that carry versions.
std::uint32_t with_horizon(std::uint32_t fields, HlcTimestamp horizon) {
  return fields + (horizon != HlcTimestamp{} ? 1 : 0);
}
void pack_horizon(Packer& p, HlcTimestamp horizon) {
  if (horizon != HlcTimestamp{}) p.pack_uint64(horizon.packed);
}
Status read_horizon(Reader& r, Message& m, std::string_view what) {
  if (r.remaining() == 0) return Status::Ok();
  if (r.remaining() == 1 && r.u64(m.horizon.packed)) return Status::Ok();
  return malformed(std::string(what) + ": trailing fields");
}

bool read_code(Reader& r, StatusCode& code) {
  std::uint64_t v = 0;
  if (!r.u64(v) || v > kMaxCode) return false;
  code = static_cast<StatusCode>(v);
  return true;
}

Status decode_request(Reader& r, Message& m, const ReplicationConfig& config) {
  std::uint8_t kind = 0;
  if (!r.u(kind) || !r.u64(m.id)) return malformed("request header");
  m.kind = static_cast<RequestKind>(kind);
  switch (m.kind) {
    case RequestKind::replicate: {
      auto e = read_entry(r, config);
      if (!e.ok()) return e.status();
      if (!r.str(m.hint_owner, 255)) return malformed("replicate");
      if (auto s = read_horizon(r, m, "replicate"); !s.ok()) return s;
      m.entries.push_back(std::move(e).value());
      return Status::Ok();
    }
    case RequestKind::read: {
      std::string key;
      if (!r.bin(key, config.max_key_bytes)) return malformed("read");
      if (r.remaining() == 1 && !r.u64(m.version_hash)) return malformed("read: version hash");
      if (r.remaining() != 0) return malformed("read");
      store::VersionedEntry e;
      e.key = std::move(key);
      m.entries.push_back(std::move(e));
      return Status::Ok();
    }
    case RequestKind::forward: {
      Reader items;
      if (!r.array(items, 1) || items.size() > config.max_forward_args) return malformed("forward");
      m.argv.resize(items.size());
      for (auto& arg : m.argv) {
        if (!items.bin(arg, config.max_message_bytes)) return malformed("forward argument");
      }
      if (!r.u(m.protocol) || (m.protocol != 2 && m.protocol != 3)) return malformed("forward");
      // Optional trailing quorum overrides (absent: the owner's configured quorums), then the
      // client's ACL user (absent: a command of the node itself).
      if (r.remaining() == 2 || r.remaining() == 3) {
        const bool with_user = r.remaining() == 3;
        if (!r.u(m.write_quorum) || !r.u(m.read_quorum)) return malformed("forward quorum");
        if (with_user && (!r.bin(m.user, 4096) || m.user.empty())) return malformed("forward user");
      } else if (r.remaining() != 0) {
        return malformed("forward");
      }
      return Status::Ok();
    }
    case RequestKind::replicate_many: {
      if (auto s = read_entries(r, config, m.entries); !s.ok()) return s;
      if (m.entries.empty() || !r.str(m.hint_owner, 255)) return malformed("replicate_many");
      return read_horizon(r, m, "replicate_many");
    }
    case RequestKind::entries: {
      if (!r.u(m.partition)) return malformed("entries");
      if (auto s = read_entries(r, config, m.entries); !s.ok()) return s;
      return read_horizon(r, m, "entries");
    }
    case RequestKind::replicate_delta: {
      store::EntryLimits limits;
      limits.max_key_bytes = config.max_key_bytes;
      limits.max_value_bytes = config.max_message_bytes;
      auto d = store::read_delta(r, limits);
      if (!d.ok()) return d.status();
      m.delta = std::move(d).value();
      return read_horizon(r, m, "replicate_delta");
    }
    case RequestKind::forward_cancel: {
      std::uint8_t mode = 0;
      if (!r.u(mode) || mode > static_cast<std::uint8_t>(CancelMode::give_back) ||
          r.remaining() != 0) {
        return malformed("forward cancel");
      }
      m.cancel_mode = static_cast<CancelMode>(mode);
      return Status::Ok();
    }
    case RequestKind::acks:
      break;  // a response kind only
  }
  return malformed("unknown request kind");
}

Status decode_response(Reader& r, Message& m, const ReplicationConfig& config) {
  std::uint8_t kind = 0;
  if (!r.u(kind) || !r.u64(m.id) || !read_code(r, m.code)) return malformed("response header");
  m.kind = static_cast<RequestKind>(kind);
  switch (m.kind) {
    case RequestKind::replicate:
    case RequestKind::replicate_many:
    case RequestKind::entries:
      return r.remaining() == 0 ? Status::Ok() : malformed("ack: trailing fields");
    case RequestKind::replicate_delta:
      if (m.code != StatusCode::not_found) {
        return r.remaining() == 0 ? Status::Ok() : malformed("delta ack: trailing fields");
      }
      if (!r.bin(m.key, config.max_key_bytes)) return malformed("delta refusal");
      if (auto s = read_entries(r, config, m.entries); !s.ok()) return s;
      if (m.entries.size() > 1 || (!m.entries.empty() && m.entries.front().key != m.key)) {
        return malformed("delta refusal");
      }
      return read_horizon(r, m, "delta refusal");
    case RequestKind::read: {
      if (auto s = read_entries(r, config, m.entries); !s.ok()) return s;
      if (m.entries.size() > 1) return malformed("read response");
      if (r.remaining() == 2) {  // horizon and the "same version" flag
        std::uint8_t same = 0;
        if (!r.u64(m.horizon.packed) || !r.u(same) || same != 1 || !m.entries.empty()) {
          return malformed("read response: same version");
        }
        m.same = true;
        return Status::Ok();
      }
      return read_horizon(r, m, "read response");
    }
    case RequestKind::acks:
      if (m.id != 0 || m.code != StatusCode::ok) return malformed("acks header");
      if (auto s = read_numbers(r, config.max_batch_messages, m.numbers); !s.ok()) return s;
      return r.remaining() == 0 ? Status::Ok() : malformed("acks: trailing fields");
    case RequestKind::forward:
      if (!r.bin(m.reply, config.max_reply_bytes)) return malformed("forward response");
      if (auto s = read_entries(r, config, m.entries); !s.ok()) return s;
      return read_horizon(r, m, "forward response");
    case RequestKind::forward_cancel:
      break;  // a request kind only
  }
  return malformed("unknown response kind");
}

}  // namespace

std::size_t entry_bytes(const store::VersionedEntry& e) {
  std::size_t n = e.key.size() + 32 + 24 * e.version.clock().size();
  for (const auto& s : e.version.siblings()) {
    n += s.value.size() + 32 + (s.collection != nullptr ? s.collection->memory() : 0);
  }
  return n;
}

std::vector<std::uint8_t> encode_replicate_delta(std::uint64_t id,
                                                 const store::CollectionDelta& delta,
                                                 HlcTimestamp horizon) {
  Encoder enc;
  enc.p.pack_array(with_horizon(3, horizon));
  enc.p.pack_uint8(static_cast<std::uint8_t>(RequestKind::replicate_delta));
  enc.p.pack_uint64(id);
  store::pack_delta(enc.p, delta);
  pack_horizon(enc.p, horizon);
  return std::move(enc.out);
}

std::vector<std::uint8_t> encode_delta_refused(std::uint64_t id, std::string_view key,
                                               const store::VersionedEntry* mine,
                                               HlcTimestamp horizon) {
  Encoder enc;
  enc.p.pack_array(with_horizon(5, horizon));
  enc.p.pack_uint8(static_cast<std::uint8_t>(RequestKind::replicate_delta));
  enc.p.pack_uint64(id);
  enc.p.pack_uint8(static_cast<std::uint8_t>(StatusCode::not_found));
  pack_key(enc.p, key);
  pack_entries(enc.p,
               mine != nullptr ? std::span(mine, 1) : std::span<const store::VersionedEntry>());
  pack_horizon(enc.p, horizon);
  return std::move(enc.out);
}

std::vector<std::uint8_t> encode_replicate(std::uint64_t id, const store::VersionedEntry& e,
                                           std::string_view hint_owner, HlcTimestamp horizon) {
  Encoder enc;
  enc.p.pack_array(with_horizon(4, horizon));
  enc.p.pack_uint8(static_cast<std::uint8_t>(RequestKind::replicate));
  enc.p.pack_uint64(id);
  pack_entry(enc.p, e);
  wire::pack_str(enc.p, hint_owner);
  pack_horizon(enc.p, horizon);
  return std::move(enc.out);
}

std::vector<std::uint8_t> encode_replicate(std::uint64_t id, std::span<const std::uint8_t> packed,
                                           std::string_view hint_owner, HlcTimestamp horizon) {
  Encoder enc;
  enc.out.reserve(32 + packed.size() + hint_owner.size());
  enc.p.pack_array(with_horizon(4, horizon));
  enc.p.pack_uint8(static_cast<std::uint8_t>(RequestKind::replicate));
  enc.p.pack_uint64(id);
  enc.out.insert(enc.out.end(), packed.begin(), packed.end());
  wire::pack_str(enc.p, hint_owner);
  pack_horizon(enc.p, horizon);
  return std::move(enc.out);
}

std::vector<std::uint8_t> encode_replicate_many(std::uint64_t id,
                                                std::span<const store::VersionedEntry> entries,
                                                std::string_view hint_owner, HlcTimestamp horizon) {
  Encoder enc;
  enc.p.pack_array(with_horizon(4, horizon));
  enc.p.pack_uint8(static_cast<std::uint8_t>(RequestKind::replicate_many));
  enc.p.pack_uint64(id);
  pack_entries(enc.p, entries);
  wire::pack_str(enc.p, hint_owner);
  pack_horizon(enc.p, horizon);
  return std::move(enc.out);
}

std::vector<std::uint8_t> encode_read(std::uint64_t id, std::string_view key,
                                      std::uint64_t version_hash) {
  Encoder enc;
  enc.p.pack_array(version_hash != 0 ? 4 : 3);
  enc.p.pack_uint8(static_cast<std::uint8_t>(RequestKind::read));
  enc.p.pack_uint64(id);
  pack_key(enc.p, key);
  if (version_hash != 0) enc.p.pack_uint64(version_hash);
  return std::move(enc.out);
}

std::vector<std::uint8_t> encode_forward(std::uint64_t id, std::span<const std::string_view> argv,
                                         std::uint8_t protocol, std::uint32_t write_quorum,
                                         std::uint32_t read_quorum, std::string_view user) {
  const bool quorums = write_quorum != 0 || read_quorum != 0 || !user.empty();
  Encoder enc;
  enc.p.pack_array(!user.empty() ? 7 : quorums ? 6 : 4);
  enc.p.pack_uint8(static_cast<std::uint8_t>(RequestKind::forward));
  enc.p.pack_uint64(id);
  enc.p.pack_array(static_cast<std::uint32_t>(argv.size()));
  for (auto a : argv) pack_key(enc.p, a);
  enc.p.pack_uint8(protocol);
  if (quorums) {
    enc.p.pack_uint32(write_quorum);
    enc.p.pack_uint32(read_quorum);
  }
  if (!user.empty()) pack_key(enc.p, user);
  return std::move(enc.out);
}

// encode_forward writes an array of 7 only when it carries the user (a msgpack fixarray).
bool forward_has_user(std::span<const std::uint8_t> request) {
  return !request.empty() && request.front() == 0x97;
}

std::vector<std::uint8_t> forward_without_user(std::span<const std::uint8_t> request,
                                               const ReplicationConfig& config) {
  auto m = decode_message(wire::MessageType::data_request, request, config);
  if (!m.ok() || m->kind != RequestKind::forward) return {request.begin(), request.end()};
  std::vector<std::string_view> argv(m->argv.begin(), m->argv.end());
  return encode_forward(m->id, argv, m->protocol, m->write_quorum, m->read_quorum);
}

std::vector<std::uint8_t> encode_forward_cancel(std::uint64_t id, CancelMode mode) {
  Encoder enc;
  enc.p.pack_array(3);
  enc.p.pack_uint8(static_cast<std::uint8_t>(RequestKind::forward_cancel));
  enc.p.pack_uint64(id);
  enc.p.pack_uint8(static_cast<std::uint8_t>(mode));
  return std::move(enc.out);
}

std::vector<std::uint8_t> encode_entries(std::uint64_t id, std::uint32_t partition,
                                         std::span<const store::VersionedEntry> entries,
                                         HlcTimestamp horizon) {
  Encoder enc;
  enc.p.pack_array(with_horizon(4, horizon));
  enc.p.pack_uint8(static_cast<std::uint8_t>(RequestKind::entries));
  enc.p.pack_uint64(id);
  enc.p.pack_uint32(partition);
  pack_entries(enc.p, entries);
  pack_horizon(enc.p, horizon);
  return std::move(enc.out);
}

std::vector<std::uint8_t> encode_response(RequestKind kind, std::uint64_t id, StatusCode code) {
  Encoder enc;
  enc.p.pack_array(3);
  enc.p.pack_uint8(static_cast<std::uint8_t>(kind));
  enc.p.pack_uint64(id);
  enc.p.pack_uint8(static_cast<std::uint8_t>(code));
  return std::move(enc.out);
}

std::vector<std::uint8_t> encode_acks(std::span<const std::uint64_t> ids) {
  Encoder enc;
  enc.out.reserve(8 + 9 * ids.size());
  enc.p.pack_array(4);
  enc.p.pack_uint8(static_cast<std::uint8_t>(RequestKind::acks));
  enc.p.pack_uint64(0);
  enc.p.pack_uint8(static_cast<std::uint8_t>(StatusCode::ok));
  enc.p.pack_array(static_cast<std::uint32_t>(ids.size()));
  for (const auto id : ids) enc.p.pack_uint64(id);
  return std::move(enc.out);
}

std::vector<std::uint8_t> encode_read_response(std::uint64_t id, StatusCode code,
                                               const store::VersionedEntry* entry,
                                               HlcTimestamp horizon, bool same) {
  Encoder enc;
  enc.p.pack_array(same ? 6 : with_horizon(4, horizon));
  enc.p.pack_uint8(static_cast<std::uint8_t>(RequestKind::read));
  enc.p.pack_uint64(id);
  enc.p.pack_uint8(static_cast<std::uint8_t>(code));
  if (entry != nullptr && !same) {
    pack_entries(enc.p, std::span<const store::VersionedEntry>(entry, 1));
  } else {
    enc.p.pack_array(0);
  }
  if (same) {
    enc.p.pack_uint64(horizon.packed);
    enc.p.pack_uint8(1);
  } else {
    pack_horizon(enc.p, horizon);
  }
  return std::move(enc.out);
}

std::vector<std::uint8_t> encode_forward_response(std::uint64_t id, StatusCode code,
                                                  std::string_view reply,
                                                  std::span<const store::VersionedEntry> carried,
                                                  HlcTimestamp horizon) {
  Encoder enc;
  enc.p.pack_array(with_horizon(5, horizon));
  enc.p.pack_uint8(static_cast<std::uint8_t>(RequestKind::forward));
  enc.p.pack_uint64(id);
  enc.p.pack_uint8(static_cast<std::uint8_t>(code));
  pack_key(enc.p, reply);
  pack_entries(enc.p, carried);
  pack_horizon(enc.p, horizon);
  return std::move(enc.out);
}

std::vector<std::uint8_t> encode_replicate_many(std::uint64_t id,
                                                std::span<const std::vector<std::uint8_t>> packed,
                                                HlcTimestamp horizon) {
  Encoder enc;
  std::size_t bytes = 32;
  for (const auto& e : packed) bytes += e.size();
  enc.out.reserve(bytes);
  enc.p.pack_array(with_horizon(4, horizon));
  enc.p.pack_uint8(static_cast<std::uint8_t>(RequestKind::replicate_many));
  enc.p.pack_uint64(id);
  enc.p.pack_array(static_cast<std::uint32_t>(packed.size()));
  for (const auto& e : packed) enc.out.insert(enc.out.end(), e.begin(), e.end());
  wire::pack_str(enc.p, std::string_view());
  pack_horizon(enc.p, horizon);
  return std::move(enc.out);
}

std::vector<std::uint8_t> encode_forward_response_packed(
    std::uint64_t id, StatusCode code, std::string_view reply,
    std::span<const std::vector<std::uint8_t>> carried, HlcTimestamp horizon) {
  Encoder enc;
  std::size_t bytes = 32 + reply.size();
  for (const auto& e : carried) bytes += e.size();
  enc.out.reserve(bytes);
  enc.p.pack_array(with_horizon(5, horizon));
  enc.p.pack_uint8(static_cast<std::uint8_t>(RequestKind::forward));
  enc.p.pack_uint64(id);
  enc.p.pack_uint8(static_cast<std::uint8_t>(code));
  pack_key(enc.p, reply);
  enc.p.pack_array(static_cast<std::uint32_t>(carried.size()));
  for (const auto& e : carried) enc.out.insert(enc.out.end(), e.begin(), e.end());
  pack_horizon(enc.p, horizon);
  return std::move(enc.out);
}

std::vector<std::uint8_t> encode_handoff_batch(std::uint64_t id, std::uint32_t partition,
                                               bool final,
                                               std::span<const store::VersionedEntry> entries,
                                               HlcTimestamp horizon) {
  Encoder enc;
  enc.p.pack_array(with_horizon(4, horizon));
  enc.p.pack_uint64(id);
  enc.p.pack_uint32(partition);
  enc.p.pack(final);
  pack_entries(enc.p, entries);
  pack_horizon(enc.p, horizon);
  return std::move(enc.out);
}

std::vector<std::uint8_t> encode_handoff_ack(std::uint64_t id, std::uint32_t partition,
                                             StatusCode code) {
  Encoder enc;
  enc.p.pack_array(3);
  enc.p.pack_uint64(id);
  enc.p.pack_uint32(partition);
  enc.p.pack_uint8(static_cast<std::uint8_t>(code));
  return std::move(enc.out);
}

std::vector<std::uint8_t> encode_digest_request(std::uint64_t id, std::uint32_t partition,
                                                const store::PartitionDigest& digest,
                                                HlcTimestamp horizon) {
  Encoder enc;
  enc.p.pack_array(with_horizon(3, horizon));
  enc.p.pack_uint64(id);
  enc.p.pack_uint32(partition);
  enc.p.pack_array(static_cast<std::uint32_t>(digest.buckets.size()));
  for (auto b : digest.buckets) enc.p.pack_uint64(b);
  pack_horizon(enc.p, horizon);
  return std::move(enc.out);
}

std::vector<std::uint8_t> encode_digest_response(std::uint64_t id, std::uint32_t partition,
                                                 std::span<const std::uint64_t> buckets,
                                                 std::span<const store::VersionedEntry> entries,
                                                 bool complete, HlcTimestamp horizon) {
  Encoder enc;
  enc.p.pack_array(with_horizon(5, horizon));
  enc.p.pack_uint64(id);
  enc.p.pack_uint32(partition);
  enc.p.pack_array(static_cast<std::uint32_t>(buckets.size()));
  for (auto b : buckets) enc.p.pack_uint64(b);
  pack_entries(enc.p, entries);
  enc.p.pack(complete);
  pack_horizon(enc.p, horizon);
  return std::move(enc.out);
}

static Result<Message> decode_message_unguarded(wire::MessageType type,
                                                std::span<const std::uint8_t> payload,
                                                const ReplicationConfig& config) {
  Reader r(payload, 2);  // each layout checks its own fields
  if (!r.ok()) return malformed("not an array");
  Message m;
  m.type = type;
  Status s;
  switch (type) {
    case wire::MessageType::data_request:
      s = decode_request(r, m, config);
      break;
    case wire::MessageType::data_response:
      s = decode_response(r, m, config);
      break;
    case wire::MessageType::handoff_batch:
      if (!r.u64(m.id) || !r.u(m.partition) || !r.boolean(m.final)) {
        s = malformed("handoff batch");
        break;
      }
      s = read_entries(r, config, m.entries);
      if (s.ok()) s = read_horizon(r, m, "handoff batch");
      break;
    case wire::MessageType::handoff_ack:
      if (!r.u64(m.id) || !r.u(m.partition) || !read_code(r, m.code) || r.remaining() != 0) {
        s = malformed("handoff ack");
      }
      break;
    case wire::MessageType::digest_request:
      if (!r.u64(m.id) || !r.u(m.partition)) {
        s = malformed("digest request");
        break;
      }
      s = read_numbers(r, store::kDigestBuckets, m.numbers);
      if (s.ok() && m.numbers.size() != store::kDigestBuckets) {
        s = malformed("digest request: bucket count");
      }
      if (s.ok()) s = read_horizon(r, m, "digest request");
      break;
    case wire::MessageType::digest_response:
      if (!r.u64(m.id) || !r.u(m.partition)) {
        s = malformed("digest response");
        break;
      }
      s = read_numbers(r, store::kDigestBuckets, m.numbers);
      if (s.ok()) s = read_entries(r, config, m.entries);
      if (s.ok() && !r.boolean(m.final)) s = malformed("digest response: complete flag");
      if (s.ok()) s = read_horizon(r, m, "digest response");
      for (auto b : m.numbers) {
        if (s.ok() && b >= store::kDigestBuckets) s = malformed("digest response: bucket");
      }
      break;
    case wire::MessageType::keyspace_request:
      s = decode_keyspace_request(r, m, config);
      break;
    case wire::MessageType::keyspace_response:
      s = decode_keyspace_response(r, m, config);
      break;
    default:
      return make_error(StatusCode::unsupported, "not a data-layer message");
  }
  if (!s.ok()) return s;
  if (!r.at_end()) return malformed("trailing bytes");
  if (m.partition >= config.partition_count) return malformed("partition out of range");
  return m;
}

Result<Message> decode_message(wire::MessageType type, std::span<const std::uint8_t> payload,
                               const ReplicationConfig& config) {
  return wire::guard_decode("data message",
                            [&] { return decode_message_unguarded(type, payload, config); });
}

}  // namespace apiary::replication
