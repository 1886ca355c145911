// The workload's end-of-run checks: convergence of every key's owners, counters, SET NX
// winners and linearizability of the register keys (docs/simulator.md, "Data checkers").
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <limits>
#include <tuple>

#include "apiary/data/collection.hpp"
#include "apiary/sim/linearizability.hpp"
#include "apiary/sim/workload.hpp"

namespace apiary::sim {

namespace {

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

// A version's siblings as comparable values: (actor, counter, value), sorted; the value of a
// hash or a set is its whole state (elements, their versions, the causal context).
std::vector<std::tuple<std::uint64_t, std::uint64_t, std::string>> sibling_set(
    const std::optional<store::VersionedEntry>& e) {
  std::vector<std::tuple<std::uint64_t, std::uint64_t, std::string>> out;
  if (!e) return out;
  for (const auto& s : e->version.siblings()) {
    out.emplace_back(s.dot.actor.value, s.dot.counter,
                     s.collection ? s.collection->encode() : s.value);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<std::int64_t> integer_of(const RespReply& r) {
  if (r.kind == RespReply::Kind::integer) return r.integer;
  if (r.kind == RespReply::Kind::nil) return 0;  // GET of a counter nobody incremented
  if (r.kind != RespReply::Kind::bulk) return std::nullopt;
  std::int64_t v = 0;
  const auto [p, ec] = std::from_chars(r.text.data(), r.text.data() + r.text.size(), v);
  if (ec != std::errc() || p != r.text.data() + r.text.size()) return std::nullopt;
  return v;
}

TimePoint add(TimePoint t, Duration d) { return t >= kNever - d ? kNever : t + d; }

}  // namespace

std::string Workload::describe(const OpRecord& op) const {
  static constexpr const char* kNames[] = {
      "GET",      "SET",    "SET NX",         "DEL",           "INCR",       "SADD",        "SREM",
      "SMEMBERS", "HSET",   "HDEL",           "HINCRBY",       "HGETALL",    "ZADD",        "ZREM",
      "ZINCRBY",  "ZRANGE", "LPUSH",          "RPUSH",         "LPOP",       "RPOP",        "BLPOP",
      "BRPOP",    "LRANGE", "MULTI-TRANSFER", "EVAL-TRANSFER", "MULTI-READ", "EVAL_RO-READ"};
  char buf[96];
  std::snprintf(buf, sizeof buf, "#%llu %s %s", static_cast<unsigned long long>(op.id),
                kNames[static_cast<int>(op.kind)], keys_.at(op.key).c_str());
  std::string out = buf;
  if (!op.element.empty()) out += " " + op.element;
  if (!op.value.empty()) out += " " + op.value;
  std::snprintf(buf, sizeof buf, " @%s [%.4fs..", node_name(op.node).c_str(),
                seconds(op.invoked - from_));
  out += buf;
  if (op.outcome == Outcome::ok || op.outcome == Outcome::error) {
    std::snprintf(buf, sizeof buf, "%.4fs] -> ", seconds(op.returned - from_));
    std::string reply = op.reply.describe();
    if (reply.size() > 200) {  // a whole set or hash
      reply =
          reply.substr(0, 160) + "... (" + std::to_string(op.reply.elements.size()) + " elements)";
    }
    out += buf + reply + (op.late ? " (late)" : "");
  } else {
    out += "] -> no reply";
  }
  return out;
}

// The measured window minus the neighbourhood of every fault.
std::vector<Workload::Window> Workload::stable_windows(const World& world) const {
  std::vector<Window> unstable;
  for (const Disturbance& d : world.disturbances()) {
    const TimePoint lo = d.from - std::min(options_.stable_before, d.from - TimePoint{});
    unstable.push_back(Window{lo, add(d.to, options_.stable_after), {}});
  }
  std::sort(unstable.begin(), unstable.end(),
            [](const Window& a, const Window& b) { return a.from < b.from; });
  std::vector<Window> out;
  TimePoint at = from_;
  const TimePoint end = add(stop_, options_.op_timeout);
  for (const Window& u : unstable) {
    if (u.from > at) out.push_back(Window{at, std::min(u.from, end), {}});
    at = std::max(at, u.to);
    if (at >= end) break;
  }
  if (at < end) out.push_back(Window{at, end, {}});
  out.erase(std::remove_if(out.begin(), out.end(), [](const Window& w) { return w.to <= w.from; }),
            out.end());
  return out;
}

bool Workload::Window::holds(const OpRecord& op) const {
  return side.empty() || std::binary_search(side.begin(), side.end(), op.node);
}

// During a split start each side is a cluster of its own: its own coordinator per key, its
// own copy of every counter. So the quiet-cluster checks (SET NX, INCR order,
// linearizability) hold within each side, on the commands sent through its nodes, from the
// start of the workload until the heal, minus the neighbourhood of every other fault.
std::vector<Workload::Window> Workload::split_windows(const World& world) const {
  const auto& rule = world.split_start();
  if (!rule || !world.split_disturbance()) return {};
  std::vector<std::uint32_t> a = rule->side_a;
  std::vector<std::uint32_t> b = rule->side_b;
  if (rule->b_is_rest) {
    b.clear();
    for (std::uint32_t n = 0; n < world.initial_nodes(); ++n) {
      if (std::find(a.begin(), a.end(), n) == a.end()) b.push_back(n);
    }
  }
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  TimePoint end = add(stop_, options_.op_timeout);
  if (const auto healed = world.split_healed_at()) {
    end = std::min(end, *healed - std::min(options_.stable_before, *healed - TimePoint{}));
  }
  std::vector<Window> unstable;
  const auto& all = world.disturbances();
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (i == *world.split_disturbance()) continue;
    const Disturbance& d = all[i];
    const TimePoint lo = d.from - std::min(options_.stable_before, d.from - TimePoint{});
    unstable.push_back(Window{lo, add(d.to, options_.stable_after), {}});
  }
  std::sort(unstable.begin(), unstable.end(),
            [](const Window& x, const Window& y) { return x.from < y.from; });
  std::vector<Window> spans;
  TimePoint at = from_;
  for (const Window& u : unstable) {
    if (at >= end) break;
    if (u.from > at) spans.push_back(Window{at, std::min(u.from, end), {}});
    at = std::max(at, u.to);
  }
  if (at < end) spans.push_back(Window{at, end, {}});
  std::vector<Window> out;
  for (const Window& w : spans) {
    if (w.to <= w.from) continue;
    for (const auto* side : {&a, &b}) {
      if (!side->empty()) out.push_back(Window{w.from, w.to, *side});
    }
  }
  return out;
}

void Workload::check_convergence(World& world, WorkloadReport& r) {
  const TimePoint now = world.now();
  for (const std::string& key : keys_) {
    // Every running owner's copy must hold the same siblings.
    bool converged = true;
    bool first = true;
    std::vector<std::tuple<std::uint64_t, std::uint64_t, std::string>> reference;
    for (const auto& owner : owners_at(now, key)) {
      const auto index = parse_node_index(owner);
      Process* p = index ? world.process(*index) : nullptr;
      NodeProcess* node = p == nullptr ? nullptr : p->node();
      if (node == nullptr) continue;
      const auto entry = node->core().store().export_entry(
          key, NodeProcess::wall_of(world.local_time(*index, now)));
      const auto set = sibling_set(entry);
      r.max_siblings = std::max<std::uint64_t>(r.max_siblings, set.size());
      if (first) {
        reference = set;
        first = false;
      } else if (set != reference) {
        converged = false;
      }
    }
    if (converged) {
      ++r.converged_keys;
    } else {
      note(key + ": its owners hold different siblings at the end");
    }
  }
  for (auto n : ring_) {
    Process* p = world.process(n);
    if (NodeProcess* node = p == nullptr ? nullptr : p->node()) {
      r.forwarded += node->core().router().stats().forwarded;
    }
  }
}

void Workload::check_counters(const std::vector<Window>& windows, WorkloadReport& r) {
  for (std::uint32_t c = 0; c < options_.counters; ++c) {
    const std::uint32_t key = options_.keys + c;
    const std::string& name = keys_[key];
    const OpRecord* read = nullptr;
    if (auto it = verify_reads_.find(key); it != verify_reads_.end())
      read = &ops_.at(it->second - 1);
    std::optional<std::int64_t> final_value;
    if (read != nullptr && read->outcome == Outcome::ok) final_value = integer_of(read->reply);
    // The final read must count every INCR acknowledged before it started, and may count every
    // other one that started before it returned (a late or lost reply, an error).
    std::uint64_t acked = 0, ambiguous = 0, must = 0, may = 0;
    std::vector<const OpRecord*> incrs;
    for (const OpRecord& op : ops_) {
      if (op.key != key || op.kind != OpKind::incr) continue;
      if (op.outcome == Outcome::ok) {
        ++acked;
        incrs.push_back(&op);
      } else {
        ++ambiguous;
      }
      if (!final_value) continue;
      if (op.outcome == Outcome::ok && op.returned < read->invoked) ++must;
      if (op.invoked <= read->returned) ++may;
    }
    r.increments_acked += acked;
    r.increments_ambiguous += ambiguous;
    if (!final_value) {
      ++r.counters_unread;
      note(name + ": the final read through the cluster got no value");
    } else if (*final_value < static_cast<std::int64_t>(must) ||
               *final_value > static_cast<std::int64_t>(may)) {
      ++r.counter_violations;
      note(name + " = " + std::to_string(*final_value) + " at the end (" + describe(*read) +
           "), outside [" + std::to_string(must) + ", " + std::to_string(may) +
           "]: INCRs acknowledged before the read, and every INCR sent before it returned");
    }
    // In a stable window one coordinator runs every INCR of the key in turn: values are
    // distinct, and one that started after another returned is larger.
    for (const Window& w : windows) {
      std::vector<const OpRecord*> in;
      for (const OpRecord* op : incrs) {
        if (op->invoked >= w.from && op->returned <= w.to && integer_of(op->reply) &&
            w.holds(*op)) {
          in.push_back(op);
        }
      }
      std::vector<const OpRecord*> by_return = in;
      std::sort(by_return.begin(), by_return.end(),
                [](const OpRecord* a, const OpRecord* b) { return a->returned < b->returned; });
      std::size_t next = 0;
      std::int64_t max_before = std::numeric_limits<std::int64_t>::min();
      const OpRecord* max_op = nullptr;
      std::map<std::int64_t, const OpRecord*> seen;
      for (const OpRecord* op : in) {  // in invocation order (ops_ is)
        while (next < by_return.size() && by_return[next]->returned < op->invoked) {
          const std::int64_t v = *integer_of(by_return[next]->reply);
          if (v > max_before) {
            max_before = v;
            max_op = by_return[next];
          }
          ++next;
        }
        const std::int64_t v = *integer_of(op->reply);
        const auto [dup, fresh] = seen.emplace(v, op);
        if (v <= max_before || !fresh) {
          ++r.counter_order_violations;
          note(name + ": " + describe(*op) + " after " + describe(fresh ? *max_op : *dup->second));
        }
      }
    }
  }
}

void Workload::check_set_nx(const std::vector<Window>& windows, WorkloadReport& r) {
  constexpr std::int64_t kOpen = std::numeric_limits<std::int64_t>::max();
  for (std::uint32_t key = 0; key < options_.keys; ++key) {
    std::vector<const OpRecord*> wins;
    std::vector<std::pair<std::int64_t, std::int64_t>> dels;  // may have removed the key
    for (const OpRecord& op : ops_) {
      if (op.key != key) continue;
      if (op.kind == OpKind::set_nx && op.outcome == Outcome::ok && op.reply.is_ok()) {
        wins.push_back(&op);
      } else if (op.kind == OpKind::del &&
                 !(op.outcome == Outcome::ok && op.reply.kind == RespReply::Kind::integer &&
                   op.reply.integer == 0)) {
        dels.emplace_back(to_nanos(op.invoked),
                          op.outcome == Outcome::ok ? to_nanos(op.returned) : kOpen);
      }
    }
    r.set_nx_wins += wins.size();
    std::sort(wins.begin(), wins.end(),
              [](const OpRecord* a, const OpRecord* b) { return a->returned < b->returned; });
    // A DEL fits between `a` and `b` when it can take effect after a's and before b's. Equal
    // times may be in either order (a command the node runs locally with W=1 takes no time).
    auto fits = [&](const OpRecord* a, const OpRecord* b) {
      const std::int64_t lo = to_nanos(a->invoked), hi = to_nanos(b->returned);
      return std::any_of(dels.begin(), dels.end(), [&](const auto& d) {
        return std::max(lo, d.first) <= std::min(hi, d.second);
      });
    };
    for (std::size_t i = 1; i < wins.size(); ++i) {
      const OpRecord* a = wins[i - 1];
      const OpRecord* b = wins[i];
      if (fits(a, b) || fits(b, a)) continue;
      const bool stable = std::any_of(windows.begin(), windows.end(), [&](const Window& w) {
        return a->invoked >= w.from && b->invoked >= w.from && a->returned <= w.to &&
               b->returned <= w.to && w.holds(*a) && w.holds(*b);
      });
      if (!stable) {
        ++r.set_nx_double_wins_unstable;
        continue;
      }
      ++r.set_nx_double_wins;
      note("two SET NX winners with no DEL between: " + describe(*a) + "; " + describe(*b));
    }
  }
}

// The last moment a write can take effect: its reply (an error reply comes after the
// coordinator ran it, or knew it would not), else its invocation plus the client's timeout.
// Within a stable window no message waits longer than a link's latency and a forwarded write
// goes to a second node only when the first refused it unrun, so a write that was not run by
// then never is (windows exclude pauses and partitions, which can hold a command back).
TimePoint Workload::latest_effect(const OpRecord& op) const {
  if (op.outcome == Outcome::ok || op.outcome == Outcome::error) return op.returned;
  return add(op.invoked, options_.op_timeout);
}

void Workload::check_linearizability(const std::vector<Window>& windows, WorkloadReport& r) {
  r.linearizability_claimed = options_.read_quorum >= 2 || options_.replicas == 1;
  std::vector<bool> judged(ops_.size(), false);
  for (std::uint32_t key = 0; key < options_.keys; ++key) {
    std::vector<const OpRecord*> key_ops;
    for (const OpRecord& op : ops_) {
      if (op.key == key) key_ops.push_back(&op);
    }
    for (const Window& w : windows) {
      std::vector<RegisterOp> history;
      for (const OpRecord* op : key_ops) {
        if (!w.holds(*op)) continue;
        const bool ambiguous = op->ambiguous() || op->reply.is_error();
        RegisterOp x;
        x.id = op->id;
        x.invoked = to_nanos(std::max(op->invoked, w.from));
        if (op->kind == OpKind::get) {
          // A failed read constrains nothing; a read must lie wholly inside the window.
          if (ambiguous || op->invoked < w.from || op->returned > w.to) continue;
          if (op->reply.kind == RespReply::Kind::bulk) {
            x.value = op->reply.text;
          } else if (op->reply.kind != RespReply::Kind::nil) {
            continue;  // not a string reply: nothing to check
          }
          x.returned = to_nanos(op->returned);
        } else {
          if (op->kind == OpKind::incr || op->invoked > w.to) continue;
          // Finished before the window: part of its unknown initial state. An ambiguous write
          // from before the window is left out too (see docs/simulator.md).
          if (op->invoked < w.from && (ambiguous || op->returned < w.from)) continue;
          x.kind = op->kind == OpKind::set      ? RegisterOp::Kind::set
                   : op->kind == OpKind::set_nx ? RegisterOp::Kind::set_nx
                                                : RegisterOp::Kind::del;
          if (!op->value.empty()) x.value = op->value;
          const bool inside = op->invoked >= w.from && !ambiguous && op->returned <= w.to;
          x.ambiguous = !inside;
          x.returned = to_nanos(latest_effect(*op));
          x.won = op->kind == OpKind::set_nx
                      ? op->reply.is_ok()
                      : op->reply.kind == RespReply::Kind::integer && op->reply.integer > 0;
        }
        judged[op->id - 1] = true;
        history.push_back(std::move(x));
      }
      if (history.empty()) continue;
      ++r.histories_checked;
      r.ops_checked += history.size();
      const auto result = check_register(history, true, options_.max_search);
      if (result.verdict == LinearizabilityResult::Verdict::skipped) {
        ++r.histories_skipped;
        continue;
      }
      if (result.verdict == LinearizabilityResult::Verdict::linearizable) continue;
      ++r.linearizability_violations;
      const OpRecord& bad = ops_.at(result.failed_op - 1);
      std::string what = keys_[key] + " not linearizable in the stable window " +
                         (w.side.empty() ? std::string() : "(one side of the split) ") + "[" +
                         std::to_string(seconds(w.from - from_)) + "s, " +
                         std::to_string(seconds(w.to - from_)) + "s]: no order explains " +
                         describe(bad) + "; before it:";
      // The key's writes that may come just before it, and its concurrent commands.
      std::size_t shown = 0;
      for (auto it = key_ops.rbegin(); it != key_ops.rend() && shown < 6; ++it) {
        const OpRecord* op = *it;
        if (op->id == bad.id || op->invoked > bad.returned) continue;
        if (op->kind == OpKind::get && op->returned < bad.invoked) continue;
        what += " " + describe(*op) + ";";
        ++shown;
      }
      note(what);
    }
  }
  for (const OpRecord& op : ops_) {
    if (op.key < options_.keys && !judged[op.id - 1] &&
        !(op.kind == OpKind::get && op.ambiguous())) {
      ++r.ops_unstable;
    }
  }
}

// Durability: a write acknowledged before a fault (a crash, a restart: a power loss for disks)
// is not undone by it. For every fault and register key, take the write of the key that was
// acknowledged last before the fault; the first read that starts after the fault ends must
// return its value, or the value of a write that may have taken effect after it (one that
// overlapped it, followed it, or never got a reply) -- never the value of a write known to
// precede it, nor nothing when it set a value.
void Workload::check_durability(const World& world, WorkloadReport& r) {
  if (options_.appendfsync.empty()) return;
  // What the key holds after `op` took effect (nullopt: no value); a SET NX that lost wrote
  // nothing and is not a write here.
  auto is_write = [](const OpRecord& op) {
    if (op.kind == OpKind::get || op.kind == OpKind::incr) return false;
    return !(op.kind == OpKind::set_nx && op.outcome == Outcome::ok && !op.reply.is_ok());
  };
  auto value_after = [](const OpRecord& op) -> std::optional<std::string> {
    if (op.kind == OpKind::del) return std::nullopt;
    return op.value;
  };
  for (const Disturbance& d : world.disturbances()) {
    for (std::uint32_t key = 0; key < options_.keys; ++key) {
      const OpRecord* last = nullptr;
      for (const OpRecord& op : ops_) {
        if (op.key != key || !is_write(op) || op.outcome != Outcome::ok) continue;
        if (op.returned >= d.from) continue;
        if (last == nullptr || op.returned > last->returned) last = &op;
      }
      if (last == nullptr) continue;
      const OpRecord* read = nullptr;
      for (const OpRecord& op : ops_) {
        if (op.key == key && op.kind == OpKind::get && op.outcome == Outcome::ok &&
            op.invoked >= d.to) {
          read = &op;
          break;
        }
      }
      if (read == nullptr) continue;
      std::vector<std::optional<std::string>> allowed{value_after(*last)};
      for (const OpRecord& op : ops_) {
        if (op.key != key || !is_write(op) || &op == last || op.invoked > read->returned) continue;
        const bool precedes = op.outcome == Outcome::ok && op.returned < last->invoked;
        if (!precedes) allowed.push_back(value_after(op));
      }
      std::optional<std::string> got;
      if (read->reply.kind != RespReply::Kind::nil) got = read->reply.text;
      ++r.durability_checked;
      if (std::find(allowed.begin(), allowed.end(), got) == allowed.end()) {
        ++r.durability_violations;
        note(keys_[key] + ": after the fault at " + std::to_string(seconds(d.from - from_)) +
             "s the first read " + describe(*read) + " missed the acknowledged " + describe(*last));
      }
    }
  }
}

WorkloadReport Workload::finish(World& world) {
  WorkloadReport r = report_;
  report_.samples.clear();
  r.samples.clear();
  r.keys = keys_.size();
  r.counter_keys = options_.counters;
  for (const TimePoint t : open_handoffs_) {
    (void)t;
    r.handoff_s.push_back(-1.0);
  }
  r.heal_handoff_s.insert(r.heal_handoff_s.end(), open_heals_.size(), -1.0);
  const auto windows = stable_windows(world);
  r.stable_windows = windows.size();
  for (const Window& w : windows) r.stable_s += seconds(w.to - w.from);
  // The quiet-cluster checks also judge each side of a split start on its own.
  auto judged = windows;
  for (Window& w : split_windows(world)) {
    r.split_stable_s += seconds(w.to - w.from);
    judged.push_back(std::move(w));
  }
  check_transfers(world, r);  // first: its samples name money lost or made, if any
  check_convergence(world, r);
  check_counters(judged, r);
  check_set_nx(judged, r);
  check_linearizability(judged, r);
  check_durability(world, r);
  check_collections(r);
  check_lists(world, windows, r);
  r.samples = std::move(report_.samples);
  if (pubsub_) {
    std::vector<PubSubWorkload::Window> w;
    for (const Window& x : windows) w.push_back({x.from, x.to});
    pubsub_->check(w, r.pubsub);
    // Its violations first: the other checkers' samples are kept after them, up to ten.
    std::vector<std::string> samples = std::move(r.pubsub.samples);
    r.pubsub.samples.clear();
    for (auto& s : r.samples) {
      if (samples.size() >= 10) break;
      samples.push_back(std::move(s));
    }
    r.samples = std::move(samples);
  }
  return r;
}

}  // namespace apiary::sim
