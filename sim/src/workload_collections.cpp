// The workload's hash, set and sorted set keys: which command a client sends, what it learns
// from the replies, the final reads through every node, and the hand-over to
// check_collections() (collection_checks.hpp), which judges all three alike: a sorted set is a
// map from member to score, a ZINCRBY member a counter as an HINCRBY field is.
#include <algorithm>
#include <set>

#include "apiary/sim/collection_checks.hpp"
#include "apiary/sim/workload.hpp"

namespace apiary::sim {

namespace {

// Over this many elements in a read of a key, clients remove rather than add: an HGETALL
// or ZRANGE WITHSCORES reply holds two strings per element, and the RESP parser takes 4096
// (RespLimits).
constexpr std::size_t kMaxElements = 1000;
// What a client remembers per key (the oldest goes first).
constexpr std::size_t kMaxKnown = 512;
constexpr std::size_t kMaxRemoved = 64;

template <typename T>
T take_at(std::vector<T>& v, std::size_t i) {
  T out = std::move(v[i]);
  v[i] = std::move(v.back());
  v.pop_back();
  return out;
}

void remember(std::vector<std::string>& v, std::string element, std::size_t limit) {
  if (v.size() >= limit) v.erase(v.begin());
  v.push_back(std::move(element));
}

}  // namespace

void Workload::pick_collection_op(std::uint32_t c, std::uint32_t key, OpKind& kind,
                                  std::string& element) {
  KnownElements& known = clients_.at(c).elements[key];
  const bool hash = is_hash(key);
  const bool zset = is_zset(key);
  const double u = rng_.unit();
  if (hash || zset) {
    kind = u < 0.3   ? (hash ? OpKind::hset : OpKind::zadd)
           : u < 0.5 ? (hash ? OpKind::hdel : OpKind::zrem)
           : u < 0.7 ? (hash ? OpKind::hincrby : OpKind::zincrby)
                     : (hash ? OpKind::hgetall : OpKind::zrange);
  } else {
    kind = u < 0.35 ? OpKind::sadd : u < 0.6 ? OpKind::srem : OpKind::smembers;
  }
  const OpKind add = hash ? OpKind::hset : zset ? OpKind::zadd : OpKind::sadd;
  const OpKind remove = hash ? OpKind::hdel : zset ? OpKind::zrem : OpKind::srem;
  const bool incr = kind == OpKind::hincrby || kind == OpKind::zincrby;
  if (incr && options_.hash_counters == 0) kind = add;
  const auto large = largest_read_.find(key);
  if (kind == add && large != largest_read_.end() && large->second > kMaxElements) kind = remove;
  if (kind == remove && known.present.empty()) kind = add;
  if (kind == OpKind::hincrby || kind == OpKind::zincrby) {
    element = "n" + std::to_string(rng_.uniform(options_.hash_counters));
  } else if (kind == remove) {
    element = take_at(known.present, rng_.uniform(known.present.size()));
  } else if (kind == add && !known.removed.empty() && rng_.unit() < 0.3) {
    // Write again an element this client removed: a removal that returned before this add
    // was sent must not take it away (collection_checks.hpp).
    element = take_at(known.removed, rng_.uniform(known.removed.size()));
  }
}

// A reply the client can act on later: what it added it may remove, what it removed it may
// add again, what it read replaces what it knew.
void Workload::learn(const OpRecord& op) {
  if (op.reply.kind == RespReply::Kind::array) {
    std::size_t& largest = largest_read_[op.key];
    largest =
        std::max(largest, op.reply.elements.size() / (is_hash(op.key) || is_zset(op.key) ? 2 : 1));
  }
  if (op.client >= clients_.size()) return;  // the final reads
  KnownElements& known = clients_[op.client].elements[op.key];
  const bool integer = op.reply.kind == RespReply::Kind::integer;
  switch (op.kind) {
    case OpKind::sadd:
    case OpKind::hset:
    case OpKind::zadd:
      if (integer) remember(known.present, op.element, kMaxKnown);
      break;
    case OpKind::srem:
    case OpKind::hdel:
    case OpKind::zrem:
      if (integer && op.reply.integer > 0) remember(known.removed, op.element, kMaxRemoved);
      break;
    case OpKind::smembers:
    case OpKind::hgetall:
    case OpKind::zrange: {
      if (op.reply.kind != RespReply::Kind::array) break;
      known.present.clear();
      const std::size_t step = op.kind == OpKind::smembers ? 1 : 2;
      for (std::size_t i = 0; i < op.reply.elements.size(); i += step) {
        const std::string& name = op.reply.elements[i].text;
        // Counter fields and members are never removed: the increments' bounds assume it.
        if (step == 2 && name.rfind('n', 0) == 0) continue;
        remember(known.present, name, kMaxKnown);
      }
      break;
    }
    default:
      break;
  }
}

// Every hash, set, sorted set and list key through every ready node: a read that failed is sent
// again in the next round; one without a reply yet is waited for.
bool Workload::verify_collections(World& world, const std::vector<std::uint32_t>& nodes) {
  bool done = true;
  for (std::uint32_t key = collections_from(); key < transfers_from(); ++key) {
    // One client id past the workload's clients and the counters' readers per key.
    const std::uint32_t client =
        static_cast<std::uint32_t>(clients_.size()) + options_.counters + key - collections_from();
    for (const std::uint32_t node : nodes) {
      std::vector<std::uint64_t>& ids = final_reads_[{key, node}];
      if (!ids.empty()) {
        const Outcome last = ops_.at(ids.back() - 1).outcome;
        if (last == Outcome::ok) continue;
        done = false;
        if (last == Outcome::pending) continue;
      }
      done = false;
      const OpKind kind = is_hash(key)   ? OpKind::hgetall
                          : is_zset(key) ? OpKind::zrange
                          : is_list(key) ? OpKind::lrange
                                         : OpKind::smembers;
      const auto [id, bytes] = record(world, client, node, kind, key);
      ids.push_back(id);
      world.call(node, [&](Process& p, TimePoint local) {
        if (NodeProcess* n = p.node()) n->send(local, client, id, bytes);
      });
    }
  }
  return done;
}

void Workload::check_collections(WorkloadReport& r) {
  std::vector<ElementCommand> commands;
  for (const OpRecord& op : ops_) {
    ElementCommand x;
    switch (op.kind) {
      case OpKind::sadd:
      case OpKind::hset:
      case OpKind::zadd:
        x.kind = ElementCommand::Kind::add;
        break;
      case OpKind::srem:
      case OpKind::hdel:
      case OpKind::zrem:
        x.kind = ElementCommand::Kind::remove;
        break;
      case OpKind::hincrby:
      case OpKind::zincrby:
        x.kind = ElementCommand::Kind::incr;
        break;
      default:
        continue;
    }
    x.id = op.id;
    x.key = keys_.at(op.key);
    x.element = op.element;
    x.value = op.value;
    x.invoked = op.invoked;
    x.returned = op.returned;
    // ZINCRBY answers the new score as a bulk string, the others an integer.
    const RespReply::Kind answer =
        op.kind == OpKind::zincrby ? RespReply::Kind::bulk : RespReply::Kind::integer;
    x.acked = op.outcome == Outcome::ok && op.reply.kind == answer;
    x.reply = op.reply.integer;
    commands.push_back(std::move(x));
  }
  std::vector<FinalRead> reads;
  std::set<std::uint32_t> read_keys;
  for (const auto& [where, ids] : final_reads_) {
    const OpRecord& op = ops_.at(ids.back() - 1);
    if (is_list(op.key)) continue;  // check_lists (workload_lists.cpp)
    if (op.outcome != Outcome::ok || op.reply.kind != RespReply::Kind::array) continue;
    FinalRead read;
    read.id = op.id;
    read.key = keys_.at(op.key);
    read.node = op.node;
    read.invoked = op.invoked;
    read.returned = op.returned;
    const auto& e = op.reply.elements;
    if (op.kind != OpKind::smembers) {  // HGETALL, ZRANGE WITHSCORES: name, value
      for (std::size_t i = 0; i + 1 < e.size(); i += 2) read.elements[e[i].text] = e[i + 1].text;
    } else {
      for (const RespReply& m : e) read.elements[m.text];
    }
    read_keys.insert(op.key);
    reads.push_back(std::move(read));
  }
  r.collections = sim::check_collections(
      commands, reads, [this](std::uint64_t id) { return describe(ops_.at(id - 1)); });
  r.collections.keys = lists_from() - collections_from();
  r.collections.unread = r.collections.keys - read_keys.size();
  for (auto& sample : r.collections.samples) note(sample);
}

}  // namespace apiary::sim
