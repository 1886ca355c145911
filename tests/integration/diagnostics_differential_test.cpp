// Differential test of issue 22's introspection commands: one apiaryd and one redis-server
// 7.0, both started here, get the same lines (RESP2, then RESP3 after HELLO 3) and must
// answer alike once what depends on time and on the connection is normalised:
//   SLOWLOG      with slowlog-log-slower-than 0, every command logs: ids, unix times,
//                durations and client ports are replaced, the rest (argument truncation,
//                redaction, client names, count errors, HELP) compared byte for byte;
//   LATENCY      errors, HELP, empty LATEST/HISTORY, RESET counts, DOCTOR with monitoring
//                off and with no spike; one spike (DEBUG SLEEP on Redis, a busy script on
//                Apiary) seen alike by LATEST, HISTORY, GRAPH and DOCTOR with digits
//                replaced; HISTOGRAM's shape;
//   MONITOR      a second connection's commands (a transaction, a script with its "[0 lua]"
//                lines, escaping, AUTH redacted, admin commands hidden) with timestamps and
//                ports replaced; CLIENT LIST's O flag;
//   MEMORY       STATS's field names, DOCTOR, PURGE, HELP;
//   INFO         commandstats, errorstats and latencystats lines after a fixed sequence:
//                names, fields and the counts of calls, failed and rejected calls (times
//                replaced; the lines compared as sets, as Redis lists them in hash order).
// Differences by design are listed where they are made.
#include <catch2/catch.hpp>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "integration/support/differential.hpp"

using namespace apiary::test;

namespace {

constexpr const char* kAllocator =
    "Apiary's library leaves the allocator to its host: it answers as a Redis built without "
    "jemalloc";

std::string replace(std::string s, const char* pattern, const char* with) {
  return std::regex_replace(s, std::regex(pattern), with);
}

// SLOWLOG GET: ids, times and durations (the only integers in it), and client addresses.
std::string normal_slowlog(std::string s) {
  s = replace(s, R"(\$\d+\r\n127\.0\.0\.1:\d+\r\n)", "$#\r\n<addr>\r\n");
  return replace(s, R"(:\d+\r\n)", ":#\r\n");
}

std::string digits_out(std::string s) { return replace(s, R"(\d+)", "#"); }

// Redis adds advice about transparent huge pages when its process has some; Apiary does not
// look (docs/observability.md).
std::string without_thp(std::string s) {
  const auto at = s.find("- I detected a non zero amount of anonymous huge pages");
  if (at == std::string::npos) return s;
  const auto end = s.find('\n', at);
  return s.erase(at, end - at + 1);
}

void send_both(RespClient& a, RespClient& r, const std::vector<std::string>& argv) {
  INFO("setup: " << argv.front());
  CHECK(a.command(argv) == r.command(argv));
}

struct Pair {
  Daemon apiary{"diag", {}};
  RedisServer redis{{"--enable-debug-command", "yes"}};
};

Pair& servers() {
  static Pair p;
  return p;
}

}  // namespace

