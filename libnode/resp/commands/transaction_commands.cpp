// MULTI, EXEC, DISCARD, WATCH, UNWATCH (transaction.hpp has the client's state), and the two
// internal commands that carry a transaction to its keys' coordinator:
//   APIARY.WATCHV key [key ...]
//     -> one bulk per key: the version WATCH records (hex of Store::version_hash; empty when
//        the key is missing). Runs at the keys' coordinator (kAtCoordinator).
//   APIARY.EXEC nwatch [key version]... ncommands [argc arg...]...
//     -> EXEC's reply: a null array when a watched key's version is not the recorded one,
//        else an array of the commands' replies, run one after the other with nothing in
//        between. A write at the coordinator of every key it names (watched or in a
//        command), so the router runs it there and replicates its keys as one write.
#include <algorithm>
#include <cstdio>
#include <optional>
#include <vector>

#include "apiary/resp/connection.hpp"
#include "apiary/resp/server.hpp"
#include "apiary/store/store.hpp"
#include "commands.hpp"
#include "local_run.hpp"
#include "store_access.hpp"

namespace apiary::resp {
namespace {

constexpr std::string_view kExecAbort =
    "-EXECABORT Transaction discarded because of previous errors.";

std::string watch_version(const store::Store* st, std::string_view key, WallTime wall) {
  if (st == nullptr) return {};
  const auto h = st->version_hash(key, wall);
  if (!h) return {};
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(*h));
  return hex;
}

// APIARY.EXEC's arguments, parsed.
struct ExecRequest {
  std::vector<std::pair<std::string_view, std::string_view>> watched;
  std::vector<std::span<const std::string_view>> commands;
  // argv indices of every key (watched, then each command's), when keys_of is asked.
  std::vector<std::size_t> keys;
};

std::optional<std::size_t> count_at(std::span<const std::string_view> argv, std::size_t i) {
  if (i >= argv.size()) return std::nullopt;
  const auto n = to_int(argv[i]);
  if (!n || *n < 0 || static_cast<std::uint64_t>(*n) > argv.size()) return std::nullopt;
  return static_cast<std::size_t>(*n);
}

std::optional<ExecRequest> parse_exec(std::span<const std::string_view> argv, bool with_keys) {
  ExecRequest req;
  const auto nwatch = count_at(argv, 1);
  if (!nwatch || 2 + 2 * *nwatch >= argv.size()) return std::nullopt;
  std::size_t i = 2;
  for (std::size_t w = 0; w < *nwatch; ++w, i += 2) {
    req.watched.emplace_back(argv[i], argv[i + 1]);
    if (with_keys) req.keys.push_back(i);
  }
  const auto ncommands = count_at(argv, i++);
  if (!ncommands) return std::nullopt;
  for (std::size_t c = 0; c < *ncommands; ++c) {
    const auto argc = count_at(argv, i++);
    if (!argc || *argc == 0 || i + *argc > argv.size()) return std::nullopt;
    const auto command = argv.subspan(i, *argc);
    req.commands.push_back(command);
    if (with_keys) {
      const CommandSpec* spec = resolve_command(default_command_table(), command);
      // command_keys, not has_keys(): EVAL and FCALL (kRunsHere) name their keys too, and
      // inside a transaction they run at its coordinator.
      if (spec != nullptr && arity_ok(*spec, command.size())) {
        for (std::size_t k : command_keys(*spec, command)) req.keys.push_back(i + k);
      }
    }
    i += *argc;
  }
  if (i != argv.size()) return std::nullopt;
  return req;
}

std::vector<std::size_t> exec_keys(std::span<const std::string_view> argv) {
  auto req = parse_exec(argv, true);
  return req ? std::move(req->keys) : std::vector<std::size_t>{};
}

// Runs a transaction here: the watched versions checked, then every command.
void run_transaction(CommandContext& ctx, const ExecRequest& req) {
  const store::Store* st = ctx.server.store();
  for (const auto& [key, version] : req.watched) {
    if (watch_version(st, key, ctx.wall) != version) {
      ctx.reply.null_array();
      return;
    }
  }
  ctx.reply.array(req.commands.size());
  std::string& out = ctx.reply.buffer();
  // A HELLO in the transaction switches the protocol of the replies after it, and (run on the
  // client's own node) of its connection, as in Redis.
  int protocol = ctx.reply.protocol();
  for (const auto command : req.commands) {
    const CommandSpec* spec = resolve_command(ctx.server.commands(), command);
    if (spec == nullptr || !arity_ok(*spec, command.size())) {  // checked when queued
      ctx.reply.error("unknown command or wrong number of arguments in the transaction");
    } else if (runs_only_alone(*spec)) {
      ctx.reply.error("'" + spec->name + "' cannot run inside a transaction in a cluster");
    } else if (const AclVerdict acl =
                   ctx.server.acl_verdict(ctx.client, *spec, command, "multi", ctx.now, ctx.wall);
               acl != AclVerdict::ok) {
      // The user's rules changed after the command was queued (Redis's execCommand): the
      // client's user, also at a remote coordinator (the command runs as that user).
      ctx.reply.error(
          "-NOPERM ACLs rules changed between the moment the transaction was accumulated and "
          "the EXEC call. This command is no longer allowed for the following reason: " +
          std::string(acl == AclVerdict::command ? "no permission to execute the command or "
                                                   "subcommand"
                      : acl == AclVerdict::key   ? "no permission to touch the specified keys"
                      : acl == AclVerdict::channel
                          ? "no permission to access one of the channels used as arguments"
                          : "no permission"));
    } else {
      const TimePoint started = ctx.server.clock_now(ctx.now);
      protocol = run_here(ctx.server, ctx.client, *spec, command, protocol, ctx.now, ctx.wall, out);
      ctx.server.diagnostics().nested_command_ran(ctx.client, *spec, command,
                                                  ctx.server.clock_now(ctx.now) - started, ctx.wall,
                                                  Diagnostics::Nested::transaction);
    }
  }
  if (ctx.client.id() != kInternalClient) ctx.reply.set_protocol(protocol);
}

Outcome multi(CommandContext& ctx) {
  Transaction& tx = ctx.client.transaction();
  if (tx.multi) {
    ctx.reply.error("MULTI calls can not be nested");
    return Outcome::done();
  }
  tx.multi = true;
  ctx.reply.ok();
  return Outcome::done();
}

Outcome discard(CommandContext& ctx) {
  Transaction& tx = ctx.client.transaction();
  if (!tx.multi) {
    ctx.reply.error("DISCARD without MULTI");
    return Outcome::done();
  }
  tx.clear();
  ctx.reply.ok();
  return Outcome::done();
}

Outcome unwatch(CommandContext& ctx) {
  ctx.client.transaction().watched.clear();
  ctx.reply.ok();
  return Outcome::done();
}

// A key watched twice keeps its first version, as Redis keeps its first WATCH.
void add_watched(Transaction& tx, const std::string& key, std::string version) {
  const bool known = std::any_of(tx.watched.begin(), tx.watched.end(),
                                 [&](const WatchedKey& w) { return w.key == key; });
  if (!known) tx.watched.push_back(WatchedKey{key, std::move(version)});
}

// The versions APIARY.WATCHV answered, recorded for `keys`; the client hears +OK (or the
// error that kept the versions from being read: CROSSSLOT, CLUSTERDOWN, ...).
std::string record_watch(Connection& client, const std::vector<std::string>& keys,
                         std::string_view reply) {
  if (reply.empty() || reply[0] != '*') return std::string(reply);
  std::vector<std::string> versions;
  std::size_t pos = reply.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < reply.size()) {
    pos += 2;
    const std::size_t eol = reply.find("\r\n", pos);
    if (eol == std::string_view::npos || reply[pos] != '$') break;
    const auto len = to_int(reply.substr(pos + 1, eol - pos - 1));
    if (!len || *len < 0 || eol + 2 + static_cast<std::size_t>(*len) > reply.size()) break;
    versions.emplace_back(reply.substr(eol + 2, static_cast<std::size_t>(*len)));
    pos = eol + 2 + static_cast<std::size_t>(*len);
  }
  if (versions.size() != keys.size()) return "-ERR the keys' coordinator gave no versions\r\n";
  for (std::size_t i = 0; i < keys.size(); ++i) {
    add_watched(client.transaction(), keys[i], std::move(versions[i]));
  }
  return "+OK\r\n";
}

