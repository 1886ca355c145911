#include "apiary/persist/record.hpp"

#include <algorithm>
#include <cstring>

#include "apiary/persist/crc32c.hpp"
#include "apiary/wire/msgpack_codec.hpp"

namespace apiary::persist {

namespace {

constexpr std::array<char, 8> kAofMagic = {'A', 'P', 'I', 'A', 'R', 'Y', 'A', 'O'};
constexpr std::array<char, 8> kSnapshotMagic = {'A', 'P', 'I', 'A', 'R', 'Y', 'S', 'N'};

const std::array<char, 8>& magic_of(FileKind kind) {
  return kind == FileKind::aof ? kAofMagic : kSnapshotMagic;
}

Status malformed(std::string what) { return make_error(StatusCode::malformed, std::move(what)); }

// [key] and [hlc]: one-field arrays, bounded before anything is allocated.
Result<Record> decode_remove(std::span<const std::uint8_t> payload, const RecordLimits& limits) {
  wire::Reader r(payload, 1);
  RemoveRecord rec;
  if (!r.bin(rec.key, limits.entry.max_key_bytes) || r.remaining() != 0 || !r.at_end()) {
    return malformed("remove record: not [key]");
  }
  return Record(std::move(rec));
}

// One CollectionDelta spanning the whole payload.
Result<Record> decode_delta(std::span<const std::uint8_t> payload, const RecordLimits& limits) {
  wire::Reader whole(payload, wire::Reader::kSingle);
  auto delta = store::read_delta(whole, limits.entry);
  if (!delta.ok()) return delta.status();
  if (!whole.at_end()) return malformed("delta record: trailing bytes");
  return Record(DeltaRecord{std::move(delta).value()});
}

Result<Record> decode_flush(std::span<const std::uint8_t> payload) {
  wire::Reader r(payload, 1);
  FlushRecord rec;
  if (!r.u64(rec.horizon.packed) || r.remaining() != 0 || !r.at_end()) {
    return malformed("flush record: not [hlc]");
  }
  return Record(rec);
}

// Fills in the frame header reserved at out[start, start + 9) for the payload after it.
void finish_frame(std::vector<std::uint8_t>& out, std::size_t start, RecordType type) {
  const auto length = static_cast<std::uint32_t>(out.size() - start - kRecordHeaderBytes);
  for (int i = 0; i < 4; ++i) out[start + 4 + i] = static_cast<std::uint8_t>(length >> (8 * i));
  out[start + 8] = static_cast<std::uint8_t>(type);
  const std::uint32_t crc =
      crc32c(std::span<const std::uint8_t>(out).subspan(start + 4, out.size() - start - 4));
  for (int i = 0; i < 4; ++i) out[start + i] = static_cast<std::uint8_t>(crc >> (8 * i));
}

}  // namespace

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void put_u64(std::vector<std::uint8_t>& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
std::uint32_t get_u32(const std::uint8_t* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
std::uint64_t get_u64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

std::array<std::uint8_t, kFileHeaderBytes> encode_header(const FileHeader& header) {
  std::vector<std::uint8_t> out;
  out.reserve(kFileHeaderBytes);
  const auto& magic = magic_of(header.kind);
  out.insert(out.end(), magic.begin(), magic.end());
  out.push_back(static_cast<std::uint8_t>(header.version));
  out.push_back(static_cast<std::uint8_t>(header.version >> 8));
  out.push_back(0);  // flags, none defined yet
  out.push_back(0);
  put_u64(out, header.actor.value);
  put_u32(out, crc32c(out));
  std::array<std::uint8_t, kFileHeaderBytes> bytes{};
  std::copy(out.begin(), out.end(), bytes.begin());
  return bytes;
}

Result<FileHeader> decode_header(std::span<const std::uint8_t> bytes, FileKind kind) {
  const auto& magic = magic_of(kind);
  if (bytes.size() < kFileHeaderBytes) return malformed("file header: truncated");
  if (!std::equal(magic.begin(), magic.end(), bytes.begin())) {
    return malformed(std::string("file header: not an Apiary ") +
                     (kind == FileKind::aof ? "append-only file" : "snapshot") + " (bad magic)");
  }
  if (crc32c(bytes.first(kFileHeaderBytes - 4)) != get_u32(bytes.data() + kFileHeaderBytes - 4)) {
    return malformed("file header: bad checksum");
  }
  FileHeader h;
  h.kind = kind;
  h.version = static_cast<std::uint16_t>(bytes[8] | (bytes[9] << 8));
  if (h.version == 0 || h.version > kFormatVersion) {
    return make_error(StatusCode::unsupported,
                      "file header: format version " + std::to_string(h.version) +
                          " (this build reads up to " + std::to_string(kFormatVersion) + ")");
  }
  if (bytes[10] != 0 || bytes[11] != 0) {
    return make_error(StatusCode::unsupported, "file header: unknown flags (a newer writer)");
  }
  h.actor.value = get_u64(bytes.data() + 12);
  return h;
}

bool is_header_prefix(std::span<const std::uint8_t> bytes, FileKind kind) {
  if (bytes.size() >= kFileHeaderBytes) return false;
  const auto& magic = magic_of(kind);
  const std::size_t n = std::min(bytes.size(), magic.size());
  return std::equal(magic.begin(), magic.begin() + static_cast<std::ptrdiff_t>(n), bytes.begin());
}

RecordType record_type(const Record& record) {
  struct Visitor {
    RecordType operator()(const PutRecord&) const { return RecordType::put; }
    RecordType operator()(const RemoveRecord&) const { return RecordType::remove; }
    RecordType operator()(const FlushRecord&) const { return RecordType::flush_horizon; }
    RecordType operator()(const DeltaRecord&) const { return RecordType::collection_delta; }
  };
  return std::visit(Visitor{}, record);
}

void append_frame(std::vector<std::uint8_t>& out, RecordType type,
                  std::span<const std::uint8_t> payload) {
  const std::size_t start = out.size();
  out.resize(start + kRecordHeaderBytes);
  out.insert(out.end(), payload.begin(), payload.end());
  finish_frame(out, start, type);
}

std::size_t open_group(std::vector<std::uint8_t>& out) {
  const std::size_t start = out.size();
  out.resize(start + kRecordHeaderBytes);
  return start;
}

void close_group(std::vector<std::uint8_t>& out, std::size_t start) {
  finish_frame(out, start, RecordType::group);
}

Result<std::vector<Record>> decode_group(std::span<const std::uint8_t> payload,
                                         const RecordLimits& limits) {
  std::vector<Record> out;
  std::size_t pos = 0;
  while (pos < payload.size()) {
    if (payload.size() - pos < kRecordHeaderBytes) {
      return make_error(StatusCode::malformed, "group: a member's frame header is cut short");
    }
    const FrameHeader frame =
        parse_frame_header(payload.subspan(pos).first<kRecordHeaderBytes>());
    pos += kRecordHeaderBytes;
    if (frame.length > payload.size() - pos || frame.length > limits.max_record_bytes) {
      return make_error(StatusCode::malformed, "group: a member runs past the group");
    }
    const auto body = payload.subspan(pos, frame.length);
    pos += frame.length;
    if (!frame_checksum_ok(frame, body)) {
      return make_error(StatusCode::malformed, "group: a member's checksum does not match");
    }
    if (frame.type >= kFirstOptionalRecordType) continue;
    if (frame.type == static_cast<std::uint8_t>(RecordType::group) ||
        frame.type == static_cast<std::uint8_t>(RecordType::snapshot_end)) {
      return make_error(StatusCode::malformed, "group: a group or snapshot trailer inside it");
    }
    auto record = decode_payload(frame.type, body, limits);
    if (!record.ok()) return record.status();
    out.push_back(std::move(record).value());
  }
  return out;
}

void append_record(std::vector<std::uint8_t>& out, const Record& record) {
  // The payload is packed straight after a reserved frame header, then framed in place.
  const std::size_t start = out.size();
  out.resize(start + kRecordHeaderBytes);
  wire::VectorSink sink(out);
  wire::Packer packer(sink);
  if (const auto* put = std::get_if<PutRecord>(&record)) {
    store::pack_entry(packer, put->entry);
  } else if (const auto* remove = std::get_if<RemoveRecord>(&record)) {
    packer.pack_array(1);
    wire::pack_bin(packer, std::span(reinterpret_cast<const std::uint8_t*>(remove->key.data()),
                                     remove->key.size()));
  } else if (const auto* delta = std::get_if<DeltaRecord>(&record)) {
    store::pack_delta(packer, delta->delta);
  } else {
    packer.pack_array(1);
    packer.pack_uint64(std::get<FlushRecord>(record).horizon.packed);
  }
  finish_frame(out, start, record_type(record));
}

FrameHeader parse_frame_header(std::span<const std::uint8_t, kRecordHeaderBytes> bytes) {
  FrameHeader f;
  f.crc = get_u32(bytes.data());
  f.length = get_u32(bytes.data() + 4);
  f.type = bytes[8];
  return f;
}

bool frame_checksum_ok(const FrameHeader& frame, std::span<const std::uint8_t> payload) {
  std::uint8_t head[5];
  for (int i = 0; i < 4; ++i) head[i] = static_cast<std::uint8_t>(frame.length >> (8 * i));
  head[4] = frame.type;
  return crc32c_extend(crc32c(std::span<const std::uint8_t>(head, 5)), payload) == frame.crc;
}

Result<Record> decode_payload(std::uint8_t type, std::span<const std::uint8_t> payload,
                              const RecordLimits& limits) {
  return wire::guard_decode("record", [&]() -> Result<Record> {
    switch (static_cast<RecordType>(type)) {
      case RecordType::put: {
        auto entry = store::decode_entry(payload, limits.entry);
        if (!entry.ok()) return entry.status();
        return Record(PutRecord{std::move(entry).value()});
      }
      case RecordType::remove:
        return decode_remove(payload, limits);
      case RecordType::flush_horizon:
        return decode_flush(payload);
      case RecordType::collection_delta:
        return decode_delta(payload, limits);
      case RecordType::snapshot_end:
      case RecordType::group:  // framing, not a record: AofReader opens groups itself
        break;
    }
    return make_error(StatusCode::unsupported, "record type " + std::to_string(type));
  });
}

}  // namespace apiary::persist
