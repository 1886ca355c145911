// The append-only file: record round trips, the writer's fsync policies (sans-IO), fsync
// failures, crashes with torn tails, and the reader's recovery to the last whole record
// under every truncation and every flipped byte.
#include <catch2/catch.hpp>
#include <chrono>
#include <set>

#include "apiary/persist/aof_reader.hpp"
#include "apiary/persist/aof_writer.hpp"
#include "apiary/persist/crc32c.hpp"
#include "apiary/persist/sim_env.hpp"
#include "apiary/store/entry_codec.hpp"
#include "persist_test_support.hpp"

using namespace apiary;
using namespace apiary::persist;
using namespace std::chrono_literals;
using persist_test::entry;
using persist_test::load;
using persist_test::same;

namespace {

const TimePoint kStart = from_nanos(1'000'000'000);

// A write to a two-field hash as the store records it for replication.
store::CollectionDelta sample_delta() {
  store::StoreConfig config;
  config.self = NodeId{9};
  store::Store s(config);
  const WallTime now{1'700'000'000'000};
  auto hset = [&](const std::string& field, const std::string& value) {
    REQUIRE(s.edit_collection("hash", data::ValueKind::hash, now,
                              [&](store::Store::CollectionEdit& e) {
                                e.collection.set(field, value, e.dot, e.stamp);
                                return true;
                              })
                .ok());
  };
  hset("a", "1");
  REQUIRE(s.set_expiry("hash", WallTime{now.ms + 60'000}, now));
  hset("b", std::string(40, 'x'));
  auto d = s.take_delta("hash");
  REQUIRE(d.has_value());
  return *d;
}

std::vector<Record> sample_records() {
  return {
      Record(PutRecord{entry("plain", "v")}),
      Record(PutRecord{entry("siblings", "x", 3, WallTime{1'700'000'100'000})}),
      Record(PutRecord{persist_test::tombstone("deleted")}),
      Record(RemoveRecord{"expired"}),
      Record(FlushRecord{HlcTimestamp::make(1'700'000'000'500, 7)}),
      Record(PutRecord{entry(std::string("bin\0key", 7), std::string(300, 'z'))}),
      Record(DeltaRecord{sample_delta()}),
  };
}

// The sample records written to `path` with policy always, and each record's end offset.
std::vector<std::uint64_t> write_sample(SimEnv& env, const std::string& path) {
  auto writer = AofWriter::open(env, path, NodeId{42}, {FsyncPolicy::always}, kStart);
  REQUIRE(writer.ok());
  std::vector<std::uint64_t> ends;
  for (const auto& r : sample_records()) ends.push_back(writer.value()->append(r).value());
  REQUIRE(writer.value()->handle_timeout(kStart).ok());
  return ends;
}

}  // namespace

TEST_CASE("persist: every record type survives the frame and payload codecs", "[unit][persist]") {
  for (const auto& record : sample_records()) {
    std::vector<std::uint8_t> bytes;
    append_record(bytes, record);
    REQUIRE(bytes.size() >= kRecordHeaderBytes);
    const auto frame = parse_frame_header(
        std::span<const std::uint8_t, kRecordHeaderBytes>(bytes.data(), kRecordHeaderBytes));
    const auto payload = std::span<const std::uint8_t>(bytes).subspan(kRecordHeaderBytes);
    CHECK(frame.length == payload.size());
    CHECK(frame.type == static_cast<std::uint8_t>(record_type(record)));
    CHECK(frame_checksum_ok(frame, payload));
    auto decoded = decode_payload(frame.type, payload);
    REQUIRE(decoded.ok());
    CHECK(same(decoded.value(), record));
  }
  // The put payload is the entry exactly as the store codec (and replication) encodes it.
  const auto e = entry("k", "v", 2, WallTime{5});
  std::vector<std::uint8_t> bytes;
  append_record(bytes, PutRecord{e});
  CHECK(std::vector<std::uint8_t>(bytes.begin() + kRecordHeaderBytes, bytes.end()) ==
        store::encode_entry(e));
  // The delta payload is the delta exactly as replicate_delta carries it.
  const auto d = sample_delta();
  CHECK(d.changes.size() == 1);
  CHECK(d.expiry.has_value());
  bytes.clear();
  append_record(bytes, DeltaRecord{d});
  std::vector<std::uint8_t> packed;
  wire::VectorSink sink(packed);
  wire::Packer packer(sink);
  store::pack_delta(packer, d);
  CHECK(std::vector<std::uint8_t>(bytes.begin() + kRecordHeaderBytes, bytes.end()) == packed);
  CHECK(static_cast<int>(RecordType::collection_delta) < kFirstOptionalRecordType);  // critical
  // A delta payload that is not one is a bad record, not an exception.
  for (std::size_t cut = 0; cut < packed.size(); ++cut) {
    CAPTURE(cut);
    auto decoded = decode_payload(static_cast<std::uint8_t>(RecordType::collection_delta),
                                  std::span<const std::uint8_t>(packed).first(cut));
    CHECK_FALSE(decoded.ok());
  }
  packed.push_back(0xc0);
  CHECK_FALSE(decode_payload(static_cast<std::uint8_t>(RecordType::collection_delta), packed).ok());
}

TEST_CASE("persist: the file header carries magic, version and actor, checksummed",
          "[unit][persist]") {
  FileHeader h;
  h.kind = FileKind::aof;
  h.actor = NodeId{0x0123456789abcdefULL};
  const auto bytes = encode_header(h);
  CHECK(std::string(bytes.begin(), bytes.begin() + 8) == "APIARYAO");
  auto decoded = decode_header(bytes, FileKind::aof);
  REQUIRE(decoded.ok());
  CHECK(decoded.value() == h);
  CHECK(decode_header(bytes, FileKind::snapshot).status().code() == StatusCode::malformed);
  // A header from the future: one byte changed, checksum recomputed.
  auto future = [&](std::size_t at, std::uint8_t value) {
    auto changed = bytes;
    changed[at] = value;
    const std::uint32_t crc = crc32c(std::span<const std::uint8_t>(changed.data(), 20));
    for (int i = 0; i < 4; ++i) changed[20 + i] = static_cast<std::uint8_t>(crc >> (8 * i));
    return decode_header(changed, FileKind::aof).status().code();
  };
  CHECK(future(8, 2) == StatusCode::unsupported);   // version 2
  CHECK(future(10, 1) == StatusCode::unsupported);  // a flag
  CHECK(future(8, 1) == StatusCode::ok);            // unchanged: the helper itself is sound
}

TEST_CASE("persist: AofWriter and AofReader round-trip every record", "[unit][persist]") {
  SimEnv env;
  write_sample(env, "dir/appendonly.aof");
  const auto loaded = load(env, "dir/appendonly.aof");
  const auto expected = sample_records();
  REQUIRE(loaded.records.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) CHECK(same(loaded.records[i], expected[i]));
  CHECK(loaded.report.clean());
  CHECK(loaded.report.header.actor == NodeId{42});
  CHECK(loaded.report.good_offset == loaded.report.file_size);

  // Reopening appends after what is there; the header keeps the creator's actor.
  auto writer = AofWriter::open(env, "dir/appendonly.aof", NodeId{43}, {}, kStart);
  REQUIRE(writer.ok());
  REQUIRE(writer.value()->append(RemoveRecord{"plain"}).ok());
  REQUIRE(writer.value()->close(kStart).ok());
  const auto again = load(env, "dir/appendonly.aof");
  CHECK(again.records.size() == expected.size() + 1);
  CHECK(again.report.header.actor == NodeId{42});

  // It refuses to append to what is not an AOF, or to a torn header.
  env.put_file("snapshot", {'A', 'P', 'I', 'A', 'R', 'Y', 'S', 'N', 0, 0, 0, 0,
                            0,   0,   0,   0,   0,   0,   0,   0,   0, 0, 0, 0});
  CHECK(AofWriter::open(env, "snapshot", NodeId{1}, {}, kStart).status().code() ==
        StatusCode::malformed);
  env.put_file("torn", {'A', 'P', 'I'});
  CHECK(AofWriter::open(env, "torn", NodeId{1}, {}, kStart).status().code() ==
        StatusCode::malformed);
}

TEST_CASE("persist: fsync policies: when a sync is due and when a record is durable",
          "[unit][persist]") {
  SimEnv env;
  SECTION("always: due as soon as anything is not durable") {
    auto w = std::move(AofWriter::open(env, "a", NodeId{1}, {FsyncPolicy::always}, kStart)).value();
    CHECK_FALSE(w->sync_due(kStart));
    CHECK(w->next_deadline() == kNever);
    const auto pos = w->append(RemoveRecord{"k"}).value();
    CHECK_FALSE(w->is_durable(pos));
    CHECK(w->sync_due(kStart));
    CHECK(w->next_deadline() <= kStart);
    REQUIRE(w->handle_timeout(kStart).ok());
    CHECK(w->is_durable(pos));
    CHECK(env.durable_size("a") == pos);
    CHECK(w->next_deadline() == kNever);
    const auto syncs = env.stats().syncs;
    REQUIRE(w->sync(kStart).ok());  // nothing new: no fdatasync
    CHECK(env.stats().syncs == syncs);
  }
  SECTION("everysec: due once a second has passed since the last sync") {
    auto w =
        std::move(AofWriter::open(env, "a", NodeId{1}, {FsyncPolicy::everysec}, kStart)).value();
    const auto pos = w->append(RemoveRecord{"k"}).value();
    REQUIRE(w->handle_timeout(kStart + 500ms).ok());
    CHECK(w->written() == pos);  // handed to the file, not synced
    CHECK_FALSE(w->is_durable(pos));
    CHECK(w->next_deadline() == kStart + 1s);
    CHECK_FALSE(w->sync_due(kStart + 999ms));
    REQUIRE(w->handle_timeout(kStart + 1s).ok());
    CHECK(w->is_durable(pos));
    // The next window starts at that sync.
    const auto pos2 = w->append(RemoveRecord{"k2"}).value();
    CHECK(w->next_deadline() == kStart + 2s);
    REQUIRE(w->handle_timeout(kStart + 1500ms).ok());
    CHECK_FALSE(w->is_durable(pos2));
  }
  SECTION("no: never due; durable only on an explicit sync or close") {
    auto w = std::move(AofWriter::open(env, "a", NodeId{1}, {FsyncPolicy::no}, kStart)).value();
    const auto pos = w->append(RemoveRecord{"k"}).value();
    REQUIRE(w->handle_timeout(kStart + 1h).ok());
    CHECK_FALSE(w->sync_due(kStart + 1h));
    CHECK(w->next_deadline() == kNever);
    CHECK_FALSE(w->is_durable(pos));
    REQUIRE(w->close(kStart + 1h).ok());
    CHECK(env.durable_size("a") == pos);
    CHECK(w->append(RemoveRecord{"k2"}).status().code() == StatusCode::unavailable);
    CHECK(w->flush().code() == StatusCode::unavailable);
  }
  CHECK(parse_fsync_policy("everysec") == FsyncPolicy::everysec);
  CHECK(parse_fsync_policy("always") == FsyncPolicy::always);
  CHECK(parse_fsync_policy("no") == FsyncPolicy::no);
  CHECK_FALSE(parse_fsync_policy("sometimes"));
}

TEST_CASE("persist: a failed fsync surfaces as a sticky io_error", "[unit][persist]") {
  SimEnv env;
  auto w = std::move(AofWriter::open(env, "a", NodeId{1}, {FsyncPolicy::always}, kStart)).value();
  env.set_sync_failure_probability(1.0);
  const auto pos = w->append(RemoveRecord{"k"}).value();
  const Status s = w->handle_timeout(kStart);
  CHECK(s.code() == StatusCode::io_error);
  CHECK_FALSE(w->is_durable(pos));
  CHECK(w->status().code() == StatusCode::io_error);
  // Sticky: the disk recovering does not make the writer trust the file again.
  env.set_sync_failure_probability(0.0);
  CHECK(w->append(RemoveRecord{"k2"}).status().code() == StatusCode::io_error);
  CHECK(w->sync(kStart).code() == StatusCode::io_error);
  CHECK_FALSE(w->sync_due(kStart));
  CHECK_FALSE(w->is_durable(pos));
}

TEST_CASE("persist: a failed write (a full disk) is sticky and leaves at most a torn record",
          "[unit][persist]") {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    SimEnvOptions options;
    options.seed = seed;
    SimEnv env(options);
    auto w = std::move(AofWriter::open(env, "a", NodeId{1}, {FsyncPolicy::always}, kStart)).value();
    REQUIRE(w->append(RemoveRecord{"kept"}).ok());
    REQUIRE(w->handle_timeout(kStart).ok());
    env.set_append_failure_probability(1.0);
    const auto pos = w->append(PutRecord{entry("lost", std::string(100, 'v'))}).value();
    CHECK(w->handle_timeout(kStart).code() == StatusCode::io_error);
    CHECK(env.stats().failed_appends == 1);
    CHECK_FALSE(w->is_durable(pos));
    env.set_append_failure_probability(0.0);
    CHECK(w->append(RemoveRecord{"after"}).status().code() == StatusCode::io_error);
    const auto loaded = load(env, "a");
    CHECK(loaded.records.size() == 1);  // the partial record never loads
    CHECK((loaded.report.clean() || loaded.report.reason == StopReason::truncated));
  }
}

TEST_CASE("persist: crashes with torn tails never lose an acknowledged `always` record",
          "[unit][persist]") {
  std::size_t acknowledged_total = 0;
  std::size_t torn_loads = 0;
  std::uint64_t failed_syncs = 0;
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    CAPTURE(seed);
    SimEnvOptions options;
    options.seed = seed;
    options.sync_failure_probability = 0.05;
    SimEnv env(options);
    Rng rng(seed);
    std::vector<Record> acknowledged;
    std::vector<Record> written;
    for (int life = 0; life < 3; ++life) {
      // Recover: load, check, cut the torn tail, append again.
      if (env.exists("aof")) {
        const auto loaded = load(env, "aof");
        REQUIRE(loaded.records.size() >= acknowledged.size());
        REQUIRE(loaded.records.size() <= written.size());
        for (std::size_t i = 0; i < loaded.records.size(); ++i) {
          REQUIRE(same(loaded.records[i], written[i]));
        }
        CHECK((loaded.report.clean() || loaded.report.reason == StopReason::truncated));
        if (!loaded.report.clean()) ++torn_loads;
        REQUIRE(env.truncate("aof", loaded.report.good_offset).ok());
        written.resize(loaded.records.size());
        acknowledged = written;
      }
      auto opened = AofWriter::open(env, "aof", NodeId{seed}, {FsyncPolicy::always}, kStart);
      if (!opened.ok()) continue;  // the header's sync failed: nothing was acknowledged
      auto& w = *opened.value();
      for (int batch = 0; batch < 10 && w.status().ok(); ++batch) {
        std::vector<std::pair<std::uint64_t, Record>> pending;
        const auto n = rng.uniform(4) + 1;
        for (std::uint64_t i = 0; i < n; ++i) {
          Record r = PutRecord{
              entry("k" + std::to_string(rng.uniform(20)), std::string(rng.uniform(64), 'v'))};
          pending.emplace_back(w.append(r).value(), r);
          written.push_back(r);
        }
        (void)w.handle_timeout(kStart);
        for (auto& [pos, r] : pending) {
          if (w.is_durable(pos)) acknowledged.push_back(r);
        }
      }
      acknowledged_total += acknowledged.size();
      env.crash();
    }
    failed_syncs += env.stats().failed_syncs;
  }
  // The sweep exercised what it claims to: acknowledged writes, torn tails, failed syncs.
  CHECK(acknowledged_total > 100);
  CHECK(torn_loads > 10);
  CHECK(failed_syncs > 5);
}

TEST_CASE("persist: a tail that comes back as zeros after a crash stops the load at the synced end",
          "[unit][persist]") {
  std::set<StopReason> reasons;
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    CAPTURE(seed);
    SimEnvOptions options;
    options.seed = seed;
    options.zeroed_tail_probability = 1.0;
    SimEnv env(options);
    const auto ends = write_sample(env, "aof");  // synced
    auto w = std::move(AofWriter::open(env, "aof", NodeId{1}, {FsyncPolicy::no}, kStart)).value();
    for (int i = 0; i < 5; ++i) REQUIRE(w->append(RemoveRecord{"unsynced"}).ok());
    REQUIRE(w->flush().ok());
    env.crash();
    const auto loaded = load(env, "aof");
    CHECK(loaded.records.size() == sample_records().size());
    CHECK(loaded.report.good_offset == ends.back());
    CHECK(loaded.report.repairable() != loaded.report.clean());
    reasons.insert(loaded.report.reason);
  }
  CHECK(reasons.contains(StopReason::bad_checksum));  // whole zero frames fail their CRC
}

TEST_CASE("persist: the reader recovers to the last whole record at every truncation point",
          "[unit][persist]") {
  SimEnv env;
  const auto ends = write_sample(env, "full");
  const auto full = env.contents("full").value();
  REQUIRE(full.size() == ends.back());
  for (std::size_t cut = 0; cut <= full.size(); ++cut) {
    CAPTURE(cut);
    env.put_file("cut", std::vector<std::uint8_t>(full.begin(), full.begin() + cut));
    const auto loaded = load(env, "cut");
    std::size_t whole = 0;
    while (whole < ends.size() && ends[whole] <= cut) ++whole;
    CHECK(loaded.records.size() == whole);
    const std::uint64_t boundary =
        whole > 0 ? ends[whole - 1] : (cut >= kFileHeaderBytes ? kFileHeaderBytes : 0);
    CHECK(loaded.report.good_offset == boundary);
    CHECK(loaded.report.has_header == (cut >= kFileHeaderBytes));
    if (cut == boundary) {
      CHECK(loaded.report.clean());  // an empty file is clean too: a writer adds the header
    } else {
      CHECK(loaded.report.reason == StopReason::truncated);
      CHECK(loaded.report.repairable());
    }
  }
}

TEST_CASE("persist: a flipped byte anywhere is detected, never loaded", "[unit][persist]") {
  SimEnv env;
  const auto ends = write_sample(env, "full");
  const auto full = env.contents("full").value();
  const auto expected = sample_records();
  for (std::size_t at = 0; at < full.size(); ++at) {
    CAPTURE(at);
    env.put_file("bad", full);
    REQUIRE(env.flip_byte("bad", at, 0x10));
    auto reader = AofReader::open(env, "bad");
    if (at < kFileHeaderBytes) {
      CHECK(reader.status().code() == StatusCode::malformed);
      continue;
    }
    REQUIRE(reader.ok());
    std::vector<Record> got;
    while (auto r = reader.value()->next()) got.push_back(std::move(*r));
    const auto report = reader.value()->report();
    // Exactly the records before the damaged one, then a stop that names the damage.
    std::size_t damaged = 0;
    while (ends[damaged] <= at) ++damaged;
    REQUIRE(got.size() == damaged);
    for (std::size_t i = 0; i < got.size(); ++i) CHECK(same(got[i], expected[i]));
    CHECK_FALSE(report.clean());
    CHECK(report.repairable());
    CHECK(report.good_offset == (damaged == 0 ? kFileHeaderBytes : ends[damaged - 1]));
  }
}

TEST_CASE("persist: record types: optional ones are skipped, unknown critical ones stop the load",
          "[unit][persist]") {
  SimEnv env;
  write_sample(env, "base");
  auto bytes = env.contents("base").value();
  const std::uint64_t sample_end = bytes.size();
  const std::vector<std::uint8_t> payload = {1, 2, 3};
  append_frame(bytes, static_cast<RecordType>(200), payload);  // optional, unknown
  std::vector<std::uint8_t> tail;
  append_record(tail, RemoveRecord{"after"});
  bytes.insert(bytes.end(), tail.begin(), tail.end());
  env.put_file("optional", bytes);
  auto loaded = load(env, "optional");
  CHECK(loaded.records.size() == sample_records().size() + 1);
  CHECK(loaded.report.skipped_optional == 1);
  CHECK(loaded.report.clean());

  auto critical = env.contents("base").value();
  append_frame(critical, static_cast<RecordType>(77), payload);  // critical, from the future
  critical.insert(critical.end(), tail.begin(), tail.end());
  env.put_file("critical", critical);
  loaded = load(env, "critical");
  CHECK(loaded.records.size() == sample_records().size());
  CHECK(loaded.report.reason == StopReason::unsupported);
  CHECK_FALSE(loaded.report.repairable());
  CHECK(loaded.report.good_offset == sample_end);

  auto trailer = env.contents("base").value();
  append_frame(trailer, RecordType::snapshot_end, std::vector<std::uint8_t>(12, 0));
  env.put_file("trailer", trailer);
  CHECK(load(env, "trailer").report.reason == StopReason::bad_record);

  auto garbage = env.contents("base").value();
  append_frame(garbage, RecordType::put, payload);  // checksummed, but not an entry
  env.put_file("garbage", garbage);
  loaded = load(env, "garbage");
  CHECK(loaded.report.reason == StopReason::bad_record);
  CHECK(loaded.report.good_offset == sample_end);
}

TEST_CASE("persist: the reader stops at the size it saw at open while a writer appends",
          "[unit][persist]") {
  SimEnv env;
  const auto ends = write_sample(env, "aof");
  auto reader = AofReader::open(env, "aof");
  REQUIRE(reader.ok());
  auto w = std::move(AofWriter::open(env, "aof", NodeId{1}, {FsyncPolicy::always}, kStart)).value();
  REQUIRE(w->append(RemoveRecord{"later"}).ok());
  REQUIRE(w->sync(kStart).ok());
  std::size_t n = 0;
  while (reader.value()->next()) ++n;
  CHECK(n == sample_records().size());
  CHECK(reader.value()->report().clean());
  CHECK(reader.value()->report().good_offset == ends.back());
}

TEST_CASE("persist: a huge claimed length is rejected before anything is allocated",
          "[unit][persist]") {
  SimEnv env;
  write_sample(env, "base");
  auto bytes = env.contents("base").value();
  const std::uint64_t end = bytes.size();
  const std::vector<std::uint8_t> frame = {0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1};
  bytes.insert(bytes.end(), frame.begin(), frame.end());
  env.put_file("huge", bytes);
  const auto loaded = load(env, "huge");
  CHECK(loaded.report.reason == StopReason::bad_record);
  CHECK(loaded.report.good_offset == end);
  // Within the limit but past the end of the file: a torn write.
  bytes.resize(end);
  const std::vector<std::uint8_t> longer = {0, 0, 0, 0, 0, 0, 0x10, 0, 1};
  bytes.insert(bytes.end(), longer.begin(), longer.end());
  env.put_file("long", bytes);
  CHECK(load(env, "long").report.reason == StopReason::truncated);
  // Not an AOF at all.
  env.put_file("other", std::vector<std::uint8_t>(100, 'x'));
  CHECK(AofReader::open(env, "other").status().code() == StatusCode::malformed);
  env.put_file("short", {'x'});
  CHECK(AofReader::open(env, "short").status().code() == StatusCode::malformed);
  CHECK(AofReader::open(env, "missing").status().code() == StatusCode::not_found);
}
