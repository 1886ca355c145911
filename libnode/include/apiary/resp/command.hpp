// The contract between the connection and a command handler.
//
// A handler receives the parsed argv (views into the connection's input, valid only during
// the call), the time, and a ReplyWriter. It either replies now (Outcome::done), or holds its
// reply back for a while (Outcome::reply_after: DEBUG SLEEP), or promises the reply for
// later (Outcome::pending: a key owned by another node, forwarded and relayed). While a
// command is held or pending the connection executes nothing else, so pipelined replies
// always leave in request order. Handlers that go pending must copy what they need from argv.
// Handlers run on the connection's thread and must not block.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "apiary/base/time.hpp"
#include "apiary/resp/reply_writer.hpp"

namespace apiary::resp {

class Server;
class Connection;

// Identifies a reply that a handler promised; the driver completes it through
// Connection::complete(). Unique per connection.
struct PendingToken {
  std::uint64_t value = 0;
  friend constexpr bool operator==(PendingToken, PendingToken) = default;
};

class Outcome {
 public:
  enum class Kind : unsigned char { done, reply_after, pending, blocked };

  static constexpr Outcome done() { return Outcome(Kind::done, Duration::zero(), {}); }
  // The reply the handler wrote is released when `delay` has passed.
  static constexpr Outcome reply_after(Duration delay) {
    return Outcome(Kind::reply_after, delay, {});
  }
  // The reply will be supplied with Connection::complete(token, ...).
  static constexpr Outcome pending(PendingToken token) {
    return Outcome(Kind::pending, Duration::zero(), token);
  }

  // A blocking command (BLPOP, BZPOPMIN, ...; CommandFlag kBlocking) found nothing to serve.
  // The handler has written the reply the client gets if `timeout` passes first (a null);
  // it has changed nothing. The cluster layer parks the command at the keys' coordinator and
  // runs the handler again, in order of arrival, whenever one of its keys is written, until
  // the timeout (zero: none) passes. Without a cluster layer the connection sends the
  // written reply once the timeout has passed.
  static constexpr Outcome blocked(Duration timeout) {
    return Outcome(Kind::blocked, timeout, {});
  }

  Kind kind() const { return kind_; }
  Duration delay() const { return delay_; }
  PendingToken token() const { return token_; }

 private:
  constexpr Outcome(Kind kind, Duration delay, PendingToken token)
      : kind_(kind), delay_(delay), token_(token) {}
  Kind kind_;
  Duration delay_;
  PendingToken token_;
};

struct CommandContext {
  Server& server;
  Connection& client;
  ReplyWriter& reply;
  std::span<const std::string_view> argv;
  TimePoint now;
  WallTime wall;
};

using CommandHandler = Outcome (*)(CommandContext&);

}  // namespace apiary::resp
