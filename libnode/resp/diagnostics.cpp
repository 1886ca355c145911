#include "apiary/resp/diagnostics.hpp"

#include <algorithm>
#include <cstdio>
#include <unordered_map>

#include "apiary/base/json.hpp"
#include "apiary/resp/command_table.hpp"
#include "apiary/resp/connection.hpp"
#include "apiary/resp/server.hpp"

namespace apiary::resp {
namespace {

constexpr std::size_t kSlowlogMaxArgs = 32;     // Redis's SLOWLOG_ENTRY_MAX_ARGC
constexpr std::size_t kSlowlogMaxString = 128;  // SLOWLOG_ENTRY_MAX_STRING
constexpr std::string_view kRedacted = "(redacted)";
constexpr std::uint32_t kNotMonitored = kSkipMonitor | kAdmin;

// EVAL, EVALSHA, FCALL and their _RO forms are flagged skip-monitor, yet Redis 7.0 shows them
// (the scripting engine feeds them itself, whether the script runs or not).
bool monitored(const CommandSpec& spec) {
  if ((spec.flags & kNotMonitored) == 0) return true;
  const std::string_view n = spec.name;
  return n == "eval" || n == "evalsha" || n == "eval_ro" || n == "evalsha_ro" || n == "fcall" ||
         n == "fcall_ro";
}

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// The arguments as the slow log and MONITOR show them: passwords hidden, as Redis 7.0's
// redactClientCommandArgument does for AUTH, HELLO ... AUTH and MIGRATE ... AUTH/AUTH2.
std::vector<std::string_view> shown_args(const CommandSpec& spec,
                                         std::span<const std::string_view> argv) {
  std::vector<std::string_view> out(argv.begin(), argv.end());
  auto redact = [&](std::size_t i) {
    if (i < out.size()) out[i] = kRedacted;
  };
  if (spec.name == "auth") {
    for (std::size_t i = 1; i < out.size(); ++i) redact(i);
  } else if (spec.name == "hello") {
    for (std::size_t i = 2; i < out.size(); ++i) {
      if (iequal(out[i], "auth") && i + 2 < out.size()) {
        redact(i + 1);
        redact(i + 2);
        i += 2;
      }
    }
  } else if (spec.name == "migrate") {
    for (std::size_t i = 6; i < out.size(); ++i) {
      if (iequal(out[i], "auth")) {
        redact(i + 1);
        ++i;
      } else if (iequal(out[i], "auth2")) {
        redact(i + 1);
        redact(i + 2);
        i += 2;
      } else if (iequal(out[i], "keys")) {
        break;
      }
    }
  }
  return out;
}

std::vector<std::string> slowlog_args(std::span<const std::string_view> argv) {
  const std::size_t n = std::min(argv.size(), kSlowlogMaxArgs);
  std::vector<std::string> out;
  out.reserve(n);
  for (std::size_t j = 0; j < n; ++j) {
    if (n != argv.size() && j == n - 1) {
      out.push_back("... (" + std::to_string(argv.size() - n + 1) + " more arguments)");
    } else if (argv[j].size() > kSlowlogMaxString) {
      out.emplace_back(argv[j].substr(0, kSlowlogMaxString));
      out.back() += "... (" + std::to_string(argv[j].size() - kSlowlogMaxString) + " more bytes)";
    } else {
      out.emplace_back(argv[j]);
    }
  }
  return out;
}


}  // namespace

void append_repr(std::string& out, std::string_view s) {
  out += '"';
  for (const char ch : s) {
    switch (ch) {
      case '\\':
      case '"':
        out += '\\';
        out += ch;
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      default:
        if (ch >= 0x20 && ch < 0x7f) {
          out += ch;
        } else {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(ch));
          out += buf;
        }
    }
  }
  out += '"';
}

