// Differential-test support: the same command lines to one apiaryd and one redis-server,
// compared byte for byte in RESP2 or RESP3, with the lines Apiary answers differently on
// purpose carrying its reply and the reason. Used by list_differential_test.cpp; the hash,
// set and zset differential tests keep their own copies of this loop (with their extra modes
// for random replies) and can move onto it.
#pragma once

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "integration/support/command_words.hpp"
#include "integration/support/daemon.hpp"
#include "integration/support/redis_server.hpp"

namespace apiary::test {

struct DiffLine {
  const char* command;
  const char* apiary = nullptr;   // Apiary's reply where it differs by design
  const char* apiary3 = nullptr;  // ... in RESP3, when that differs from RESP2's
  const char* why = nullptr;
};

// Both connections in `protocol` (HELLO 3 for RESP3), both keyspaces empty.
inline void begin_pair(RespClient& a, RespClient& r, int protocol) {
  if (protocol == 3) {
    REQUIRE(a.command({"HELLO", "3"}).rfind("%7\r\n", 0) == 0);
    REQUIRE(r.command({"HELLO", "3"}).rfind("%7\r\n", 0) == 0);
  }
  REQUIRE(a.command({"FLUSHALL"}) == "+OK\r\n");
  REQUIRE(r.command({"FLUSHALL"}) == "+OK\r\n");
}

// Sends every line to both and checks the replies are the same bytes (or Apiary's is the
// line's by-design reply).
inline void compare_exact(const Daemon& apiary, const RedisServer& redis, int protocol,
                          const std::vector<DiffLine>& sequence) {
  RespClient a(apiary.redis_port());
  RespClient r(redis.port());
  begin_pair(a, r, protocol);
  for (const DiffLine& line : sequence) {
    const auto argv = words(line.command);
    const std::string from_apiary = a.command(argv);
    const std::string from_redis = r.command(argv);
    INFO("RESP" << protocol << ": " << line.command);
    INFO("apiary: " << from_apiary);
    INFO("redis:  " << from_redis);
    if (line.apiary != nullptr) {
      INFO("by design: " << line.why);
      CHECK(from_apiary ==
            (protocol == 3 && line.apiary3 != nullptr ? line.apiary3 : line.apiary));
    } else {
      CHECK(from_apiary == from_redis);
    }
  }
}

}  // namespace apiary::test
