// COMMAND, CONFIG, INFO and DEBUG.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "../command_docs.hpp"
#include "apiary/resp/connection.hpp"
#include "apiary/resp/server.hpp"
#include "commands.hpp"

namespace apiary::resp {
namespace {

// The legacy key spec of a command Redis does not have (APIARY.*): one range.
void reply_legacy_key_specs(ReplyWriter& reply, const CommandSpec& spec) {
  if (!spec.has_keys()) {
    reply.array(0);
    return;
  }
  reply.array(1);
  reply.map(3);
  reply.bulk("flags");
  const auto flags = split_spaces(spec.key_flags);
  reply.set(flags.size());
  for (auto f : flags) reply.simple(f);
  reply.bulk("begin_search");
  reply.map(2);
  reply.bulk("type");
  reply.bulk("index");
  reply.bulk("spec");
  reply.map(1);
  reply.bulk("index");
  reply.integer(spec.first_key);
  reply.bulk("find_keys");
  reply.map(2);
  reply.bulk("type");
  reply.bulk("range");
  reply.bulk("spec");
  reply.map(3);
  reply.bulk("lastkey");
  reply.integer(spec.last_key >= 0 ? spec.last_key - spec.first_key : spec.last_key);
  reply.bulk("keystep");
  reply.integer(spec.key_step);
  reply.bulk("limit");
  reply.integer(0);
}

// A container's registered subcommands in name order (Redis's order differs from one
// redis-server process to the next), those Redis does not have after them.
std::vector<const CommandSpec*> ordered_subcommands(const CommandSpec& spec) {
  std::vector<const CommandSpec*> out;
  if (spec.subcommands.empty()) return out;
  const std::string prefix = spec.name + "|";
  const auto all = redis_command_docs();
  auto it = std::lower_bound(
      all.begin(), all.end(), prefix,
      [](const CommandDocsEntry& e, const std::string& p) { return e.name < std::string_view(p); });
  for (; it != all.end() && it->name.substr(0, prefix.size()) == prefix; ++it) {
    const std::string_view sub_name = it->name.substr(prefix.size());
    if (const CommandSpec* sub = CommandTable::find_subcommand(spec, sub_name)) {
      out.push_back(sub);
    }
  }
  for (const auto& sub : spec.subcommands) {
    if (std::find(out.begin(), out.end(), &sub) == out.end()) out.push_back(&sub);
  }
  return out;
}

// COMMAND INFO's ten fields: the first seven from the spec Apiary runs the command by, tips
// and key specs as Redis records them (command_docs.hpp), the legacy range form for
// Apiary's own commands.
void reply_command_info(ReplyWriter& reply, const CommandSpec& spec) {
  reply.array(10);
  reply.bulk(spec.name);
  reply.integer(spec.arity);
  const auto flags = flag_names(spec.flags);
  reply.set(flags.size());
  for (auto f : flags) reply.simple(f);
  reply.integer(spec.first_key);
  reply.integer(spec.last_key);
  reply.integer(spec.key_step);
  const auto acl = split_spaces(spec.acl);
  reply.set(acl.size());
  for (auto a : acl) reply.simple(a);
  const CommandDocsEntry* entry = find_command_docs(spec.name);
  std::size_t used = 0;
  if (entry != nullptr && entry->info.substr(0, 4) == "*2\r\n") {
    const std::string_view fields = entry->info.substr(4);
    used = write_resp3_value(reply, fields);                              // tips
    if (used != 0) used = write_resp3_value(reply, fields.substr(used));  // key specs
  }
  if (used == 0) {
    reply.set(0);  // tips
    reply_legacy_key_specs(reply, spec);
  }
  // Redis answers an empty set for a command without subcommands, an array otherwise.
  const auto subs = ordered_subcommands(spec);
  if (subs.empty()) {
    reply.set(0);
    return;
  }
  reply.array(subs.size());
  for (const CommandSpec* sub : subs) reply_command_info(reply, *sub);
}

// Redis's COMMAND DOCS entry (summary, since, group, complexity, doc_flags, history,
// arguments), "subcommands" added for the registered ones; Apiary's own commands give
// summary, since, group and complexity from their spec.
void reply_command_docs(ReplyWriter& reply, const CommandSpec& spec) {
  const auto subs = ordered_subcommands(spec);
  const CommandDocsEntry* entry = find_command_docs(spec.name);
  std::size_t pairs = 0;
  if (entry != nullptr && !entry->docs.empty() && entry->docs[0] == '%') {
    const std::size_t eol = entry->docs.find("\r\n");
    for (char c : entry->docs.substr(1, eol - 1))
      pairs = pairs * 10 + static_cast<std::size_t>(c - '0');
    reply.map(pairs + (subs.empty() ? 0 : 1));
    std::string_view rest = entry->docs.substr(eol + 2);
    for (std::size_t i = 0; i < 2 * pairs; ++i) rest.remove_prefix(write_resp3_value(reply, rest));
  } else {
    reply.map(subs.empty() ? 4 : 5);
    reply.bulk("summary");
    reply.bulk(spec.summary);
    reply.bulk("since");
    reply.bulk(spec.since);
    reply.bulk("group");
    reply.bulk(spec.group);
    reply.bulk("complexity");
    reply.bulk(spec.complexity);
  }
  if (!subs.empty()) {
    reply.bulk("subcommands");
    reply.map(subs.size());
    for (const CommandSpec* sub : subs) {
      reply.bulk(sub->name);
      reply_command_docs(reply, *sub);
    }
  }
}

// "client|list" or "client list" style lookups for COMMAND INFO / DOCS.
const CommandSpec* lookup(const CommandTable& table, std::string_view name) {
  const auto bar = name.find('|');
  if (bar == std::string_view::npos) return table.find(name);
  const CommandSpec* parent = table.find(name.substr(0, bar));
  return parent ? CommandTable::find_subcommand(*parent, name.substr(bar + 1)) : nullptr;
}

Outcome command(CommandContext& ctx) {
  const auto& all = ctx.server.commands().all();
  ctx.reply.array(all.size());
  for (const auto& c : all) reply_command_info(ctx.reply, *c);
  return Outcome::done();
}

Outcome command_count(CommandContext& ctx) {
  ctx.reply.integer(static_cast<std::int64_t>(ctx.server.commands().all().size()));
  return Outcome::done();
}

Outcome command_info(CommandContext& ctx) {
  if (ctx.argv.size() == 2) return command(ctx);
  ctx.reply.array(ctx.argv.size() - 2);
  for (std::size_t i = 2; i < ctx.argv.size(); ++i) {
    const CommandSpec* spec = lookup(ctx.server.commands(), ctx.argv[i]);
    if (spec == nullptr) {
      ctx.reply.null();
    } else {
      reply_command_info(ctx.reply, *spec);
    }
  }
  return Outcome::done();
}

Outcome command_docs(CommandContext& ctx) {
  std::vector<const CommandSpec*> specs;
  if (ctx.argv.size() == 2) {
    for (const auto& c : ctx.server.commands().all()) specs.push_back(c.get());
  } else {
    for (std::size_t i = 2; i < ctx.argv.size(); ++i) {
      if (const CommandSpec* s = lookup(ctx.server.commands(), ctx.argv[i])) specs.push_back(s);
    }
  }
  ctx.reply.map(specs.size());
  for (const CommandSpec* s : specs) {
    ctx.reply.bulk(s->name);
    reply_command_docs(ctx.reply, *s);
  }
  return Outcome::done();
}

// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern], as Redis 7.0:
// anything else is a syntax error; an unknown category or module lists nothing.
Outcome command_list(CommandContext& ctx) {
  enum class Filter { none, module, aclcat, pattern } filter = Filter::none;
  std::string_view arg;
  for (std::size_t i = 2; i < ctx.argv.size(); i += 3) {
    const bool ok = iequals(ctx.argv[i], "FILTERBY") && ctx.argv.size() - 1 - i == 2;
    const std::string_view kind = ok ? ctx.argv[i + 1] : std::string_view();
    if (ok && iequals(kind, "MODULE")) {
      filter = Filter::module;
    } else if (ok && iequals(kind, "ACLCAT")) {
      filter = Filter::aclcat;
    } else if (ok && iequals(kind, "PATTERN")) {
      filter = Filter::pattern;
    } else {
      ctx.reply.error(kSyntaxError);
      return Outcome::done();
    }
    arg = ctx.argv[i + 2];
  }
  const auto listed = [&](const CommandSpec& c) {
    switch (filter) {
      case Filter::none:
        return true;
      case Filter::module:
        return false;  // no modules here
      case Filter::aclcat:
        for (std::string_view cat : split_spaces(c.acl)) {
          if (cat.size() > 1 && iequals(cat.substr(1), arg)) return true;
        }
        return false;
      case Filter::pattern:
        return glob_match(arg, c.name, true);
    }
    return false;
  };
  std::vector<std::string_view> names;
  for (const auto& c : ctx.server.commands().all()) {
    if (listed(*c)) names.push_back(c->name);
    for (const auto& sub : c->subcommands) {
      if (listed(sub)) names.push_back(sub.name);
    }
  }
  ctx.reply.array(names.size());
  for (auto n : names) ctx.reply.bulk(n);
  return Outcome::done();
}

// COMMAND GETKEYS / GETKEYSANDFLAGS full-command: the keys Redis's key specs find in it (the
// spec's own key positions for Apiary's commands), checked in Redis's order: the command,
// whether it has keys, its arity, then the arguments.
Outcome getkeys(CommandContext& ctx, bool with_flags) {
  const auto args = ctx.argv.subspan(2);
  const CommandSpec* spec = ctx.server.commands().find(args[0]);
  if (spec != nullptr && !spec->subcommands.empty() && args.size() >= 2) {
    spec = CommandTable::find_subcommand(*spec, args[1]);
  }
  if (spec == nullptr) {
    ctx.reply.error("Invalid command specified");
    return Outcome::done();
  }
  const CommandDocsEntry* entry = find_command_docs(spec->name);
  std::vector<KeySpec> specs;
  if (entry != nullptr) specs = parse_key_specs(*entry);
  const bool has_keys = entry != nullptr ? std::any_of(specs.begin(), specs.end(),
                                                       [](const KeySpec& k) { return !k.not_key; })
                                         : spec->has_keys();
  if (!has_keys) {
    ctx.reply.error("The command has no key arguments");
    return Outcome::done();
  }
  const auto argc = static_cast<int>(args.size());
  if ((spec->arity > 0 && argc != spec->arity) || argc < -spec->arity) {
    ctx.reply.error("Invalid number of arguments specified for command");
    return Outcome::done();
  }
  std::vector<FoundKey> keys;
  if (auto by_code = keys_by_code(spec->name, args)) {
    keys = std::move(*by_code);
  } else if (entry != nullptr) {
    if (auto found = keys_by_specs(specs, args)) {
      keys = std::move(*found);
    } else {
      if (auto by_count = keys_by_numkeys_code(spec->name, args)) {
        keys = std::move(*by_count);
      }
    }
  } else {
    for (std::size_t k : command_keys(*spec, args)) keys.push_back({k, {}});
  }
  if (keys.empty()) {
    if (spec->flags & kNoMandatoryKeys) {
      ctx.reply.array(0);
    } else {
      ctx.reply.error("Invalid arguments specified for command");
    }
    return Outcome::done();
  }
  ctx.reply.array(keys.size());
  for (const FoundKey& k : keys) {
    if (!with_flags) {
      ctx.reply.bulk(args[k.position]);
      continue;
    }
    ctx.reply.array(2);
    ctx.reply.bulk(args[k.position]);
    const std::string_view flags =
        entry != nullptr ? variable_key_flags(spec->name, k.flags, args) : std::string_view();
    if (flags.empty() || write_resp3_value(ctx.reply, flags) == 0) {
      const auto names = split_spaces(spec->key_flags);
      ctx.reply.set(names.size());
      for (auto f : names) ctx.reply.simple(f);
    }
  }
  return Outcome::done();
}
Outcome command_getkeys(CommandContext& ctx) { return getkeys(ctx, false); }
Outcome command_getkeysandflags(CommandContext& ctx) { return getkeys(ctx, true); }

Outcome command_help(CommandContext& ctx) {
  reply_help(ctx.reply, "COMMAND",
             {"(no subcommand)", "    Return details about all Redis commands.", "COUNT",
              "    Return the total number of commands in this Redis server.", "LIST",
              "    Return a list of all commands in this Redis server.",
              "INFO [<command-name> ...]", "    Return details about multiple Redis commands.",
              "    If no command names are given, documentation details for all",
              "    commands are returned.", "DOCS [<command-name> ...]",
              "    Return documentation details about multiple Redis commands.",
              "    If no command names are given, documentation details for all",
              "    commands are returned.", "GETKEYS <full-command>",
              "    Return the keys from a full Redis command.", "GETKEYSANDFLAGS <full-command>",
              "    Return the keys and the access flags from a full Redis command."});
  return Outcome::done();
}

// ---- CONFIG ---------------------------------------------------------------------------

Outcome config_get(CommandContext& ctx) {
  std::vector<std::string_view> patterns(ctx.argv.begin() + 2, ctx.argv.end());
  const auto found = ctx.server.config().get(patterns);
  ctx.reply.map(found.size());
  for (const auto& [name, value] : found) {
    ctx.reply.bulk(name);
    ctx.reply.bulk(value);
  }
  return Outcome::done();
}

Outcome config_set(CommandContext& ctx) {
  if ((ctx.argv.size() - 2) % 2 != 0) {
    ctx.reply.error(kSyntaxError);
    return Outcome::done();
  }
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  for (std::size_t i = 2; i + 1 < ctx.argv.size(); i += 2) {
    pairs.emplace_back(ctx.argv[i], ctx.argv[i + 1]);
  }
  const Status st = ctx.server.config().set(pairs);
  if (st.ok()) {
    ctx.reply.ok();
  } else {
    ctx.reply.error(st.message());
  }
  return Outcome::done();
}

Outcome config_resetstat(CommandContext& ctx) {
  ctx.server.reset_stats();
  ctx.reply.ok();
  return Outcome::done();
}

Outcome config_rewrite(CommandContext& ctx) {
  ctx.reply.error("The server is running without a config file");
  return Outcome::done();
}

Outcome config_help(CommandContext& ctx) {
  reply_help(
      ctx.reply, "CONFIG",
      {"GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
       "SET <directive> <value>", "    Set the configuration <directive> to <value>.", "RESETSTAT",
       "    Reset statistics reported by the INFO command.", "REWRITE",
       "    Rewrite the configuration file."});
  return Outcome::done();
}

Outcome info(CommandContext& ctx) {
  std::vector<std::string_view> sections(ctx.argv.begin() + 1, ctx.argv.end());
  ClusterKeyspace* cluster = ctx.server.cluster_keyspace();
  if (cluster != nullptr && Server::info_includes(sections, "keyspace")) {
    return cluster->info(ctx, sections);
  }
  ctx.reply.verbatim("txt", ctx.server.info(sections, ctx.now));
  return Outcome::done();
}

Outcome debug(CommandContext& ctx) {
  if (iequals(ctx.argv[1], "sleep") && ctx.argv.size() == 3) {
    // Redis parses the seconds with strtod and ignores trailing garbage; so do we. The reply
    // is held back instead of blocking the event loop.
    // NaN, negative and unrepresentable times (inf, 1e300) answer at once, as Redis's
    // nanosleep fails on them; the hold is capped (a year) so the clock cannot overflow.
    const std::string arg(ctx.argv[2]);
    const double micros = std::strtod(arg.c_str(), nullptr) * 1e6;
    ctx.reply.ok();
    if (!(micros > 0) || micros >= 9.2e18) return Outcome::done();
    constexpr double kMaxMicros = 365.0 * 24 * 3600 * 1e6;
    return Outcome::reply_after(
        std::chrono::microseconds(static_cast<std::int64_t>(std::min(micros, kMaxMicros))));
  }
  if (iequals(ctx.argv[1], "help")) {
    reply_help(ctx.reply, "DEBUG",
               {"SLEEP <seconds>", "    Stop the server for <seconds>. Decimals allowed."});
    return Outcome::done();
  }
  ctx.reply.error("Unknown subcommand or wrong number of arguments for '" +
                  std::string(ctx.argv[1]) + "'. Try DEBUG HELP.");
  return Outcome::done();
}

Outcome container(CommandContext& ctx) {
  ctx.reply.error(kSyntaxError);
  return Outcome::done();
}

constexpr std::uint32_t kAdminFlags = kAdmin | kNoScript | kLoading | kStale;

}  // namespace

void register_wait_commands(CommandTable& table);  // wait_commands.cpp

void register_server_commands(CommandTable& table) {
  register_wait_commands(table);
  CommandSpec cmd = make_spec({"command", -1, kLoading | kStale, 0, 0, 0, "@slow @connection", "",
                               "server", "Get array of Redis command details", "2.8.13",
                               "O(N) where N is the total number of Redis commands", command});
  auto csub = [&](const char* name, int arity, std::string_view summary, CommandHandler h) {
    cmd.subcommands.push_back(
        make_spec({name, arity, kLoading | kStale, 0, 0, 0, "@slow @connection", "", "server",
                   summary, "7.0.0", "O(N) where N is the number of commands", h}));
  };
  csub("command|count", 2, "Get total number of Redis commands", command_count);
  csub("command|docs", -2, "Get array of specific Redis command documentation", command_docs);
  csub("command|getkeys", -4, "Extract keys given a full Redis command", command_getkeys);
  csub("command|getkeysandflags", -4, "Extract keys and access flags given a full Redis command",
       command_getkeysandflags);
  csub("command|help", 2, "Show helpful text about the different subcommands", command_help);
  csub("command|info", -2,
       "Get array of specific Redis command details, or all when no argument is given.",
       command_info);
  csub("command|list", -2, "Get an array of Redis command names", command_list);
  table.add(std::move(cmd));

  CommandSpec config = make_spec({"config", -2, 0, 0, 0, 0, "@slow", "", "server",
                                  "A container for server configuration commands", "2.0.0",
                                  "Depends on subcommand.", container});
  auto fsub = [&](const char* name, int arity, std::string_view summary, CommandHandler h) {
    config.subcommands.push_back(
        make_spec({name, arity, kAdminFlags, 0, 0, 0, "@admin @slow @dangerous", "", "server",
                   summary, "2.0.0", "O(N)", h}));
  };
  fsub("config|get", -3, "Get the values of configuration parameters", config_get);
  config.subcommands.push_back(make_spec(
      {"config|help", 2, kLoading | kStale, 0, 0, 0, "@slow", "", "server",
       "Show helpful text about the different subcommands", "5.0.0", "O(1)", config_help}));
  fsub("config|resetstat", 2, "Reset the stats returned by INFO", config_resetstat);
  fsub("config|rewrite", 2, "Rewrite the configuration file with the in memory configuration",
       config_rewrite);
  fsub("config|set", -4, "Set configuration parameters to the given values", config_set);
  table.add(std::move(config));

  table.add(make_spec({"info", -1, kLoading | kStale, 0, 0, 0, "@slow @dangerous", "", "server",
                       "Get information and statistics about the server", "1.0.0", "O(1)", info}));
  table.add(
      make_spec({"debug", -2, kAdminFlags, 0, 0, 0, "@admin @slow @dangerous", "", "server",
                 "A container for debugging commands", "1.0.0", "Depends on subcommand.", debug}));
}

}  // namespace apiary::resp
