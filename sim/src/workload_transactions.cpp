// The transfer workload's clients (WorkloadOptions::transfers; docs/simulator.md, "Transfers"):
// pair p's accounts {acct:p}:a and {acct:p}:b share a hash tag, so one coordinator runs every
// transaction and script on them. A transfer moves an amount x from a to b, alternately as one
// pipelined batch MULTI / DECRBY a x / INCRBY b x / EXEC (APIARY.EXEC at the coordinator) and
// as one EVAL (APIARY.EVAL); one command in five instead reads both accounts atomically, with
// MULTI GET a GET b EXEC or EVAL_RO. Both accounts are counters (merged by adding per actor),
// so if every transaction and script is applied as one unit, a + b == 0 always holds, in every
// copy, whatever was acknowledged, refused or lost. The checks are in transfer_checks.cpp.
#include "apiary/sim/workload.hpp"

namespace apiary::sim {

namespace {

constexpr std::string_view kTransferScript =
    "redis.call('DECRBY', KEYS[1], ARGV[1]) redis.call('INCRBY', KEYS[2], ARGV[1]) return 1";
constexpr std::string_view kAuditScript =
    "return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2])}";
constexpr double kAuditShare = 0.2;  // of the transfer workload's commands
constexpr std::uint64_t kMaxAmount = 100;

}  // namespace

Workload::OpKind Workload::pick_transfer_op(std::uint32_t& key) {
  key = transfers_from() + 2 * static_cast<std::uint32_t>(rng_.uniform(options_.transfers));
  if (rng_.unit() < kAuditShare) {
    return rng_.unit() < 0.5 ? OpKind::audit_multi : OpKind::audit_eval;
  }
  return transfers_sent_++ % 2 == 0 ? OpKind::transfer_multi : OpKind::transfer_eval;
}

std::string Workload::transfer_command(OpRecord& op) {
  const std::string& a = keys_.at(op.key);
  const std::string& b = keys_.at(op.key + 1);
  TransferReport& t = report_.transfers;
  switch (op.kind) {
    case OpKind::transfer_multi:
      ++t.multi;
      op.value = std::to_string(1 + rng_.uniform(kMaxAmount));
      if (options_.transfers_unsafe) {
        return encode_command({"PING"}) + encode_command({"DECRBY", a, op.value}) +
               encode_command({"PING"}) + encode_command({"PING"});
      }
      return encode_command({"MULTI"}) + encode_command({"DECRBY", a, op.value}) +
             encode_command({"INCRBY", b, op.value}) + encode_command({"EXEC"});
    case OpKind::transfer_eval:
      ++t.eval;
      op.value = std::to_string(1 + rng_.uniform(kMaxAmount));
      return encode_command({"EVAL", kTransferScript, "2", a, b, op.value});
    case OpKind::audit_multi:
      ++t.reads;
      return encode_command({"MULTI"}) + encode_command({"GET", a}) + encode_command({"GET", b}) +
             encode_command({"EXEC"});
    default:
      ++t.reads;
      return encode_command({"EVAL_RO", kAuditScript, "2", a, b});
  }
}

bool Workload::take_queued(OpRecord& op, const RespReply& reply) {
  if (!is_pipelined(op.kind) || op.queued.size() >= 3) return false;
  op.queued.push_back(reply);
  return true;
}

}  // namespace apiary::sim
