// SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, SSUBSCRIBE, SUNSUBSCRIBE,
// SPUBLISH and PUBSUB: the specs as Redis 7.0 publishes them, and handlers that hand over to
// the node's PubSub (pubsub.hpp). Subscriptions belong to the client's connection, so the
// subscribe commands run on the client's node (SSUBSCRIBE/SUNSUBSCRIBE with kRunsHere although
// COMMAND INFO shows their channels as keys); SPUBLISH runs at its channel's coordinator
// (kAtCoordinator), which orders every shard message of a channel, whoever publishes it.
#include "apiary/resp/pubsub.hpp"
#include "apiary/resp/server.hpp"
#include "commands.hpp"

namespace apiary::resp {
namespace {

template <SubKind kind>
Outcome subscribe(CommandContext& ctx) {
  return ctx.server.pubsub().subscribe(ctx, kind, ctx.argv.subspan(1));
}

template <SubKind kind>
Outcome unsubscribe(CommandContext& ctx) {
  return ctx.server.pubsub().unsubscribe(ctx, kind, ctx.argv.subspan(1));
}

template <SubKind kind>
Outcome publish(CommandContext& ctx) {
  ctx.reply.integer(ctx.server.pubsub().publish(kind, ctx.argv[1], ctx.argv[2]));
  return Outcome::done();
}

template <SubKind kind>
Outcome pubsub_channels(CommandContext& ctx) {
  if (ctx.argv.size() > 3) {
    ctx.reply.error("unknown subcommand or wrong number of arguments for '" +
                    std::string(ctx.argv[1]) + "'. Try PUBSUB HELP.");
    return Outcome::done();
  }
  std::optional<std::string_view> pattern;
  if (ctx.argv.size() == 3) pattern = ctx.argv[2];
  const auto names = ctx.server.pubsub().channels(kind, pattern);
  ctx.reply.array(names.size());
  for (const auto& n : names) ctx.reply.bulk(n);
  return Outcome::done();
}

template <SubKind kind>
Outcome pubsub_numsub(CommandContext& ctx) {
  ctx.reply.array((ctx.argv.size() - 2) * 2);
  for (std::size_t i = 2; i < ctx.argv.size(); ++i) {
    ctx.reply.bulk(ctx.argv[i]);
    ctx.reply.integer(ctx.server.pubsub().numsub(kind, ctx.argv[i]));
  }
  return Outcome::done();
}

Outcome pubsub_numpat(CommandContext& ctx) {
  ctx.reply.integer(ctx.server.pubsub().numpat());
  return Outcome::done();
}

Outcome pubsub_help(CommandContext& ctx) {
  reply_help(ctx.reply, "PUBSUB",
             {"CHANNELS [<pattern>]",
              "    Return the currently active channels matching a <pattern> (default: '*').",
              "NUMPAT", "    Return number of subscriptions to patterns.",
              "NUMSUB [<channel> ...]",
              "    Return the number of subscribers for the specified channels, excluding",
              "    pattern subscriptions(default: no channels).", "SHARDCHANNELS [<pattern>]",
              "    Return the currently active shard level channels matching a <pattern> "
              "(default: '*').",
              "SHARDNUMSUB [<shardchannel> ...]",
              "    Return the number of subscribers for the specified shard level channel(s)"});
  return Outcome::done();
}

}  // namespace

void register_pubsub_commands(CommandTable& table) {
  constexpr std::uint32_t kSub = kPubsub | kNoScript | kLoading | kStale;
  constexpr std::uint32_t kPub = kPubsub | kLoading | kStale | kFast;
  constexpr std::string_view kSlow = "@pubsub @slow";
  auto add = [&](const char* name, int arity, std::uint32_t flags, int first, int last,
                 std::string_view acl, std::string_view key_flags, std::string_view summary,
                 std::string_view since, std::string_view complexity, CommandHandler h) {
    table.add(make_spec({name, arity, flags, first, last, first != 0 ? 1 : 0, acl, key_flags,
                         "pubsub", summary, since, complexity, h}));
  };
  add("subscribe", -2, kSub, 0, 0, kSlow, "", "Listen for messages published to the given channels",
      "2.0.0", "O(N) where N is the number of channels to subscribe to.",
      subscribe<SubKind::channel>);
  add("unsubscribe", -1, kSub, 0, 0, kSlow, "",
      "Stop listening for messages posted to the given channels", "2.0.0",
      "O(N) where N is the number of clients already subscribed to a channel.",
      unsubscribe<SubKind::channel>);
  add("psubscribe", -2, kSub, 0, 0, kSlow, "",
      "Listen for messages published to channels matching the given patterns", "2.0.0",
      "O(N) where N is the number of patterns the client is already subscribed to.",
      subscribe<SubKind::pattern>);
  add("punsubscribe", -1, kSub, 0, 0, kSlow, "",
      "Stop listening for messages posted to channels matching the given patterns", "2.0.0",
      "O(N+M) where N is the number of patterns the client is already subscribed and M is the "
      "number of total patterns subscribed in the system (by any client).",
      unsubscribe<SubKind::pattern>);
  add("publish", 3, kPub, 0, 0, "@pubsub @fast", "", "Post a message to a channel", "2.0.0",
      "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the "
      "total number of subscribed patterns (by any client).",
      publish<SubKind::channel>);
  add("ssubscribe", -2, kSub | kRunsHere, 1, -1, kSlow, "not_key",
      "Listen for messages published to the given shard channels", "7.0.0",
      "O(N) where N is the number of shard channels to subscribe to.",
      subscribe<SubKind::shard>);
  add("sunsubscribe", -1, kSub | kRunsHere, 1, -1, kSlow, "not_key",
      "Stop listening for messages posted to the given shard channels", "7.0.0",
      "O(N) where N is the number of clients already subscribed to a shard channel.",
      unsubscribe<SubKind::shard>);
  add("spublish", 3, kPub | kAtCoordinator, 1, 1, "@pubsub @fast", "not_key",
      "Post a message to a shard channel", "7.0.0",
      "O(N) where N is the number of clients subscribed to the receiving shard channel.",
      publish<SubKind::shard>);

  CommandSpec pubsub = make_spec({"pubsub", -2, 0, 0, 0, 0, "@slow", "", "pubsub",
                                  "A container for Pub/Sub commands", "2.8.0",
                                  "Depends on subcommand.", container_command});
  auto sub = [&](const char* name, int arity, std::uint32_t flags, std::string_view acl,
                 std::string_view summary, std::string_view since, CommandHandler h) {
    pubsub.subcommands.push_back(
        make_spec({name, arity, flags, 0, 0, 0, acl, "", "pubsub", summary, since, "O(N)", h}));
  };
  constexpr std::uint32_t kInfo = kPubsub | kLoading | kStale;
  sub("pubsub|channels", -2, kInfo, kSlow, "List active channels", "2.8.0",
      pubsub_channels<SubKind::channel>);
  sub("pubsub|help", 2, kLoading | kStale, "@slow", "Show helpful text about the different subcommands",
      "6.2.0", pubsub_help);
  sub("pubsub|numpat", 2, kInfo, kSlow, "Get the count of unique patterns pattern subscriptions",
      "2.8.0", pubsub_numpat);
  sub("pubsub|numsub", -2, kInfo, kSlow, "Get the count of subscribers for channels", "2.8.0",
      pubsub_numsub<SubKind::channel>);
  sub("pubsub|shardchannels", -2, kInfo, kSlow, "List active shard channels", "7.0.0",
      pubsub_channels<SubKind::shard>);
  sub("pubsub|shardnumsub", -2, kInfo, kSlow, "Get the count of subscribers for shard channels",
      "7.0.0", pubsub_numsub<SubKind::shard>);
  table.add(std::move(pubsub));
}

}  // namespace apiary::resp
