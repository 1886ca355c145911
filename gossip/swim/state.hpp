// Swim::State: everything one membership instance holds, and the steps that change it.
// Internal to gossip/swim; the implementation is split by concern:
//
//   swim.cpp             public API, message dispatch, timer dispatch, next_deadline
//   member_updates.cpp   applying alive / suspect / dead / left, refutation, suspicion
//                        timers, reclaiming dead members, events
//   probe.cpp            probe scheduling, ping / ping-req / ack / nack, indirect relays
//   dissemination.cpp    sending with piggybacked updates, periodic gossip
//   push_pull.cpp        anti-entropy, join with retry, graceful leave, metadata updates
//   stall.cpp            Lifeguard: noticing that this node was stalled, and what follows
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "apiary/base/rng.hpp"
#include "apiary/base/time.hpp"
#include "apiary/gossip/swim.hpp"
#include "apiary/wire/envelope.hpp"
#include "awareness.hpp"
#include "broadcast_queue.hpp"
#include "codec.hpp"
#include "member_table.hpp"
#include "suspicion.hpp"

namespace apiary::gossip {

struct Swim::State {
  State(SwimConfig config, LocalNode self, Rng rng, TimePoint now);

  // ---- swim.cpp ----------------------------------------------------------------------------
  void handle_message(TimePoint now, std::span<const std::uint8_t> bytes);
  void handle_timeout(TimePoint now);
  TimePoint next_deadline() const;
  detail::MemberRecord& me() { return members.at(self_slot); }
  const detail::MemberRecord& me() const { return members.at(self_slot); }

  // ---- member_updates.cpp ------------------------------------------------------------------
  void apply_update(TimePoint now, const detail::UpdateView& update);
  // `regossip` false: accepted alive updates are not queued for dissemination (the member
  // list a joiner receives from its seed is not news to the cluster).
  void merge_remote_state(TimePoint now, std::span<const detail::UpdateView> entries,
                          std::string_view sender, bool regossip);
  void on_alive(TimePoint now, const detail::UpdateView& update, bool regossip = true);
  // `from` is the accuser; `can_confirm` false for hearsay that must not count as an
  // independent confirmation of a running suspicion.
  void on_suspect(TimePoint now, std::string_view name, Incarnation inc, std::string_view from,
                  bool can_confirm = true);
  // `kind` is dead or left.
  void on_dead(TimePoint now, std::string_view name, Incarnation inc, std::string_view from,
               MemberState kind);
  void refute(Incarnation accused);
  void add_member(TimePoint now, const detail::UpdateView& update, bool regossip);
  void set_state(detail::MemberRecord& record, MemberState state, TimePoint now);
  void start_suspicion(TimePoint now, const detail::MemberRecord& record, std::string_view from);
  void cancel_suspicion(std::string_view name);
  void suspicion_tick(TimePoint now);
  void reclaim_tick(TimePoint now);
  void emit(MemberEventKind kind, const detail::MemberRecord& record);
  void queue_alive(const detail::MemberRecord& record);  // pinned when it is about us
  void queue_accusation(MemberState kind, std::string_view name, Incarnation inc,
                        std::string_view from);

  // ---- probe.cpp ---------------------------------------------------------------------------
  void probe_tick(TimePoint now);
  void probe_timeout_tick(TimePoint now);
  void finish_probe(TimePoint now);
  detail::Slot next_probe_target();
  void rebuild_probe_order();
  void add_to_probe_order(detail::Slot slot);
  void on_ping(TimePoint now, const wire::EnvelopeHeader& from, const detail::Message& msg);
  void on_ping_req(TimePoint now, const wire::EnvelopeHeader& from, const detail::Message& msg);
  void on_ack(const detail::Message& msg);
  void on_nack(const detail::Message& msg);
  void relay_tick(TimePoint now);
  Duration scaled(Duration d) const { return config.lifeguard ? awareness.scale(d) : d; }
  // Lifeguard local health; a no-op with lifeguard off.
  void adjust_health(std::int64_t delta) {
    if (!config.lifeguard) return;
    awareness.apply(delta);
    stats.local_health = awareness.score();
  }

  // Up to k distinct random members other than this node that satisfy `pred`.
  template <typename Pred>
  std::vector<detail::Slot> random_members(std::size_t k, Pred pred);

  // ---- dissemination.cpp -------------------------------------------------------------------
  void send(std::string_view to, wire::MessageType type, std::span<const std::uint8_t> payload);
  // Completes `payload` (begun with a detail::begin_* call) with the `forced` updates
  // (already encoded, `forced_count` of them) and as many queued updates as fit in the packet
  // budget. Returns the number of updates it carries.
  std::size_t add_updates(std::vector<std::uint8_t>& payload,
                          std::span<const std::uint8_t> forced = {}, std::size_t forced_count = 0);
  void send_with_updates(std::string_view to, wire::MessageType type,
                         std::vector<std::uint8_t>& payload);
  void gossip_tick(TimePoint now);
  std::uint32_t retransmit_limit() const;

  // ---- push_pull.cpp -----------------------------------------------------------------------
  void join(TimePoint now, std::vector<std::string> seeds, bool seeds_pending);
  void set_seeds(TimePoint now, std::vector<std::string> seeds);
  void meet(TimePoint now, std::string addr);
  // Met addresses that are not live members yet are contacted again with the join backoff
  // (a lost first exchange, or a target still starting), until they are.
  void meet_retry_tick(TimePoint now);
  // Those of `addrs` that no alive or suspect member has as its address. O(members).
  std::vector<std::string> not_live(std::vector<std::string> addrs) const;
  void contact_seeds();
  void join_retry_tick(TimePoint now);
  void push_pull_tick(TimePoint now);
  void recontact_seed();
  void send_push_pull(std::string_view to, wire::MessageType type, bool join);
  void on_push_pull(TimePoint now, const wire::EnvelopeHeader& from, const detail::Message& msg);
  void contact_unknown_accuser(TimePoint now, const wire::EnvelopeHeader& from);
  void answer_stale_accusation(TimePoint now, const wire::EnvelopeHeader& from);
  void leave(TimePoint now);
  bool leave_done() const;
  void update_meta(MemberMeta meta);

