#include "codec.hpp"

#include <algorithm>
#include <string>

namespace apiary::gossip::detail {

namespace {

using wire::Packer;
using Reader = wire::ObjectReader;
using wire::VectorSink;

constexpr std::size_t kMetaFields = 4;
constexpr std::size_t kUpdateFields = 4;  // + meta for alive
constexpr std::size_t kEntryFields = 5;

Status malformed(std::string_view what) {
  return make_error(StatusCode::malformed, std::string(what));
}

bool read_name(Reader& r, std::string_view& out) {
  return r.str(out, kMaxNameBytes) && !out.empty();
}

bool read_incarnation(Reader& r, Incarnation& out) {
  std::uint64_t v = 0;
  if (!r.u64(v) || v > kMaxIncarnation) return false;
  out = Incarnation{v};
  return true;
}

bool read_tags(const msgpack::object& obj, const msgpack::object*& out) {
  if (obj.type != msgpack::type::MAP || obj.via.map.size > kMaxTags) return false;
  std::string_view previous;
  for (std::uint32_t i = 0; i < obj.via.map.size; ++i) {
    const auto& kv = obj.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR || kv.val.type != msgpack::type::STR) return false;
    const std::string_view key(kv.key.via.str.ptr, kv.key.via.str.size);
    if (key.size() > kMaxTagKeyBytes || kv.val.via.str.size > kMaxTagValueBytes) return false;
    // Strictly increasing keys: no duplicates, and one canonical form to compare against.
    if (i > 0 && key <= previous) return false;
    previous = key;
  }
  out = obj.via.map.size == 0 ? nullptr : &obj;
  return true;
}

bool read_meta(Reader& r, MetaView& out) {
  const msgpack::object* obj = nullptr;
  if (!r.object(obj)) return false;
  Reader m(*obj, kMetaFields);
  const msgpack::object* tags = nullptr;
  return m.size() == kMetaFields && m.str(out.client_addr, kMaxAddrBytes) &&
         m.str(out.http_addr, kMaxAddrBytes) && m.str(out.data_addr, kMaxAddrBytes) &&
         m.object(tags) && read_tags(*tags, out.tags);
}

bool read_kind(Reader& r, MemberState& out) {
  std::uint8_t v = 0;
  if (!r.u(v) || v > static_cast<std::uint8_t>(MemberState::left)) return false;
  out = static_cast<MemberState>(v);
  return true;
}

// One piggybacked update: 4 fields, or 5 for alive (with meta).
bool read_update(const msgpack::object& obj, UpdateView& out) {
  Reader r(obj, kUpdateFields);
  if (!read_kind(r, out.kind) || !read_name(r, out.name) || !read_incarnation(r, out.incarnation) ||
      !r.str(out.addr_or_from, kMaxAddrBytes) || out.addr_or_from.empty()) {
    return false;
  }
  if (out.kind == MemberState::alive)
    return r.size() == kUpdateFields + 1 && read_meta(r, out.meta);
  return r.size() == kUpdateFields;
}

// One push-pull member entry: always 5 fields.
bool read_entry(const msgpack::object& obj, UpdateView& out) {
  Reader r(obj, kEntryFields);
  return r.size() == kEntryFields && read_kind(r, out.kind) && read_name(r, out.name) &&
         read_incarnation(r, out.incarnation) && r.str(out.addr_or_from, kMaxAddrBytes) &&
         !out.addr_or_from.empty() && read_meta(r, out.meta);
}

bool read_list(Reader& r, std::size_t max_items, bool entries, std::vector<UpdateView>& out) {
  const msgpack::object* obj = nullptr;
  if (!r.object(obj) || obj->type != msgpack::type::ARRAY || obj->via.array.size > max_items) {
    return false;
  }
  out.resize(obj->via.array.size);
  for (std::uint32_t i = 0; i < obj->via.array.size; ++i) {
    const bool ok = entries ? read_entry(obj->via.array.ptr[i], out[i])
                            : read_update(obj->via.array.ptr[i], out[i]);
    if (!ok) return false;
  }
  return true;
}

bool read_seq(Reader& r, std::uint32_t& out) { return r.u(out); }

void pack_meta(Packer& p, const MemberMeta* meta) {
  static const MemberMeta kEmpty;
  const MemberMeta& m = meta != nullptr ? *meta : kEmpty;
  p.pack_array(kMetaFields);
  wire::pack_str(p, m.client_addr);
  wire::pack_str(p, m.http_addr);
  wire::pack_str(p, m.data_addr);
  p.pack_map(static_cast<std::uint32_t>(m.tags.size()));
  for (const auto& [key, value] : m.tags) {  // std::map: sorted, as decoding requires
    wire::pack_str(p, key);
    wire::pack_str(p, value);
  }
}

}  // namespace

