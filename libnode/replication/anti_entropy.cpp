// Anti-entropy: every interval this node compares one partition it owns (round-robin) with
// one other live owner. A -> B digest_request (A's 64 bucket hashes); B answers with the
// differing buckets and its entries in them; A merges those, then pushes its own entries of
// the same buckets (now a superset) to B, which merges them. One round makes both sides
// equal for the buckets exchanged, unless writes raced with it.
#include <algorithm>

#include "replicator_state.hpp"

namespace apiary::replication {

namespace {

// Entries of `buckets` in `p`, within the configured count and byte budget; `complete` tells
// whether the budget left none out.
std::vector<store::VersionedEntry> bucket_entries(const Replicator::State& s, PartitionId p,
                                                  std::span<const std::uint64_t> buckets,
                                                  WallTime wall, bool* complete = nullptr) {
  std::vector<store::VersionedEntry> out;
  std::size_t bytes = 0;
  if (complete != nullptr) *complete = false;
  for (auto b : buckets) {
    for (auto& e : s.store.scan_bucket(p, static_cast<std::size_t>(b), wall)) {
      if (out.size() >= s.config.anti_entropy_max_entries) return out;
      const std::size_t n = entry_bytes(e);
      if (!out.empty() && bytes + n > s.config.anti_entropy_max_bytes) return out;
      bytes += n;
      out.push_back(std::move(e));
    }
  }
  if (complete != nullptr) *complete = true;
  return out;
}

}  // namespace

void Replicator::State::anti_entropy_tick(TimePoint now, WallTime wall) {
  if (leaving) return;
  const auto mine = view.table().partitions_of(self());
  if (mine.empty()) return;
  // Round-robin: the first owned partition at or after the cursor, wrapping around.
  auto it = std::lower_bound(mine.begin(), mine.end(), PartitionId{ae_cursor});
  if (it == mine.end()) it = mine.begin();
  const PartitionId p = *it;
  ae_cursor = p.value + 1;
  std::vector<std::string> peers;
  for (const auto& o : view.owners(p)) {
    if (o != self() && view.is_live(o)) peers.push_back(o);
  }
  if (peers.empty()) return;
  const std::string& peer = peers[static_cast<std::size_t>(rng.uniform(peers.size()))];
  Op op;
  op.kind = OpKind::ae_digest;
  op.deadline = now + config.transfer_timeout;
  op.peer = peer;
  op.partition = p.value;
  const std::uint64_t id = new_id();
  if (!send_to(peer, wire::MessageType::digest_request,
               encode_digest_request(id, p.value, store.digest(p, wall), store.flush_horizon()))) {
    return;
  }
  ++stats.anti_entropy_rounds;
  timers.emplace(op.deadline, id);
  ops.emplace(id, std::move(op));
}

void Replicator::State::on_digest_request(WallTime wall, const Message& m,
                                          std::string_view reply_to) {
  const PartitionId p{m.partition};
  const auto mine = store.digest(p, wall);
  std::vector<std::uint64_t> differ;
  for (std::size_t b = 0; b < store::kDigestBuckets; ++b) {
    if (mine.buckets[b] != m.numbers[b]) differ.push_back(b);
  }
  bool complete = false;
  const auto entries = bucket_entries(*this, p, differ, wall, &complete);
  stats.anti_entropy_keys_sent += entries.size();
  send_addr(
      std::string(reply_to), wire::MessageType::digest_response,
      encode_digest_response(m.id, m.partition, differ, entries, complete, store.flush_horizon()));
}

void Replicator::State::on_digest_response(TimePoint now, WallTime wall, const Message& m,
                                           std::string_view from) {
  auto it = ops.find(m.id);
  if (it == ops.end() || it->second.kind != OpKind::ae_digest || it->second.peer != from ||
      it->second.partition != m.partition) {
    ++stats.unmatched_dropped;
    return;
  }
  const bool promotion = it->second.promotion;
  erase_op(m.id);
  const PartitionId p{m.partition};
  stats.anti_entropy_buckets_differ += m.numbers.size();
  stats.anti_entropy_keys_received += m.entries.size();
  for (const auto& e : m.entries) {
    if (partition_of(e.key) == p) merge_entry(e, wall);
  }
  if (promotion) on_promotion_sync(now, wall, m.partition, std::string(from), m.final);
  if (m.numbers.empty()) return;
  const auto entries = bucket_entries(*this, p, m.numbers, wall);
  if (entries.empty()) return;
  stats.anti_entropy_keys_sent += entries.size();
  Op op;
  op.kind = OpKind::ae_push;
  op.deadline = now + config.transfer_timeout;
  op.peer = std::string(from);
  op.partition = m.partition;
  const std::uint64_t id = new_id();
  if (!send_to(from, wire::MessageType::data_request,
               encode_entries(id, m.partition, entries, store.flush_horizon()))) {
    return;
  }
  timers.emplace(op.deadline, id);
  ops.emplace(id, std::move(op));
}

void Replicator::State::on_entries_request(WallTime wall, const Message& m,
                                           std::string_view reply_to) {
  const PartitionId p{m.partition};
  stats.anti_entropy_keys_received += m.entries.size();
  for (const auto& e : m.entries) {
    if (partition_of(e.key) == p) merge_entry(e, wall);
  }
  note_replica_write(p);
  send_addr(std::string(reply_to), wire::MessageType::data_response,
            encode_response(RequestKind::entries, m.id, StatusCode::ok));
}

}  // namespace apiary::replication
