// Keyspace: the keyspace commands without keys, answered for the whole cluster by asking
// every live member for its share (keyspace.hpp says how each command adds the answers up).
#include "keyspace.hpp"

#include <algorithm>
#include <variant>

#include "apiary/data/partition.hpp"
#include "apiary/resp/reply_writer.hpp"
#include "merge.hpp"

namespace apiary::routing {

using replication::ClockAnswer;
using replication::ClockQuery;
using replication::CountAnswer;
using replication::CountQuery;
using replication::FlushQuery;
using replication::KeyspaceAnswer;
using replication::KeyspaceQuery;
using replication::PartitionSet;
using replication::RandomKeyAnswer;
using replication::RandomKeyQuery;
using replication::ScanAnswer;
using replication::ScanQuery;

namespace {

// FNV-1a: seeds RANDOMKEY's choice from the node's name, so nodes differ but runs repeat.
std::uint64_t seed_of(std::string_view name) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return h;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return out;
}

std::uint32_t scan_count(std::size_t count) {
  return static_cast<std::uint32_t>(std::clamp<std::size_t>(count, 1, replication::kMaxScanCount));
}

bool by_position(const store::ScannedKey& a, const store::ScannedKey& b) {
  return a.position < b.position;
}

}  // namespace

Keyspace::Keyspace(resp::Server& server, replication::Replicator& replicator,
                   std::vector<ClientReply>& ready, RouterStats& stats)
    : server_(server),
      replicator_(replicator),
      ready_(ready),
      stats_(stats),
      rng_(seed_of(server.identity().node_name)) {}

// ---- the commands -------------------------------------------------------------------------

resp::Outcome Keyspace::dbsize(resp::CommandContext& ctx) {
  Request r;
  r.kind = Kind::dbsize;
  return start(ctx, std::move(r));
}

// A write is acknowledged once W replicas hold it, this node (its coordinator) included; W is
// capped at the key's owners, and those at the live members.
std::int64_t Keyspace::acknowledging_replicas() const {
  const auto& members = replicator_.view().members();
  const auto live = static_cast<std::uint32_t>(
      std::count_if(members.begin(), members.end(), [](const auto& m) { return m.live; }));
  const auto& config = replicator_.config();
  const std::uint32_t w = std::min({config.write_quorum, config.replicas, live});
  return w > 1 ? static_cast<std::int64_t>(w) - 1 : 0;
}

resp::Outcome Keyspace::info(resp::CommandContext& ctx,
                             const std::vector<std::string_view>& sections) {
  Request r;
  r.kind = Kind::info;
  r.sections.assign(sections.begin(), sections.end());
  return start(ctx, std::move(r));
}

resp::Outcome Keyspace::keys(resp::CommandContext& ctx, std::string_view pattern) {
  Request r;
  r.kind = Kind::keys;
  if (pattern != "*") r.pattern = std::string(pattern);
  return start(ctx, std::move(r));
}

resp::Outcome Keyspace::scan(resp::CommandContext& ctx, const resp::ScanRequest& request) {
  Request r;
  r.kind = Kind::scan;
  r.scan = request;
  if (request.match) r.pattern = *request.match;
  if (request.type) r.type = *request.type;
  return start(ctx, std::move(r));
}

resp::Outcome Keyspace::randomkey(resp::CommandContext& ctx) {
  Request r;
  r.kind = Kind::randomkey;
  return start(ctx, std::move(r));
}

resp::Outcome Keyspace::flush(resp::CommandContext& ctx) {
  Request r;
  r.kind = Kind::flush_clock;
  return start(ctx, std::move(r));
}

// ---- asking the members -------------------------------------------------------------------

void Keyspace::assign_shares(Request& r) const {
  const auto& view = replicator_.view();
  const auto& table = view.table();
  const std::uint32_t count = view.partition_count();
  for (std::uint32_t p = 0; p < count; ++p) {
    const std::string* coordinator = nullptr;
    for (auto i : table.owner_indices(PartitionId{p})) {
      if (view.is_live(table.members()[i])) {
        coordinator = &table.members()[i];
        break;
      }
    }
    if (coordinator == nullptr) {
      ++r.unowned;
      continue;
    }
    r.shares.try_emplace(*coordinator, count).first->second.add(PartitionId{p});
  }
}

