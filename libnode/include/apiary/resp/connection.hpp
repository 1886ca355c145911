// Connection: one Redis client, sans-IO.
//
// The driver hands it the bytes read from the socket with feed(); it parses every complete
// request, executes it against the Server, and appends the replies to its output, which the
// driver drains with output()/consume_output(). It never reads a clock (time comes with
// every call) and never touches a socket. After a protocol error, QUIT, CLIENT KILL or a
// limit, should_close() turns true: the driver writes what is left in output() and closes.
//
// A command may finish later (Outcome::reply_after / Outcome::pending in command.hpp). A
// pending command with keys (forwarded to another node, or waiting for its write quorum)
// does not stop the pipeline: the keyed commands after it keep running (up to kMaxInFlight
// in flight), and their replies wait in order behind it, so replies still leave in request
// order. Anything else -- a command without keys, or a reply_after -- stops executing until
// everything before it has its reply, keeps buffering input, and resumes in order once
// on_timer() passes wake_at() or complete() delivers the promised reply.
// Not thread-safe: used only on the thread of the event loop that owns the Server.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "apiary/base/time.hpp"
#include "apiary/resp/command.hpp"
#include "apiary/resp/request_parser.hpp"
#include "apiary/resp/transaction.hpp"

namespace apiary::resp {

class Server;
struct CommandSpec;

using ClientId = std::uint64_t;
// A connection constructed with this id is not registered with the server (no CLIENT LIST
// entry, no maxclients slot): the cluster layer runs commands for other nodes through one.
inline constexpr ClientId kInternalClient = 0;

struct ClientAddress {
  std::string peer = "?:0";  // "127.0.0.1:52506", as CLIENT LIST shows it
  std::string local = "?:0";
  int fd = -1;  // shown by CLIENT LIST only
  // The client came from the loopback interface (protected mode refuses the others while
  // the default user has no password). The driver tells; simulated clients are local.
  bool loopback = true;
};

enum class ReplyMode : unsigned char { on, off, skip_next, skip_this };

class Connection {
 public:
  // Use Server::connect() (or id kInternalClient for an unregistered internal client).
  Connection(Server& server, ClientId id, ClientAddress address, TimePoint now);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Bytes read from the client. Executes every complete command they finish.
  void feed(TimePoint now, WallTime wall, std::string_view bytes);

  // Reply bytes waiting to be written; consume_output(n) after writing n of them.
  std::string_view output() const { return std::string_view(out_).substr(out_pos_); }
  void consume_output(std::size_t n);
  // True once the connection must be closed after output() is drained.
  bool should_close() const { return close_ != CloseReason::none; }

  // Deferred replies: when wake_at() has passed, on_timer() releases the reply and
  // resumes executing buffered commands.
  TimePoint wake_at() const { return wake_at_; }
  void on_timer(TimePoint now, WallTime wall);
  // Delivers the RESP-encoded reply promised by Outcome::pending(token) and resumes.
  // Unknown tokens are ignored (the connection may have been reset or killed meanwhile).
  void complete(PendingToken token, std::string_view reply, TimePoint now, WallTime wall);
  bool waiting() const { return wait_ != Wait::none || !slots_.empty(); }
  // Waiting in a blocking command (BLPOP, ...): INFO's blocked_clients, CLIENT LIST's "b".
  bool blocked() const { return blocked_; }
  // A token for a handler that is about to return Outcome::pending.
  PendingToken next_token() { return PendingToken{++last_token_}; }
  // The token the command that ran last promised its reply under (Outcome::pending), or
  // PendingToken{} when it answered at once (Tracking::after_command reads it).
  PendingToken pending_reply() const { return pending_reply_; }

  // Marks the connection for closing and drops unsent output (CLIENT KILL, idle timeout).
  void kill();
  // Replies with `error` (an addReplyError-style message) and closes after it is written;
  // used for "max number of clients reached".
  void reject(std::string_view error);

