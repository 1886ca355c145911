// AOF group records: the records of one pass (a transaction's or script's keys among them)
// load whole or not at all -- every truncation inside a group cuts the whole group off.
#include <catch2/catch.hpp>

#include "apiary/persist/aof_reader.hpp"
#include "apiary/persist/aof_writer.hpp"
#include "apiary/persist/sim_env.hpp"
#include "persist_test_support.hpp"

using namespace apiary;
using namespace apiary::persist;
using persist_test::entry;
using persist_test::load;
using persist_test::same;

namespace {

const TimePoint kStart = from_nanos(1'000'000'000);

}  // namespace

TEST_CASE("persist: a group of records loads whole or not at all", "[unit][persist]") {
  SimEnv env;
  const std::string path = "appendonly.aof";
  const std::vector<Record> before = {Record(PutRecord{entry("first", "1")})};
  const std::vector<Record> group = {Record(PutRecord{entry("{acct}:a", "-5")}),
                                     Record(PutRecord{entry("{acct}:b", "5")}),
                                     Record(RemoveRecord{"gone"})};
  std::uint64_t first_end = 0;
  std::uint64_t group_end = 0;
  {
    auto writer = AofWriter::open(env, path, NodeId{1}, {FsyncPolicy::always}, kStart);
    REQUIRE(writer.ok());
    first_end = writer.value()->append(before[0]).value();
    writer.value()->begin_group();
    for (const auto& r : group) REQUIRE(writer.value()->append(r).ok());
    group_end = writer.value()->end_group().value();
    // A group of one record is written as that record.
    writer.value()->begin_group();
    REQUIRE(writer.value()->append(PutRecord{entry("alone", "x")}).ok());
    REQUIRE(writer.value()->end_group().ok());
    REQUIRE(writer.value()->handle_timeout(kStart).ok());
  }
  const auto whole = load(env, path);
  CHECK(whole.report.clean());
  REQUIRE(whole.records.size() == 5);
  CHECK(same(whole.records[0], before[0]));
  for (std::size_t i = 0; i < group.size(); ++i) CHECK(same(whole.records[1 + i], group[i]));

  // Every cut inside the group keeps the record before it and nothing of the group.
  const auto bytes = env.contents(path);
  REQUIRE(bytes.has_value());
  CHECK(bytes->size() > group_end);
  for (std::uint64_t cut = first_end + 1; cut < group_end; ++cut) {
    CAPTURE(cut);
    SimEnv copy;
    copy.put_file(path, std::vector<std::uint8_t>(bytes->begin(),
                                                  bytes->begin() + static_cast<long>(cut)));
    const auto torn = load(copy, path);
    CHECK(torn.report.repairable());
    CHECK(torn.report.good_offset == first_end);
    REQUIRE(torn.records.size() == 1);
    CHECK(same(torn.records[0], before[0]));
  }

  // A damaged member spoils the whole group: the group's checksum no longer matches.
  for (std::uint64_t at = first_end; at < group_end; at += 7) {
    CAPTURE(at);
    SimEnv flipped;
    flipped.put_file(path, *bytes);
    REQUIRE(flipped.flip_byte(path, at, 0x40));
    const auto bad = load(flipped, path);
    CHECK(bad.report.good_offset == first_end);
    CHECK(bad.records.size() == 1);
  }
}
