// PubSub: this node's subscribers and its registry of the other members' (pubsub.hpp).
//
// Member messages (ClusterKeyspace::tell_member / ask_members), args[0] the sender's name:
//   pubsub.msg  [from, kind, channel, message]      a message for this node's subscribers
//   pubsub.int  [from, (kind, name, count)...]      the sender's counts changed (0: gone)
//   pubsub.all  [from, (kind, name, count)...]      the sender's whole interest
//   pubsub.sum  [from, entries, digest]             the sender's summary, every 15 s
//   pubsub.want [from]                              send me your whole interest
#include "apiary/resp/pubsub.hpp"

#include <algorithm>
#include <chrono>

#include "apiary/resp/connection.hpp"
#include "apiary/resp/reply_writer.hpp"
#include "apiary/resp/server.hpp"

namespace apiary::resp {
namespace {

constexpr auto kSummaryEvery = std::chrono::seconds(15);

std::string_view kind_word(SubKind kind, bool subscribe) {
  switch (kind) {
    case SubKind::channel: return subscribe ? "subscribe" : "unsubscribe";
    case SubKind::pattern: return subscribe ? "psubscribe" : "punsubscribe";
    case SubKind::shard: return subscribe ? "ssubscribe" : "sunsubscribe";
  }
  return "";
}

std::optional<SubKind> parse_kind(std::string_view s) {
  if (s == "0") return SubKind::channel;
  if (s == "1") return SubKind::pattern;
  if (s == "2") return SubKind::shard;
  return std::nullopt;
}

std::string kind_arg(SubKind kind) { return std::to_string(static_cast<int>(kind)); }

std::optional<std::int64_t> parse_count(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  std::int64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

std::uint64_t mix(std::uint64_t h, std::string_view s) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;  // FNV-1a
  return (h ^ 0xff) * 1099511628211ULL;                      // a separator
}

}  // namespace

std::string pubsub_message(int protocol, SubKind kind, std::string_view pattern,
                           std::string_view channel, std::string_view message) {
  std::string out;
  ReplyWriter w(out, protocol);
  if (kind == SubKind::pattern) {
    w.push(4);
    w.bulk("pmessage");
    w.bulk(pattern);
  } else {
    w.push(3);
    w.bulk(kind == SubKind::shard ? "smessage" : "message");
  }
  w.bulk(channel);
  w.bulk(message);
  return out;
}

PubSub::PubSub(Server& server) : server_(server) {}
PubSub::~PubSub() = default;

std::vector<std::string> PubSub::names(ClientId id, SubKind kind) const {
  auto it = clients_.find(id);
  if (it == clients_.end()) return {};
  const auto& set = it->second.names[static_cast<int>(kind)];
  return {set.begin(), set.end()};
}

std::size_t PubSub::count(ClientId id, SubKind kind) const {
  auto it = clients_.find(id);
  return it == clients_.end() ? 0 : it->second.names[static_cast<int>(kind)].size();
}

std::size_t PubSub::count(ClientId id) const {
  return count(id, SubKind::channel) + count(id, SubKind::pattern) + count(id, SubKind::shard);
}

void PubSub::confirm(Connection& c, SubKind kind, bool subscribe, std::string_view name,
                     ReplyWriter& reply) {
  // Redis counts channels and patterns together, shard channels on their own.
  const std::size_t n = kind == SubKind::shard
                            ? count(c.id(), SubKind::shard)
                            : count(c.id(), SubKind::channel) + count(c.id(), SubKind::pattern);
  reply.push(3);
  reply.bulk(kind_word(kind, subscribe));
  reply.bulk(name);
  reply.integer(static_cast<std::int64_t>(n));
}

Outcome PubSub::subscribe(CommandContext& ctx, SubKind kind,
                          std::span<const std::string_view> names) {
  const auto k = static_cast<int>(kind);
  const ClientId id = ctx.client.id();
  std::vector<std::string> changed{server_.identity().node_name};
  std::vector<std::string> waits_for;  // names the other members may not know yet
  // Confirmations go into a buffer of their own when the reply has to wait.
  std::string held;
  ReplyWriter later(held, ctx.reply.protocol());
  for (std::string_view name : names) {
    ClientSubs& cs = clients_[id];
    if (cs.names[k].emplace(name).second) {
      auto& set = subs_[k][std::string(name)];
      set.insert(id);
      // New here, or still being confirmed for an earlier subscriber: wait too (the members
      // answer this ask after the earlier one's message, which they get first).
      if (set.size() == 1 || unconfirmed_[k].contains(name)) waits_for.emplace_back(name);
      changed.push_back(kind_arg(kind));
      changed.emplace_back(name);
      changed.push_back(std::to_string(set.size()));
    }
    confirm(ctx.client, kind, true, name, later);
  }
  ctx.client.set_subscriptions(count(id));
  ClusterKeyspace* cluster = server_.cluster_members();
  if (changed.size() == 1 || cluster == nullptr || live_.empty()) {
    ctx.reply.raw(held);
    return Outcome::done();
  }
  const std::string op = "pubsub.int";
  // No need to wait when the members already send this node such messages; and no way to
  // inside a transaction (its reply is part of EXEC's, written at once).
  if (waits_for.empty() || server_.local_only()) {
    cluster->tell_members(ctx.now, op, std::move(changed));
    ctx.reply.raw(held);
    return Outcome::done();
  }
  for (const std::string& name : waits_for) ++unconfirmed_[k][name];
  const PendingToken token = ctx.client.next_token();
  cluster->ask_members(ctx.now, op, std::move(changed),
                       [this, k, cluster, id, token, waits_for = std::move(waits_for),
                        reply = std::move(held)](auto) mutable {
                         for (const std::string& name : waits_for) {
                           auto it = unconfirmed_[k].find(name);
                           if (it != unconfirmed_[k].end() && --it->second <= 0) {
                             unconfirmed_[k].erase(it);
                           }
                         }
                         cluster->complete(id, token, std::move(reply));
                       });
  return Outcome::pending(token);
}

Outcome PubSub::unsubscribe(CommandContext& ctx, SubKind kind,
                            std::span<const std::string_view> names) {
  const auto k = static_cast<int>(kind);
  const ClientId id = ctx.client.id();
  std::vector<std::string> targets;
  if (names.empty()) {
    if (auto it = clients_.find(id); it != clients_.end()) {
      targets.assign(it->second.names[k].begin(), it->second.names[k].end());
    }
    if (targets.empty()) {  // Redis: one reply with a null name
      const std::size_t n = kind == SubKind::shard
                                ? count(id, SubKind::shard)
                                : count(id, SubKind::channel) + count(id, SubKind::pattern);
      ctx.reply.push(3);
      ctx.reply.bulk(kind_word(kind, false));
      ctx.reply.null();
      ctx.reply.integer(static_cast<std::int64_t>(n));
      return Outcome::done();
    }
  } else {
    targets.assign(names.begin(), names.end());
  }
  std::vector<std::string> changed{server_.identity().node_name};
  bool gone_here = false;  // a name lost its last subscriber on this node
  std::string held;
  ReplyWriter later(held, ctx.reply.protocol());
  for (const std::string& name : targets) {
    auto cit = clients_.find(id);
    if (cit != clients_.end() && cit->second.names[k].erase(name) > 0) {
      auto sit = subs_[k].find(name);
      std::size_t left = 0;
      if (sit != subs_[k].end()) {
        sit->second.erase(id);
        left = sit->second.size();
        if (left == 0) subs_[k].erase(sit);
      }
      gone_here = gone_here || left == 0;
      changed.push_back(kind_arg(kind));
      changed.push_back(name);
      changed.push_back(std::to_string(left));
      if (count(id) == 0) clients_.erase(cit);
    }
    confirm(ctx.client, kind, false, name, later);
  }
  ctx.client.set_subscriptions(count(id));
  ClusterKeyspace* cluster = server_.cluster_members();
  if (changed.size() == 1 || cluster == nullptr || live_.empty()) {
    ctx.reply.raw(held);
    return Outcome::done();
  }
  // A name gone from this node: the reply waits until every live member knows, so that a
  // PUBLISH anywhere after it no longer counts this node's subscriber (as a SUBSCRIBE waits).
  if (!gone_here || server_.local_only()) {
    cluster->tell_members(ctx.now, "pubsub.int", std::move(changed));
    ctx.reply.raw(held);
    return Outcome::done();
  }
  const PendingToken token = ctx.client.next_token();
  cluster->ask_members(ctx.now, "pubsub.int", std::move(changed),
                       [cluster, id, token, reply = std::move(held)](auto) mutable {
                         cluster->complete(id, token, std::move(reply));
                       });
  return Outcome::pending(token);
}

void PubSub::drop_client(ClientId id) {
  auto cit = clients_.find(id);
  if (cit == clients_.end()) return;
  std::vector<std::string> changed{server_.identity().node_name};
  for (int k = 0; k < 3; ++k) {
    for (const std::string& name : cit->second.names[k]) {
      auto sit = subs_[k].find(name);
      if (sit == subs_[k].end()) continue;
      sit->second.erase(id);
      const std::size_t left = sit->second.size();
      if (left == 0) subs_[k].erase(sit);
      changed.push_back(kind_arg(static_cast<SubKind>(k)));
      changed.push_back(name);
      changed.push_back(std::to_string(left));
    }
  }
  clients_.erase(cit);
  if (Connection* c = server_.find_client(id)) c->set_subscriptions(0);
  if (ClusterKeyspace* cluster = server_.cluster_members();
      changed.size() > 1 && cluster != nullptr && !live_.empty()) {
    cluster->tell_members(TimePoint{}, "pubsub.int", std::move(changed));
  }
}

// ---- publishing -------------------------------------------------------------------------

void PubSub::deliver_local(SubKind kind, std::string_view channel, std::string_view message) {
  std::string encoded[2];  // RESP2, RESP3: built once per message
  auto send = [&](ClientId id, SubKind as, std::string_view pattern) {
    Connection* c = server_.find_client(id);
    if (c == nullptr) return;
    const int i = c->protocol() >= 3 ? 1 : 0;
    if (as == SubKind::pattern) {  // differs per pattern: not cached
      c->push(pubsub_message(c->protocol(), as, pattern, channel, message));
    } else {
      if (encoded[i].empty()) encoded[i] = pubsub_message(i + 2, as, {}, channel, message);
      c->push(encoded[i]);
    }
    ++stats_.delivered_local;
  };
  const auto k = static_cast<int>(kind);
  if (auto it = subs_[k].find(channel); it != subs_[k].end()) {
    for (ClientId id : it->second) send(id, kind, {});
  }
  if (kind != SubKind::channel) return;  // patterns match plain channels only
  for (const auto& [pattern, ids] : subs_[static_cast<int>(SubKind::pattern)]) {
    if (!glob_match(pattern, channel)) continue;
    for (ClientId id : ids) send(id, SubKind::pattern, pattern);
  }
}

std::int64_t PubSub::matching(const Interest& in, SubKind kind, std::string_view channel) {
  std::int64_t n = 0;
  const Counts& exact = in.kinds[static_cast<int>(kind)];
  if (auto it = exact.find(channel); it != exact.end()) n += it->second;
  if (kind == SubKind::channel) {
    for (const auto& [pattern, c] : in.kinds[static_cast<int>(SubKind::pattern)]) {
      if (glob_match(pattern, channel)) n += c;
    }
  }
  return n;
}

std::int64_t PubSub::publish(SubKind kind, std::string_view channel, std::string_view message) {
  ++stats_.published;
  const std::uint64_t before = stats_.delivered_local;
  deliver_local(kind, channel, message);
  auto receivers = static_cast<std::int64_t>(stats_.delivered_local - before);
  ClusterKeyspace* cluster = server_.cluster_members();
  if (cluster == nullptr) return receivers;
  const std::string& self = server_.identity().node_name;
  for (const auto& [member, interest] : members_) {
    const std::int64_t n = matching(interest, kind, channel);
    if (n == 0) continue;
    receivers += n;
    ++stats_.sent_to_members;
    cluster->tell_member(member, "pubsub.msg",
                         {self, kind_arg(kind), std::string(channel), std::string(message)});
  }
  return receivers;
}

// ---- PUBSUB -------------------------------------------------------------------------------

std::vector<std::string> PubSub::channels(SubKind kind,
                                          std::optional<std::string_view> pattern) const {
  std::set<std::string, std::less<>> names;
  const auto k = static_cast<int>(kind);
  for (const auto& [name, ids] : subs_[k]) names.insert(name);
  for (const auto& [member, interest] : members_) {
    for (const auto& [name, n] : interest.kinds[k]) {
      if (n > 0) names.insert(name);
    }
  }
  std::vector<std::string> out;
  for (const auto& name : names) {
    if (!pattern || glob_match(*pattern, name)) out.push_back(name);
  }
  return out;
}

std::int64_t PubSub::numsub(SubKind kind, std::string_view channel) const {
  const auto k = static_cast<int>(kind);
  std::int64_t n = 0;
  if (auto it = subs_[k].find(channel); it != subs_[k].end()) {
    n += static_cast<std::int64_t>(it->second.size());
  }
  for (const auto& [member, interest] : members_) {
    if (auto it = interest.kinds[k].find(channel); it != interest.kinds[k].end()) n += it->second;
  }
  return n;
}

std::int64_t PubSub::numpat() const {
  return static_cast<std::int64_t>(channels(SubKind::pattern, std::nullopt).size());
}

// ---- the cluster --------------------------------------------------------------------------

PubSub::Interest PubSub::local_interest() const {
  Interest in;
  for (int k = 0; k < 3; ++k) {
    for (const auto& [name, ids] : subs_[k]) {
      in.kinds[k].emplace(name, static_cast<std::int64_t>(ids.size()));
    }
  }
  return in;
}

std::vector<std::string> PubSub::whole_interest() const {
  std::vector<std::string> args{server_.identity().node_name};
  for (int k = 0; k < 3; ++k) {
    for (const auto& [name, ids] : subs_[k]) {
      args.push_back(kind_arg(static_cast<SubKind>(k)));
      args.push_back(name);
      args.push_back(std::to_string(ids.size()));
    }
  }
  return args;
}

void PubSub::take_whole(Interest& into, std::span<const std::string> args) {
  for (std::size_t i = 0; i + 3 <= args.size(); i += 3) {
    const auto kind = parse_kind(args[i]);
    const auto n = parse_count(args[i + 2]);
    if (!kind || !n) continue;
    Counts& counts = into.kinds[static_cast<int>(*kind)];
    if (*n == 0) {
      counts.erase(args[i + 1]);
    } else {
      counts[args[i + 1]] = *n;
    }
  }
}

std::uint64_t PubSub::digest(const Interest& in) {
  std::uint64_t h = 1469598103934665603ULL;
  for (int k = 0; k < 3; ++k) {
    for (const auto& [name, n] : in.kinds[k]) {
      h = mix(mix(mix(h, kind_arg(static_cast<SubKind>(k))), name), std::to_string(n));
    }
  }
  return h;
}

std::vector<std::string> PubSub::on_member_op(std::string_view op,
                                              std::span<const std::string> args) {
  if (args.empty()) return {};
  const std::string& from = args[0];
  ClusterKeyspace* cluster = server_.cluster_members();
  // Only members this node counts as live have a record: messages from a member it has not
  // seen yet are applied when it is seen (it then sends its whole interest again).
  const bool known = std::binary_search(live_.begin(), live_.end(), from);
  if (op == "pubsub.msg") {
    if (args.size() != 4) return {};
    const auto kind = parse_kind(args[1]);
    if (!kind || *kind == SubKind::pattern) return {};
    ++stats_.received_from_members;
    deliver_local(*kind, args[2], args[3]);
  } else if (op == "pubsub.int" || op == "pubsub.all") {
    if (!known) return {};
    Interest& in = members_[from];
    if (op == "pubsub.all") in = Interest{};
    take_whole(in, args.subspan(1));
  } else if (op == "pubsub.sum") {
    if (!known || args.size() != 3 || cluster == nullptr) return {};
    const Interest& in = members_[from];
    std::size_t entries = 0;
    for (const auto& counts : in.kinds) entries += counts.size();
    if (std::to_string(entries) != args[1] || std::to_string(digest(in)) != args[2]) {
      ++stats_.resyncs;
      cluster->tell_member(from, "pubsub.want", {server_.identity().node_name});
    }
  } else if (op == "pubsub.want") {
    if (cluster != nullptr) cluster->tell_member(from, "pubsub.all", whole_interest());
  }
  return {};
}

void PubSub::resync(std::string_view member) {
  ClusterKeyspace* cluster = server_.cluster_members();
  if (cluster == nullptr || !std::binary_search(live_.begin(), live_.end(), member)) return;
  ++stats_.resyncs;
  cluster->tell_member(member, "pubsub.want", {server_.identity().node_name});
}

void PubSub::on_members(TimePoint now, const std::vector<std::string>& live) {
  ClusterKeyspace* cluster = server_.cluster_members();
  for (const std::string& m : live) {
    if (std::binary_search(live_.begin(), live_.end(), m)) continue;
    // New to this node (joined, or back after being down): it gets the whole interest here,
    // and starts from an empty record of its own until it sends its whole interest too.
    members_.erase(m);
    members_[m];
    if (cluster != nullptr) cluster->tell_member(m, "pubsub.all", whole_interest());
  }
  for (auto it = members_.begin(); it != members_.end();) {
    it = std::binary_search(live.begin(), live.end(), it->first) ? std::next(it)
                                                                 : members_.erase(it);
  }
  live_ = live;
  if (next_summary_ == kNever && !live_.empty()) next_summary_ = now + kSummaryEvery;
}

void PubSub::send_summary(TimePoint now) {
  (void)now;
  ClusterKeyspace* cluster = server_.cluster_members();
  if (cluster == nullptr) return;
  const Interest mine = local_interest();
  std::size_t entries = 0;
  for (const auto& counts : mine.kinds) entries += counts.size();
  const std::vector<std::string> args{server_.identity().node_name, std::to_string(entries),
                                      std::to_string(digest(mine))};
  for (const std::string& m : live_) cluster->tell_member(m, "pubsub.sum", args);
}

void PubSub::on_timer(TimePoint now) {
  if (now < next_summary_) return;
  send_summary(now);
  next_summary_ = live_.empty() ? kNever : now + kSummaryEvery;
}

}  // namespace apiary::resp
