// Internal to libnode/routing: the Router's state (router.cpp runs commands and relays
// replies; blocking.cpp parks blocking commands at their keys' coordinator).
#pragma once

#include <map>
#include <set>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "apiary/replication/replicator.hpp"
#include "apiary/resp/command_table.hpp"
#include "apiary/resp/server.hpp"
#include "apiary/routing/router.hpp"
#include "keyspace.hpp"
#include "merge.hpp"

namespace apiary::routing {

using replication::QuorumOverride;

// Where the reply of an operation goes.
struct Sink {
  enum class Kind : unsigned char { client, peer, part, call } kind = Kind::client;
  resp::ClientId client = 0;     // client
  resp::PendingToken token;      // client
  std::uint64_t call = 0;        // call: Router::call's id
  std::uint64_t peer_token = 0;  // peer: Replicator::reply_forwarded
  std::string requester;         // peer: the member that forwarded the command
  std::uint64_t fanout = 0;      // part
  std::size_t part = 0;          // part
  std::uint64_t parked = 0;      // a parked blocking command running again (blocking.cpp)
};

// A command this node runs as an owner, waiting for quorum reads (before running) or quorum
// writes (after running).
struct Job {
  std::vector<std::string> argv;
  const resp::CommandSpec* spec = nullptr;
  int protocol = 2;
  Sink sink;
  bool write = false;
  bool read_first = false;  // a write waiting for its quorum read before it runs
  std::uint32_t read_quorum = 0;
  std::uint32_t write_quorum = 0;  // read_first: what the write runs with afterwards
  std::uint32_t outstanding = 0;
  std::string reply;  // write: the local reply, released once the quorum is reached
  Status failure;     // first operation that failed
  std::uint32_t fewest_replicas = 0;
};

// A multi-key command split across owners.
struct Fanout {
  Sink origin;  // the client or call the merged reply goes to
  Merge merge = Merge::none;
  std::size_t key_count = 0;
  std::vector<std::vector<std::size_t>> positions;
  std::vector<std::string> replies;
  std::size_t outstanding = 0;
};

// What a Replicator completion id stands for.
struct Waiter {
  bool forward = false;  // a forward (reply relayed to `sink`) or a job's read/write
  std::uint64_t job = 0;
  Sink sink;
  // A forwarded write: the client and the keys it holds in flight (see InFlightWrite).
  resp::ClientId client = 0;
  std::vector<std::uint64_t> keys;
  // A blocking command forwarded to its keys' coordinator, which holds it: routed again
  // (with what is left of its timeout) when the coordinator changes (blocking.cpp).
  bool blocking = false;
  const resp::CommandSpec* spec = nullptr;
  std::vector<std::string> argv;
  int protocol = 2;
  QuorumOverride quorum;
  TimePoint deadline = kNever;
};

// A blocking command parked at its keys' coordinator until one of them holds something for
// it, its timeout passes, or its client leaves (blocking.cpp). Served in order of arrival.
struct Parked {
  const resp::CommandSpec* spec = nullptr;
  std::vector<std::string> argv;
  int protocol = 2;
  Sink sink;
  QuorumOverride quorum;
  std::vector<std::string> keys;  // distinct, in command order
  std::uint64_t arrival = 0;
  TimePoint deadline = kNever;
  std::string timeout_reply;  // the handler's null, in the client's protocol
  bool trying = false;        // running again (waiting for a quorum read or write)
  bool expired = false;       // its deadline passed while it was running
};

// What running a handler here gave.
struct Executed {
  std::string reply;
  std::optional<Duration> blocked;  // Outcome::blocked: its timeout (zero: none)
};

// A client's write forwarded to a key's coordinator and not answered yet. A read of the same
// key from the same client, pipelined behind it, must see it as one Redis would; run on this
// node's copy it could overtake the write, so it follows it to the same node instead (one
// data channel per peer delivers in order).
struct InFlightWrite {
  std::string target;
  std::uint32_t count = 0;
};

struct Router::Impl {
  resp::Server& server;
  replication::Replicator& replicator;
  RouterConfig config;
  Clock clock;
  resp::Connection internal;  // runs commands for peers and fan-out parts
  RouterStats stats;
  QuorumFailures quorum_failures;  // since take_quorum_failures()
  std::uint64_t next_id = 1;
  std::map<std::uint64_t, Waiter> waiters;
  std::map<std::uint64_t, Job> jobs;
  std::map<std::uint64_t, Fanout> fanouts;
  std::map<std::pair<resp::ClientId, std::uint64_t>, InFlightWrite> inflight_writes;
  std::vector<ClientReply> ready;
  std::vector<CallReply> calls_ready;
  Keyspace keyspace;  // the commands without keys, for the whole cluster
  // Blocking commands (blocking.cpp): parked here as their keys' coordinator, by id; each
  // key's queue in arrival order; deadlines; keys written since the last serve; and the
  // blocking forwards of this node's clients (client -> waiter id).
  std::map<std::uint64_t, Parked> parked;
  std::map<std::string, std::set<std::pair<std::uint64_t, std::uint64_t>>, std::less<>> blocked_on;
  std::set<std::pair<TimePoint, std::uint64_t>> block_deadlines;
  std::set<std::string, std::less<>> ready_keys;
  std::map<resp::ClientId, std::uint64_t> blocked_forwards;
  std::uint64_t arrivals = 0;
  TimePoint next_sweep = kNever;
  bool serving = false;