TEST_CASE("diagnostics: SLOWLOG answers as Redis 7.0", "[integration][diagnostics]") {
  Pair& s = servers();
  for (int protocol : {2, 3}) {
    RespClient a(s.apiary.redis_port());
    RespClient r(s.redis.port());
    begin_pair(a, r, protocol);
    std::string args40 = "RPUSH list";
    for (int i = 0; i < 40; ++i) args40 += " a" + std::to_string(i);
    struct Line {
      std::string command;
      bool normalise = false;
    };
    const std::vector<Line> sequence = {
        {"CONFIG SET slowlog-max-len 128"},
        {"CONFIG SET slowlog-log-slower-than 0"},
        {"SLOWLOG RESET"},
        {"SLOWLOG LEN"},
        {"SLOWLOG GET", true},
        {"CLIENT SETNAME differ"},
        {"SET k v"},
        {"GET k"},
        {"SET big " + std::string(200, 'x')},
        {args40},
        {"ECHO \"two words\""},
        {"AUTH secret"},
        {"AUTH someone secret"},
        {"SLOWLOG LEN"},
        {"SLOWLOG GET", true},
        {"SLOWLOG GET 2", true},
        {"SLOWLOG GET 0", true},
        {"SLOWLOG GET -1", true},
        {"SLOWLOG GET -2"},
        {"SLOWLOG GET x"},
        {"SLOWLOG GET 99999999999999999999"},
        {"SLOWLOG GET 1 2"},
        {"SLOWLOG LEN x"},
        {"SLOWLOG RESET x"},
        {"SLOWLOG"},
        {"SLOWLOG FOO"},
        {"SLOWLOG HELP"},
        {"SLOWLOG HELP x"},
        {"slowlog help"},
        // The length limit trims at the next entry, as Redis's.
        {"CONFIG SET slowlog-max-len 2"},
        {"SLOWLOG LEN"},
        {"PING"},
        {"SLOWLOG LEN"},
        {"SLOWLOG GET", true},
        {"CONFIG SET slowlog-log-slower-than -1"},
        {"PING"},
        {"SLOWLOG GET", true},
        {"MULTI"},
        {"SLOWLOG LEN"},
        {"EXEC", true},
        // A transaction's commands are logged, EXEC itself is not (skip-slowlog).
        {"CONFIG SET slowlog-log-slower-than 0"},
        {"SLOWLOG RESET"},
        {"MULTI"},
        {"SET t 1"},
        {"INCR t"},
        {"EXEC"},
        {"SLOWLOG GET", true},
        {"CONFIG SET slowlog-log-slower-than 10000"},
        {"CONFIG SET slowlog-max-len 128"},
        {"SLOWLOG RESET"},
    };
    for (const Line& line : sequence) {
      const auto argv = words(line.command);
      std::string from_apiary = a.command(argv);
      std::string from_redis = r.command(argv);
      if (line.normalise) {
        from_apiary = normal_slowlog(from_apiary);
        from_redis = normal_slowlog(from_redis);
      }
      INFO("RESP" << protocol << ": " << line.command.substr(0, 60));
      INFO("apiary: " << from_apiary);
      INFO("redis:  " << from_redis);
      CHECK(from_apiary == from_redis);
    }
  }
}

TEST_CASE("diagnostics: LATENCY answers as Redis 7.0", "[integration][diagnostics]") {
  Pair& s = servers();
  for (int protocol : {2, 3}) {
    const std::vector<DiffLine> lines = {
        {"LATENCY RESET"},
        {"LATENCY LATEST"},
        {"LATENCY HISTORY command"},
        {"LATENCY HISTORY nosuchevent"},
        {"LATENCY RESET command fast-command"},
        {"LATENCY GRAPH command"},
        {"LATENCY DOCTOR"},
        {"LATENCY HELP"},
        {"latency help"},
        {"LATENCY"},
        {"LATENCY FOO"},
        {"LATENCY LATEST x"},
        {"LATENCY HISTORY"},
        {"LATENCY HISTORY a b"},
        {"LATENCY GRAPH"},
        {"LATENCY DOCTOR x"},
        {"LATENCY HISTOGRAM nosuchcommand"},
        // Monitoring on, nothing above a threshold no command here reaches.
        {"CONFIG SET latency-monitor-threshold 100000"},
        {"LATENCY DOCTOR"},
        {"LATENCY LATEST"},
        {"CONFIG SET latency-monitor-threshold 0"},
        {"LATENCY DOCTOR"},
        {"MEMORY DOCTOR"},
        {"MEMORY PURGE"},
        // MONITOR in a transaction is refused, as for Redis's DENY BLOCKING clients.
        {"MULTI"},
        {"MONITOR"},
        {"EXEC"},
        {"MEMORY HELP"},
        {"MEMORY STATS x"},
        {"MEMORY DOCTOR x"},
        {"MEMORY MALLOC-STATS", "$45\r\nStats not supported for the current allocator\r\n", nullptr,
         kAllocator},
    };
    compare_exact(s.apiary, s.redis, protocol, lines);
  }
}

