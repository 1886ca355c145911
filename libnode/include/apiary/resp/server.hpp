// Server: what every connection's commands share — the command table, the client registry
// (CLIENT LIST / KILL / ID), the configuration (CONFIG GET / SET), the statistics (INFO) and
// the keyspace.
//
// Sans-IO like Connection: the driver creates connections with connect(), feeds them, and
// calls on_timer() at next_deadline() for deferred replies and idle timeouts. Clients killed
// by another client's command are reported through take_closing(). Not thread-safe: one per
// node, used only on the node's event-loop thread.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/time.hpp"
#include "apiary/resp/cluster_keyspace.hpp"
#include "apiary/resp/command_stats.hpp"
#include "apiary/resp/command_table.hpp"
#include "apiary/resp/connection.hpp"
#include "apiary/resp/diagnostics.hpp"
#include "apiary/resp/migrator.hpp"
#include "apiary/resp/persistence_control.hpp"
#include "apiary/resp/pubsub.hpp"
#include "apiary/resp/scripting.hpp"
#include "apiary/resp/server_acl.hpp"
#include "apiary/resp/server_config.hpp"
#include "apiary/resp/server_hooks.hpp"
#include "apiary/resp/tracking.hpp"

namespace apiary::store {
class Store;
}

namespace apiary::resp {

struct ServerStats {
  std::uint64_t connections_received = 0;
  std::uint64_t rejected_connections = 0;
  std::uint64_t commands_processed = 0;
  std::uint64_t net_input_bytes = 0;
  std::uint64_t net_output_bytes = 0;
  std::uint64_t keyspace_hits = 0;
  std::uint64_t keyspace_misses = 0;
  std::uint64_t error_replies = 0;
  std::uint64_t query_buffer_disconnections = 0;
  std::uint64_t output_buffer_disconnections = 0;
  // Exceptions that escaped a command handler or the forwarder (INFO stats
  // `apiary_command_exceptions`); each was answered "-ERR internal error" and logged.
  std::uint64_t command_exceptions = 0;
};

struct ServerIdentity {
  std::string version = "7.0.15";  // what INFO/HELLO report as redis_version, for clients
  std::string apiary_version;  // apiary::version(), set by NodeCore
  std::string run_id = "0000000000000000000000000000000000000000";
  std::string node_name;
  std::int64_t tcp_port = 6379;
};

class Server : public ServerAcl {
 public:
  explicit Server(ServerIdentity identity = {},
                  const CommandTable& commands = default_command_table());
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // A new client. Above maxclients the connection is created already rejected (it answers
  // "max number of clients reached" and closes), as redis-server does.
  std::unique_ptr<Connection> connect(TimePoint now, ClientAddress address);

  // Deferred replies and idle timeouts. Returns the clients whose output or close state
  // changed, so the driver can flush or close them.
  TimePoint next_deadline() const;
  std::vector<ClientId> on_timer(TimePoint now, WallTime wall);
  // Clients that a command marked for closing (CLIENT KILL) since the last call.
  std::vector<ClientId> take_closing();

  // The keyspace the data commands run against. Without one they answer an error; the
  // connection-level commands work either way. Defined with the data commands
  // (commands/keyspace_commands.cpp), so the connection layer builds without the store.
  void attach_store(store::Store* store);
  store::Store* store() const { return store_; }

  const CommandTable& commands() const { return commands_; }
  ServerConfig& config() { return config_; }
  const ServerConfig& config() const { return config_; }
  ServerStats& stats() { return stats_; }
  const ServerIdentity& identity() const { return identity_; }
  TimePoint started() const { return started_; }
  // CONFIG RESETSTAT: this layer's counters and the store's.
  void reset_stats();

  // Registry, ordered by id (CLIENT LIST order).
  const std::map<ClientId, Connection*>& clients() const { return clients_; }
  Connection* find_client(ClientId id) const;
  void mark_closing(ClientId id) { closing_.push_back(id); }

  // Forwarding hook for the cluster layer. Called before every command that has key
  // arguments (CommandSpec::has_keys) would run here, with the command already checked for
  // arity. Returning nullopt runs the command locally as usual. Returning an Outcome takes the
  // command over: Outcome::done() when the hook wrote the reply into ctx.reply itself (it ran
  // the command, or refused it), Outcome::pending(token) when the reply comes later through
  // Connection::complete(token, ...) (argv is only valid during the call: copy it).
  // Unset: everything runs locally.
  using Forwarder = std::function<std::optional<Outcome>(CommandContext&, const CommandSpec&)>;
  void set_forwarder(Forwarder forwarder) { forwarder_ = std::move(forwarder); }
  const Forwarder& forwarder() const { return forwarder_; }

  // The cluster layer's side of blocking commands (server_hooks.hpp).
  using BlockingHooks = resp::BlockingHooks;
  void set_blocking_hooks(BlockingHooks hooks) { blocking_ = std::move(hooks); }
  const BlockingHooks& blocking_hooks() const { return blocking_; }

