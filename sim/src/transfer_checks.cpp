// The transfer workload's checks (workload_transactions.cpp; docs/simulator.md, "Transfers").
// A transfer is one transaction or one script, applied and replicated as one unit, on two
// counters that merge by adding per actor, so:
//  - every atomic read of a pair (MULTI GET GET EXEC at the coordinator, EVAL_RO at an owner)
//    sees a + b == 0: a read holding one account's half of a transfer is torn (checked on every
//    answer, during the run, faults or not);
//  - at the end, in every running owner's store, a + b == 0 (money neither created nor
//    destroyed, whatever was acknowledged, refused or lost) and b lies in [amounts of the
//    acknowledged transfers, that + amounts of the ambiguous ones] (each applied at most once).
#include <charconv>
#include <optional>

#include "apiary/sim/workload.hpp"

namespace apiary::sim {

namespace {

// An account's value in a reply or a store: nullopt for a missing key (0), else the integer;
// `ok` false when it is neither.
struct Account {
  bool ok = true;
  std::optional<std::int64_t> value;
  std::int64_t or_zero() const { return value.value_or(0); }
};

Account account_of(std::optional<std::string_view> text) {
  if (!text) return {};
  std::int64_t v = 0;
  const char* end = text->data() + text->size();
  const auto [p, ec] = std::from_chars(text->data(), end, v);
  if (ec != std::errc() || p != end) return {false, std::nullopt};
  return {true, v};
}

Account account_of(const RespReply& r) {
  if (r.kind == RespReply::Kind::nil) return {};
  if (r.kind == RespReply::Kind::bulk) return account_of(std::optional<std::string_view>(r.text));
  if (r.kind == RespReply::Kind::integer) return {true, r.integer};
  return {false, std::nullopt};
}

bool queued_ok(const RespReply& r) {
  return r.kind == RespReply::Kind::simple && (r.text == "OK" || r.text == "QUEUED");
}

}  // namespace

bool Workload::transfer_acked(const OpRecord& op) const {
  if (op.outcome != Outcome::ok) return false;
  if (op.kind == OpKind::transfer_eval) {
    return op.reply.kind == RespReply::Kind::integer && op.reply.integer == 1;
  }
  return op.reply.kind == RespReply::Kind::array && op.reply.elements.size() == 2 &&
         op.reply.elements[0].kind == RespReply::Kind::integer &&
         op.reply.elements[1].kind == RespReply::Kind::integer;
}

void Workload::judge_audit(const OpRecord& op) {
  const RespReply& r = op.reply;
  if (r.kind != RespReply::Kind::array || r.elements.size() != 2) return;  // e.g. an abort
  const Account a = account_of(r.elements[0]);
  const Account b = account_of(r.elements[1]);
  if (!a.ok || !b.ok) return;  // an error element: the read did not happen
  ++report_.transfers.reads_ok;
  if (!a.value && !b.value) return;  // no transfer yet
  if (a.value && b.value && *a.value + *b.value == 0) return;
  ++report_.transfers.torn_reads;
  note(keys_.at(op.key) + ": torn read " + describe(op));
}

void Workload::check_transfers(World& world, WorkloadReport& r) {
  TransferReport& t = r.transfers;
  t.pairs = options_.transfers;
  if (t.pairs == 0) return;
  // Per pair: amounts acknowledged and ambiguous.
  std::vector<std::int64_t> acked(t.pairs, 0), ambiguous(t.pairs, 0);
  for (const OpRecord& op : ops_) {
    if (is_pipelined(op.kind)) {
      for (const RespReply& q : op.queued) {
        if (!queued_ok(q)) {
          ++t.queue_refused;
          note(keys_.at(op.key) + ": " + q.describe() + " while queueing " + describe(op));
          break;
        }
      }
    }
    if (!is_transfer(op.kind)) continue;
    const std::size_t pair = (op.key - transfers_from()) / 2;
    const std::int64_t amount = std::stoll(op.value);
    if (transfer_acked(op)) {
      ++t.acked;
      t.amount_acked += amount;
      acked[pair] += amount;
      continue;
    }
    ++t.ambiguous;
    t.amount_ambiguous += amount;
    ambiguous[pair] += amount;
    if (op.outcome == Outcome::ok && op.reply.kind == RespReply::Kind::array) {
      // EXEC ran the transaction but one command failed: the other one's half stays.
      ++t.exec_partial;
      note(keys_.at(op.key) + ": partial EXEC " + describe(op));
    }
  }
  const TimePoint now = world.now();
  for (std::uint32_t pair = 0; pair < t.pairs; ++pair) {
    const std::uint32_t key = transfers_from() + 2 * pair;
    const std::string& a_name = keys_.at(key);
    const std::string& b_name = keys_.at(key + 1);
    for (const auto& owner : owners_at(now, a_name)) {
      const auto index = parse_node_index(owner);
      Process* p = index ? world.process(*index) : nullptr;
      NodeProcess* node = p == nullptr ? nullptr : p->node();
      if (node == nullptr) continue;
      const WallTime wall = NodeProcess::wall_of(world.local_time(*index, now));
      auto& store = node->core().store();
      const Account a = account_of(store.get_value(a_name, wall));
      const Account b = account_of(store.get_value(b_name, wall));
      ++t.owners_checked;
      const std::string where = a_name + "/" + b_name + " on " + owner +
                                ": a=" + (a.value ? std::to_string(*a.value) : "nil") +
                                " b=" + (b.value ? std::to_string(*b.value) : "nil");
      if (!a.ok || !b.ok) {
        ++t.unreadable;
        note(where + " (not integers)");
        continue;
      }
      if (a.or_zero() + b.or_zero() != 0) {
        ++t.unbalanced;
        note(where + ": a + b != 0");
      }
      const std::int64_t lo = acked[pair];
      const std::int64_t hi = acked[pair] + ambiguous[pair];
      if (b.or_zero() < lo || b.or_zero() > hi) {
        ++t.out_of_bounds;
        note(where + ": b outside [" + std::to_string(lo) + ", " + std::to_string(hi) +
             "] (acknowledged, + ambiguous)");
      }
    }
  }
}

}  // namespace apiary::sim
