// ACL CAT, DELUSER, DRYRUN, GENPASS, GETUSER, HELP, LIST, LOAD, LOG, SAVE, SETUSER, USERS and
// WHOAMI with Redis 7.0.15's replies and errors, over the node's AclUsers (resp/acl.hpp).
// Every change is applied on every live member before it answers (Server::acl_publish,
// docs/security.md).
#include <algorithm>

#include "apiary/resp/connection.hpp"
#include "apiary/resp/server.hpp"
#include "commands.hpp"

namespace apiary::resp {
namespace {

constexpr std::string_view kNoAclFile =
    "This Redis instance is not configured to use an ACL file. You may want to specify users "
    "via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis "
    "configuration file set) in order to store users in the Redis configuration.";

// Clients authenticated as `user` are disconnected (the one running the command after its
// reply), as Redis's ACLFreeUserAndKillClients does when a user is deleted or replaced.
void close_clients_of(CommandContext& ctx, std::string_view user) {
  for (const auto& [id, c] : ctx.server.clients()) {
    if (c->user() != user) continue;
    if (c == &ctx.client) {
      ctx.client.close_after_reply();
    } else {
      c->kill();
      ctx.server.mark_closing(id);
    }
  }
}

Outcome acl_setuser(CommandContext& ctx) {
  const std::vector<std::string_view> rules(ctx.argv.begin() + 3, ctx.argv.end());
  const Status set = ctx.server.acl().set_user(ctx.argv[2], rules);
  if (!set.ok()) {
    ctx.reply.error(set.message());
    return Outcome::done();
  }
  return ctx.server.acl_publish(ctx, "+OK\r\n");
}

Outcome acl_deluser(CommandContext& ctx) {
  for (std::size_t j = 2; j < ctx.argv.size(); ++j) {
    if (ctx.argv[j] == "default") {
      ctx.reply.error("The 'default' user cannot be removed");
      return Outcome::done();
    }
  }
  std::int64_t deleted = 0;
  for (std::size_t j = 2; j < ctx.argv.size(); ++j) {
    if (ctx.server.acl().del_user(ctx.argv[j])) {
      ++deleted;
      close_clients_of(ctx, ctx.argv[j]);
    }
  }
  if (deleted == 0) {
    ctx.reply.integer(0);
    return Outcome::done();
  }
  return ctx.server.acl_publish(ctx, ":" + std::to_string(deleted) + "\r\n");
}

void reply_selector(ReplyWriter& reply, const AclUsers& acl, const AclSelector& s) {
  reply.bulk("commands");
  reply.bulk(acl.describe_commands(s));
  reply.bulk("keys");
  reply.bulk(AclUsers::describe_keys(s));
  reply.bulk("channels");
  reply.bulk(AclUsers::describe_channels(s));
}

Outcome acl_getuser(CommandContext& ctx) {
  const AclUsers& acl = ctx.server.acl();
  const AclUser* u = acl.find(ctx.argv[2]);
  if (u == nullptr) {  // Redis 7.0 answers a null (7.2: an error)
    ctx.reply.null();
    return Outcome::done();
  }
  std::vector<std::string_view> flags;
  flags.push_back(u->enabled ? "on" : "off");
  if (u->nopass) flags.push_back("nopass");
  if (u->sanitize == AclUser::Sanitize::skip) flags.push_back("skip-sanitize-payload");
  if (u->sanitize == AclUser::Sanitize::sanitize) flags.push_back("sanitize-payload");
  ctx.reply.map(6);
  ctx.reply.bulk("flags");
  ctx.reply.set(flags.size());
  for (std::string_view f : flags) ctx.reply.bulk(f);
  ctx.reply.bulk("passwords");
  ctx.reply.array(u->passwords.size());
  for (const std::string& p : u->passwords) ctx.reply.bulk(p);
  reply_selector(ctx.reply, acl, u->selectors.front());
  ctx.reply.bulk("selectors");
  ctx.reply.array(u->selectors.size() - 1);
  for (std::size_t i = 1; i < u->selectors.size(); ++i) {
    ctx.reply.map(3);
    reply_selector(ctx.reply, acl, u->selectors[i]);
  }
  return Outcome::done();
}

Outcome acl_list(CommandContext& ctx) {
  const AclUsers& acl = ctx.server.acl();
  ctx.reply.array(acl.users().size());
  for (const auto& [name, u] : acl.users()) ctx.reply.bulk("user " + name + " " + acl.describe(u));
  return Outcome::done();
}

Outcome acl_users(CommandContext& ctx) {
  const AclUsers& acl = ctx.server.acl();
  ctx.reply.array(acl.users().size());
  for (const auto& [name, u] : acl.users()) ctx.reply.bulk(name);
  return Outcome::done();
}

Outcome acl_whoami(CommandContext& ctx) {
  ctx.reply.bulk(ctx.client.user());
  return Outcome::done();
}

Outcome acl_cat(CommandContext& ctx) {
  if (ctx.argv.size() == 2) {
    ctx.reply.array(kAclCategories.size());
    for (std::string_view c : kAclCategories) ctx.reply.bulk(c);
    return Outcome::done();
  }
  if (ctx.argv.size() != 3) {
    ctx.reply.error("wrong number of arguments for 'acl|cat' command");
    return Outcome::done();
  }
  const std::uint32_t flag = acl_category(ctx.argv[2]);
  if (flag == 0) {
    ctx.reply.error("Unknown category '" + std::string(ctx.argv[2].substr(0, 128)) + "'");
    return Outcome::done();
  }
  const AclCatalog& catalog = ctx.server.acl().catalog();
  std::vector<std::string_view> names;
  for (std::size_t id = 0; id < catalog.size(); ++id) {
    if ((catalog.at(id).categories & flag) != 0) names.push_back(catalog.at(id).name);
  }
  ctx.reply.array(names.size());
  for (std::string_view n : names) ctx.reply.bulk(n);
  return Outcome::done();
}

Outcome acl_genpass(CommandContext& ctx) {
  constexpr std::int64_t kMaxBits = 4096;
  std::int64_t bits = 256;
  if (ctx.argv.size() > 3) {
    ctx.reply.error("wrong number of arguments for 'acl|genpass' command");
    return Outcome::done();
  }
  if (ctx.argv.size() == 3) {
    auto given = to_int(ctx.argv[2]);
    if (!given) {
      ctx.reply.error(kNotInteger);
      return Outcome::done();
    }
    bits = *given;
  }
  if (bits <= 0 || bits > kMaxBits) {
    ctx.reply.error(
        "ACL GENPASS argument must be the number of bits for the output password, a positive "
        "number up to 4096");
    return Outcome::done();
  }
  const auto chars = static_cast<std::size_t>((bits + 3) / 4);
  std::vector<std::uint8_t> random((chars + 1) / 2);
  ctx.server.random_bytes(random);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : random) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xF]);
  }
  out.resize(chars);
  ctx.reply.bulk(out);
  return Outcome::done();
}

