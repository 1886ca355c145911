// RunReport: what one simulation run measured, and its two renderings (human summary and the
// JSON document `apiary-sim --json` writes). Plain values; safe to copy between threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "apiary/sim/checker.hpp"

namespace apiary::sim {

struct Percentiles {
  std::size_t count = 0;
  double mean = 0.0;
  double p50 = 0.0;
  double p99 = 0.0;
  double max = 0.0;
};
// Nearest-rank percentiles of `values` (any order).
Percentiles percentiles(std::vector<double> values);

struct ConvergenceTime {
  std::string label;
  double at_s = 0.0;      // when the disturbance happened, seconds into the measured window
  double seconds = -1.0;  // -1: not converged by the end of the run
};

struct FalsePositiveRecord {
  double at_s = 0.0;
  std::string victim;
  std::string declarer;
};

// The hash and set keys' checkers (sim/collection_checks.hpp): final reads of every such key
// through every running node, judged against the commands the clients sent.
struct CollectionReport {
  std::uint64_t keys = 0;                 // hash and set keys
  std::uint64_t reads = 0;                // final reads judged
  std::uint64_t unread = 0;               // keys without any final read
  std::uint64_t elements_required = 0;    // (element, read) pairs that had to be present
  std::uint64_t elements_lost = 0;        // ... missing, though no removal removed anything
  std::uint64_t removals_unobserved = 0;  // ... missing, every removal returned before the add
  std::uint64_t readds_required = 0;      // required pairs whose element a removal removed before
  std::uint64_t phantom_elements = 0;     // elements or values no command sent had written
  // Counted, not failed: (element, read) pairs present although a removal that replied 1 was
  // sent after every add of the element had returned (see collection_checks.hpp).
  std::uint64_t resurrected = 0;
  std::uint64_t counter_fields = 0;  // hash fields written by HINCRBY
  std::uint64_t increments_acked = 0;
  std::uint64_t increments_ambiguous = 0;
  std::uint64_t counter_violations = 0;  // (field, read) outside [acked, acked + ambiguous]
  std::uint64_t divergent_keys = 0;      // final reads through different nodes differ
  std::vector<std::string> samples;      // a few violations, spelled out

  bool failed() const {
    return unread + elements_lost + removals_unobserved + phantom_elements + counter_violations +
               divergent_keys >
           0;
  }
};

// The list keys' checkers (sim/list_checks.hpp): pops' replies and final reads of every list
// key through every running node, judged against the pushes the clients sent.
struct ListReport {
  std::uint64_t keys = 0;
  std::uint64_t reads = 0;                 // final reads judged
  std::uint64_t unread = 0;                // keys without any final read
  std::uint64_t pushed_acked = 0;          // elements of acknowledged pushes
  std::uint64_t pushed_ambiguous = 0;      // elements of pushes without an acknowledgement
  std::uint64_t popped = 0;                // elements in pops' replies (blocking ones too)
  std::uint64_t final_elements = 0;        // elements in the final lists (one read per key)
  std::uint64_t pops_ambiguous = 0;        // pops that may have taken elements nobody saw
  std::uint64_t missing = 0;               // acked, neither popped nor in a final read
  std::uint64_t lost = 0;                  // ... beyond what the ambiguous pops can have taken
  std::uint64_t popped_present = 0;        // popped, yet in a final read
  std::uint64_t phantoms = 0;              // popped or read, never pushed before
  std::uint64_t duplicates = 0;            // an element twice in one final read
  std::uint64_t double_pops = 0;           // an element in two pops' replies, both stable
  std::uint64_t double_pops_unstable = 0;  // ... with a fault near one of them (counted)
  std::uint64_t divergent_keys = 0;        // final reads through different nodes differ
  // Blocking pops (BLPOP, BRPOP).
  std::uint64_t blocked = 0;             // sent
  std::uint64_t blocked_served = 0;      // answered with an element
  std::uint64_t blocked_timed_out = 0;   // answered with a null
  std::uint64_t blocked_early = 0;       // a null before the timeout passed
  std::uint64_t blocked_unanswered = 0;  // no answer within timeout + bound, not excused
  std::uint64_t blocked_excused = 0;     // ... excused (the client's node crashed or paused)
  std::uint64_t blocked_errors = 0;      // an error answer in a stable stretch
  std::uint64_t blocked_errors_unstable = 0;
  std::vector<std::string> samples;

