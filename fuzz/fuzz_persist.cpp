// The persistence file readers (libnode/persist): AofReader and the snapshot loader, over
// arbitrary file contents in a SimEnv. Input: the first byte picks the mode, the rest is the
// file. Mode bit 0: 0 = append-only file, 1 = snapshot. Bit 1: prepend a valid header of that
// kind, so the fuzzer spends its time on records rather than on the magic.
// Invariants checked beyond "no crash, no leak, no unbounded allocation":
//  - AOF: good_offset lies between the header and the end of the file, a clean report ends at
//    the end, and the file cut at good_offset loads clean with exactly the same records;
//  - snapshot: what loads writes back out (write_snapshot) and loads again to the same
//    entries and horizon.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "apiary/persist/aof_reader.hpp"
#include "apiary/persist/crc32c.hpp"
#include "apiary/persist/sim_env.hpp"
#include "apiary/persist/snapshot.hpp"

using namespace apiary;
using namespace apiary::persist;

namespace {

std::vector<std::uint8_t> encoded(const std::vector<Record>& records) {
  std::vector<std::uint8_t> out;
  for (const auto& r : records) append_record(out, r);
  return out;
}

std::vector<Record> read_all(SimEnv& env, const char* path, AofLoadReport& report) {
  std::vector<Record> records;
  auto result = load_aof(env, path, [&](Record&& r) { records.push_back(std::move(r)); });
  if (!result.ok()) std::abort();  // it opened once: it must open again
  report = result.value();
  return records;
}

void check_aof(SimEnv& env, const std::vector<std::uint8_t>& file) {
  env.put_file("aof", file);
  auto reader = AofReader::open(env, "aof");
  if (!reader.ok()) return;
  std::vector<Record> records;
  while (auto r = reader.value()->next()) records.push_back(std::move(*r));
  const AofLoadReport report = reader.value()->report();
  if (report.good_offset > report.file_size || report.file_size != file.size()) std::abort();
  if (report.has_header && report.good_offset < kFileHeaderBytes) std::abort();
  if (report.clean() && report.good_offset != report.file_size) std::abort();
  if (report.records != records.size()) std::abort();

  env.put_file("cut",
               std::vector<std::uint8_t>(
                   file.begin(), file.begin() + static_cast<std::ptrdiff_t>(report.good_offset)));
  AofLoadReport again;
  const auto reread = read_all(env, "cut", again);
  if (report.has_header && !again.clean()) std::abort();
  if (encoded(reread) != encoded(records)) std::abort();
}

void check_snapshot(SimEnv& env, const std::vector<std::uint8_t>& file) {
  env.put_file("snap", file);
  auto loaded = load_snapshot(env, "snap");
  if (!loaded.ok()) return;
  const auto& entries = loaded.value().entries;
  std::size_t next = 0;
  auto source = [&](store::VersionedEntry& out) {
    if (next == entries.size()) return false;
    out = entries[next++];
    return true;
  };
  if (!write_snapshot(env, "again", loaded.value().header.actor, loaded.value().flush_horizon,
                      source)
           .ok()) {
    std::abort();
  }
  auto reloaded = load_snapshot(env, "again");
  if (!reloaded.ok() || reloaded.value().flush_horizon != loaded.value().flush_horizon ||
      reloaded.value().entries.size() != entries.size()) {
    std::abort();
  }
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& a = entries[i];
    const auto& b = reloaded.value().entries[i];
    if (a.key != b.key || !(a.version == b.version) || a.expiry != b.expiry) std::abort();
  }
}

// Walks the frames after the header and rewrites each whole one's checksum.
void fix_checksums(std::vector<std::uint8_t>& file) {
  std::size_t at = kFileHeaderBytes;
  while (at + kRecordHeaderBytes <= file.size()) {
    const std::uint32_t length = get_u32(file.data() + at + 4);
    if (length > file.size() - at - kRecordHeaderBytes) return;
    const auto body = std::span<const std::uint8_t>(file).subspan(at + 4, 5 + std::size_t{length});
    const std::uint32_t crc = crc32c(body);
    for (int i = 0; i < 4; ++i) file[at + i] = static_cast<std::uint8_t>(crc >> (8 * i));
    at += kRecordHeaderBytes + length;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool snapshot = (data[0] & 1) != 0;
  const FileKind kind = snapshot ? FileKind::snapshot : FileKind::aof;
  std::vector<std::uint8_t> file;
  if ((data[0] & 2) != 0) {
    FileHeader header;
    header.kind = kind;
    header.actor = NodeId{7};
    const auto head = encode_header(header);
    file.assign(head.begin(), head.end());
  }
  file.insert(file.end(), data + 1, data + size);
  if ((data[0] & 4) != 0) fix_checksums(file);
  SimEnv env;
  if (snapshot) {
    check_snapshot(env, file);
  } else {
    check_aof(env, file);
  }
  return 0;
}
