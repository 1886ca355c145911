#include "apiary/cluster/partition_table.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <numeric>
#include <set>

using namespace apiary;
using namespace apiary::cluster;

namespace {
std::vector<std::string> names(int n, int start = 0) {
  std::vector<std::string> out;
  for (int i = start; i < start + n; ++i) out.push_back("node-" + std::to_string(i));
  return out;
}

// Partitions whose preference list (as a set) differs between two tables.
int moved(const PartitionTable& a, const PartitionTable& b) {
  int count = 0;
  for (std::uint32_t p = 0; p < a.partition_count(); ++p) {
    auto x = a.owners(PartitionId{p});
    auto y = b.owners(PartitionId{p});
    std::sort(x.begin(), x.end());
    std::sort(y.begin(), y.end());
    if (x != y) ++count;
  }
  return count;
}
}  // namespace

TEST_CASE("every partition has distinct owners, capped at the member count", "[partition]") {
  auto one = PartitionTable::build({"solo"}, {});
  CHECK(one.replicas() == 1);
  CHECK(one.primary(PartitionId{5}) == "solo");

  auto t = PartitionTable::build(names(5), {});
  CHECK(t.replicas() == 3);
  for (std::uint32_t p = 0; p < t.partition_count(); ++p) {
    auto owners = t.owners(PartitionId{p});
    REQUIRE(owners.size() == 3);
    CHECK(std::set<std::string>(owners.begin(), owners.end()).size() == 3);
  }
  auto empty = PartitionTable::build({}, {});
  CHECK(empty.owners(PartitionId{0}).empty());
  CHECK(empty.primary(PartitionId{0}).empty());
}

TEST_CASE("the table is a pure function of the member set", "[partition]") {
  auto members = names(7);
  auto a = PartitionTable::build(members, {});
  std::reverse(members.begin(), members.end());
  members.push_back("node-3");  // duplicates do not matter either
  auto b = PartitionTable::build(members, {});
  CHECK(a.fingerprint() == b.fingerprint());
  for (std::uint32_t p = 0; p < 1024; ++p) {
    CHECK(a.owners(PartitionId{p}) == b.owners(PartitionId{p}));
  }
  auto c = PartitionTable::build(names(6), {});
  CHECK(a.fingerprint() != c.fingerprint());
}

TEST_CASE("with 10 nodes the busiest owns at most 1.25x the mean", "[partition]") {
  auto t = PartitionTable::build(names(10), {});
  for (std::uint32_t rank = 0; rank < 3; ++rank) {
    auto load = t.load_at_rank(rank);
    const double mean = 1024.0 / 10.0;
    CHECK(*std::max_element(load.begin(), load.end()) <= 1.25 * mean + 1);
  }
  // Total ownership (any rank).
  std::vector<std::size_t> total;
  for (const auto& m : t.members()) total.push_back(t.partitions_of(m).size());
  const double mean = 1024.0 * 3 / 10.0;
  CHECK(*std::max_element(total.begin(), total.end()) <= 1.25 * mean);
}

TEST_CASE("a join or leave moves about 1/N of the partitions", "[partition]") {
  for (int n : {3, 5, 10, 20}) {
    auto before = PartitionTable::build(names(n), {});
    auto after_join = PartitionTable::build(names(n + 1), {});
    auto members_minus = names(n);
    members_minus.erase(members_minus.begin() + n / 2);
    auto after_leave = PartitionTable::build(members_minus, {});
    // A partition's owner set changes when the newcomer enters its top 3 (or a leaver was in
    // it): about replicas/N of the partitions, plus a little from the load cap.
    const double expected_join = 1024.0 * std::min(3, n + 1) / (n + 1);
    const double expected_leave = 1024.0 * std::min(3, n) / n;
    INFO("n=" << n);
    CHECK(moved(before, after_join) <= expected_join * 1.3);
    CHECK(moved(before, after_leave) <= expected_leave * 1.3);
  }
}

TEST_CASE("load factor 1 disables the cap and gives plain rendezvous hashing", "[partition]") {
  PartitionTableOptions plain;
  plain.load_factor = 1.0;
  auto t = PartitionTable::build(names(4), plain);
  for (std::uint32_t p = 0; p < t.partition_count(); ++p) {
    std::string best;
    std::uint64_t best_score = 0;
    for (const auto& m : t.members()) {
      const auto s = rendezvous_score(PartitionId{p}, m);
      if (s > best_score) {
        best_score = s;
        best = m;
      }
    }
    CHECK(t.primary(PartitionId{p}) == best);
  }
}
