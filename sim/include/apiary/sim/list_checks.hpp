// The checkers of the list keys and their blocking pops (docs/simulator.md, "Data checkers"):
// what the clients' pushes and pops allow the pops' replies and the final reads to hold.
//
// The workload (workload_lists.cpp) uses each list key as a queue: pushes of elements no other
// command writes ("e<op id>", "e<op id>.1"), LPOP/RPOP with and without a count, BLPOP/BRPOP
// with a short timeout, LRANGE 0 -1. Once the faults are over it reads every list key through
// every running node (LRANGE 0 -1) and hands the commands and those reads to check_lists(),
// which judges:
//  - lost: an element whose push was acknowledged must be in some pop's reply or in the final
//    reads. A pop without a reply (or with an error, or a blocking pop answered null by its
//    requester after the coordinator went silent) may have taken elements that no client ever
//    saw: up to its count each. Per key, `lost` = missing elements beyond that capacity.
//  - popped and still there: an element in a pop's reply is not in any final read.
//  - phantoms: every element in a pop's reply or a read (the clients' LRANGEs too) was pushed
//    by a command sent before that reply arrived.
//  - duplicates: no read holds an element twice (a merge must not copy an element).
//  - double pops: an element in the replies of two pops. Allowed only while two nodes can
//    coordinate the key (a fault near either pop): `stable(op)` says whether a command lay
//    wholly in a quiet stretch of the run; a double pop of two stable commands is a violation,
//    any other is counted in `double_pops_unstable`.
//  - blocking pops: every one is answered with an element or a null; a null only after its
//    timeout (minus `clock_slack` for clock-rate skew); an answer within timeout + `bound`
//    unless `excused(op)` (its client's node crashed, left or paused meanwhile). An error
//    answer is a violation when the command was stable, else counted.
//  - divergence: the final reads of one key through different nodes are the same list.
// Pure function of its inputs (no clock, no randomness); safe from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "apiary/base/time.hpp"
#include "apiary/sim/report.hpp"

namespace apiary::sim {

// One client command on a list key.
struct ListCommand {
  enum class Kind : unsigned char { push, pop, blocking_pop, read };  // read: LRANGE 0 -1
  enum class Answer : unsigned char { none, error, values, null };    // none: no reply at all
  Kind kind = Kind::push;
  std::uint64_t id = 0;  // for the samples
  std::string key;
  std::uint32_t node = 0;
  TimePoint invoked{};
  TimePoint returned{};  // the reply's arrival (not `none`)
  Answer answer = Answer::none;
  // A push: the elements it sent (acknowledged when `answer` is values). A pop or a read: the
  // elements its reply held.
  std::vector<std::string> elements;
  std::uint32_t count = 1;  // most elements a pop can take
  Duration timeout{};       // a blocking pop's timeout
};

// What one LRANGE 0 -1 of a list key returned after the faults were over.
struct ListRead {
  std::uint64_t id = 0;
  std::string key;
  std::uint32_t node = 0;
  TimePoint invoked{};
  TimePoint returned{};
  std::vector<std::string> elements;  // in list order
};

struct ListCheckRules {
  // A command lay wholly inside a stable window (no coordinator change near it).
  std::function<bool(const ListCommand&)> stable = [](const ListCommand&) { return true; };
  // A blocking pop whose missing or late answer its client's node explains (crash, pause).
  std::function<bool(const ListCommand&)> excused = [](const ListCommand&) { return false; };
  Duration bound = std::chrono::seconds(5);  // past the timeout: the answer is late
  // A null later than timeout + this came from the requester, not the coordinator (which
  // answers at its deadline): the coordinator may have served the pop meanwhile.
  Duration coordinator_answer = std::chrono::seconds(1);
  Duration clock_slack = std::chrono::milliseconds(5);  // a null this much early still counts
  std::function<std::string(std::uint64_t)> describe;   // default "#id"
};

ListReport check_lists(const std::vector<ListCommand>& commands, const std::vector<ListRead>& reads,
                       const ListCheckRules& rules = {});

}  // namespace apiary::sim
