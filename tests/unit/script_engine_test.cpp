// script::Engine: EVAL scripts against a fake Host, replies compared with what redis-server
// 7.0.15 sends for the same script.
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "apiary/script/engine.hpp"
#include "support/script_fake_host.hpp"

using apiary::script::Engine;
using apiary::script::RunOptions;
using apiary::test::eval;
using apiary::test::FakeScriptHost;

namespace {

std::string eval(std::string_view body, int protocol = 2) {
  Engine engine;
  FakeScriptHost host;
  return eval(engine, body, host, protocol);
}

}  // namespace

TEST_CASE("script: sha1 and the cache", "[unit][script]") {
  Engine engine;
  CHECK(Engine::sha1_hex("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  CHECK(Engine::sha1_hex("return 1") == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
  auto loaded = engine.load_script("return 1");
  REQUIRE(loaded.ok());
  CHECK(*loaded.value == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
  CHECK(engine.has_script("E0E1F9FABFC9D4800C877A703B823AC0578FF8DB"));
  CHECK(engine.script_count() == 1);
  CHECK(engine.scripts_bytes() == 8);
  REQUIRE(engine.script_body(*loaded.value) != nullptr);
  CHECK(*engine.script_body(*loaded.value) == "return 1");
  CHECK_FALSE(engine.script_flags(*loaded.value)->declared);
  CHECK(engine.eval_memory_bytes() > 0);
  CHECK(engine.functions_memory_bytes() > 0);
  engine.flush_scripts();
  CHECK_FALSE(engine.has_script(*loaded.value));
  CHECK(engine.script_count() == 0);
  FakeScriptHost host;
  CHECK(engine.run_script(*loaded.value, {}, host) ==
        "-NOSCRIPT No matching script. Please use EVAL.\r\n");
}

TEST_CASE("script: compile errors and shebangs", "[unit][script]") {
  Engine engine;
  auto bad = engine.load_script("return 'a' +");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.refusal.message ==
        "ERR Error compiling script (new function): user_script:1: unexpected symbol near "
        "'<eof>'");
  CHECK(engine.load_script("#!lua\nreturn 'a' +").refusal.message ==
        "ERR Error compiling script (new function): user_script:2: unexpected symbol near "
        "'<eof>'");
  CHECK(engine.load_script("#!lua flags=bad\nreturn 1").refusal.message ==
        "ERR Unexpected flag in script shebang: bad");
  CHECK(engine.load_script("#!lua name=x\nreturn 1").refusal.message ==
        "ERR Unknown lua shebang option: name=x");
  CHECK(engine.load_script("#!py\nreturn 1").refusal.message ==
        "ERR Unexpected engine in script shebang: #!py");
  CHECK(engine.load_script("#!lua flags=no-writes").refusal.message ==
        "ERR Invalid script shebang");
  auto ok = engine.load_script("#!lua flags=no-writes,allow-stale\nreturn 1");
  REQUIRE(ok.ok());
  auto flags = *engine.script_flags(*ok.value);
  CHECK(flags.declared);
  CHECK(flags.no_writes);
  CHECK(flags.allow_stale);
  CHECK_FALSE(flags.allow_oom);
  CHECK(engine.load_script("#!lua flags=\nreturn 1").ok());
  CHECK(engine.script_count() == 2);
}

TEST_CASE("script: Lua values become replies as in Redis", "[unit][script]") {
  CHECK(eval("return {1,2,nil,4}") == "*2\r\n:1\r\n:2\r\n");
  CHECK(eval("return 3.99") == ":3\r\n");
  CHECK(eval("return -3.99") == ":-3\r\n");
  CHECK(eval("return -0.5") == ":0\r\n");
  CHECK(eval("return 1e300") == ":-9223372036854775808\r\n");
  CHECK(eval("return 0/0") == ":-9223372036854775808\r\n");
  CHECK(eval("return true") == ":1\r\n");
  CHECK(eval("return false") == "$-1\r\n");
  CHECK(eval("return nil") == "$-1\r\n");
  CHECK(eval("return {true,false,'x',{1,{2}}}") ==
        "*4\r\n:1\r\n$-1\r\n$1\r\nx\r\n*2\r\n:1\r\n*1\r\n:2\r\n");
  CHECK(eval("return {err='x'}") == "-x\r\n");
  CHECK(eval("return {err='My Error'}") == "-My Error\r\n");
  CHECK(eval("return {err=''}") == "-\r\n");
  CHECK(eval("return {ok='fine'}") == "+fine\r\n");
  CHECK(eval("return {ok='a\\r\\nb'}") == "+a  b\r\n");
  CHECK(eval("return {map={a=1},err='e'}") == "-e\r\n");
  // RESP2 downgrades
  CHECK(eval("return {double=3.5}") == "$3\r\n3.5\r\n");
  CHECK(eval("return {double=0.1}") == "$19\r\n0.10000000000000001\r\n");
  CHECK(eval("return {map={a=1}}") == "*2\r\n$1\r\na\r\n:1\r\n");
  CHECK(eval("return {set={a=true}}") == "*1\r\n$1\r\na\r\n");
  CHECK(eval("return {big_number='123'}") == "$3\r\n123\r\n");
  CHECK(eval("return {verbatim_string={format='txt',string='hi'}}") == "$2\r\nhi\r\n");
  CHECK(eval("redis.setresp(3) return true") == ":1\r\n");
  CHECK(eval("redis.setresp(3) return false") == ":0\r\n");
}

TEST_CASE("script: RESP3 replies", "[unit][script]") {
  CHECK(eval("return true", 3) == ":1\r\n");
  CHECK(eval("return false", 3) == "_\r\n");
  CHECK(eval("return nil", 3) == "_\r\n");
  CHECK(eval("redis.setresp(3) return true", 3) == "#t\r\n");
  CHECK(eval("redis.setresp(3) return false", 3) == "#f\r\n");
  CHECK(eval("return {double=3.5}", 3) == ",3.5\r\n");
  CHECK(eval("return {double='3.5'}", 3) == "*0\r\n");
  CHECK(eval("return {double=1/0}", 3) == ",inf\r\n");
  CHECK(eval("return {double=0.1}", 3) == ",0.10000000000000001\r\n");
  CHECK(eval("return {map={a=1}}", 3) == "%1\r\n$1\r\na\r\n:1\r\n");
  CHECK(eval("return {set={a=true}}", 3) == "~1\r\n$1\r\na\r\n");
  CHECK(eval("return {big_number='1\\r\\n2'}", 3) == "(1  2\r\n");
  CHECK(eval("return {verbatim_string={format='txt',string='hi'}}", 3) == "=6\r\ntxt:hi\r\n");
  CHECK(eval("return {verbatim_string={format='markdown',string='hi'}}", 3) == "=6\r\nmar:hi\r\n");
  CHECK(eval("return {double=2, map={}}", 3) == ",2\r\n");
}

TEST_CASE("script: runtime errors name the script and line", "[unit][script]") {
  Engine engine;
  FakeScriptHost host;
  auto run = [&](std::string_view body) { return eval(engine, body, host); };
  const std::string sha = Engine::sha1_hex("return x");
  CHECK(run("return x") ==
        "-ERR user_script:1: Script attempted to access nonexistent global "
        "variable 'x' script: " +
            sha + ", on @user_script:1.\r\n");
  auto tail = [](std::string_view body) {
    return " script: " + Engine::sha1_hex(body) + ", on @user_script:1.\r\n";
  };
  CHECK(run("error('boom')") == "-ERR user_script:1: boom" + tail("error('boom')"));
  CHECK(run("error({err='My Error'})") == "-My Error" + tail("error({err='My Error'})"));
  CHECK(run("error(nil)") == "-ERR nil" + tail("error(nil)"));
  CHECK(run("error(12)") == "-ERR user_script:1: 12" + tail("error(12)"));
  CHECK(run("return 'a' .. nil") ==
        "-ERR user_script:1: attempt to concatenate a nil value" + tail("return 'a' .. nil"));
  CHECK(run("error({})") == "-ERR unknown error" + tail("error({})"));  // Redis 7.0 crashes
  CHECK(run("return redis.error_reply('My Error')") == "-My Error\r\n");
  CHECK(run("return redis.error_reply('x')") == "-ERR x\r\n");
  CHECK(run("return redis.error_reply('-X y')") == "-X y\r\n");
  CHECK(run("return redis.error_reply('')") == "-ERR \r\n");
  CHECK(run("return redis.error_reply(1)") == "-ERR wrong number or type of arguments\r\n");
  CHECK(run("return redis.status_reply('x')") == "+x\r\n");
  CHECK(run("local t = redis.error_reply('x') return t.err") == "$5\r\nERR x\r\n");
  // The state stays usable.
  CHECK(run("return 1") == ":1\r\n");
}

namespace {

// A Host that reaches back into the engine, as a command layer serving SCRIPT LOAD or EVAL
// while a script is busy might.
class ReentrantHost : public FakeScriptHost {
 public:
  explicit ReentrantHost(Engine& engine) : engine_(engine) {}
  std::string nested_run;
  bool loaded_in_hook = false;

  std::string call(std::span<const std::string_view> argv, int protocol) override {
    if (argv[0] == "eval") {
      auto sha = engine_.load_script("return 2");
      nested_run = engine_.run_script(*sha.value, RunOptions{}, *this);
      return "+OK\r\n";
    }
    return FakeScriptHost::call(argv, protocol);
  }
  apiary::script::HookVerdict on_hook() override {
    if (!loaded_in_hook) loaded_in_hook = engine_.load_script("return 'from hook'").ok();
    return FakeScriptHost::on_hook();
  }

 private:
  Engine& engine_;
};

}  // namespace

TEST_CASE("script: a Host that re-enters the engine cannot break a running script",
          "[unit][script]") {
  Engine engine;
  ReentrantHost host(engine);
  CHECK(eval(engine, "local n = 0 for i = 1, 300000 do n = n + 1 end return n", host) ==
        ":300000\r\n");
  CHECK(host.loaded_in_hook);
  CHECK(eval(engine, "return 'from hook'", host) == "$9\r\nfrom hook\r\n");
  CHECK(eval(engine, "return redis.call('eval')", host) == "+OK\r\n");
  CHECK(host.nested_run == "-ERR a script is already running\r\n");
  CHECK_FALSE(engine.running());
  CHECK(eval(engine, "return {verbatim_string={format='ab', string='x'}}", host, 3) ==
        "=5\r\nab :x\r\n");
}
