// Promotion: when this node becomes the coordinator of a partition that another owner
// coordinated (that owner died or left, or the views disagreed), its copy may miss writes the
// old coordinator had acknowledged: with W=2 of N=3 such a write is on the old coordinator and
// on *one* of the other owners, not necessarily this one. Until it has caught up, the new
// coordinator must not answer from its own copy alone -- a SET NX would find the key missing
// and win a second time, an INCR would build on an old value.
//
// So a promoted partition (1) answers no read and runs no write from the local copy alone:
// read_is_local() is false and read() asks every other live owner that was a member before
// (all must answer; a member that just appeared holds nothing the old coordinator
// acknowledged), and
// (2) catches up at once with every other live owner by anti-entropy digest exchanges, repeated
// until one comes back complete (every entry of the differing buckets fit in the reply). Once
// every peer is caught up, this node's copy holds everything they held, which includes every
// write the old coordinator had acknowledged, and the partition is local again.
//
// A node's first view does the same for every partition it owns at any rank
// (ReplicationConfig::catch_up_on_start): a restarted node, empty or loaded from its data
// directory, has missed the writes acknowledged while it was down, and with R=1 it would
// answer reads from its own copy alone.
#include "replicator_state.hpp"

namespace apiary::replication {


void Replicator::State::plan_promotions(TimePoint now, WallTime wall, const ClusterView& before,
                                        bool had_view) {
  const bool first_catch_up = !had_view && config.catch_up_on_start;
  for (std::uint32_t pv = 0; pv < view.partition_count(); ++pv) {
    const PartitionId p{pv};
    const std::string* coordinator = leaving ? nullptr : view.first_live_owner(p);
    const bool coordinates = coordinator != nullptr && *coordinator == self();
    auto it = promotions.find(pv);
    // A start catch-up holds for any rank; a promotion only for the coordinator.
    const bool owner = !leaving && view.owns(self(), p);
    const bool keep = coordinates || (owner && (first_catch_up || start_catch_ups.count(pv) != 0));
    if (!keep) {
      if (it != promotions.end()) promotions.erase(it);
      start_catch_ups.erase(pv);
      continue;
    }
    // The other live owners that were members before this view: a member that has just
    // appeared holds nothing the old coordinator acknowledged (and may not serve yet).
    std::set<std::string> peers;
    for (auto i : view.table().owner_indices(p)) {
      const std::string& name = view.table().members()[i];
      if (name != self() && view.is_live(name) && (!had_view || before.find(name) != nullptr)) {
        peers.insert(name);
      }
    }
    if (it != promotions.end()) {
      // Still catching up: only peers that are still live owners matter.
      std::set<std::string> left;
      for (const auto& peer : it->second) {
        if (peers.count(peer) != 0) left.insert(peer);
      }
      if (left.empty()) {
        ++stats.promotions_completed;
        promotions.erase(it);
        start_catch_ups.erase(pv);
      } else {
        it->second = std::move(left);
      }
      continue;
    }
    if (first_catch_up) {
      // A node starting (or restarting: empty, or loaded from disk) has missed whatever the
      // other owners acknowledged while it was away: it catches up before answering alone.
      if (!peers.empty()) {
        ++stats.start_catch_ups;
        start_catch_ups.insert(pv);
        promotions.emplace(pv, std::move(peers));
      }
      continue;
    }
    // A first view has nothing to take over (transitions cover what appeared members hold).
    if (!had_view || peers.empty() || !coordinates) continue;
    const std::string* before_coordinator = before.first_live_owner(p);
    if (before_coordinator == nullptr || *before_coordinator == self()) continue;
    ++stats.promotions_started;
    promotions.emplace(pv, std::move(peers));
  }
  send_promotion_syncs(now, wall);
}

void Replicator::State::send_promotion_syncs(TimePoint now, WallTime wall) {
  for (const auto& [pv, peers] : promotions) {
    for (const auto& peer : peers) {
      if (promotion_syncs.size() >= config.promotion_syncs_in_flight) return;
      if (promotion_syncs.count({pv, peer}) != 0) continue;
      Op op;
      op.kind = OpKind::ae_digest;
      op.promotion = true;
      op.deadline = now + config.transfer_timeout;
      op.peer = peer;
      op.partition = pv;
      const std::uint64_t id = new_id();
      if (!send_to(peer, wire::MessageType::digest_request,
                   encode_digest_request(id, pv, store.digest(PartitionId{pv}, wall),
                                         store.flush_horizon()))) {
        continue;
      }
      ++stats.promotion_syncs;
      promotion_syncs.insert({pv, peer});
      timers.emplace(op.deadline, id);
      ops.emplace(id, std::move(op));
    }
  }
}

void Replicator::State::on_promotion_sync(TimePoint now, WallTime wall, std::uint32_t pv,
                                          const std::string& peer, bool complete) {
  promotion_syncs.erase({pv, peer});
  auto it = promotions.find(pv);
  if (complete && it != promotions.end()) {
    it->second.erase(peer);
    if (it->second.empty()) {
      ++stats.promotions_completed;
      promotions.erase(it);
      start_catch_ups.erase(pv);
    }
  }
  send_promotion_syncs(now, wall);
}

std::size_t Replicator::partitions_promoting() const { return state_->promotions.size(); }

}  // namespace apiary::replication