Outcome acl_log(CommandContext& ctx) {
  if (ctx.argv.size() > 3) {
    ctx.reply.error("wrong number of arguments for 'acl|log' command");
    return Outcome::done();
  }
  std::int64_t count = 10;
  if (ctx.argv.size() == 3) {
    if (iequals(ctx.argv[2], "reset")) {
      ctx.server.acl_log_reset();
      ctx.reply.ok();
      return Outcome::done();
    }
    auto given = to_int(ctx.argv[2]);
    if (!given) {
      ctx.reply.error(kNotInteger);
      return Outcome::done();
    }
    count = std::max<std::int64_t>(*given, 0);
  }
  const auto& log = ctx.server.acl_log();
  const std::size_t n = std::min(static_cast<std::size_t>(count), log.size());
  ctx.reply.array(n);
  for (std::size_t i = 0; i < n; ++i) {
    const Server::AclLogEntry& e = log[i];
    ctx.reply.map(7);
    ctx.reply.bulk("count");
    ctx.reply.integer(static_cast<std::int64_t>(e.count));
    ctx.reply.bulk("reason");
    switch (e.reason) {
      case AclVerdict::key:
        ctx.reply.bulk("key");
        break;
      case AclVerdict::channel:
        ctx.reply.bulk("channel");
        break;
      case AclVerdict::auth:
        ctx.reply.bulk("auth");
        break;
      default:
        ctx.reply.bulk("command");
        break;
    }
    ctx.reply.bulk("context");
    ctx.reply.bulk(e.context);
    ctx.reply.bulk("object");
    ctx.reply.bulk(e.object);
    ctx.reply.bulk("username");
    ctx.reply.bulk(e.username);
    ctx.reply.bulk("age-seconds");
    ctx.reply.double_value(static_cast<double>(ctx.wall.ms - e.time.ms) / 1000.0);
    ctx.reply.bulk("client-info");
    ctx.reply.bulk(e.client_info);
  }
  return Outcome::done();
}

