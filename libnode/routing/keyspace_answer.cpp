// This node's answers to keyspace queries (keyspace.hpp), from the local store only: an
// answer never asks another member, so a query cannot travel on or loop.
#include <variant>

#include "apiary/data/partition.hpp"
#include "apiary/resp/server_config.hpp"
#include "keyspace.hpp"

namespace apiary::routing {

using replication::KeyspaceAnswer;
using replication::KeyspaceQuery;
using replication::PartitionSet;

namespace {

replication::ScanAnswer scan_share(store::Store& store, const replication::ScanQuery& q,
                                   WallTime wall) {
  replication::ScanAnswer a;
  store::ScanCursor cursor{q.cursor, q.cursor != 0};
  auto batch = store.scan_keys(
      cursor, q.count, [&](PartitionId p) { return q.partitions.contains(p); }, wall);
  std::size_t bytes = 0;
  for (auto& k : batch) {
    // Over the byte budget: stop before this key; the asker resumes at its position.
    if (!a.keys.empty() && bytes + k.key.size() > kScanAnswerBytes) {
      a.next = k.position;
      return a;
    }
    if ((q.pattern.empty() || resp::glob_match(q.pattern, k.key)) &&
        (q.type.empty() || store::type_name(store.type(k.key, wall)) == q.type)) {
      bytes += k.key.size();
      a.keys.push_back(std::move(k));
    }
  }
  a.next = cursor.position;
  return a;
}

std::optional<std::string> random_key_of(store::Store& store, const PartitionSet& share,
                                         WallTime wall, Rng& rng) {
  const std::uint32_t partitions = store.config().partition_count;
  // Sampling the whole table is cheap and usually lands in the share (with N = 3 and three
  // members a member coordinates about a third of what it holds).
  for (int attempt = 0; attempt < 16; ++attempt) {
    auto key = store.random_key(wall);
    if (!key) return std::nullopt;  // nothing here at all
    if (share.contains(data::partition_of(*key, partitions)) && store.exists(*key, wall)) {
      return key;
    }
  }
  // A share holding few of the keys here: the first key from a random position on, wrapping
  // around once.
  auto in = [&](PartitionId p) { return share.contains(p); };
  const std::uint64_t from = rng.next();
  for (const std::uint64_t start : {from, std::uint64_t{0}}) {
    store::ScanCursor cursor{start, start != 0};
    do {
      auto keys = store.scan_keys(cursor, 64, in, wall);
      if (!keys.empty()) return std::move(keys.front().key);
    } while (!cursor.done() && (start != 0 || cursor.position < from));
  }
  return std::nullopt;
}

}  // namespace

KeyspaceAnswer answer_query(store::Store* store, const KeyspaceQuery& query, WallTime wall,
                            Rng& rng) {
  if (std::holds_alternative<replication::ClockQuery>(query)) {
    return replication::ClockAnswer{store != nullptr ? store->hlc().last() : HlcTimestamp{}};
  }
  if (const auto* count = std::get_if<replication::CountQuery>(&query)) {
    if (store == nullptr) return replication::CountAnswer{};
    const auto c =
        store->count_keys([&](PartitionId p) { return count->partitions.contains(p); }, wall);
    return replication::CountAnswer{c.keys, c.expires};
  }
  if (const auto* scan = std::get_if<replication::ScanQuery>(&query)) {
    if (store == nullptr) return replication::ScanAnswer{};
    return scan_share(*store, *scan, wall);
  }
  if (const auto* random = std::get_if<replication::RandomKeyQuery>(&query)) {
    if (store == nullptr) return replication::RandomKeyAnswer{};
    return replication::RandomKeyAnswer{random_key_of(*store, random->partitions, wall, rng)};
  }
  if (std::holds_alternative<replication::MembersQuery>(query)) {
    return replication::MembersAnswer{};  // Keyspace::answer hands these to the Server
  }
  const auto& flush = std::get<replication::FlushQuery>(query);
  if (store == nullptr) return replication::FlushAnswer{};
  return replication::FlushAnswer{store->flush_before(flush.horizon, wall)};
}

}  // namespace apiary::routing
