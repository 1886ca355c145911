// The pub/sub workload's clients (sim/pubsub_workload.hpp); the checks are in pubsub_checks.cpp.
#include <charconv>

#include "apiary/sim/pubsub_workload.hpp"
#include "apiary/sim/resp_reply.hpp"

namespace apiary::sim {

namespace {

constexpr double kPatternShare = 0.2;  // of the subscriptions a subscriber adds
constexpr std::uint64_t kInitialChannelsMax = 3;
constexpr Duration kChurnMin = 1s;
constexpr Duration kChurnMax = 4s;
constexpr Duration kRetry = 100ms;
// Now and then a client closes its connection and opens one on another node (so that
// sessions on joined nodes, and the registry's removals, are exercised without faults too).
constexpr double kMovePerChurn = 0.15;
constexpr double kMovePerPublish = 0.002;

Duration between(Rng& rng, Duration lo, Duration hi) {
  if (hi <= lo) return lo;
  return lo + Duration(static_cast<Duration::rep>(
                  rng.uniform(static_cast<std::uint64_t>((hi - lo).count()) + 1)));
}

}  // namespace

PubSubWorkload::PubSubWorkload(const WorkloadOptions& options, Rng rng)
    : options_(options), rng_(rng) {
  for (std::uint32_t c = 0; c < std::max<std::uint32_t>(1, options_.pubsub_channels); ++c) {
    channels_.push_back("ch" + std::to_string(c));
  }
  patterns_ = {"ch*", "ch[02468]"};
  actors_.resize(options_.pubsub + options_.pubsub_publishers);
  for (std::uint32_t a = 0; a < actors_.size(); ++a) {
    Actor& actor = actors_[a];
    actor.publisher = a >= options_.pubsub;
    if (actor.publisher) continue;
    const std::uint64_t n =
        1 + rng_.uniform(std::min<std::uint64_t>(kInitialChannelsMax, channels_.size()));
    for (std::size_t i : rng_.sample(channels_.size(), n)) actor.wanted.insert({0, channels_[i]});
    if (rng_.chance(0.3)) actor.wanted.insert({1, patterns_[rng_.uniform(patterns_.size())]});
  }
}

void PubSubWorkload::start(World& world, TimePoint from, TimePoint stop) {
  from_ = from;
  stop_ = stop;
  for (std::uint32_t a = 0; a < actors_.size(); ++a) {
    actors_[a].next_churn = from + between(rng_, kChurnMin, kChurnMax);
    wake(world, a, from + between(rng_, 0ms, kRetry));
  }
}

void PubSubWorkload::wake(World& world, std::uint32_t actor, TimePoint at) {
  actors_.at(actor).wake_at = at;
  world.wake_at(at, kWakeBit | actor);
}

void PubSubWorkload::on_wake(World& world, std::uint32_t tag) {
  if (tag >= actors_.size() || actors_[tag].wake_at != world.now()) return;  // superseded
  act(world, tag);
}

std::vector<std::uint32_t> PubSubWorkload::ready_nodes(const World& world) const {
  std::vector<std::uint32_t> out;
  for (std::uint32_t n = 0; n < world.started_nodes(); ++n) {
    if (world.status(n) == NodeStatus::running && !world.paused(n)) out.push_back(n);
  }
  return out;
}

bool PubSubWorkload::open_session(World& world, std::uint32_t a) {
  const std::vector<std::uint32_t> nodes = ready_nodes(world);
  if (nodes.empty()) return false;
  Session s;
  s.actor = a;
  s.client = kClientBase + static_cast<std::uint32_t>(sessions_.size());
  s.node = nodes[rng_.uniform(nodes.size())];
  session_of_client_[s.client] = static_cast<std::uint32_t>(sessions_.size());
  Actor& actor = actors_[a];
  actor.session = static_cast<std::uint32_t>(sessions_.size());
  actor.has_session = true;
  actor.active.clear();
  sessions_.push_back(std::move(s));
  return true;
}

void PubSubWorkload::act(World& world, std::uint32_t a) {
  Actor& actor = actors_[a];
  if (actor.in_flight) return;
  if (actor.publisher && world.now() >= stop_) return;
  if (!actor.has_session && !open_session(world, a)) {
    wake(world, a, world.now() + kRetry);
    return;
  }
  if (world.paused(sessions_[actor.session].node)) {
    wake(world, a, world.now() + kRetry);
    return;
  }
  if (actor.publisher && world.now() < stop_ && rng_.chance(kMovePerPublish)) {
    move(world, a);
    return;
  }
  if (actor.publisher) {
    publisher_step(world, a);
  } else {
    subscriber_step(world, a);
  }
}

PubSubWorkload::Sub PubSubWorkload::random_sub() {
  if (rng_.chance(kPatternShare)) return {1, patterns_[rng_.uniform(patterns_.size())]};
  return {0, channels_[rng_.uniform(channels_.size())]};
}

void PubSubWorkload::subscriber_step(World& world, std::uint32_t a) {
  Actor& actor = actors_[a];
  const TimePoint now = world.now();
  if (now >= actor.next_churn && now < stop_) {
    actor.next_churn = now + between(rng_, kChurnMin, kChurnMax);
    if (rng_.chance(kMovePerChurn)) {
      move(world, a);
      return;
    }
    if (actor.wanted.size() > 1 && rng_.chance(0.5)) {
      auto it = actor.wanted.begin();
      std::advance(it, static_cast<std::ptrdiff_t>(rng_.uniform(actor.wanted.size())));
      actor.wanted.erase(it);
    } else {
      actor.wanted.insert(random_sub());
    }
  }
  // First what is wanted and not asked for, then what is asked for and no longer wanted.
  std::optional<Sub> add, drop;
  for (const Sub& s : actor.wanted) {
    if (!actor.active.count(s)) {
      add = s;
      break;
    }
  }
  if (!add) {
    for (const Sub& s : actor.active) {
      if (!actor.wanted.count(s)) {
        drop = s;
        break;
      }
    }
  }
  if (!add && !drop) {
    if (now < stop_) wake(world, a, actor.next_churn);
    return;
  }
  SubOp op;
  op.session = actor.session;
  op.subscribe = add.has_value();
  op.sub = add ? *add : *drop;
  op.sent = now;
  Session& s = sessions_[actor.session];
  if (op.subscribe) {
    actor.active.insert(op.sub);
    s.listening[op.sub] = true;  // messages may come ahead of the reply (it waits for members)
  } else {
    actor.active.erase(op.sub);
  }
  const bool pattern = op.sub.first == 1;
  const char* verb = op.subscribe ? (pattern ? "PSUBSCRIBE" : "SUBSCRIBE")
                                  : (pattern ? "PUNSUBSCRIBE" : "UNSUBSCRIBE");
  const std::string bytes = encode_command({verb, op.sub.second});
  const std::uint64_t request = next_request_++;
  pending_[request] = Pending{false, sub_ops_.size()};
  sub_ops_.push_back(std::move(op));
  send(world, actor.session, request, bytes);
}

void PubSubWorkload::publisher_step(World& world, std::uint32_t a) {
  Actor& actor = actors_[a];
  Session& s = sessions_[actor.session];
  Publish p;
  p.session = actor.session;
  p.seq = ++s.seq;
  p.channel = channels_[rng_.uniform(channels_.size())];
  p.sent = world.now();
  const NetworkConfig& net = world.network().config();
  p.lossy = net.loss > 0 || net.duplicate > 0;
  const std::string payload = std::to_string(s.client) + ":" + std::to_string(p.seq);
  const std::string bytes = encode_command({"PUBLISH", p.channel, payload});
  const std::uint64_t request = next_request_++;
  pending_[request] = Pending{true, publishes_.size()};
  publish_index_[{p.session, p.seq}] = publishes_.size();
  publishes_.push_back(std::move(p));
  send(world, actor.session, request, bytes);
}

void PubSubWorkload::send(World& world, std::uint32_t session, std::uint64_t request,
                          const std::string& bytes) {
  const Session& s = sessions_[session];
  actors_[s.actor].in_flight = true;
  const std::uint32_t client = s.client;
  // A reply that comes at once is taken in through the Workload's after_call.
  world.call(s.node, [&](Process& p, TimePoint local) {
    if (NodeProcess* n = p.node()) n->send(local, client, request, bytes);
  });
}

void PubSubWorkload::on_reply(World& world, const ClientReply& r) {
  auto sit = session_of_client_.find(r.client);
  if (sit == session_of_client_.end()) return;
  Session& s = sessions_[sit->second];
  if (r.push) {
    on_push(world, s, r.reply);
    return;
  }
  auto pit = pending_.find(r.request);
  if (pit == pending_.end()) return;
  const Pending pending = pit->second;
  pending_.erase(pit);
  if (pending.publish) {
    Publish& p = publishes_[pending.index];
    p.replied = world.now();
    p.answered = true;
    p.error = r.reply.kind != RespReply::Kind::integer;
    if (!p.error) p.count = r.reply.integer;
    if (p.error && live_samples_.size() < 5) {
      live_samples_.push_back("pubsub: " + describe(p) + " answered " + r.reply.describe());
    }
  } else {
    SubOp& op = sub_ops_[pending.index];
    op.replied = world.now();
    if (r.reply.is_error()) {
      ++sub_errors_;
      if (live_samples_.size() < 5) {
        live_samples_.push_back("pubsub: " + describe(op.sub) + " answered " + r.reply.describe());
      }
    } else if (!op.subscribe) {
      s.listening[op.sub] = false;  // nothing of it may follow this reply
    }
  }
  Actor& actor = actors_[s.actor];
  if (actor.has_session && actor.session == sit->second) {
    actor.in_flight = false;
    TimePoint next = world.now();
    if (actor.publisher) {
      next += between(rng_, options_.pubsub_interval_min, options_.pubsub_interval_max);
    }
    wake(world, s.actor, next);
  }
}

void PubSubWorkload::on_push(World& world, Session& s, const RespReply& m) {
  Delivery d;
  d.session = static_cast<std::uint32_t>(&s - sessions_.data());
  d.at = world.now();
  std::string_view payload;
  if (m.elements.size() == 3 && m.elements[0].text == "message") {
    d.sub = {0, m.elements[1].text};
    d.channel = m.elements[1].text;
    payload = m.elements[2].text;
  } else if (m.elements.size() == 4 && m.elements[0].text == "pmessage") {
    d.sub = {1, m.elements[1].text};
    d.channel = m.elements[2].text;
    payload = m.elements[3].text;
  } else {
    ++unparsed_pushes_;
    return;
  }
  d.publisher = kUnknown;
  const auto colon = payload.find(':');
  std::uint32_t client = 0;
  if (colon != std::string_view::npos &&
      std::from_chars(payload.data(), payload.data() + colon, client).ec == std::errc() &&
      std::from_chars(payload.data() + colon + 1, payload.data() + payload.size(), d.seq).ec ==
          std::errc()) {
    if (auto it = session_of_client_.find(client); it != session_of_client_.end()) {
      d.publisher = it->second;
    }
  }
  auto lit = s.listening.find(d.sub);
  if (lit == s.listening.end() || !lit->second) {
    ++unsubscribed_deliveries_;
    if (live_samples_.size() < 5) {
      live_samples_.push_back("pubsub: session c" + std::to_string(s.client) + " @n" +
                              std::to_string(s.node) + " got " + m.describe() + " at " +
                              std::to_string(std::chrono::duration<double>(d.at - from_).count()) +
                              "s while not subscribed to " + describe(d.sub));
    }
  }
  ++pushes_;
  if (options_.pubsub_drop_every > 0 && pushes_ % options_.pubsub_drop_every == 0) return;
  if (options_.pubsub_repeat_every > 0 && pushes_ % options_.pubsub_repeat_every == 0) {
    deliveries_.push_back(d);
  }
  deliveries_.push_back(std::move(d));
}

void PubSubWorkload::move(World& world, std::uint32_t a) {
  Actor& actor = actors_[a];
  Session& s = sessions_[actor.session];
  const std::uint32_t client = s.client;
  world.call(s.node, [&](Process& p, TimePoint local) {
    if (NodeProcess* n = p.node()) n->disconnect(local, client);
  });
  s.open = false;
  s.closed = world.now();
  actor.has_session = false;
  actor.active.clear();
  wake(world, a, world.now() + between(rng_, 0ms, kRetry));
}

void PubSubWorkload::on_status(World& world, std::uint32_t node, NodeStatus status) {
  if (status != NodeStatus::crashed && status != NodeStatus::left) return;
  // The node's connections are gone: their clients reconnect elsewhere and subscribe again.
  for (std::uint32_t a = 0; a < actors_.size(); ++a) {
    Actor& actor = actors_[a];
    if (!actor.has_session) continue;
    Session& s = sessions_[actor.session];
    if (s.node != node || !s.open) continue;
    s.open = false;
    s.closed = world.now();
    actor.has_session = false;
    actor.in_flight = false;
    actor.active.clear();
    for (auto it = pending_.begin(); it != pending_.end();) {
      const std::uint32_t of = it->second.publish ? publishes_[it->second.index].session
                                                  : sub_ops_[it->second.index].session;
      it = of == actor.session ? pending_.erase(it) : std::next(it);
    }
    wake(world, a, world.now() + between(rng_, kRetry, 2 * kRetry));
  }
}

}  // namespace apiary::sim