Outcome watch(CommandContext& ctx) {
  if (ctx.client.transaction().multi) {
    ctx.reply.error("WATCH inside MULTI is not allowed");
    return Outcome::done();
  }
  std::vector<std::string> keys(ctx.argv.begin() + 1, ctx.argv.end());
  const Server::Forwarder& forwarder = ctx.server.forwarder();
  const CommandSpec* versions = ctx.server.commands().find("apiary.watchv");
  if (!forwarder || versions == nullptr) {  // a single node: its own store
    for (const auto& key : keys) {
      add_watched(ctx.client.transaction(), key, watch_version(ctx.server.store(), key, ctx.wall));
    }
    ctx.reply.ok();
    return Outcome::done();
  }
  // Ask the keys' coordinator (one for all, or CROSSSLOT, as Redis Cluster answers).
  std::vector<std::string_view> argv{"apiary.watchv"};
  argv.insert(argv.end(), ctx.argv.begin() + 1, ctx.argv.end());
  CommandContext ask{ctx.server, ctx.client, ctx.reply, argv, ctx.now, ctx.wall};
  const std::size_t mark = ctx.reply.buffer().size();
  const std::optional<Outcome> taken = forwarder(ask, *versions);
  if (taken && taken->kind() == Outcome::Kind::pending) {
    ctx.client.filter_reply(taken->token(), [keys](Connection& c, std::string_view reply) {
      return record_watch(c, keys, reply);
    });
    return *taken;
  }
  std::string answered = ctx.reply.buffer().substr(mark);
  ctx.reply.buffer().resize(mark);
  ctx.reply.raw(record_watch(ctx.client, keys, answered));
  return Outcome::done();
}

