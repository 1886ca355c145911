// Workload: simulated Redis clients against the real nodes (NodeProcess, core::NodeCore), and
// the checkers that judge what they saw.
//
// `clients` closed-loop clients each keep one command in flight, sent as RESP bytes to a
// random running, unpaused node (each client has its own connection on every node it used):
// GET, SET (unique values "v<op id>"), SET NX and DEL on the register keys k0..k<keys-1>, INCR
// on the counter keys c0..c<counters-1>; SADD (new members "m<op id>", or one the client removed
// before), SREM (of a member the client added or read) and SMEMBERS on the set keys s0..;
// HSET (new fields "f<op id>" or one the client deleted, values "v<op id>"), HDEL (of a field
// the client wrote or read), HINCRBY by 1 on the counter fields n0.. and HGETALL on the hash
// keys h0..; ZADD (new members "m<op id>" with a random integer score, or one the client
// removed), ZREM, ZINCRBY by 1 on the counter members n0.. and ZRANGE 0 -1 WITHSCORES on the
// sorted set keys z0.. (workload_collections.cpp); RPUSH/LPUSH of new elements "e<op id>",
// LPOP/RPOP (with and without a count), BLPOP/BRPOP with a short timeout and LRANGE 0 -1 on the
// list keys l0.. (workload_lists.cpp); transfers between the two counter accounts
// {acct:<p>}:a and {acct:<p>}:b of a pair, as one pipelined MULTI/DECRBY/INCRBY/EXEC or one
// EVAL, and atomic reads of both (MULTI GET GET EXEC, EVAL_RO) (workload_transactions.cpp).
// A command without a reply within `op_timeout`,
// or answered with an error, is ambiguous: it may or may not have taken effect. A reply that comes
// after the timeout is still recorded (it settles what the command did). Every command is kept:
// key, invocation and completion (virtual time), node, reply.
//
// Checkers (finish(); docs/simulator.md, "Data checkers", says what each one claims):
//  - counters: at `verify` (faults over, cluster settled) each counter is read through the
//    cluster; it must lie in [acknowledged INCRs, acknowledged + ambiguous INCRs]. In stable
//    windows an INCR that started after another one returned must return a larger value.
//  - SET NX: in stable windows no two SET NX of a key both win (+OK) unless a DEL fits
//    between them.
//  - linearizability of every register key's GET/SET/SET NX/DEL history, per stable window
//    (linearizability.hpp); claimed (a failure) only when reads always consult the key's
//    coordinator: R >= 2 or N = 1. With R = 1 a read on a replica may lag an acknowledged
//    write (R + W <= N), so violations are only counted.
//  - durability (with disks): for every fault and register key, the first read after the
//    fault returns the write acknowledged last before it, or a write that may have taken
//    effect after that one -- never an older value. Claimed like linearizability.
//  - hashes, sets, sorted sets (collection_checks.hpp): at `verify` every such key is read
//    through every running node; no acknowledged add that no removal can have removed is
//    missing, counter fields lie in their bounds, nothing unwritten appears, reads agree.
//  - lists (list_checks.hpp): every acknowledged push is popped or in the final lists read
//    through every node, nothing popped twice (in a quiet cluster) or unpushed, every
//    blocking pop answered with an element or, after its timeout, a null.
//  - transfers (transfer_checks.cpp): every atomic read of a pair sums to 0; at the end, on
//    every running owner, a + b == 0 and b lies in [acknowledged, acknowledged + ambiguous]
//    transferred amounts.
//  - pub/sub (pubsub_workload.hpp, with WorkloadOptions::pubsub): subscribers receive each
//    publisher's messages in order, once, only while subscribed, all of them in stable
//    windows; PUBLISH's receiver count matches the deliveries.
//  - convergence: at the end, every running owner of every key holds the same siblings (for
//    a hash or a set: the same collection state).
//  - handoff_s: from a join or leave until every running node's view matches the running
//    set and no node has handoff_pending() or a partition in transition; heal_handoff_s the
//    same from each heal (after a split start: the two clusters' data merged).
// Stable windows: the measured window minus [from - stable_before, to + stable_after] of every
// World::disturbances() entry; during a split start (World::split_start) each side also gets
// windows of its own until the heal, for SET NX, INCR order and linearizability. "Owners" come from
// the nodes actually running (and leaving), through the ring's PartitionTable. Deterministic (its
// Rng is split from the run's seed). Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "apiary/base/rng.hpp"
#include "apiary/base/time.hpp"
#include "apiary/cluster/partition_table.hpp"
#include "apiary/sim/node_process.hpp"
#include "apiary/sim/pubsub_workload.hpp"
#include "apiary/sim/report.hpp"
#include "apiary/sim/resp_reply.hpp"
#include "apiary/sim/workload_options.hpp"
#include "apiary/sim/world.hpp"