resp::Outcome Keyspace::start(resp::CommandContext& ctx, Request request) {
  const auto& view = replicator_.view();
  request.command = upper(ctx.argv[0]);
  if (view.members().empty()) {
    if (request.kind == Kind::info) {  // INFO still answers, and says why the count is missing
      const std::vector<std::string_view> sections(request.sections.begin(),
                                                   request.sections.end());
      ctx.reply.verbatim(
          "txt", server_.info(sections, ctx.now,
                              {{"keyspace", "keyspace_unavailable:not joined a cluster yet\r\n"}}));
      return resp::Outcome::done();
    }
    ctx.reply.error("-CLUSTERDOWN this node has not joined a cluster yet");
    return resp::Outcome::done();
  }
  if (request.kind == Kind::flush_clock) {
    // Every live member flushes, and this node even while it leaves the ring.
    for (const auto& m : view.members()) {
      if (m.live) request.shares.try_emplace(m.name);
    }
    request.shares.try_emplace(view.self());
  } else {
    assign_shares(request);
    if (request.unowned > 0 && request.kind != Kind::info) {
      ++stats_.keyspace_failures;
      ctx.reply.error("-CLUSTERDOWN " + std::to_string(request.unowned) + " of " +
                      std::to_string(view.partition_count()) + " partitions have no live owner: " +
                      request.command + " cannot answer for the cluster");
      return resp::Outcome::done();
    }
  }
  ++stats_.keyspace_commands;
  request.client = ctx.client.id();
  request.protocol = ctx.reply.protocol();
  const std::uint64_t id = next_id_++;
  Request& r = requests_.emplace(id, std::move(request)).first->second;
  r.outstanding = r.shares.size();
  starting_ = id;
  if (r.outstanding == 0) {
    finish(id, ctx.now);
  } else {
    // Other members first, so that their work overlaps with this node's share.
    std::vector<std::pair<std::string, KeyspaceQuery>> queries;
    for (const auto& [member, share] : r.shares) {
      queries.emplace_back(member, first_query(r, member));
    }
    std::stable_partition(queries.begin(), queries.end(),
                          [&](const auto& q) { return q.first != view.self(); });
    for (auto& [member, query] : queries) ask(id, member, std::move(query), ctx.now, ctx.wall);
  }
  starting_ = 0;
  if (started_reply_) {
    ctx.reply.raw(*started_reply_);
    started_reply_.reset();
    return resp::Outcome::done();
  }
  const resp::PendingToken token = ctx.client.next_token();
  requests_.at(id).token = token;
  return resp::Outcome::pending(token);
}

KeyspaceQuery Keyspace::first_query(const Request& r, const std::string& member) const {
  const PartitionSet& share = r.shares.at(member);
  switch (r.kind) {
    case Kind::dbsize:
    case Kind::info:
      return CountQuery{share};
    case Kind::keys:
      return ScanQuery{share, 0, replication::kMaxScanCount, r.pattern, r.type};
    case Kind::scan:
      return ScanQuery{share, r.scan.cursor, scan_count(r.scan.count), r.pattern, r.type};
    case Kind::randomkey:
      return RandomKeyQuery{share};
    case Kind::flush_clock:
      return ClockQuery{};
    case Kind::flush:
      return FlushQuery{r.horizon};
  }
  return ClockQuery{};
}

void Keyspace::ask(std::uint64_t id, const std::string& member, KeyspaceQuery query, TimePoint now,
                   WallTime wall) {
  if (member != replicator_.view().self()) {
    const std::uint64_t completion = next_id_++;
    asks_.emplace(completion, std::make_pair(id, member));
    replicator_.ask(now, member, std::move(query), completion);
    return;
  }
  // This node's share is answered here, at once (KEYS: round after round).
  for (;;) {
    const KeyspaceAnswer a = answer(query, wall);
    auto next = take(id, member, Status::Ok(), a, now, wall);
    if (!next) return;
    query = std::move(*next);
  }
}

void Keyspace::tell_members(TimePoint now, std::string op, std::vector<std::string> args) {
  (void)now;
  const auto& view = replicator_.view();
  const replication::KeyspaceQuery query = replication::MembersQuery{std::move(op), std::move(args)};
  for (const auto& m : view.members()) {
    if (!m.live || m.name == view.self()) continue;
    (void)replicator_.tell(m.name, query);
  }
}

