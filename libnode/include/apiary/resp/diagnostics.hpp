// Diagnostics: what a node keeps about the commands it runs for people looking at it --
// the slow log (SLOWLOG, slowlog-log-slower-than, slowlog-max-len), the latency monitor
// (LATENCY, latency-monitor-threshold) and the clients in MONITOR.
//
// The connection calls command_ran() after every command that ran (not for one queued in
// MULTI), with the time the command held this node's loop (its synchronous part: parsing
// excluded, waiting for other nodes excluded, as Redis's slow log measures execution).
// Not thread-safe: one per Server, on the node's loop thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "apiary/base/time.hpp"

namespace apiary::resp {

class Server;
class Connection;
struct CommandSpec;
using ClientId = std::uint64_t;

class Diagnostics {
 public:
  explicit Diagnostics(Server& server);
  ~Diagnostics();
  Diagnostics(const Diagnostics&) = delete;
  Diagnostics& operator=(const Diagnostics&) = delete;

  // A command ran on this node: argv is valid only during the call.
  void command_ran(Connection& client, const CommandSpec& spec,
                   std::span<const std::string_view> argv, Duration took, WallTime wall);
  // A client went away (a MONITOR client stops being fed).
  void client_closed(ClientId id);
  // The newest `count` slow log entries, newest first, as a JSON array of objects
  // {"id", "time" (unix seconds), "duration_us", "args": [...], "client", "client_name"}
  // (the admin port's /v1/stats and the dashboard).
  std::string slowlog_json(std::size_t count) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace apiary::resp
