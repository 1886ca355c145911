// WAIT and WAITAOF, answered from what this node knows of replication and persistence.
//
// Apiary acknowledges a write only once W replicas (the coordinator included) hold it, so
// every acknowledged write is known to be on W - 1 other members (ClusterKeyspace::
// acknowledging_replicas; 0 without a cluster). WAIT answers that number at once when it is
// enough; otherwise it holds the reply for the timeout, as Redis does when too few replicas
// acknowledge, and answers the same number (more replicas may hold the write by then, but
// this node does not count their late acknowledgements). WAITAOF (Redis 7.2) answers the
// local AOF from the fsync policy: under `appendfsync always` a write is answered once on
// disk; under `everysec` it is on disk within a second; under `no` the OS decides, so it is
// never known. Members do not report their AOF, so WAITAOF counts no replica.
#include <chrono>
#include <limits>

#include "apiary/resp/server.hpp"
#include "commands.hpp"

namespace apiary::resp {
namespace {

// Longest a reply is held when the timeout is 0 (Redis: for ever), as DEBUG SLEEP's cap.
constexpr Duration kForever = std::chrono::hours(24 * 365);

// getTimeoutFromObjectOrReply with UNIT_MILLISECONDS: an integer, not negative.
bool parse_ms_timeout(CommandContext& ctx, std::string_view arg, Duration& out) {
  const auto v = to_int(arg);
  if (!v) {
    ctx.reply.error("timeout is not an integer or out of range");
    return false;
  }
  if (*v < 0) {
    ctx.reply.error("timeout is negative");
    return false;
  }
  out = *v == 0 ? kForever : std::min<Duration>(std::chrono::milliseconds(*v), kForever);
  return true;
}

std::int64_t known_replicas(const CommandContext& ctx) {
  const ClusterKeyspace* cluster = ctx.server.cluster_keyspace();
  return cluster != nullptr ? cluster->acknowledging_replicas() : 0;
}

// WAIT numreplicas timeout
Outcome wait(CommandContext& ctx) {
  const auto wanted = to_int(ctx.argv[1]);
  if (!wanted) {
    ctx.reply.error(kNotInteger);
    return Outcome::done();
  }
  Duration timeout{};
  if (!parse_ms_timeout(ctx, ctx.argv[2], timeout)) return Outcome::done();
  const std::int64_t known = known_replicas(ctx);
  ctx.reply.integer(known);
  return known >= *wanted ? Outcome::done() : Outcome::reply_after(timeout);
}

// WAITAOF numlocal numreplicas timeout (Redis 7.2)
Outcome waitaof(CommandContext& ctx) {
  const auto numlocal = to_int(ctx.argv[1]);
  if (!numlocal) {
    ctx.reply.error(kNotInteger);
    return Outcome::done();
  }
  if (*numlocal < 0 || *numlocal > 1) {
    ctx.reply.error("value is out of range, value must between 0 and 1");
    return Outcome::done();
  }
  const auto numreplicas = to_int(ctx.argv[2]);
  if (!numreplicas) {
    ctx.reply.error(kNotInteger);
    return Outcome::done();
  }
  if (*numreplicas < 0) {
    ctx.reply.error("value is out of range, must be positive");
    return Outcome::done();
  }
  Duration timeout{};
  if (!parse_ms_timeout(ctx, ctx.argv[3], timeout)) return Outcome::done();
  const bool aof = ctx.server.config().get_one("appendonly") == "yes";
  if (*numlocal > 0 && !aof) {
    ctx.reply.error("WAITAOF cannot be used when numlocal is set but appendonly is disabled.");
    return Outcome::done();
  }
  const std::string fsync = ctx.server.config().get_one("appendfsync");
  const bool synced_now = aof && fsync == "always";
  const bool synced_within_a_second = aof && fsync == "everysec";
  constexpr Duration kSecond = std::chrono::seconds(1);
  const bool replicas_ok = *numreplicas == 0;  // members do not report their AOF
  if (replicas_ok && (synced_now || *numlocal == 0)) {
    ctx.reply.array(2);
    ctx.reply.integer(synced_now ? 1 : 0);
    ctx.reply.integer(0);
    return Outcome::done();
  }
  // Held for the timeout, or only for the second everysec needs when that is all missing.
  const bool local_by_then = synced_now || (synced_within_a_second && timeout >= kSecond);
  const Duration hold = replicas_ok && local_by_then && !synced_now ? kSecond : timeout;
  ctx.reply.array(2);
  ctx.reply.integer(local_by_then ? 1 : 0);
  ctx.reply.integer(0);
  return Outcome::reply_after(hold);
}

}  // namespace

void register_wait_commands(CommandTable& table) {
  table.add(make_spec({"wait", 3, kNoScript, 0, 0, 0, "@slow @connection", "", "generic",
                       "Wait for the synchronous replication of all the write commands sent in "
                       "the context of the current connection",
                       "3.0.0", "O(1)", wait}));
  table.add(make_spec({"waitaof", 4, kNoScript, 0, 0, 0, "@slow @connection", "", "generic",
                       "Blocks until all of the preceding write commands sent by the connection "
                       "are written to the append-only file of the primary and/or replicas.",
                       "7.2.0", "O(1)", waitaof}));
}

}  // namespace apiary::resp
