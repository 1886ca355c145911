// Whole-file writers and checks: snapshots (all or nothing), the AOF rewrite (temporary
// file, sync, rename) and check_aof, the function behind `apiary check-aof [--fix]`.
#include <catch2/catch.hpp>
#include <map>

#include "apiary/persist/aof_check.hpp"
#include "apiary/persist/aof_rewrite.hpp"
#include "apiary/persist/aof_writer.hpp"
#include "apiary/persist/posix_env.hpp"
#include "apiary/persist/sim_env.hpp"
#include "apiary/persist/snapshot.hpp"
#include "persist_test_support.hpp"

using namespace apiary;
using namespace apiary::persist;
using persist_test::entry;
using persist_test::load;

namespace {

const TimePoint kStart = from_nanos(0);
const HlcTimestamp kHorizon = HlcTimestamp::make(1'700'000'000'000, 3);

std::vector<store::VersionedEntry> sample_entries(int n) {
  std::vector<store::VersionedEntry> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(entry("key" + std::to_string(i), "value" + std::to_string(i), 1 + i % 3,
                        i % 2 ? std::optional(WallTime{1'800'000'000'000 + i}) : std::nullopt));
  }
  out.push_back(persist_test::tombstone("dead"));
  return out;
}

EntrySource source(const std::vector<store::VersionedEntry>& entries, std::size_t& next) {
  next = 0;
  return [&entries, &next](store::VersionedEntry& out) {
    if (next == entries.size()) return false;
    out = entries[next++];
    return true;
  };
}

void check_same(const std::vector<store::VersionedEntry>& got,
                const std::vector<store::VersionedEntry>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    CHECK(got[i].key == want[i].key);
    CHECK(got[i].version == want[i].version);
    CHECK(got[i].expiry == want[i].expiry);
  }
}

}  // namespace

TEST_CASE("persist: a snapshot round-trips every entry and the flush horizon", "[unit][persist]") {
  SimEnv env;
  const auto entries = sample_entries(50);
  std::size_t cursor = 0;
  auto written = write_snapshot(env, "dump.snap", NodeId{7}, kHorizon, source(entries, cursor));
  REQUIRE(written.ok());
  CHECK(written.value().entries == entries.size());
  CHECK(written.value().bytes == env.file_size("dump.snap").value());
  CHECK_FALSE(env.exists("dump.snap.tmp"));
  env.crash();  // written means durable
  auto loaded = load_snapshot(env, "dump.snap");
  REQUIRE(loaded.ok());
  CHECK(loaded.value().header.actor == NodeId{7});
  CHECK(loaded.value().header.kind == FileKind::snapshot);
  CHECK(loaded.value().flush_horizon == kHorizon);
  check_same(loaded.value().entries, entries);

  const std::vector<store::VersionedEntry> none;
  REQUIRE(write_snapshot(env, "empty.snap", NodeId{7}, {}, source(none, cursor)).ok());
  auto empty = load_snapshot(env, "empty.snap");
  REQUIRE(empty.ok());
  CHECK(empty.value().entries.empty());
  CHECK(empty.value().flush_horizon.packed == 0);
  // An AOF is not a snapshot, and the other way round.
  CHECK(load_snapshot(env, "missing").status().code() == StatusCode::not_found);
  CHECK(AofReader::open(env, "dump.snap").status().code() == StatusCode::malformed);
}