TEST_CASE("diagnostics: a latency spike shows alike in LATEST, HISTORY, GRAPH and DOCTOR",
          "[integration][diagnostics]") {
  Pair& s = servers();
  RespClient a(s.apiary.redis_port());
  RespClient r(s.redis.port());
  begin_pair(a, r, 2);
  send_both(a, r, {"CONFIG", "SET", "latency-monitor-threshold", "1"});
  // Redis sleeps 20 ms in DEBUG SLEEP; Apiary has no DEBUG, a script that loops does the same
  // (tried again until it took a millisecond, which it does on any machine at the first).
  CHECK(r.command({"LATENCY", "RESET"}).rfind(':', 0) == 0);
  CHECK(r.command({"DEBUG", "SLEEP", "0.02"}) == "+OK\r\n");
  std::string latest_apiary;
  for (int attempt = 0; attempt < 20 && latest_apiary.find("command") == std::string::npos;
       ++attempt) {
    CHECK(a.command({"LATENCY", "RESET"}).rfind(':', 0) == 0);
    CHECK(a.command({"EVAL", "local i = 0 while i < 5000000 do i = i + 1 end return 1", "0"}) ==
          ":1\r\n");
    latest_apiary = a.command({"LATENCY", "LATEST"});
  }
  const std::string latest_redis = r.command({"LATENCY", "LATEST"});
  CHECK(digits_out(latest_apiary) == digits_out(latest_redis));
  for (const std::vector<std::string>& argv :
       std::vector<std::vector<std::string>>{{"LATENCY", "HISTORY", "command"},
                                             {"LATENCY", "GRAPH", "command"},
                                             {"LATENCY", "GRAPH", "COMMAND"},
                                             {"LATENCY", "DOCTOR"}}) {
    const std::string from_apiary = digits_out(a.command(argv));
    const std::string from_redis = digits_out(without_thp(r.command(argv)));
    INFO(argv[1]);
    INFO("apiary: " << from_apiary);
    INFO("redis:  " << from_redis);
    CHECK(from_apiary == from_redis);
  }
  send_both(a, r, {"LATENCY", "RESET", "COMMAND"});
  send_both(a, r, {"CONFIG", "SET", "latency-monitor-threshold", "0"});
  send_both(a, r, {"LATENCY", "LATEST"});
}

TEST_CASE("diagnostics: LATENCY HISTOGRAM has Redis's shape", "[integration][diagnostics]") {
  Pair& s = servers();
  for (int protocol : {2, 3}) {
    RespClient a(s.apiary.redis_port());
    RespClient r(s.redis.port());
    begin_pair(a, r, protocol);
    send_both(a, r, {"CONFIG", "RESETSTAT"});
    for (int i = 0; i < 3; ++i) send_both(a, r, {"SET", "h", "v"});
    send_both(a, r, {"CLIENT", "GETNAME"});
    // Buckets and counts per bucket depend on the times: everything up to the buckets.
    for (const std::vector<std::string>& argv :
         std::vector<std::vector<std::string>>{{"LATENCY", "HISTOGRAM", "set"},
                                               {"LATENCY", "HISTOGRAM", "SET", "nosuch"},
                                               {"LATENCY", "HISTOGRAM", "client"},
                                               {"LATENCY", "HISTOGRAM", "client|getname"}}) {
      const std::string from_apiary = a.command(argv);
      const std::string from_redis = r.command(argv);
      const auto cut = from_redis.find("histogram_usec\r\n");
      REQUIRE(cut != std::string::npos);
      INFO("RESP" << protocol << " " << argv[2]);
      CHECK(from_apiary.substr(0, cut + 17) == from_redis.substr(0, cut + 17));
    }
  }
}

TEST_CASE("diagnostics: MONITOR shows another client's commands as Redis 7.0",
          "[integration][diagnostics]") {
  Pair& s = servers();
  const std::vector<std::vector<std::string>> sequence = {
      {"SET", "k", "a b"},
      {"GET", "k"},
      {"SET", "bin", std::string("q\"\\\n\r\t\x01\x7f\xff", 9)},
      {"MULTI"},
      {"SET", "n", "1"},
      {"INCR", "n"},
      {"EXEC"},
      {"MULTI"},
      {"GET", "n"},
      {"EVAL", "return redis.call('incr', KEYS[1])", "1", "n"},
      {"EXEC"},
      {"EVAL", "redis.call('set', KEYS[1], 'x') return redis.call('get', KEYS[1])", "1", "k"},
      {"EVALSHA", "0123456789012345678901234567890123456789", "0"},
      {"AUTH", "secret"},
      {"CONFIG", "GET", "maxmemory"},  // admin: not shown
      {"CLIENT", "SETNAME", "watched"},
      {"PING"},
      {"ECHO", "end-of-test"},
  };
  for (int protocol : {2, 3}) {
    auto watch = [&](const std::string& port) {
      RespClient monitor(port);
      RespClient client(port);
      if (protocol == 3) REQUIRE(monitor.command({"HELLO", "3"}).rfind("%7\r\n", 0) == 0);
      CHECK(monitor.command({"MONITOR"}) == "+OK\r\n");
      const std::string list = client.command({"CLIENT", "LIST"});
      CHECK(std::regex_search(list, std::regex(" flags=O ")));
      for (const auto& argv : sequence) (void)client.command(argv);
      std::vector<std::string> lines;
      while (lines.size() < 40) {
        std::string line = monitor.reply();
        line = replace(line, R"(^\+\d+\.\d{6} \[0 127\.0\.0\.1:\d+\])", "+<time> [0 <addr>]");
        line = replace(line, R"(^\+\d+\.\d{6} \[0 lua\])", "+<time> [0 lua]");
        lines.push_back(line);
        if (line.find("end-of-test") != std::string::npos ||
            line.find("<timeout>") != std::string::npos)
          break;
      }
      return lines;
    };
    const auto from_apiary = watch(s.apiary.redis_port());
    const auto from_redis = watch(s.redis.port());
    INFO("RESP" << protocol);
    CHECK(from_apiary == from_redis);
  }
}