  bool failed(bool settled) const {
    const std::uint64_t always =
        phantoms + double_pops + blocked_early + blocked_unanswered + blocked_errors;
    const std::uint64_t when_settled = unread + lost + popped_present + duplicates + divergent_keys;
    return always + (settled ? when_settled : 0) > 0;
  }
};

// The transfer workload (--transfers; sim/src/workload_transactions.cpp, transfer_checks.cpp):
// MULTI/EXEC and EVAL transfers between the two accounts of a pair, atomic reads of both.
struct TransferReport {
  std::uint64_t pairs = 0;
  std::uint64_t multi = 0, eval = 0;       // transfers sent, by form
  std::uint64_t acked = 0, ambiguous = 0;  // transfers acknowledged / error or no reply
  std::int64_t amount_acked = 0, amount_ambiguous = 0;
  std::uint64_t reads = 0, reads_ok = 0;  // MULTI GET GET EXEC and EVAL_RO reads
  std::uint64_t torn_reads = 0;           // a read whose two values do not sum to 0
  std::uint64_t queue_refused = 0;        // MULTI or a queued command not +OK/+QUEUED
  std::uint64_t exec_partial = 0;         // EXEC's array holds an error element
  std::uint64_t owners_checked = 0;       // (pair, running owner) pairs judged at the end
  std::uint64_t unbalanced = 0;           // ... where a + b != 0 in the owner's store
  std::uint64_t out_of_bounds = 0;        // ... where b is outside [acked, acked + ambiguous]
  std::uint64_t unreadable = 0;           // ... where a value is not an integer

  bool failed(bool settled) const {
    return torn_reads + exec_partial + (settled ? unbalanced + out_of_bounds + unreadable : 0) > 0;
  }
};

// The pub/sub workload (--pubsub; sim/pubsub_workload.hpp, pubsub_checks.cpp).
struct PubSubReport {
  std::uint64_t subscribers = 0, publishers = 0, channels = 0;
  std::uint64_t sessions = 0;                      // connections opened (reconnects after faults)
  std::uint64_t subscribes = 0, unsubscribes = 0;  // commands sent
  std::uint64_t subscribe_errors = 0;              // (un)subscribe answered with an error
  std::uint64_t published = 0;                     // PUBLISH sent
  std::uint64_t publish_acked = 0;                 // ... answered with an integer
  std::uint64_t publish_unanswered = 0;            // ... no reply (their node crashed or left)
  std::uint64_t publish_bad_replies = 0;           // ... an error or a count < 0
  std::uint64_t delivered = 0;                     // messages received by subscribers
  std::uint64_t expected = 0;          // (message, subscription) pairs that had to arrive
  std::uint64_t lost_near_faults = 0;  // ... missing, near a fault (at most once: allowed)
  std::uint64_t lost_stable = 0;       // ... missing inside a stable window: a violation
  std::uint64_t reordered = 0;         // a lower sequence number after a higher one
  std::uint64_t duplicated = 0;        // the same message twice on one subscription
  std::uint64_t phantoms = 0;          // not published, on another channel, or before its PUBLISH
  std::uint64_t unsubscribed_deliveries = 0;  // after the UNSUBSCRIBE reply, or never subscribed
  std::uint64_t count_checked = 0;            // PUBLISH replies compared with their deliveries
  std::uint64_t count_mismatches = 0;         // ... that differed
  std::uint64_t count_over = 0;               // ... of which the reply counted more
  std::vector<std::string> samples;  // a few violations, spelled out (moved to data_samples)

  bool failed() const {
    return lost_stable + reordered + duplicated + phantoms + unsubscribed_deliveries +
               publish_bad_replies + count_mismatches >
           0;
  }
};

// What the data workload (--workload, sim/workload.hpp) saw and its checkers found.
struct WorkloadReport {
  // Commands sent, by kind and by outcome (errors and timeouts are ambiguous).
  std::uint64_t gets = 0, sets = 0, set_nx = 0, dels = 0, incrs = 0;
  std::uint64_t sadds = 0, srems = 0, smembers = 0;
  std::uint64_t hsets = 0, hdels = 0, hincrbys = 0, hgetalls = 0;
  std::uint64_t zadds = 0, zrems = 0, zincrbys = 0, zranges = 0;
  std::uint64_t pushes = 0, pops = 0, blocking_pops = 0, lranges = 0;
  std::uint64_t ok = 0, errors = 0, timeouts = 0;
  std::uint64_t late_replies = 0;  // answered after the client's timeout
  std::uint64_t forwarded = 0;     // the running nodes' routers forwarded this many at the end