TEST_CASE("persist: a truncated or corrupt snapshot is rejected whole", "[unit][persist]") {
  SimEnv env;
  const auto entries = sample_entries(4);
  std::size_t cursor = 0;
  REQUIRE(write_snapshot(env, "good", NodeId{7}, kHorizon, source(entries, cursor)).ok());
  const auto full = env.contents("good").value();
  for (std::size_t cut = 0; cut < full.size(); ++cut) {
    CAPTURE(cut);
    env.put_file("cut", std::vector<std::uint8_t>(full.begin(), full.begin() + cut));
    const auto loaded = load_snapshot(env, "cut");
    REQUIRE_FALSE(loaded.ok());
    CHECK(loaded.status().code() == StatusCode::malformed);
  }
  for (std::size_t at = 0; at < full.size(); ++at) {
    CAPTURE(at);
    env.put_file("flipped", full);
    REQUIRE(env.flip_byte("flipped", at, 0x04));
    const auto loaded = load_snapshot(env, "flipped");
    REQUIRE_FALSE(loaded.ok());
    CHECK(loaded.status().code() == StatusCode::malformed);
  }
  auto extra = full;
  append_record(extra, RemoveRecord{"late"});
  env.put_file("extra", extra);
  const auto loaded = load_snapshot(env, "extra");
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.status().message().find("after the trailer") != std::string::npos);
}

TEST_CASE("persist: a snapshot's trailer must count and chain the records before it",
          "[unit][persist]") {
  SimEnv env;
  FileHeader header;
  header.kind = FileKind::snapshot;
  const auto head = encode_header(header);
  std::vector<std::uint8_t> bytes(head.begin(), head.end());
  append_record(bytes, PutRecord{entry("a", "1")});
  std::vector<std::uint8_t> wrong_count;
  put_u64(wrong_count, 2);
  put_u32(wrong_count, 0);
  append_frame(bytes, RecordType::snapshot_end, wrong_count);
  env.put_file("forged", bytes);
  const auto loaded = load_snapshot(env, "forged");
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.status().message().find("counts 2 entries") != std::string::npos);

  // A record dropped from the middle (frames still whole) breaks the chain.
  const auto entries = sample_entries(3);
  std::size_t cursor = 0;
  REQUIRE(write_snapshot(env, "good", NodeId{7}, {}, source(entries, cursor)).ok());
  auto good = env.contents("good").value();
  std::vector<std::uint8_t> first;
  append_record(first, PutRecord{entries[0]});
  good.erase(good.begin() + kFileHeaderBytes,
             good.begin() + static_cast<std::ptrdiff_t>(kFileHeaderBytes + first.size()));
  env.put_file("dropped", good);
  CHECK_FALSE(load_snapshot(env, "dropped").ok());
}

TEST_CASE("persist: a crash or fsync failure while snapshotting keeps the previous snapshot",
          "[unit][persist]") {
  SimEnv env;
  const auto old_entries = sample_entries(5);
  std::size_t cursor = 0;
  REQUIRE(write_snapshot(env, "dump", NodeId{1}, {}, source(old_entries, cursor)).ok());
  const auto new_entries = sample_entries(3000);  // several 1 MiB writes

  // The process dies halfway through the source.
  std::size_t produced = 0;
  auto dying = [&](store::VersionedEntry& out) {
    if (produced == new_entries.size() / 2) env.crash();
    if (produced == new_entries.size()) return false;
    out = new_entries[produced++];
    return true;
  };
  CHECK_FALSE(write_snapshot(env, "dump", NodeId{2}, {}, dying).ok());
  auto loaded = load_snapshot(env, "dump");
  REQUIRE(loaded.ok());
  check_same(loaded.value().entries, old_entries);

  // The final fsync fails: an error, the old file stays, the temporary file is gone.
  env.set_sync_failure_probability(1.0);
  const auto failed = write_snapshot(env, "dump", NodeId{2}, {}, source(new_entries, cursor));
  CHECK(failed.status().code() == StatusCode::io_error);
  env.set_sync_failure_probability(0.0);
  CHECK_FALSE(env.exists("dump.tmp"));
  env.crash();
  loaded = load_snapshot(env, "dump");
  REQUIRE(loaded.ok());
  check_same(loaded.value().entries, old_entries);
}