// Redis's sparkline.c, as LATENCY GRAPH uses it: rows of "_o#" (and '|' below the top of a
// column) scaled between the samples' min and max, then each sample's label downwards.
std::string latency_graph(std::string_view event, const LatencySeries& series,
                          std::int64_t now_seconds) {
  struct Point {
    double value;
    std::string label;
  };
  std::vector<Point> points;
  std::uint32_t low = 0, high = 0;
  for (std::size_t j = 0; j < LatencySeries::kLength; ++j) {
    const auto& s = series.samples[(series.next + j) % LatencySeries::kLength];
    if (s.time == 0) continue;
    if (points.empty()) {
      low = high = s.latency_ms;
    } else {
      low = std::min(low, s.latency_ms);
      high = std::max(high, s.latency_ms);
    }
    const auto elapsed = static_cast<long long>(now_seconds - s.time);
    char label[32];
    if (elapsed < 60) {
      std::snprintf(label, sizeof label, "%llds", elapsed);
    } else if (elapsed < 3600) {
      std::snprintf(label, sizeof label, "%lldm", elapsed / 60);
    } else if (elapsed < 3600 * 24) {
      std::snprintf(label, sizeof label, "%lldh", elapsed / 3600);
    } else {
      std::snprintf(label, sizeof label, "%lldd", elapsed / (3600 * 24));
    }
    points.push_back({static_cast<double>(s.latency_ms), label});
  }
  char head[160];
  std::snprintf(head, sizeof head, " - high %lu ms, low %lu ms (all time high %lu ms)\n",
                static_cast<unsigned long>(high), static_cast<unsigned long>(low),
                static_cast<unsigned long>(series.max_ms));
  std::string out(event);
  out += head;
  constexpr std::size_t kColumns = 80;
  constexpr int kRows = 4;
  constexpr std::string_view kFill = "_o#";
  out.append(kColumns, '-');
  out += '\n';
  double seq_min = 0, seq_max = 0;  // as sparklineSequenceAddSample tracks them
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (i == 0) {
      seq_min = seq_max = points[i].value;
    } else if (points[i].value < seq_min) {
      seq_min = points[i].value;
    } else if (points[i].value > seq_max) {
      seq_max = points[i].value;
    }
  }
  const int steps = static_cast<int>(kFill.size()) * kRows;
  const double relmax = seq_max - seq_min == 0 ? 1 : seq_max - seq_min;
  for (std::size_t offset = 0; offset < points.size(); offset += kColumns) {
    const std::size_t len = std::min(kColumns, points.size() - offset);
    if (offset != 0) out += '\n';
    for (int row = 0;; ++row) {
      std::string chars(len, ' ');
      bool any = false;
      for (std::size_t j = 0; j < len; ++j) {
        const Point& p = points[offset + j];
        int step = static_cast<int>((p.value - seq_min) * steps / relmax);
        step = std::clamp(step, 0, steps - 1);
        if (row < kRows) {
          any = true;
          const int idx = step - (kRows - row - 1) * static_cast<int>(kFill.size());
          if (idx >= 0 && idx < static_cast<int>(kFill.size())) {
            chars[j] = kFill[static_cast<std::size_t>(idx)];
          } else if (idx >= static_cast<int>(kFill.size())) {
            chars[j] = '|';
          }
        } else if (row == kRows) {  // the blank line above the labels
          any = true;
          break;
        } else {
          const std::size_t at = static_cast<std::size_t>(row - kRows - 1);
          if (at < p.label.size()) {
            any = true;
            chars[j] = p.label[at];
          }
        }
      }
      if (!any) break;
      out += chars;
      out += '\n';
    }
  }
  return out;
}

struct Diagnostics::Impl {
  explicit Impl(Server& s) : server(s) {}
  Server& server;
  std::deque<SlowlogEntry> slowlog;  // newest first
  std::uint64_t next_slowlog_id = 0;
  std::map<std::string, LatencySeries, std::less<>> latency;
  std::vector<ClientId> monitors;
  // A script's "[0 lua]" lines that wait for the line of the command that runs it.
  struct LuaLines {
    std::string lines;
    std::int64_t first_us = 0;  // the first one's time: its command's line is stamped before
  };
  std::unordered_map<ClientId, LuaLines> lua_lines;
  // Clients whose EXEC is running here: its commands' lines are out (transaction_started).
  std::vector<ClientId> in_exec;
  // MONITOR's microseconds: the wall clock's millisecond refined by the monotonic clock.
  std::int64_t anchor_wall_us = 0;
  TimePoint anchor_mono{};
  std::int64_t last_us = 0;

  void log_slow(const CommandSpec& spec, std::span<const std::string_view> argv, Duration took,
                WallTime wall, std::string client, std::string name) {
    const std::int64_t max_len = server.config().slowlog_max_len();
    if (max_len <= 0) return;
    SlowlogEntry e;
    e.id = next_slowlog_id++;
    e.time = wall.ms / 1000;
    e.duration_us = std::chrono::duration_cast<std::chrono::microseconds>(took).count();
    e.args = slowlog_args(shown_args(spec, argv));
    e.client = std::move(client);
    e.client_name = std::move(name);
    slowlog.push_front(std::move(e));
    while (slowlog.size() > static_cast<std::size_t>(max_len)) slowlog.pop_back();
  }