void Keyspace::tell_member(std::string_view member, std::string op,
                           std::vector<std::string> args) {
  (void)replicator_.tell(member, replication::MembersQuery{std::move(op), std::move(args)});
}

resp::ClusterKeyspace::KeyOwners Keyspace::key_owners(std::string_view key) const {
  KeyOwners out;
  out.self = false;
  out.coordinator = false;
  const auto& view = replicator_.view();
  if (view.members().empty()) {
    out.self = true;
    out.coordinator = true;
    return out;
  }
  bool first_live = true;
  const auto p = data::partition_of(key, view.partition_count());
  for (const std::uint32_t at : view.owner_indices(p)) {
    const std::string& name = view.member_name(at);
    if (name == view.self()) {
      out.self = true;
      out.coordinator = first_live;
      first_live = false;
    } else if (view.is_live_at(at)) {
      out.others.push_back(name);
      first_live = false;
    }
  }
  return out;
}

void Keyspace::ask_members(TimePoint now, std::string op, std::vector<std::string> args,
                           std::function<void(MemberAnswers)> done) {
  auto ask = std::make_shared<MemberAsk>();
  ask->done = std::move(done);
  const auto& view = replicator_.view();
  for (const auto& m : view.members()) {
    if (!m.live || m.name == view.self()) continue;
    const std::uint64_t completion = next_id_++;
    member_asks_.emplace(completion, ask);
    ++ask->outstanding;
    replicator_.ask(now, m.name, replication::MembersQuery{op, args}, completion);
  }
  if (ask->outstanding == 0) ask->done({});
}

void Keyspace::on_completion(const replication::Completion& c, TimePoint now, WallTime wall) {
  if (auto m = member_asks_.find(c.id); m != member_asks_.end()) {
    std::shared_ptr<MemberAsk> ask = std::move(m->second);
    member_asks_.erase(m);
    const auto* answer = std::get_if<replication::MembersAnswer>(&c.answer);
    if (c.status.ok() && answer != nullptr) ask->answers.push_back(answer->values);
    if (--ask->outstanding == 0) ask->done(std::move(ask->answers));
    return;
  }
  auto it = asks_.find(c.id);
  if (it == asks_.end()) return;
  const auto [id, member] = it->second;
  asks_.erase(it);
  if (auto next = take(id, member, c.status, c.answer, now, wall)) {
    ask(id, member, std::move(*next), now, wall);
  }
}

std::optional<KeyspaceQuery> Keyspace::take(std::uint64_t id, const std::string& member,
                                            const Status& status, const KeyspaceAnswer& answer,
                                            TimePoint now, WallTime wall) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return std::nullopt;
  Request& r = it->second;
  if (!status.ok()) {
    r.failures.push_back(status.message());
  } else if (const auto* count = std::get_if<CountAnswer>(&answer)) {
    r.count.keys += count->keys;
    r.count.expires += count->expires;
  } else if (const auto* scan = std::get_if<ScanAnswer>(&answer)) {
    r.keys.insert(r.keys.end(), scan->keys.begin(), scan->keys.end());
    if (r.kind == Kind::keys && scan->next != 0) {
      return ScanQuery{r.shares.at(member), scan->next, replication::kMaxScanCount, r.pattern,
                       r.type};
    }
    if (scan->next != 0) r.stops.push_back(scan->next);
  } else if (const auto* random = std::get_if<RandomKeyAnswer>(&answer)) {
    if (random->key) r.random_keys.emplace(member, *random->key);
  } else if (const auto* clock = std::get_if<ClockAnswer>(&answer)) {
    r.horizon = std::max(r.horizon, clock->last);
  }
  if (--r.outstanding > 0) return std::nullopt;
  if (r.kind != Kind::flush_clock) {
    finish(id, now);
    return std::nullopt;
  }
  // Every member's clock is in: flush at a horizon above all of them, so that every write
  // any member had made is at or before it.
  if (store::Store* st = server_.store()) r.horizon = std::max(r.horizon, st->hlc().now(wall));
  r.kind = Kind::flush;
  r.outstanding = r.shares.size();
  std::vector<std::string> members;
  for (const auto& [name, share] : r.shares) {
    if (name != replicator_.view().self()) members.push_back(name);
  }
  const bool self = r.shares.count(replicator_.view().self()) != 0;
  const FlushQuery query{r.horizon};
  for (const auto& name : members) ask(id, name, query, now, wall);
  // Last: answering here may finish the request (and erase `r`).
  if (self) ask(id, replicator_.view().self(), query, now, wall);
  return std::nullopt;
}

