// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password]
//   [AUTH2 username password] [KEYS key [key ...]]
//
// The arguments are checked here, in Redis 7.0's order and with its texts (cluster.c,
// migrateCommand): the options left to right (a missing AUTH/AUTH2 argument or an unknown
// word is a syntax error; KEYS needs the key argument empty and takes every argument after
// it), then the timeout and the database as integers. The transfer itself -- reading the keys
// through the cluster, RESTORE at the target, deleting what the target took -- is the
// Migrator's (apiary/resp/migrator.hpp), which answers later; without one the command answers
// an error. The spec carries kRunsHere: MIGRATE runs on the node the client is connected to
// and reads its keys through the router itself, while COMMAND INFO / GETKEYS show Redis's keys.
#include <string>

#include "apiary/resp/migrator.hpp"
#include "apiary/resp/server.hpp"
#include "commands.hpp"

namespace apiary::resp {
namespace {

constexpr std::string_view kNoMigrator = "MIGRATE is not available on this node";

// Fills `req` from argv, or replies Redis's error and returns false.
bool parse_migrate(CommandContext& ctx, MigrateRequest& req) {
  const auto argv = ctx.argv;
  const std::size_t argc = argv.size();
  std::size_t first_key = 3;
  std::size_t num_keys = 1;
  for (std::size_t j = 6; j < argc; ++j) {
    const std::size_t more = argc - 1 - j;
    if (iequals(argv[j], "copy")) {
      req.copy = true;
    } else if (iequals(argv[j], "replace")) {
      req.replace = true;
    } else if (iequals(argv[j], "auth")) {
      if (more == 0) {
        ctx.reply.error(kSyntaxError);
        return false;
      }
      req.password = std::string(argv[++j]);
    } else if (iequals(argv[j], "auth2")) {
      if (more < 2) {
        ctx.reply.error(kSyntaxError);
        return false;
      }
      req.username = std::string(argv[++j]);
      req.password = std::string(argv[++j]);
    } else if (iequals(argv[j], "keys")) {
      if (!argv[3].empty()) {
        ctx.reply.error(
            "When using MIGRATE KEYS option, the key argument must be set to the empty string");
        return false;
      }
      first_key = j + 1;
      num_keys = argc - j - 1;
      break;
    } else {
      ctx.reply.error(kSyntaxError);
      return false;
    }
  }
  const auto timeout = to_int(argv[5]);
  if (!timeout) {
    ctx.reply.error(kNotInteger);
    return false;
  }
  const auto db = to_int(argv[4]);
  if (!db) {
    ctx.reply.error(kNotInteger);
    return false;
  }
  req.host = std::string(argv[1]);
  req.port = std::string(argv[2]);
  req.db = *db;
  req.timeout_ms = *timeout <= 0 ? 1000 : *timeout;
  for (std::size_t k = 0; k < num_keys; ++k) req.keys.emplace_back(argv[first_key + k]);
  return true;
}

Outcome migrate(CommandContext& ctx) {
  MigrateRequest req;
  if (!parse_migrate(ctx, req)) return Outcome::done();
  Migrator* migrator = ctx.server.migrator();
  if (migrator == nullptr) {
    ctx.reply.error(kNoMigrator);
    return Outcome::done();
  }
  req.client = ctx.client.id();
  req.token = ctx.client.next_token();
  const PendingToken token = req.token;
  migrator->migrate(std::move(req));
  return Outcome::pending(token);
}

}  // namespace

void register_migrate_commands(CommandTable& t) {
  t.add(make_spec(
      {"migrate", -6, kWrite | kMovableKeys | kRunsHere, 3, 3, 1,
       "@keyspace @write @slow @dangerous", "RW access delete", "generic",
       "Atomically transfer a key from a Redis instance to another one.", "2.6.0",
       "This command actually executes a DUMP+DEL in the source instance, and a RESTORE in the "
       "target instance. See the pages of these commands for time complexity. Also an O(N) data "
       "transfer between the two instances is performed.",
       migrate}));
}

}  // namespace apiary::resp
