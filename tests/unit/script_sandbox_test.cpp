// script::Engine's sandbox: the globals Redis 7.0.15 exposes, read-only globals and libraries,
// math.random's sequence, the hook and SCRIPT KILL, deep tables. Expected texts come from
// redis-server 7.0.15.
#include <catch2/catch.hpp>
#include <string>

#include "apiary/script/engine.hpp"
#include "support/script_fake_host.hpp"

using apiary::script::Engine;
using apiary::script::RunOptions;
using apiary::test::eval;
using apiary::test::FakeScriptHost;
using apiary::test::tail;

TEST_CASE("script sandbox: the globals of redis-server 7.0.15", "[unit][script]") {
  Engine engine;
  FakeScriptHost host;
  for (const char* name : {"os", "io", "loadfile", "dofile", "require", "debug", "print", "getfenv",
                           "setfenv", "newproxy", "module", "package"}) {
    const std::string body = std::string("return type(") + name + ")";
    CHECK(eval(engine, body, host) ==
          "-ERR user_script:1: Script attempted to access nonexistent global variable '" +
              std::string(name) + "'" + tail(body));
  }
  for (const char* name : {"loadstring", "collectgarbage", "gcinfo", "unpack", "load", "xpcall",
                           "pcall", "rawget", "rawset", "next", "pairs", "ipairs", "select"}) {
    CHECK(eval(engine, std::string("return type(") + name + ")", host) == "$8\r\nfunction\r\n");
  }
  for (const char* name : {"_G", "coroutine", "string", "table", "math", "bit", "cjson", "cmsgpack",
                           "struct", "redis"}) {
    CHECK(eval(engine, std::string("return type(") + name + ")", host) == "$5\r\ntable\r\n");
  }
  CHECK(eval(engine,
             "local t={} for k,v in pairs(_G) do t[#t+1]=k end table.sort(t) "
             "return table.concat(t, ' ')",
             host) ==
        "$271\r\nARGV KEYS _G _VERSION __redis__err__handler assert bit cjson cmsgpack "
        "collectgarbage coroutine error gcinfo getmetatable ipairs load loadstring math next "
        "pairs pcall rawequal rawget rawset redis select setmetatable string struct table "
        "tonumber tostring type unpack xpcall\r\n");
  CHECK(eval(engine, "return rawget(_G,'redis') ~= nil", host) == ":1\r\n");
  CHECK(eval(engine, "return type(getmetatable(_G))", host) == "$5\r\ntable\r\n");
  CHECK(eval(engine, "return redis.nosuch", host) == "$-1\r\n");
  CHECK(eval(engine, "return string.nosuch", host) == "$-1\r\n");
  CHECK(eval(engine, "return ('x'):rep(3)", host) == "$3\r\nxxx\r\n");
  CHECK(eval(engine, "return table.getn({1,2})", host) == ":2\r\n");
  CHECK(eval(engine, "return loadstring('return 1')()", host) == ":1\r\n");
}

TEST_CASE("script sandbox: globals and libraries are read-only", "[unit][script]") {
  Engine engine;
  FakeScriptHost host;
  const std::string ro = "-ERR user_script:1: Attempt to modify a readonly table";
  const std::string ro_c = "-ERR Attempt to modify a readonly table";
  for (const char* body : {"x = 1", "redis = nil", "_G.x = 1", "string.foo = 1", "redis.call = nil",
                           "math.random = nil", "getmetatable('').__index.foo = 1",
                           "getmetatable('').__index = nil", "getmetatable(_G).__index = nil"}) {
    CHECK(eval(engine, body, host) == ro + tail(body));
  }
  for (const char* body : {"setmetatable(_G, nil)", "rawset(_G,'x',1)", "table.insert(string, 1)",
                           "rawset(redis, 'call', 1)"}) {
    CHECK(eval(engine, body, host) == ro_c + tail(body));
  }
  CHECK(eval(engine, "return loadstring('x = 1')()", host) ==
        "-ERR [string \"x = 1\"]:1: Attempt to modify a readonly table script: " +
            Engine::sha1_hex("return loadstring('x = 1')()") + ", on x = 1:1.\r\n");
  // The guarded base functions still report their own errors as Lua does.
  CHECK(eval(engine, "table.insert(1, 2)", host) ==
        "-ERR user_script:1: bad argument #1 to 'insert' (table expected, got number)" +
            tail("table.insert(1, 2)"));
  CHECK(eval(engine, "setmetatable({}, 1)", host) ==
        "-ERR user_script:1: bad argument #2 to 'setmetatable' (nil or table expected)" +
            tail("setmetatable({}, 1)"));
  CHECK(eval(engine, "table.sort(string) return table.remove(string)", host) == "$-1\r\n");
  CHECK(eval(engine, "local n = 0 for k in pairs(string) do n = n + 1 end return n", host) ==
        ":15\r\n");
  // Nothing leaked into the state.
  CHECK(eval(engine, "return type(redis.call)", host) == "$8\r\nfunction\r\n");
  CHECK(eval(engine, "return type(math.random)", host) == "$8\r\nfunction\r\n");
  // Tables a script makes are its own.
  CHECK(eval(engine, "KEYS[1]='x' return KEYS[1]", host) == "$1\r\nx\r\n");
  CHECK(eval(engine, "local t = setmetatable({}, {__index=function() return 7 end}) return t.a",
             host) == ":7\r\n");
  CHECK(eval(engine, "local t = {} rawset(t, 'a', 1) return rawget(t, 'a')", host) == ":1\r\n");
}