TEST_CASE("diagnostics: MEMORY STATS has Redis 7.0's fields", "[integration][diagnostics]") {
  Pair& s = servers();
  for (int protocol : {2, 3}) {
    RespClient a(s.apiary.redis_port());
    RespClient r(s.redis.port());
    begin_pair(a, r, protocol);
    send_both(a, r, {"SET", "m", "v"});
    auto names = [](const std::string& reply) {
      std::vector<std::string> out;  // the bulk strings with a letter: the field names
      const std::regex bulk(R"(\$\d+\r\n([^\r]*[a-z][^\r]*)\r\n)");
      for (auto it = std::sregex_iterator(reply.begin(), reply.end(), bulk);
           it != std::sregex_iterator(); ++it) {
        out.push_back((*it)[1]);
      }
      return out;
    };
    const std::string from_apiary = a.command({"MEMORY", "STATS"});
    const std::string from_redis = r.command({"MEMORY", "STATS"});
    INFO("apiary: " << from_apiary);
    CHECK(names(from_apiary) == names(from_redis));
    CHECK(from_apiary.substr(0, 4) == from_redis.substr(0, 4));  // map (RESP3) / array sizes
  }
}

TEST_CASE(
    "diagnostics: INFO commandstats, errorstats and latencystats list the same lines as Redis",
    "[integration][diagnostics]") {
  Pair& s = servers();
  RespClient a(s.apiary.redis_port());
  RespClient r(s.redis.port());
  begin_pair(a, r, 2);
  send_both(a, r, {"CONFIG", "RESETSTAT"});
  const std::vector<std::vector<std::string>> sequence = {
      {"SET", "a", "1"},
      {"GET", "a"},
      {"GET", "a"},
      {"INCR", "a"},
      {"LPUSH", "a", "x"},
      {"GET"},
      {"NOSUCHCOMMAND"},
      {"SET", "s", "x"},
      {"INCR", "s"},
      {"EXPIRE", "a", "x"},
      {"CLIENT", "GETNAME"},
      {"CLIENT", "NOSUCH"},
      {"HSET", "a", "f", "v"},
      {"PING"},
  };
  for (const auto& argv : sequence) send_both(a, r, argv);
  auto lines = [](std::string reply) {
    reply = reply.substr(reply.find("\r\n") + 2);
    std::set<std::string> out;
    std::size_t pos = 0;
    while (pos < reply.size()) {
      const auto eol = reply.find("\r\n", pos);
      if (eol == std::string::npos) break;
      std::string line = reply.substr(pos, eol - pos);
      pos = eol + 2;
      if (line.empty() || line[0] == '#') continue;
      line = replace(line, R"(usec=\d+)", "usec=#");
      line = replace(line, R"(usec_per_call=[\d.]+)", "usec_per_call=#");
      if (line.starts_with("latency_percentiles_usec_")) {
        line = replace(line, R"((p[\d.]+)=[\d.]+)", "$1=#");
      }
      out.insert(line);
    }
    return out;
  };
  for (const char* section : {"commandstats", "errorstats", "latencystats"}) {
    const auto from_apiary = lines(a.command({"INFO", section}));
    const auto from_redis = lines(r.command({"INFO", section}));
    INFO(section);
    CHECK(from_apiary == from_redis);
  }
}
