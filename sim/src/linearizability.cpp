#include "apiary/sim/linearizability.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <vector>

namespace apiary::sim {

namespace {

using Kind = RegisterOp::Kind;

// Register states: a value id (>= 1), nil, or -- with an unknown initial state -- not known
// yet, or known to be some value written before the history began.
constexpr std::int64_t kNil = 0;
constexpr std::int64_t kUnknown = -1;
constexpr std::int64_t kUnknownNonNil = -2;

struct Op {
  Kind kind = Kind::get;
  bool ambiguous = false;
  bool won = false;
  std::int64_t value = kNil;  // value id
};

struct Config {
  std::int64_t state = kNil;
  std::vector<std::uint32_t> done;  // in-flight operations already linearized, sorted
  friend bool operator<(const Config& a, const Config& b) {
    return std::tie(a.state, a.done) < std::tie(b.state, b.done);
  }
};

class Model {
 public:
  explicit Model(std::vector<bool> written) : written_(std::move(written)) {}

  // Every state `op` can move `state` to (none: it cannot be linearized here).
  void step(std::int64_t state, const Op& op, std::vector<std::int64_t>& out) const {
    out.clear();
    const bool unknown = state == kUnknown || state == kUnknownNonNil;
    const bool maybe_nil = state == kNil || state == kUnknown;
    const bool maybe_value = state > kNil || unknown;
    switch (op.kind) {
      case Kind::get:
        if (state == op.value) {
          out.push_back(state);
        } else if (op.value == kNil ? state == kUnknown
                                    : unknown && !written_[static_cast<std::size_t>(op.value)]) {
          out.push_back(op.value);  // the unknown initial state was this
        }
        return;
      case Kind::set:
        out.push_back(op.value);
        return;
      case Kind::set_nx:
        if (op.ambiguous || op.won) {
          if (maybe_nil) out.push_back(op.value);
        } else if (maybe_value) {
          out.push_back(state == kUnknown ? kUnknownNonNil : state);
        }
        return;
      case Kind::del:
        if (op.ambiguous || (op.won ? maybe_value : maybe_nil)) out.push_back(kNil);
        return;
    }
  }

 private:
  std::vector<bool> written_;  // by value id: some operation of the history writes it
};

bool contains(const std::vector<std::uint32_t>& v, std::uint32_t x) {
  return std::binary_search(v.begin(), v.end(), x);
}

}  // namespace

LinearizabilityResult check_register(std::span<const RegisterOp> input, bool unknown_initial,
                                     std::size_t max_configs) {
  LinearizabilityResult result;
  result.operations = input.size();
  // Values as small ids; id 0 is nil.
  std::map<std::string, std::int64_t> ids;
  std::vector<bool> written{false};
  std::vector<Op> ops(input.size());
  for (std::size_t i = 0; i < input.size(); ++i) {
    const RegisterOp& in = input[i];
    Op& op = ops[i];
    op.kind = in.kind;
    op.ambiguous = in.ambiguous;
    op.won = in.won;
    if (in.value) {
      auto [it, fresh] = ids.emplace(*in.value, static_cast<std::int64_t>(written.size()));
      if (fresh) written.push_back(false);
      op.value = it->second;
      if (in.kind == Kind::set || in.kind == Kind::set_nx) {
        written[static_cast<std::size_t>(op.value)] = true;
      }
    }
  }
  const Model model(std::move(written));

  // (time, 0 = invoke / 1 = return or deadline, op): invocations first at equal times.
  std::vector<std::tuple<std::int64_t, int, std::uint32_t>> events;
  for (std::uint32_t i = 0; i < input.size(); ++i) {
    events.emplace_back(input[i].invoked, 0, i);
    if (!input[i].ambiguous || input[i].returned != kUnbounded) {
      events.emplace_back(input[i].returned, 1, i);
    }
  }
  std::sort(events.begin(), events.end());

  std::set<Config> configs{Config{unknown_initial ? kUnknown : kNil, {}}};
  std::vector<std::uint32_t> in_flight;  // sorted
  std::vector<std::int64_t> next_states;
  for (const auto& [time, type, index] : events) {
    (void)time;
    if (type == 0) {
      in_flight.insert(std::upper_bound(in_flight.begin(), in_flight.end(), index), index);
      continue;
    }
    // Every configuration that can linearize `index` now, after any other in-flight ones;
    // at an ambiguous operation's deadline also those where it never took effect.
    std::set<Config> next;
    if (ops[index].ambiguous) {
      for (const Config& c : configs) {
        if (!contains(c.done, index)) next.insert(c);
      }
    }
    std::set<Config> seen(configs.begin(), configs.end());
    std::vector<Config> stack(configs.begin(), configs.end());
    while (!stack.empty()) {
      Config c = std::move(stack.back());
      stack.pop_back();
      if (contains(c.done, index)) {
        c.done.erase(std::lower_bound(c.done.begin(), c.done.end(), index));
        next.insert(std::move(c));
        continue;
      }
      for (std::uint32_t p : in_flight) {
        if (contains(c.done, p)) continue;
        model.step(c.state, ops[p], next_states);
        for (std::int64_t s : next_states) {
          Config d{s, c.done};
          d.done.insert(std::upper_bound(d.done.begin(), d.done.end(), p), p);
          if (!seen.insert(d).second) continue;
          if (seen.size() > max_configs) {
            result.verdict = LinearizabilityResult::Verdict::skipped;
            result.peak_configs = seen.size();
            return result;
          }
          stack.push_back(std::move(d));
        }
      }
    }
    result.peak_configs = std::max(result.peak_configs, seen.size());
    in_flight.erase(std::lower_bound(in_flight.begin(), in_flight.end(), index));
    if (next.empty()) {
      result.verdict = LinearizabilityResult::Verdict::violation;
      result.failed_op = input[index].id;
      return result;
    }
    configs = std::move(next);
  }
  return result;
}

}  // namespace apiary::sim