Outcome acl_dryrun(CommandContext& ctx) {
  const AclUser* u = ctx.server.acl().find(ctx.argv[2]);
  if (u == nullptr) {
    ctx.reply.error("User '" + std::string(ctx.argv[2]) + "' not found");
    return Outcome::done();
  }
  const auto argv = ctx.argv.subspan(3);
  const CommandSpec* spec = ctx.server.commands().find(argv[0]);
  if (spec != nullptr && !spec->subcommands.empty() && argv.size() >= 2) {
    spec = CommandTable::find_subcommand(*spec, argv[1]);
  }
  if (spec == nullptr) {
    ctx.reply.error("Command '" + std::string(argv[0]) + "' not found");
    return Outcome::done();
  }
  const AclCheck check = ctx.server.acl_check(*u, *spec, argv);
  switch (check.verdict) {
    case AclVerdict::ok:
      ctx.reply.ok();
      break;
    case AclVerdict::key:
      ctx.reply.bulk("This user has no permissions to access the '" +
                     std::string(argv[check.position]) + "' key");
      break;
    case AclVerdict::channel:
      ctx.reply.bulk("This user has no permissions to access the '" +
                     std::string(argv[check.position]) + "' channel");
      break;
    default:
      ctx.reply.bulk("This user has no permissions to run the '" + spec->name + "' command");
      break;
  }
  return Outcome::done();
}

Outcome acl_load(CommandContext& ctx) {
  const auto& file = ctx.server.acl_file();
  if (!file) {
    ctx.reply.error(kNoAclFile);
    return Outcome::done();
  }
  auto text = file->read();
  if (!text.ok()) {
    ctx.reply.error("Error loading ACLs, opening file '" + file->path +
                    "': " + text.status().message());
    return Outcome::done();
  }
  std::vector<std::string> before;
  for (const auto& [name, u] : ctx.server.acl().users()) before.push_back(name);
  const Status loaded = ctx.server.acl().load_text(*text, file->path);
  if (!loaded.ok()) {
    ctx.reply.error(loaded.message());
    return Outcome::done();
  }
  // Redis frees every previous user but the default one, with its clients.
  for (const std::string& name : before) {
    if (name != "default") close_clients_of(ctx, name);
  }
  return ctx.server.acl_publish(ctx, "+OK\r\n");
}

Outcome acl_save(CommandContext& ctx) {
  const auto& file = ctx.server.acl_file();
  if (!file) {
    ctx.reply.error(kNoAclFile);
    return Outcome::done();
  }
  if (!file->write(ctx.server.acl().to_text()).ok()) {
    ctx.reply.error(
        "There was an error trying to save the ACLs. Please check the server logs for more "
        "information");
    return Outcome::done();
  }
  ctx.reply.ok();
  return Outcome::done();
}