MemberMeta within_limits(MemberMeta meta) {
  auto cap = [](std::string& s, std::size_t n) {
    if (s.size() > n) s.resize(n);
  };
  cap(meta.client_addr, kMaxAddrBytes);
  cap(meta.http_addr, kMaxAddrBytes);
  cap(meta.data_addr, kMaxAddrBytes);
  std::size_t kept = 0;
  for (auto it = meta.tags.begin(); it != meta.tags.end();) {
    if (it->first.size() > kMaxTagKeyBytes || kept == kMaxTags) {
      it = meta.tags.erase(it);
    } else {
      cap(it->second, kMaxTagValueBytes);
      ++kept;
      ++it;
    }
  }
  return meta;
}

bool MetaView::empty() const {
  return client_addr.empty() && http_addr.empty() && data_addr.empty() && tags == nullptr;
}

bool same_meta(const MemberMeta* stored, const MetaView& view) {
  if (stored == nullptr) return view.empty();
  if (stored->client_addr != view.client_addr || stored->http_addr != view.http_addr ||
      stored->data_addr != view.data_addr) {
    return false;
  }
  const std::uint32_t count = view.tags == nullptr ? 0 : view.tags->via.map.size;
  if (stored->tags.size() != count) return false;
  auto it = stored->tags.begin();
  for (std::uint32_t i = 0; i < count; ++i, ++it) {  // both sorted by key
    const auto& kv = view.tags->via.map.ptr[i];
    if (it->first != std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) ||
        it->second != std::string_view(kv.val.via.str.ptr, kv.val.via.str.size)) {
      return false;
    }
  }
  return true;
}

MemberMeta to_meta(const MetaView& view) {
  MemberMeta meta;
  meta.client_addr = view.client_addr;
  meta.http_addr = view.http_addr;
  meta.data_addr = view.data_addr;
  if (view.tags != nullptr) {
    for (std::uint32_t i = 0; i < view.tags->via.map.size; ++i) {
      const auto& kv = view.tags->via.map.ptr[i];
      meta.tags.emplace_hint(meta.tags.end(), std::string(kv.key.via.str.ptr, kv.key.via.str.size),
                             std::string(kv.val.via.str.ptr, kv.val.via.str.size));
    }
  }
  return meta;
}

static Status decode_message_unguarded(wire::MessageType type,
                                       std::span<const std::uint8_t> payload,
                                       std::size_t max_updates, Message& out) {
  wire::UnpackLimits limits;
  limits.array = std::max<std::size_t>(max_updates, kEntryFields);
  limits.map = kMaxTags;
  limits.str = std::max({kMaxNameBytes, kMaxAddrBytes, kMaxTagKeyBytes, kMaxTagValueBytes});
  limits.bin = 0;
  limits.depth = 5;  // payload > list > update > meta > tags
  auto handle = wire::unpack_bounded(payload, limits);
  if (!handle.ok()) return handle.status();
  out.handle = std::move(handle.value());
  out.type = type;
  Reader r(out.handle.get(), 1);
  bool ok = false;
  switch (type) {
    case wire::MessageType::ping:
      ok = r.size() == 5 && read_seq(r, out.seq) && read_name(r, out.target) &&
           r.boolean(out.flag) && read_incarnation(r, out.suspected) &&
           read_list(r, max_updates, false, out.updates);
      break;
    case wire::MessageType::ping_req:
      ok = r.size() == 5 && read_seq(r, out.seq) && read_name(r, out.target) &&
           r.str(out.target_addr, kMaxAddrBytes) && !out.target_addr.empty() &&
           r.boolean(out.flag) && read_list(r, max_updates, false, out.updates);
      break;
    case wire::MessageType::ack:
    case wire::MessageType::nack:
      ok = r.size() == 2 && read_seq(r, out.seq) && read_list(r, max_updates, false, out.updates);
      break;
    case wire::MessageType::gossip:
      ok = r.size() == 1 && read_list(r, max_updates, false, out.updates);
      break;
    case wire::MessageType::push_pull:
    case wire::MessageType::push_pull_reply:
      ok = r.size() == 2 && r.boolean(out.flag) && read_list(r, max_updates, true, out.updates);
      break;
    default:
      return make_error(StatusCode::unsupported, "not a membership message");
  }
  return ok ? Status::Ok() : malformed("bad membership payload");
}

