// check_lists (list_checks.hpp): per key, where every pushed element went.
#include "apiary/sim/list_checks.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace apiary::sim {

namespace {

struct KeyState {
  std::map<std::string, const ListCommand*> pushed;  // element -> its push
  std::map<std::string, std::vector<const ListCommand*>> popped;
  std::vector<const ListRead*> reads;
  std::vector<const ListCommand*> client_reads;
  std::uint64_t ambiguous_capacity = 0;  // elements pops may have taken unseen
  std::uint64_t ambiguous_pops = 0;
};

class Judge {
 public:
  Judge(const ListCheckRules& rules, ListReport& r) : rules_(rules), r_(r) {}

  void note(const std::string& what) {
    if (r_.samples.size() < 10) r_.samples.push_back(what);
  }
  std::string name(std::uint64_t id) const {
    return rules_.describe ? rules_.describe(id) : "#" + std::to_string(id);
  }

  // Every element a reply or read shows was pushed before it arrived.
  void check_source(const KeyState& k, const std::string& element, TimePoint returned,
                    std::uint64_t id) {
    const auto it = k.pushed.find(element);
    if (it != k.pushed.end() && it->second->invoked <= returned) return;
    ++r_.phantoms;
    note(element + " in " + name(id) + " was never pushed to that key before");
  }

  // A whole list as one read showed it: no element twice, none unpushed.
  void check_read(const KeyState& k, const std::vector<std::string>& elements, TimePoint returned,
                  std::uint64_t id) {
    std::set<std::string> seen;
    for (const std::string& e : elements) {
      if (!seen.insert(e).second) {
        ++r_.duplicates;
        note(e + " twice in " + name(id));
      }
      check_source(k, e, returned, id);
    }
  }

  void blocking(const ListCommand& c) {
    ++r_.blocked;
    const Duration took = c.returned - c.invoked;
    switch (c.answer) {
      case ListCommand::Answer::values:
        ++r_.blocked_served;
        break;
      case ListCommand::Answer::null:
        ++r_.blocked_timed_out;
        if (took + rules_.clock_slack < c.timeout) {
          ++r_.blocked_early;
          note(name(c.id) + " answered null before its timeout passed");
        }
        break;
      case ListCommand::Answer::error:
        if (rules_.stable(c)) {
          ++r_.blocked_errors;
          note(name(c.id) + " answered an error in a stable cluster");
        } else {
          ++r_.blocked_errors_unstable;
        }
        break;
      case ListCommand::Answer::none:
        break;
    }
    if (c.answer != ListCommand::Answer::none && took <= c.timeout + rules_.bound) return;
    if (rules_.excused(c)) {
      ++r_.blocked_excused;
    } else {
      ++r_.blocked_unanswered;
      note(name(c.id) + " got no answer within its timeout + " +
           std::to_string(
               std::chrono::duration_cast<std::chrono::milliseconds>(rules_.bound).count()) +
           " ms");
    }
  }

  void judge_key(KeyState& k) {
    // The final reads: no element twice, the same list through every node.
    std::set<std::string> present;
    for (const ListRead* read : k.reads) {
      check_read(k, read->elements, read->returned, read->id);
      present.insert(read->elements.begin(), read->elements.end());
      if (read->elements != k.reads.front()->elements) {
        ++r_.divergent_keys;
        note(name(read->id) + " differs from " + name(k.reads.front()->id));
        break;
      }
    }
    if (!k.reads.empty()) r_.final_elements += k.reads.front()->elements.size();
    // Pops: every element from a push, handed out once (twice only near a fault), and gone.
    for (const auto& [element, pops] : k.popped) {
      for (std::size_t i = 1; i < pops.size(); ++i) {
        if (rules_.stable(*pops[0]) && rules_.stable(*pops[i])) {
          ++r_.double_pops;
          note(element + " popped twice in a stable cluster: " + name(pops[0]->id) + " and " +
               name(pops[i]->id));
        } else {
          ++r_.double_pops_unstable;
        }
      }
      if (present.count(element) != 0) {
        ++r_.popped_present;
        note(element + " popped by " + name(pops[0]->id) + " is still in the final list");
      }
    }
    // Acknowledged pushes: popped or still there, or taken by a pop nobody saw answer.
    if (k.reads.empty()) return;
    std::uint64_t missing = 0;
    for (const auto& [element, push] : k.pushed) {
      if (push->answer != ListCommand::Answer::values) continue;
      if (k.popped.count(element) != 0 || present.count(element) != 0) continue;
      if (missing++ >= k.ambiguous_capacity) {
        note(element + " pushed by " + name(push->id) +
             " is neither popped nor in the final list (" + std::to_string(k.ambiguous_pops) +
             " pops without an answer)");
      }
    }
    r_.missing += missing;
    r_.lost += missing > k.ambiguous_capacity ? missing - k.ambiguous_capacity : 0;
  }

 private:
  const ListCheckRules& rules_;
  ListReport& r_;
};

// A pop that may have taken elements its client never saw.
bool ambiguous_pop(const ListCommand& c, const ListCheckRules& rules) {
  switch (c.answer) {
    case ListCommand::Answer::none:
    case ListCommand::Answer::error:
      return true;
    case ListCommand::Answer::null:
      return c.kind == ListCommand::Kind::blocking_pop &&
             c.returned - c.invoked > c.timeout + rules.coordinator_answer;
    case ListCommand::Answer::values:
      return false;
  }
  return false;
}

}  // namespace

ListReport check_lists(const std::vector<ListCommand>& commands, const std::vector<ListRead>& reads,
                       const ListCheckRules& rules) {
  ListReport r;
  Judge judge(rules, r);
  std::map<std::string, KeyState> keys;
  for (const ListCommand& c : commands) {
    KeyState& k = keys[c.key];
    if (c.kind == ListCommand::Kind::push) {
      const bool acked = c.answer == ListCommand::Answer::values;
      for (const std::string& e : c.elements) {
        k.pushed.emplace(e, &c);
        ++(acked ? r.pushed_acked : r.pushed_ambiguous);
      }
      continue;
    }
    if (c.kind == ListCommand::Kind::read) {
      if (c.answer == ListCommand::Answer::values) k.client_reads.push_back(&c);
      continue;
    }
    if (c.kind == ListCommand::Kind::blocking_pop) judge.blocking(c);
    if (ambiguous_pop(c, rules)) {
      ++k.ambiguous_pops;
      k.ambiguous_capacity += c.count;
    }
    if (c.answer != ListCommand::Answer::values) continue;
    for (const std::string& e : c.elements) k.popped[e].push_back(&c);
    r.popped += c.elements.size();
  }
  r.pops_ambiguous = 0;
  for (const auto& [key, k] : keys) r.pops_ambiguous += k.ambiguous_pops;
  for (const ListRead& read : reads) keys[read.key].reads.push_back(&read);
  r.reads = reads.size();
  for (auto& [key, k] : keys) {
    // Phantoms among popped elements (after every push is known).
    for (const auto& [element, pops] : k.popped) {
      for (const ListCommand* pop : pops) judge.check_source(k, element, pop->returned, pop->id);
    }
    for (const ListCommand* read : k.client_reads) {
      judge.check_read(k, read->elements, read->returned, read->id);
    }
    judge.judge_key(k);
  }
  return r;
}

}  // namespace apiary::sim
