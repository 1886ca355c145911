// Ownership handoff: on every view change, each partition this node holds but no longer owns
// is streamed to its owners (then dropped), and a partition whose departed owner cannot
// stream any more is copied to the newcomers by the first remaining owner. Batches are
// bounded; one batch is in flight per target and is resent until acknowledged. Every former
// owner of a partition ends with a final batch to each new owner -- an empty "marker" when it
// has nothing to send -- because the new owner reads from the former owners until then
// (transition.cpp).
#include <algorithm>
#include <set>

#include "replicator_state.hpp"

namespace apiary::replication {

namespace {

bool contains(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// `pv` with its log2(count) bits reversed: consecutive ranks land far apart in the key space.
std::uint32_t spread(std::uint32_t pv, std::uint32_t count) {
  std::uint32_t bits = 0;
  while ((1u << bits) < count) ++bits;
  std::uint32_t r = 0;
  for (std::uint32_t b = 0; b < bits; ++b) r |= ((pv >> b) & 1u) << (bits - 1 - b);
  return r;
}

bool holds_data(store::Store& store, PartitionId p, WallTime wall) {
  store::ScanCursor cursor;
  return !store.scan_partition(p, cursor, 1, wall).empty() || !cursor.done();
}

}  // namespace

void Replicator::State::note_replica_write(PartitionId p) {
  auto it = handoffs.find(p.value);
  if (it != handoffs.end() && it->second.drop_after) it->second.touched = true;
}

Batch Replicator::State::take_batch(std::map<std::uint64_t, Batch>::iterator it) {
  auto busy = busy_targets.find(it->second.target);
  if (busy != busy_targets.end() && busy->second == it->first) busy_targets.erase(busy);
  if (it->second.marker) --markers_in_flight;
  Batch b = std::move(it->second);
  batches.erase(it);
  return b;
}

void Replicator::State::send_marker(TimePoint now, const std::string& target, std::uint32_t pv) {
  if (!given_view.is_live(target)) return;  // it does not wait for a member it sees down
  const auto addr = given_view.addr_of(target);
  if (!addr) return;
  const std::uint64_t id = new_id();
  Batch b;
  b.target = target;
  b.partition = pv;
  b.final = true;
  b.marker = true;
  b.envelope = envelope(wire::MessageType::handoff_batch,
                        encode_handoff_batch(id, pv, true, {}, store.flush_horizon()));
  b.resend_at = now + config.handoff_retry;
  ++stats.messages_sent;
  ++stats.handoff_markers_sent;
  outbox.add_envelope(*addr, b.envelope);
  ++markers_in_flight;
  batches.emplace(id, std::move(b));
}

void Replicator::State::plan_handoff(TimePoint now, const ClusterView& before, bool had_view,
                                     WallTime wall, const std::vector<std::string>& appeared) {
  handoff_tasks_changed = true;
  std::set<std::pair<std::uint32_t, std::string>> finals;  // (partition, target) planned here
  auto marker = [&](const std::string& target, std::uint32_t pv) {
    if (finals.emplace(pv, target).second) send_marker(now, target, pv);
  };
  auto cancel = [&](std::uint32_t pv) {
    for (auto it = batches.begin(); it != batches.end();) {
      auto next = std::next(it);
      if (it->second.partition == pv && !it->second.marker) take_batch(it);
      it = next;
    }
    handoffs.erase(pv);
  };
  // A node's first view counts as coming from a view of itself alone: it held (nothing of)
  // every partition, so the owners it sees get its final markers -- they cannot tell a
  // first view from a join and wait for them.
  const std::vector<std::string> alone{self()};
  for (std::uint32_t pv = 0; pv < view.partition_count(); ++pv) {
    const PartitionId p{pv};
    const auto owners = view.owners(p);
    const bool own_now = !leaving && contains(owners, self());
    const bool was_owner = !had_view || before.owns(self(), p);
    const auto old_owners = had_view ? before.owners(p) : alone;

    auto task = handoffs.find(pv);
    if (!own_now && task != handoffs.end() && !task->second.drop_after) {
      cancel(pv);  // a copy this node started while it still owned the partition
      task = handoffs.end();
    }
    if (!own_now) {
      std::vector<std::string> targets;
      for (const auto& o : owners) {
        if (o != self()) targets.push_back(o);
      }
      const bool streaming = task != handoffs.end() && task->second.drop_after;
      if (targets.empty()) {  // nobody to give it to: keep the data
        if (task != handoffs.end()) cancel(pv);
        continue;
      }
      if (streaming) {
        // Keep the stream (and its progress) while every target still owns the partition;
        // owners that are new in this view join it from the start (found by the simulator:
        // two joins in a row left the second newcomer with a marker and no data).
        bool valid = true;
        for (const auto& [name, progress] : task->second.targets) {
          valid = valid && contains(targets, name);
        }
        if (valid) {
          if (had_view) {
            for (const auto& t : targets) {
              if (!before.owns(t, p)) task->second.targets.try_emplace(t);
            }
          }
          continue;
        }
      } else {
        // Handed here lately although this node did not own it before either: the sender's
        // view is ahead (a leaving node, or owners that saw a leave first) and this node is
        // about to own it. Handing it back and dropping it would leave this node empty when
        // its view catches up (found by the simulator).
        if (auto in = recent_handoff_in.find(pv); !was_owner && in != recent_handoff_in.end() &&
                                                  in->second + config.handoff_wait_timeout > now) {
          continue;
        }
        std::vector<std::string> newcomers;
        if (was_owner) {
          // The owners that were owners with us have the data already (anti-entropy covers
          // what they missed); only newcomers need the stream.
          for (const auto& t : targets) {
            if (!contains(old_owners, t)) newcomers.push_back(t);
          }
        }
        if (!holds_data(store, p, wall)) {
          // A node that lost the partition while it was still receiving it sends no marker:
          // its data may still come, and on_handoff_batch() streams it on with a final.
          if (lost_in_transition.count(pv) == 0) {
            for (const auto& t : newcomers) marker(t, pv);
          }
          continue;
        }
        if (!newcomers.empty()) targets = std::move(newcomers);
      }
      if (task != handoffs.end()) cancel(pv);
      HandoffTask fresh;
      fresh.drop_after = true;
      for (auto& t : targets) fresh.targets.emplace(std::move(t), HandoffTarget{});
      handoffs.emplace(pv, std::move(fresh));
      continue;
    }
    if (task != handoffs.end() && task->second.drop_after) {
      cancel(pv);
    } else if (task != handoffs.end()) {
      // A copy in progress: keep only targets that still own the partition.
      auto& targets = task->second.targets;
      for (auto t = targets.begin(); t != targets.end();) {
        t = contains(owners, t->first) ? std::next(t) : targets.erase(t);
      }
      const bool all_done =
          std::all_of(targets.begin(), targets.end(), [](const auto& t) { return t.second.done; });
      if (targets.empty() || (all_done && !task->second.touched)) {
        // Also when every target left has its copy: the one still waiting left the ring, and
        // no ack will come to end the task (found by the simulator: a node crashed while two
        // clusters merged, and its co-owner reported a handoff pending for ever).
        cancel(pv);
      } else if (all_done) {
        ++stats.handoff_passes_repeated;  // a replica write may lie behind a cursor
        task->second.touched = false;
        for (auto& [name, progress] : targets) progress = HandoffTarget{};
      }
    }
    if (!was_owner) continue;
    std::vector<std::string> newcomers;
    for (const auto& o : owners) {
      if (o != self() && !contains(old_owners, o)) newcomers.push_back(o);
    }
    if (newcomers.empty()) continue;
    // A departed owner that is still live streams its copy itself (and drops it); only when
    // none can, the first remaining live owner sends one, so the newcomer gets it once.
    bool departed_streams = false;
    const std::string* first_remaining = nullptr;
    for (const auto& o : old_owners) {
      if (!contains(owners, o)) {
        departed_streams = departed_streams || view.is_live(o);
      } else if (first_remaining == nullptr && view.is_live(o)) {
        first_remaining = &o;
      }
    }
    // On a join (a newcomer appeared in this view) neither the departed owner nor the first
    // remaining one may be able to stream: the departed owner may not know this newcomer yet
    // (it streams to another newcomer it knows of and drops its copy), and the first
    // remaining owner may be an earlier newcomer still waiting for its own data. So every
    // remaining owner that holds the partition copies it (found by the simulator: two nodes
    // joining at once left one of them without the data). A joiner may get a partition up to
    // N times; anti-entropy would be the only other way to fill it.
    bool joined = false;
    for (const auto& n : newcomers) joined = joined || contains(appeared, n);
    const bool designated =
        !departed_streams && first_remaining != nullptr && *first_remaining == self();
    const bool copies = (designated || joined) && holds_data(store, p, wall);
    if (!copies) {
      // The others' final word to the newcomers: nothing from here.
      for (const auto& n : newcomers) marker(n, pv);
      continue;
    }
    HandoffTask& copy = handoffs[pv];
    for (auto& n : newcomers) copy.targets.try_emplace(std::move(n));
  }
  // A member that appeared in this view waits, for each partition it owns, for a final batch
  // from every member (transition.cpp): those not streaming to it say they have nothing.
  if (leaving) return;
  for (const auto& a : appeared) {
    for (std::uint32_t pv = 0; pv < view.partition_count(); ++pv) {
      if (!view.owns(a, PartitionId{pv})) continue;
      auto task = handoffs.find(pv);
      if (task != handoffs.end() && task->second.targets.count(a) != 0) continue;
      marker(a, pv);
    }
  }
}

void Replicator::State::sync_handoff_sessions() {
  handoff_tasks_changed = false;
  std::map<std::string, std::uint32_t> pending;  // peer -> partitions it still waits for
  for (const auto& [pv, task] : handoffs) {
    for (const auto& [target, progress] : task.targets) {
      if (!progress.done) ++pending[target];
    }
  }
  handoff_sessions.sync_out(pending);
}

void Replicator::State::pump_handoff(TimePoint now, WallTime wall) {
  if (handoff_tasks_changed) sync_handoff_sessions();
  if (!has_view || handoffs.empty()) return;
  std::set<std::string> waiting;
  for (const auto& [pv, task] : handoffs) {
    for (const auto& [target, progress] : task.targets) {
      if (!progress.done && busy_targets.count(target) == 0) waiting.insert(target);
    }
  }
  for (const auto& target : waiting) {
    if (!given_view.is_live(target)) continue;
    const auto addr = given_view.addr_of(target);
    if (!addr) continue;
    // Round-robin over the target's partitions, one batch each, in bit-reversed partition
    // order: the receiver's inserts then spread over its whole key space. Filling one hash
    // range after another makes the store's ordered table probe long runs (60x slower for
    // 100k keys, see docs/replication.md).
    const std::uint32_t from = handoff_rr[target];
    HandoffTarget* progress = nullptr;
    std::uint32_t pv = 0;
    std::uint32_t best = 0;
    bool wrapped_best = false;
    for (auto& [id, task] : handoffs) {
      auto t = task.targets.find(target);
      if (t == task.targets.end() || t->second.done) continue;
      const std::uint32_t rank = spread(id, view.partition_count());
      const bool wrapped = rank < from;  // comes after every rank >= from
      if (progress == nullptr || wrapped < wrapped_best ||
          (wrapped == wrapped_best && rank < best)) {
        progress = &t->second;
        pv = id;
        best = rank;
        wrapped_best = wrapped;
      }
    }
    if (progress == nullptr) continue;
    handoff_rr[target] = best + 1;
    send_batch(now, wall, target, *addr, pv, *progress, handoffs[pv].touched);
  }
}

void Replicator::State::send_batch(TimePoint now, WallTime wall, const std::string& target,
                                   const std::string& addr, std::uint32_t pv,
                                   const HandoffTarget& progress, bool more_passes) {
  store::ScanCursor cursor = progress.cursor;
  std::vector<store::VersionedEntry> entries;
  std::size_t bytes = 0;
  while (!cursor.done() && entries.size() < config.handoff_batch_entries &&
         bytes < config.handoff_batch_bytes) {
    const std::size_t room = config.handoff_batch_entries - entries.size();
    for (auto& e :
         store.scan_partition(PartitionId{pv}, cursor, std::min<std::size_t>(room, 32), wall)) {
      bytes += entry_bytes(e);
      entries.push_back(std::move(e));
    }
  }
  const std::uint64_t id = new_id();
  Batch b;
  b.target = target;
  b.partition = pv;
  b.final = cursor.done();
  b.next_cursor = cursor;
  // The receiver stops reading from this node on a final batch; a pass that will repeat (a
  // replica write arrived meanwhile) is not the final word yet.
  b.envelope = envelope(
      wire::MessageType::handoff_batch,
      encode_handoff_batch(id, pv, b.final && !more_passes, entries, store.flush_horizon()));
  b.resend_at = now + config.handoff_retry;
  ++stats.messages_sent;
  ++stats.handoff_batches_sent;
  stats.handoff_entries_sent += entries.size();
  stats.handoff_bytes_sent += b.envelope.size();
  handoff_sessions.batch_sent(target, entries.size(), bytes);
  outbox.add_envelope(addr, b.envelope);
  busy_targets[target] = id;
  batches.emplace(id, std::move(b));
}

void Replicator::State::resend_batches(TimePoint now) {
  for (auto it = batches.begin(); it != batches.end();) {
    Batch& b = it->second;
    if (b.resend_at > now) {
      ++it;
      continue;
    }
    const auto addr = given_view.addr_of(b.target);
    if (!addr || !given_view.is_live(b.target)) {
      // Resume from the acknowledged cursor once the target is back.
      auto next = std::next(it);
      take_batch(it);
      it = next;
      continue;
    }
    ++stats.messages_sent;
    ++stats.handoff_batches_resent;
    outbox.add_envelope(*addr, b.envelope);
    b.resend_at = now + config.handoff_retry;
    ++it;
  }
}

TimePoint Replicator::State::next_batch_deadline() const {
  TimePoint t = kNever;
  for (const auto& [id, b] : batches) t = std::min(t, b.resend_at);
  for (const auto& [pv, at] : pending_drops) t = std::min(t, at);
  return t;
}

void Replicator::State::on_handoff_batch(TimePoint now, WallTime wall, const Message& m,
                                         std::string_view from, std::string_view reply_to) {
  const PartitionId p{m.partition};
  StatusCode code = StatusCode::ok;
  for (const auto& e : m.entries) {
    if (partition_of(e.key) != p) {
      code = StatusCode::malformed;
      continue;
    }
    auto r = store.merge(e.key, e.version, e.expiry, wall);
    if (!r.ok()) {
      ++stats.merge_errors;
      code = r.status().code();
    }
  }
  stats.handoff_entries_received += m.entries.size();
  if (code != StatusCode::malformed) {
    std::size_t bytes = 0;
    for (const auto& e : m.entries) bytes += entry_bytes(e);
    handoff_sessions.batch_received(now, from, m.partition, m.entries.size(), bytes, m.final);
  }
  if (!m.entries.empty()) note_replica_write(p);

  auto relay_until = relays.find(m.partition);
  if (relay_until != relays.end() && relay_until->second > now && !m.entries.empty() &&
      code == StatusCode::ok && handoffs.count(m.partition) == 0 &&
      (leaving || !view.owns(self(), p)) && !view.owns(from, p)) {
    // Data of a partition this node lost while it was still receiving it (the stream began
    // when it owned it): pass it on to the owners, who wait for this node's final batch --
    // it sent no marker for the partition (found by the simulator: two joins in a row left
    // the second newcomer without data its co-owners thought the first one would stream).
    // Not when the sender owns it in this view: then the sender is leaving and this node is
    // about to own the partition (its view is behind).
    HandoffTask relay;
    relay.drop_after = true;
    for (const auto& o : view.owners(p)) {
      if (o != self()) relay.targets.emplace(o, HandoffTarget{});
    }
    if (!relay.targets.empty()) handoffs.emplace(m.partition, std::move(relay));
    handoff_tasks_changed = true;
  }
  if (code != StatusCode::malformed) note_handoff_batch(now, m.partition, from, m.final);
  send_addr(std::string(reply_to), wire::MessageType::handoff_ack,
            encode_handoff_ack(m.id, m.partition, code));
}

void Replicator::State::on_handoff_ack(TimePoint now, WallTime wall, const Message& m,
                                       std::string_view from) {
  (void)wall;
  auto it = batches.find(m.id);
  if (it == batches.end() || it->second.target != from || it->second.partition != m.partition) {
    ++stats.unmatched_dropped;
    return;
  }
  if (m.code != StatusCode::ok) {
    // The target could not take it (out of memory): resend the same batch after a pause.
    it->second.resend_at = now + config.handoff_retry;
    return;
  }
  const Batch b = take_batch(it);
  if (b.marker) return;
  handoff_tasks_changed = true;
  auto task = handoffs.find(b.partition);
  if (task == handoffs.end()) return;
  auto target = task->second.targets.find(b.target);
  if (target == task->second.targets.end()) return;
  target->second.cursor = b.next_cursor;
  target->second.done = b.final;
  if (b.final) handoff_sessions.partition_sent(b.target, b.partition);
  for (const auto& [name, progress] : task->second.targets) {
    if (!progress.done) return;
  }
  if (task->second.touched) {
    // A replica write may have landed behind a cursor: go over the partition again.
    ++stats.handoff_passes_repeated;
    task->second.touched = false;
    for (auto& [name, progress] : task->second.targets) progress = HandoffTarget{};
    return;
  }

  // A leaving node keeps its copy until it stops: peers whose view still names it as the
  // coordinator forward commands to it, which run here (routing's on_peer_command), and an
  // increment built on an emptied copy would carry this node's actor back below the sums it
  // had already acknowledged (data/counter.hpp: the larger seq wins), losing them.
  // Any other node keeps it for handoff_drop_delay, for the same reason: members whose view
  // is older than this node's forward to it until their view catches up.
  if (task->second.drop_after && !leaving) {
    pending_drops[b.partition] = now + config.handoff_drop_delay;
  }
  handoffs.erase(task);
}

void Replicator::State::drop_handed_off(TimePoint now) {
  for (auto it = pending_drops.begin(); it != pending_drops.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    // Not when the node is leaving (above), owns the partition again, or streams it anew
    // (that stream's end schedules the drop again).
    const PartitionId p{it->first};
    if (!leaving && handoffs.count(it->first) == 0 && !view.owns(self(), p)) {
      store.drop_partition(p);
      ++stats.partitions_dropped;
    }
    it = pending_drops.erase(it);
  }
}

}  // namespace apiary::replication