  // ---- stall.cpp ---------------------------------------------------------------------------
  // Called first by every input: an input long after next_deadline() means we were stalled.
  void notice_stall(TimePoint now);
  // While the driver hands over what was queued during a stall, "dead" accusations about
  // others wait (true: `update` was kept) until apply_deferred_deaths() at the end of it.
  bool defer_death(TimePoint now, const detail::UpdateView& update);
  void apply_deferred_deaths(TimePoint now);
  struct DeferredDeath {
    std::string name;
    Incarnation incarnation;
    std::string from;
  };
  std::vector<DeferredDeath> deferred_deaths;
  TimePoint stall_recovery_end{};
  TimePoint last_input{};  // time of the latest input (join, message, timeout)

  // ---- configuration and identity ----------------------------------------------------------
  SwimConfig config;
  LocalNode self;
  Rng rng;
  SwimStats stats;
  wire::EnvelopeLimits envelope_limits;
  std::size_t envelope_bytes = 0;  // upper bound of the envelope around our payloads

  // ---- membership --------------------------------------------------------------------------
  detail::MemberTable members;
  detail::Slot self_slot = detail::kNoSlot;
  std::size_t alive_members = 0;  // alive + suspect, this node included until it leaves
  detail::Awareness awareness;
  detail::BroadcastQueue broadcasts;
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // Looked up only, never iterated (deadlines are ordered in suspicion_deadlines).
  std::unordered_map<std::string, detail::Suspicion, NameHash, std::equal_to<>> suspicions;
  std::set<std::pair<TimePoint, std::string>> suspicion_deadlines;
  std::deque<std::pair<TimePoint, std::string>> reclaim_queue;  // due time, member name
  bool left = false;

  // ---- probing -----------------------------------------------------------------------------
  struct Probe {
    bool active = false;
    bool acked = false;
    bool indirect_sent = false;
    std::string target;
    std::string target_addr;
    Incarnation incarnation;
    std::uint32_t seq = 0;
    TimePoint timeout_at{};
    std::size_t expected_nacks = 0;
    std::size_t nacks = 0;
  };
  struct Relay {
    std::string origin_addr;
    std::uint32_t origin_seq = 0;
    bool want_nack = false;
  };
  std::vector<detail::Slot> probe_order;
  std::size_t probe_cursor = 0;
  Probe probe;
  std::map<std::uint32_t, Relay> relays;                            // by our ping's seq
  std::deque<std::pair<TimePoint, std::uint32_t>> relay_deadlines;  // FIFO: constant timeout
  std::uint32_t next_seq = 1;
  TimePoint next_probe{};

  // ---- dissemination and anti-entropy ------------------------------------------------------
  TimePoint next_gossip{};
  TimePoint next_push_pull{};
  int early_push_pulls = 0;       // left in the quick series that follows a join
  TimePoint next_contact{};       // rate limit for contact_unknown_accuser
  bool stale_accusation = false;  // the message being handled accuses an older incarnation of us
  TimePoint next_stale_answer{};  // rate limit for answer_stale_accusation
  std::vector<std::uint8_t> scratch;

  // ---- joining -----------------------------------------------------------------------------
  enum class JoinState : std::uint8_t { idle, joining, joined };
  JoinState join_state = JoinState::idle;
  std::vector<std::string> seeds;
  std::vector<std::string> met;  // addresses given to meet(): seeds that set_seeds keeps
  Duration meet_backoff{};
  TimePoint next_meet_retry = kNever;
  Duration join_backoff{};
  TimePoint next_join_retry = kNever;
  bool announced = false;  // the `joined` event about this node was emitted

  // ---- output ------------------------------------------------------------------------------
  std::deque<Outgoing> outbox;
  std::deque<MemberEvent> events;
  std::size_t events_since_shrink = 0;
};

template <typename Pred>
std::vector<detail::Slot> Swim::State::random_members(std::size_t k, Pred pred) {
  std::vector<detail::Slot> out;
  if (k == 0) return out;
  const detail::Slot end = members.slot_end();
  auto eligible = [&](detail::Slot s) {
    const auto& r = members.at(s);
    return s != self_slot && r.in_use() && pred(r);
  };
  auto chosen = [&](detail::Slot s) {
    for (detail::Slot c : out) {
      if (c == s) return true;
    }
    return false;
  };
  // Rejection sampling is O(k) when eligible members are common (the usual case). When it
  // comes up short (tiny tables, or mostly dead ones), fall back to one linear pass.
  if (end > 64) {
    for (std::size_t attempt = 0; attempt < 4 * k + 32 && out.size() < k; ++attempt) {
      const auto s = static_cast<detail::Slot>(rng.uniform(end));
      if (eligible(s) && !chosen(s)) out.push_back(s);
    }
    if (out.size() == k) return out;
  }
  std::vector<detail::Slot> candidates;
  for (detail::Slot s = 0; s < end; ++s) {
    if (eligible(s) && !chosen(s)) candidates.push_back(s);
  }
  for (std::size_t i : rng.sample(candidates.size(), k - out.size())) {
    out.push_back(candidates[i]);
  }
  return out;
}

}  // namespace apiary::gossip
