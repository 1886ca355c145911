// The on-disk record format shared by the append-only file and the snapshot
// (docs/persistence.md has the byte-by-byte layout).
//
//   file   = header record*
//   header = magic[8] version:u16le flags:u16le actor:u64le crc32c:u32le     (24 bytes)
//            magic "APIARYAO" (AOF) or "APIARYSN" (snapshot); crc over the 20 bytes before;
//            flags 0 (a reader refuses flags it does not know, as a newer version)
//   record = crc32c:u32le length:u32le type:u8 payload[length]
//            crc over length, type and payload, so a corrupt length is caught too
//
// Payloads are MessagePack; a put carries the store entry exactly as replication ships it
// (store/entry_codec.hpp: key, DvvSet with each sibling's ValueKind, absolute expiry), a
// collection delta the CollectionDelta exactly as replicate_delta ships it.
//
// Growth without a format break: a record type below 128 is *critical*: a reader that does
// not know it stops there with StopReason::unsupported (never guessing, never truncating:
// the file was written by a newer Apiary). Types from 128 up are *optional*: readers that do
// not know them skip them whole. A new data type (hashes, sets) gets a new critical type with
// its own payload; new optional metadata gets an optional type; the version in the header
// changes only if the framing itself changes.
//
// Encoding and decoding are pure functions; decoding never throws and bounds every size by
// RecordLimits.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "apiary/base/hlc.hpp"
#include "apiary/base/ids.hpp"
#include "apiary/base/status.hpp"
#include "apiary/store/entry_codec.hpp"
#include "apiary/store/store.hpp"

namespace apiary::persist {

inline constexpr std::uint16_t kFormatVersion = 1;
inline constexpr std::size_t kFileHeaderBytes = 24;
inline constexpr std::size_t kRecordHeaderBytes = 9;  // crc, length, type

enum class FileKind : std::uint8_t { aof, snapshot };

struct FileHeader {
  FileKind kind = FileKind::aof;
  std::uint16_t version = kFormatVersion;
  NodeId actor;  // the replica actor of the process that created the file
  friend bool operator==(const FileHeader&, const FileHeader&) = default;
};

// Record type tags: explicit, never reused. Below 128 critical, from 128 optional.
enum class RecordType : std::uint8_t {
  put = 1,            // store::VersionedEntry: the entry's whole state after a change
  remove = 2,         // [key]: the key left the table (expiry, eviction, tombstone collection)
  flush_horizon = 3,  // [hlc]: FLUSHALL's horizon (Store::flush_before)
  snapshot_end = 4,   // count:u64le crc32c:u32le of the records before it (snapshot only)
  collection_delta = 5,  // store::CollectionDelta: a write to a hash or set (AOF only)
  // Whole framed records of one event-loop pass (AOF only): loading applies all of them or,
  // when the group is torn or damaged, none -- so the keys one transaction or script wrote
  // (replicated and applied as one unit) are on disk as one unit too.
  group = 6,
};
inline constexpr std::uint8_t kFirstOptionalRecordType = 128;

struct PutRecord {
  store::VersionedEntry entry;
};
struct RemoveRecord {
  std::string key;
};
struct FlushRecord {
  HlcTimestamp horizon;
};
// A write to a hash or set as its element changes on top of the key's previous version (the
// delta replication ships, store/entry_codec.hpp pack_delta). Replayed with
// Store::replay_delta: applied when the loaded entry is exactly its base, skipped when the
// loaded entry already holds its write (its clock covers the delta's dot).
struct DeltaRecord {
  store::CollectionDelta delta;
};
using Record = std::variant<PutRecord, RemoveRecord, FlushRecord, DeltaRecord>;

struct RecordLimits {
  // A record longer than this is rejected as corrupt before anything is allocated.
  std::uint32_t max_record_bytes = (512u << 20) + (8u << 20);
  store::EntryLimits entry;
};

// Header.
std::array<std::uint8_t, kFileHeaderBytes> encode_header(const FileHeader& header);
// malformed (wrong magic for `kind`, bad checksum), unsupported (a newer version, or flags).
Result<FileHeader> decode_header(std::span<const std::uint8_t> bytes, FileKind kind);
// True when `bytes` (shorter than a header) could be the start of a header of `kind`: what a
// crash while creating the file leaves.
bool is_header_prefix(std::span<const std::uint8_t> bytes, FileKind kind);

// Records. Each appends one whole framed record to `out`.
void append_record(std::vector<std::uint8_t>& out, const Record& record);
void append_frame(std::vector<std::uint8_t>& out, RecordType type,
                  std::span<const std::uint8_t> payload);
RecordType record_type(const Record& record);

// The 9-byte frame header, parsed (its checksum covers the payload too, so it is checked by
// frame_checksum_ok once the payload is read).
struct FrameHeader {
  std::uint32_t crc = 0;
  std::uint32_t length = 0;
  std::uint8_t type = 0;
};
FrameHeader parse_frame_header(std::span<const std::uint8_t, kRecordHeaderBytes> bytes);
bool frame_checksum_ok(const FrameHeader& frame, std::span<const std::uint8_t> payload);

// A payload of a known critical type (put, remove, flush_horizon, collection_delta) as a Record; malformed or
// too_large on a bad payload, unsupported for a type this version does not decode.
Result<Record> decode_payload(std::uint8_t type, std::span<const std::uint8_t> payload,
                              const RecordLimits& limits = {});

// A group (RecordType::group): open_group() reserves its frame header in `out` and returns
// where it starts; records appended after it (append_record) are its members;
// close_group() frames it. decode_group() checks every member frame (whole, checksummed, a
// decodable critical type other than group or snapshot_end; optional types skipped) and
// returns them in order, or fails without returning any.
std::size_t open_group(std::vector<std::uint8_t>& out);
void close_group(std::vector<std::uint8_t>& out, std::size_t start);
Result<std::vector<Record>> decode_group(std::span<const std::uint8_t> payload,
                                         const RecordLimits& limits = {});

// Little-endian helpers (shared by the snapshot trailer).
void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v);
void put_u64(std::vector<std::uint8_t>& out, std::uint64_t v);
std::uint32_t get_u32(const std::uint8_t* p);
std::uint64_t get_u64(const std::uint8_t* p);

}  // namespace apiary::persist