  // The keyspace commands without keys (DBSIZE, KEYS, SCAN, ...) answer through this when
  // set (the cluster's keyspace), from the attached store otherwise. Not owned; nullptr
  // uninstalls it.
  void set_cluster_keyspace(ClusterKeyspace* keyspace) { cluster_keyspace_ = keyspace; }
  ClusterKeyspace* cluster_keyspace() const {
    return local_only_ == 0 ? cluster_keyspace_ : nullptr;
  }
  // While a transaction or script runs at its keys' coordinator, the keyspace commands in
  // it (DBSIZE, KEYS, SCAN, RANDOMKEY, INFO keyspace) answer for this node's store, as they
  // do on a Redis Cluster node, and a script in a transaction runs here. Nests.
  bool local_only() const { return local_only_ != 0; }
  // The cluster layer even under LocalOnly: the scripting layer tells the members of a
  // FUNCTION LOAD or SCRIPT LOAD whatever runs it (a transaction included).
  ClusterKeyspace* cluster_members() const { return cluster_keyspace_; }
  class LocalOnly {
   public:
    explicit LocalOnly(Server& server) : server_(server) { ++server_.local_only_; }
    ~LocalOnly() { --server_.local_only_; }
    LocalOnly(const LocalOnly&) = delete;
    LocalOnly& operator=(const LocalOnly&) = delete;

   private:
    Server& server_;
  };

  // SAVE, BGSAVE, BGREWRITEAOF, LASTSAVE and the MISCONF refusal of writes (and PING, as
  // Redis) go through this when set. Not owned; nullptr uninstalls it.
  void set_persistence(PersistenceControl* persistence) { persistence_ = persistence; }
  PersistenceControl* persistence() const { return persistence_; }

  // MIGRATE's outbound side (apiary/resp/migrator.hpp). Not owned; nullptr uninstalls it,
  // and MIGRATE then answers an error.
  void set_migrator(Migrator* migrator) { migrator_ = migrator; }
  Migrator* migrator() const { return migrator_; }

  // EVAL, FCALL, SCRIPT and FUNCTION (scripting.hpp). Not owned; nullptr uninstalls it.
  void set_scripting(Scripting* scripting) { scripting_ = scripting; }
  Scripting* scripting() const { return scripting_; }

  // What other members ask this node about its scripts and function libraries
  // (ClusterKeyspace::ask_members): an operation name and its arguments, answered with a
  // list of values at once. Unset: an empty answer.
  using MemberHandler =
      std::function<std::vector<std::string>(std::string_view op, std::span<const std::string>)>;
  void set_member_handler(MemberHandler handler) { member_handler_ = std::move(handler); }
  const MemberHandler& member_handler() const { return member_handler_; }

  // A script running past busy-reply-threshold (Redis's "busy" state): every other client's
  // command is answered `busy_error` (a "-BUSY ..." line) except SCRIPT KILL, FUNCTION KILL and
  // FUNCTION STATS. Empty: not busy.
  void set_busy(std::string busy_error) { busy_error_ = std::move(busy_error); }
  const std::string& busy_error() const { return busy_error_; }
  // The driver's side of a long script (server_hooks.hpp).
  using BusyWatch = resp::BusyWatch;
  void set_busy_watch(BusyWatch watch) { busy_watch_ = std::move(watch); }
  const BusyWatch& busy_watch() const { return busy_watch_; }
  // Per-command counts, times and errors (INFO commandstats/errorstats/latencystats,
  // /metrics), and the slow log, latency monitor and MONITOR clients (diagnostics.hpp).
  CommandStats& command_stats() { return command_stats_; }
  const CommandStats& command_stats() const { return command_stats_; }
  Diagnostics& diagnostics() { return *diagnostics_; }
  // The clock commands are timed by (a monotonic one; the driver's). Unset (the
  // simulator): every command takes no time.
  using Clock = TimePoint (*)();
  void set_clock(Clock clock) { clock_ = clock; }
  TimePoint clock_now(TimePoint fallback) const { return clock_ != nullptr ? clock_() : fallback; }
  // Publish/subscribe (pubsub.hpp) and client-side caching (tracking.hpp), owned here.
  PubSub& pubsub() { return *pubsub_; }
  Tracking& tracking() { return *tracking_; }
  // Connections that got output outside of a command's reply (Connection::push), to flush.
  void note_pushed(ClientId id) { pushed_.push_back(id); }
  std::vector<ClientId> take_pushed();
  bool has_pushed() const { return !pushed_.empty(); }
  // What another member tells or asks this node (ClusterKeyspace::tell_member/ask_members):
  // "pubsub.*" to PubSub, "tracking.*" to Tracking, anything else to the member handler.
  std::vector<std::string> member_op(std::string_view op, std::span<const std::string> args);
  // The other live members after the cluster layer's view changed (sorted names).
  void on_members(TimePoint now, const std::vector<std::string>& live);
  // Messages `from` told this node went missing (or it restarted): the pub/sub registry asks
  // it for its interest again; every tracking client is told to flush.
  void member_gap(std::string_view from);

