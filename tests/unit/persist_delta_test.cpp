// AOF delta records (docs/persistence.md, "Collection deltas"): a write to a hash or set
// appends its element changes, not the collection; loading replays them on the entry they
// were built on, skips those a later put already holds, and refuses a delta whose base is not
// there. core::Persistence on a SimEnv; time is passed in, nothing sleeps.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "apiary/base/rng.hpp"
#include "apiary/core/persistence.hpp"
#include "apiary/persist/aof_reader.hpp"
#include "apiary/persist/aof_writer.hpp"
#include "apiary/persist/sim_env.hpp"
#include "apiary/store/entry_codec.hpp"
#include "persist_test_support.hpp"

using namespace apiary;
using namespace apiary::core;
using namespace std::chrono_literals;

namespace {

const WallTime kWall{1'700'000'000'000};
const std::string kAof = "/data/appendonly.aof";

store::StoreConfig store_config(std::uint64_t self) {
  store::StoreConfig c;
  c.self = NodeId{self};
  c.partition_count = 16;
  return c;
}

PersistenceConfig aof_config(persist::Env& env, persist::FsyncPolicy policy,
                             std::size_t entries_per_step = 512) {
  PersistenceConfig c;
  c.env = &env;
  c.dir = "/data";
  c.appendonly = true;
  c.appendfsync = policy;
  c.entries_per_step = entries_per_step;
  return c;
}

Status hset(store::Store& s, const std::string& key, const std::string& field,
            const std::string& value, WallTime now = kWall) {
  return s.edit_collection(key, data::ValueKind::hash, now, [&](store::Store::CollectionEdit& e) {
    e.collection.set(field, value, e.dot, e.stamp);
    return true;
  });
}
Status hdel(store::Store& s, const std::string& key, const std::string& field) {
  return s.edit_collection(key, data::ValueKind::hash, kWall, [&](store::Store::CollectionEdit& e) {
    return e.collection.remove(field);
  });
}
Status hincrby(store::Store& s, const std::string& key, const std::string& field, int by) {
  return s.edit_collection(key, data::ValueKind::hash, kWall, [&](store::Store::CollectionEdit& e) {
    std::string text;
    return e.collection.incr(field, by, e.dot, e.stamp, text) == data::CounterError::none;
  });
}
Status sadd(store::Store& s, const std::string& key, const std::string& member) {
  return s.edit_collection(key, data::ValueKind::set, kWall, [&](store::Store::CollectionEdit& e) {
    e.collection.add(member, e.dot, e.stamp);
    return true;
  });
}
Status srem(store::Store& s, const std::string& key, const std::string& member) {
  return s.edit_collection(key, data::ValueKind::set, kWall, [&](store::Store::CollectionEdit& e) {
    return e.collection.remove(member);
  });
}

// Every key holds exactly the same entry (version, siblings, elements, expiry) in both.
void same_entries(const store::Store& a, const store::Store& b,
                  const std::vector<std::string>& keys, WallTime wall = kWall,
                  bool same_size = true) {
  for (const auto& key : keys) {
    CAPTURE(key);
    const auto want = a.export_entry(key, wall);
    const auto got = b.export_entry(key, wall);
    REQUIRE(want.has_value() == got.has_value());
    if (!want) continue;
    CHECK(want->version == got->version);
    CHECK(want->expiry == got->expiry);
  }
  if (!same_size) return;  // size() counts expired keys not yet removed
  CHECK(a.size() == b.size());
  CHECK(a.tombstones() == b.tombstones());
}

struct Counts {
  std::size_t puts = 0;
  std::size_t deltas = 0;
  std::size_t removes = 0;
  std::size_t flushes = 0;
};
Counts count_records(const persist_test::Loaded& loaded) {
  Counts c;
  for (const auto& r : loaded.records) {
    if (std::holds_alternative<persist::PutRecord>(r)) ++c.puts;
    if (std::holds_alternative<persist::DeltaRecord>(r)) ++c.deltas;
    if (std::holds_alternative<persist::RemoveRecord>(r)) ++c.removes;
    if (std::holds_alternative<persist::FlushRecord>(r)) ++c.flushes;
  }
  return c;
}

std::uint64_t aof_size(persist::SimEnv& env) { return env.file_size(kAof).value(); }

std::unique_ptr<Persistence> open_or_fail(store::Store& s,
                                          PersistenceConfig config, TimePoint now,
                                          WallTime wall = kWall) {
  auto opened = Persistence::open(std::move(config), s, s.config().self, now, wall);
  INFO(opened.status().to_string());
  REQUIRE(opened.ok());
  return std::move(opened).value();
}

}  // namespace

