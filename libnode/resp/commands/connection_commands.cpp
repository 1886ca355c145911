// PING, ECHO, HELLO, QUIT, RESET, SELECT, SWAPDB, AUTH, TIME and CLIENT (LOLWUT is in
// lolwut_commands.cpp).
#include <chrono>

#include "apiary/resp/connection.hpp"
#include "apiary/resp/server.hpp"
#include "commands.hpp"

namespace apiary::resp {
namespace {

Outcome ping(CommandContext& ctx) {
  if (ctx.argv.size() > 2) {
    ctx.reply.error("wrong number of arguments for 'ping' command");
  } else if (ctx.client.subscriptions() > 0 && ctx.reply.protocol() == 2) {
    // Redis's pingCommand in RESP2 subscribe mode: ["pong", message or ""].
    ctx.reply.array(2);
    ctx.reply.bulk("pong");
    ctx.reply.bulk(ctx.argv.size() == 2 ? ctx.argv[1] : std::string_view());
  } else if (ctx.argv.size() == 2) {
    ctx.reply.bulk(ctx.argv[1]);
  } else {
    ctx.reply.simple("PONG");
  }
  return Outcome::done();
}

Outcome echo(CommandContext& ctx) {
  ctx.reply.bulk(ctx.argv[1]);
  return Outcome::done();
}

bool valid_client_name(std::string_view name) {
  for (char c : name) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

// Applies CLIENT SETNAME / HELLO SETNAME; replies the error itself on a bad name.
bool set_client_name(CommandContext& ctx, std::string_view name) {
  if (!valid_client_name(name)) {
    ctx.reply.error("Client names cannot contain spaces, newlines or special characters.");
    return false;
  }
  ctx.client.set_name(name);
  return true;
}

// AUTH and HELLO AUTH: switches the client to `user` when the password matches (Redis's
// ACLAuthenticateUser); a failure is written to the ACL log.
bool authenticate(CommandContext& ctx, std::string_view user, std::string_view password) {
  if (ctx.server.acl().authenticate(user, password)) {
    ctx.client.set_user(std::string(user));
    return true;
  }
  Server::AclLogEntry entry;
  entry.reason = AclVerdict::auth;
  entry.context = ctx.client.transaction().multi ? "multi" : "toplevel";
  entry.object = std::string(ctx.argv[0]);
  entry.username = std::string(user);
  entry.time = ctx.wall;
  entry.client_info = client_info_line(ctx.server, ctx.client, ctx.now);
  if (!entry.client_info.empty()) entry.client_info.pop_back();  // the '\n'
  ctx.server.acl_log_add(std::move(entry));
  return false;
}

constexpr std::string_view kWrongPass =
    "-WRONGPASS invalid username-password pair or user is disabled.";

Outcome hello(CommandContext& ctx) {
  std::int64_t version = 0;
  if (ctx.argv.size() >= 2) {
    auto v = to_int(ctx.argv[1]);
    if (!v) {
      ctx.reply.error("Protocol version is not an integer or out of range");
      return Outcome::done();
    }
    if (*v < 2 || *v > 3) {
      ctx.reply.error("-NOPROTO unsupported protocol version");
      return Outcome::done();
    }
    version = *v;
  }
  std::optional<std::string_view> user, password, name;
  for (std::size_t j = 2; j < ctx.argv.size(); ++j) {
    const std::size_t more = ctx.argv.size() - 1 - j;
    if (iequals(ctx.argv[j], "AUTH") && more >= 2) {
      user = ctx.argv[j + 1];
      password = ctx.argv[j + 2];
      j += 2;
    } else if (iequals(ctx.argv[j], "SETNAME") && more >= 1) {
      name = ctx.argv[j + 1];
      ++j;
    } else {
      ctx.reply.error("Syntax error in HELLO option '" + std::string(ctx.argv[j]) + "'");
      return Outcome::done();
    }
  }
  if (user && !authenticate(ctx, *user, *password)) {
    ctx.reply.error(kWrongPass);
    return Outcome::done();
  }
  if (!ctx.client.authenticated()) {
    ctx.reply.error(
        "-NOAUTH HELLO must be called with the client already authenticated, otherwise the "
        "HELLO AUTH <user> <pass> option can be used to authenticate the client and select the "
        "RESP protocol version at the same time");
    return Outcome::done();
  }
  if (name && !set_client_name(ctx, *name)) return Outcome::done();
  if (version != 0) {
    ctx.client.set_protocol(static_cast<int>(version));
    ctx.reply.set_protocol(static_cast<int>(version));
  }
  const ServerIdentity& id = ctx.server.identity();
  ctx.reply.map(7);
  ctx.reply.bulk("server");
  ctx.reply.bulk("redis");
  ctx.reply.bulk("version");
  ctx.reply.bulk(id.version);
  ctx.reply.bulk("proto");
  ctx.reply.integer(ctx.reply.protocol());
  ctx.reply.bulk("id");
  ctx.reply.integer(static_cast<std::int64_t>(ctx.client.id()));
  ctx.reply.bulk("mode");
  ctx.reply.bulk("standalone");
  ctx.reply.bulk("role");
  ctx.reply.bulk("master");
  ctx.reply.bulk("modules");
  ctx.reply.array(0);
  return Outcome::done();
}

Outcome quit(CommandContext& ctx) {
  ctx.reply.ok();
  ctx.client.close_after_reply();
  return Outcome::done();
}

Outcome reset(CommandContext& ctx) {
  ctx.client.reset_state();
  ctx.reply.set_protocol(2);
  ctx.reply.simple("RESET");
  return Outcome::done();
}

Outcome select(CommandContext& ctx) {
  auto db = to_int(ctx.argv[1]);
  if (!db) {
    ctx.reply.error(kNotInteger);
  } else if (*db < std::numeric_limits<int>::min() || *db > std::numeric_limits<int>::max()) {
    ctx.reply.error("value is out of range, value must between -2147483648 and 2147483647");
  } else if (*db != 0) {
    // One keyspace per cluster, as in Redis Cluster.
    ctx.reply.error("SELECT is not allowed in cluster mode");
  } else {
    ctx.reply.ok();
  }
  return Outcome::done();
}

// SWAPDB index1 index2: one keyspace per cluster, as Redis Cluster, which refuses it before
// looking at the arguments.
Outcome swapdb(CommandContext& ctx) {
  ctx.reply.error("SWAPDB is not allowed in cluster mode");
  return Outcome::done();
}

Outcome auth(CommandContext& ctx) {
  if (ctx.argv.size() > 3) {
    ctx.reply.error(kSyntaxError);
  } else if (const AclUser* def = ctx.server.acl().find("default");
             ctx.argv.size() == 2 && def != nullptr && def->nopass) {
    ctx.reply.error(
        "AUTH <password> called without any password configured for the default user. Are you "
        "sure your configuration is correct?");
  } else if (ctx.argv.size() == 2 ? authenticate(ctx, "default", ctx.argv[1])
                                  : authenticate(ctx, ctx.argv[1], ctx.argv[2])) {
    ctx.reply.ok();
  } else {
    ctx.reply.error(kWrongPass);
  }
  return Outcome::done();
}

Outcome time_cmd(CommandContext& ctx) {
  const std::int64_t ms = ctx.wall.ms;
  ctx.reply.array(2);
  ctx.reply.bulk(std::to_string(ms / 1000));
  ctx.reply.bulk(std::to_string((ms % 1000) * 1000));
  return Outcome::done();
}

// ---- CLIENT ---------------------------------------------------------------------------

}  // namespace

std::string client_info_line(Server& server, const Connection& c, TimePoint now) {
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  const auto age = duration_cast<seconds>(now - c.created()).count();
  const auto idle = duration_cast<seconds>(now - c.last_activity()).count();
  std::string s;
  s.reserve(256);
  s += "id=" + std::to_string(c.id());
  s += " addr=" + c.address().peer;
  s += " laddr=" + c.address().local;
  s += " fd=" + std::to_string(c.address().fd);
  s += " name=" + c.name();
  s += " age=" + std::to_string(age);
  s += " idle=" + std::to_string(idle);
  // 'O' (a MONITOR client) comes first in Redis 7.0's flags.
  const std::string flags = c.flags();
  const bool monitor = server.diagnostics().is_monitor(c.id());
  s += " flags=" + (!monitor ? flags : flags == "N" ? std::string("O") : "O" + flags);
  s += " db=0 sub=" + std::to_string(server.pubsub().count(c.id(), SubKind::channel));
  s += " psub=" + std::to_string(server.pubsub().count(c.id(), SubKind::pattern));
  s += " ssub=" + std::to_string(server.pubsub().count(c.id(), SubKind::shard));
  s += " multi=";
  s += c.transaction().multi ? std::to_string(c.transaction().queued.size()) : "-1";
  s += " qbuf=" + std::to_string(c.query_buffer_size());
  s += " qbuf-free=0 argv-mem=0 multi-mem=" + std::to_string(c.transaction().queued_bytes);
  s += " rbs=0 rbp=0";
  s += " obl=0 oll=0 omem=" + std::to_string(c.output_buffer_size());
  s += " tot-mem=" + std::to_string(c.query_buffer_size() + c.output_buffer_size());
  s += " events=r cmd=";
  s += c.last_command();
  s += " user=" + c.user() + " redir=" + std::to_string(c.tracking_flags().redirect);
  s += " resp=" + std::to_string(c.protocol());
  s += '\n';
  return s;
}

namespace {

Outcome client_id(CommandContext& ctx) {
  ctx.reply.integer(static_cast<std::int64_t>(ctx.client.id()));
  return Outcome::done();
}

Outcome client_setname(CommandContext& ctx) {
  if (set_client_name(ctx, ctx.argv[2])) ctx.reply.ok();
  return Outcome::done();
}

Outcome client_getname(CommandContext& ctx) {
  if (ctx.client.name().empty()) {
    ctx.reply.null();
  } else {
    ctx.reply.bulk(ctx.client.name());
  }
  return Outcome::done();
}

Outcome client_info(CommandContext& ctx) {
  ctx.reply.verbatim("txt", client_info_line(ctx.server, ctx.client, ctx.now));
  return Outcome::done();
}

bool valid_client_type(std::string_view t) {
  return iequals(t, "normal") || iequals(t, "master") || iequals(t, "replica") ||
         iequals(t, "slave") || iequals(t, "pubsub");
}

// Redis's getClientType: a client with a subscription is `pubsub`, any other `normal` (there
// are no masters or replicas among a node's clients).
bool of_type(const Connection& c, std::string_view t) {
  return c.subscriptions() > 0 ? iequals(t, "pubsub") : iequals(t, "normal");
}

Outcome client_list(CommandContext& ctx) {
  std::optional<std::string_view> type;
  std::vector<ClientId> ids;
  bool by_id = false;
  for (std::size_t i = 2; i < ctx.argv.size(); ++i) {
    if (iequals(ctx.argv[i], "TYPE") && i + 1 < ctx.argv.size() && !by_id) {
      type = ctx.argv[++i];
      if (!valid_client_type(*type)) {
        ctx.reply.error("Unknown client type '" + std::string(*type) + "'");
        return Outcome::done();
      }
    } else if (iequals(ctx.argv[i], "ID") && i + 1 < ctx.argv.size() && !type) {
      by_id = true;
      for (++i; i < ctx.argv.size(); ++i) {
        auto id = to_int(ctx.argv[i]);
        if (!id) {
          ctx.reply.error("Invalid client ID");
          return Outcome::done();
        }
        ids.push_back(static_cast<ClientId>(*id));
      }
    } else {
      ctx.reply.error(kSyntaxError);
      return Outcome::done();
    }
  }
  std::string text;
  for (const auto& [id, c] : ctx.server.clients()) {
    if (type && !of_type(*c, *type)) continue;
    if (by_id && std::find(ids.begin(), ids.end(), id) == ids.end()) continue;
    text += client_info_line(ctx.server, *c, ctx.now);
  }
  ctx.reply.verbatim("txt", text);
  return Outcome::done();
}

void kill_client(CommandContext& ctx, Connection& target) {
  if (&target == &ctx.client) {
    ctx.client.close_after_reply();  // the killer still gets its reply
  } else {
    target.kill();
    ctx.server.mark_closing(target.id());
  }
}

Outcome client_kill(CommandContext& ctx) {
  const auto& argv = ctx.argv;
  if (argv.size() == 3) {  // old form: CLIENT KILL addr:port
    for (const auto& [id, c] : ctx.server.clients()) {
      if (c->address().peer == argv[2]) {
        kill_client(ctx, *c);
        ctx.reply.ok();
        return Outcome::done();
      }
    }
    ctx.reply.error("No such client");
    return Outcome::done();
  }
  if ((argv.size() - 2) % 2 != 0) {
    ctx.reply.error(kSyntaxError);
    return Outcome::done();
  }
  std::optional<ClientId> id;
  std::optional<std::string_view> addr, laddr, type, user;
  std::optional<std::int64_t> maxage;
  bool skipme = true;
  for (std::size_t i = 2; i + 1 < argv.size(); i += 2) {
    const std::string_view key = argv[i], value = argv[i + 1];
    if (iequals(key, "ID")) {
      auto v = to_int(value);
      if (!v || *v <= 0) {
        ctx.reply.error("client-id should be greater than 0");
        return Outcome::done();
      }
      id = static_cast<ClientId>(*v);
    } else if (iequals(key, "TYPE")) {
      if (!valid_client_type(value)) {
        ctx.reply.error("Unknown client type '" + std::string(value) + "'");
        return Outcome::done();
      }
      type = value;
    } else if (iequals(key, "ADDR")) {
      addr = value;
    } else if (iequals(key, "LADDR")) {
      laddr = value;
    } else if (iequals(key, "USER")) {
      if (value != "default") {
        ctx.reply.error("No such user '" + std::string(value) + "'");
        return Outcome::done();
      }
      user = value;
    } else if (iequals(key, "SKIPME")) {
      if (iequals(value, "yes")) {
        skipme = true;
      } else if (iequals(value, "no")) {
        skipme = false;
      } else {
        ctx.reply.error(kSyntaxError);
        return Outcome::done();
      }
    } else if (iequals(key, "MAXAGE")) {
      auto v = to_int(value);
      if (!v) {
        ctx.reply.error(kNotInteger);
        return Outcome::done();
      }
      maxage = *v;
    } else {
      ctx.reply.error(kSyntaxError);
      return Outcome::done();
    }
  }
  std::vector<Connection*> victims;
  for (const auto& [cid, c] : ctx.server.clients()) {
    if (id && cid != *id) continue;
    if (addr && c->address().peer != *addr) continue;
    if (laddr && c->address().local != *laddr) continue;
    if (type && !of_type(*c, *type)) continue;
    // Compared in whole seconds: seconds(MAXAGE) as nanoseconds could overflow.
    if (maxage && std::chrono::duration_cast<std::chrono::seconds>(ctx.now - c->created()).count() <
                      *maxage) {
      continue;
    }
    if (skipme && c == &ctx.client) continue;
    victims.push_back(c);
  }
  for (Connection* c : victims) kill_client(ctx, *c);
  ctx.reply.integer(static_cast<std::int64_t>(victims.size()));
  return Outcome::done();
}

Outcome client_no_evict(CommandContext& ctx) {
  if (iequals(ctx.argv[2], "on")) {
    ctx.client.set_no_evict(true);
  } else if (iequals(ctx.argv[2], "off")) {
    ctx.client.set_no_evict(false);
  } else {
    ctx.reply.error(kSyntaxError);
    return Outcome::done();
  }
  ctx.reply.ok();
  return Outcome::done();
}

// CLIENT NO-TOUCH ON|OFF (Redis 7.2).
Outcome client_no_touch(CommandContext& ctx) {
  if (iequals(ctx.argv[2], "on")) {
    ctx.client.set_no_touch(true);
  } else if (iequals(ctx.argv[2], "off")) {
    ctx.client.set_no_touch(false);
  } else {
    ctx.reply.error(kSyntaxError);
    return Outcome::done();
  }
  ctx.reply.ok();
  return Outcome::done();
}

Outcome client_reply(CommandContext& ctx) {
  if (iequals(ctx.argv[2], "on")) {
    ctx.client.set_reply_mode(ReplyMode::on);
    ctx.reply.ok();
  } else if (iequals(ctx.argv[2], "off")) {
    ctx.client.set_reply_mode(ReplyMode::off);
  } else if (iequals(ctx.argv[2], "skip")) {
    // Redis ignores SKIP while replies are OFF.
    if (ctx.client.reply_mode() != ReplyMode::off) ctx.client.set_reply_mode(ReplyMode::skip_next);
  } else {
    ctx.reply.error(kSyntaxError);
  }
  return Outcome::done();
}

// CLIENT UNBLOCK id [TIMEOUT|ERROR]: the reason is checked before the id, as in Redis. A
// client blocked in a command the cluster layer parked (here, or at the key's coordinator)
// gets the timeout's null or "-UNBLOCKED ..."; any other client is left alone (0).
Outcome client_unblock(CommandContext& ctx) {
  if (ctx.argv.size() > 4) {
    ctx.reply.error(
        "unknown subcommand or wrong number of arguments for 'unblock'. Try CLIENT "
        "HELP.");
    return Outcome::done();
  }
  bool error = false;
  if (ctx.argv.size() == 4) {
    if (iequals(ctx.argv[3], "error")) {
      error = true;
    } else if (!iequals(ctx.argv[3], "timeout")) {
      ctx.reply.error("CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
      return Outcome::done();
    }
  }
  const auto id = to_int(ctx.argv[2]);
  if (!id) {
    ctx.reply.error(kNotInteger);
    return Outcome::done();
  }
  const auto& unblock = ctx.server.blocking_hooks().unblock;
  const bool released = *id > 0 && unblock && ctx.server.find_client(static_cast<ClientId>(*id)) &&
                        unblock(static_cast<ClientId>(*id), error);
  ctx.reply.integer(released ? 1 : 0);
  return Outcome::done();
}

// Redis 7.0's text, including the subcommands Apiary does not have (CACHING, GETREDIR,
// PAUSE, UNPAUSE, TRACKING, TRACKINGINFO), which answer "unknown subcommand" here.
Outcome client_help(CommandContext& ctx) {
  reply_help(ctx.reply, "CLIENT",
             {"CACHING (YES|NO)",
              "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
              "GETREDIR",
              "    Return the client ID we are redirecting to when tracking is enabled.",
              "GETNAME",
              "    Return the name of the current connection.",
              "ID",
              "    Return the ID of the current connection.",
              "INFO",
              "    Return information about the current client connection.",
              "KILL <ip:port>",
              "    Kill connection made from <ip:port>.",
              "KILL <option> <value> [<option> <value> [...]]",
              "    Kill connections. Options are:",
              "    * ADDR (<ip:port>|<unixsocket>:0)",
              "      Kill connections made from the specified address",
              "    * LADDR (<ip:port>|<unixsocket>:0)",
              "      Kill connections made to specified local address",
              "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
              "      Kill connections by type.",
              "    * USER <username>",
              "      Kill connections authenticated by <username>.",
              "    * SKIPME (YES|NO)",
              "      Skip killing current connection (default: yes).",
              "LIST [options ...]",
              "    Return information about client connections. Options:",
              "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
              "      Return clients of specified type.",
              "UNPAUSE",
              "    Stop the current client pause, resuming traffic.",
              "PAUSE <timeout> [WRITE|ALL]",
              "    Suspend all, or just write, clients for <timeout> milliseconds.",
              "REPLY (ON|OFF|SKIP)",
              "    Control the replies sent to the current connection.",
              "SETNAME <name>",
              "    Assign the name <name> to the current connection.",
              "UNBLOCK <clientid> [TIMEOUT|ERROR]",
              "    Unblock the specified blocked client.",
              "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
              "         [OPTIN] [OPTOUT] [NOLOOP]",
              "    Control server assisted client side caching.",
              "TRACKINGINFO",
              "    Report tracking status for the current connection.",
              "NO-EVICT (ON|OFF)",
              "    Protect current client connection from eviction."});
  return Outcome::done();
}

constexpr std::uint32_t kConnFlags = kNoScript | kLoading | kStale;
constexpr std::string_view kConnAcl = "@slow @connection";
constexpr std::string_view kClientAcl = "@admin @slow @dangerous @connection";
constexpr std::uint32_t kClientAdmin = kAdmin | kNoScript | kLoading | kStale;

}  // namespace

void register_lolwut_commands(CommandTable& table);  // lolwut_commands.cpp

void register_connection_commands(CommandTable& table) {
  table.add(make_spec({"ping", -1, kFast, 0, 0, 0, "@fast @connection", "", "connection",
                       "Ping the server", "1.0.0", "O(1)", ping}));
  table.add(make_spec({"echo", 2, kLoading | kStale | kFast, 0, 0, 0, "@fast @connection", "",
                       "connection", "Echo the given string", "1.0.0", "O(1)", echo}));
  table.add(make_spec({"hello", -1, kConnFlags | kNoAuth | kFast | kAllowBusy, 0, 0, 0,
                       "@fast @connection", "", "connection", "Handshake with Redis", "6.0.0",
                       "O(1)", hello}));
  table.add(make_spec({"quit", -1, kConnFlags | kNoAuth | kFast | kAllowBusy, 0, 0, 0,
                       "@fast @connection", "", "connection", "Close the connection", "1.0.0",
                       "O(1)", quit}));
  table.add(make_spec({"reset", 1, kConnFlags | kNoAuth | kFast | kAllowBusy, 0, 0, 0,
                       "@fast @connection", "", "connection", "Reset the connection", "6.2.0",
                       "O(1)", reset}));
  table.add(make_spec({"select", 2, kLoading | kStale | kFast, 0, 0, 0, "@fast @connection", "",
                       "connection", "Change the selected database for the current connection",
                       "1.0.0", "O(1)", select}));
  table.add(make_spec({"swapdb", 3, kWrite | kFast, 0, 0, 0, "@keyspace @write @fast @dangerous",
                       "", "server", "Swaps two Redis databases", "4.0.0",
                       "O(N) where N is the count of clients watching or blocking on keys from "
                       "both databases.",
                       swapdb}));
  register_lolwut_commands(table);
  table.add(make_spec({"auth", -2, kConnFlags | kNoAuth | kFast | kAllowBusy, 0, 0, 0,
                       "@fast @connection", "", "connection", "Authenticate to the server", "1.0.0",
                       "O(N) where N is the number of passwords defined for the user", auth}));
  table.add(make_spec({"time", 1, kLoading | kStale | kFast, 0, 0, 0, "@fast", "", "server",
                       "Return the current server time", "2.6.0", "O(1)", time_cmd}));

  CommandSpec client = make_spec({"client", -2, 0, 0, 0, 0, "@slow", "", "connection",
                                  "A container for client connection commands", "2.4.0",
                                  "Depends on subcommand.", container_command});
  auto sub = [&](const char* name, int arity, std::uint32_t flags, std::string_view acl,
                 std::string_view summary, std::string_view since, CommandHandler h) {
    client.subcommands.push_back(
        make_spec({name, arity, flags, 0, 0, 0, acl, "", "connection", summary, since, "O(1)", h}));
  };
  sub("client|getname", 2, kConnFlags, kConnAcl, "Get the current connection name", "2.6.9",
      client_getname);
  sub("client|help", 2, kLoading | kStale, "@slow @connection",
      "Show helpful text about the different subcommands", "5.0.0", client_help);
  sub("client|id", 2, kConnFlags, kConnAcl, "Returns the client ID for the current connection",
      "5.0.0", client_id);
  sub("client|info", 2, kConnFlags, kConnAcl,
      "Returns information about the current client connection.", "6.2.0", client_info);
  sub("client|kill", -3, kClientAdmin, kClientAcl, "Kill the connection of a client", "2.4.0",
      client_kill);
  sub("client|list", -2, kClientAdmin, kClientAcl, "Get the list of client connections", "2.4.0",
      client_list);
  sub("client|no-evict", 3, kClientAdmin, kClientAcl,
      "Set client eviction mode for the current connection", "7.0.0", client_no_evict);
  sub("client|no-touch", 3, kConnFlags, kConnAcl,
      "Controls whether commands sent by the client affect the LRU/LFU of accessed keys", "7.2.0",
      client_no_touch);
  sub("client|reply", 3, kConnFlags, kConnAcl, "Instruct the server whether to reply to commands",
      "3.2.0", client_reply);
  sub("client|setname", 3, kConnFlags, kConnAcl, "Set the current connection name", "2.6.9",
      client_setname);
  sub("client|unblock", -3, kClientAdmin, kClientAcl,
      "Unblock a client blocked in a blocking command from a different connection", "5.0.0",
      client_unblock);
  register_tracking_subcommands(client);
  table.add(std::move(client));
}

}  // namespace apiary::resp