  // The latest time a long script saw on the busy watch's clock: the cluster layer starts
  // the script's replication from it, not from the time the command arrived (a write quorum
  // timer started seconds in the past would expire at once). TimePoint{} until then.
  void note_time(TimePoint t) {
    if (t > noted_time_) noted_time_ = t;
  }
  TimePoint noted_time() const { return noted_time_; }

  // Second line of defence behind the argument checks: runs `run` (a command's handler, or
  // the forwarder and then the handler) and turns an exception escaping it into the reply
  // "-ERR internal error" (what the command had written is dropped), a count in
  // ServerStats::command_exceptions and a call of the exception log. It never rethrows, so no
  // command can end the process.
  template <class Run>
  Outcome guarded(CommandContext& ctx, const CommandSpec& spec, Run&& run) {
    const std::size_t mark = ctx.reply.buffer().size();
    try {
      return run();
    } catch (const std::exception& e) {
      return on_exception(ctx, spec, mark, e.what());
    } catch (...) {
      return on_exception(ctx, spec, mark, "unknown exception");
    }
  }
  // Receives one line per exception guarded() caught ("command 'setrange' threw ...");
  // the driver logs it. Unset: counted only.
  using ExceptionLog = std::function<void(std::string_view)>;
  void set_exception_log(ExceptionLog log) { exception_log_ = std::move(log); }

  // Extra INFO sections supplied by other components ("cluster": members and partitions).
  // The function appends "key:value\r\n" lines; an empty function removes the section.
  using InfoSection = std::function<void(std::string&)>;
  void set_info_section(std::string name, InfoSection section);
  // The function of a section set above (empty when none), to extend it.
  InfoSection info_section(std::string_view name) const;
  // INFO text for the requested sections ("default", "all", "everything" or names).
  // `replaced` gives the lines of some sections (by lower-case name) instead of their
  // providers' (the cluster's keyspace, gathered from every member).
  std::string info(const std::vector<std::string_view>& sections, TimePoint now,
                   const std::map<std::string, std::string>& replaced = {}) const;
  // Whether INFO with these arguments shows section `name` (lower case).
  static bool info_includes(const std::vector<std::string_view>& sections, std::string_view name);

 private:
  friend class Connection;
  void register_client(Connection* c);
  void unregister_client(ClientId id);
  Outcome on_exception(CommandContext& ctx, const CommandSpec& spec, std::size_t mark,
                       std::string_view what);

  ServerIdentity identity_;
  const CommandTable& commands_;
  store::Store* store_ = nullptr;
  void (*reset_store_stats_)(store::Store*) = nullptr;  // set by attach_store()
  ServerConfig config_;
  ServerStats stats_;
  TimePoint started_{};
  bool started_set_ = false;
  ClientId next_id_ = 1;
  std::map<ClientId, Connection*> clients_;
  std::vector<ClientId> closing_;
  // next_deadline() runs after every I/O event, so it must not walk all clients each time:
  // clients with a held reply are counted, and the earliest idle deadline is cached and
  // recomputed only after a timer, a new client or a change of `timeout` (activity only
  // moves deadlines later, so a stale cached value is early, never late).
  std::size_t waiting_clients_ = 0;
  mutable bool idle_dirty_ = true;
  mutable std::int64_t idle_timeout_cached_ = -1;
  mutable TimePoint idle_deadline_ = kNever;
  std::map<std::string, InfoSection> info_sections_;
  Forwarder forwarder_;
  BlockingHooks blocking_;
  ClusterKeyspace* cluster_keyspace_ = nullptr;
  int local_only_ = 0;
  PersistenceControl* persistence_ = nullptr;
  Migrator* migrator_ = nullptr;
  Scripting* scripting_ = nullptr;
  MemberHandler member_handler_;
  std::string busy_error_;
  BusyWatch busy_watch_;
  TimePoint noted_time_{};
  ExceptionLog exception_log_;
  CommandStats command_stats_;
  Clock clock_ = nullptr;
  std::unique_ptr<Diagnostics> diagnostics_;
  std::unique_ptr<PubSub> pubsub_;
  std::unique_ptr<Tracking> tracking_;
  std::vector<ClientId> pushed_;
};

// Runs spec's handler through Server::guarded (for callers that run handlers themselves, such
// as the cluster layer executing a peer's command).
inline Outcome run_handler(const CommandSpec& spec, CommandContext& ctx) {
  return ctx.server.guarded(ctx, spec, [&] { return spec.handler(ctx); });
}

}  // namespace apiary::resp
