// The workload's hash and set keys: which command a client sends, what it learns from the
// replies, the final reads through every node, and the hand-over to check_collections()
// (collection_checks.hpp).
#include <algorithm>
#include <set>

#include "apiary/sim/collection_checks.hpp"
#include "apiary/sim/workload.hpp"

namespace apiary::sim {

namespace {

// Over this many elements in a read of a key, clients remove rather than add: an HGETALL
// reply holds two strings per field, and the RESP parser takes 4096 (RespLimits).
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
  const double u = rng_.unit();
  if (hash) {
    kind = u < 0.3   ? OpKind::hset
           : u < 0.5 ? OpKind::hdel
           : u < 0.7 ? OpKind::hincrby
                     : OpKind::hgetall;
  } else {
    kind = u < 0.35 ? OpKind::sadd : u < 0.6 ? OpKind::srem : OpKind::smembers;
  }
  const OpKind add = hash ? OpKind::hset : OpKind::sadd;
  const OpKind remove = hash ? OpKind::hdel : OpKind::srem;
  if (kind == OpKind::hincrby && options_.hash_counters == 0) kind = OpKind::hset;
  const auto large = largest_read_.find(key);
  if (kind == add && large != largest_read_.end() && large->second > kMaxElements) kind = remove;
  if (kind == remove && known.present.empty()) kind = add;
  if (kind == OpKind::hincrby) {
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
    largest = std::max(largest, op.reply.elements.size() / (is_hash(op.key) ? 2 : 1));
  }
  if (op.client >= clients_.size()) return;  // the final reads
  KnownElements& known = clients_[op.client].elements[op.key];
  const bool integer = op.reply.kind == RespReply::Kind::integer;
  switch (op.kind) {
    case OpKind::sadd:
    case OpKind::hset:
      if (integer) remember(known.present, op.element, kMaxKnown);
      break;
    case OpKind::srem:
    case OpKind::hdel:
      if (integer && op.reply.integer > 0) remember(known.removed, op.element, kMaxRemoved);
      break;
    case OpKind::smembers:
    case OpKind::hgetall: {
      if (op.reply.kind != RespReply::Kind::array) break;
      known.present.clear();
      const std::size_t step = op.kind == OpKind::hgetall ? 2 : 1;
      for (std::size_t i = 0; i < op.reply.elements.size(); i += step) {
        const std::string& name = op.reply.elements[i].text;
        // Counter fields are never deleted: HINCRBY's bounds assume no HDEL.
        if (op.kind == OpKind::hgetall && name.rfind('n', 0) == 0) continue;
        remember(known.present, name, kMaxKnown);
      }
      break;
    }
    default:
      break;
  }
}

// Every hash and set key through every ready node: a read that failed is sent again in the
// next round; one without a reply yet is waited for.
bool Workload::verify_collections(World& world, const std::vector<std::uint32_t>& nodes) {
  bool done = true;
  for (std::uint32_t key = collections_from(); key < keys_.size(); ++key) {
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
      const OpKind kind = is_hash(key) ? OpKind::hgetall : OpKind::smembers;
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
        x.kind = ElementCommand::Kind::add;
        break;
      case OpKind::srem:
      case OpKind::hdel:
        x.kind = ElementCommand::Kind::remove;
        break;
      case OpKind::hincrby:
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
    x.acked = op.outcome == Outcome::ok && op.reply.kind == RespReply::Kind::integer;
    x.reply = op.reply.integer;
    commands.push_back(std::move(x));
  }
  std::vector<FinalRead> reads;
  std::set<std::uint32_t> read_keys;
  for (const auto& [where, ids] : final_reads_) {
    const OpRecord& op = ops_.at(ids.back() - 1);
    if (op.outcome != Outcome::ok || op.reply.kind != RespReply::Kind::array) continue;
    FinalRead read;
    read.id = op.id;
    read.key = keys_.at(op.key);
    read.node = op.node;
    read.invoked = op.invoked;
    read.returned = op.returned;
    const auto& e = op.reply.elements;
    if (op.kind == OpKind::hgetall) {
      for (std::size_t i = 0; i + 1 < e.size(); i += 2) read.elements[e[i].text] = e[i + 1].text;
    } else {
      for (const RespReply& m : e) read.elements[m.text];
    }
    read_keys.insert(op.key);
    reads.push_back(std::move(read));
  }
  r.collections = sim::check_collections(
      commands, reads, [this](std::uint64_t id) { return describe(ops_.at(id - 1)); });
  r.collections.keys = keys_.size() - collections_from();
  r.collections.unread = r.collections.keys - read_keys.size();
  for (auto& sample : r.collections.samples) note(sample);
}

}  // namespace apiary::sim
