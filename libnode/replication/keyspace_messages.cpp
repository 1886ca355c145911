// Codecs of keyspace_request / keyspace_response (layouts in messages.hpp) and the
// PartitionSet bitmap they carry.
#include <bit>

#include "messages.hpp"

namespace apiary::replication {

std::optional<PartitionSet> PartitionSet::from_bytes(std::uint32_t partition_count,
                                                     std::span<const std::uint8_t> bytes) {
  PartitionSet set(partition_count);
  if (bytes.size() != set.bits_.size()) return std::nullopt;
  std::copy(bytes.begin(), bytes.end(), set.bits_.begin());
  // Bits past the last partition must be clear, so that equal sets have equal bytes.
  if (partition_count % 8 != 0 && !set.bits_.empty() &&
      (set.bits_.back() >> (partition_count % 8)) != 0) {
    return std::nullopt;
  }
  return set;
}

std::size_t PartitionSet::size() const {
  std::size_t n = 0;
  for (auto b : bits_) n += static_cast<std::size_t>(std::popcount(b));
  return n;
}

namespace {

using wire::Packer;
using wire::Reader;

struct Encoder {
  std::vector<std::uint8_t> out;
  wire::VectorSink sink{out};
  Packer p{sink};
};

void pack_bytes(Packer& p, std::string_view s) {
  wire::pack_bin(
      p, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

void pack_partitions(Packer& p, const PartitionSet& set) { wire::pack_bin(p, set.bytes()); }

Status malformed(std::string_view what) {
  return make_error(StatusCode::malformed, "keyspace message: " + std::string(what));
}

bool read_partitions(Reader& r, const ReplicationConfig& config, PartitionSet& out) {
  std::span<const std::uint8_t> bytes;
  if (!r.bin(bytes, (config.partition_count + 7) / 8)) return false;
  auto set = PartitionSet::from_bytes(config.partition_count, bytes);
  if (!set) return false;
  out = std::move(*set);
  return true;
}

void pack_strings(Packer& p, const std::vector<std::string>& values) {
  p.pack_array(static_cast<std::uint32_t>(values.size()));
  for (const auto& v : values) pack_bytes(p, v);
}

bool read_strings(Reader& r, const ReplicationConfig& config, std::vector<std::string>& out) {
  Reader items;
  if (!r.array(items) || items.size() > kMaxMemberValues) return false;
  out.resize(items.size());
  for (auto& v : out) {
    if (!items.bin(v, config.max_message_bytes)) return false;
  }
  return true;
}

constexpr std::uint8_t kind_of(std::size_t index) { return static_cast<std::uint8_t>(index + 1); }

}  // namespace

std::vector<std::uint8_t> encode_keyspace_request(std::uint64_t id, const KeyspaceQuery& query,
                                                  std::uint64_t seq) {
  Encoder enc;
  Packer& p = enc.p;
  const std::uint8_t kind = kind_of(query.index());
  if (std::holds_alternative<ClockQuery>(query)) {
    p.pack_array(2);
    p.pack_uint8(kind);
    p.pack_uint64(id);
  } else if (const auto* count = std::get_if<CountQuery>(&query)) {
    p.pack_array(3);
    p.pack_uint8(kind);
    p.pack_uint64(id);
    pack_partitions(p, count->partitions);
  } else if (const auto* scan = std::get_if<ScanQuery>(&query)) {
    p.pack_array(7);
    p.pack_uint8(kind);
    p.pack_uint64(id);
    pack_partitions(p, scan->partitions);
    p.pack_uint64(scan->cursor);
    p.pack_uint32(scan->count);
    pack_bytes(p, scan->pattern);
    pack_bytes(p, scan->type);
  } else if (const auto* random = std::get_if<RandomKeyQuery>(&query)) {
    p.pack_array(3);
    p.pack_uint8(kind);
    p.pack_uint64(id);
    pack_partitions(p, random->partitions);
  } else if (const auto* flush = std::get_if<FlushQuery>(&query)) {
    p.pack_array(3);
    p.pack_uint8(kind);
    p.pack_uint64(id);
    p.pack_uint64(flush->horizon.packed);
  } else if (const auto* members = std::get_if<MembersQuery>(&query)) {
    p.pack_array(seq != 0 ? 5 : 4);
    p.pack_uint8(kind);
    p.pack_uint64(id);
    pack_bytes(p, members->op);
    pack_strings(p, members->args);
    if (seq != 0) p.pack_uint64(seq);
  }
  return std::move(enc.out);
}

std::vector<std::uint8_t> encode_keyspace_response(std::uint64_t id, StatusCode code,
                                                   std::size_t kind, const KeyspaceAnswer* answer) {
  Encoder enc;
  Packer& p = enc.p;
  auto header = [&](std::uint32_t fields) {
    p.pack_array(3 + fields);
    p.pack_uint8(kind_of(kind));
    p.pack_uint64(id);
    p.pack_uint8(static_cast<std::uint8_t>(code));
  };
  if (code != StatusCode::ok || answer == nullptr || answer->index() != kind) {
    header(0);
  } else if (const auto* clock = std::get_if<ClockAnswer>(answer)) {
    header(1);
    p.pack_uint64(clock->last.packed);
  } else if (const auto* count = std::get_if<CountAnswer>(answer)) {
    header(2);
    p.pack_uint64(count->keys);
    p.pack_uint64(count->expires);
  } else if (const auto* scan = std::get_if<ScanAnswer>(answer)) {
    header(3);
    p.pack_array(static_cast<std::uint32_t>(scan->keys.size()));
    for (const auto& k : scan->keys) p.pack_uint64(k.position);
    p.pack_array(static_cast<std::uint32_t>(scan->keys.size()));
    for (const auto& k : scan->keys) pack_bytes(p, k.key);
    p.pack_uint64(scan->next);
  } else if (const auto* random = std::get_if<RandomKeyAnswer>(answer)) {
    header(2);
    p.pack(random->key.has_value());
    pack_bytes(p, random->key ? std::string_view(*random->key) : std::string_view());
  } else if (const auto* flush = std::get_if<FlushAnswer>(answer)) {
    header(1);
    p.pack_uint64(flush->removed);
  } else if (const auto* members = std::get_if<MembersAnswer>(answer)) {
    header(1);
    pack_strings(p, members->values);
  }
  return std::move(enc.out);
}

Status decode_keyspace_request(Reader& r, Message& m, const ReplicationConfig& config) {
  std::uint8_t kind = 0;
  if (!r.u(kind) || !r.u64(m.id)) return malformed("request header");
  bool ok = false;
  switch (kind) {
    case kind_of(0):
      m.query = ClockQuery{};
      ok = true;
      break;
    case kind_of(1): {
      CountQuery q;
      ok = read_partitions(r, config, q.partitions);
      m.query = std::move(q);
      break;
    }
    case kind_of(2): {
      ScanQuery q;
      ok = read_partitions(r, config, q.partitions) && r.u64(q.cursor) && r.u(q.count) &&
           // A MATCH pattern is not a key: Redis takes any length, the message bounds it.
           q.count <= kMaxScanCount && r.bin(q.pattern, config.max_message_bytes) &&
           r.bin(q.type, 64);
      m.query = std::move(q);
      break;
    }
    case kind_of(3): {
      RandomKeyQuery q;
      ok = read_partitions(r, config, q.partitions);
      m.query = std::move(q);
      break;
    }
    case kind_of(4): {
      FlushQuery q;
      ok = r.u64(q.horizon.packed);
      m.query = q;
      break;
    }
    case kind_of(5): {
      MembersQuery q;
      ok = r.bin(q.op, 64) && read_strings(r, config, q.args);
      if (ok && r.remaining() == 1) ok = r.u64(m.seq);
      m.query = std::move(q);
      break;
    }
    default:
      return malformed("unknown request kind");
  }
  if (!ok || r.remaining() != 0) return malformed("request");
  return Status::Ok();
}

Status decode_keyspace_response(Reader& r, Message& m, const ReplicationConfig& config) {
  std::uint8_t kind = 0;
  std::uint64_t code = 0;
  if (!r.u(kind) || !r.u64(m.id) || !r.u64(code) ||
      code > static_cast<std::uint64_t>(StatusCode::internal) || kind < kind_of(0) ||
      kind > kind_of(std::variant_size_v<KeyspaceAnswer> - 1)) {
    return malformed("response header");
  }
  m.code = static_cast<StatusCode>(code);
  if (m.code != StatusCode::ok) {
    return r.remaining() == 0 ? Status::Ok() : malformed("error response: trailing fields");
  }
  bool ok = false;
  switch (kind) {
    case kind_of(0): {
      ClockAnswer a;
      ok = r.u64(a.last.packed);
      m.answer = a;
      break;
    }
    case kind_of(1): {
      CountAnswer a;
      ok = r.u64(a.keys) && r.u64(a.expires);
      m.answer = a;
      break;
    }
    case kind_of(2): {
      ScanAnswer a;
      Reader ps;
      ok = r.array(ps) && ps.size() <= kMaxScanCount;
      if (ok) {
        a.keys.resize(ps.size());
        for (std::size_t i = 0; ok && i < a.keys.size(); ++i) {
          ok = ps.u64(a.keys[i].position) &&
               (i == 0 || a.keys[i - 1].position <= a.keys[i].position);
        }
      }
      Reader ks;
      ok = ok && r.array(ks) && ks.size() == a.keys.size();
      for (std::size_t i = 0; ok && i < a.keys.size(); ++i) {
        ok = ks.bin(a.keys[i].key, config.max_key_bytes);
      }
      ok = ok && r.u64(a.next);
      m.answer = std::move(a);
      break;
    }
    case kind_of(3): {
      RandomKeyAnswer a;
      bool found = false;
      std::string key;
      ok = r.boolean(found) && r.bin(key, config.max_key_bytes);
      if (found) a.key = std::move(key);
      m.answer = std::move(a);
      break;
    }
    case kind_of(4): {
      FlushAnswer a;
      ok = r.u64(a.removed);
      m.answer = a;
      break;
    }
    case kind_of(5): {
      MembersAnswer a;
      ok = read_strings(r, config, a.values);
      m.answer = std::move(a);
      break;
    }
    default:
      break;
  }
  if (!ok || r.remaining() != 0) return malformed("response");
  return Status::Ok();
}

}  // namespace apiary::replication