  // Counters: read through the cluster after the faults stopped.
  std::uint64_t counter_keys = 0;
  std::uint64_t increments_acked = 0;
  std::uint64_t increments_ambiguous = 0;
  std::uint64_t counter_violations = 0;        // final value outside [acked, acked + ambiguous]
  std::uint64_t counters_unread = 0;           // the final read got no value
  std::uint64_t counter_order_violations = 0;  // stable windows: a later INCR returned less

  // SET NX on the register keys.
  std::uint64_t set_nx_wins = 0;
  std::uint64_t set_nx_double_wins = 0;           // stable windows: a violation
  std::uint64_t set_nx_double_wins_unstable = 0;  // near a fault: counted only

  // Linearizability of the register keys, per stable window.
  bool linearizability_claimed = false;  // R >= 2 or N = 1 (workload.hpp)
  std::uint64_t stable_windows = 0;
  double stable_s = 0.0;                // time covered by stable windows
  double split_stable_s = 0.0;          // ... by each side's windows during a split start
  std::uint64_t histories_checked = 0;  // (key, window) pairs searched
  std::uint64_t histories_skipped = 0;  // over the search bound: not judged
  std::uint64_t ops_checked = 0;
  std::uint64_t ops_unstable = 0;                // register commands outside every stable window
  std::uint64_t linearizability_violations = 0;  // histories with no linearization

  // Durability across faults (with disks, WorkloadOptions::appendfsync): the first read of a
  // register after a fault does not go back past the write acknowledged last before it
  // (workload_checks.cpp, check_durability).
  std::uint64_t durability_checked = 0;     // (fault, key) pairs judged
  std::uint64_t durability_violations = 0;  // ... where the read missed the acknowledged write

  // Convergence at the end.
  std::uint64_t keys = 0;
  std::uint64_t converged_keys = 0;
  std::uint64_t max_siblings = 0;  // most siblings one key had at the end

  CollectionReport collections;  // hashes, sets and sorted sets
  ListReport lists;
  TransferReport transfers;
  PubSubReport pubsub;

  std::vector<double> handoff_s;       // per join/leave, -1 = not finished by the end
  std::vector<double> heal_handoff_s;  // per heal (a merge too), the same measure from the heal
  std::vector<std::string> samples;    // a few violations, spelled out
};

struct RunReport {
  std::string protocol;
  std::uint32_t nodes = 0;  // initial nodes
  std::uint32_t nodes_ever = 0;
  std::uint64_t seed = 0;
  double duration_s = 0.0;  // measured window
  double warmup_s = 0.0;    // bootstrap before it (excluded from load figures)
  bool lifeguard = true;
  bool bootstrap_converged = false;

  std::size_t crashes = 0;
  std::size_t crashes_detected = 0;    // dead/left in every live view before the run ended
  Percentiles detection_s;             // crash -> not alive in every live view
  Percentiles first_detection_s;       // crash -> first suspect/dead mark anywhere
  Percentiles first_dead_s;            // crash -> first dead mark anywhere
  Percentiles dissemination_s;         // first dead mark -> every live view
  std::uint64_t false_positives = 0;   // healthy nodes newly dead in some view (episodes)
  std::uint64_t false_dead_views = 0;  // every view that marked a healthy node dead
  std::vector<FalsePositiveRecord> false_positive_samples;
  std::vector<ConvergenceTime> convergence;

  bool converged = false;  // every live view right at the end of the run
  bool settled = false;    // the end came long enough after the last disturbance to judge
  std::uint64_t wrong_pairs = 0;
  double msgs_per_node_per_s = 0.0;
  double bytes_per_node_per_s = 0.0;
  std::uint64_t events = 0;
  std::uint64_t messages_sent = 0;
  std::uint64_t messages_delivered = 0;
  std::uint64_t messages_dropped = 0;
  double wall_s = 0.0;
  std::uint64_t trace_hash = 0;
  std::vector<std::string> failures;  // broken invariants; empty = pass

  bool workload = false;  // the data mode ran; `data` is filled
  WorkloadReport data;
};

std::string to_json(const RunReport& report);
std::string summary(const RunReport& report);
std::string hex64(std::uint64_t v);

}  // namespace apiary::sim