Outcome watch_versions(CommandContext& ctx) {
  ctx.reply.array(ctx.argv.size() - 1);
  for (std::size_t i = 1; i < ctx.argv.size(); ++i) {
    ctx.reply.bulk(watch_version(ctx.server.store(), ctx.argv[i], ctx.wall));
  }
  return Outcome::done();
}

Outcome exec(CommandContext& ctx) {
  Transaction& tx = ctx.client.transaction();
  if (!tx.multi) {
    ctx.reply.error("EXEC without MULTI");
    return Outcome::done();
  }
  if (tx.dirty) {
    tx.clear();
    ctx.reply.error(kExecAbort);
    return Outcome::done();
  }
  ctx.server.diagnostics().transaction_started(ctx.client, tx.queued, ctx.wall);  // MONITOR
  // The whole transaction as one APIARY.EXEC command.
  std::vector<std::string> owned;
  owned.reserve(4 + 2 * tx.watched.size() + tx.queued.size() * 4);
  owned.emplace_back("apiary.exec");
  owned.push_back(std::to_string(tx.watched.size()));
  for (auto& w : tx.watched) {
    owned.push_back(std::move(w.key));
    owned.push_back(std::move(w.version));
  }
  owned.push_back(std::to_string(tx.queued.size()));
  for (auto& command : tx.queued) {
    owned.push_back(std::to_string(command.size()));
    for (auto& a : command) owned.push_back(std::move(a));
  }
  tx.clear();
  const std::vector<std::string_view> argv(owned.begin(), owned.end());
  const CommandSpec* spec = ctx.server.commands().find("apiary.exec");
  const Server::Forwarder& forwarder = ctx.server.forwarder();
  if (forwarder && spec != nullptr && !exec_keys(argv).empty()) {
    CommandContext routed{ctx.server, ctx.client, ctx.reply, argv, ctx.now, ctx.wall};
    if (auto taken = forwarder(routed, *spec)) return *taken;
  }
  // No keys (or a single node): here.
  const auto req = parse_exec(argv, false);
  if (!req) {
    ctx.reply.error("the transaction could not be encoded");
    return Outcome::done();
  }
  run_transaction(ctx, *req);
  return Outcome::done();
}