void begin_ping(Packer& p, std::uint32_t seq, std::string_view target, bool suspected,
                Incarnation suspected_incarnation) {
  p.pack_array(5);
  p.pack_uint32(seq);
  wire::pack_str(p, target);
  if (suspected) {
    p.pack_true();
  } else {
    p.pack_false();
  }
  p.pack_uint64(suspected_incarnation.value);
}

void begin_ping_req(Packer& p, std::uint32_t seq, std::string_view target,
                    std::string_view target_addr, bool want_nack) {
  p.pack_array(5);
  p.pack_uint32(seq);
  wire::pack_str(p, target);
  wire::pack_str(p, target_addr);
  if (want_nack) {
    p.pack_true();
  } else {
    p.pack_false();
  }
}

void begin_ack(Packer& p, std::uint32_t seq) {
  p.pack_array(2);
  p.pack_uint32(seq);
}

void begin_gossip(Packer& p) { p.pack_array(1); }

void begin_push_pull(Packer& p, bool join, std::size_t member_count) {
  p.pack_array(2);
  if (join) {
    p.pack_true();
  } else {
    p.pack_false();
  }
  p.pack_array(static_cast<std::uint32_t>(member_count));
}

void append_updates(std::vector<std::uint8_t>& out, std::size_t count,
                    std::span<const std::uint8_t> encoded) {
  VectorSink sink(out);
  Packer p(sink);
  p.pack_array(static_cast<std::uint32_t>(count));
  out.insert(out.end(), encoded.begin(), encoded.end());
}

std::vector<std::uint8_t> encode_alive(std::string_view name, Incarnation incarnation,
                                       std::string_view addr, const MemberMeta* meta) {
  std::vector<std::uint8_t> out;
  out.reserve(24 + name.size() + addr.size());
  VectorSink sink(out);
  Packer p(sink);
  p.pack_array(kUpdateFields + 1);
  p.pack_uint8(static_cast<std::uint8_t>(MemberState::alive));
  wire::pack_str(p, name);
  p.pack_uint64(incarnation.value);
  wire::pack_str(p, addr);
  pack_meta(p, meta);
  return out;
}

std::vector<std::uint8_t> encode_accusation(MemberState kind, std::string_view name,
                                            Incarnation incarnation, std::string_view from) {
  std::vector<std::uint8_t> out;
  out.reserve(16 + name.size() + from.size());
  VectorSink sink(out);
  Packer p(sink);
  p.pack_array(kUpdateFields);
  p.pack_uint8(static_cast<std::uint8_t>(kind));
  wire::pack_str(p, name);
  p.pack_uint64(incarnation.value);
  wire::pack_str(p, from);
  return out;
}

void pack_member_entry(Packer& p, MemberState state, std::string_view name, Incarnation incarnation,
                       std::string_view addr, const MemberMeta* meta) {
  p.pack_array(kEntryFields);
  p.pack_uint8(static_cast<std::uint8_t>(state));
  wire::pack_str(p, name);
  p.pack_uint64(incarnation.value);
  wire::pack_str(p, addr);
  pack_meta(p, meta);
}

std::size_t envelope_overhead(std::string_view cluster, std::string_view sender_name,
                              std::string_view sender_addr) {
  // array(1) + version(1) + 3 str headers (<= 3 each) + type (<= 3) + bin header (<= 5).
  return 1 + 1 + 9 + 3 + 5 + cluster.size() + sender_name.size() + sender_addr.size();
}

Status decode_message(wire::MessageType type, std::span<const std::uint8_t> payload,
                      std::size_t max_updates, Message& out) {
  return wire::guard_decode(
      "swim message", [&] { return decode_message_unguarded(type, payload, max_updates, out); });
}

}  // namespace apiary::gossip::detail
