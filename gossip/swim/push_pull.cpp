// Anti-entropy and the node's own lifecycle: periodic push-pull (full member-list exchange
// with one random live member), join through seeds with exponential backoff, graceful leave,
// and publishing new metadata.
#include <algorithm>

#include "meta_pool.hpp"
#include "scaling.hpp"
#include "state.hpp"

namespace apiary::gossip {

using detail::MemberRecord;
using detail::Slot;

namespace {

// Without empty entries, our own address and repeats, in the given order.
std::vector<std::string> cleaned_seeds(std::vector<std::string> given, std::string_view self) {
  std::vector<std::string> out;
  for (auto& s : given) {
    if (!s.empty() && s != self && std::find(out.begin(), out.end(), s) == out.end()) {
      out.push_back(std::move(s));
    }
  }
  return out;
}

}  // namespace

void Swim::State::join(TimePoint now, std::vector<std::string> seed_addrs, bool seeds_pending) {
  if (left) return;
  last_input = std::max(last_input, now);
  if (!announced) {
    announced = true;
    emit(MemberEventKind::joined, me());
  }
  queue_alive(me());
  // Our own address in the seed list (a common static configuration) is not a seed for us.
  seeds = cleaned_seeds(std::move(seed_addrs), self.addr);
  if (seeds.empty() && !seeds_pending) {
    join_state = JoinState::joined;  // the first member of a new cluster
    return;
  }
  join_state = JoinState::joining;
  join_backoff = config.join_retry_initial;
  next_join_retry = now + join_backoff;
  contact_seeds();
}

void Swim::State::set_seeds(TimePoint now, std::vector<std::string> seed_addrs) {
  if (left) return;
  last_input = std::max(last_input, now);
  std::vector<std::string> next = cleaned_seeds(std::move(seed_addrs), self.addr);
  std::vector<std::string> fresh;
  for (const auto& s : next) {
    if (std::find(seeds.begin(), seeds.end(), s) == seeds.end()) fresh.push_back(s);
  }
  const bool first_seeds = seeds.empty() && !next.empty();
  seeds = std::move(next);
  if (join_state == JoinState::idle) return;  // join() contacts them
  const bool joining = join_state == JoinState::joining;
  if (joining && first_seeds) {
    // Waiting for a name to resolve doubled the backoff over nothing: start it again.
    join_backoff = config.join_retry_initial;
    next_join_retry = now + join_backoff;
  }
  // Each node re-resolves on its own timer, so when a name starts listing another cluster
  // its members contact it one by one, not all at once; and a new member that joined
  // through the name itself is usually live here before we re-resolve.
  for (const auto& s : not_live(std::move(fresh))) {
    send_push_pull(s, wire::MessageType::push_pull, joining);
  }
}

void Swim::State::meet(TimePoint now, std::string addr) {
  if (left || addr.empty() || addr == self.addr) return;
  last_input = std::max(last_input, now);
  if (std::find(met.begin(), met.end(), addr) == met.end()) met.push_back(addr);
  send_push_pull(addr, wire::MessageType::push_pull, join_state == JoinState::joining);
  meet_backoff = config.join_retry_initial;
  next_meet_retry = now + meet_backoff;
}

void Swim::State::meet_retry_tick(TimePoint now) {
  if (now < next_meet_retry) return;
  const auto pending = not_live(met);
  if (left || pending.empty()) {
    next_meet_retry = kNever;  // from now on the per-round re-contact covers them
    return;
  }
  for (const auto& addr : pending) {
    send_push_pull(addr, wire::MessageType::push_pull, join_state == JoinState::joining);
  }
  meet_backoff = std::min(meet_backoff * 2, config.join_retry_max);
  next_meet_retry = now + meet_backoff;
}

std::vector<std::string> Swim::State::not_live(std::vector<std::string> addrs) const {
  if (addrs.empty()) return addrs;
  std::vector<bool> live(addrs.size(), false);
  for (Slot s = 0; s < members.slot_end(); ++s) {
    const MemberRecord& r = members.at(s);
    if (!r.in_use() || !r.alive_or_suspect()) continue;
    for (std::size_t i = 0; i < addrs.size(); ++i) {
      if (!live[i] && r.addr() == addrs[i]) live[i] = true;
    }
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < addrs.size(); ++i) {
    if (!live[i]) out.push_back(std::move(addrs[i]));
  }
  return out;
}

void Swim::State::contact_seeds() {
  for (const auto& seed : seeds) send_push_pull(seed, wire::MessageType::push_pull, true);
  for (const auto& addr : met) {
    if (std::find(seeds.begin(), seeds.end(), addr) == seeds.end()) {
      send_push_pull(addr, wire::MessageType::push_pull, true);
    }
  }
}

void Swim::State::join_retry_tick(TimePoint now) {
  if (join_state != JoinState::joining || now < next_join_retry) return;
  if (alive_members > 1) {  // someone found us meanwhile: we are part of a cluster
    join_state = JoinState::joined;
    return;
  }
  join_backoff = std::min(join_backoff * 2, config.join_retry_max);
  next_join_retry = now + join_backoff;
  contact_seeds();
}

void Swim::State::push_pull_tick(TimePoint now) {
  const Duration interval = detail::push_pull_scale(config.push_pull_interval, alive_members);
  next_push_pull = now + interval;
  if (early_push_pulls > 0) {
    if (--early_push_pulls > 0) {
      next_push_pull = std::min(next_push_pull, now + 8 * config.probe_interval);
    } else {
      // The quick series is timed from the join, so members that joined together would
      // exchange in lockstep ever after: the whole cluster at the same instant (a burst of N
      // full member lists, and one chance per interval for a node to repair a stale view). A
      // random phase spreads them out again.
      next_push_pull = now + interval / 2 + Duration(rng.uniform(interval.count()));
    }
  }
  if (left) return;
  const auto peer = random_members(
      1, [](const MemberRecord& r) { return r.member_state() == MemberState::alive; });
  if (!peer.empty())
    send_push_pull(members.at(peer.front()).addr(), wire::MessageType::push_pull, false);
  recontact_seed();
}

// If the seeds went down and came back as a cluster of their own (after everyone here had
// forgotten them), or a seed (a met address) belongs to a cluster that formed apart, neither
// side would ever hear of the other. So every push-pull round, one random seed that is not a
// live member gets a push-pull too. O(members) per round.
void Swim::State::recontact_seed() {
  if ((seeds.empty() && met.empty()) || join_state != JoinState::joined) return;
  std::vector<std::string> candidates = seeds;
  for (const auto& addr : met) {
    if (std::find(candidates.begin(), candidates.end(), addr) == candidates.end()) {
      candidates.push_back(addr);
    }
  }
  candidates = not_live(std::move(candidates));
  if (candidates.empty()) return;
  send_push_pull(candidates[rng.uniform(candidates.size())], wire::MessageType::push_pull, false);
}

void Swim::State::send_push_pull(std::string_view to, wire::MessageType type, bool join_request) {
  // This node first, then the others while both max_members_per_message and the message size
  // limit allow. Usually everything fits: the entries are packed straight after a header that
  // counts them all. Otherwise they are packed again into a buffer of their own, since the
  // count (which precedes them) is known only at the end.
  const std::size_t size_limit = config.max_message_bytes > envelope_bytes + 16
                                     ? config.max_message_bytes - envelope_bytes - 16
                                     : 0;
  // Packs entries after buffer[base]; returns how many fit.
  auto pack_entries = [&](std::vector<std::uint8_t>& buffer, std::size_t base) {
    wire::VectorSink sink(buffer);
    wire::Packer packer(sink);
    std::size_t count = 0;
    auto pack = [&](const MemberRecord& r) {
      const std::size_t before = buffer.size();
      detail::pack_member_entry(packer, r.member_state(), r.name(), r.inc(), r.addr(),
                                r.meta.get());
      if (buffer.size() - base > size_limit) {
        buffer.resize(before);
        return false;
      }
      ++count;
      return count < config.max_members_per_message;
    };
    bool more = pack(me());
    for (Slot s = 0; s < members.slot_end() && more; ++s) {
      const MemberRecord& r = members.at(s);
      if (s != self_slot && r.in_use()) more = pack(r);
    }
    return count;
  };
  auto begin = [&](std::vector<std::uint8_t>& buffer, std::size_t count) {
    wire::VectorSink sink(buffer);
    wire::Packer p(sink);
    detail::begin_push_pull(p, join_request, count);
  };

  const std::size_t all = std::min(members.size(), config.max_members_per_message);
  std::vector<std::uint8_t> payload;
  payload.reserve(all * 32 + 16);
  begin(payload, all);
  if (pack_entries(payload, payload.size()) == all) {
    send(to, type, payload);
    return;
  }
  std::vector<std::uint8_t> entries;
  entries.reserve(payload.size());
  const std::size_t count = pack_entries(entries, 0);
  payload.clear();
  begin(payload, count);
  payload.insert(payload.end(), entries.begin(), entries.end());
  send(to, type, payload);
}

void Swim::State::on_push_pull(TimePoint now, const wire::EnvelopeHeader& from,
                               const detail::Message& msg) {
  ++stats.push_pulls;
  // The list a seed sends a joiner is what the cluster already knows: re-gossiping it from
  // the joiner would only multiply a join's traffic (by the cluster size, for every joiner).
  const bool join_reply =
      msg.type == wire::MessageType::push_pull_reply && join_state == JoinState::joining;
  merge_remote_state(now, msg.updates, from.sender_name, !join_reply);
  if (msg.type == wire::MessageType::push_pull) {
    send_push_pull(from.sender_addr, wire::MessageType::push_pull_reply, false);
  } else if (join_state == JoinState::joining) {
    join_state = JoinState::joined;
    // Members that joined at about the same time are in neither the seed's list nor (since
    // we do not re-gossip that list) anybody's queue on our account, and in a join storm the
    // epidemic leaves a few gaps. Two early exchanges with random members, after 2 and 10
    // probe intervals, pick them up long before the periodic one would.
    early_push_pulls = 2;
    next_push_pull = std::min(next_push_pull, now + 2 * config.probe_interval);
  }
}

// We just refuted an accusation carried by a message from a member we do not hold alive, so
// it has a view of us we do not share and may know members we do not (for example it remembers
// our previous life, and our own seed list led elsewhere). A full exchange with it heals
// that split; the rate limit bounds the cost.
void Swim::State::contact_unknown_accuser(TimePoint now, const wire::EnvelopeHeader& from) {
  if (left || now < next_contact) return;
  const Slot slot = members.find(from.sender_name);
  if (slot != detail::kNoSlot && members.at(slot).alive_or_suspect()) return;
  next_contact = now + config.probe_interval;
  send_push_pull(from.sender_addr, wire::MessageType::push_pull, false);
}

// The sender passed on a suspect or dead mark about an incarnation of ours that we have
// already refuted: it missed the refutation (gossip reaches each member with high
// probability, not certainty), and nobody else will tell it, since for everyone who has it
// the old accusation is not news. Without this it would hold us dead, and keep telling us
// so, until a push-pull happens to pair it with a member that knows better. Our current
// alive goes straight back to it; rate-limited, and no incarnation is bumped.
void Swim::State::answer_stale_accusation(TimePoint now, const wire::EnvelopeHeader& from) {
  stale_accusation = false;
  if (left || now < next_stale_answer) return;
  next_stale_answer = now + config.probe_interval;
  const MemberRecord& r = me();
  const auto alive = detail::encode_alive(r.name(), r.inc(), r.addr(), r.meta.get());
  std::vector<std::uint8_t> payload;
  wire::VectorSink sink(payload);
  wire::Packer p(sink);
  detail::begin_gossip(p);
  add_updates(payload, alive, 1);
  send(from.sender_addr, wire::MessageType::gossip, payload);
}

void Swim::State::leave(TimePoint now) {
  if (left) return;
  left = true;
  MemberRecord& r = me();
  r.set_inc(Incarnation{std::min(r.inc().value + 1, detail::kMaxIncarnation)});
  set_state(r, MemberState::left, now);
  probe.active = false;
  next_probe = kNever;
  if (join_state == JoinState::joining) join_state = JoinState::joined;
  queue_accusation(MemberState::left, r.name(), r.inc(), r.name());
  emit(MemberEventKind::left, r);
}

bool Swim::State::leave_done() const {
  // Done once the announcement has been sent its full retransmit count, or at once when
  // nobody is left to tell.
  return left && (alive_members == 0 || !broadcasts.contains(self.name));
}

void Swim::State::update_meta(MemberMeta meta) {
  if (left) return;
  MemberRecord& r = me();
  self.meta = detail::within_limits(std::move(meta));
  r.meta = detail::intern_meta(self.meta);
  r.set_inc(Incarnation{std::min(r.inc().value + 1, detail::kMaxIncarnation)});
  queue_alive(r);
  emit(MemberEventKind::updated, r);
}

}  // namespace apiary::gossip
