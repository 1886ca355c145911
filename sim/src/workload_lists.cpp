// The workload's list keys, used as queues: which command a client sends, and the hand-over of
// the commands and the final reads (LRANGE 0 -1 through every node, verify_collections) to
// check_lists() (list_checks.hpp).
#include <cstdio>
#include <set>

#include "apiary/sim/list_checks.hpp"
#include "apiary/sim/workload.hpp"

namespace apiary::sim {

namespace {

// Over this many elements in a read of a list, pushes turn into pops: an LRANGE reply must
// fit the client's parser (RespLimits: 4096 strings).
constexpr std::size_t kMaxListElements = 1000;

std::vector<std::string> split(const std::string& joined) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < joined.size()) {
    std::size_t end = joined.find(' ', at);
    if (end == std::string::npos) end = joined.size();
    out.push_back(joined.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

}  // namespace

// 40% pushes (RPUSH 3 in 4), 40% pops (`blocking_ratio` of them BLPOP or BRPOP, the others
// LPOP or RPOP, a third of those with a count), 20% LRANGE 0 -1. Pushes add about as many
// elements as pops take, so the lists stay short and the blocking pops often wait.
Workload::OpKind Workload::pick_list_op(std::uint32_t key) {
  const double u = rng_.unit();
  OpKind kind = u < 0.3   ? OpKind::rpush
                : u < 0.4 ? OpKind::lpush
                : u < 0.8 ? OpKind::lpop
                          : OpKind::lrange;
  const auto large = largest_read_.find(key);
  if (kind != OpKind::lrange && large != largest_read_.end() && large->second > kMaxListElements) {
    kind = OpKind::lpop;
  }
  if (kind != OpKind::lpop) return kind;
  const bool left = rng_.unit() < 0.6;
  if (rng_.unit() < options_.blocking_ratio) return left ? OpKind::blpop : OpKind::brpop;
  return left ? OpKind::lpop : OpKind::rpop;
}

std::string Workload::list_command(OpRecord& op) {
  const std::string& k = keys_.at(op.key);
  const std::string id = std::to_string(op.id);
  switch (op.kind) {
    case OpKind::lpush:
    case OpKind::rpush: {
      ++report_.pushes;
      // Elements no other command writes; one push in four sends two.
      op.count = rng_.unit() < 0.25 ? 2 : 1;
      op.element = "e" + id;
      const std::string second = "e" + id + ".1";
      const char* name = op.kind == OpKind::lpush ? "LPUSH" : "RPUSH";
      if (op.count == 2) {
        op.element += " " + second;
        return encode_command({name, k, "e" + id, second});
      }
      return encode_command({name, k, op.element});
    }
    case OpKind::lpop:
    case OpKind::rpop: {
      ++report_.pops;
      const char* name = op.kind == OpKind::lpop ? "LPOP" : "RPOP";
      if (rng_.unit() < 1.0 / 3) {
        op.count = 2 + static_cast<std::uint32_t>(rng_.uniform(2));
        op.value = std::to_string(op.count);
        return encode_command({name, k, op.value});
      }
      return encode_command({name, k});
    }
    case OpKind::blpop:
    case OpKind::brpop: {
      ++report_.blocking_pops;
      const auto lo =
          std::chrono::duration_cast<std::chrono::milliseconds>(options_.block_timeout_min).count();
      const auto hi =
          std::chrono::duration_cast<std::chrono::milliseconds>(options_.block_timeout_max).count();
      const auto ms = lo + static_cast<std::int64_t>(rng_.uniform(
                               static_cast<std::uint64_t>(std::max<std::int64_t>(hi - lo + 1, 1))));
      op.block = std::chrono::milliseconds(ms);
      char timeout[32];
      std::snprintf(timeout, sizeof timeout, "%.3f", static_cast<double>(ms) / 1000.0);
      op.value = timeout;
      return encode_command({op.kind == OpKind::blpop ? "BLPOP" : "BRPOP", k, op.value});
    }
    case OpKind::lrange:
      ++report_.lranges;
      return encode_command({"LRANGE", k, "0", "-1"});
    default:
      return {};
  }
}

void Workload::check_lists(const World& world, const std::vector<Window>& windows,
                           WorkloadReport& r) {
  std::vector<ListCommand> commands;
  std::vector<ListRead> reads;
  std::set<std::uint32_t> read_keys;
  std::set<std::uint64_t> final_ids;
  for (const auto& [where, ids] : final_reads_) {
    if (!is_list(where.first)) continue;
    const OpRecord& op = ops_.at(ids.back() - 1);
    for (const std::uint64_t id : ids) final_ids.insert(id);
    if (op.outcome != Outcome::ok || op.reply.kind != RespReply::Kind::array) continue;
    ListRead read{op.id, keys_.at(op.key), op.node, op.invoked, op.returned, {}};
    for (const RespReply& e : op.reply.elements) read.elements.push_back(e.text);
    read_keys.insert(op.key);
    reads.push_back(std::move(read));
  }
  for (const OpRecord& op : ops_) {
    if (!is_list(op.key) || final_ids.count(op.id) != 0) continue;
    ListCommand c;
    c.id = op.id;
    c.key = keys_.at(op.key);
    c.node = op.node;
    c.invoked = op.invoked;
    c.returned = op.returned;
    c.count = std::max<std::uint32_t>(op.count, 1);
    c.timeout = op.block;
    const RespReply& reply = op.reply;
    const bool answered = op.outcome == Outcome::ok || op.outcome == Outcome::error;
    c.answer = answered ? ListCommand::Answer::error : ListCommand::Answer::none;
    const bool ok = op.outcome == Outcome::ok;
    switch (op.kind) {
      case OpKind::lpush:
      case OpKind::rpush:
        c.kind = ListCommand::Kind::push;
        c.elements = split(op.element);
        if (ok && reply.kind == RespReply::Kind::integer) c.answer = ListCommand::Answer::values;
        break;
      case OpKind::lrange:
        c.kind = ListCommand::Kind::read;
        if (ok && reply.kind == RespReply::Kind::array) {
          c.answer = ListCommand::Answer::values;
          for (const RespReply& e : reply.elements) c.elements.push_back(e.text);
        }
        break;
      case OpKind::blpop:
      case OpKind::brpop:
        c.kind = ListCommand::Kind::blocking_pop;
        if (ok && reply.kind == RespReply::Kind::nil) c.answer = ListCommand::Answer::null;
        if (ok && reply.kind == RespReply::Kind::array && reply.elements.size() == 2) {
          c.answer = ListCommand::Answer::values;
          c.elements.push_back(reply.elements[1].text);
        }
        break;
      default:  // LPOP, RPOP
        c.kind = ListCommand::Kind::pop;
        if (ok && reply.kind == RespReply::Kind::nil) c.answer = ListCommand::Answer::null;
        if (ok && op.count == 0 && reply.kind == RespReply::Kind::bulk) {
          c.answer = ListCommand::Answer::values;
          c.elements.push_back(reply.text);
        }
        if (ok && op.count > 0 && reply.kind == RespReply::Kind::array) {
          c.answer = ListCommand::Answer::values;
          for (const RespReply& e : reply.elements) c.elements.push_back(e.text);
        }
        break;
    }
    commands.push_back(std::move(c));
  }
  ListCheckRules rules;
  rules.bound = options_.op_timeout;
  // A command is stable when it lay wholly inside a stable window: one coordinator ran it.
  rules.stable = [&](const ListCommand& c) {
    const TimePoint end = c.answer == ListCommand::Answer::none
                              ? c.invoked + options_.op_timeout + c.timeout
                              : c.returned;
    for (const Window& w : windows) {
      if (c.invoked >= w.from && end <= w.to) return true;
    }
    return false;
  };
  // Its client's node crashed, left or paused before the answer was due.
  rules.excused = [&](const ListCommand& c) {
    const TimePoint due = c.invoked + c.timeout + rules.bound;
    for (const auto& [node, at] : node_exits_) {
      if (node == c.node && at >= c.invoked && at <= due) return true;
    }
    for (const Disturbance& d : world.disturbances()) {
      if (d.node == c.node && d.from <= due && d.to >= c.invoked) return true;
    }
    return false;
  };
  rules.describe = [this](std::uint64_t id) { return describe(ops_.at(id - 1)); };
  r.lists = sim::check_lists(commands, reads, rules);
  r.lists.keys = options_.lists;
  r.lists.unread = options_.lists - read_keys.size();
  for (auto& sample : r.lists.samples) note(sample);
}

}  // namespace apiary::sim
