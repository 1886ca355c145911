#include <cmath>
#include <initializer_list>
#include <limits>

#include "apiary/data/counter.hpp"

#include "apiary/resp/request_parser.hpp"
#include "commands.hpp"

namespace apiary::resp {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string to_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return out;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

// Redis parses a scan cursor with strtoul: an optional sign ("-1" wraps around), digits only,
// no overflow; an empty string is cursor 0.
bool parse_scan_cursor(std::string_view s, std::uint64_t& out) {
  std::size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  if (i == s.size()) {
    out = 0;
    return s.empty();
  }
  std::uint64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    const auto d = static_cast<std::uint64_t>(s[i] - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return false;
    v = v * 10 + d;
  }
  out = negative ? ~v + 1 : v;
  return true;
}

std::optional<std::int64_t> to_int(std::string_view s) {
  std::int64_t v = 0;
  if (!parse_int64(s, v)) return std::nullopt;
  return v;
}

bool parse_block_timeout(ReplyWriter& reply, std::string_view arg, Duration& out) {
  long double seconds = 0;
  if (!data::parse_long_double(arg, seconds)) {
    // string2ld takes infinities, which the conversion below turns negative.
    std::string_view s = arg;
    if (!s.empty() && (s.front() == '-' || s.front() == '+')) s.remove_prefix(1);
    if (!iequals(s, "inf") && !iequals(s, "infinity")) {
      reply.error("timeout is not a float or out of range");
      return false;
    }
    seconds = std::numeric_limits<long double>::infinity();
  }
  // Redis 7.0 rounds seconds * 1000 up to a long long: a positive fraction of a millisecond
  // is one, a negative one is zero (no timeout), and a value the conversion cannot hold comes
  // out as LLONG_MIN on x86-64, which it then calls negative.
  const long double ms = std::ceil(seconds * 1000.0L);
  constexpr long double kTwo63 = 9223372036854775808.0L;
  if (!(ms < kTwo63) || ms < 0) {
    reply.error("timeout is negative");
    return false;
  }
  // Beyond about 292 years the core clock would overflow: a timeout that long never passes.
  constexpr long double kLongest = 100.0L * 365 * 24 * 3600 * 1000;
  out = std::chrono::milliseconds(static_cast<std::int64_t>(std::min(ms, kLongest)));
  return true;
}

void reply_help(ReplyWriter& reply, std::string_view command,
                std::initializer_list<std::string_view> lines) {
  reply.array(lines.size() + 3);
  reply.simple(to_upper(command) + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
  for (std::string_view l : lines) reply.simple(l);
  reply.simple("HELP");
  reply.simple("    Prints this help.");  // sic: Redis 7.0's text
}

CommandSpec make_spec(const SpecInit& init) {
  CommandSpec s;
  s.name = init.name;
  s.arity = init.arity;
  s.flags = init.flags;
  s.first_key = init.first_key;
  s.last_key = init.last_key;
  s.key_step = init.key_step;
  s.acl = init.acl;
  s.key_flags = init.key_flags;
  s.group = init.group;
  s.summary = init.summary;
  s.since = init.since;
  s.complexity = init.complexity;
  s.handler = init.handler;
  s.numkeys_index = init.numkeys_index;
  return s;
}

Outcome container_command(CommandContext& ctx) {
  ctx.reply.error("unknown subcommand");
  return Outcome::done();
}

}  // namespace apiary::resp
