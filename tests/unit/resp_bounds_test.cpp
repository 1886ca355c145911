// The bounds of every command's arguments (issue 14): offsets, lengths, counts, times,
// integer and float parsing, overflow and proto-max-bulk-len, each reply recorded from
// redis-server 7.0.15 (RESP2 and, where it differs, RESP3 after HELLO 3). Replies marked "by
// design" are Apiary's (resp.md, "Deliberate differences"). Also: the second line of defence
// (an exception escaping a handler is answered, counted and logged, never fatal) and the
// decoders' guard for node-to-node input. The live twin of this table is
// tests/integration/bounds_differential_test.cpp.
#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "apiary/resp/command_table.hpp"
#include "apiary/resp/server_config.hpp"
#include "apiary/wire/msgpack_codec.hpp"
#include "resp_test_support.hpp"

namespace {

struct Case {
  const char* command;  // sent inline
  const char* resp2;
  const char* resp3 = nullptr;  // nullptr: the same as resp2
};

const Case kBounds[] = {
    {"SET k v", "+OK\r\n"},
    {"SETRANGE k 9223372036854775807 1",
     "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"},
    {"SETRANGE k 9223372036854775806 ab",
     "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"},
    {"SETRANGE k 536870912 a", "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"},
    {"SETRANGE k 536870911 ''", ":1\r\n"},
    {"SETRANGE missing 9223372036854775807 ''", ":0\r\n"},
    {"SETRANGE missing 9223372036854775807 x",
     "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"},
    {"SETRANGE k 9223372036854775808 a", "-ERR value is not an integer or out of range\r\n"},
    {"SETRANGE k -1 a", "-ERR offset is out of range\r\n"},
    {"EXISTS missing", ":0\r\n"},
    {"GETRANGE k -9223372036854775808 9223372036854775807", "$1\r\nv\r\n"},
    {"GETRANGE k 9223372036854775807 -9223372036854775808", "$0\r\n\r\n"},
    {"GETRANGE k 0 9223372036854775808", "-ERR value is not an integer or out of range\r\n"},
    {"SET k v EX 9223372036854775", "-ERR invalid expire time in 'set' command\r\n"},
    {"SET k v EX 9223372036854776", "-ERR invalid expire time in 'set' command\r\n"},
    {"SET k v PX 9223372036854775000", "-ERR invalid expire time in 'set' command\r\n"},
    {"SET k v EX -9223372036854775808", "-ERR invalid expire time in 'set' command\r\n"},
    {"SET k v EXAT 0", "-ERR invalid expire time in 'set' command\r\n"},
    {"SET k v EX 0 FOO", "-ERR syntax error\r\n"},
    {"SET k v EX abc NX XX", "-ERR syntax error\r\n"},
    {"SET k v EX 10 EX 20", "+OK\r\n"},
    {"TTL k", ":20\r\n"},
    {"SET k v PX 10 EX 20", "-ERR syntax error\r\n"},
    {"SET k v NX NX GET GET", "$1\r\nv\r\n"},
    {"SET k v KEEPTTL KEEPTTL", "+OK\r\n"},
    {"SET k v GET EX 0", "-ERR invalid expire time in 'set' command\r\n"},
    {"SET k v PXAT 9223372036854775807", "+OK\r\n"},
    {"EXPIRETIME k", ":9223372036854776\r\n"},
    {"PEXPIRETIME k", ":9223372036854775807\r\n"},
    {"SET k v EXAT 9223372036854775", "+OK\r\n"},
    {"EXPIRETIME k", ":9223372036854775\r\n"},
    {"GETEX missing EX 0", "$-1\r\n", "_\r\n"},
    {"GETEX missing PX -1", "$-1\r\n", "_\r\n"},
    {"GETEX missing EX abc", "$-1\r\n", "_\r\n"},
    {"GETEX missing EX 0 FOO", "-ERR syntax error\r\n"},
    {"GETEX k EX 10 EX 20", "$1\r\nv\r\n"},
    {"TTL k", ":20\r\n"},
    {"GETEX k PERSIST PERSIST", "$1\r\nv\r\n"},
    {"TTL k", ":-1\r\n"},
    {"GETEX k PERSIST EX 1", "-ERR syntax error\r\n"},
    {"GETEX k EX 9223372036854775807", "-ERR invalid expire time in 'getex' command\r\n"},
    {"GETEX k PX 9223372036854775807", "-ERR invalid expire time in 'getex' command\r\n"},
    {"GETEX k EXAT 9223372036854776", "-ERR invalid expire time in 'getex' command\r\n"},
    {"GETEX k PXAT 1", "$1\r\nv\r\n"},
    {"EXISTS k", ":0\r\n"},
    {"SETEX k 9223372036854775807 v", "-ERR invalid expire time in 'setex' command\r\n"},
    {"SETEX k 9223372036854775 v", "-ERR invalid expire time in 'setex' command\r\n"},
    {"PSETEX k 9223372036854775807 v", "-ERR invalid expire time in 'psetex' command\r\n"},
    {"PSETEX k -9223372036854775808 v", "-ERR invalid expire time in 'psetex' command\r\n"},
    {"SET k v", "+OK\r\n"},
    {"EXPIRE k 9223372036854775807", "-ERR invalid expire time in 'expire' command\r\n"},
    {"EXPIRE k 9223372036854775", "-ERR invalid expire time in 'expire' command\r\n"},
    {"EXPIRE k -9223372036854775808", "-ERR invalid expire time in 'expire' command\r\n"},
    {"PEXPIRE k 9223372036854775807", "-ERR invalid expire time in 'pexpire' command\r\n"},
    {"EXPIREAT k 9223372036854775807", "-ERR invalid expire time in 'expireat' command\r\n"},
    {"EXPIREAT k -9223372036854775808", "-ERR invalid expire time in 'expireat' command\r\n"},
    {"PEXPIREAT k 9223372036854775807", ":1\r\n"},
    {"PEXPIRETIME k", ":9223372036854775807\r\n"},
    {"PEXPIRE k -9223372036854775808", ":1\r\n"},
    {"EXISTS k", ":0\r\n"},
    {"SET n 9223372036854775807", "+OK\r\n"},
    {"INCR n", "-ERR increment or decrement would overflow\r\n"},
    {"INCRBY n 9223372036854775808", "-ERR value is not an integer or out of range\r\n"},
    {"SET n -9223372036854775808", "+OK\r\n"},
    {"DECR n", "-ERR increment or decrement would overflow\r\n"},
    {"DECRBY n -9223372036854775808", "-ERR decrement would overflow\r\n"},
    {"DECRBY fresh -9223372036854775808", "-ERR decrement would overflow\r\n"},
    {"INCRBY fresh -9223372036854775808", ":-9223372036854775808\r\n"},
    {"INCRBY fresh 01", "-ERR value is not an integer or out of range\r\n"},
    {"INCRBY fresh +1", "-ERR value is not an integer or out of range\r\n"},
    {"INCRBY fresh -0", "-ERR value is not an integer or out of range\r\n"},
    {"SET f 1", "+OK\r\n"},
    {"INCRBYFLOAT f nan", "-ERR value is not a valid float\r\n"},
    {"INCRBYFLOAT f inf", "-ERR increment would produce NaN or Infinity\r\n"},
    {"SET f 1.1e4932", "+OK\r\n"},
    {"INCRBYFLOAT f 1.1e4932", "-ERR increment would produce NaN or Infinity\r\n"},
    {"SET f 0", "+OK\r\n"},
    {"INCRBYFLOAT f 1e-4950", "$1\r\n0\r\n"},
    {"INCRBYFLOAT f 1e-4960", "-ERR value is not a valid float\r\n"},
    {"SET f 1e4933", "+OK\r\n"},
    {"INCRBYFLOAT f 1", "-ERR value is not a valid float\r\n"},
    {"SET f inf", "+OK\r\n"},
    {"INCRBYFLOAT f 1", "-ERR increment would produce NaN or Infinity\r\n"},
    {"MSET a", "-ERR wrong number of arguments for 'mset' command\r\n"},
    {"MSET a 1 b", "-ERR wrong number of arguments for 'mset' command\r\n"},
    {"MSETNX a 1 b", "-ERR wrong number of arguments for 'msetnx' command\r\n"},
    {"SCAN 0 COUNT 0", "-ERR syntax error\r\n"},
    {"SCAN 0 COUNT -1", "-ERR syntax error\r\n"},
    {"SCAN 0 COUNT 9223372036854775808", "-ERR value is not an integer or out of range\r\n"},
    {"SCAN 0 FOO bar", "-ERR syntax error\r\n"},
    {"SCAN 18446744073709551616", "-ERR invalid cursor\r\n"},
    {"COPY a b DB 2147483648",
     "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"},
    {"COPY a b DB -1", "-ERR DB index is out of range\r\n"},
    {"COPY a b DB 16", "-ERR DB index is out of range\r\n"},
    // By design: one keyspace, answered as Redis Cluster does (resp.md).
    {"COPY a b DB 1", "-ERR Copying to another database is not allowed in cluster mode\r\n"},
    {"COPY a b DB 1 DB 0", ":0\r\n"},
    {"SELECT 2147483648",
     "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"},
    // By design: one keyspace, answered as Redis Cluster does (resp.md).
    {"SELECT -1", "-ERR SELECT is not allowed in cluster mode\r\n"},
    {"CONFIG SET proto-max-bulk-len 1000",
     "-ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must "
     "be between 1048576 and 9223372036854775807 inclusive\r\n"},
    {"CONFIG SET proto-max-bulk-len -1",
     "-ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must "
     "be a memory value\r\n"},
    {"CONFIG SET proto-max-bulk-len 9223372036854775808",
     "-ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must "
     "be between 1048576 and 9223372036854775807 inclusive\r\n"},
    {"CONFIG SET proto-max-bulk-len 99999999999999999999999gb",
     "-ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must "
     "be between 1048576 and 9223372036854775807 inclusive\r\n"},
    {"CONFIG SET client-output-buffer-limit \"normal 1 2 -1\"",
     "-ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Error "
     "in hard, soft or soft_seconds setting in buffer limit configuration.\r\n"},
    {"CONFIG SET client-output-buffer-limit \"normal a 2 3\"",
     "-ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Error "
     "in hard, soft or soft_seconds setting in buffer limit configuration.\r\n"},
    {"CONFIG SET client-output-buffer-limit \"master 1 2 3\"",
     "-ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Invalid "
     "client class specified in buffer limit configuration.\r\n"},
    {"CONFIG SET client-output-buffer-limit \"normal 1 2\"",
     "-ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Wrong "
     "number of arguments in buffer limit configuration.\r\n"},
    {"CONFIG SET maxmemory 18446744073709551615", "+OK\r\n"},
    {"CONFIG GET maxmemory", "*2\r\n$9\r\nmaxmemory\r\n$20\r\n18446744073709551615\r\n",
     "%1\r\n$9\r\nmaxmemory\r\n$20\r\n18446744073709551615\r\n"},
    {"CONFIG SET maxmemory 0", "+OK\r\n"},
    {"COMMAND LIST FILTERBY", "-ERR syntax error\r\n"},
    {"COMMAND LIST FILTERBY foo bar", "-ERR syntax error\r\n"},
    {"COMMAND LIST FILTERBY pattern get", "*1\r\n$3\r\nget\r\n"},
    {"COMMAND LIST FILTERBY aclcat nosuchcat", "*0\r\n"},
    {"COMMAND LIST FILTERBY module nosuchmodule", "*0\r\n"},
    {"CONFIG SET proto-max-bulk-len 1mb", "+OK\r\n"},
    {"SET big x", "+OK\r\n"},
    {"SETRANGE big 1048575 y", ":1048576\r\n"},
    {"SETRANGE big 1048575 yz",
     "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"},
    {"APPEND big z", "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"},
    {"SETRANGE big2 1048576 y",
     "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"},
    {"CONFIG SET proto-max-bulk-len 512mb", "+OK\r\n"},
};

void run_bounds(bool resp3) {
  resp_test::Harness h;
  if (resp3) REQUIRE(h.raw("HELLO 3\r\n").rfind("%7\r\n", 0) == 0);
  for (const Case& c : kBounds) {
    INFO("command: " << c.command << (resp3 ? " (RESP3)" : " (RESP2)"));
    const char* want = resp3 && c.resp3 != nullptr ? c.resp3 : c.resp2;
    REQUIRE(h.raw(std::string(c.command) + "\r\n") == want);
  }
}

}  // namespace