  Impl(resp::Server& s, replication::Replicator& r, RouterConfig c, Clock k)
      : server(s),
        replicator(r),
        config(c),
        clock(std::move(k)),
        internal(s, resp::kInternalClient, resp::ClientAddress{"cluster:0", "cluster:0", -1},
                 TimePoint{}),
        keyspace(s, r, ready, stats) {}

  // The quorums a command runs with: the per-call override, else the configured ones.
  QuorumOverride effective(QuorumOverride q) const {
    return {q.write != 0 ? q.write : config.write_quorum,
            q.read != 0 ? q.read : config.read_quorum};
  }

  // Runs the command against the local store and returns its reply.
  // Runs the handler; a command a peer forwarded goes to this node's slow log and latency
  // monitor here (a local client's is recorded by its connection).
  Executed execute(const resp::CommandSpec& spec, std::span<const std::string_view> argv,
                   int protocol, resp::Connection& conn, const Sink& sink, TimePoint now,
                   WallTime wall);

  resp::Connection* connection_for(const Sink& sink);

  // Runs a command whose keys this node owns (or was asked to run by a peer). Returns the
  // reply when it is known now; otherwise the reply goes to `sink` later.
  // `keys`: key_indices(spec, argv), worked out once by the caller.
  std::optional<std::string> run_owned(const resp::CommandSpec& spec,
                                       std::span<const std::string_view> argv,
                                       std::span<const std::size_t> keys, int protocol,
                                       resp::Connection& conn, const Sink& sink, TimePoint now,
                                       WallTime wall, QuorumOverride override);

  // Runs a write against the local store and ships it to the other owners; the reply leaves
  // once W replicas hold it (now when W=1).
  std::optional<std::string> write_owned(const resp::CommandSpec& spec,
                                         std::span<const std::string_view> argv,
                                         std::span<const std::size_t> keys, int protocol,
                                         resp::Connection& conn, const Sink& sink, TimePoint now,
                                         WallTime wall, QuorumOverride q);

  // The requester of a peer's write when it is a live owner of every key the write touched:
  // the reply carries the keys' versions to it (Replicator::carry). Empty otherwise.
  std::string_view carrier_of(const Sink& sink, std::span<const std::string_view> touched);

  std::uint64_t start_job(const resp::CommandSpec& spec, std::span<const std::string_view> argv,
                          int protocol, const Sink& sink, bool write, std::size_t outstanding);

  std::uint64_t waiter_for(std::uint64_t job_id);

  static std::uint64_t key_hash(std::string_view key) { return std::hash<std::string_view>{}(key); }

  // The client a reply finally goes to (0 for embedding calls and peers).
  resp::ClientId client_of(const Sink& sink) const;
  // The ACL user of the client behind `sink`, sent with a forward so that the coordinator
  // checks it again; empty for the node's own commands (the embedding API).
  std::string user_of(const Sink& sink) const;

