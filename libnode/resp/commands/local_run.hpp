// Running commands one after the other at their keys' coordinator, for a transaction
// (EXEC) or a script (redis.call): each through its handler, against this node's store,
// with nothing else in between.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "apiary/base/time.hpp"
#include "apiary/resp/command_table.hpp"

namespace apiary::resp {

class Server;
class Connection;

// The spec `argv` names (its subcommand's, for container commands), or nullptr.
const CommandSpec* resolve_command(const CommandTable& table,
                                   std::span<const std::string_view> argv);
bool arity_ok(const CommandSpec& spec, std::size_t argc);
// Commands that cannot run inside a transaction or a script: their reply comes later from
// elsewhere (MIGRATE), they act on the whole cluster (FLUSHALL, FLUSHDB), or they run
// transactions themselves. (Scripts run inside a transaction -- Server::local_only() tells
// the scripting layer to run them where it is -- but not inside scripts: kNoScript.)
bool runs_only_alone(const CommandSpec& spec);

// Runs `argv` (checked by the caller) through its handler here, appending its reply in
// `protocol` to `out`. A blocking command answers at once, as in a Redis transaction: its
// timeout's reply (BLMOVE a null bulk string, as Redis's does where it may not block); the
// keyspace commands answer for this node (Server::LocalOnly). Returns the protocol after it
// (HELLO switches it).
int run_here(Server& server, Connection& client, const CommandSpec& spec,
             std::span<const std::string_view> argv, int protocol, TimePoint now, WallTime wall,
             std::string& out);

}  // namespace apiary::resp