  // Slow log first (a compare when nothing reaches the threshold), then the latency monitor.
  bool slow(const CommandSpec& spec, Duration took) const {
    const std::int64_t threshold = server.config().slowlog_log_slower_than();
    return threshold >= 0 && took >= std::chrono::microseconds(threshold) &&
           (spec.flags & kSkipSlowlog) == 0;
  }
  void latency_of_command(const CommandSpec& spec, Duration took, WallTime wall) {
    const std::int64_t threshold = server.config().latency_monitor_threshold();
    if (threshold == 0 || took < std::chrono::milliseconds(threshold)) return;
    add_latency((spec.flags & kFast) != 0 ? "fast-command" : "command",
                std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), wall);
  }

  void add_latency(std::string_view event, std::int64_t ms, WallTime wall) {
    auto it = latency.find(event);
    if (it == latency.end()) it = latency.emplace(std::string(event), LatencySeries{}).first;
    LatencySeries& s = it->second;
    const auto latency_ms = static_cast<std::uint32_t>(std::clamp<std::int64_t>(ms, 0, UINT32_MAX));
    s.max_ms = std::max(s.max_ms, latency_ms);
    const std::int64_t now = wall.ms / 1000;
    LatencySeries::Sample& prev =
        s.samples[(s.next + LatencySeries::kLength - 1) % LatencySeries::kLength];
    if (prev.time == now) {  // one sample per second: its worst
      prev.latency_ms = std::max(prev.latency_ms, latency_ms);
      return;
    }
    s.samples[s.next] = {now, latency_ms};
    s.next = (s.next + 1) % LatencySeries::kLength;
  }

  std::int64_t now_us(WallTime wall) {
    const std::int64_t wall_us = wall.ms * 1000;
    const TimePoint mono = server.clock_now(TimePoint{});
    if (mono == TimePoint{}) {  // no monotonic clock (the simulator): the wall clock's ms
      last_us = std::max(last_us, wall_us);
      return last_us;
    }
    std::int64_t us =
        anchor_wall_us +
        std::chrono::duration_cast<std::chrono::microseconds>(mono - anchor_mono).count();
    // The loop's wall clock is read once per batch: the monotonic one refines it, and the
    // wall clock takes over again when they drift apart (a clock step).
    if (anchor_wall_us == 0 || us < wall_us - 1000000 || us > wall_us + 1000000) {
      anchor_wall_us = wall_us;
      anchor_mono = mono;
      us = wall_us;
    }
    last_us = std::max(last_us, us);
    return last_us;
  }

  std::string monitor_line(WallTime wall, std::string_view source,
                           std::span<const std::string_view> args, std::int64_t at_us = 0) {
    const std::int64_t us = at_us != 0 ? at_us : now_us(wall);
    char head[48];
    std::snprintf(head, sizeof head, "+%lld.%06lld [0 ", static_cast<long long>(us / 1000000),
                  static_cast<long long>(us % 1000000));
    std::string line = head;
    line.append(source).append("] ");
    for (std::size_t i = 0; i < args.size(); ++i) {
      if (i != 0) line += ' ';
      append_repr(line, args[i]);
    }
    line += "\r\n";
    return line;
  }

  void feed(std::string_view line) {
    std::erase_if(monitors, [&](ClientId id) {
      Connection* c = server.find_client(id);
      if (c == nullptr) return true;
      c->push(line);
      return false;
    });
  }
};

Diagnostics::Diagnostics(Server& server) : impl_(std::make_unique<Impl>(server)) {}
Diagnostics::~Diagnostics() = default;

void Diagnostics::command_ran(Connection& client, const CommandSpec& spec,
                              std::span<const std::string_view> argv, Duration took,
                              WallTime wall) {
  Impl& d = *impl_;
  if (d.slow(spec, took)) {
    d.log_slow(spec, argv, took, wall, client.address().peer, client.name());
  }
  d.latency_of_command(spec, took, wall);
  if (!d.in_exec.empty()) std::erase(d.in_exec, client.id());
  if (d.monitors.empty()) return;
  // RESET ends MONITOR (Redis's clearClientConnectionState) before the monitors are fed.
  if (spec.name == "reset") std::erase(d.monitors, client.id());
  const auto lua = d.lua_lines.find(client.id());
  if (monitored(spec)) {
    // Redis feeds a script's command before it runs: before its "[0 lua]" lines.
    const std::int64_t at = lua != d.lua_lines.end() ? lua->second.first_us - 1 : 0;
    d.feed(d.monitor_line(wall, client.address().peer, shown_args(spec, argv), at));
  }
  if (lua != d.lua_lines.end()) {
    d.feed(lua->second.lines);
    d.lua_lines.erase(lua);
  }
}

void Diagnostics::peer_command_ran(const CommandSpec& spec, std::span<const std::string_view> argv,
                                   Duration took, WallTime wall, std::string_view peer) {
  Impl& d = *impl_;
  if (d.slow(spec, took)) d.log_slow(spec, argv, took, wall, std::string(peer), {});
  d.latency_of_command(spec, took, wall);
}