TEST_CASE("command arguments are bounded as in redis-server 7.0 (RESP2)", "[resp][bounds]") {
  run_bounds(false);
}

TEST_CASE("command arguments are bounded as in redis-server 7.0 (RESP3)", "[resp][bounds]") {
  run_bounds(true);
}

TEST_CASE("SETRANGE at the largest offset answers an error instead of allocating",
          "[resp][bounds]") {
  resp_test::Harness h;
  // The crash of issue 14: offset + length overflowed, passed the check and std::string threw.
  CHECK(h.send({"SETRANGE", "k", "9223372036854775807", "1"}) ==
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");
  CHECK(h.send({"SET", "k", "v"}) == "+OK\r\n");
  CHECK(h.send({"SETRANGE", "k", "9223372036854775807", "1"}) ==
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");
  CHECK(h.send({"GET", "k"}) == "$1\r\nv\r\n");
}

TEST_CASE("APPEND and SETRANGE follow CONFIG SET proto-max-bulk-len", "[resp][bounds]") {
  resp_test::Harness h;
  REQUIRE(h.send({"CONFIG", "SET", "proto-max-bulk-len", "2mb"}) == "+OK\r\n");
  const std::string mb(1 << 20, 'x');
  CHECK(h.send({"SET", "k", mb}) == "+OK\r\n");
  CHECK(h.send({"APPEND", "k", mb}) == ":2097152\r\n");
  CHECK(h.send({"APPEND", "k", "y"}) ==
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");
  CHECK(h.send({"SETRANGE", "k", "2097151", "z"}) == ":2097152\r\n");
  CHECK(h.send({"SETRANGE", "k", "2097152", "z"}) ==
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");
  CHECK(h.send({"STRLEN", "k"}) == ":2097152\r\n");
}

TEST_CASE("DEBUG SLEEP with NaN, infinite, negative or huge times answers at once",
          "[resp][bounds]") {
  resp_test::Harness h;
  for (const char* t : {"nan", "inf", "-inf", "-1", "1e300", "abc"}) {
    INFO(t);
    CHECK(h.send({"DEBUG", "SLEEP", t}) == "+OK\r\n");
  }
  // A finite huge time is held (capped), not overflowed into the past.
  CHECK(h.raw("DEBUG SLEEP 1e12\r\nPING\r\n").empty());
  h.advance(std::chrono::hours(1));
  CHECK(h.server.on_timer(h.now, h.wall).empty());
  CHECK(h.drain().empty());
}

TEST_CASE("CLIENT KILL MAXAGE takes any 64-bit age without overflowing", "[resp][bounds]") {
  resp_test::Harness h;
  h.connect("127.0.0.1:40001");
  CHECK(h.send({"CLIENT", "KILL", "MAXAGE", "9223372036854775807"}) == ":0\r\n");
  CHECK(h.send({"CLIENT", "KILL", "MAXAGE", "-9223372036854775808", "SKIPME", "yes"}) == ":1\r\n");
}

namespace {

apiary::resp::Outcome throwing(apiary::resp::CommandContext& ctx) {
  ctx.reply.bulk("half a reply");  // dropped: the client gets the error alone
  throw std::length_error("basic_string::_M_replace_aux");
}

const apiary::resp::CommandTable& table_with_thrower() {
  static apiary::resp::CommandTable* table = [] {
    auto* t = new apiary::resp::CommandTable;
    for (const auto& c : apiary::resp::default_command_table().all()) t->add(*c);
    t->add(apiary::resp::make_spec_for_test("boom", 1, throwing));
    return t;
  }();
  return *table;
}

}  // namespace

TEST_CASE("an exception escaping a handler is answered, counted and logged, not fatal",
          "[resp][bounds]") {
  apiary::resp::Server server({}, table_with_thrower());
  std::vector<std::string> logged;
  server.set_exception_log([&](std::string_view line) { logged.emplace_back(line); });
  auto c = server.connect({}, {});
  c->feed({}, {}, "PING\r\nBOOM\r\nPING\r\n");
  CHECK(c->output() == "+PONG\r\n-ERR internal error\r\n+PONG\r\n");
  CHECK(server.stats().command_exceptions == 1);
  REQUIRE(logged.size() == 1);
  CHECK(logged[0].find("'boom'") != std::string::npos);
  CHECK(logged[0].find("basic_string::_M_replace_aux") != std::string::npos);
  CHECK(server.info({"stats"}, {}).find("apiary_command_exceptions:1\r\n") != std::string::npos);
  c->consume_output(c->output().size());
  // The cluster layer runs handlers itself through run_handler, with the same guard.
  std::string out;
  apiary::resp::ReplyWriter writer(out, 2);
  std::vector<std::string_view> argv = {"boom"};
  apiary::resp::CommandContext ctx{server, *c, writer, argv, {}, {}};
  const auto* spec = server.commands().find("boom");
  REQUIRE(spec != nullptr);
  CHECK(apiary::resp::run_handler(*spec, ctx).kind() == apiary::resp::Outcome::Kind::done);
  CHECK(out == "-ERR internal error\r\n");
  CHECK(server.stats().command_exceptions == 2);
}

TEST_CASE("a decoder that throws yields malformed, not a crash", "[resp][bounds][wire]") {
  auto status =
      apiary::wire::guard_decode("test", []() -> apiary::Status { throw std::bad_alloc(); });
  CHECK(status.code() == apiary::StatusCode::malformed);
  auto result = apiary::wire::guard_decode(
      "test", []() -> apiary::Result<int> { throw msgpack::type_error(); });
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().code() == apiary::StatusCode::malformed);
  CHECK(apiary::wire::guard_decode("test", [] { return apiary::Result<int>(7); }).value() == 7);
}

TEST_CASE("memory values parse as Redis's memtoull", "[resp][bounds]") {
  std::uint64_t v = 0;
  CHECK(apiary::resp::parse_memory("512mb", v));
  CHECK(v == 512ull << 20);
  CHECK(apiary::resp::parse_memory("1k", v));
  CHECK(v == 1000);
  CHECK(apiary::resp::parse_memory("18446744073709551615", v));
  CHECK(v == 18446744073709551615ull);
  CHECK(apiary::resp::parse_memory("99999999999999999999999", v));  // saturates
  CHECK(v == 18446744073709551615ull);
  CHECK(apiary::resp::parse_memory("kb", v));  // no digits: 0
  CHECK(v == 0);
  CHECK_FALSE(apiary::resp::parse_memory("-1", v));
  CHECK_FALSE(apiary::resp::parse_memory("1 mb", v));
  CHECK_FALSE(apiary::resp::parse_memory("1tb", v));
  CHECK_FALSE(apiary::resp::parse_memory(std::string(128, '1'), v));
}