TEST_CASE("persist: rewrite_aof replaces a long history with one put per live entry",
          "[unit][persist]") {
  SimEnv env;
  {
    auto w =
        std::move(AofWriter::open(env, "aof", NodeId{1}, {FsyncPolicy::always}, kStart)).value();
    for (int round = 0; round < 20; ++round) {
      for (const auto& e : sample_entries(10)) REQUIRE(w->append(PutRecord{e}).ok());
    }
    REQUIRE(w->append(RemoveRecord{"key0"}).ok());
    REQUIRE(w->close(kStart).ok());
  }
  const auto before = env.file_size("aof").value();
  // The live set as the node's table would yield it.
  std::map<std::string, store::VersionedEntry> live;
  for (const auto& e : sample_entries(10)) live[e.key] = e;
  live.erase("key0");
  std::vector<store::VersionedEntry> entries;
  for (auto& [k, e] : live) entries.push_back(e);
  std::size_t cursor = 0;
  auto stats = rewrite_aof(env, "aof", NodeId{2}, kHorizon, source(entries, cursor));
  REQUIRE(stats.ok());
  CHECK(stats.value().entries == entries.size());
  CHECK(stats.value().bytes < before / 10);
  env.crash();
  const auto loaded = load(env, "aof");
  CHECK(loaded.report.clean());
  CHECK(loaded.report.header.actor == NodeId{2});
  REQUIRE(loaded.records.size() == entries.size() + 1);
  CHECK(std::get<FlushRecord>(loaded.records[0]).horizon == kHorizon);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    CHECK(std::get<PutRecord>(loaded.records[i + 1]).entry.key == entries[i].key);
  }
  // A writer reopened on the new file appends after it.
  auto w = std::move(AofWriter::open(env, "aof", NodeId{2}, {FsyncPolicy::always}, kStart)).value();
  REQUIRE(w->append(RemoveRecord{"key1"}).ok());
  REQUIRE(w->close(kStart).ok());
  CHECK(load(env, "aof").records.size() == entries.size() + 2);
}

TEST_CASE("persist: check_aof reports a torn file and --fix truncates it to the last whole record",
          "[unit][persist]") {
  const persist_test::ScratchDir dir("check-aof");
  PosixEnv env;
  const std::string path = join_path(dir.path, "appendonly.aof");
  std::uint64_t good_end = 0;
  {
    auto w =
        std::move(AofWriter::open(env, path, NodeId{1}, {FsyncPolicy::always}, kStart)).value();
    for (const auto& e : sample_entries(10)) REQUIRE(w->append(PutRecord{e}).ok());
    good_end = w->appended();
    REQUIRE(w->append(PutRecord{entry("torn", std::string(1000, 't'))}).ok());
    REQUIRE(w->close(kStart).ok());
  }
  const std::uint64_t size = env.file_size(path).value();
  REQUIRE(env.truncate(path, size - 100).ok());  // the last record loses its end

  auto checked = check_aof(env, path, /*fix=*/false);
  REQUIRE(checked.ok());
  CHECK_FALSE(checked.value().fixed);
  CHECK(checked.value().report.records == 11);
  CHECK(checked.value().report.reason == StopReason::truncated);
  CHECK(checked.value().report.good_offset == good_end);
  CHECK(checked.value().report.summary().find("truncated") != std::string::npos);
  CHECK(env.file_size(path).value() == size - 100);  // a check alone changes nothing

  auto fixed = check_aof(env, path, /*fix=*/true);
  REQUIRE(fixed.ok());
  CHECK(fixed.value().fixed);
  CHECK(fixed.value().dropped_bytes == size - 100 - good_end);
  CHECK(env.file_size(path).value() == good_end);
  auto again = check_aof(env, path, /*fix=*/true);
  REQUIRE(again.ok());
  CHECK(again.value().report.clean());
  CHECK(again.value().report.records == 11);
  CHECK_FALSE(again.value().fixed);

  // A record type from a newer Apiary is reported, never truncated away.
  {
    auto file = std::move(env.open_append(path)).value();
    std::vector<std::uint8_t> future;
    append_frame(future, static_cast<RecordType>(99), std::vector<std::uint8_t>{1});
    REQUIRE(file->append(future).ok());
    REQUIRE(file->sync().ok());
  }
  auto newer = check_aof(env, path, /*fix=*/true);
  REQUIRE(newer.ok());
  CHECK(newer.value().report.reason == StopReason::unsupported);
  CHECK_FALSE(newer.value().fixed);
  CHECK(env.file_size(path).value() > good_end);
}