  // Sends a command to `target`, the keys' coordinator (a write) or an owner (a read). A write
  // is never retried on another owner: it may have run on the first.
  void forward(const std::string& target, std::span<const std::string_view> argv,
               std::span<const std::size_t> key_args, int protocol, const Sink& sink, TimePoint now,
               QuorumOverride quorum, bool write);

  void release_inflight(const Waiter& w);

  // Where a read of `key` from `client` must go when a write of it is in flight, else "".
  const std::string* pending_write_target(resp::ClientId client, std::string_view key) const;

  void finish(const Sink& sink, Answer answer, TimePoint now, WallTime wall);

  void job_step(std::uint64_t job_id, const replication::Completion& c, TimePoint now,
                WallTime wall);

  // The node each key goes to: "" for this node, else another live owner; nullopt when no
  // live node owns the key's partition. A write goes to the key's coordinator (its first
  // live owner), so that every write of a key runs on one node, one after the other; a read
  // runs on any owner.
  std::optional<std::string> target_of(std::string_view key, bool write) const;

  // Routes a keyed command from a client or an embedding call. Returns the reply when it is
  // known now; otherwise it goes to `origin` later.
  std::optional<Answer> route(const resp::CommandSpec& spec, std::span<const std::string_view> argv,
                              int protocol, resp::Connection& conn, const Sink& origin,
                              TimePoint now, WallTime wall, QuorumOverride quorum) {
    const auto keys = key_indices(spec, argv);
    return route(spec, argv, keys, protocol, conn, origin, now, wall, quorum);
  }
  std::optional<Answer> route(const resp::CommandSpec& spec, std::span<const std::string_view> argv,
                              std::span<const std::size_t> keys, int protocol,
                              resp::Connection& conn, const Sink& origin, TimePoint now,
                              WallTime wall, QuorumOverride quorum);
  std::optional<resp::Outcome> on_command(resp::CommandContext& ctx, const resp::CommandSpec& spec);
  std::optional<std::string> on_peer_command(const replication::ForwardedCommand& cmd);
  // The spec of a command sent by a peer or an embedding call, or nullptr when it is unknown,
  // has the wrong arity or no keys (only keyed commands are routed).
  const resp::CommandSpec* keyed_spec(std::span<const std::string_view> argv) const;

  // ---- blocking commands (blocking.cpp) ----
  // Forwards a blocking command to its keys' coordinator, which may hold it.
  void forward_blocking(const resp::CommandSpec& spec, std::span<const std::string_view> argv,
                        std::span<const std::size_t> key_args, int protocol, const Sink& sink,
                        TimePoint now, QuorumOverride quorum);
  // A handler answered Outcome::blocked: parks the command (or, for a parked one that ran
  // again, puts it back in its place).
  void park(const resp::CommandSpec& spec, std::span<const std::string_view> argv, int protocol,
            const Sink& sink, QuorumOverride quorum, Duration timeout, std::string timeout_reply,
            TimePoint now, WallTime wall);
  void unpark(std::uint64_t id);
  // Unparks a command and sends it `reply` (its timeout's null, CLIENT UNBLOCK's error).
  void answer_parked(std::uint64_t id, std::string reply, TimePoint now, WallTime wall);
  // A key written here: its parked commands may be served at the next settle.
  void mark_ready(std::string_view key) {
    if (!blocked_on.empty() && blocked_on.count(key) != 0) ready_keys.emplace(key);
  }
  void serve_ready(TimePoint now, WallTime wall);
  void expire_parked(TimePoint now, WallTime wall);
  // Parked commands whose keys this node no longer coordinates go to the new coordinator.
  void move_parked(TimePoint now, WallTime wall);
  // Routes a blocking command again with what is left of its timeout.
  void reroute_blocking(const resp::CommandSpec& spec, const std::vector<std::string>& argv,
                        int protocol, const Sink& sink, QuorumOverride quorum, TimePoint deadline,
                        TimePoint now, WallTime wall);
  void on_blocking_completion(const Waiter& w, const replication::Completion& c, TimePoint now,
                              WallTime wall);
  bool unblock(resp::ClientId client, bool error, TimePoint now, WallTime wall);
  void cancel_peer(std::uint64_t token, replication::CancelMode mode, TimePoint now, WallTime wall);
  void client_closed(resp::ClientId client);
};

}  // namespace apiary::routing
