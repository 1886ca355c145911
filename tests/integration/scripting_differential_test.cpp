// Differential test of Lua scripting and functions: one apiaryd and one redis-server 7.0, on
// ports picked at run time, get the same command lines (RESP2, then RESP3 after HELLO 3) and
// must answer byte for byte alike -- EVAL's conversions both ways (RESP2 and RESP3 through
// redis.setresp), errors raised by scripts and by the commands they call, the libraries Redis
// loads (cjson, cmsgpack, bit, struct), the script cache, read-only scripts, and the FUNCTION
// commands. Then the same lines go through members of a three-node cluster, whose scripts run
// at their keys' coordinator: every line's keys share the hash tag {s}.
//
// By design (docs/scripting.md): a script may touch only the keys it declares -- Apiary
// replicates the declared keys -- so redis.call on an undeclared key answers Redis Cluster's
// "non local key" error where a standalone Redis would run it; and a script declaring
// `no-cluster` gets Redis Cluster's refusal.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "integration/support/cluster.hpp"
#include "integration/support/differential.hpp"

using namespace apiary::test;

namespace {

constexpr const char* kUndeclared =
    "-ERR Script attempted to access a non local key in a cluster node script script: "
    "3b0b57995a47ae0e1bb20220278b82568130ec0f, on @user_script:1.\r\n";

std::vector<DiffLine> lines() {
  return {
      {"SCRIPT FLUSH"},
      {"FUNCTION FLUSH"},
      // Lua values to RESP.
      {"EVAL \"return 1\" 0"},
      {"EVAL \"return 'str'\" 0"},
      {"EVAL \"return {1, 2, 3, 'x'}\" 0"},
      {"EVAL \"return {1, nil, 3}\" 0"},
      {"EVAL \"return {1, {2, {3, 'deep'}}}\" 0"},
      {"EVAL \"return true\" 0"},
      {"EVAL \"return false\" 0"},
      {"EVAL \"return nil\" 0"},
      {"EVAL \"return 3.99\" 0"},
      {"EVAL \"return -3.99\" 0"},
      {"EVAL \"return {err = 'My Error'}\" 0"},
      {"EVAL \"return {err = 'WRONG custom code'}\" 0"},
      {"EVAL \"return {ok = 'FINE'}\" 0"},
      {"EVAL \"return redis.error_reply('bad thing')\" 0"},
      {"EVAL \"return redis.status_reply('GOOD')\" 0"},
      {"EVAL \"return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}\" 2 {s}a {s}b x y"},
      {"EVAL \"return redis.sha1hex('')\" 0"},
      {"EVAL \"return redis.REDIS_VERSION\" 0"},
      // RESP to Lua, through redis.call.
      {"EVAL \"return redis.call('SET', KEYS[1], 'v1')\" 1 {s}k"},
      {"EVAL \"return redis.call('GET', KEYS[1])\" 1 {s}k"},
      {"EVAL \"return redis.call('GET', KEYS[1])\" 1 {s}missing"},
      {"EVAL \"return type(redis.call('GET', KEYS[1]))\" 1 {s}missing"},
      {"EVAL \"return type(redis.call('PING'))\" 0"},
      {"EVAL \"return redis.call('PING')\" 0"},
      {"EVAL \"return redis.call('INCRBY', KEYS[1], 5)\" 1 {s}n"},
      {"EVAL \"return redis.call('INCRBY', KEYS[1], 2.0)\" 1 {s}n"},
      {"EVAL \"return redis.call('SET', KEYS[1], 3.5)\" 1 {s}f"},
      {"EVAL \"return redis.call('GET', KEYS[1])\" 1 {s}f"},
      // One field: Apiary's hashes keep no insertion order (hash_differential_test.cpp).
      {"EVAL \"redis.call('HSET', KEYS[1], 'a', 1) return redis.call('HGETALL', KEYS[1])\" 1 {s}h"},
      {"EVAL \"redis.call('RPUSH', KEYS[1], 'x', 'y', 'z') return redis.call('LRANGE', KEYS[1], 0, -1)\" 1 {s}l"},
      {"EVAL \"redis.call('ZADD', KEYS[1], 1.5, 'm', 2, 'n') return redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')\" 1 {s}z"},
      {"EVAL \"redis.setresp(3) return redis.call('HGETALL', KEYS[1])\" 1 {s}h"},
      {"EVAL \"redis.setresp(3) return redis.call('ZSCORE', KEYS[1], 'm')\" 1 {s}z"},
      {"EVAL \"redis.setresp(3) return redis.call('SMEMBERS', KEYS[1])\" 1 {s}set"},
      {"EVAL \"redis.setresp(3) return redis.call('GET', KEYS[1])\" 1 {s}missing"},
      {"EVAL \"redis.setresp(3) local r = redis.call('HGETALL', KEYS[1]) return r['map']['a']\" 1 {s}h"},
      {"EVAL \"redis.setresp(3) return redis.call('EXISTS', KEYS[1]) == 1\" 1 {s}h"},
      {"EVAL \"redis.setresp(4)\" 0"},
      // Errors.
      {"EVAL \"return redis.call('INCR', KEYS[1])\" 1 {s}k"},
      {"EVAL \"return redis.pcall('INCR', KEYS[1])\" 1 {s}k"},
      {"EVAL \"local r = redis.pcall('INCR', KEYS[1]) return r['err']\" 1 {s}k"},
      {"EVAL \"return redis.call('NOSUCHCOMMAND')\" 0"},
      {"EVAL \"return redis.pcall('NOSUCHCOMMAND')\" 0"},
      {"EVAL \"return redis.call('GET')\" 0"},
      {"EVAL \"return redis.call()\" 0"},
      {"EVAL \"return redis.call('GET', {})\" 0"},
      {"EVAL \"return redis.call('MULTI')\" 0"},
      {"EVAL \"return redis.call('EVAL', 'return 1', 0)\" 0"},
      {"EVAL \"return nosuchglobal\" 0"},
      {"EVAL \"newglobal = 5\" 0"},
      {"EVAL \"return (\" 0"},
      {"EVAL \"error('boom')\" 0"},
      {"EVAL \"error({err = 'E1 custom'})\" 0"},
      {"EVAL \"return 1\" -1"},
      {"EVAL \"return 1\" 3 a"},
      {"EVAL \"return 1\" x"},
      {"EVAL \"return type(os)\" 0"},
      {"EVAL \"return type(io)\" 0"},
      {"EVAL \"return type(loadfile)\" 0"},
      // Undeclared keys (by design, see the top of the file).
      {"EVAL \"return redis.call('GET', 'other')\" 0", kUndeclared,
       nullptr, "a script touches only the keys it declares"},
      // Libraries.
      {"EVAL \"return cjson.encode({1, 2, 3})\" 0"},
      {"EVAL \"return cjson.decode('[1, 2, 30]')[3]\" 0"},
      {"EVAL \"return cjson.encode({a = 1})\" 0"},
      {"EVAL \"return bit.band(7, 3)\" 0"},
      {"EVAL \"return bit.tohex(255)\" 0"},
      {"EVAL \"return bit.bxor(5, 3)\" 0"},
      {"EVAL \"return cmsgpack.pack({1, 2, 'x'})\" 0"},
      {"EVAL \"return cmsgpack.unpack(cmsgpack.pack({1, 2, 'x'}))\" 0"},
      {"EVAL \"return {cmsgpack.unpack(cmsgpack.pack(1, 'a', {b = 2}))}\" 0"},
      {"EVAL \"return struct.pack('>I2', 258)\" 0"},
      {"EVAL \"return {struct.unpack('>I2', struct.pack('>I2', 258))}\" 0"},
      {"EVAL \"return struct.size('>iI2b')\" 0"},
      // The script cache.
      {"SCRIPT LOAD \"return 'cached'\""},
      {"EVALSHA 952f49ffc8f7b098d8ab5da45d3164ca36ed18b1 0"},
      {"SCRIPT EXISTS 952f49ffc8f7b098d8ab5da45d3164ca36ed18b1 0000000000000000000000000000000000000000"},
      {"EVALSHA 0000000000000000000000000000000000000000 0"},
      {"EVALSHA short 0"},
      {"SCRIPT LOAD \"return (\""},
      {"SCRIPT FLUSH X"},
      {"SCRIPT KILL"},
      {"SCRIPT DEBUG X"},
      {"SCRIPT HELP"},
      {"SCRIPT FLUSH ASYNC"},
      {"SCRIPT EXISTS 952f49ffc8f7b098d8ab5da45d3164ca36ed18b1"},
      // Read-only scripts.
      {"EVAL_RO \"return redis.call('GET', KEYS[1])\" 1 {s}k"},
      {"EVAL_RO \"return redis.call('SET', KEYS[1], 'x')\" 1 {s}k"},
      {"EVAL \"#!lua flags=no-writes\nreturn redis.call('SET', KEYS[1], 'x')\" 1 {s}k"},
      {"EVAL \"#!lua flags=no-writes\nreturn redis.call('GET', KEYS[1])\" 1 {s}k"},
      {"EVAL_RO \"#!lua\nreturn 1\" 0"},
      {"EVAL \"#!lua flags=bogus\nreturn 1\" 0"},
      {"EVAL \"#!python\nreturn 1\" 0"},
      {"EVAL \"#!lua flags=no-cluster\nreturn 1\" 0",
       "-ERR Can not run script on cluster, 'no-cluster' flag is set.\r\n", nullptr,
       "Apiary is always a cluster: Redis Cluster's refusal"},
      // Functions.
      {"FUNCTION LOAD \"#!lua name=lib\nredis.register_function('f1', function(keys, args) return redis.call('INCRBY', keys[1], args[1]) end)\nredis.register_function{function_name = 'f2', callback = function(keys, args) return #args end, flags = {'no-writes'}, description = 'counts'}\""},
      {"FUNCTION LOAD \"#!lua name=lib\nredis.register_function('f3', function() return 1 end)\""},
      {"FUNCTION LOAD \"#!lua name=lib2\nredis.register_function('f1', function() return 1 end)\""},
      {"FUNCTION LOAD \"#!lua name=empty\nlocal x = 1\""},
      {"FUNCTION LOAD \"no shebang\""},
      {"FUNCTION LOAD \"#!lua name=bad-name\nredis.register_function('f9', function() return 1 end)\""},
      {"FUNCTION LOAD \"#!lua name=callsatload\nredis.call('PING')\""},
      {"FUNCTION LOAD replace x y"},
      {"FCALL f1 1 {s}fn 5"},
      {"FCALL f1 1 {s}fn 5"},
      {"FCALL f2 0 a b c"},
      {"FCALL_RO f2 0 a b"},
      {"FCALL_RO f1 1 {s}fn 1"},
      {"FCALL nosuch 0"},
      {"FCALL f1 -1"},
      // One function per library listed: Redis lists a library's functions in its dict's
      // (seeded) order, Apiary in name order.
      {"FUNCTION LOAD \"#!lua name=solo\nredis.register_function{function_name = 'only', callback = function() return 1 end, flags = {'no-writes', 'allow-stale'}}\""},
      {"FUNCTION LIST LIBRARYNAME so*"},
      {"FUNCTION LIST WITHCODE LIBRARYNAME solo"},
      {"FUNCTION LIST LIBRARYNAME nomatch*"},
      {"FUNCTION LIST LIBRARYNAME"},
      {"FUNCTION LIST BAD"},
      {"FUNCTION STATS"},
      {"FUNCTION KILL"},
      {"FUNCTION RESTORE garbage"},
      {"FUNCTION RESTORE x BAD"},
      {"FUNCTION DELETE nolib"},
      {"FUNCTION DELETE lib"},
      {"FUNCTION DELETE solo"},
      {"FCALL f1 1 {s}fn 5"},
      {"FUNCTION FLUSH BAD"},
      {"FUNCTION FLUSH"},
      {"FUNCTION LIST"},
  };
}

// FUNCTION DUMP of one small library, FUNCTION RESTORE of it on the other server.
void dump_and_restore(const Daemon& apiary, const RedisServer& redis) {
  RespClient a(apiary.redis_port());
  RespClient r(redis.port());
  const std::vector<std::string> load = {
      "FUNCTION", "LOAD", "#!lua name=moved\nredis.register_function('mv', function() return 7 end)"};
  REQUIRE(a.command({"FUNCTION", "FLUSH"}) == "+OK\r\n");
  REQUIRE(r.command({"FUNCTION", "FLUSH"}) == "+OK\r\n");
  REQUIRE(a.command(load) == r.command(load));
  const std::string from_apiary = a.command({"FUNCTION", "DUMP"});
  const std::string from_redis = r.command({"FUNCTION", "DUMP"});
  CHECK(from_apiary == from_redis);
  REQUIRE(from_redis[0] == '$');
  const std::string payload = from_redis.substr(from_redis.find("\r\n") + 2,
                                                from_redis.size() - from_redis.find("\r\n") - 4);
  REQUIRE(a.command({"FUNCTION", "FLUSH"}) == "+OK\r\n");
  CHECK(a.command({"FUNCTION", "RESTORE", payload}) == "+OK\r\n");
  CHECK(a.command({"FCALL", "mv", "0"}) == ":7\r\n");
  CHECK(a.command({"FUNCTION", "RESTORE", payload}) == r.command({"FUNCTION", "RESTORE", payload}));
  CHECK(a.command({"FUNCTION", "RESTORE", payload, "REPLACE"}) == "+OK\r\n");
  CHECK(a.command({"FUNCTION", "FLUSH"}) == "+OK\r\n");
  CHECK(r.command({"FUNCTION", "FLUSH"}) == "+OK\r\n");
}

}  // namespace

TEST_CASE("scripting and function commands answer as redis-server 7.0 does",
          "[integration][scripting]") {
  RedisServer redis;
  Daemon apiary("scripting", {});
  SECTION("command lines, RESP2 and RESP3") {
    for (int protocol : {2, 3}) compare_exact(apiary, redis, protocol, lines());
  }
  SECTION("FUNCTION DUMP and RESTORE") { dump_and_restore(apiary, redis); }
  SECTION("COMMAND INFO, RESP2") {
    RespClient a(apiary.redis_port());
    RespClient r(redis.port());
    for (const char* name : {"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"}) {
      INFO(name);
      CHECK(a.command({"COMMAND", "INFO", name}) == r.command({"COMMAND", "INFO", name}));
    }
  }
  RespClient after(apiary.redis_port());
  CHECK(after.command({"PING"}) == "+PONG\r\n");
  CHECK(apiary.running());
}

TEST_CASE("scripting and function commands through cluster members answer as redis-server 7.0",
          "[integration][scripting]") {
  auto nodes = start_cluster("sc", 3, {});
  RedisServer redis;
  compare_exact(*nodes[1], redis, 2, lines());
  compare_exact(*nodes[2], redis, 3, lines());
  dump_and_restore(*nodes[0], redis);
}
