// The node core's active-expiry schedule (NodeCore::handle_timeout): the slow cycle every
// expire_interval and fast cycles expire_fast_interval apart while the store reports a
// backlog. Driven with virtual time like the simulator drives a node; the store's own cycle
// is tested in tests/unit/store_ttl_test.cpp.
#include <catch2/catch.hpp>
#include <string>

#include "apiary/core/node_core.hpp"

using namespace apiary;
using namespace apiary::store;

namespace {
void put_keys(Store& s, const char* prefix, int count, WallTime now, WallTime at) {
  for (int i = 0; i < count; ++i) {
    REQUIRE(s.put_local(prefix + std::to_string(i), "v", now, ExpiryUpdate::set(at)).ok());
  }
}
}  // namespace

TEST_CASE("the node core runs fast cycles between slow ones while a backlog remains",
          "[core][ttl]") {
  // A small slow budget, so that one slow cycle cannot clear 5,000 expired keys: the core
  // schedules fast cycles expire_fast_interval apart until the backlog is gone, well before
  // the next slow cycle.
  core::NodeCoreConfig c;
  c.name = "n1";
  c.gossip_addr = "127.0.0.1:7946";
  c.meta.data_addr = "127.0.0.1:7947";
  c.replication.partition_count = 16;
  c.store.expire_slow_cycle_keys = 1'000;
  c.store.expire_fast_cycle_keys = 500;
  TimePoint now = from_nanos(1'000'000'000);
  WallTime wall{1'700'000'000'000};
  auto made = core::NodeCore::create(c, now);
  REQUIRE(made.ok());
  core::NodeCore& node = *made.value();
  node.join(now, wall, {});
  put_keys(node.store(), "dead", 5'000, wall, WallTime{wall.ms + 10});
  put_keys(node.store(), "live", 1'000, wall, WallTime{wall.ms + 1'000'000});
  auto step_to = [&](TimePoint t) {
    wall =
        WallTime{wall.ms + std::chrono::duration_cast<std::chrono::milliseconds>(t - now).count()};
    now = t;
    node.handle_timeout(now, wall);
  };
  // Up to the first slow cycle (100 ms after creation), then the fast cycles it starts.
  while (node.store().size() == 6'000) step_to(node.next_deadline());
  const TimePoint slow = now;
  CHECK(node.store().size() >= 5'000);  // one slow cycle: at most 1,000 keys looked at
  CHECK(node.next_deadline() <= slow + c.expire_fast_interval);
  int fast_cycles = 0;
  while (node.next_deadline() < slow + c.expire_interval) {
    step_to(node.next_deadline());
    ++fast_cycles;
  }
  CHECK(fast_cycles >= 8);                    // 4,000+ keys at 500 per fast cycle
  CHECK(node.store().size() - 1'000 <= 100);  // the backlog is gone within 100 ms
}
