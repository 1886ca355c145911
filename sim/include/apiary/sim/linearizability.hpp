// A linearizability check of one key's history as a Redis string register: GET, SET, SET NX
// and DEL, with every written value unique (the workload writes "v<op id>").
//
// The search is the "just in time" form of Wing & Gong's algorithm (Lowe 2017; Knossos's
// `linear`): events are visited in time order keeping every configuration the history so far
// can be in -- the register's state plus which of the operations still in flight are already
// linearized. An invocation adds an operation to the in-flight set; at its return every
// configuration must be able to linearize it, possibly after other in-flight operations
// (explored exhaustively, with each configuration visited once). No configuration left means
// no linearization exists, and the operation whose return found none is reported.
//
// Ambiguous operations (an error reply, or no reply before the client's timeout) may take
// effect at any point between their invocation and their `returned` time -- the latest moment
// they can (kUnbounded: any time) -- or never. Until then they stay in flight, and each one
// can double the configurations; `max_configs` bounds the work and the result then says
// `skipped` instead of running long. A failed GET constrains nothing and should not be passed.
//
// With `unknown_initial` the register starts in an unknown state (a window cut out of a longer
// history): the first read may return nil or any value not written inside the window (a value
// written inside the window has an invocation inside it, so cannot be its initial state).
// Equal timestamps count as concurrent (an invocation at t may precede a return at t).
// Pure; deterministic; not thread-safe only in that it is a plain function of its input.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>

namespace apiary::sim {

inline constexpr std::int64_t kUnbounded = std::numeric_limits<std::int64_t>::max();

struct RegisterOp {
  enum class Kind : unsigned char { get, set, set_nx, del };
  Kind kind = Kind::get;
  std::uint64_t id = 0;       // for the report
  std::int64_t invoked = 0;   // virtual ns
  std::int64_t returned = 0;  // ambiguous: the latest time it may take effect, or kUnbounded
  bool ambiguous = false;
  // get: the value read (nullopt = nil); set, set_nx: the value written.
  std::optional<std::string> value;
  // set_nx: true = won (+OK), false = lost (nil); del: true = it removed the key (:1).
  bool won = false;
};

struct LinearizabilityResult {
  enum class Verdict : unsigned char { linearizable, violation, skipped };
  Verdict verdict = Verdict::linearizable;
  std::uint64_t failed_op = 0;   // violation: the operation whose return found none
  std::size_t peak_configs = 0;  // the most configurations held at once
  std::size_t operations = 0;
};

LinearizabilityResult check_register(std::span<const RegisterOp> ops, bool unknown_initial,
                                     std::size_t max_configs = 50000);

}  // namespace apiary::sim
