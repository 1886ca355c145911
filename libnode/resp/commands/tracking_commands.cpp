// CLIENT TRACKING, CACHING, GETREDIR and TRACKINGINFO, with Redis 7.0's arguments, checks,
// error texts and replies (networking.c clientCommand). The state lives in Tracking
// (tracking_impl.hpp) and in Connection::TrackingFlags (what CLIENT LIST shows).
#include <string>
#include <vector>

#include "../tracking_impl.hpp"
#include "apiary/resp/connection.hpp"
#include "apiary/resp/server.hpp"
#include "commands.hpp"

namespace apiary::resp {

namespace {

constexpr std::uint32_t kFlags = kNoScript | kLoading | kStale;
constexpr std::string_view kAcl = "@slow @connection";

// Redis's stringCheckPrefix: one is a prefix of the other.
bool overlaps(std::string_view a, std::string_view b) {
  const std::size_t n = std::min(a.size(), b.size());
  return a.substr(0, n) == b.substr(0, n);
}

struct TrackingRequest {
  std::int64_t redirect = 0;
  bool bcast = false;
  bool optin = false;
  bool optout = false;
  bool noloop = false;
  std::vector<std::string_view> prefixes;
};

// The options after ON|OFF; false after replying an error.
bool parse_options(CommandContext& ctx, TrackingRequest& req) {
  const auto argv = ctx.argv;
  for (std::size_t j = 3; j < argv.size(); ++j) {
    const bool more = j + 1 < argv.size();
    if (iequals(argv[j], "redirect") && more) {
      ++j;
      if (req.redirect != 0) {
        ctx.reply.error("A client can only redirect to a single other client");
        return false;
      }
      const auto id = to_int(argv[j]);
      if (!id) {
        ctx.reply.error(kNotInteger);
        return false;
      }
      req.redirect = *id;
      // The target must exist now; it may go away later (tracking-redir-broken).
      if (*id <= 0 || ctx.server.find_client(static_cast<ClientId>(*id)) == nullptr) {
        ctx.reply.error("The client ID you want redirect to does not exist");
        return false;
      }
    } else if (iequals(argv[j], "bcast")) {
      req.bcast = true;
    } else if (iequals(argv[j], "optin")) {
      req.optin = true;
    } else if (iequals(argv[j], "optout")) {
      req.optout = true;
    } else if (iequals(argv[j], "noloop")) {
      req.noloop = true;
    } else if (iequals(argv[j], "prefix") && more) {
      req.prefixes.push_back(argv[++j]);
    } else {
      ctx.reply.error(kSyntaxError);
      return false;
    }
  }
  return true;
}

// Redis's checkPrefixCollisionsOrReply, including its quirk: an overlap between two given
// prefixes found past the first one is reported and then tracking is enabled anyway (the
// function returns the index, which is true), so the client gets the error and then +OK.
// Returns false when the command must stop.
bool check_prefixes(CommandContext& ctx, const TrackingClient* current,
                    const std::vector<std::string_view>& given) {
  for (std::size_t i = 0; i < given.size(); ++i) {
    if (current != nullptr) {
      for (const std::string& existing : current->prefixes) {
        if (!overlaps(existing, given[i])) continue;
        ctx.reply.error("Prefix '" + std::string(given[i]) +
                        "' overlaps with an existing prefix '" + existing +
                        "'. Prefixes for a single client must not overlap.");
        return false;
      }
    }
    for (std::size_t j = i + 1; j < given.size(); ++j) {
      if (!overlaps(given[i], given[j])) continue;
      ctx.reply.error("Prefix '" + std::string(given[i]) +
                      "' overlaps with another provided prefix '" + std::string(given[j]) +
                      "'. Prefixes for a single client must not overlap.");
      return i != 0;
    }
  }
  return true;
}

void enable(CommandContext& ctx, const TrackingRequest& req) {
  Tracking::Impl& t = ctx.server.tracking().impl();
  Connection::TrackingFlags& flags = ctx.client.tracking_flags();
  TrackingClient& st = t.clients[ctx.client.id()];
  flags.on = true;
  flags.broken_redirect = false;
  flags.redirect = req.redirect;
  flags.bcast = req.bcast;
  st.optin = req.optin;
  st.optout = req.optout;
  st.noloop = req.noloop;
  if (!req.bcast) return;
  auto add = [&](std::string_view prefix) {
    st.prefixes.emplace(prefix);
    t.prefixes[std::string(prefix)].insert(ctx.client.id());
  };
  if (req.prefixes.empty()) add("");
  for (std::string_view p : req.prefixes) add(p);
  t.announce_prefixes();
}

Outcome client_tracking(CommandContext& ctx) {
  TrackingRequest req;
  if (!parse_options(ctx, req)) return Outcome::done();
  Tracking::Impl& t = ctx.server.tracking().impl();
  Connection::TrackingFlags& flags = ctx.client.tracking_flags();
  const auto current_it = t.clients.find(ctx.client.id());
  const TrackingClient* current = current_it == t.clients.end() ? nullptr : &current_it->second;
  if (iequals(ctx.argv[2], "on")) {
    if (!req.bcast && !req.prefixes.empty()) {
      ctx.reply.error("PREFIX option requires BCAST mode to be enabled");
      return Outcome::done();
    }
    if (flags.on && flags.bcast != req.bcast) {
      ctx.reply.error(
          "You can't switch BCAST mode on/off before disabling tracking for this client, and "
          "then re-enabling it with a different mode.");
      return Outcome::done();
    }
    if (req.bcast && (req.optin || req.optout)) {
      ctx.reply.error("OPTIN and OPTOUT are not compatible with BCAST");
      return Outcome::done();
    }
    if (req.optin && req.optout) {
      ctx.reply.error("You can't specify both OPTIN mode and OPTOUT mode");
      return Outcome::done();
    }
    if (current != nullptr && ((req.optin && current->optout) || (req.optout && current->optin))) {
      ctx.reply.error(
          "You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and "
          "then re-enabling it with a different mode.");
      return Outcome::done();
    }
    if (req.bcast && !check_prefixes(ctx, current, req.prefixes)) return Outcome::done();
    enable(ctx, req);
  } else if (iequals(ctx.argv[2], "off")) {
    t.disable(ctx.client.id());
    flags = Connection::TrackingFlags{};
  } else {
    ctx.reply.error(kSyntaxError);
    return Outcome::done();
  }
  ctx.reply.ok();
  return Outcome::done();
}

Outcome client_caching(CommandContext& ctx) {
  Tracking::Impl& t = ctx.server.tracking().impl();
  auto st = t.clients.find(ctx.client.id());
  if (!ctx.client.tracking_flags().on || st == t.clients.end()) {
    ctx.reply.error(
        "CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or "
        "OPTOUT mode enabled");
    return Outcome::done();
  }
  if (iequals(ctx.argv[2], "yes")) {
    if (!st->second.optin) {
      ctx.reply.error("CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
      return Outcome::done();
    }
  } else if (iequals(ctx.argv[2], "no")) {
    if (!st->second.optout) {
      ctx.reply.error("CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
      return Outcome::done();
    }
  } else {
    ctx.reply.error(kSyntaxError);
    return Outcome::done();
  }
  st->second.caching = true;
  ctx.reply.ok();
  return Outcome::done();
}

Outcome client_getredir(CommandContext& ctx) {
  const auto& flags = ctx.client.tracking_flags();
  ctx.reply.integer(flags.on ? flags.redirect : -1);
  return Outcome::done();
}

Outcome client_trackinginfo(CommandContext& ctx) {
  const auto& flags = ctx.client.tracking_flags();
  Tracking::Impl& t = ctx.server.tracking().impl();
  auto it = t.clients.find(ctx.client.id());
  const TrackingClient* st = flags.on && it != t.clients.end() ? &it->second : nullptr;
  std::vector<std::string_view> names{flags.on ? "on" : "off"};
  if (flags.bcast) names.push_back("bcast");
  if (st != nullptr && st->optin) {
    names.push_back("optin");
    if (st->caching) names.push_back("caching-yes");
  }
  if (st != nullptr && st->optout) {
    names.push_back("optout");
    if (st->caching) names.push_back("caching-no");
  }
  if (st != nullptr && st->noloop) names.push_back("noloop");
  if (flags.broken_redirect) names.push_back("broken_redirect");
  ReplyWriter& reply = ctx.reply;
  reply.map(3);
  reply.bulk("flags");
  reply.set(names.size());
  for (std::string_view n : names) reply.bulk(n);
  reply.bulk("redirect");
  reply.integer(flags.on ? flags.redirect : -1);
  reply.bulk("prefixes");
  if (st == nullptr) {
    reply.array(0);
  } else {
    reply.array(st->prefixes.size());
    for (const std::string& p : st->prefixes) reply.bulk(p);
  }
  return Outcome::done();
}

}  // namespace

void register_tracking_subcommands(CommandSpec& client) {
  auto sub = [&](const char* name, int arity, std::string_view summary, std::string_view since,
                 std::string_view complexity, CommandHandler handler) {
    client.subcommands.push_back(make_spec({name, arity, kFlags, 0, 0, 0, kAcl, "", "connection",
                                            summary, since, complexity, handler}));
  };
  sub("client|tracking", -3, "Enable or disable server assisted client side caching support",
      "6.0.0", "O(1). Some options may introduce additional complexity.", client_tracking);
  sub("client|caching", 3, "Instruct the server about tracking or not keys in the next request",
      "6.0.0", "O(1)", client_caching);
  sub("client|getredir", 2, "Get tracking notifications redirection client ID if any", "6.0.0",
      "O(1)", client_getredir);
  sub("client|trackinginfo", 2,
      "Return information about server assisted client side caching for the current connection",
      "6.2.0", "O(1)", client_trackinginfo);
}

}  // namespace apiary::resp