TEST_CASE("persist: a store rebuilt from its AOF or snapshot answers as the original",
          "[unit][persist]") {
  // What integration will do: every change becomes a put of the entry's state after it (the
  // store's export_entry), FLUSHALL a flush record; replaying merges them into a fresh store.
  const WallTime t0{1'700'000'000'000};
  store::StoreConfig config;
  config.self = NodeId{1};
  store::Store original(config);
  SimEnv env;
  auto w = std::move(AofWriter::open(env, "aof", NodeId{1}, {FsyncPolicy::always}, kStart)).value();
  auto logged = [&](const std::string& key) {
    auto e = original.export_entry(key, t0);
    REQUIRE(e.has_value());
    REQUIRE(w->append(PutRecord{*e}).ok());
  };
  REQUIRE(original.put_local("old", "flushed away", t0).ok());
  logged("old");
  const HlcTimestamp horizon = original.hlc().now(t0);
  original.flush_before(horizon, t0);
  REQUIRE(w->append(FlushRecord{horizon}).ok());
  std::vector<std::string> keys;
  for (int i = 0; i < 200; ++i) {
    const std::string key = "key" + std::to_string(i);
    keys.push_back(key);
    const auto expiry = i % 3 == 0 ? store::ExpiryUpdate::set(WallTime{t0.ms + 60'000 + i})
                                   : store::ExpiryUpdate::clear();
    REQUIRE(original.put_local(key, "value" + std::to_string(i), t0, expiry).ok());
    logged(key);
    if (i % 5 == 0) {
      REQUIRE(original.incr("counter" + std::to_string(i), i, t0).error == store::IncrError::none);
      keys.push_back("counter" + std::to_string(i));
      logged(keys.back());
    }
    if (i % 7 == 0) {
      REQUIRE(original.del_local(key, t0));
      logged(key);  // the tombstone
    }
  }
  REQUIRE(w->handle_timeout(kStart).ok());
  env.crash();

  auto same_answers = [&](store::Store& rebuilt) {
    for (const auto& key : keys) {
      CAPTURE(key);
      const auto want = original.get_value(key, t0);
      const auto got = rebuilt.get_value(key, t0);
      REQUIRE(want.has_value() == got.has_value());
      if (want) CHECK(std::string(*want) == std::string(*got));
      CHECK(original.ttl(key, t0).expiry == rebuilt.ttl(key, t0).expiry);
    }
    CHECK_FALSE(rebuilt.get_value("old", t0).has_value());
    CHECK(rebuilt.size() == original.size());
  };

  store::Store from_aof(config);
  const auto loaded = load(env, "aof");
  REQUIRE(loaded.report.clean());
  for (const auto& record : loaded.records) {
    if (const auto* put = std::get_if<PutRecord>(&record)) {
      REQUIRE(from_aof.merge(put->entry.key, put->entry.version, put->entry.expiry, t0).ok());
    } else if (const auto* flush = std::get_if<FlushRecord>(&record)) {
      from_aof.flush_before(flush->horizon, t0);
    }
  }
  same_answers(from_aof);

  // A snapshot of the original, loaded into another fresh store.
  std::vector<store::VersionedEntry> entries;
  for (const auto& key : keys) {
    if (auto e = original.export_entry(key, t0)) entries.push_back(*e);
  }
  std::size_t cursor = 0;
  REQUIRE(write_snapshot(env, "snap", NodeId{1}, original.flush_horizon(), source(entries, cursor))
              .ok());
  auto snapshot = load_snapshot(env, "snap");
  REQUIRE(snapshot.ok());
  store::Store from_snapshot(config);
  from_snapshot.flush_before(snapshot.value().flush_horizon, t0);
  for (const auto& e : snapshot.value().entries) {
    REQUIRE(from_snapshot.merge(e.key, e.version, e.expiry, t0).ok());
  }
  same_answers(from_snapshot);
}
