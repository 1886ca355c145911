// Diagnostics: what a node keeps about the commands it runs for people looking at it --
// the slow log (SLOWLOG, slowlog-log-slower-than, slowlog-max-len), the latency monitor
// (LATENCY, latency-monitor-threshold) and the clients in MONITOR.
//
// The connection calls command_ran() after every command that ran (not for one queued in
// MULTI), with the time the command held this node's loop (its synchronous part: parsing
// excluded, waiting for other nodes excluded, as Redis's slow log measures execution).
// The cluster layer calls peer_command_ran() for a command it ran here, the key's
// coordinator, for a client of another node; a transaction (EXEC) and a script call
// nested_command_ran() for each command they run, as Redis's call() logs them.
//
// What reaches what (docs/observability.md, "Slow log, latency monitor, MONITOR"):
//   slow log        commands of this node's clients, commands run here for other nodes'
//                   clients (client = the requesting member's name), a transaction's and a
//                   script's commands; not those flagged skip-slowlog (EXEC).
//   latency events  "command" / "fast-command" (the command's `fast` flag), for this
//                   node's clients' commands and those run here for other nodes.
//   MONITOR         commands of this node's clients only (never what other nodes send
//                   here), without skip-monitor and admin commands, as Redis 7.0; a
//                   transaction's commands when its EXEC runs, a script's as "[0 lua]".
// Cost with nothing enabled (the defaults but a slow log threshold no command reaches):
// command_ran() is a few compares and empty-list tests.
// Not thread-safe: one per Server, on the node's loop thread.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/time.hpp"

namespace apiary::resp {

class Server;
class Connection;
struct CommandSpec;
using ClientId = std::uint64_t;

// One SLOWLOG GET entry. `args` are cut as Redis cuts them: at most 32 (the last saying
// "... (N more arguments)"), each at most 128 bytes ("... (N more bytes)"); passwords are
// "(redacted)".
struct SlowlogEntry {
  std::uint64_t id = 0;
  std::int64_t time = 0;         // unix seconds
  std::int64_t duration_us = 0;  // microseconds
  std::vector<std::string> args;
  std::string client;  // "127.0.0.1:52506"; a member's name for a command it forwarded
  std::string client_name;
};

// One latency event's samples (Redis's latencyTimeSeries): the worst latency of each second
// in which the event passed latency-monitor-threshold, the last 160 such seconds.
struct LatencySeries {
  static constexpr std::size_t kLength = 160;
  struct Sample {
    std::int64_t time = 0;  // unix seconds; 0 = unused
    std::uint32_t latency_ms = 0;
  };
  std::array<Sample, kLength> samples{};
  std::size_t next = 0;      // where the next second goes
  std::uint32_t max_ms = 0;  // all-time high
  const Sample& latest() const { return samples[(next + kLength - 1) % kLength]; }
};

class Diagnostics {
 public:
  explicit Diagnostics(Server& server);
  ~Diagnostics();
  Diagnostics(const Diagnostics&) = delete;
  Diagnostics& operator=(const Diagnostics&) = delete;

  // A command ran on this node: argv is valid only during the call.
  void command_ran(Connection& client, const CommandSpec& spec,
                   std::span<const std::string_view> argv, Duration took, WallTime wall);
  // A command ran here, its keys' coordinator, for a client of member `peer`: slow log and
  // latency monitor, never MONITOR.
  void peer_command_ran(const CommandSpec& spec, std::span<const std::string_view> argv,
                        Duration took, WallTime wall, std::string_view peer);
  // A command a transaction or a script ran on behalf of `client` (this node's client, or
  // the cluster layer's internal one when another member sent the transaction or script):
  // the slow log (a script's commands with client "?:0", as Redis's Lua client), and
  // MONITOR's "[0 lua]" lines for a script of this node's client.
  enum class Nested : unsigned char { transaction, script };
  void nested_command_ran(Connection& client, const CommandSpec& spec,
                          std::span<const std::string_view> argv, Duration took, WallTime wall,
                          Nested how);
  // EXEC of this node's client is about to run `queued`: MONITOR shows them now, on the
  // client's node wherever the transaction runs (Redis shows them as they run, then EXEC).
  void transaction_started(Connection& client, std::span<const std::vector<std::string>> queued,
                           WallTime wall);
  // Whether `id`'s EXEC is running its commands here (MONITOR is refused there, as Redis).
  bool in_transaction(ClientId id) const;
  // A client went away (a MONITOR client stops being fed).
  void client_closed(ClientId id);

  // The slow log, newest first.
  const std::deque<SlowlogEntry>& slowlog() const;
  void slowlog_reset();
  // The newest `count` slow log entries, newest first, as a JSON array of objects
  // {"id", "time" (unix seconds), "duration_us", "args": [...], "client", "client_name"}
  // (the admin port's /v1/stats and the dashboard).
  std::string slowlog_json(std::size_t count) const;

  // Records `latency` for `event` when it reaches latency-monitor-threshold (not 0): for
  // events other parts of the node measure.
  void latency_sample(std::string_view event, Duration latency, WallTime wall);
  // Events by name.
  const std::map<std::string, LatencySeries, std::less<>>& latency_events() const;
  // Drops one event (case-insensitive, as Redis) or all (nullopt); how many were dropped.
  std::size_t latency_reset(std::optional<std::string_view> event);

  // MONITOR: false when the client already monitors (Redis then answers nothing).
  bool add_monitor(Connection& client);
  bool is_monitor(ClientId id) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Redis's sdscatrepr: `s` in double quotes, with \\ \" \n \r \t \a \b escaped and other bytes
// that are not printable as \xHH (MONITOR's lines).
void append_repr(std::string& out, std::string_view s);
// The text LATENCY GRAPH answers for `event` (Redis's sparkline, 80 columns, 4 rows).
std::string latency_graph(std::string_view event, const LatencySeries& series,
                          std::int64_t now_seconds);

}  // namespace apiary::resp