void Diagnostics::nested_command_ran(Connection& client, const CommandSpec& spec,
                                     std::span<const std::string_view> argv, Duration took,
                                     WallTime wall, Nested how) {
  Impl& d = *impl_;
  const bool script = how == Nested::script;
  if (d.slow(spec, took)) {
    d.log_slow(spec, argv, took, wall, script ? "?:0" : client.address().peer,
               script ? std::string() : client.name());
  }
  if (!script || d.monitors.empty() || client.id() == kInternalClient ||
      (spec.flags & kNotMonitored) != 0) {
    return;
  }
  std::string line = d.monitor_line(wall, "lua", shown_args(spec, argv));
  // Run while its command runs: after that command's line (command_ran). Run later, when
  // the command waited for other members first, or in a transaction: its line went out.
  if (client.waiting() ||
      std::find(d.in_exec.begin(), d.in_exec.end(), client.id()) != d.in_exec.end()) {
    d.feed(line);
  } else {
    auto& pending = d.lua_lines[client.id()];
    if (pending.lines.empty()) pending.first_us = d.last_us;
    pending.lines += line;
  }
}

void Diagnostics::transaction_started(Connection& client,
                                      std::span<const std::vector<std::string>> queued,
                                      WallTime wall) {
  Impl& d = *impl_;
  if (client.id() == kInternalClient) return;
  d.in_exec.push_back(client.id());
  if (d.monitors.empty()) return;
  const CommandTable& table = d.server.commands();
  for (const auto& command : queued) {
    if (command.empty()) continue;
    const std::vector<std::string_view> argv(command.begin(), command.end());
    const CommandSpec* spec = table.find(argv[0]);
    if (spec != nullptr && !spec->subcommands.empty() && argv.size() >= 2) {
      if (const CommandSpec* sub = CommandTable::find_subcommand(*spec, argv[1])) spec = sub;
    }
    if (spec != nullptr && !monitored(*spec)) continue;
    const auto shown = spec != nullptr ? shown_args(*spec, argv) : argv;
    d.feed(d.monitor_line(wall, client.address().peer, shown));
  }
}

bool Diagnostics::in_transaction(ClientId id) const {
  const auto& e = impl_->in_exec;
  return std::find(e.begin(), e.end(), id) != e.end();
}

void Diagnostics::client_closed(ClientId id) {
  std::erase(impl_->monitors, id);
  std::erase(impl_->in_exec, id);
  impl_->lua_lines.erase(id);
}

const std::deque<SlowlogEntry>& Diagnostics::slowlog() const { return impl_->slowlog; }

void Diagnostics::slowlog_reset() { impl_->slowlog.clear(); }

std::string Diagnostics::slowlog_json(std::size_t count) const {
  std::string out = "[";
  std::size_t n = 0;
  for (const SlowlogEntry& e : impl_->slowlog) {
    if (n++ == count) break;
    if (n > 1) out += ',';
    out += "{\"id\":" + std::to_string(e.id) + ",\"time\":" + std::to_string(e.time) +
           ",\"duration_us\":" + std::to_string(e.duration_us) + ",\"args\":[";
    for (std::size_t i = 0; i < e.args.size(); ++i) {
      if (i != 0) out += ',';
      append_json_string(out, e.args[i]);
    }
    out += "],\"client\":";
    append_json_string(out, e.client);
    out += ",\"client_name\":";
    append_json_string(out, e.client_name);
    out += '}';
  }
  out += ']';
  return out;
}

void Diagnostics::latency_sample(std::string_view event, Duration latency, WallTime wall) {
  const std::int64_t threshold = impl_->server.config().latency_monitor_threshold();
  if (threshold == 0 || latency < std::chrono::milliseconds(threshold)) return;
  impl_->add_latency(event, std::chrono::duration_cast<std::chrono::milliseconds>(latency).count(),
                     wall);
}

const std::map<std::string, LatencySeries, std::less<>>& Diagnostics::latency_events() const {
  return impl_->latency;
}

std::size_t Diagnostics::latency_reset(std::optional<std::string_view> event) {
  return std::erase_if(impl_->latency,
                       [&](const auto& entry) { return !event || iequal(entry.first, *event); });
}

bool Diagnostics::add_monitor(Connection& client) {
  auto& m = impl_->monitors;
  if (std::find(m.begin(), m.end(), client.id()) != m.end()) return false;
  m.push_back(client.id());
  return true;
}

bool Diagnostics::is_monitor(ClientId id) const {
  const auto& m = impl_->monitors;
  return std::find(m.begin(), m.end(), id) != m.end();
}

}  // namespace apiary::resp
