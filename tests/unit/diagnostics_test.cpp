// The node's Diagnostics through connections with virtual time: slow log entries (times, cuts,
// length limit), MONITOR lines (format, escaping, who sees what, RESET), latency events from a
// clock that makes every command take 5 ms, and LATENCY GRAPH's sparkline for several samples
// (computed by hand from Redis's sparkline.c rules). What needs a redis-server to compare with
// is in tests/integration/diagnostics_differential_test.cpp.
#include "apiary/resp/diagnostics.hpp"

#include <catch2/catch.hpp>

#include "resp_test_support.hpp"

using namespace std::chrono_literals;
using apiary::resp::LatencySeries;

namespace {

// Every reading is 5 ms after the previous one: a command's two readings are 5 ms apart.
apiary::TimePoint stepping_clock() {
  static apiary::TimePoint t{};
  t += 5ms;
  return t;
}

}  // namespace

TEST_CASE("diagnostics: slow log entries: unix time, client, cuts and the length limit",
          "[resp][diagnostics]") {
  resp_test::Harness h;
  CHECK(h.send({"CONFIG", "SET", "slowlog-log-slower-than", "0"}) == "+OK\r\n");
  CHECK(h.send({"SLOWLOG", "RESET"}) == "+OK\r\n");
  CHECK(h.send({"SET", "k", "v"}) == "+OK\r\n");
  // id 2: CONFIG SET was logged too (id 0), then SLOWLOG RESET (its own entry survives it).
  CHECK(h.send({"SLOWLOG", "GET", "1"}) ==
        "*1\r\n*6\r\n:2\r\n:1700000000\r\n:0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
        "$15\r\n127.0.0.1:40000\r\n$0\r\n\r\n");
  const std::string big(130, 'x');
  CHECK(h.send({"ECHO", big}).size() > 130);
  CHECK(h.send({"SLOWLOG", "GET", "1"})
            .find("$146\r\n" + std::string(128, 'x') + "... (2 more bytes)\r\n") !=
        std::string::npos);
  CHECK(h.send({"AUTH", "default", "pw"}).size() > 0);
  CHECK(h.send({"SLOWLOG", "GET", "1"})
            .find("$4\r\nAUTH\r\n$10\r\n(redacted)\r\n$10\r\n(redacted)") != std::string::npos);
  CHECK(h.send({"CONFIG", "SET", "slowlog-max-len", "2"}) == "+OK\r\n");
  CHECK(h.send({"PING"}) == "+PONG\r\n");
  CHECK(h.send({"SLOWLOG", "LEN"}) == ":2\r\n");
  CHECK(h.server.diagnostics().slowlog_json(2).find("\"args\":[\"PING\"]") != std::string::npos);
  CHECK(h.send({"CONFIG", "SET", "slowlog-log-slower-than", "-1"}) == "+OK\r\n");
  CHECK(h.send({"SLOWLOG", "RESET"}) == "+OK\r\n");
  CHECK(h.send({"PING"}) == "+PONG\r\n");
  CHECK(h.send({"SLOWLOG", "LEN"}) == ":0\r\n");
  CHECK(h.server.diagnostics().slowlog_json(10) == "[]");
}

TEST_CASE("diagnostics: MONITOR lines for another client's commands", "[resp][diagnostics]") {
  resp_test::Harness h;
  h.connect("127.0.0.1:40001");
  CHECK(h.send({"MONITOR"}, 1) == "+OK\r\n");
  CHECK(h.send({"CLIENT", "LIST"}).find(" flags=O ") != std::string::npos);
  CHECK(h.send({"CLIENT", "INFO"}, 1).find(" flags=O ") != std::string::npos);
  CHECK(h.send({"SET", "k", std::string("a \"b\"\n\x01\xff", 8)}) == "+OK\r\n");
  CHECK(h.drain(1) ==
        "+1700000000.000000 [0 127.0.0.1:40000] \"SET\" \"k\" \"a \\\"b\\\"\\n\\x01\\xff\"\r\n");
  CHECK(h.send({"CONFIG", "GET", "maxmemory"}).size() > 0);  // admin: not shown
  CHECK(h.send({"AUTH", "secret"}).size() > 0);
  CHECK(h.drain(1) == "+1700000000.000000 [0 127.0.0.1:40000] \"AUTH\" \"(redacted)\"\r\n");
  CHECK(h.send({"MULTI"}) == "+OK\r\n");
  CHECK(h.send({"INCR", "n"}) == "+QUEUED\r\n");
  CHECK(h.drain(1) == "+1700000000.000000 [0 127.0.0.1:40000] \"MULTI\"\r\n");  // not queued ones
  CHECK(h.send({"EXEC"}) == "*1\r\n:1\r\n");
  CHECK(h.drain(1) ==
        "+1700000000.000000 [0 127.0.0.1:40000] \"INCR\" \"n\"\r\n"
        "+1700000000.000000 [0 127.0.0.1:40000] \"EXEC\"\r\n");
  // A second MONITOR answers nothing; RESET ends it.
  CHECK(h.send({"MONITOR"}, 1).empty());
  CHECK(h.send({"RESET"}, 1) == "+RESET\r\n");
  CHECK(h.send({"PING"}) == "+PONG\r\n");
  CHECK(h.drain(1).empty());
  CHECK(h.send({"CLIENT", "INFO"}, 1).find(" flags=N ") != std::string::npos);
}