Outcome acl_help(CommandContext& ctx) {
  reply_help(ctx.reply, "ACL",
             {"CAT [<category>]",
              "    List all commands that belong to <category>, or all command categories",
              "    when no category is specified.",
              "DELUSER <username> [<username> ...]",
              "    Delete a list of users.",
              "DRYRUN <username> <command> [<arg> ...]",
              "    Returns whether the user can execute the given command without executing the "
              "command.",
              "GETUSER <username>",
              "    Get the user's details.",
              "GENPASS [<bits>]",
              "    Generate a secure 256-bit user password. The optional `bits` argument can",
              "    be used to specify a different size.",
              "LIST",
              "    Show users details in config file format.",
              "LOAD",
              "    Reload users from the ACL file.",
              "LOG [<count> | RESET]",
              "    Show the ACL log entries.",
              "SAVE",
              "    Save the current config to the ACL file.",
              "SETUSER <username> <attribute> [<attribute> ...]",
              "    Create or modify a user with the specified attributes.",
              "USERS",
              "    List all the registered usernames.",
              "WHOAMI",
              "    Return the current connection username."});
  return Outcome::done();
}

}  // namespace

void register_acl_commands(CommandTable& table) {
  CommandSpec acl = make_spec({"acl", -2, 0, 0, 0, 0, "@slow", "", "server",
                               "A container for Access List Control commands", "6.0.0",
                               "Depends on subcommand.", container_command});
  constexpr std::uint32_t kInfo = kNoScript | kLoading | kStale;
  constexpr std::uint32_t kAdminInfo = kAdmin | kInfo;
  constexpr std::string_view kAdminAcl = "@admin @slow @dangerous";
  auto sub = [&](const char* name, int arity, std::uint32_t flags, std::string_view cats,
                 std::string_view summary, std::string_view complexity, CommandHandler h) {
    acl.subcommands.push_back(make_spec(
        {name, arity, flags, 0, 0, 0, cats, "", "server", summary, "6.0.0", complexity, h}));
  };
  sub("acl|cat", -2, kInfo, "@slow", "List the ACL categories or the commands inside a category",
      "O(1) since the categories "
      "and commands are a fixed set.",
      acl_cat);
  sub("acl|deluser", -3, kAdminInfo, kAdminAcl,
      "Remove the specified ACL users and the "
      "associated rules",
      "O(1) amortized time considering the typical user.", acl_deluser);
  sub("acl|dryrun", -4, kAdminInfo, kAdminAcl,
      "Returns whether the user can execute the given "
      "command without executing the command.",
      "O(1).", acl_dryrun);
  sub("acl|genpass", -2, kInfo, "@slow",
      "Generate a pseudorandom secure password to use for ACL "
      "users",
      "O(N)", acl_genpass);
  sub("acl|getuser", 3, kAdminInfo, kAdminAcl, "Get the rules for a specific ACL user",
      "O(N). Where N is the number of password, command and pattern rules that the user has.",
      acl_getuser);
  sub("acl|help", 2, kLoading | kStale, "@slow",
      "Show helpful text about the different "
      "subcommands",
      "O(1)", acl_help);
  sub("acl|list", 2, kAdminInfo, kAdminAcl,
      "List the current ACL rules in ACL config file "
      "format",
      "O(N). Where N is the number of configured users.", acl_list);
  sub("acl|load", 2, kAdminInfo, kAdminAcl, "Reload the ACLs from the configured ACL file",
      "O(N). Where N is the number of configured users.", acl_load);
  sub("acl|log", -2, kAdminInfo, kAdminAcl, "List latest events denied because of ACLs in place",
      "O(N) with N being the number of entries shown.", acl_log);
  sub("acl|save", 2, kAdminInfo, kAdminAcl,
      "Save the current ACL rules in the configured ACL "
      "file",
      "O(N). Where N is the number of configured users.", acl_save);
  sub("acl|setuser", -3, kAdminInfo, kAdminAcl,
      "Modify or create the rules for a specific ACL "
      "user",
      "O(N). Where N is the number of rules provided.", acl_setuser);
  sub("acl|users", 2, kAdminInfo, kAdminAcl, "List the username of all the configured ACL rules",
      "O(N). Where N is the number of configured users.", acl_users);
  sub("acl|whoami", 2, kInfo, "@slow",
      "Return the name of the user associated to the current "
      "connection",
      "O(1)", acl_whoami);
  table.add(std::move(acl));
}

}  // namespace apiary::resp
