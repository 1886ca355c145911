// Store::packed_entry writes the same bytes as the entry codec does for export_entry: a
// replicated write ships the former, every reader decodes it as the latter.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "apiary/store/entry_codec.hpp"
#include "apiary/store/store.hpp"

using namespace apiary;
using namespace apiary::store;

namespace {

StoreConfig config_for(std::uint64_t node) {
  StoreConfig c;
  c.self = NodeId{node};
  return c;
}

void check_same(const Store& s, std::string_view key, WallTime now) {
  INFO("key " << key);
  const auto exported = s.export_entry(key, now);
  const auto packed = s.packed_entry(key, now);
  if (!exported) {
    CHECK(packed.empty());
    return;
  }
  CHECK(packed == encode_entry(*exported));
  const auto decoded = decode_entry(packed, EntryLimits{});
  REQUIRE(decoded.ok());
  CHECK(decoded->key == exported->key);
  CHECK(decoded->version == exported->version);
  CHECK(decoded->expiry == exported->expiry);
}

}  // namespace

TEST_CASE("packed_entry is the entry codec's bytes of export_entry", "[store]") {
  Store a(config_for(1));
  Store b(config_for(2));
  const WallTime t{1'000'000};
  const std::string binary("va\0lue", 6);
  REQUIRE(a.put_local("plain", "v", t).ok());
  REQUIRE(a.put_local("binary", binary, t).ok());
  REQUIRE(a.put_local("long-key-of-more-than-sixteen-bytes", std::string(300, 'x'), t).ok());
  REQUIRE(a.put_local("ttl", "v", t, ExpiryUpdate::set(WallTime{t.ms + 60'000})).ok());
  REQUIRE(a.incr("counter", 41, t).error == IncrError::none);
  // Two writers: the inline form with two clock entries, then siblings (the complex form).
  REQUIRE(b.put_local("two", "from-b", t).ok());
  REQUIRE(a.merge("two", b.export_entry("two", t)->version, std::nullopt, t).ok());
  REQUIRE(a.put_local("two", "from-a", t).ok());
  REQUIRE(b.put_local("siblings", "from-b", t).ok());
  REQUIRE(a.put_local("siblings", "from-a", t).ok());
  REQUIRE(a.merge("siblings", b.export_entry("siblings", t)->version, std::nullopt, t).ok());
  REQUIRE(a.put_local("deleted", "v", t).ok());
  REQUIRE(a.del_local("deleted", t));
  for (const char* key : {"plain", "binary", "long-key-of-more-than-sixteen-bytes", "ttl",
                          "counter", "two", "siblings", "deleted", "missing"}) {
    check_same(a, key, t);
  }
  // Expired: nothing, as export_entry.
  REQUIRE(a.put_local("short", "v", t, ExpiryUpdate::set(WallTime{t.ms + 10})).ok());
  check_same(a, "short", WallTime{t.ms + 11});
  CHECK(a.packed_entry("short", WallTime{t.ms + 11}).empty());
}