namespace apiary::sim {

class Workload final : public Agent {
 public:
  Workload(WorkloadOptions options, Rng rng);

  // Clients run from `from` (absolute virtual time) until `stop`; nothing new starts after.
  // At `verify` the counters are read through the cluster.
  void start(World& world, TimePoint from, TimePoint stop, TimePoint verify);
  WorkloadReport finish(World& world);

  void on_wake(World& world, std::uint32_t tag) override;
  void after_call(World& world, std::uint32_t node, Process& process) override;
  void on_status(World& world, std::uint32_t node, NodeStatus status) override;
  void on_heal(World& world) override;

  enum class OpKind : unsigned char {
    get,
    set,
    set_nx,
    del,
    incr,
    sadd,
    srem,
    smembers,
    hset,
    hdel,
    hincrby,
    hgetall,
    zadd,
    zrem,
    zincrby,
    zrange,
    lpush,
    rpush,
    lpop,
    rpop,
    blpop,
    brpop,
    lrange,
    transfer_multi,  // MULTI, DECRBY a x, INCRBY b x, EXEC (one pipelined batch)
    transfer_eval,   // EVAL of DECRBY a x; INCRBY b x
    audit_multi,     // MULTI, GET a, GET b, EXEC
    audit_eval       // EVAL_RO of GET a; GET b
  };
  enum class Outcome : unsigned char { pending, ok, error, timeout };
  struct OpRecord {
    std::uint64_t id = 0;
    std::uint32_t client = 0;
    std::uint32_t node = 0;
    OpKind kind = OpKind::get;
    std::uint32_t key = 0;    // index into keys()
    std::string value;        // SET, SET NX, HSET; ZADD's score
    std::string element;      // the member or field of SADD, SREM, HSET, HDEL, HINCRBY, ZADD, ...
    std::uint32_t count = 0;  // LPOP/RPOP's count (0: none); elements a push sent
    Duration block{};         // BLPOP/BRPOP's timeout (the client waits this much longer)
    TimePoint invoked{};
    TimePoint returned{};  // the reply's arrival (pending, timeout: not known)
    Outcome outcome = Outcome::pending;
    bool late = false;  // the reply came after the client gave up
    RespReply reply;
    std::vector<RespReply> queued;  // a MULTI batch's replies before EXEC's
    bool ambiguous() const { return outcome != Outcome::ok; }
  };
  const std::vector<OpRecord>& history() const { return ops_; }
  const std::vector<std::string>& keys() const { return keys_; }
  // One line: "#id KIND key [value] @node [invoked..returned] -> reply", times in seconds
  // from the start of the measured window.
  std::string describe(const OpRecord& op) const;

 private:
  // What a client knows of one hash or set key: elements it added or read (SREM, HDEL pick
  // from them) and elements it removed (SADD, HSET may write them again).
  struct KnownElements {
    std::vector<std::string> present;
    std::vector<std::string> removed;
  };
  struct Client {
    bool in_flight = false;
    std::uint64_t op = 0;
    std::map<std::uint32_t, KnownElements> elements;  // by key index
  };
  struct RingEpoch {
    TimePoint at{};
    cluster::PartitionTable table;
  };
  struct Window {
    TimePoint from{};
    TimePoint to{};
    // Empty: the whole cluster. Else one side of a split start (sorted node indices): during
    // the split each side is a cluster of its own, judged on the commands sent through it.
    std::vector<std::uint32_t> side;
    bool holds(const OpRecord& op) const;
  };
  enum Tag : std::uint32_t { kTimeout = 1u << 30, kCheck = 1u << 29, kVerify = 1u << 28 };

  void issue(World& world, std::uint32_t client);
  // Records a command; returns its id and its RESP bytes.
  std::pair<std::uint64_t, std::string> record(World& world, std::uint32_t client,
                                               std::uint32_t node, OpKind kind, std::uint32_t key,
                                               std::string element = {});
  void on_reply(World& world, const ClientReply& reply);
  void verify(World& world);
  std::vector<std::uint32_t> ready_nodes(const World& world) const;

