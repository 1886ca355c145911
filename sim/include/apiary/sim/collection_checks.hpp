// The checkers of the hash and set keys (docs/simulator.md, "Data checkers"): what the
// clients' SADD/SREM/HSET/HDEL/HINCRBY commands allow the final reads of those keys to hold.
//
// The workload (workload_collections.cpp) reads every set and hash key through every running
// node once the faults are over and the cluster has settled, and hands the commands and those
// reads to check_collections(). It judges:
//  - lost elements: an element (set member, hash field) with an acknowledged add (SADD, HSET)
//    that no removal (SREM, HDEL) can have taken away must be in every final read of its key.
//    A removal can take an add away unless it was acknowledged and either removed nothing
//    (replied 0: the coordinator did not have the element and wrote nothing) or returned
//    before the add was sent (an observed-remove set removes only the versions it saw). A
//    missing element none of whose removals removed anything counts as `elements_lost`; one
//    whose removals all returned before the add was sent as `removals_unobserved`.
//  - counter fields (every field some HINCRBY by 1 wrote): each final read's value lies in
//    [increments acknowledged before the read started, increments sent before it returned].
//  - phantoms: every element of a final read was written by a command sent before the read
//    returned (for a hash field that is not a counter: with that value).
//  - divergence: the final reads of one key through different nodes hold the same elements
//    and values.
//  - resurrected (counted only): an element read although an SREM/HDEL that removed it (replied
//    1) was sent after every add of it had returned. Near faults two coordinators may each
//    hold a version the other's removal did not see, so this is not a violation by itself.
// Pure function of its inputs (no clock, no randomness); safe from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "apiary/base/time.hpp"
#include "apiary/sim/report.hpp"

namespace apiary::sim {

// One client command on one element of a hash or set key.
struct ElementCommand {
  enum class Kind : unsigned char { add, remove, incr };  // SADD/HSET, SREM/HDEL, HINCRBY 1
  Kind kind = Kind::add;
  std::uint64_t id = 0;  // for the samples
  std::string key;
  std::string element;  // the member or field
  std::string value;    // HSET's value; empty for sets
  TimePoint invoked{};
  TimePoint returned{};    // the reply's arrival; meaningful when acked
  bool acked = false;      // answered with an integer; otherwise ambiguous
  std::int64_t reply = 0;  // that integer (a removal: how many it removed)
};

// What one read of a whole key (SMEMBERS, HGETALL) returned after the faults were over.
struct FinalRead {
  std::uint64_t id = 0;
  std::string key;
  std::uint32_t node = 0;
  TimePoint invoked{};
  TimePoint returned{};
  std::map<std::string, std::string> elements;  // member -> "" or field -> value
};

// `describe(id)` spells a command or read out for the samples (default "#id").
CollectionReport check_collections(const std::vector<ElementCommand>& commands,
                                   const std::vector<FinalRead>& reads,
                                   const std::function<std::string(std::uint64_t)>& describe = {});

}  // namespace apiary::sim
