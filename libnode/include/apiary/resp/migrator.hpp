// Migrator: the seam through which MIGRATE reaches another server. The command needs an
// outbound connection and a wait for its replies, which a sans-IO handler cannot have; the
// handler (libnode/resp/commands/migrate_commands.cpp) checks the arguments as Redis does and
// hands the request over, and the runtime (libnode/runtime/migrator.hpp) does the I/O on the
// node's event loop and completes the client's pending reply. Without one (the simulator,
// unit tests) MIGRATE answers an error.
// Called on the node's event-loop thread only; the reply is delivered on it too.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "apiary/resp/command.hpp"
#include "apiary/resp/connection.hpp"

namespace apiary::resp {

struct MigrateRequest {
  std::string host;
  std::string port;  // as given: Redis reads it with atoi()
  std::int64_t db = 0;
  std::int64_t timeout_ms = 1000;  // the idle limit of each step; Redis's 1000 for <= 0
  bool copy = false;
  bool replace = false;
  std::optional<std::string> username;  // AUTH2
  std::optional<std::string> password;  // AUTH or AUTH2
  std::vector<std::string> keys;        // one, or those after KEYS
  // The client whose Outcome::pending(token) the reply completes.
  ClientId client = 0;
  PendingToken token;
};

class Migrator {
 public:
  virtual ~Migrator() = default;
  // Starts the migration. The reply (RESP bytes: "+OK\r\n", "+NOKEY\r\n", "-IOERR ...") goes
  // to the client later through the runtime's completion of (client, token); never from
  // inside this call.
  virtual void migrate(MigrateRequest request) = 0;
};

}  // namespace apiary::resp
