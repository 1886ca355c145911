// SLOWLOG, LATENCY and MONITOR: the replies Redis 7.0.15 gives, over what the node's
// Diagnostics keeps (diagnostics.hpp) and, for LATENCY HISTOGRAM, the per-command latency
// histograms of CommandStats. Each answers for the node the client is connected to.
#include <algorithm>
#include <cstdio>

#include "apiary/resp/command_stats.hpp"
#include "apiary/resp/connection.hpp"
#include "apiary/resp/diagnostics.hpp"
#include "apiary/resp/server.hpp"
#include "commands.hpp"

namespace apiary::resp {
namespace {

void subcommand_syntax_error(CommandContext& ctx, std::string_view command) {
  ctx.reply.error("unknown subcommand or wrong number of arguments for '" +
                  std::string(ctx.argv[1]) + "'. Try " + std::string(command) + " HELP.");
}

// ---- SLOWLOG ---------------------------------------------------------------------------

Outcome slowlog_get(CommandContext& ctx) {
  if (ctx.argv.size() > 3) {
    subcommand_syntax_error(ctx, "SLOWLOG");
    return Outcome::done();
  }
  std::int64_t count = 10;
  if (ctx.argv.size() == 3) {
    const auto n = to_int(ctx.argv[2]);
    if (!n || *n < -1) {
      ctx.reply.error("count should be greater than or equal to -1");
      return Outcome::done();
    }
    count = *n;
  }
  const auto& log = ctx.server.diagnostics().slowlog();
  const std::size_t n =
      count == -1 ? log.size() : std::min(log.size(), static_cast<std::size_t>(count));
  ctx.reply.array(n);
  for (std::size_t i = 0; i < n; ++i) {
    const SlowlogEntry& e = log[i];
    ctx.reply.array(6);
    ctx.reply.integer(static_cast<std::int64_t>(e.id));
    ctx.reply.integer(e.time);
    ctx.reply.integer(e.duration_us);
    ctx.reply.array(e.args.size());
    for (const auto& a : e.args) ctx.reply.bulk(a);
    ctx.reply.bulk(e.client);
    ctx.reply.bulk(e.client_name);
  }
  return Outcome::done();
}

Outcome slowlog_len(CommandContext& ctx) {
  ctx.reply.integer(static_cast<std::int64_t>(ctx.server.diagnostics().slowlog().size()));
  return Outcome::done();
}

Outcome slowlog_reset(CommandContext& ctx) {
  ctx.server.diagnostics().slowlog_reset();
  ctx.reply.ok();
  return Outcome::done();
}

Outcome slowlog_help(CommandContext& ctx) {
  reply_help(ctx.reply, "SLOWLOG",
             {"GET [<count>]",
              "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
              "    Entries are made of:",
              "    id, timestamp, time in microseconds, arguments array, client IP and port,",
              "    client name", "LEN", "    Return the length of the slowlog.", "RESET",
              "    Reset the slowlog."});
  return Outcome::done();
}

// ---- LATENCY ---------------------------------------------------------------------------

Outcome latency_latest(CommandContext& ctx) {
  const auto& events = ctx.server.diagnostics().latency_events();
  ctx.reply.array(events.size());
  for (const auto& [name, series] : events) {
    ctx.reply.array(4);
    ctx.reply.bulk(name);
    ctx.reply.integer(series.latest().time);
    ctx.reply.integer(series.latest().latency_ms);
    ctx.reply.integer(series.max_ms);
  }
  return Outcome::done();
}

Outcome latency_history(CommandContext& ctx) {
  const auto& events = ctx.server.diagnostics().latency_events();
  const auto it = events.find(ctx.argv[2]);
  if (it == events.end()) {
    ctx.reply.array(0);
    return Outcome::done();
  }
  std::vector<LatencySeries::Sample> samples;
  for (std::size_t j = 0; j < LatencySeries::kLength; ++j) {
    const auto& s = it->second.samples[(it->second.next + j) % LatencySeries::kLength];
    if (s.time != 0) samples.push_back(s);
  }
  ctx.reply.array(samples.size());
  for (const auto& s : samples) {
    ctx.reply.array(2);
    ctx.reply.integer(s.time);
    ctx.reply.integer(s.latency_ms);
  }
  return Outcome::done();
}

Outcome latency_reset(CommandContext& ctx) {
  Diagnostics& d = ctx.server.diagnostics();
  std::size_t resets = 0;
  if (ctx.argv.size() == 2) {
    resets = d.latency_reset(std::nullopt);
  } else {
    for (std::size_t i = 2; i < ctx.argv.size(); ++i) resets += d.latency_reset(ctx.argv[i]);
  }
  ctx.reply.integer(static_cast<std::int64_t>(resets));
  return Outcome::done();
}

Outcome latency_graph_command(CommandContext& ctx) {
  const auto& events = ctx.server.diagnostics().latency_events();
  const auto it = events.find(ctx.argv[2]);
  if (it == events.end()) {
    ctx.reply.error("No samples available for event '" + std::string(ctx.argv[2]) + "'");
    return Outcome::done();
  }
  ctx.reply.verbatim("txt", latency_graph(it->first, it->second, ctx.wall.ms / 1000));
  return Outcome::done();
}

// Redis's createLatencyReport for the events Apiary records (command, fast-command and any
// other a part of the node reports); the transparent-huge-pages check is not made.
std::string latency_report(Server& server, std::int64_t now) {
  const auto& events = server.diagnostics().latency_events();
  const ServerConfig& config = server.config();
  if (events.empty() && config.latency_monitor_threshold() == 0) {
    return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis "
           "instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in "
           "order to enable it. If we weren't in a deep space mission I'd suggest to take a look "
           "at https://redis.io/topics/latency-monitor.\n";
  }
  std::string report;
  int eventnum = 0, advices = 0;
  bool slowlog_enabled = false, slowlog_tuning = false, slowlog_inspect = false, scheduler = false,
       large_objects = false;
  for (const auto& [event, ts] : events) {
    if (++eventnum == 1) {
      report +=
          "Dave, I have observed latency spikes in this Redis instance. You don't mind "
          "talking about it, do you Dave?\n\n";
    }
    std::uint64_t samples = 0, sum = 0;
    std::uint32_t min = 0, max = 0;
    std::int64_t oldest = 0;
    for (const auto& s : ts.samples) {
      if (s.time == 0) continue;
      if (++samples == 1) {
        min = max = s.latency_ms;
      } else {
        min = std::min(min, s.latency_ms);
        max = std::max(max, s.latency_ms);
      }
      sum += s.latency_ms;
      if (oldest == 0 || s.time < oldest) oldest = s.time;
    }
    std::uint64_t avg = 0, mad = 0;
    std::int64_t period = 0;
    if (samples != 0) {
      avg = sum / samples;
      period = std::max<std::int64_t>(now - oldest, 1);
      std::uint64_t dev = 0;
      for (const auto& s : ts.samples) {
        if (s.time == 0) continue;
        const auto delta = static_cast<std::int64_t>(avg) - s.latency_ms;
        dev += static_cast<std::uint64_t>(delta < 0 ? -delta : delta);
      }
      mad = dev / samples;
    }
    char line[400];
    std::snprintf(line, sizeof line,
                  "%d. %s: %d latency spikes (average %lums, mean deviation %lums, period %.2f "
                  "sec). Worst all time event %lums.",
                  eventnum, event.c_str(), static_cast<int>(samples),
                  static_cast<unsigned long>(avg), static_cast<unsigned long>(mad),
                  samples != 0 ? static_cast<double>(period) / static_cast<double>(samples) : 0.0,
                  static_cast<unsigned long>(ts.max_ms));
    report += line;
    if (event == "command") {
      if (config.slowlog_log_slower_than() < 0) {
        slowlog_enabled = true;
        ++advices;
      } else if (config.slowlog_log_slower_than() / 1000 > config.latency_monitor_threshold()) {
        slowlog_tuning = true;
        ++advices;
      }
      slowlog_inspect = large_objects = true;
      advices += 2;
    } else if (event == "fast-command") {
      scheduler = true;
      ++advices;
    } else if (event == "expire-cycle") {
      large_objects = true;  // Redis's hz advice does not apply: the cycle runs at hz 10 and 500
      advices += 2;
    }
    report += '\n';
  }
  if (eventnum == 0 && advices == 0) {
    return report +
           "Dave, no latency spike was observed during the lifetime of this Redis instance, not "
           "in the slightest bit. I honestly think you ought to sit down calmly, take a stress "
           "pill, and think things over.\n";
  }
  if (advices == 0) {
    return report +
           "\nWhile there are latency events logged, I'm not able to suggest any easy fix. "
           "Please use the Redis community to get some help, providing this report in your help "
           "request.\n";
  }
  report += "\nI have a few advices for you:\n\n";
  const auto threshold_us = std::to_string(config.latency_monitor_threshold() * 1000);
  if (slowlog_enabled) {
    report +=
        "- There are latency issues with potentially slow commands you are using. Try to "
        "enable the Slow Log Redis feature using the command 'CONFIG SET "
        "slowlog-log-slower-than " +
        threshold_us +
        "'. If the Slow log is disabled Redis is not able to log slow commands execution "
        "for you.\n";
  }
  if (slowlog_tuning) {
    report +=
        "- Your current Slow Log configuration only logs events that are slower than your "
        "configured latency monitor threshold. Please use 'CONFIG SET "
        "slowlog-log-slower-than " +
        threshold_us + "'.\n";
  }
  if (slowlog_inspect) {
    report +=
        "- Check your Slow Log to understand what are the commands you are running which "
        "are too slow to execute. Please check https://redis.io/commands/slowlog for more "
        "information.\n";
  }
  if (scheduler) {
    report +=
        "- The system is slow to execute Redis code paths not containing system calls. This "
        "usually means the system does not provide Redis CPU time to run for long periods. You "
        "should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if "
        "you are running other software in the same system.\n  3) Check if you have a \"noisy "
        "neighbour\" problem.\n  4) Check with 'redis-cli --intrinsic-latency 100' what is the "
        "intrinsic latency in your system.\n  5) Check if the problem is allocator-related by "
        "recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create "
        "fragmentation problems.\n";
  }
  if (large_objects) {
    report +=
        "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a "
        "blocking operation. If you have very large objects that are often deleted, "
        "expired, or evicted, try to fragment those objects into multiple smaller "
        "objects.\n";
  }
  return report;
}

Outcome latency_doctor(CommandContext& ctx) {
  ctx.reply.verbatim("txt", latency_report(ctx.server, ctx.wall.ms / 1000));
  return Outcome::done();
}

// Samples of `h` below `bound_ns`, exactly at our bucket bounds (every power of two is
// one): the largest rank whose bucket ends below the bound, found through percentile_ns.
std::uint64_t samples_below(const LatencyHistogram& h, std::uint64_t bound_ns) {
  const std::uint64_t n = h.count();
  auto upper_of_rank = [&](std::uint64_t r) {  // (r - 0.5) / n rounds up to rank r exactly
    return h.percentile_ns(100.0 * (static_cast<double>(r) - 0.5) / static_cast<double>(n));
  };
  std::uint64_t lo = 0, hi = n;
  while (lo < hi) {
    const std::uint64_t mid = lo + (hi - lo + 1) / 2;
    if (upper_of_rank(mid) < bound_ns) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

// Redis's fillCommandCDF: {calls, histogram_usec: {bucket: cumulative count}}, the buckets at
// 1024 ns * 2^k shown as hdr_histogram's highest equivalent value in microseconds (1, 2, 4,
// 8, 16, 33, 66, 132, ...), only those where the count grows, up to 1 s (Redis's largest).
void reply_histogram(ReplyWriter& reply, const LatencyHistogram& h) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> rows;
  std::uint64_t previous = 0;
  for (int k = 0; k <= 20 && previous < h.count(); ++k) {
    const std::uint64_t bound = std::uint64_t{1} << (10 + k);
    const std::uint64_t cumulative = k == 20 ? h.count() : samples_below(h, bound);
    if (cumulative > previous) {
      rows.emplace_back((bound + (std::uint64_t{1} << (3 + k)) - 1) / 1000, cumulative);
    }
    previous = cumulative;
  }
  reply.map(2);
  reply.bulk("calls");
  reply.integer(static_cast<std::int64_t>(h.count()));
  reply.bulk("histogram_usec");
  reply.map(rows.size());
  for (const auto& [usec, count] : rows) {
    reply.integer(static_cast<std::int64_t>(usec));
    reply.integer(static_cast<std::int64_t>(count));
  }
}

Outcome latency_histogram(CommandContext& ctx) {
  const auto all = ctx.server.command_stats().sorted();
  std::vector<std::pair<std::string_view, const LatencyHistogram*>> chosen;
  auto add = [&](std::string_view name) {
    for (const auto& [n, stat] : all) {
      if (n == name && stat->latency && stat->latency->count() > 0) {
        chosen.emplace_back(n, stat->latency.get());
      }
    }
  };
  if (ctx.argv.size() == 2) {
    for (const auto& [n, stat] : all) add(n);
  } else {
    for (std::size_t i = 2; i < ctx.argv.size(); ++i) {
      // "client|list" names a subcommand, as Redis's lookupCommandBySds reads it.
      const std::string_view arg = ctx.argv[i];
      const auto bar = arg.find('|');
      const CommandSpec* spec = ctx.server.commands().find(arg.substr(0, bar));
      if (spec != nullptr && bar != std::string_view::npos) {
        spec = arg.find('|', bar + 1) == std::string_view::npos
                   ? CommandTable::find_subcommand(*spec, arg.substr(bar + 1))
                   : nullptr;
      }
      if (spec == nullptr) continue;  // unknown commands are skipped, as Redis
      add(spec->name);
      for (const auto& sub : spec->subcommands) add(sub.name);
    }
  }
  ctx.reply.map(chosen.size());
  for (const auto& [name, h] : chosen) {
    ctx.reply.bulk(name);
    reply_histogram(ctx.reply, *h);
  }
  return Outcome::done();
}

Outcome latency_help(CommandContext& ctx) {
  reply_help(ctx.reply, "LATENCY",
             {"DOCTOR", "    Return a human readable latency analysis report.", "GRAPH <event>",
              "    Return an ASCII latency graph for the <event> class.", "HISTORY <event>",
              "    Return time-latency samples for the <event> class.", "LATEST",
              "    Return the latest latency samples for all events.", "RESET [<event> ...]",
              "    Reset latency data of one or more <event> classes.",
              "    (default: reset all data for all event classes)", "HISTOGRAM [COMMAND ...]",
              "    Return a cumulative distribution of latencies in the format of a histogram "
              "for the specified command names.",
              "    If no commands are specified then all histograms are replied."});
  return Outcome::done();
}

// ---- MONITOR ---------------------------------------------------------------------------

Outcome monitor(CommandContext& ctx) {
  if (ctx.client.id() == kInternalClient || ctx.client.transaction().multi ||
      ctx.server.diagnostics().in_transaction(ctx.client.id())) {
    // Redis: a client that expects one reply per command (in MULTI, a script) cannot.
    ctx.reply.error("MONITOR isn't allowed for DENY BLOCKING client");
    return Outcome::done();
  }
  // Already monitoring: Redis ignores it, without a reply.
  if (ctx.server.diagnostics().add_monitor(ctx.client)) ctx.reply.ok();
  return Outcome::done();
}

}  // namespace

void register_diagnostics_commands(CommandTable& table) {
  constexpr std::uint32_t kAdm = kAdmin | kLoading | kStale;
  constexpr std::string_view kAdminAcl = "@admin @slow @dangerous";
  auto sub = [](CommandSpec& parent, const char* name, int arity, std::uint32_t flags,
                std::string_view acl, std::string_view summary, std::string_view since,
                std::string_view complexity, CommandHandler h) {
    parent.subcommands.push_back(
        make_spec({name, arity, flags, 0, 0, 0, acl, "", "server", summary, since, complexity, h}));
  };

  CommandSpec slowlog = make_spec({"slowlog", -2, 0, 0, 0, 0, "@slow", "", "server",
                                   "A container for slow log commands", "2.2.12",
                                   "Depends on subcommand.", container_command});
  sub(slowlog, "slowlog|get", -2, kAdm, kAdminAcl, "Get the slow log's entries", "2.2.12",
      "O(N) where N is the number of entries returned", slowlog_get);
  sub(slowlog, "slowlog|help", 2, kLoading | kStale, "@slow",
      "Show helpful text about the different subcommands", "6.2.0", "O(1)", slowlog_help);
  sub(slowlog, "slowlog|len", 2, kAdm, kAdminAcl, "Get the slow log's length", "2.2.12", "O(1)",
      slowlog_len);
  sub(slowlog, "slowlog|reset", 2, kAdm, kAdminAcl, "Clear all entries from the slow log", "2.2.12",
      "O(N) where N is the number of entries in the slowlog", slowlog_reset);
  table.add(std::move(slowlog));

  constexpr std::uint32_t kLat = kAdmin | kNoScript | kLoading | kStale;
  CommandSpec latency = make_spec({"latency", -2, 0, 0, 0, 0, "@slow", "", "server",
                                   "A container for latency diagnostics commands", "2.8.13",
                                   "Depends on subcommand.", container_command});
  sub(latency, "latency|doctor", 2, kLat, kAdminAcl,
      "Return a human readable latency analysis report.", "2.8.13", "O(1)", latency_doctor);
  sub(latency, "latency|graph", 3, kLat, kAdminAcl, "Return a latency graph for the event.",
      "2.8.13", "O(1)", latency_graph_command);
  sub(latency, "latency|help", 2, kLoading | kStale, "@slow",
      "Show helpful text about the different subcommands.", "2.8.13", "O(1)", latency_help);
  sub(latency, "latency|histogram", -2, kLat, kAdminAcl,
      "Return the cumulative distribution of latencies of a subset of commands or all.", "7.0.0",
      "O(N) where N is the number of commands with latency information being retrieved.",
      latency_histogram);
  sub(latency, "latency|history", 3, kLat, kAdminAcl,
      "Return timestamp-latency samples for the event.", "2.8.13", "O(1)", latency_history);
  sub(latency, "latency|latest", 2, kLat, kAdminAcl,
      "Return the latest latency samples for all events.", "2.8.13", "O(1)", latency_latest);
  sub(latency, "latency|reset", -2, kLat, kAdminAcl, "Reset latency data for one or more events.",
      "2.8.13", "O(1)", latency_reset);
  table.add(std::move(latency));

  table.add(make_spec({"monitor", 1, kAdmin | kNoScript | kLoading | kStale, 0, 0, 0, kAdminAcl, "",
                       "server", "Listen for all requests received by the server in real time",
                       "1.0.0", "", monitor}));
}

}  // namespace apiary::resp
