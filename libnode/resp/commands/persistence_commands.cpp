// SAVE, BGSAVE, BGREWRITEAOF, LASTSAVE: replies and errors worded as Redis 7.0's, the work
// done by the node's persistence (Server::set_persistence).
#include "apiary/resp/persistence_control.hpp"
#include "apiary/resp/reply_writer.hpp"
#include "apiary/resp/server.hpp"
#include "commands.hpp"

namespace apiary::resp {

namespace {

PersistenceControl* control_or_reply(CommandContext& ctx) {
  PersistenceControl* p = ctx.server.persistence();
  if (p == nullptr) ctx.reply.error("persistence is not available on this node");
  return p;
}

Outcome save(CommandContext& ctx) {
  PersistenceControl* p = control_or_reply(ctx);
  if (p == nullptr) return Outcome::done();
  if (Status s = p->save(ctx); !s.ok()) {
    ctx.reply.error(s.message());
  } else {
    ctx.reply.ok();
  }
  return Outcome::done();
}

Outcome bgsave(CommandContext& ctx) {
  bool schedule = false;
  if (ctx.argv.size() > 1) {
    if (ctx.argv.size() > 2 || !iequals(ctx.argv[1], "schedule")) {
      ctx.reply.error(kSyntaxError);
      return Outcome::done();
    }
    schedule = true;
  }
  PersistenceControl* p = control_or_reply(ctx);
  if (p == nullptr) return Outcome::done();
  switch (p->bgsave(ctx, schedule)) {
    case BackgroundReply::started:
      ctx.reply.simple("Background saving started");
      break;
    case BackgroundReply::scheduled:
      ctx.reply.simple("Background saving scheduled");
      break;
    case BackgroundReply::already_running:
      ctx.reply.error("Background save already in progress");
      break;
    case BackgroundReply::other_running:
      ctx.reply.error(
          "Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE "
          "in order to schedule a BGSAVE whenever possible.");
      break;
  }
  return Outcome::done();
}

Outcome bgrewriteaof(CommandContext& ctx) {
  PersistenceControl* p = control_or_reply(ctx);
  if (p == nullptr) return Outcome::done();
  switch (p->bgrewriteaof(ctx)) {
    case BackgroundReply::started:
      ctx.reply.simple("Background append only file rewriting started");
      break;
    case BackgroundReply::scheduled:
    case BackgroundReply::other_running:
      ctx.reply.simple("Background append only file rewriting scheduled");
      break;
    case BackgroundReply::already_running:
      ctx.reply.error("Background append only file rewriting already in progress");
      break;
  }
  return Outcome::done();
}

Outcome lastsave(CommandContext& ctx) {
  PersistenceControl* p = control_or_reply(ctx);
  if (p != nullptr) ctx.reply.integer(p->lastsave());
  return Outcome::done();
}

constexpr std::uint32_t kSaveFlags = kAdmin | kNoScript | kNoAsyncLoading;

}  // namespace

void register_persistence_commands(CommandTable& table) {
  table.add(make_spec({"save", 1, kSaveFlags, 0, 0, 0, "@admin @slow @dangerous", "", "server",
                       "Synchronously save the dataset to disk", "1.0.0",
                       "O(N) where N is the total number of keys in all databases", save}));
  table.add(make_spec({"bgsave", -1, kSaveFlags, 0, 0, 0, "@admin @slow @dangerous", "", "server",
                       "Asynchronously save the dataset to disk", "1.0.0", "O(1)", bgsave}));
  table.add(make_spec({"bgrewriteaof", 1, kSaveFlags, 0, 0, 0, "@admin @slow @dangerous", "",
                       "server", "Asynchronously rewrite the append-only file", "1.0.0", "O(1)",
                       bgrewriteaof}));
  table.add(make_spec({"lastsave", 1, kLoading | kStale | kFast, 0, 0, 0,
                       "@admin @fast @dangerous", "", "server",
                       "Get the UNIX time stamp of the last successful save to disk", "1.0.0",
                       "O(1)", lastsave}));
}

}  // namespace apiary::resp