  // workload_collections.cpp
  bool is_collection(std::uint32_t key) const {
    return key >= collections_from() && key < transfers_from();
  }
  std::uint32_t collections_from() const { return options_.keys + options_.counters; }
  bool is_hash(std::uint32_t key) const {
    return key >= collections_from() + options_.sets && !is_zset(key) && !is_list(key);
  }
  bool is_zset(std::uint32_t key) const {
    return key >= collections_from() + options_.sets + options_.hashes && !is_list(key);
  }
  std::uint32_t lists_from() const {
    return collections_from() + options_.sets + options_.hashes + options_.zsets;
  }
  bool is_list(std::uint32_t key) const { return key >= lists_from() && key < transfers_from(); }
  // Picks the command for a hash or set key and its element (empty: a new one, named after
  // the command's id by record()).
  void pick_collection_op(std::uint32_t client, std::uint32_t key, OpKind& kind,
                          std::string& element);
  void learn(const OpRecord& op);
  // Reads every hash and set key through every ready node; false when some are still due.
  bool verify_collections(World& world, const std::vector<std::uint32_t>& nodes);
  void check_collections(WorkloadReport& r);
  // workload_lists.cpp
  OpKind pick_list_op(std::uint32_t key);
  std::string list_command(OpRecord& op);  // fills the op's elements; returns its RESP bytes
  void check_lists(const World& world, const std::vector<Window>& windows, WorkloadReport& r);
  // workload_transactions.cpp, transfer_checks.cpp. Pair p's accounts are keys
  // transfers_from() + 2p (a) and + 2p + 1 (b).
  std::uint32_t transfers_from() const { return lists_from() + options_.lists; }
  static bool is_pipelined(OpKind kind) {
    return kind == OpKind::transfer_multi || kind == OpKind::audit_multi;
  }
  static bool is_transfer(OpKind kind) {
    return kind == OpKind::transfer_multi || kind == OpKind::transfer_eval;
  }
  static bool is_audit(OpKind kind) {
    return kind == OpKind::audit_multi || kind == OpKind::audit_eval;
  }
  OpKind pick_transfer_op(std::uint32_t& key);
  std::string transfer_command(OpRecord& op);  // fills the amount; returns its RESP bytes
  // Takes one of a MULTI batch's replies before EXEC's; false once EXEC's is due.
  bool take_queued(OpRecord& op, const RespReply& reply);
  void judge_audit(const OpRecord& op);  // every answered read: a + b == 0
  bool transfer_acked(const OpRecord& op) const;
  void check_transfers(World& world, WorkloadReport& r);
  void ring_changed(TimePoint at);
  std::vector<std::string> owners_at(TimePoint t, const std::string& key) const;
  void check_handoff(World& world);
  void note(std::string what);

  // workload_checks.cpp
  std::vector<Window> stable_windows(const World& world) const;
  std::vector<Window> split_windows(const World& world) const;
  void check_convergence(World& world, WorkloadReport& r);
  void check_counters(const std::vector<Window>& windows, WorkloadReport& r);
  void check_set_nx(const std::vector<Window>& windows, WorkloadReport& r);
  void check_linearizability(const std::vector<Window>& windows, WorkloadReport& r);
  void check_durability(const World& world, WorkloadReport& r);
  TimePoint latest_effect(const OpRecord& op) const;

  WorkloadOptions options_;
  Rng rng_;
  TimePoint from_{};
  TimePoint stop_{};
  std::vector<std::string> keys_;  // registers, counters, sets, hashes, sorted sets
  std::vector<Client> clients_;
  std::vector<OpRecord> ops_;  // by id - 1
  // Counter key index -> the final read's op id (0: none yet).
  std::map<std::uint32_t, std::uint64_t> verify_reads_;
  std::uint32_t verify_attempts_ = 0;
  // (hash or set key index, node) -> the final reads' op ids, in order.
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::vector<std::uint64_t>> final_reads_;
  // The most elements a read of each hash or set key returned: over kMaxElements the clients
  // remove rather than add, so that replies stay within the RESP parser's limits.
  std::map<std::uint32_t, std::size_t> largest_read_;
  std::set<std::uint32_t> ring_;  // running and leaving nodes
  std::vector<RingEpoch> epochs_;
  std::vector<TimePoint> open_handoffs_;   // join/leave times not yet settled
  std::vector<TimePoint> open_heals_;      // heal times not yet settled (same measure)
  std::set<std::uint32_t> started_nodes_;  // nodes that ran once (a later start is a restart)
  // (node, when) a node crashed, began to leave or left: its clients' commands may go unanswered.
  std::vector<std::pair<std::uint32_t, TimePoint>> node_exits_;
  std::uint64_t transfers_sent_ = 0;  // alternates the two transfer forms
  bool checking_ = false;
  bool started_ = false;
  WorkloadReport report_;
  std::optional<PubSubWorkload> pubsub_;  // WorkloadOptions::pubsub > 0
};

}  // namespace apiary::sim