// ---- replies --------------------------------------------------------------------------------

void Keyspace::finish(std::uint64_t id, TimePoint now) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return;
  Request r = std::move(it->second);
  requests_.erase(it);
  if (!r.failures.empty()) ++stats_.keyspace_failures;
  std::string reply = render(r, now);
  if (id == starting_) {
    started_reply_ = std::move(reply);
  } else {
    ready_.push_back(ClientReply{r.client, r.token, std::move(reply)});
  }
}

std::string Keyspace::render(Request& r, TimePoint now) {
  std::string out;
  resp::ReplyWriter w(out, r.protocol);
  if (!r.failures.empty() && r.kind != Kind::info) {
    std::string why;
    for (const auto& f : r.failures) why += (why.empty() ? "" : ", ") + f;
    w.error("-CLUSTERDOWN " + r.command + " could not reach every member: " + why +
            (r.kind == Kind::flush ? "; the flush may still complete" : ""));
    return out;
  }
  switch (r.kind) {
    case Kind::dbsize:
      w.integer(static_cast<std::int64_t>(r.count.keys));
      break;
    case Kind::info: {
      std::string body;
      if (r.count.keys > 0) {
        body = "db0:keys=" + std::to_string(r.count.keys) +
               ",expires=" + std::to_string(r.count.expires) + ",avg_ttl=0\r\n";
      }
      // INFO answers even when the cluster cannot be counted whole, and says what is missing.
      if (!r.failures.empty())
        body += "keyspace_unanswered_members:" + std::to_string(r.failures.size()) + "\r\n";
      if (r.unowned > 0)
        body += "keyspace_unowned_partitions:" + std::to_string(r.unowned) + "\r\n";
      const std::vector<std::string_view> sections(r.sections.begin(), r.sections.end());
      w.verbatim("txt", server_.info(sections, now, {{"keyspace", body}}));
      break;
    }
    case Kind::keys:
      std::sort(r.keys.begin(), r.keys.end(), by_position);
      w.array(r.keys.size());
      for (const auto& k : r.keys) w.bulk(k.key);
      break;
    case Kind::scan: {
      // Members stopped at different positions: everything before the first stop has been
      // visited on every member; keys after it wait for the next call.
      std::uint64_t cursor = 0;
      if (!r.stops.empty()) cursor = *std::min_element(r.stops.begin(), r.stops.end());
      std::erase_if(r.keys, [&](const store::ScannedKey& k) {
        return cursor != 0 && k.position >= cursor;
      });
      std::sort(r.keys.begin(), r.keys.end(), by_position);
      w.array(2);
      w.bulk(std::to_string(cursor));
      w.array(r.keys.size());
      for (const auto& k : r.keys) w.bulk(k.key);
      break;
    }
    case Kind::randomkey: {
      // Each member's share weighs by its number of partitions (keys spread evenly over them).
      std::uint64_t total = 0;
      for (const auto& [member, key] : r.random_keys) total += r.shares.at(member).size();
      if (total == 0) {
        w.null();
        break;
      }
      std::uint64_t pick = rng_.uniform(total);
      for (const auto& [member, key] : r.random_keys) {
        const std::uint64_t weight = r.shares.at(member).size();
        if (pick < weight) {
          w.bulk(key);
          break;
        }
        pick -= weight;
      }
      break;
    }
    case Kind::flush_clock:
    case Kind::flush:
      w.ok();
      break;
  }
  return out;
}

// ---- this node's answers ------------------------------------------------------------------

KeyspaceAnswer Keyspace::answer(const KeyspaceQuery& query, WallTime wall) {
  if (const auto* members = std::get_if<replication::MembersQuery>(&query)) {
    return replication::MembersAnswer{server_.member_op(members->op, members->args)};
  }
  return answer_query(server_.store(), query, wall, rng_);
}

}  // namespace apiary::routing