  // ACL: the user this client runs as ("default" until AUTH or HELLO AUTH) and whether it
  // has authenticated (a new client is when the default user needs no password).
  const std::string& user() const { return user_; }
  bool authenticated() const { return authenticated_; }
  void set_user(std::string user) {
    user_ = std::move(user);
    authenticated_ = true;
  }
  // The cluster layer's internal connection runs a member's forwarded command as its client's
  // user (a script's redis.call is checked against it); empty: as itself.
  class RunAs {
   public:
    RunAs(Connection& c, const std::string& user) : c_(c), saved_(c.user_) {
      if (!user.empty()) c_.user_ = user;
    }
    ~RunAs() { c_.user_ = std::move(saved_); }
    RunAs(const RunAs&) = delete;
    RunAs& operator=(const RunAs&) = delete;

   private:
    Connection& c_;
    std::string saved_;
  };

  // State shown by CLIENT LIST / CLIENT INFO and changed by HELLO, CLIENT, RESET.
  ClientId id() const { return id_; }
  const ClientAddress& address() const { return address_; }
  int protocol() const { return protocol_; }
  void set_protocol(int p) { protocol_ = p; }
  const std::string& name() const { return name_; }
  void set_name(std::string_view name) { name_ = name; }
  int db() const { return 0; }
  bool no_evict() const { return no_evict_; }
  void set_no_evict(bool on) { no_evict_ = on; }
  // CLIENT NO-TOUCH (Redis 7.2): this client's commands, TOUCH excepted, leave the LRU/LFU
  // of the keys they access alone (on this node's store).
  bool no_touch() const { return no_touch_; }
  void set_no_touch(bool on) { no_touch_ = on; }
  void set_reply_mode(ReplyMode mode) { reply_mode_ = mode; }
  ReplyMode reply_mode() const { return reply_mode_; }
  TimePoint created() const { return created_; }
  TimePoint last_activity() const { return last_activity_; }
  // "client|list" style name of the last command, "NULL" before the first.
  std::string_view last_command() const;
  std::size_t query_buffer_size() const { return in_.size() - in_pos_; }
  std::size_t output_buffer_size() const { return out_.size() - out_pos_; }
  // Flags letters for CLIENT LIST ("N" for a normal client, "c"/"E" added when closing).
  std::string flags() const;
  // RESET: back to a fresh connection's settings (keeps id, addresses and, as Redis 7.0,
  // CLIENT NO-EVICT).
  void reset_state();
  // Closes after the reply of the current command (QUIT).
  void close_after_reply() { close_ = CloseReason::after_reply; }

  // Output that is not a command's reply (a pub/sub message, an invalidation): appended at
  // once, ahead of the replies of commands still in flight, and the server is told
  // (Server::take_pushed) so the driver flushes it. Pushed while this connection's own
  // command runs, it goes ahead of that command's reply (a message it published to itself,
  // as Redis), or after it with `after_reply` (an invalidation caused by its own write).
  // Kept under CLIENT REPLY OFF/SKIP as Redis 7.0 does; dropped once the connection is closing.
  void push(std::string_view bytes, bool after_reply = false);
  // Pub/sub subscriptions (channels + patterns + shard channels), kept by PubSub: in RESP2
  // a subscribed client may only run (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT and RESET.
  std::size_t subscriptions() const { return subscriptions_; }
  void set_subscriptions(std::size_t n) { subscriptions_ = n; }
  // CLIENT TRACKING, as CLIENT LIST shows it (Tracking keeps the rest). While `on`,
  // Connection::execute calls the tracking hooks around each command.
  struct TrackingFlags {
    bool on = false;
    bool bcast = false;            // flag B
    bool broken_redirect = false;  // flag R
    std::int64_t redirect = -1;    // redir=
  };
  bool tracking() const { return tracking_.on; }
  TrackingFlags& tracking_flags() { return tracking_; }
  const TrackingFlags& tracking_flags() const { return tracking_; }

