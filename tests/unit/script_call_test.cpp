// redis.call / redis.pcall and the rest of the `redis` table, against a fake Host: arguments
// as Redis formats them, replies converted to Lua in RESP2 and RESP3, errors raised or
// returned. Expected texts come from redis-server 7.0.15.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "apiary/script/engine.hpp"
#include "support/script_fake_host.hpp"

using apiary::script::Engine;
using apiary::script::RunOptions;
using apiary::test::eval;
using apiary::test::tail;
using apiary::test::FakeScriptHost;

TEST_CASE("script redis.call: arguments and errors", "[unit][script]") {
  Engine engine;
  FakeScriptHost host;
  CHECK(eval(engine, "return redis.call('set','k',3.5)", host) == "+OK\r\n");
  CHECK(host.store["k"] == "3.5");
  CHECK(eval(engine, "redis.call('set','k',0.1) return redis.call('get','k')", host) ==
        "$19\r\n0.10000000000000001\r\n");
  CHECK(eval(engine, "redis.call('set','k',1e20) return redis.call('get','k')", host) ==
        "$5\r\n1e+20\r\n");
  CHECK(eval(engine, "redis.call('set','k',2^53) return redis.call('get','k')", host) ==
        "$16\r\n9007199254740992\r\n");
  CHECK(eval(engine, "redis.call('set','k',-0.0) return redis.call('get','k')", host) ==
        "$2\r\n-0\r\n");
  CHECK(eval(engine, "redis.call('set','k',1/0) return redis.call('get','k')", host) ==
        "$3\r\ninf\r\n");
  CHECK(eval(engine, "return redis.call()", host) ==
        "-ERR Please specify at least one argument for this redis lib call" +
            tail("return redis.call()"));
  CHECK(eval(engine, "return redis.call({})", host) ==
        "-ERR Lua redis lib command arguments must be strings or integers" +
            tail("return redis.call({})"));
  CHECK(eval(engine, "return redis.call('set', 'k', true)", host) ==
        "-ERR Lua redis lib command arguments must be strings or integers" +
            tail("return redis.call('set', 'k', true)"));
  CHECK(eval(engine, "return redis.pcall()", host) ==
        "-ERR Please specify at least one argument for this redis lib call\r\n");
  CHECK(eval(engine, "return redis.pcall('ping', {})", host) ==
        "-ERR Lua redis lib command arguments must be strings or integers\r\n");
  CHECK(eval(engine, "return redis.pcall('nosuch')", host) ==
        "-ERR Unknown Redis command called from script\r\n");
  CHECK(eval(engine, "return redis.call('nosuch')", host) ==
        "-ERR Unknown Redis command called from script" + tail("return redis.call('nosuch')"));
  CHECK(eval(engine, "return redis.pcall('nosuch').err", host) ==
        "$44\r\nERR Unknown Redis command called from script\r\n");
  CHECK(eval(engine,
             "local r = redis.pcall('nosuch') local n=0 for k,v in pairs(r) do n=n+1 end "
             "return n",
             host) == ":2\r\n");
  // Redis 7.0.15's pcall hands a caught {err=...} to the script as its string.
  CHECK(eval(engine, "local ok, e = pcall(redis.call, 'nosuch') return e", host) ==
        "$44\r\nERR Unknown Redis command called from script\r\n");
  CHECK(eval(engine, "local ok, e = pcall(error, {err='x'}) return type(e)", host) ==
        "$6\r\nstring\r\n");
  CHECK(eval(engine,
             "local ok, e = xpcall(function() return redis.call('nosuch') end, "
             "function(x) return type(x) end) return e",
             host) == "$5\r\ntable\r\n");
  CHECK(eval(engine, "local ok, e = pcall(function() local x = nosuch end) return e", host) ==
        "$78\r\nuser_script:1: Script attempted to access nonexistent global variable "
        "'nosuch'\r\n");
  host.canned["wrongtype"] =
      "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
  CHECK(eval(engine, "return redis.call('wrongtype')", host) ==
        "-WRONGTYPE Operation against a key holding the wrong kind of value" +
            tail("return redis.call('wrongtype')"));
  CHECK(eval(engine, "return redis.pcall('wrongtype')", host) ==
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
}

TEST_CASE("script redis.call: KEYS and ARGV", "[unit][script]") {
  Engine engine;
  FakeScriptHost host;
  CHECK(eval(engine, "return {KEYS[1], ARGV[1], #KEYS, #ARGV}", host, 2, {"k1", "k2"}, {"a1"}) ==
        "*4\r\n$2\r\nk1\r\n$2\r\na1\r\n:2\r\n:1\r\n");
  CHECK(eval(engine, "return #KEYS", host) == ":0\r\n");
  CHECK(eval(engine, "return redis.call('set', KEYS[1], ARGV[1])", host, 2, {"key"}, {"value"}) ==
        "+OK\r\n");
  CHECK(host.store["key"] == "value");
  REQUIRE_FALSE(host.calls.empty());
  CHECK(host.calls.back() == std::vector<std::string>{"set", "key", "value"});
}

TEST_CASE("script redis.call: RESP2 replies in Lua", "[unit][script]") {
  Engine engine;
  FakeScriptHost host;
  host.canned["hgetall"] = "*2\r\n$1\r\na\r\n$1\r\n1\r\n";
  host.canned["nullarr"] = "*-1\r\n";
  host.canned["int"] = ":-42\r\n";
  CHECK(eval(engine, "return cjson.encode(redis.call('set','x','y'))", host) ==
        "$11\r\n{\"ok\":\"OK\"}\r\n");
  CHECK(eval(engine, "return type(redis.call('get','nokey'))", host) == "$7\r\nboolean\r\n");
  CHECK(eval(engine, "return type(redis.call('nullarr'))", host) == "$7\r\nboolean\r\n");
  CHECK(eval(engine, "return redis.call('int') * 2", host) == ":-84\r\n");
  CHECK(eval(engine, "return redis.call('hgetall')", host) == "*2\r\n$1\r\na\r\n$1\r\n1\r\n");
  CHECK(eval(engine, "return type(redis.call('ping'))", host) == "$5\r\ntable\r\n");
  CHECK(eval(engine, "return redis.call('ping', 'x')", host) == "$1\r\nx\r\n");
}

TEST_CASE("script redis.call: RESP3 replies in Lua after redis.setresp(3)", "[unit][script]") {
  Engine engine;
  FakeScriptHost host;
  host.canned["hgetall"] = "%1\r\n$1\r\na\r\n$1\r\n1\r\n";
  host.canned["smembers"] = "~1\r\n$1\r\nm\r\n";
  host.canned["zscore"] = ",1.5\r\n";
  host.canned["yes"] = "#t\r\n";
  host.canned["big"] = "(3492890328409238509324850943850943825024385\r\n";
  host.canned["verb"] = "=15\r\ntxt:Some string\r\n";
  host.canned["attr"] = "|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.1923\r\n*1\r\n:7\r\n";
  host.canned["null"] = "_\r\n";
  CHECK(eval(engine,
             "redis.setresp(3) return cjson.encode({redis.call('hgetall'), "
             "redis.call('smembers'), redis.call('zscore')})",
             host) ==
        "$53\r\n[{\"map\":{\"a\":\"1\"}},{\"set\":{\"m\":true}},{\"double\":1.5}]\r\n");
  CHECK(eval(engine, "redis.setresp(3) return redis.call('zscore')", host) == "$3\r\n1.5\r\n");
  CHECK(eval(engine, "redis.setresp(3) return redis.call('zscore')", host, 3) == ",1.5\r\n");
  CHECK(eval(engine, "redis.setresp(3) return redis.call('hgetall')", host, 3) ==
        "%1\r\n$1\r\na\r\n$1\r\n1\r\n");
  CHECK(eval(engine, "redis.setresp(3) return redis.call('smembers')", host, 3) ==
        "~1\r\n$1\r\nm\r\n");
  CHECK(eval(engine, "redis.setresp(3) return redis.call('hgetall')", host) ==
        "*2\r\n$1\r\na\r\n$1\r\n1\r\n");
  CHECK(eval(engine, "redis.setresp(3) return type(redis.call('null'))", host) == "$3\r\nnil\r\n");
  CHECK(eval(engine, "redis.setresp(3) return {redis.call('null'), 1}", host) == "*0\r\n");
  CHECK(eval(engine, "redis.setresp(3) return redis.call('yes')", host, 3) == "#t\r\n");
  CHECK(eval(engine, "redis.setresp(3) return redis.call('big')", host, 3) ==
        "(3492890328409238509324850943850943825024385\r\n");
  CHECK(eval(engine, "redis.setresp(3) return redis.call('verb').verbatim_string.format", host) ==
        "$3\r\ntxt\r\n");
  CHECK(eval(engine, "redis.setresp(3) return redis.call('verb')", host, 3) ==
        "=15\r\ntxt:Some string\r\n");
  CHECK(eval(engine, "redis.setresp(3) return redis.call('attr')", host) == "*1\r\n:7\r\n");
  // The Host is asked in the script's protocol, which starts at 2 for every run.
  host.calls.clear();
  CHECK(eval(engine, "return redis.call('get', 'nokey')", host, 3) == "_\r\n");
  CHECK(eval(engine, "redis.setresp(3) return type(redis.call('get', 'nokey'))", host) ==
        "$3\r\nnil\r\n");
}

TEST_CASE("script redis table: helpers and their errors", "[unit][script]") {
  Engine engine;
  FakeScriptHost host;
  auto check_error = [&](std::string_view body, std::string_view message) {
    CHECK(eval(engine, body, host) == "-ERR " + std::string(message) + tail(body));
  };
  CHECK(eval(engine, "return redis.sha1hex('')", host) ==
        "$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n");
  CHECK(eval(engine, "return redis.sha1hex(1)", host) ==
        "$40\r\n356a192b7913b04c54574d18c28d46e6395428ab\r\n");
  CHECK(eval(engine, "return redis.sha1hex({})", host) ==
        "$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n");
  check_error("return redis.sha1hex()", "wrong number of arguments");
  check_error("return redis.setresp(4)", "RESP version must be 2 or 3.");
  check_error("return redis.setresp()", "redis.setresp() requires one argument.");
  CHECK(eval(engine, "redis.setresp('3') return 1", host) == ":1\r\n");
  check_error("return redis.set_repl(7)",
              "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
  check_error("return redis.set_repl()", "redis.set_repl() requires two arguments.");
  CHECK(eval(engine, "return redis.set_repl(redis.REPL_ALL)", host) == "$-1\r\n");
  CHECK(eval(engine, "return redis.replicate_commands()", host) == ":1\r\n");
  CHECK(eval(engine, "return redis.breakpoint()", host) == "$-1\r\n");
  CHECK(eval(engine, "return redis.debug('x')", host) == "$-1\r\n");
  check_error("return redis.log(1)", "redis.log() requires two arguments or more.");
  check_error("return redis.log('a','b')", "First argument must be a number (log level).");
  check_error("return redis.log(9,'b')", "Invalid debug level.");
  CHECK(eval(engine, "return redis.log(redis.LOG_WARNING,'hello',{},3)", host) == "$-1\r\n");
  REQUIRE(host.logs.size() == 1);
  CHECK(host.logs[0] == std::pair<int, std::string>{3, "hello 3"});
  CHECK(eval(engine,
             "return {redis.REDIS_VERSION, redis.REDIS_VERSION_NUM, redis.LOG_DEBUG, "
             "redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.REPL_NONE, redis.REPL_AOF, "
             "redis.REPL_SLAVE, redis.REPL_REPLICA}",
             host) ==
        "*9\r\n$6\r\n7.0.15\r\n:458767\r\n:0\r\n:1\r\n:2\r\n:0\r\n:1\r\n:2\r\n:2\r\n");
}

TEST_CASE("script redis.acl_check_cmd asks the Host", "[unit][script]") {
  Engine engine;
  FakeScriptHost host;
  host.denied = {"del"};
  CHECK(eval(engine, "return redis.acl_check_cmd('get', 'x')", host) == ":1\r\n");
  CHECK(eval(engine, "return redis.acl_check_cmd('GET')", host) == ":1\r\n");
  CHECK(eval(engine, "return redis.acl_check_cmd('set', 1)", host) == ":1\r\n");
  CHECK(eval(engine, "return redis.acl_check_cmd('del', 'x')", host) == "$-1\r\n");
  CHECK(eval(engine, "return redis.acl_check_cmd('nosuch')", host) ==
        "-ERR Invalid command passed to redis.acl_check_cmd()" +
            tail("return redis.acl_check_cmd('nosuch')"));
  CHECK(eval(engine, "return redis.acl_check_cmd()", host) ==
        "-ERR Please specify at least one argument for this redis lib call" +
            tail("return redis.acl_check_cmd()"));
  CHECK(eval(engine, "return redis.acl_check_cmd({})", host) ==
        "-ERR Lua redis lib command arguments must be strings or integers" +
            tail("return redis.acl_check_cmd({})"));
}
