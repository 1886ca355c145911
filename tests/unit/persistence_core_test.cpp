// core::Persistence on a SimEnv: what the node writes through the store's change feed, what
// a crash leaves, and what loading rebuilds. Time is passed in; nothing sleeps.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "apiary/core/persistence.hpp"
#include "apiary/persist/sim_env.hpp"

using namespace apiary;
using namespace apiary::core;
using namespace std::chrono_literals;

namespace {

const WallTime kWall{1'700'000'000'000};

store::StoreConfig store_config(std::uint64_t self) {
  store::StoreConfig c;
  c.self = NodeId{self};
  c.partition_count = 16;
  return c;
}

PersistenceConfig aof_config(persist::Env& env, persist::FsyncPolicy policy) {
  PersistenceConfig c;
  c.env = &env;
  c.dir = "/data";
  c.appendonly = true;
  c.appendfsync = policy;
  c.entries_per_step = 3;
  return c;
}

// Every key of `a` answers the same in `b` (value, TTL), and they hold as many keys.
void same_answers(store::Store& a, store::Store& b, const std::vector<std::string>& keys,
                  WallTime wall) {
  for (const auto& key : keys) {
    CAPTURE(key);
    const auto want = a.get_value(key, wall);
    const auto got = b.get_value(key, wall);
    REQUIRE(want.has_value() == got.has_value());
    if (want) CHECK(std::string(*want) == std::string(*got));
    CHECK(a.ttl(key, wall).expiry == b.ttl(key, wall).expiry);
  }
  CHECK(a.size() == b.size());
}

// Writes of every kind, each followed by a pass (as NodeCore::settle does).
std::vector<std::string> write_some(store::Store& s, Persistence& p, TimePoint& now, int n) {
  std::vector<std::string> keys;
  for (int i = 0; i < n; ++i) {
    const std::string key = "k" + std::to_string(i);
    keys.push_back(key);
    const auto expiry = i % 3 == 0 ? store::ExpiryUpdate::set(WallTime{kWall.ms + 600'000 + i})
                                   : store::ExpiryUpdate::clear();
    REQUIRE(s.put_local(key, "v" + std::to_string(i), kWall, expiry).ok());
    if (i % 4 == 0) {
      keys.push_back("c" + std::to_string(i));
      REQUIRE(s.incr(keys.back(), i, kWall).error == store::IncrError::none);
      REQUIRE(s.incr(keys.back(), 1, kWall).error == store::IncrError::none);  // in place
    }
    if (i % 5 == 0) REQUIRE(s.del_local(key, kWall));
    if (i % 7 == 0) REQUIRE(s.set_expiry(key, WallTime{kWall.ms + 1'000'000}, kWall) == (i % 5 != 0));
    now += 1ms;
    p.pass(now, kWall);
  }
  return keys;
}

}  // namespace

TEST_CASE("persistence: appendfsync always loses nothing a pass completed, after a crash",
          "[unit][persistence]") {
  persist::SimEnv env(persist::SimEnvOptions{7});
  TimePoint now{};
  store::Store original(store_config(1));
  auto opened = Persistence::open(aof_config(env, persist::FsyncPolicy::always), original,
                                  NodeId{1}, now, kWall);
  REQUIRE(opened.ok());
  Persistence& p = *opened.value();
  auto keys = write_some(original, p, now, 200);
  // A flush, then writes after it: the flushed keys stay gone.
  original.flush_before(original.hlc().now(kWall), kWall);
  REQUIRE(original.put_local("after-flush", "x", kWall).ok());
  keys.push_back("after-flush");
  p.pass(now, kWall);
  env.crash();

  store::Store reloaded(store_config(2));
  auto again = Persistence::open(aof_config(env, persist::FsyncPolicy::always), reloaded,
                                 NodeId{2}, now, kWall);
  REQUIRE(again.ok());
  CHECK(again.value()->loaded().source == LoadSummary::Source::aof);
  same_answers(original, reloaded, keys, kWall);
  CHECK(reloaded.flush_horizon() == original.flush_horizon());
}

TEST_CASE("persistence: a background rewrite while writes go on keeps every write",
          "[unit][persistence]") {
  persist::SimEnv env(persist::SimEnvOptions{11});
  TimePoint now{};
  store::Store original(store_config(1));
  auto opened = Persistence::open(aof_config(env, persist::FsyncPolicy::everysec), original,
                                  NodeId{1}, now, kWall);
  REQUIRE(opened.ok());
  Persistence& p = *opened.value();
  auto keys = write_some(original, p, now, 60);
  const std::uint64_t before = env.file_size("/data/appendonly.aof").value();
  REQUIRE(p.bgrewriteaof(now, kWall) == BackgroundStart::started);
  CHECK(p.bgrewriteaof(now, kWall) == BackgroundStart::already_running);
  CHECK(p.bgsave(now, kWall, false) == BackgroundStart::other_running);
  // Writes between the slices: overwrite some scanned keys, add new ones, delete some.
  int rounds = 0;
  while (p.next_deadline() <= now && rounds < 1000) {
    const std::string key = "during" + std::to_string(rounds);
    keys.push_back(key);
    REQUIRE(original.put_local(key, "d", kWall).ok());
    REQUIRE(original.put_local("k" + std::to_string(rounds % 60), "new", kWall).ok());
    p.pass(now, kWall);
    p.handle_timeout(now, kWall);
    ++rounds;
  }
  CHECK(rounds > 10);  // it took many slices
  std::string info;
  p.info(info, now);
  CHECK(info.find("aof_rewrites:1") != std::string::npos);
  CHECK(env.file_size("/data/appendonly.aof").value() < before + 4096 * 8);
  REQUIRE(original.put_local("after-rewrite", "a", kWall).ok());
  keys.push_back("after-rewrite");
  now += 2s;
  p.handle_timeout(now, kWall);  // everysec: synced
  env.crash();
  store::Store reloaded(store_config(2));
  auto again = Persistence::open(aof_config(env, persist::FsyncPolicy::everysec), reloaded,
                                 NodeId{2}, now, kWall);
  REQUIRE(again.ok());
  same_answers(original, reloaded, keys, kWall);
}

TEST_CASE("persistence: BGSAVE writes every key that existed throughout, loaded without an AOF",
          "[unit][persistence]") {
  persist::SimEnv env(persist::SimEnvOptions{5});
  TimePoint now{};
  store::Store original(store_config(1));
  PersistenceConfig c = aof_config(env, persist::FsyncPolicy::everysec);
  c.appendonly = false;
  auto opened = Persistence::open(c, original, NodeId{1}, now, kWall);
  REQUIRE(opened.ok());
  Persistence& p = *opened.value();
  const auto keys = write_some(original, p, now, 80);
  REQUIRE(p.bgsave(now, kWall, false) == BackgroundStart::started);
  while (p.next_deadline() <= now) {
    REQUIRE(original.put_local("later", "not in the snapshot, or in it", kWall).ok());
    p.pass(now, kWall);
    p.handle_timeout(now, kWall);
  }
  CHECK(p.lastsave_seconds() == kWall.ms / 1000);
  env.crash();  // the snapshot was synced and renamed: it survives

  store::Store reloaded(store_config(2));
  auto again = Persistence::open(c, reloaded, NodeId{2}, now, kWall);
  REQUIRE(again.ok());
  CHECK(again.value()->loaded().source == LoadSummary::Source::snapshot);
  for (const auto& key : keys) {
    CAPTURE(key);
    const auto want = original.get_value(key, kWall);
    const auto got = reloaded.get_value(key, kWall);
    REQUIRE(want.has_value() == got.has_value());
    if (want) CHECK(std::string(*want) == std::string(*got));
  }
}

TEST_CASE("persistence: a failing fsync refuses writes under everysec and is fatal under always",
          "[unit][persistence]") {
  for (auto policy : {persist::FsyncPolicy::everysec, persist::FsyncPolicy::always}) {
    CAPTURE(persist::to_string(policy));
    persist::SimEnv env(persist::SimEnvOptions{3});
    TimePoint now{};
    store::Store s(store_config(1));
    auto opened = Persistence::open(aof_config(env, policy), s, NodeId{1}, now, kWall);
    REQUIRE(opened.ok());
    Persistence& p = *opened.value();
    env.set_sync_failure_probability(1.0);
    REQUIRE(s.put_local("k", "v", kWall).ok());
    now += 2s;
    p.pass(now, kWall);
    p.handle_timeout(now, kWall);
    if (policy == persist::FsyncPolicy::always) {
      CHECK(p.fatal());
      continue;
    }
    CHECK_FALSE(p.fatal());
    CHECK(p.write_refusal().rfind("-MISCONF Errors writing to the AOF file", 0) == 0);
    // The disk recovers: the retried rewrite writes a fresh AOF and writes are accepted again.
    env.set_sync_failure_probability(0.0);
    for (int i = 0; i < 100 && !p.write_refusal().empty(); ++i) {
      now += 1s;
      p.handle_timeout(now, kWall);
    }
    CHECK(p.write_refusal().empty());
  }
}

TEST_CASE("persistence: save rules start a background save once both are reached",
          "[unit][persistence]") {
  persist::SimEnv env;
  TimePoint now{};
  WallTime wall = kWall;
  store::Store s(store_config(1));
  PersistenceConfig c = aof_config(env, persist::FsyncPolicy::no);
  c.appendonly = false;
  c.save = *parse_save_rules("60 2");
  auto opened = Persistence::open(c, s, NodeId{1}, now, wall);
  REQUIRE(opened.ok());
  Persistence& p = *opened.value();
  REQUIRE(s.put_local("a", "1", wall).ok());
  REQUIRE(s.put_local("b", "2", wall).ok());
  p.pass(now, wall);
  now += 30s;
  wall.ms += 30'000;
  p.handle_timeout(now, wall);
  CHECK_FALSE(env.exists("/data/dump.apiary"));  // 30 s: too early
  now += 31s;
  wall.ms += 31'000;
  for (int i = 0; i < 10; ++i) p.handle_timeout(now, wall);
  CHECK(env.exists("/data/dump.apiary"));
  CHECK(p.lastsave_seconds() == wall.ms / 1000);
  CHECK(parse_save_rules("3600 1 300 100")->size() == 2);
  CHECK_FALSE(parse_save_rules("3600"));
  CHECK_FALSE(parse_save_rules("0 1"));
  CHECK(format_save_rules(*parse_save_rules(" 10  1 ")) == "10 1");
}

TEST_CASE("persistence: the AOF is rewritten when it grew past the auto-rewrite thresholds",
          "[unit][persistence]") {
  persist::SimEnv env;
  TimePoint now{};
  store::Store s(store_config(1));
  PersistenceConfig c = aof_config(env, persist::FsyncPolicy::everysec);
  c.auto_aof_rewrite_min_size = 4096;
  c.auto_aof_rewrite_percentage = 100;
  c.entries_per_step = 100;
  auto opened = Persistence::open(c, s, NodeId{1}, now, kWall);
  REQUIRE(opened.ok());
  Persistence& p = *opened.value();
  std::string info;
  for (int i = 0; i < 2000 && info.find("aof_rewrites:1") == std::string::npos; ++i) {
    REQUIRE(s.put_local("k" + std::to_string(i % 10), "value " + std::to_string(i), kWall).ok());
    p.pass(now, kWall);
    now += 100ms;
    if (p.next_deadline() <= now) p.handle_timeout(now, kWall);
    info.clear();
    p.info(info, now);
  }
  CHECK(info.find("aof_rewrites:1") != std::string::npos);
  // Ten keys: the rewritten file is about ten records long.
  CHECK(env.file_size("/data/appendonly.aof").value() < 4096);
}