  // MULTI/EXEC and WATCH (transaction.hpp).
  Transaction& transaction() { return transaction_; }
  const Transaction& transaction() const { return transaction_; }
  // The reply complete() delivers for `token` passes through `filter` first (WATCH turns
  // its coordinator's versions into +OK). Dropped with the token.
  using ReplyFilter = std::function<std::string(Connection&, std::string_view reply)>;
  void filter_reply(PendingToken token, ReplyFilter filter) {
    filters_[token.value] = std::move(filter);
  }

 private:
  enum class CloseReason : unsigned char { none, after_reply, killed };
  // timer: a reply_after command; token: a pending command without keys; slots: the next
  // command cannot run ahead of the keyed commands still in flight.
  enum class Wait : unsigned char { none, timer, token, slots };
  // A reply in pipeline order while keyed commands are in flight: pending until complete()
  // fills it, or already known (a command that ran after a pending one).
  struct Slot {
    PendingToken token;
    std::string reply;
    bool done = false;
    bool suppressed = false;
    // A pending command's spec and start, for its commandstats when its reply arrives.
    const CommandSpec* spec = nullptr;
    TimePoint started{};
  };
  static constexpr std::size_t kMaxInFlight = 256;
  bool may_run_ahead(std::span<const std::string_view> argv) const;
  void flush_slots();

  // Executes the complete requests at the front of `buf`; returns the bytes they used.
  std::size_t run(std::string_view buf, TimePoint now, WallTime wall);
  void resume(TimePoint now, WallTime wall);
  void execute(std::span<const std::string_view> argv, TimePoint now, WallTime wall);
  bool reject_unknown(std::span<const std::string_view> argv, ReplyWriter& reply);
  void check_output_limit(TimePoint now);
  void set_wait(Wait wait);  // keeps the server's count of waiting clients
  void compact_input();
  void append_output(std::string_view bytes);

  Server& server_;
  ClientId id_;
  ClientAddress address_;
  TimePoint created_;
  TimePoint last_activity_;
  int protocol_ = 2;
  std::string name_;
  bool no_evict_ = false;
  bool no_touch_ = false;
  TrackingFlags tracking_;
  std::size_t subscriptions_ = 0;
  bool executing_ = false;  // inside execute()
  // Where pushes made while the running command ran sit in out_ (kept if its reply is not).
  std::vector<std::pair<std::size_t, std::size_t>> pushed_spans_;
  std::string deferred_pushes_;  // pushes that wait for a reply (push()'s after_reply, Wait::token)
  ReplyMode reply_mode_ = ReplyMode::on;
  const CommandSpec* last_command_ = nullptr;

  std::string in_;
  std::size_t in_pos_ = 0;  // start of the first unexecuted request
  RequestParser parser_;
  std::string out_;
  std::size_t out_pos_ = 0;  // bytes already drained
  TimePoint soft_limit_since_ = kNever;

  CloseReason close_ = CloseReason::none;
  Wait wait_ = Wait::none;
  TimePoint wake_at_ = kNever;
  std::string held_reply_;  // the reply of a reply_after command
  PendingToken waiting_for_;
  std::string user_ = "default";
  bool authenticated_ = false;
  const CommandSpec* waiting_spec_ = nullptr;  // the command waiting_for_ belongs to (stats)
  TimePoint waiting_started_{};
  // Counts a pending command's call once its reply is in (CommandStats).
  void count_completed(const CommandSpec* spec, TimePoint started, std::string_view reply,
                       TimePoint now);
  bool held_suppressed_ = false;  // CLIENT REPLY OFF/SKIP applied to a held reply
  bool blocked_ = false;          // the held or pending reply is a blocking command's
  std::deque<Slot> slots_;
  std::uint64_t last_token_ = 0;
  PendingToken pending_reply_;
  Transaction transaction_;
  std::map<std::uint64_t, ReplyFilter> filters_;
  // The reply for `token`, through its filter when one was set.
  std::string filtered(PendingToken token, std::string_view reply);
  // Queues a command between MULTI and EXEC; false for those that run at once.
  bool queue(const CommandSpec& spec, std::span<const std::string_view> argv, ReplyWriter& reply);
};

}  // namespace apiary::resp