Outcome apiary_exec(CommandContext& ctx) {
  const auto req = parse_exec(ctx.argv, false);
  if (!req) {
    ctx.reply.error(kSyntaxError);
    return Outcome::done();
  }
  if (ctx.client.id() != kInternalClient) {  // the client's own node coordinates the keys
    run_transaction(ctx, *req);
    return Outcome::done();
  }
  // Forwarded from another node: the commands that read or change their connection (CLIENT
  // SETNAME, CLIENT NO-TOUCH, HELLO, ...) get a connection of this transaction's own, not the
  // node's shared internal client, whose state every later forwarded command would see.
  Connection own(ctx.server, kInternalClient, ctx.client.address(), ctx.now);
  CommandContext here{ctx.server, own, ctx.reply, ctx.argv, ctx.now, ctx.wall};
  run_transaction(here, *req);
  return Outcome::done();
}

}  // namespace

void register_transaction_commands(CommandTable& table) {
  constexpr std::uint32_t kTxFlags = kNoScript | kLoading | kStale;
  table.add(make_spec({"multi", 1, kTxFlags | kFast | kAllowBusy, 0, 0, 0, "@fast @transaction", "",
                       "transactions", "Start a transaction block", "1.2.0", "O(1)", multi}));
  table.add(make_spec({"exec", 1, kTxFlags | kSkipSlowlog, 0, 0, 0, "@slow @transaction", "",
                       "transactions", "Execute all commands issued after MULTI", "1.2.0",
                       "Depends on commands in the transaction", exec}));
  table.add(make_spec({"discard", 1, kTxFlags | kFast | kAllowBusy, 0, 0, 0, "@fast @transaction",
                       "", "transactions", "Discard all commands issued after MULTI", "2.0.0",
                       "O(N), when N is the number of queued commands", discard}));
  // WATCH names keys (COMMAND INFO shows them) but runs here: it asks their coordinator.
  table.add(make_spec({"watch", -2, kTxFlags | kFast | kAllowBusy | kRunsHere, 1, -1, 1,
                       "@fast @transaction", "RO", "transactions",
                       "Watch the given keys to determine execution of the MULTI/EXEC block",
                       "2.2.0", "O(1) for every key.", watch}));
  table.add(
      make_spec({"unwatch", 1, kTxFlags | kFast | kAllowBusy, 0, 0, 0, "@fast @transaction", "",
                 "transactions", "Forget about all watched keys", "2.2.0", "O(1)", unwatch}));
  table.add(make_spec({"apiary.watchv", -2, kReadonly | kFast | kAtCoordinator, 1, -1, 1,
                       "@read @fast @transaction", "RO", "transactions",
                       "The versions WATCH records for keys, read at their coordinator", "0.1.0",
                       "O(1) for every key.", watch_versions}));
  // Skip-slowlog as EXEC: the slow log at the coordinator has the transaction's commands.
  CommandSpec run = make_spec({"apiary.exec", -4, kWrite | kNoScript | kOneUnit | kSkipSlowlog, 0,
                               0, 0, "@write @slow @transaction", "RW", "transactions",
                               "Run a transaction at its keys' coordinator", "0.1.0",
                               "Depends on commands in the transaction", apiary_exec});
  run.find_keys = exec_keys;
  table.add(std::move(run));
}

}  // namespace apiary::resp
