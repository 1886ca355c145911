// WorkloadOptions: the data mode's settings (apiary-sim --workload; see sim/workload.hpp and
// docs/simulator.md). A plain value.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "apiary/base/time.hpp"

namespace apiary::sim {

using namespace std::chrono_literals;

struct WorkloadOptions {
  bool enabled = false;
  // Register keys k0..k<keys-1> (GET, SET, SET NX, DEL) and counter keys c0..c<counters-1>
  // (INCR). Few keys, so that clients contend on them.
  std::uint32_t keys = 8;
  std::uint32_t counters = 2;
  // GETs; of the other operations 40% are SET, 20% SET NX, 10% DEL and 30% INCR.
  double read_ratio = 0.4;
  // Set keys s0..s<sets-1> (SADD, SREM, SMEMBERS) and hash keys h0..h<hashes-1> (HSET, HDEL,
  // HINCRBY by 1 on the counter fields n0..n<hash_counters-1>, HGETALL): this share of all
  // commands goes to them (the register/counter mix above applies to the rest). On by
  // default, so that every run and sweep exercises the replicated hashes and sets.
  std::uint32_t sets = 2;
  std::uint32_t hashes = 2;
  std::uint32_t hash_counters = 2;
  // Sorted set keys z0..z<zsets-1>: ZADD (a new member with a chosen score), ZREM, ZINCRBY by 1
  // on the counter members n0..n<hash_counters-1>, ZRANGE 0 -1 WITHSCORES; they share
  // `collection_ratio` with the hash and set keys.
  std::uint32_t zsets = 2;
  // List keys l0..l<lists-1>, used as queues (workload_lists.cpp): RPUSH and LPUSH of elements
  // no other command writes, LPOP and RPOP (with and without a count), BLPOP and BRPOP with a
  // timeout in [block_timeout_min, block_timeout_max], LRANGE 0 -1. They share
  // `collection_ratio` too; `blocking_ratio` of their pops block.
  std::uint32_t lists = 2;
  double blocking_ratio = 0.4;
  Duration block_timeout_min = 50ms;
  Duration block_timeout_max = 500ms;
  double collection_ratio = 0.2;
  // Transfers (workload_transactions.cpp, transfer_checks.cpp): `transfers` pairs of counter
  // accounts {acct:<p>}:a and {acct:<p>}:b (one hash tag, one coordinator); `transfer_ratio` of
  // all commands move an amount from a to b in one MULTI/EXEC or one EVAL (alternately), or
  // read both atomically (MULTI GET GET EXEC, EVAL_RO). 0 pairs: off.
  std::uint32_t transfers = 0;
  double transfer_ratio = 0.3;
  // A control for the tests (no flag): the MULTI form sends only its DECRBY, without MULTI
  // (PING in the other three places), as a client whose connection dropped between the two
  // halves of a non-atomic transfer: the checkers must see torn reads and lost money.
  bool transfers_unsafe = false;
  // Pub/sub (sim/pubsub_workload.hpp): `pubsub` subscriber clients on channels
  // ch0..ch<pubsub_channels-1> (and a few patterns), `pubsub_publishers` publishers
  // publishing every `pubsub_interval_min`..`pubsub_interval_max`. 0 subscribers: off (no
  // random draw of the other clients changes). `pubsub_grace`: how long after a PUBLISH a
  // message must have arrived, and how far from an (un)subscribe the receiver count is judged.
  std::uint32_t pubsub = 0;
  std::uint32_t pubsub_channels = 4;
  std::uint32_t pubsub_publishers = 3;
  Duration pubsub_interval_min = 5ms;
  Duration pubsub_interval_max = 25ms;
  Duration pubsub_grace = 1s;
  // Controls for the tests (no flag): the pub/sub clients ignore every n-th message they
  // receive, or take every n-th twice (0: never), so that the checker must report loss or
  // duplicates.
  std::uint32_t pubsub_drop_every = 0;
  std::uint32_t pubsub_repeat_every = 0;
  std::uint32_t clients = 8;  // each keeps one command in flight
  std::uint32_t replicas = 3;
  std::uint32_t write_quorum = 2;
  std::uint32_t read_quorum = 1;
  // Fewer than the runtime's 1024 by default: a join re-plans every partition on every node,
  // and anti-entropy (one partition per interval per node) cycles 4x faster.
  std::uint32_t partitions = 256;
  Duration op_timeout = 5s;  // no reply by then: the command's outcome is unknown
  Duration anti_entropy_interval = 200ms;
  // The checkers that need a quiet cluster (SET NX, linearizability, INCR order) judge only
  // what happened outside [start - stable_before, end + stable_after] of every fault: after a
  // crash the survivors take a few seconds to notice, the dead node keeps its partitions for
  // the 10 s dead grace, then they move.
  Duration stable_before = 1s;
  Duration stable_after = 30s;
  // Work bound of one linearizability search (configurations); over it the history counts
  // as skipped.
  std::size_t max_search = 50000;
  // Disks (docs/simulator.md): "" none; else every node runs an AOF with this appendfsync
  // policy ("always", "everysec", "no") on an in-memory disk of its own (persist::SimEnv) that
  // survives its restarts, and every restart is a power loss for that disk: what was not
  // synced is lost or torn, with zeroed tails at `zeroed_tail_probability`.
  std::string appendfsync;
  double zeroed_tail_probability = 0.2;
};

}  // namespace apiary::sim