TEST_CASE("persist delta: 10000 HSETs to a 10000-field hash append deltas and not the hash",
          "[unit][persistence]") {
  persist::SimEnv env(persist::SimEnvOptions{3});
  TimePoint now{};
  store::Store original(store_config(1));
  auto p = open_or_fail(original, aof_config(env, persist::FsyncPolicy::always), now);
  constexpr int kFields = 10'000;
  REQUIRE(original
              .edit_collection("big", data::ValueKind::hash, kWall,
                               [&](store::Store::CollectionEdit& e) {
                                 for (int i = 0; i < kFields; ++i) {
                                   e.collection.set("field:" + std::to_string(i),
                                                    "value:" + std::to_string(i), e.dot, e.stamp);
                                 }
                                 return true;
                               })
              .ok());
  now += 1ms;
  p->pass(now, kWall);
  // What each HSET appended before delta records: the put of the whole entry.
  std::vector<std::uint8_t> put_bytes;
  persist::append_record(put_bytes, persist::PutRecord{*original.export_entry("big", kWall)});
  const std::uint64_t before = aof_size(env);
  for (int i = 0; i < kFields; ++i) {
    const std::string field = "field:" + std::to_string((i * 7919) % kFields);
    REQUIRE(hset(original, "big", field, "new:" + std::to_string(i)).ok());
    now += 1ms;
    p->pass(now, kWall);
  }
  const std::uint64_t grown = aof_size(env) - before;
  const std::uint64_t per_hset = grown / kFields;
  WARN("AOF bytes per HSET to a " << kFields << "-field hash: " << per_hset
                                  << " with delta records; a put of the hash is "
                                  << put_bytes.size() << " bytes");
  CHECK(put_bytes.size() > 300'000);
  CHECK(grown < std::uint64_t{kFields} * put_bytes.size() / 1000);  // far less than the puts
  CHECK(per_hset < 200);

  const auto loaded = persist_test::load(env, kAof);
  CHECK(loaded.report.clean());
  const Counts counts = count_records(loaded);
  // Even the hash's creation was a delta (from nothing): the changes are smaller than the
  // entry with its tags.
  CHECK(counts.puts == 0);
  CHECK(counts.deltas == kFields + 1);

  // The reload is the same store, entry for entry.
  env.crash();
  store::Store reloaded(store_config(2));
  auto again = open_or_fail(reloaded, aof_config(env, persist::FsyncPolicy::always), now);
  CHECK(again->loaded().records == kFields + 1);
  CHECK(reloaded.size() == 1);
  same_entries(original, reloaded, {"big"});
}

TEST_CASE("persist delta: a reload rebuilds every kind of collection write exactly",
          "[unit][persistence]") {
  persist::SimEnv env(persist::SimEnvOptions{5});
  TimePoint now{};
  store::Store original(store_config(1));
  auto p = open_or_fail(original, aof_config(env, persist::FsyncPolicy::always), now);
  std::vector<std::string> keys = {"h", "s", "emptied", "ttl", "mixed", "replica", "str",
                                   "flushed", "kept", "after", "copy", "tomb"};
  auto settle = [&] {
    now += 1ms;
    p->pass(now, kWall);
  };
  for (int i = 0; i < 40; ++i) {
    REQUIRE(hset(original, "h", "f" + std::to_string(i), std::string(20, 'a')).ok());
    REQUIRE(sadd(original, "s", "m" + std::to_string(i)).ok());
  }
  settle();
  // One change per pass, several per pass, each kind.
  REQUIRE(hset(original, "h", "f1", "one").ok());
  settle();
  REQUIRE(hdel(original, "h", "f2").ok());
  REQUIRE(hincrby(original, "h", "n", 5).ok());
  REQUIRE(hincrby(original, "h", "n", -2).ok());
  REQUIRE(srem(original, "s", "m3").ok());
  REQUIRE(sadd(original, "s", "new").ok());
  settle();
  // A set emptied member by member becomes a tombstone.
  REQUIRE(sadd(original, "emptied", "x").ok());
  settle();
  REQUIRE(srem(original, "emptied", "x").ok());
  settle();
  // EXPIRE and PERSIST of a hash travel as deltas.
  REQUIRE(hset(original, "ttl", "f", "v").ok());
  settle();
  REQUIRE(original.set_expiry("ttl", WallTime{kWall.ms + 600'000}, kWall));
  settle();
  REQUIRE(hset(original, "ttl", "g", "w").ok());
  REQUIRE(original.clear_expiry("ttl", kWall));
  REQUIRE(original.set_expiry("ttl", WallTime{kWall.ms + 900'000}, kWall));
  settle();
  // A merge and a write in one pass: not every change is a delta, the key goes whole. (A DEL of
  // a hash is a delta: it clears the collection.)
  REQUIRE(hset(original, "mixed", "a", "1").ok());
  settle();
  store::Store concurrent(store_config(8));
  REQUIRE(hset(concurrent, "mixed", "c", "3").ok());
  const auto theirs = *concurrent.export_entry("mixed", kWall);
  REQUIRE(original.merge("mixed", theirs.version, theirs.expiry, kWall).ok());
  REQUIRE(hset(original, "mixed", "b", "2").ok());
  settle();
  REQUIRE(original.del_local("mixed", kWall));
  REQUIRE(hset(original, "mixed", "d", "4").ok());
  settle();
  // A replica applies a coordinator's deltas.
  store::Store coordinator(store_config(9));
  REQUIRE(hset(coordinator, "replica", "a", "1").ok());
  auto first = coordinator.export_entry("replica", kWall);
  REQUIRE(original.merge("replica", first->version, first->expiry, kWall).ok());
  settle();
  (void)coordinator.take_delta("replica");
  for (int i = 0; i < 3; ++i) {
    REQUIRE(hset(coordinator, "replica", "f" + std::to_string(i), "v").ok());
    auto d = coordinator.take_delta("replica");
    REQUIRE(d.has_value());
    auto applied = original.apply_delta(*d, kWall);
    REQUIRE(applied.ok());
    REQUIRE(applied.value());
    if (i != 1) settle();
  }
  settle();
  // Strings interleaved.
  REQUIRE(original.put_local("str", "x", kWall).ok());
  settle();
  // A flush: a delta before it in the same pass is written whole (or removed), a delta after
  // it is fine.
  REQUIRE(hset(original, "flushed", "a", "1").ok());
  settle();
  REQUIRE(hset(original, "flushed", "b", "2").ok());
  original.flush_before(original.hlc().now(kWall), kWall);
  REQUIRE(hset(original, "after", "a", "1").ok());
  settle();
  REQUIRE(hset(original, "kept", "a", "1").ok());
  REQUIRE(hset(original, "after", "b", "2").ok());
  settle();
  // COPY of a hash: its changes are the whole collection, so the entry is smaller.
  REQUIRE(original.copy("h", "copy", kWall).ok());
  settle();
  // Ten small writes to one small hash in one pass: the entry is smaller than ten deltas.
  for (int i = 0; i < 10; ++i) REQUIRE(hset(original, "kept", "b", std::to_string(i)).ok());
  settle();
  // Emptied after the flush: a tombstone that replays as one.
  REQUIRE(sadd(original, "tomb", "x").ok());
  settle();
  REQUIRE(srem(original, "tomb", "x").ok());
  settle();
  REQUIRE(original.export_entry("tomb", kWall).has_value());

  const Counts counts = count_records(persist_test::load(env, kAof));
  CHECK(counts.deltas > 10);
  CHECK(counts.flushes == 1);
  env.crash();
  store::Store reloaded(store_config(2));
  auto again = open_or_fail(reloaded, aof_config(env, persist::FsyncPolicy::always), now);
  same_entries(original, reloaded, keys);
  CHECK(reloaded.flush_horizon() == original.flush_horizon());
  CHECK_FALSE(reloaded.export_entry("flushed", kWall).has_value());
  CHECK(reloaded.export_entry("tomb", kWall).has_value());
}

TEST_CASE("persist delta: a rewrite racing deltas reloads every write", "[unit][persistence]") {
  persist::SimEnv env(persist::SimEnvOptions{13});
  TimePoint now{};
  store::Store original(store_config(1));
  auto p = open_or_fail(original, aof_config(env, persist::FsyncPolicy::everysec, 3), now);
  std::vector<std::string> keys;
  for (int k = 0; k < 48; ++k) {
    keys.push_back("h" + std::to_string(k));
    for (int f = 0; f < 30; ++f) {
      REQUIRE(hset(original, keys.back(), "f" + std::to_string(f), std::string(30, 'v')).ok());
    }
  }
  now += 1ms;
  p->pass(now, kWall);
  Rng rng(99);
  auto write = [&](int n) {
    for (int i = 0; i < n; ++i) {
      const std::string& key = keys[rng.uniform(keys.size())];
      const std::string field = "f" + std::to_string(rng.uniform(40));
      if (rng.chance(0.2)) {
        REQUIRE(hdel(original, key, field).ok());
      } else {
        REQUIRE(hset(original, key, field, std::to_string(rng.next())).ok());
      }
    }
  };
  REQUIRE(p->bgrewriteaof(now, kWall) == BackgroundStart::started);
  int rounds = 0;
  auto rewriting = [&] {
    std::string info;
    p->info(info, now);
    return info.find("aof_rewrite_in_progress:1") != std::string::npos;
  };
  while (rewriting() && rounds < 2000) {
    // Writes, then the slice (which may scan a key written just before) and the pass.
    write(4);
    now += 1ms;
    p->handle_timeout(now, kWall);
    if (rounds % 3 == 0) {
      write(2);
      p->pass(now, kWall);
    }
    ++rounds;
  }
  REQUIRE_FALSE(rewriting());
  CHECK(rounds > 10);
  for (int i = 0; i < 50; ++i) {
    write(3);
    now += 1ms;
    p->pass(now, kWall);
  }
  REQUIRE(p->close(now, kWall).ok());

  // The new file holds deltas, some of them right after a put that already holds them.
  const auto loaded = persist_test::load(env, kAof);
  std::map<std::string, data::VersionVector> put_clock;
  std::size_t covered = 0;
  std::size_t deltas = 0;
  for (const auto& r : loaded.records) {
    if (const auto* put = std::get_if<persist::PutRecord>(&r)) {
      put_clock[put->entry.key] = put->entry.version.context();
    } else if (const auto* d = std::get_if<persist::DeltaRecord>(&r)) {
      ++deltas;
      auto it = put_clock.find(d->delta.key);
      if (it != put_clock.end() && it->second.covers(d->delta.dot.actor, d->delta.dot.counter)) {
        ++covered;
      }
    }
  }
  CHECK(deltas > 100);
  CHECK(covered > 0);

  store::Store reloaded(store_config(2));
  auto again = open_or_fail(reloaded, aof_config(env, persist::FsyncPolicy::everysec), now);
  same_entries(original, reloaded, keys);
}

TEST_CASE("persist delta: a delta after a put that holds it is skipped and one without its base "
          "is refused",
          "[unit][persistence]") {
  store::Store source(store_config(1));
  REQUIRE(hset(source, "h", "a", "1").ok());
  const auto s0 = *source.export_entry("h", kWall);
  (void)source.take_delta("h");
  REQUIRE(hset(source, "h", "b", "2").ok());
  const auto d1 = *source.take_delta("h");
  const auto s1 = *source.export_entry("h", kWall);
  REQUIRE(hset(source, "h", "c", "3").ok());
  const auto d2 = *source.take_delta("h");

  auto write = [](persist::SimEnv& env, const std::vector<persist::Record>& records) {
    REQUIRE(env.create_dir("/data").ok());
    auto w = persist::AofWriter::open(env, kAof, NodeId{1}, {persist::FsyncPolicy::always},
                                      TimePoint{});
    REQUIRE(w.ok());
    for (const auto& r : records) REQUIRE(w.value()->append(r).ok());
    REQUIRE(w.value()->close(TimePoint{}).ok());
  };

  SECTION("already held: skipped") {
    persist::SimEnv env;
    write(env, {persist::PutRecord{s1}, persist::DeltaRecord{d1}, persist::DeltaRecord{d2}});
    store::Store reloaded(store_config(2));
    auto p = open_or_fail(reloaded, aof_config(env, persist::FsyncPolicy::always), {});
    same_entries(source, reloaded, {"h"});
  }
  SECTION("its base: applied") {
    persist::SimEnv env;
    write(env, {persist::PutRecord{s0}, persist::DeltaRecord{d1}, persist::DeltaRecord{d2}});
    store::Store reloaded(store_config(2));
    auto p = open_or_fail(reloaded, aof_config(env, persist::FsyncPolicy::always), {});
    same_entries(source, reloaded, {"h"});
  }
  SECTION("neither: the load stops with the file and the offset") {
    persist::SimEnv env;
    write(env, {persist::PutRecord{s0}, persist::DeltaRecord{d2}});
    std::vector<std::uint8_t> first;
    persist::append_record(first, persist::PutRecord{s0});
    const std::uint64_t offset = persist::kFileHeaderBytes + first.size();
    store::Store reloaded(store_config(2));
    auto opened = Persistence::open(aof_config(env, persist::FsyncPolicy::always), reloaded,
                                    NodeId{2}, {}, kWall);
    REQUIRE_FALSE(opened.ok());
    const std::string message = opened.status().message();
    CAPTURE(message);
    CHECK(opened.status().code() == StatusCode::malformed);
    CHECK(message.find(kAof) != std::string::npos);
    CHECK(message.find("offset " + std::to_string(offset)) != std::string::npos);
    CHECK(message.find("'h'") != std::string::npos);
  }
  SECTION("no entry at all for a delta with a base") {
    persist::SimEnv env;
    write(env, {persist::DeltaRecord{d1}});
    store::Store reloaded(store_config(2));
    CHECK_FALSE(Persistence::open(aof_config(env, persist::FsyncPolicy::always), reloaded,
                                  NodeId{2}, {}, kWall)
                    .ok());
  }
}

TEST_CASE("persist delta: a PERSIST of a hash whose TTL has passed by the reload keeps it",
          "[unit][persistence]") {
  persist::SimEnv env(persist::SimEnvOptions{17});
  TimePoint now{};
  store::Store original(store_config(1));
  auto p = open_or_fail(original, aof_config(env, persist::FsyncPolicy::always), now);
  const WallTime soon{kWall.ms + 1'000};
  for (const char* key : {"persisted", "expires"}) {
    REQUIRE(hset(original, key, "f", "v").ok());
    now += 1ms;
    p->pass(now, kWall);
    REQUIRE(original.set_expiry(key, soon, kWall));
    now += 1ms;
    p->pass(now, kWall);
  }
  REQUIRE(original.clear_expiry("persisted", kWall));
  REQUIRE(hset(original, "expires", "g", "w").ok());
  REQUIRE(hset(original, "persisted", "g", "w").ok());
  now += 1ms;
  p->pass(now, kWall);
  CHECK(count_records(persist_test::load(env, kAof)).deltas >= 4);
  env.crash();
  const WallTime later{kWall.ms + 5'000};
  store::Store reloaded(store_config(2));
  auto again =
      open_or_fail(reloaded, aof_config(env, persist::FsyncPolicy::always), now, later);
  same_entries(original, reloaded, {"persisted", "expires"}, later, false);
  CHECK(reloaded.export_entry("persisted", later).has_value());
  CHECK_FALSE(reloaded.export_entry("expires", later).has_value());
  CHECK(reloaded.size() == 1);
}

TEST_CASE("persist delta: a cut at every byte of delta records loads the whole ones before it",
          "[unit][persistence]") {
  persist::SimEnv env(persist::SimEnvOptions{19});
  TimePoint now{};
  store::Store original(store_config(1));
  auto p = open_or_fail(original, aof_config(env, persist::FsyncPolicy::always), now);
  for (int i = 0; i < 20; ++i) REQUIRE(hset(original, "h", "f" + std::to_string(i), "v").ok());
  now += 1ms;
  p->pass(now, kWall);
  // The state after each record, and where each record ends.
  std::vector<store::VersionedEntry> states = {*original.export_entry("h", kWall)};
  std::vector<std::uint64_t> ends = {aof_size(env)};
  for (int i = 0; i < 3; ++i) {
    REQUIRE(hincrby(original, "h", "n", i + 1).ok());
    now += 1ms;
    p->pass(now, kWall);
    states.push_back(*original.export_entry("h", kWall));
    ends.push_back(aof_size(env));
  }
  REQUIRE(count_records(persist_test::load(env, kAof)).deltas == 3);
  const auto full = env.contents(kAof).value();
  for (std::uint64_t cut = ends[0]; cut <= ends.back(); ++cut) {
    CAPTURE(cut);
    persist::SimEnv copy;
    REQUIRE(copy.create_dir("/data").ok());
    copy.put_file(kAof, std::vector<std::uint8_t>(full.begin(), full.begin() + cut));
    std::size_t whole = 0;
    while (whole + 1 < ends.size() && ends[whole + 1] <= cut) ++whole;
    const auto loaded = persist_test::load(copy, kAof);
    CHECK(loaded.records.size() == whole + 1);
    CHECK(loaded.report.good_offset == ends[whole]);
    CHECK((cut == ends[whole] ? loaded.report.clean()
                              : loaded.report.reason == persist::StopReason::truncated));
    // The node loads the whole records and truncates the torn one (aof-load-truncated yes).
    store::Store reloaded(store_config(2));
    auto again =
        open_or_fail(reloaded, aof_config(copy, persist::FsyncPolicy::always), now);
    const auto e = reloaded.export_entry("h", kWall);
    REQUIRE(e.has_value());
    CHECK(e->version == states[whole].version);
    CHECK(again->loaded().truncated_bytes == cut - ends[whole]);
  }
}

TEST_CASE("persist delta: power loss under appendfsync always loses no acknowledged collection "
          "write",
          "[unit][persistence]") {
  std::size_t acknowledged_passes = 0;
  std::size_t failed_passes = 0;
  std::size_t torn = 0;
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    CAPTURE(seed);
    persist::SimEnvOptions options;
    options.seed = seed;
    options.sync_failure_probability = 0.02;
    persist::SimEnv env(options);
    Rng rng(seed);
    const std::vector<std::string> keys = {"h0", "h1", "h2", "s0", "s1"};
    // What every key held after the last pass that was acknowledged (synced), and after the
    // pass that failed, if one did (its records may or may not be on disk, in part).
    std::map<std::string, std::optional<store::VersionedEntry>> acked;
    std::map<std::string, std::optional<store::VersionedEntry>> maybe;
    TimePoint now{};
    for (int life = 0; life < 3; ++life) {
      store::Store s(store_config(10 + life));
      auto opened =
          Persistence::open(aof_config(env, persist::FsyncPolicy::always), s, NodeId{static_cast<std::uint64_t>(10 + life)},
                            now, kWall);
      if (!opened.ok()) {
        // Only a failed sync of a new file may refuse the start.
        CHECK(opened.status().code() == StatusCode::io_error);
        env.crash();
        continue;
      }
      auto& p = *opened.value();
      if (p.loaded().truncated_bytes > 0) ++torn;
      for (const auto& key : keys) {
        CAPTURE(key);
        const auto got = s.export_entry(key, kWall);
        const auto& want = acked[key];
        if (maybe.empty()) {  // the last pass was acknowledged: exactly its state
          REQUIRE(got.has_value() == want.has_value());
          if (got) {
            CHECK(got->version == want->version);
            CHECK(got->expiry == want->expiry);
          }
          continue;
        }
        // A pass failed to sync: a prefix of its records may be there, nothing before it lost.
        const auto clock = [](const std::optional<store::VersionedEntry>& e) {
          return e ? e->version.context() : data::VersionVector{};
        };
        const auto at_least = data::compare(clock(want), clock(got));
        const auto at_most = data::compare(clock(got), clock(maybe[key]));
        CHECK((at_least == data::Order::equal || at_least == data::Order::before));
        CHECK((at_most == data::Order::equal || at_most == data::Order::before));
      }
      maybe.clear();
      for (const auto& key : keys) acked[key] = s.export_entry(key, kWall);
      const int passes = static_cast<int>(rng.uniform(30)) + 1;
      for (int pass = 0; pass < passes && !p.fatal(); ++pass) {
        for (int i = static_cast<int>(rng.uniform(4)); i >= 0; --i) {
          const std::string& key = keys[rng.uniform(keys.size())];
          const std::string element = "e" + std::to_string(rng.uniform(30));
          if (key[0] == 's') {
            REQUIRE((rng.chance(0.3) ? srem(s, key, element) : sadd(s, key, element)).ok());
          } else if (rng.chance(0.2)) {
            REQUIRE(hdel(s, key, element).ok());
          } else if (rng.chance(0.3)) {
            REQUIRE(hincrby(s, key, "n" + element, 1).ok());
          } else {
            REQUIRE(hset(s, key, element, std::string(rng.uniform(50), 'x')).ok());
          }
        }
        now += 1ms;
        p.pass(now, kWall);
        if (p.fatal()) {
          ++failed_passes;
          for (const auto& key : keys) maybe[key] = s.export_entry(key, kWall);
        } else {
          ++acknowledged_passes;
          for (const auto& key : keys) acked[key] = s.export_entry(key, kWall);
        }
      }
      env.crash();
    }
  }
  CHECK(acknowledged_passes > 300);
  CHECK(failed_passes > 3);
  CHECK(torn > 0);
}

TEST_CASE("persist delta: the store reports a delta with exactly the changes that are one",
          "[unit][persistence]") {
  struct Feed : store::ChangeListener {
    std::vector<std::string> events;  // "key" for key_changed, "+key" for collection_delta
    void key_changed(std::string_view key) override { events.emplace_back(key); }
    void flushed(HlcTimestamp) override { events.emplace_back("flush"); }
    void collection_delta(const store::CollectionDelta& d) override {
      events.push_back("+" + d.key);
    }
  };
  Feed feed;
  store::Store s(store_config(1));
  s.set_change_listener(&feed);
  auto events = [&] { return std::exchange(feed.events, {}); };
  using V = std::vector<std::string>;
  REQUIRE(hset(s, "h", "a", "1").ok());
  CHECK(events() == V{"h", "+h"});
  REQUIRE(hdel(s, "h", "missing").ok());  // changed nothing
  CHECK(events().empty());
  REQUIRE(s.set_expiry("h", WallTime{kWall.ms + 1000}, kWall));
  CHECK(events() == V{"h", "+h"});
  REQUIRE(s.clear_expiry("h", kWall));
  CHECK(events() == V{"h", "+h"});
  REQUIRE(sadd(s, "s", "m").ok());
  CHECK(events() == V{"s", "+s"});
  // Not deltas: a merge, a string write and its delete.
  store::Store other(store_config(2));
  REQUIRE(hset(other, "h", "b", "2").ok());
  const auto theirs = *other.export_entry("h", kWall);
  REQUIRE(s.merge("h", theirs.version, theirs.expiry, kWall).ok());
  CHECK(events() == V{"h"});
  REQUIRE(s.put_local("k", "v", kWall).ok());
  CHECK(events() == V{"k"});
  REQUIRE(s.del_local("k", kWall));
  CHECK(events() == V{"k"});
  // DEL of a set clears it in place: a delta too (a `clear` change).
  REQUIRE(s.del_local("s", kWall));
  CHECK(events() == V{"s", "+s"});
  // A replica's apply_delta reports the delta it applied.
  store::Store coordinator(store_config(3));
  store::Store replica(store_config(4));
  REQUIRE(hset(coordinator, "r", "a", "1").ok());
  auto d = *coordinator.take_delta("r");
  replica.set_change_listener(&feed);
  REQUIRE(replica.apply_delta(d, kWall).value());
  CHECK(events() == V{"r", "+r"});
  REQUIRE(hset(coordinator, "r", "b", "2").ok());
  REQUIRE(coordinator.take_delta("r"));  // shipped to the other replicas, not to this one
  REQUIRE(hset(coordinator, "r", "c", "3").ok());
  d = *coordinator.take_delta("r");  // its base is not the replica's: refused, no change
  CHECK_FALSE(replica.apply_delta(d, kWall).ok());
  CHECK(events().empty());
  // Two changes before the first was shipped (RESTORE's value, then its TTL): the second's base
  // is on no replica, so no delta is kept and the write ships whole.
  REQUIRE(hset(coordinator, "q", "a", "1").ok());
  REQUIRE(coordinator.set_expiry("q", WallTime{kWall.ms + 1000}, kWall));
  CHECK_FALSE(coordinator.has_delta("q"));
  CHECK_FALSE(coordinator.take_delta("q"));
  // Replaying tells nobody.
  store::Store loaded(store_config(5));
  loaded.set_change_listener(&feed);
  store::Store source(store_config(6));
  REQUIRE(hset(source, "x", "a", "1").ok());
  CHECK(loaded.replay_delta(*source.take_delta("x"), kWall) == store::ReplayOutcome::applied);
  CHECK(events().empty());
  s.set_change_listener(nullptr);
  replica.set_change_listener(nullptr);
  loaded.set_change_listener(nullptr);
}

TEST_CASE("persist delta: delta records count towards the automatic rewrite that bounds the AOF",
          "[unit][persistence]") {
  persist::SimEnv env;
  TimePoint now{};
  store::Store original(store_config(1));
  PersistenceConfig c = aof_config(env, persist::FsyncPolicy::everysec, 100);
  c.auto_aof_rewrite_min_size = 64 << 10;
  c.auto_aof_rewrite_percentage = 100;
  auto p = open_or_fail(original, c, now);
  for (int i = 0; i < 500; ++i) {
    REQUIRE(hset(original, "h", "f" + std::to_string(i), std::string(40, 'v')).ok());
  }
  p->pass(now, kWall);
  const std::uint64_t hash_size = aof_size(env);
  REQUIRE(hash_size < c.auto_aof_rewrite_min_size);
  std::uint64_t largest = 0;
  std::string info;
  for (int i = 0; i < 20'000; ++i) {
    REQUIRE(hset(original, "h", "f" + std::to_string(i % 500), std::to_string(i)).ok());
    p->pass(now, kWall);
    now += 10ms;
    if (p->next_deadline() <= now) p->handle_timeout(now, kWall);
    largest = std::max(largest, aof_size(env));
  }
  info.clear();
  p->info(info, now);
  // Only deltas were appended (about 60 bytes each, 1.2 MB in all), and they set off rewrites
  // that kept the file within twice the minimum size plus one second of writes.
  CHECK(info.find("aof_rewrites:0") == std::string::npos);
  CHECK(largest < 2 * c.auto_aof_rewrite_min_size + 100 * 100);
  REQUIRE(p->close(now, kWall).ok());
  store::Store reloaded(store_config(2));
  auto again = open_or_fail(reloaded, aof_config(env, persist::FsyncPolicy::everysec), now);
  same_entries(original, reloaded, {"h"});
}
