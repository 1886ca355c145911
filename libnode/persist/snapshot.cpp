#include "apiary/persist/snapshot.hpp"

#include "apiary/persist/crc32c.hpp"
#include "apiary/persist/frame_reader.hpp"
#include "apiary/persist/atomic_file.hpp"

namespace apiary::persist {

namespace {

constexpr std::size_t kTrailerPayloadBytes = 12;  // count:u64le chain:u32le

Status corrupt(const std::string& path, const std::string& what) {
  return make_error(StatusCode::malformed, "snapshot " + path + ": " + what);
}

// Why the frames stopped before the trailer, as a Status.
Status stopped_early(const std::string& path, const FrameReader& reader) {
  const std::string where = reader.stop_detail().empty()
                                ? "at offset " + std::to_string(reader.good_offset())
                                : reader.stop_detail();
  switch (reader.stop_reason()) {
    case StopReason::io_error:
      return make_error(StatusCode::io_error, "snapshot " + path + ": " + where);
    case StopReason::end_of_file:
      return corrupt(path, "no trailer (the file ends at offset " +
                               std::to_string(reader.good_offset()) + ")");
    default:
      return corrupt(path, std::string(to_string(reader.stop_reason())) + ": " + where);
  }
}

Status check_trailer(const std::string& path, const Frame& frame, std::uint64_t puts,
                     std::uint32_t chain) {
  if (frame.payload.size() != kTrailerPayloadBytes) return corrupt(path, "bad trailer");
  const std::uint64_t count = get_u64(frame.payload.data());
  const std::uint32_t expected_chain = get_u32(frame.payload.data() + 8);
  if (count != puts) {
    return corrupt(path, "the trailer counts " + std::to_string(count) + " entries, the file has " +
                             std::to_string(puts));
  }
  if (chain != expected_chain) return corrupt(path, "the trailer's record chain does not match");
  return Status::Ok();
}

}  // namespace

Result<WriteStats> write_snapshot(Env& env, const std::string& path, NodeId actor,
                                  HlcTimestamp flush_horizon, const EntrySource& next) {
  return write_table_file(env, path, FileKind::snapshot, actor, flush_horizon, next,
                          add_snapshot_trailer);
}

Status add_snapshot_trailer(AtomicFileWriter& writer, std::uint64_t entries) {
  std::vector<std::uint8_t> payload;
  put_u64(payload, entries);
  put_u32(payload, writer.chained_crc());
  return writer.add_frame(RecordType::snapshot_end, payload);
}

Result<SnapshotContents> load_snapshot(Env& env, const std::string& path,
                                       const RecordLimits& limits) {
  auto opened = FrameReader::open(env, path, FileKind::snapshot, limits);
  if (!opened.ok()) return opened.status();
  FrameReader& reader = *opened.value();
  if (!reader.has_header()) return corrupt(path, "truncated header");
  SnapshotContents contents;
  contents.header = reader.header();
  std::uint32_t chain = 0;
  Frame frame;
  while (reader.next(frame)) {
    const std::string at = " at offset " + std::to_string(frame.offset);
    if (frame.type == static_cast<std::uint8_t>(RecordType::snapshot_end)) {
      if (auto s = check_trailer(path, frame, contents.entries.size(), chain); !s.ok()) return s;
      Frame extra;
      if (reader.next(extra) || reader.stop_reason() != StopReason::end_of_file) {
        return corrupt(path, "bytes after the trailer" + at);
      }
      return contents;
    }
    std::uint8_t crc_bytes[4];
    for (int i = 0; i < 4; ++i) crc_bytes[i] = static_cast<std::uint8_t>(frame.crc >> (8 * i));
    chain = crc32c_extend(chain, std::span<const std::uint8_t>(crc_bytes, 4));
    if (frame.type >= kFirstOptionalRecordType) continue;
    auto record = decode_payload(frame.type, frame.payload, limits);
    if (!record.ok()) {
      return Status(record.status().code(),
                    "snapshot " + path + ": record" + at + ": " + record.status().message());
    }
    if (auto* put = std::get_if<PutRecord>(&record.value())) {
      contents.entries.push_back(std::move(put->entry));
    } else if (auto* flush = std::get_if<FlushRecord>(&record.value())) {
      contents.flush_horizon = flush->horizon;
    } else {
      return corrupt(path, (std::holds_alternative<RemoveRecord>(record.value())
                                ? "a remove record"
                                : "a collection delta record") +
                               at);
    }
  }
  return stopped_early(path, reader);
}

}  // namespace apiary::persist
