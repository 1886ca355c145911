// Quorum writes and reads (coordinator side) and the replica side of both.
#include <algorithm>
#include <bit>

#include "replicator_state.hpp"

namespace apiary::replication {

namespace {

std::uint32_t cap_quorum(std::uint32_t asked, std::uint32_t configured, std::size_t owners) {
  const std::uint32_t q = asked == 0 ? configured : asked;
  return std::clamp<std::uint32_t>(q, 1,
                                   static_cast<std::uint32_t>(std::max<std::size_t>(owners, 1)));
}

}  // namespace

void Replicator::replicate(TimePoint now, WallTime wall, std::string_view key,
                           std::uint32_t write_quorum, std::uint64_t completion_id,
                           std::string_view carrier) {
  State& s = *state_;
  ++s.stats.writes;
  if (!s.has_view) {
    ++s.stats.writes_unavailable;
    Op op;
    op.completion_id = completion_id;
    s.complete(op, OperationKind::write, make_error(StatusCode::unavailable, "no cluster view"), 1);
    return;
  }
  const PartitionId p = s.partition_of(key);
  s.note_replica_write(p);
  const auto owners = s.view.owner_indices(p);
  bool carried = false;
  Op op = s.write_op(now, completion_id, write_quorum, owners, carrier, carried);

  // Owners that are down are replaced, in order, by the live non-owners that follow the
  // preference list (sloppy quorum); each stand-in learns whom the write was meant for.
  // Names point into the view or into `standins`, which outlive the loop below.
  std::vector<std::pair<const std::string*, std::string_view>> targets;  // (member, hint owner)
  std::vector<std::string> standins;  // computed only when an owner is down (rare)
  bool standins_known = false;
  std::size_t next_standin = 0;
  for (const std::uint32_t i : owners) {
    const std::string& owner = s.view.member_name(i);
    if (owner == s.self() || (carried && owner == carrier)) continue;
    if (s.view.is_live_at(i)) {
      targets.emplace_back(&owner, std::string_view());
      continue;
    }
    if (!standins_known) {
      standins = s.view.standins(p);
      standins_known = true;
    }
    while (next_standin < standins.size() && standins[next_standin] == s.self()) ++next_standin;
    if (next_standin < standins.size()) targets.emplace_back(&standins[next_standin++], owner);
  }

  // A hash or set write whose changes the store kept ships them (the entry goes to stand-ins
  // and is exported as before, a collection's encoding is costly); any other write ships its
  // entry packed straight from the store.
  const bool has_delta = s.store.has_delta(key);
  std::optional<store::VersionedEntry> whole;
  std::vector<std::uint8_t> packed;
  if (has_delta) {
    whole = s.store.export_entry(key, wall);
  } else {
    packed = s.store.packed_entry(key, wall);
  }
  if (has_delta ? !whole : packed.empty()) {
    // Nothing to ship (the key expired at once); the local outcome is the whole outcome.
    ++s.stats.writes_ok;
    s.complete(op, OperationKind::write, Status::Ok(), 1);
    return;
  }
  std::vector<std::string> sent;
  const std::uint64_t id = s.new_id();
  // Owners all get the same bytes: a hash or set write as its changes when the store has
  // them (a replica without the write's base refuses and gets the entry, on_delta_refused),
  // else the entry. A stand-in gets the entry with the name of the owner it stands in for.
  const auto delta = has_delta ? s.store.take_delta(key) : std::nullopt;
  const auto entry_message = [&](std::string_view hint) {
    return whole ? encode_replicate(id, *whole, hint, s.store.flush_horizon())
                 : encode_replicate(id, packed, hint, s.store.flush_horizon());
  };
  auto plain = delta ? encode_replicate_delta(id, *delta, s.store.flush_horizon())
                     : entry_message({});
  if (delta) ++s.stats.delta_writes;
  std::size_t plain_left = static_cast<std::size_t>(
      std::count_if(targets.begin(), targets.end(), [](const auto& t) { return t.second.empty(); }));
  for (const auto& [member, hint] : targets) {
    // The last owner to get the plain bytes takes them rather than a copy.
    std::vector<std::uint8_t> payload =
        !hint.empty() ? entry_message(hint)
        : --plain_left == 0 ? std::move(plain)
                            : plain;
    if (!s.send_to(*member, wire::MessageType::data_request, std::move(payload))) continue;
    if (!hint.empty()) ++s.stats.hinted_writes;
    sent.push_back(*member);
  }
  s.launch_write(std::move(op), id, std::move(sent));
}

bool Replicator::replicate_together(TimePoint now, WallTime wall,
                                    std::span<const std::string_view> keys,
                                    std::uint32_t write_quorum, std::uint64_t completion_id,
                                    std::string_view carrier, bool whole) {
  State& s = *state_;
  if (!s.has_view || keys.size() < 2 || keys.size() > s.config.replicate_together_max_keys) {
    return false;
  }
  // One target list for all: every key has the same owners, and every owner is live (a
  // stand-in's hint names one owner per message).
  const auto owners = s.view.owner_indices(s.partition_of(keys.front()));
  for (const std::uint32_t i : owners) {
    if (!s.view.is_live_at(i)) return false;
  }
  for (std::size_t k = 1; k < keys.size(); ++k) {
    const auto other = s.view.owner_indices(s.partition_of(keys[k]));
    if (!std::is_permutation(owners.begin(), owners.end(), other.begin(), other.end())) {
      return false;
    }
  }
  // A hash or set write goes key by key, each as its changes (replicate()), unless the
  // caller needs the unit.
  if (!whole) {
    for (auto key : keys) {
      if (s.store.has_delta(key)) return false;
    }
  }
  std::vector<std::vector<std::uint8_t>> entries;
  entries.reserve(keys.size());
  std::size_t bytes = 0;
  for (auto key : keys) {
    auto e = s.store.packed_entry(key, wall);
    if (e.empty()) continue;  // expired at once: nothing to ship for it
    bytes += e.size();
    entries.push_back(std::move(e));
  }
  if (bytes > s.config.max_message_bytes / 2) return false;  // one key at a time, then
  if (whole) {
    for (auto key : keys) (void)s.store.take_delta(key);  // the entries carry those writes
  }

  ++s.stats.writes;
  ++s.stats.writes_together;
  for (auto key : keys) s.note_replica_write(s.partition_of(key));
  bool carried = false;
  Op op = s.write_op(now, completion_id, write_quorum, owners, carrier, carried);
  if (entries.empty()) {
    ++s.stats.writes_ok;
    s.complete(op, OperationKind::write, Status::Ok(), 1);
    return true;
  }
  std::vector<std::string> sent;
  const std::uint64_t id = s.new_id();
  auto payload = encode_replicate_many(id, entries, s.store.flush_horizon());
  const auto skipped = [&](const std::string& owner) {
    return owner == s.self() || (carried && owner == carrier);
  };
  std::size_t left = static_cast<std::size_t>(std::count_if(
      owners.begin(), owners.end(), [&](std::uint32_t i) { return !skipped(s.view.member_name(i)); }));
  for (const std::uint32_t i : owners) {
    const std::string& owner = s.view.member_name(i);
    if (skipped(owner)) continue;
    // The last owner takes the bytes rather than a copy.
    if (s.send_to(owner, wire::MessageType::data_request,
                  --left == 0 ? std::move(payload) : payload)) {
      sent.push_back(owner);
    }
  }
  s.launch_write(std::move(op), id, std::move(sent));
  return true;
}

Op Replicator::State::write_op(TimePoint now, std::uint64_t completion_id,
                               std::uint32_t write_quorum, std::span<const std::uint32_t> owners,
                               std::string_view carrier, bool& carried) const {
  Op op;
  op.kind = OpKind::write;
  op.completion_id = completion_id;
  op.deadline = now + config.write_timeout;
  op.needed = cap_quorum(write_quorum, config.write_quorum, owners.size()) - 1;
  carried = !carrier.empty() && carrier != self() && view.is_live(carrier) &&
            std::any_of(owners.begin(), owners.end(),
                        [&](std::uint32_t i) { return view.member_name(i) == carrier; });
  if (carried && op.needed > 0) --op.needed;  // the carrier holds it before its client hears
  return op;
}

void Replicator::State::launch_write(Op op, std::uint64_t id, std::vector<std::string> sent) {
  op.asked = std::move(sent);
  if (op.needed == 0) {
    ++stats.writes_ok;
    op.completed = true;
    complete(op, OperationKind::write, Status::Ok(), 1);
  } else if (op.asked.size() < op.needed) {
    ++stats.writes_unavailable;
    op.completed = true;
    complete(op, OperationKind::write,
             make_error(StatusCode::unavailable, "not enough live replicas for the write quorum"),
             1);
  }
  if (op.asked.empty()) return;
  // Kept after completion to count the remaining acks (and drop them quietly).
  timers.emplace(op.deadline, id);
  ops.emplace(id, std::move(op));
}

void Replicator::State::on_write_ack(std::uint64_t id, StatusCode code, std::string_view from) {
  Op& op = ops.at(id);
  const auto asked = std::find(op.asked.begin(), op.asked.end(), from);
  const auto index = static_cast<std::size_t>(asked - op.asked.begin());
  if (asked == op.asked.end() || index >= 64 || (op.answered >> index & 1) != 0) {
    ++stats.unmatched_dropped;
    return;
  }
  op.answered |= std::uint64_t{1} << index;
  if (code == StatusCode::ok) {
    ++op.acks;
    ++stats.write_acks;
    if (!op.completed && op.acks >= op.needed) {
      op.completed = true;
      ++stats.writes_ok;
      complete(op, OperationKind::write, Status::Ok(), op.acks + 1);
    }
  }
  if (static_cast<std::size_t>(std::popcount(op.answered)) == op.asked.size()) {
    if (!op.completed) {
      // Every replica answered but some refused (out of memory): the quorum cannot come.
      ++stats.writes_unavailable;
      complete(op, OperationKind::write,
               make_error(StatusCode::unavailable, "replicas refused the write"), op.acks + 1);
    }
    erase_op(id);
  }
}

void Replicator::State::on_replicate_request(WallTime wall, Message& m, std::string_view from,
                                             std::string_view reply_to) {
  // One ack for every entry (replicate_many): ok only when each of them merged.
  StatusCode code = StatusCode::ok;
  for (store::VersionedEntry& e : m.entries) {
    auto r = store.merge(e.key, std::move(e.version), e.expiry, wall);
    if (!r.ok()) {
      ++stats.merge_errors;
      if (code == StatusCode::ok) code = r.status().code();
      continue;
    }
    ++stats.replica_merges;
    note_replica_write(partition_of(e.key));
    if (!m.hint_owner.empty() && m.hint_owner != self()) add_hint(m.hint_owner, e.key);
  }
  (void)from;
  if (collecting_acks && code == StatusCode::ok) {
    // Part of a batch: acknowledged together with the batch's other writes (flush_acks()).
    if (m.id != 0) collected_acks.push_back(m.id);
    return;
  }
  send_addr(reply_to, wire::MessageType::data_response, encode_response(m.kind, m.id, code));
}

void Replicator::State::on_delta_request(WallTime wall, const Message& m,
                                         std::string_view reply_to) {
  const store::CollectionDelta& d = *m.delta;
  auto r = store.apply_delta(d, wall);
  if (!r.ok() && r.status().code() == StatusCode::not_found) {
    // With this replica's version, so that the coordinator's next write covers it and its
    // deltas apply here again.
    const auto mine = store.export_entry(d.key, wall);
    send_addr(reply_to, wire::MessageType::data_response,
              encode_delta_refused(m.id, d.key, mine ? &*mine : nullptr, store.flush_horizon()));
    return;
  }
  StatusCode code = StatusCode::ok;
  if (r.ok()) {
    ++stats.replica_merges;
    note_replica_write(partition_of(d.key));
  } else {
    ++stats.merge_errors;
    code = r.status().code();
  }
  if (collecting_acks && code == StatusCode::ok) {
    if (m.id != 0) collected_acks.push_back(m.id);
    return;
  }
  send_addr(reply_to, wire::MessageType::data_response,
            encode_response(RequestKind::replicate_delta, m.id, code));
}

void Replicator::State::on_delta_refused(WallTime wall, const Message& m,
                                         std::string_view from) {
  const std::uint64_t id = m.id;
  const std::string_view key = m.key;
  auto it = ops.find(id);
  if (it == ops.end() || it->second.kind != OpKind::write ||
      std::find(it->second.asked.begin(), it->second.asked.end(), from) ==
          it->second.asked.end()) {
    ++stats.unmatched_dropped;
    return;
  }
  // The current entry, which now covers the replica's version too, covers the write (and
  // anything after it); its ack answers the op.
  ++stats.delta_fallbacks;
  for (const auto& e : m.entries) merge_entry(e, wall);
  const auto entry = store.export_entry(key, wall);
  if (!entry) {
    on_write_ack(id, StatusCode::ok, from);  // gone at once (expired): nothing to hold
    return;
  }
  send_to(std::string(from), wire::MessageType::data_request,
          encode_replicate(id, *entry, {}, store.flush_horizon()));
}

void Replicator::State::flush_acks(std::string_view reply_to) {
  collecting_acks = false;
  if (collected_acks.size() == 1) {
    send_addr(reply_to, wire::MessageType::data_response,
              encode_response(RequestKind::replicate, collected_acks.front(), StatusCode::ok));
  } else if (!collected_acks.empty()) {
    send_addr(reply_to, wire::MessageType::data_response, encode_acks(collected_acks));
  }
  collected_acks.clear();
}

void Replicator::State::on_ack(std::uint64_t id, StatusCode code, RequestKind kind,
                               std::string_view from) {
  auto it = ops.find(id);
  if (it == ops.end()) {
    ++stats.unmatched_dropped;
    return;
  }
  const OpKind op = it->second.kind;
  if (op == OpKind::write &&
      (kind == RequestKind::replicate || kind == RequestKind::replicate_many ||
       kind == RequestKind::replicate_delta || kind == RequestKind::acks)) {
    on_write_ack(id, code, from);
  } else if (op == OpKind::hint && (kind == RequestKind::replicate || kind == RequestKind::acks)) {
    on_hint_ack(id, code, from);
  } else {
    ++stats.unmatched_dropped;
  }
}

// ---- Reads -----------------------------------------------------------------------------

void Replicator::read(TimePoint now, WallTime wall, std::string_view key, std::uint32_t read_quorum,
                      std::uint64_t completion_id) {
  State& s = *state_;
  ++s.stats.reads;
  Op op;
  op.kind = OpKind::read;
  op.completion_id = completion_id;
  op.deadline = now + s.config.read_timeout;
  op.key = std::string(key);
  if (!s.has_view) {
    ++s.stats.reads_unavailable;
    s.complete(op, OperationKind::read, make_error(StatusCode::unavailable, "no cluster view"), 1);
    return;
  }
  const PartitionId p = s.partition_of(key);
  const auto owners = s.view.owners(p);
  const std::uint32_t quorum = cap_quorum(read_quorum, s.config.read_quorum, owners.size());
  const bool promoting = s.promoting(p) && !s.leaving;
  // Whom to ask besides the first R-1 other owners: during a transition the previous owners
  // (one of them must answer); on a non-owner every live owner (its own copy does not count).
  std::vector<std::string> extra;
  op.self_counts = !s.leaving && s.view.owns(s.self(), p);
  op.needed = quorum - 1;
  if (op.self_counts) {
    extra = s.transition_sources(p.value);
    if (!extra.empty()) {
      ++s.stats.handoff_reads;
      ++op.needed;
    }
  } else {
    for (const auto& owner : owners) {
      if (owner != s.self() && s.view.is_live(owner)) extra.push_back(owner);
    }
    op.needed = quorum;
  }
  if (op.needed == 0 && !promoting) {
    ++s.stats.reads_ok;
    s.complete(op, OperationKind::read, Status::Ok(), 1);
    return;
  }
  const std::uint64_t id = s.new_id();
  // A replica holding the version this node holds says so instead of sending it: a read of
  // a big hash or set moves no elements when the replicas agree.
  op.sent_hash = s.store.version_hash(key, wall).value_or(0);
  if (op.sent_hash != 0) op.sent_context = s.store.export_entry(key, wall)->version.context();
  const auto payload = encode_read(id, key, op.sent_hash);
  const std::size_t from_owners = op.self_counts ? quorum - 1 : 0;
  for (const auto& owner : owners) {
    if (op.asked.size() == from_owners) break;
    if (owner == s.self() || !s.view.is_live(owner)) continue;
    if (s.send_to(owner, wire::MessageType::data_request, payload)) op.asked.push_back(owner);
  }
  bool source_among_owners = false;
  std::size_t sources_asked = 0;
  for (const auto& member : extra) {
    if (std::find(op.asked.begin(), op.asked.end(), member) != op.asked.end()) {
      source_among_owners = true;
      continue;
    }
    if (s.send_to(member, wire::MessageType::data_request, payload)) {
      op.asked.push_back(member);
      ++sources_asked;
    }
  }
  // Every previous owner still awaited is also one of the R-1 owners asked: its answer is
  // both, so waiting for one more would need a member that may not exist (found by a 3-node
  // test, R=2, right after a join: one previous owner had sent its final batch already).
  if (op.self_counts && source_among_owners && sources_asked == 0) op.needed = quorum - 1;
  if (promoting) {
    // A new coordinator catching up: every owner it has not caught up with must answer too
    // (promotion.cpp).
    for (const auto& peer : s.promotions.at(p.value)) {
      if (std::find(op.asked.begin(), op.asked.end(), peer) != op.asked.end()) continue;
      if (s.send_to(peer, wire::MessageType::data_request, payload)) {
        op.asked.push_back(peer);
        ++op.needed;
      }
    }
    if (op.needed == 0) {  // nobody left to ask: the local copy is the answer
      ++s.stats.reads_ok;
      s.complete(op, OperationKind::read, Status::Ok(), 1);
      return;
    }
  }
  if (op.asked.size() < op.needed) {
    ++s.stats.reads_unavailable;
    op.completed = true;
    s.complete(op, OperationKind::read,
               make_error(StatusCode::unavailable, "not enough live replicas for the read quorum"),
               op.self_counts ? 1 : 0);
  }
  if (op.asked.empty()) return;
  s.timers.emplace(op.deadline, id);
  s.ops.emplace(id, std::move(op));
}

void Replicator::State::on_read_request(WallTime wall, const Message& m,
                                        std::string_view reply_to) {
  const std::string& key = m.entries.front().key;
  if (m.version_hash != 0 && store.version_hash(key, wall) == m.version_hash) {
    ++stats.reads_same;
    send_addr(std::string(reply_to), wire::MessageType::data_response,
              encode_read_response(m.id, StatusCode::ok, nullptr, store.flush_horizon(), true));
    return;
  }
  const auto entry = store.export_entry(key, wall);
  send_addr(
      std::string(reply_to), wire::MessageType::data_response,
      encode_read_response(m.id, StatusCode::ok, entry ? &*entry : nullptr, store.flush_horizon()));
}

void Replicator::State::on_read_response(WallTime wall, const Message& m, std::string_view from) {
  Op& op = ops.at(m.id);
  const std::string name(from);
  if (std::find(op.asked.begin(), op.asked.end(), name) == op.asked.end() ||
      op.versions.count(name) != 0 ||
      std::find(op.same.begin(), op.same.end(), name) != op.same.end() ||
      m.code != StatusCode::ok || (m.same && op.sent_hash == 0)) {
    ++stats.unmatched_dropped;
    return;
  }
  if (!m.entries.empty() && m.entries.front().key != op.key) {
    ++stats.malformed_dropped;
    return;
  }
  if (m.same) {
    op.same.push_back(name);  // nothing to merge: this node held that version
  } else if (m.entries.empty()) {
    op.versions.emplace(name, std::nullopt);
  } else {
    const auto& e = m.entries.front();
    op.versions.emplace(name, e.version);
    merge_entry(e, wall);
  }
  if (op.versions.size() + op.same.size() == op.asked.size()) finish_read(wall, m.id, false);
}

void Replicator::State::finish_read(WallTime wall, std::uint64_t id, bool timed_out) {
  Op& op = ops.at(id);
  // "The same version" answers stand for the version this node held when it asked. Its copy
  // may have lost it since (the partition dropped after a handoff, the key evicted): then
  // those answers hold something this node no longer has. Ask those replicas again for their
  // version (no hash: "same" is refused now); at a timeout they count for nothing.
  if (!op.same.empty()) {
    const auto local = store.export_entry(op.key, wall);
    const auto order =
        local ? data::compare(local->version.context(), op.sent_context) : data::Order::before;
    if (order != data::Order::equal && order != data::Order::after) {
      if (!timed_out) {
        ++stats.reads_same_retried;
        op.sent_hash = 0;
        const auto payload = encode_read(id, op.key);
        std::vector<std::string> again = std::move(op.same);
        op.same.clear();
        for (const auto& name : again) {
          if (!send_to(name, wire::MessageType::data_request, payload)) {
            std::erase(op.asked, name);
          }
        }
        if (op.versions.size() < op.asked.size()) return;  // wait for them (or the timeout)
      } else {
        op.same.clear();
      }
    }
  }
  const auto answers = static_cast<std::uint32_t>(op.versions.size() + op.same.size());
  const std::uint32_t replicas = answers + (op.self_counts ? 1 : 0);
  if (!op.completed) {
    op.completed = true;
    if (answers >= op.needed) {
      ++stats.reads_ok;
      complete(op, OperationKind::read, Status::Ok(), replicas);
    } else {
      ++stats.read_timeouts;
      complete(op, OperationKind::read,
               make_error(StatusCode::timeout, "read quorum not reached in time"), replicas);
    }
  }
  (void)timed_out;
  // Read repair: every owner that answered with less than the merged version gets it (a
  // previous owner asked during a transition is handing the partition off: not repaired).
  const auto merged = store.export_entry(op.key, wall);
  const PartitionId p = partition_of(op.key);
  if (merged) {
    const auto payload = encode_replicate(0, *merged, {}, store.flush_horizon());
    for (const auto& [name, version] : op.versions) {
      if (!view.owns(name, p)) continue;
      if (version && data::compare(*version, merged->version) == data::Order::equal) continue;
      if (send_to(name, wire::MessageType::data_request, payload)) ++stats.read_repairs;
    }
    // A replica that held this node's version at the time is behind only if it changed since.
    if (!op.same.empty() && store.version_hash(op.key, wall) != op.sent_hash) {
      for (const auto& name : op.same) {
        if (view.owns(name, p) && send_to(name, wire::MessageType::data_request, payload)) {
          ++stats.read_repairs;
        }
      }
    }
  }
  erase_op(id);
}

}  // namespace apiary::replication
