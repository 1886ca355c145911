// Applying membership updates (memberlist state.go: aliveNode, suspectNode, deadNode),
// refutation, suspicion timers, reclaiming dead members, and the events they produce.
//
// Rules, for a member M with incarnation i in our table:
// - alive(j): accepted when j > i (or M is new); clears suspicion. dead/left -> joined,
//   suspect -> alive, and (also after those) a changed address or metadata -> updated.
// - suspect(j): ignored when j < i; confirms a running suspicion; otherwise alive -> suspect
//   and a suspicion timer starts. About ourselves (j >= our incarnation): refute.
// - dead(j) / left(j): ignored when j < i or M is already dead / left. About ourselves: refute
//   unless we are leaving.
// Every accepted change is queued for dissemination.
#include <algorithm>

#include "meta_pool.hpp"
#include "scaling.hpp"
#include "state.hpp"

namespace apiary::gossip {

using detail::MemberRecord;
using detail::Slot;
using detail::UpdateView;

void Swim::State::apply_update(TimePoint now, const UpdateView& update) {
  switch (update.kind) {
    case MemberState::alive:
      on_alive(now, update);
      break;
    case MemberState::suspect:
      on_suspect(now, update.name, update.incarnation, update.addr_or_from);
      break;
    case MemberState::dead:
      // Just after a stall our queue is stale: a "dead" read from it may be followed, a few
      // messages later, by the member's refutation. Lifeguard applies it once the queue has
      // been read (see stall.cpp).
      if (defer_death(now, update)) break;
      on_dead(now, update.name, update.incarnation, update.addr_or_from, MemberState::dead);
      break;
    case MemberState::left:
      on_dead(now, update.name, update.incarnation, update.name, MemberState::left);
      break;
  }
}

// A remote member list. As in memberlist, a member the peer holds dead only makes us suspect
// it: our own probes get a chance to disagree before we declare it. A list entry does not say
// who accused the member (the peer may only be echoing our own suspicion), so it never counts
// as a confirmation of a suspicion already running; a new one is attributed to the peer.
void Swim::State::merge_remote_state(TimePoint now, std::span<const UpdateView> entries,
                                     std::string_view sender, bool regossip) {
  for (const UpdateView& e : entries) {
    switch (e.kind) {
      case MemberState::alive:
        on_alive(now, e, regossip);
        break;
      case MemberState::left:
        on_dead(now, e.name, e.incarnation, e.name, MemberState::left);
        break;
      case MemberState::suspect:
      case MemberState::dead:
        on_suspect(now, e.name, e.incarnation, sender, /*can_confirm=*/false);
        break;
    }
  }
}

void Swim::State::on_alive(TimePoint now, const UpdateView& u, bool regossip) {
  if (u.name == self.name) {
    // Someone holds a view of us that is newer than ours, or differs at our incarnation
    // (a restart): announce ourselves above it.
    const MemberRecord& r = me();
    if (left || u.incarnation < r.inc()) return;
    if (u.incarnation == r.inc() && u.addr_or_from == r.addr() &&
        detail::same_meta(r.meta.get(), u.meta)) {
      return;
    }
    refute(u.incarnation);
    return;
  }
  const Slot slot = members.find(u.name);
  if (slot == detail::kNoSlot) {
    add_member(now, u, regossip);
    return;
  }
  MemberRecord& r = members.at(slot);
  if (u.incarnation <= r.inc()) return;
  const MemberState old = r.member_state();
  const bool meta_changed = !detail::same_meta(r.meta.get(), u.meta);
  const bool addr_changed = r.addr() != u.addr_or_from;
  if (old == MemberState::suspect) cancel_suspicion(r.name());
  if (addr_changed) r.set_addr(u.addr_or_from);
  if (meta_changed) r.meta = detail::intern_meta(detail::to_meta(u.meta));
  r.set_inc(u.incarnation);
  if (old != MemberState::alive) set_state(r, MemberState::alive, now);
  if (regossip) queue_alive(r);
  if (old == MemberState::dead || old == MemberState::left) {
    emit(MemberEventKind::joined, r);
  } else if (old == MemberState::suspect) {
    emit(MemberEventKind::alive, r);
  }
  if (meta_changed || addr_changed) emit(MemberEventKind::updated, r);
}

void Swim::State::add_member(TimePoint now, const UpdateView& u, bool regossip) {
  MemberRecord record;
  record.set_name(u.name);
  record.set_addr(u.addr_or_from);
  record.meta = detail::intern_meta(detail::to_meta(u.meta));
  record.set_inc(u.incarnation);
  record.set_state(MemberState::alive);
  record.changed = now;
  const Slot slot = members.insert(std::move(record));
  if (slot == detail::kNoSlot) return;  // 16 million members: ignore the rest
  ++alive_members;
  add_to_probe_order(slot);
  const MemberRecord& r = members.at(slot);
  if (regossip) queue_alive(r);
  emit(MemberEventKind::joined, r);
}

void Swim::State::on_suspect(TimePoint now, std::string_view name, Incarnation inc,
                             std::string_view from, bool can_confirm) {
  const Slot slot = members.find(name);
  if (slot == detail::kNoSlot) return;
  MemberRecord& r = members.at(slot);
  if (inc < r.inc()) {
    if (slot == self_slot) stale_accusation = true;
    return;
  }
  if (r.member_state() == MemberState::suspect) {
    // Another accuser: an independent confirmation shortens the timeout (Lifeguard), and
    // re-gossiping it lets the others count it too.
    auto it = suspicions.find(name);
    if (!can_confirm || it == suspicions.end()) return;
    const TimePoint before = it->second.deadline();
    if (!it->second.confirm(from)) return;
    suspicion_deadlines.erase({before, it->first});
    suspicion_deadlines.emplace(it->second.deadline(), it->first);
    queue_accusation(MemberState::suspect, name, inc, from);
    return;
  }
  if (r.member_state() != MemberState::alive) return;
  if (slot == self_slot) {
    if (!left) refute(inc);
    return;
  }
  r.set_inc(inc);
  set_state(r, MemberState::suspect, now);
  start_suspicion(now, r, from);
  ++stats.suspicions;
  queue_accusation(MemberState::suspect, name, inc, from);
  emit(MemberEventKind::suspect, r);
}

void Swim::State::on_dead(TimePoint now, std::string_view name, Incarnation inc,
                          std::string_view from, MemberState kind) {
  const Slot slot = members.find(name);
  if (slot == detail::kNoSlot) return;
  MemberRecord& r = members.at(slot);
  if (inc < r.inc()) {
    if (slot == self_slot) stale_accusation = true;
    return;
  }
  if (slot == self_slot) {
    if (!left) refute(inc);
    return;
  }
  const MemberState old = r.member_state();
  if (old == MemberState::dead || old == MemberState::left) return;
  if (old == MemberState::suspect) cancel_suspicion(name);
  r.set_inc(inc);
  set_state(r, kind, now);
  reclaim_queue.emplace_back(now + config.dead_reclaim_time, r.name());
  queue_accusation(kind, r.name(), inc, kind == MemberState::left ? r.name() : from);
  emit(kind == MemberState::left ? MemberEventKind::left : MemberEventKind::dead, r);
}

void Swim::State::refute(Incarnation accused) {
  MemberRecord& r = me();
  const std::uint64_t next = std::max(r.inc().value, accused.value) + 1;
  r.set_inc(Incarnation{std::min(next, detail::kMaxIncarnation)});
  ++stats.refutations;
  adjust_health(1);
  queue_alive(r);
}

void Swim::State::set_state(MemberRecord& record, MemberState state, TimePoint now) {
  const bool was_counted = record.alive_or_suspect();
  record.set_state(state);
  record.changed = now;
  const bool counted = record.alive_or_suspect();
  if (counted && !was_counted) ++alive_members;
  if (!counted && was_counted) --alive_members;
}

void Swim::State::start_suspicion(TimePoint now, const MemberRecord& record,
                                  std::string_view from) {
  // Lifeguard: expect k = suspicion_mult - 2 independent confirmations, hitting the minimum
  // timeout two probe intervals before the nominal one; with too few members to confirm
  // (the accuser and the suspect do not count) expect none and use the minimum at once.
  const std::size_t n = alive_members;
  std::uint32_t k = 0;
  if (config.lifeguard && config.suspicion_mult > 2) {
    k = static_cast<std::uint32_t>(config.suspicion_mult - 2);
    if (n < k + 2) k = 0;
  }
  const Duration min =
      detail::suspicion_min_timeout(config.suspicion_mult, n, config.probe_interval);
  const Duration max =
      config.lifeguard ? min * static_cast<std::int64_t>(config.suspicion_max_timeout_mult) : min;
  auto [it, inserted] = suspicions.insert_or_assign(std::string(record.name()),
                                                    detail::Suspicion(now, from, k, min, max));
  (void)inserted;
  suspicion_deadlines.emplace(it->second.deadline(), it->first);
}

void Swim::State::cancel_suspicion(std::string_view name) {
  auto it = suspicions.find(name);
  if (it == suspicions.end()) return;
  suspicion_deadlines.erase({it->second.deadline(), it->first});
  suspicions.erase(it);
}

void Swim::State::suspicion_tick(TimePoint now) {
  while (!suspicion_deadlines.empty() && suspicion_deadlines.begin()->first <= now) {
    const std::string name = suspicion_deadlines.begin()->second;
    cancel_suspicion(name);
    const Slot slot = members.find(name);
    if (slot == detail::kNoSlot) continue;
    const MemberRecord& r = members.at(slot);
    if (r.member_state() == MemberState::suspect) {
      on_dead(now, name, r.inc(), self.name, MemberState::dead);
    }
  }
}

void Swim::State::reclaim_tick(TimePoint now) {
  while (!reclaim_queue.empty() && reclaim_queue.front().first <= now) {
    const std::string name = std::move(reclaim_queue.front().second);
    reclaim_queue.pop_front();
    const Slot slot = members.find(name);
    if (slot == detail::kNoSlot) continue;
    const MemberRecord& r = members.at(slot);
    const bool gone =
        r.member_state() == MemberState::dead || r.member_state() == MemberState::left;
    // A member that came back (or died again later) has a newer change time.
    if (gone && r.changed + config.dead_reclaim_time <= now) members.erase(slot);
  }
}

void Swim::State::emit(MemberEventKind kind, const MemberRecord& record) {
  events.push_back(MemberEvent{kind, record.to_member()});
  ++events_since_shrink;
}

void Swim::State::queue_alive(const MemberRecord& record) {
  broadcasts.push(
      record.name(),
      detail::encode_alive(record.name(), record.inc(), record.addr(), record.meta.get()),
      &record == &me());
}

void Swim::State::queue_accusation(MemberState kind, std::string_view name, Incarnation inc,
                                   std::string_view from) {
  broadcasts.push(name, detail::encode_accusation(kind, name, inc, from), name == self.name);
}

}  // namespace apiary::gossip
