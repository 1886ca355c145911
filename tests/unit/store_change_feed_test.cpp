// The store's change feed (Store::set_change_listener): every way an entry changes is
// reported, including the in-place fast paths, since persistence writes only what it hears.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "apiary/store/store.hpp"

using namespace apiary;
using namespace apiary::store;

namespace {

struct Recorder final : ChangeListener {
  std::vector<std::string> keys;
  std::vector<HlcTimestamp> flushes;
  void key_changed(std::string_view key) override { keys.emplace_back(key); }
  void flushed(HlcTimestamp horizon) override { flushes.push_back(horizon); }
  bool saw(const std::string& key) const {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
  }
};

const WallTime kWall{1'700'000'000'000};

}  // namespace

TEST_CASE("store: the change feed reports every kind of change", "[unit][store]") {
  StoreConfig c;
  c.self = NodeId{1};
  c.partition_count = 16;
  Store s(c);
  Recorder r;
  s.set_change_listener(&r);
  auto changed = [&](const std::string& key, auto&& op) {
    r.keys.clear();
    op();
    CAPTURE(key);
    CHECK(r.saw(key));
  };
  changed("a", [&] { REQUIRE(s.put_local("a", "v1", kWall).ok()); });
  changed("a", [&] { REQUIRE(s.put_local("a", "v2", kWall).ok()); });  // in place
  changed("a", [&] { REQUIRE(s.put_local("a", "longer value", kWall).ok()); });
  changed("n", [&] { REQUIRE(s.incr("n", 1, kWall).error == IncrError::none); });
  changed("n", [&] { REQUIRE(s.incr("n", 1, kWall).error == IncrError::none); });  // in place
  changed("n", [&] { REQUIRE(s.incr_float("n", 0.5, kWall).error == IncrError::none); });
  changed("a", [&] { REQUIRE(s.set_expiry("a", WallTime{kWall.ms + 1000}, kWall)); });
  changed("a", [&] { REQUIRE(s.clear_expiry("a", kWall)); });
  changed("a", [&] { REQUIRE(s.del_local("a", kWall)); });
  Store other(StoreConfig{});
  REQUIRE(other.put_local("m", "remote", kWall).ok());
  const auto remote = other.export_entry("m", kWall);
  changed("m", [&] { REQUIRE(s.merge("m", remote->version, remote->expiry, kWall).value()); });
  // Lazy and active expiry.
  REQUIRE(s.put_local("e1", "x", kWall, ExpiryUpdate::set(WallTime{kWall.ms + 10})).ok());
  REQUIRE(s.put_local("e2", "x", kWall, ExpiryUpdate::set(WallTime{kWall.ms + 10})).ok());
  changed("e1", [&] { CHECK_FALSE(s.get_value("e1", WallTime{kWall.ms + 20}).has_value()); });
  changed("e2", [&] { s.active_expire_cycle(WallTime{kWall.ms + 20}); });
  // A dropped partition.
  REQUIRE(s.put_local("p", "x", kWall).ok());
  for (std::uint32_t p = 0; p < 16; ++p) {
    ScanCursor cursor;
    for (const auto& e : s.scan_partition(PartitionId{p}, cursor, 100, kWall)) {
      if (e.key == "p") changed("p", [&] { s.drop_partition(PartitionId{p}); });
    }
  }
  // A flush is one call, not one per key; what it keeps is reported after it.
  r.keys.clear();
  s.flush_before(s.hlc().now(kWall), kWall);
  CHECK(r.flushes.size() == 1);
  // Loading is not a change.
  r.keys.clear();
  s.restore("loaded", remote->version, std::nullopt, kWall);
  CHECK(s.remove("loaded"));
  CHECK(r.keys.empty());
}