TEST_CASE("script sandbox: no bytecode is ever loaded", "[unit][script]") {
  Engine engine;
  FakeScriptHost host;
  // Redis parses every chunk as text; Lua 5.1 would run unverified bytecode.
  CHECK(eval(engine, "return select(2, loadstring(string.dump(function() return 1 end)))", host) ==
        "$53\r\n[string \"\x1bLuaQ\"]:1: unexpected symbol near 'char(27)'\r\n");
  CHECK(eval(engine,
             "return type(load(function() local s = string.dump(function() return 1 end) "
             "local d = s s = nil return d end))",
             host) == "$3\r\nnil\r\n");
  CHECK(eval(engine,
             "local n = 0 return load(function() n = n + 1 if n == 1 then return 'return ' "
             "elseif n == 2 then return '42' end end)()",
             host) == ":42\r\n");
  CHECK(engine.load_script("\x1bLua").refusal.message ==
        "ERR Error compiling script (new function): user_script:1: unexpected symbol near "
        "'char(27)'");
}

TEST_CASE("script sandbox: math.random follows redis-server's generator", "[unit][script]") {
  Engine engine;
  FakeScriptHost host;
  // A fresh redis-server 7.0.15: the libc default lrand48 state, never reset between scripts.
  CHECK(eval(engine,
             "return {tostring(math.random()), math.random(100), math.random(5,10), "
             "tostring(math.random())}",
             host) == "*4\r\n$16\r\n0.39646477363839\r\n:85\r\n:7\r\n$16\r\n0.44658343468168\r\n");
  CHECK(eval(engine, "math.randomseed(42) return {tostring(math.random()), math.random(1000000)}",
             host) == "*2\r\n$16\r\n0.74452500033403\r\n:342702\r\n");
  CHECK(eval(engine, "math.randomseed(0) return tostring(math.random())", host) ==
        "$16\r\n0.17082803611217\r\n");
  CHECK(eval(engine, "return math.random(0)", host) ==
        "-ERR user_script:1: bad argument #1 to 'random' (interval is empty)" +
            tail("return math.random(0)"));
  CHECK(eval(engine, "return math.random(1,2,3)", host) ==
        "-ERR user_script:1: wrong number of arguments" + tail("return math.random(1,2,3)"));
}

TEST_CASE("script sandbox: the hook asks the Host and a kill stops the script", "[unit][script]") {
  Engine engine;
  FakeScriptHost host;
  host.kill_after_hooks = 3;
  const std::string spin = "while true do end";
  CHECK(eval(engine, spin, host) == "-ERR Script killed by user with SCRIPT KILL..." + tail(spin));
  CHECK(host.hooks == 4);
  // pcall cannot swallow the kill.
  const std::string sneaky =
      "local x = 1\nwhile true do pcall(function() while true do end end) end";
  host.hooks = 0;
  CHECK(eval(engine, sneaky, host) ==
        "-ERR Script killed by user with SCRIPT KILL..." + tail(sneaky, 2));
  // The state is usable afterwards and the hook does not fire for short scripts.
  host.kill_after_hooks = -1;
  host.hooks = 0;
  CHECK(eval(engine, "return 1", host) == ":1\r\n");
  CHECK(host.hooks == 0);
  CHECK(eval(engine, "local n = 0 for i = 1, 1000000 do n = n + i end return n", host) ==
        ":500000500000\r\n");
  CHECK(host.hooks > 0);
  CHECK_FALSE(engine.running());
}

TEST_CASE("script sandbox: deep and self-referencing tables do not crash", "[unit][script]") {
  Engine engine;
  FakeScriptHost host;
  const std::string reply = eval(engine, "local t = {} t[1] = t return t", host);
  // redis-server 7.0.15 nests 7995 arrays, then this error.
  std::size_t depth = 0;
  while (reply.compare(depth * 4, 4, "*1\r\n") == 0) ++depth;
  CHECK(depth == 7995);
  CHECK(reply.substr(depth * 4) == "-ERR reached lua stack limit\r\n");
  // Inside maps too (RESP3), and with tables as keys.
  auto run3 = [&](std::string_view body) {
    auto loaded = engine.load_script(body);
    RunOptions options;
    options.protocol = 3;
    return engine.run_script(*loaded.value, options, host);
  };
  CHECK(run3("return {map={a={1,{2,{set={z=true}}}}}}") ==
        "%1\r\n$1\r\na\r\n*2\r\n:1\r\n*2\r\n:2\r\n~1\r\n$1\r\nz\r\n");
  CHECK(run3("return {map={[{1}]={2}}}") == "%1\r\n*1\r\n:1\r\n*1\r\n:2\r\n");
  const std::string in_map = run3("local t = {} t[1] = t return {map={a=t}}");
  CHECK(in_map.size() == 32009);
  CHECK(in_map.substr(0, 11) == "%1\r\n$1\r\na\r\n");
  CHECK(in_map.substr(in_map.size() - 31) == "\n-ERR reached lua stack limit\r\n");
  CHECK(eval(engine,
             "local function r(n) if n == 0 then return 0 end return 1 + r(n-1) end "
             "return r(1000000)",
             host)
            .find("stack overflow") != std::string::npos);
  CHECK(eval(engine,
             "local s = string.rep('x', 1000) local t = {} for i=1,1000 do t[i]=s end "
             "return #table.concat(t)",
             host) == ":1000000\r\n");
  CHECK(eval(engine, "return 1", host) == ":1\r\n");
}