TEST_CASE("diagnostics: latency events: one sample per second per event, the worst",
          "[resp][diagnostics]") {
  resp_test::Harness h;
  h.server.set_clock(stepping_clock);
  CHECK(h.send({"LATENCY", "LATEST"}) == "*0\r\n");
  CHECK(h.send({"CONFIG", "SET", "latency-monitor-threshold", "5"}) == "+OK\r\n");
  CHECK(h.send({"GET", "k"}) == "$-1\r\n");  // fast
  CHECK(h.send({"KEYS", "*"}) == "*0\r\n");  // not fast
  CHECK(h.send({"GET", "k"}) == "$-1\r\n");  // the same second: still one sample
  h.advance(1000ms);
  CHECK(h.send({"GET", "k"}) == "$-1\r\n");
  CHECK(h.send({"LATENCY", "HISTORY", "fast-command"}) ==
        "*2\r\n*2\r\n:1700000000\r\n:5\r\n*2\r\n:1700000001\r\n:5\r\n");
  // LATEST in event name order: command (CONFIG SET, KEYS, LATENCY HISTORY), fast-command.
  CHECK(h.send({"LATENCY", "LATEST"}) ==
        "*2\r\n*4\r\n$7\r\ncommand\r\n:1700000001\r\n:5\r\n:5\r\n"
        "*4\r\n$12\r\nfast-command\r\n:1700000001\r\n:5\r\n:5\r\n");
  CHECK(h.send({"LATENCY", "RESET", "FAST-COMMAND", "nosuch"}) == ":1\r\n");
  CHECK(h.send({"LATENCY", "RESET"}) == ":1\r\n");
  CHECK(h.send({"CONFIG", "SET", "latency-monitor-threshold", "0"}) == "+OK\r\n");
  CHECK(h.send({"LATENCY", "RESET"}) == ":1\r\n");  // the previous RESET's own sample
  CHECK(h.send({"LATENCY", "LATEST"}) == "*0\r\n");
}

TEST_CASE("diagnostics: LATENCY GRAPH draws Redis's sparkline", "[resp][diagnostics]") {
  LatencySeries s;
  s.samples[0] = {1000, 10};
  s.samples[1] = {1001, 20};
  s.samples[2] = {1002, 30};
  s.next = 3;
  s.max_ms = 30;
  // 12 steps over 10..30 ms: 0, 6 and 11 (clamped); four rows of "_o#" with '|' below a
  // column's top, a blank row, then each sample's age ("2s", "1s", "0s") downwards.
  CHECK(apiary::resp::latency_graph("command", s, 1002) ==
        "command - high 30 ms, low 10 ms (all time high 30 ms)\n" + std::string(80, '-') +
            "\n"
            "  #\n"
            " _|\n"
            " ||\n"
            "_||\n"
            "   \n"
            "210\n"
            "sss\n");
}

TEST_CASE("diagnostics: MONITOR arguments are escaped as Redis's sdscatrepr",
          "[resp][diagnostics]") {
  std::string out;
  apiary::resp::append_repr(out, std::string("a\\b\"c\r\n\t\a\b\x00\x7f~ ", 14));
  CHECK(out == "\"a\\\\b\\\"c\\r\\n\\t\\a\\b\\x00\\x7f~ \"");
}
