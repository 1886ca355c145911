// CLIENT NO-TOUCH, WAIT and WAITAOF on a connection over a real store with virtual time: what
// the differential test (tests/integration/server_differential_test.cpp) cannot see against
// redis-server 7.0, which has neither NO-TOUCH nor WAITAOF and whose idle times need real
// seconds to pass.
#include <catch2/catch.hpp>

#include "resp_test_support.hpp"

using namespace std::chrono_literals;

TEST_CASE("CLIENT NO-TOUCH leaves idle times alone, TOUCH still touches", "[resp][server]") {
  resp_test::Harness h;
  CHECK(h.send({"SET", "k", "v"}) == "+OK\r\n");
  CHECK(h.send({"RPUSH", "l", "a"}) == ":1\r\n");
  h.advance(10s);
  CHECK(h.send({"CLIENT", "NO-TOUCH", "maybe"}) == "-ERR syntax error\r\n");
  CHECK(h.send({"CLIENT", "NO-TOUCH", "on"}) == "+OK\r\n");
  CHECK(h.send({"CLIENT", "INFO"}).find(" flags=T ") != std::string::npos);
  CHECK(h.send({"GET", "k"}) == "$1\r\nv\r\n");
  CHECK(h.send({"LRANGE", "l", "0", "-1"}) == "*1\r\n$1\r\na\r\n");
  CHECK(h.send({"OBJECT", "IDLETIME", "k"}) == ":10\r\n");
  CHECK(h.send({"OBJECT", "IDLETIME", "l"}) == ":10\r\n");
  CHECK(h.send({"TOUCH", "k"}) == ":1\r\n");
  CHECK(h.send({"OBJECT", "IDLETIME", "k"}) == ":0\r\n");
  // Another client still touches.
  h.connect();
  CHECK(h.send({"GET", "k"}, 1) == "$1\r\nv\r\n");
  h.advance(5s);
  CHECK(h.send({"LRANGE", "l", "0", "-1"}, 1) == "*1\r\n$1\r\na\r\n");
  CHECK(h.send({"OBJECT", "IDLETIME", "l"}) == ":0\r\n");
  CHECK(h.send({"OBJECT", "IDLETIME", "k"}) == ":5\r\n");
  // OFF, and RESET, end it.
  CHECK(h.send({"CLIENT", "NO-TOUCH", "OFF"}) == "+OK\r\n");
  CHECK(h.send({"GET", "k"}) == "$1\r\nv\r\n");
  CHECK(h.send({"OBJECT", "IDLETIME", "k"}) == ":0\r\n");
  CHECK(h.send({"CLIENT", "NO-TOUCH", "ON"}) == "+OK\r\n");
  CHECK(h.send({"RESET"}) == "+RESET\r\n");
  CHECK(h.send({"CLIENT", "INFO"}).find(" flags=N ") != std::string::npos);
}

TEST_CASE("RESET keeps CLIENT NO-EVICT, as Redis 7.0 does", "[resp][server]") {
  resp_test::Harness h;
  CHECK(h.send({"CLIENT", "NO-EVICT", "on"}) == "+OK\r\n");
  CHECK(h.send({"CLIENT", "SETNAME", "x"}) == "+OK\r\n");
  CHECK(h.send({"RESET"}) == "+RESET\r\n");
  const std::string info = h.send({"CLIENT", "INFO"});
  CHECK(info.find(" flags=e ") != std::string::npos);
  CHECK(info.find(" name= ") != std::string::npos);
  // CLIENT REPLY OFF ends with RESET, which answers; SKIP skips RESET's reply.
  CHECK(h.send({"CLIENT", "REPLY", "OFF"}).empty());
  CHECK(h.send({"RESET"}) == "+RESET\r\n");
  CHECK(h.send({"CLIENT", "REPLY", "SKIP"}).empty());
  CHECK(h.send({"RESET"}).empty());
  CHECK(h.send({"PING"}) == "+PONG\r\n");
}

TEST_CASE("WAIT on a node without replicas: 0, held for the timeout when more are wanted",
          "[resp][server]") {
  resp_test::Harness h;
  CHECK(h.send({"SET", "k", "v"}) == "+OK\r\n");
  CHECK(h.send({"WAIT", "0", "0"}) == ":0\r\n");
  CHECK(h.send({"WAIT", "1", "100"}).empty());  // held: no replica acknowledges
  h.advance(99ms);
  h.server.on_timer(h.now, h.wall);
  CHECK(h.drain().empty());
  h.advance(1ms);
  h.server.on_timer(h.now, h.wall);
  CHECK(h.drain() == ":0\r\n");
  CHECK(h.send({"WAIT", "0", "x"}) == "-ERR timeout is not an integer or out of range\r\n");
  CHECK(h.send({"WAIT", "0", "-1"}) == "-ERR timeout is negative\r\n");
}

TEST_CASE("WAITAOF answers from appendonly and appendfsync", "[resp][server]") {
  resp_test::Harness h;
  CHECK(h.send({"WAITAOF", "0", "0", "0"}) == "*2\r\n:0\r\n:0\r\n");
  CHECK(h.send({"WAITAOF", "1", "0", "0"}) ==
        "-ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled.\r\n");
  // The argument errors come first, in Redis 7.2's order.
  CHECK(h.send({"WAITAOF", "2", "x", "x"}) ==
        "-ERR value is out of range, value must between 0 and 1\r\n");
  CHECK(h.send({"WAITAOF", "0", "-1", "x"}) == "-ERR value is out of range, must be positive\r\n");
  CHECK(h.send({"WAITAOF", "0", "0", "x"}) == "-ERR timeout is not an integer or out of range\r\n");
  CHECK(h.send({"CONFIG", "SET", "appendonly", "yes", "appendfsync", "always"}) == "+OK\r\n");
  CHECK(h.send({"WAITAOF", "1", "0", "0"}) == "*2\r\n:1\r\n:0\r\n");
  // everysec: on disk within a second.
  CHECK(h.send({"CONFIG", "SET", "appendfsync", "everysec"}) == "+OK\r\n");
  CHECK(h.send({"WAITAOF", "1", "0", "0"}).empty());
  h.advance(1s);
  h.server.on_timer(h.now, h.wall);
  CHECK(h.drain() == "*2\r\n:1\r\n:0\r\n");
  // A replica count is never known: held for the timeout.
  CHECK(h.send({"WAITAOF", "0", "1", "50"}).empty());
  h.advance(50ms);
  h.server.on_timer(h.now, h.wall);
  CHECK(h.drain() == "*2\r\n:0\r\n:0\r\n");
}
