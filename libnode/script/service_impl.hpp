// Internal to libnode/script: script::Service's state. service.cpp runs scripts and
// functions (EVAL..., FCALL..., the Host redis.call reaches, the busy state);
// service_admin.cpp answers SCRIPT and FUNCTION and the other members' questions.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/resp/command.hpp"
#include "apiary/resp/connection.hpp"
#include "apiary/resp/server.hpp"
#include "apiary/script/engine.hpp"
#include "apiary/script/service.hpp"

namespace apiary::script {

// The script or function running now (at most one: the node runs one command at a time).
struct Running {
  bool function = false;
  std::string name;     // FUNCTION STATS: the function's name (or the script's sha)
  std::string command;  // FUNCTION STATS: the command that runs it, as sent
  resp::ClientId client = resp::kInternalClient;
  bool read_only = false;
  bool wrote = false;                       // a write ran: SCRIPT KILL answers UNKILLABLE
  bool kill = false;                        // SCRIPT KILL / FUNCTION KILL asked for it
  std::set<std::string, std::less<>> keys;  // the declared keys (redis.call may use only these)
  bool check_keys = true;                   // false on a node without a cluster layer
  TimePoint started{};                      // on the busy watch's clock
  TimePoint last_served{};
  TimePoint last_alive{};  // the failure detector's probes answered
};

struct Service::Impl {
  resp::Server& server;
  Engine engine;
  Running* running = nullptr;
  std::function<void()> libraries_listener;
  std::function<void(int, std::string_view)> log_sink;

  explicit Impl(resp::Server& s) : server(s) {}

  void libraries_changed() {
    if (libraries_listener) libraries_listener();
  }
  // The members' side (Server::member_handler).
  std::vector<std::string> on_member(std::string_view op, std::span<const std::string> args);
  // Tells every other live member, when there is a cluster.
  void tell(TimePoint now, std::string op, std::vector<std::string> args);

  resp::Outcome call(resp::CommandContext& ctx, resp::ScriptCall kind);
  resp::Outcome script(resp::CommandContext& ctx);
  resp::Outcome function(resp::CommandContext& ctx);
  // SCRIPT KILL and FUNCTION KILL.
  void kill(resp::CommandContext& ctx, bool function);
  // Caches a script (here, from EVAL or SCRIPT LOAD, or told by a member).
  Loaded<std::string> load_script(std::string_view body) {
    auto loaded = engine.load_script(body);
    if (loaded.ok()) scripts.insert(*loaded.value);
    return loaded;
  }
  void flush_scripts() {
    engine.flush_scripts();
    scripts.clear();
  }
  // FUNCTION DUMP's payload of every library.
  std::string dump() const;
  // FUNCTION RESTORE: all of `codes` or none (the libraries before are kept on failure).
  Status restore(const std::vector<std::string>& codes, bool flush, bool replace);

  std::set<std::string, std::less<>> scripts;  // the shas cached (script.all answers them)
};

// Redis's refusal of the *_RO commands for a script or function that may write.
inline constexpr std::string_view kWriteFlagRo =
    "Can not execute a script with write flag using *_ro command.";

}  // namespace apiary::script
