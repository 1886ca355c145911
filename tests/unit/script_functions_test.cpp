// script::Engine's FUNCTION libraries: metadata, registration in both forms, the restricted
// load-time globals, name conflicts, REPLACE, and running functions with (keys, args).
// Expected texts come from redis-server 7.0.15.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "apiary/script/engine.hpp"
#include "support/script_fake_host.hpp"

using apiary::script::Engine;
using apiary::script::RunOptions;
using apiary::test::FakeScriptHost;

namespace {

std::string load(Engine& engine, std::string_view code, bool replace = false) {
  auto loaded = engine.load_library(code, replace);
  return loaded.ok() ? *loaded.value : loaded.refusal.message;
}

std::string body(std::string_view lines) { return "#!lua name=libx\n" + std::string(lines); }

std::string fcall(Engine& engine, std::string_view name, FakeScriptHost& host,
                  std::vector<std::string_view> keys = {}, std::vector<std::string_view> args = {},
                  int protocol = 2) {
  RunOptions options;
  options.keys = keys;
  options.args = args;
  options.protocol = protocol;
  return engine.run_function(name, options, host);
}

}  // namespace

TEST_CASE("script functions: library metadata", "[unit][script]") {
  Engine engine;
  CHECK(load(engine, "redis.register_function('f', function() end)") ==
        "ERR Missing library metadata");
  CHECK(load(engine, "#!lua name=lib1") == "ERR Invalid library metadata");
  CHECK(load(engine, "#!lua\n") == "ERR Library name was not given");
  CHECK(load(engine, "#!lua name=\n") ==
        "ERR Library names can only contain letters, numbers, or underscores(_) and must be at "
        "least one character long");
  CHECK(load(engine, "#!lua name=a-b\n") ==
        "ERR Library names can only contain letters, numbers, or underscores(_) and must be at "
        "least one character long");
  CHECK(load(engine, "#!lua name=a b\n") == "ERR Invalid metadata value given: b");
  CHECK(load(engine, "#!lua name=a foo=bar\n") == "ERR Invalid metadata value given: foo=bar");
  CHECK(load(engine, "#!lua x name=lib1\n") == "ERR Invalid metadata value given: x");
  CHECK(load(engine, "#!lua name=a name=b\n") ==
        "ERR Invalid metadata value, name argument was given multiple times");
  CHECK(load(engine, "#!py name=lib1\n") == "ERR Engine 'py' not found");
  CHECK(load(engine, "#!lua name=lib1\nsyntax error here") ==
        "ERR Error compiling function: user_function:2: '=' expected near 'error'");
  CHECK(load(engine, "#!lua name=lib1\nreturn 1") == "ERR No functions registered");
  CHECK(load(engine, "#!LUA name=lib9\nredis.register_function('q', function() end)") == "lib9");
  CHECK(load(engine, "#!lua  name=lib8\nredis.register_function('q8', function() end)") == "lib8");
  CHECK(engine.libraries().size() == 2);
}

TEST_CASE("script functions: load-time globals and registration errors", "[unit][script]") {
  Engine engine;
  const std::string prefix = "ERR Error registering functions: ERR ";
  auto nonexistent = [&](std::string_view name) {
    return prefix + "user_function:2: Script attempted to access nonexistent global variable '" +
           std::string(name) + "'";
  };
  CHECK(load(engine, body("redis.call('ping')")) == nonexistent("call"));
  CHECK(load(engine, body("redis.pcall('ping')")) == nonexistent("pcall"));
  CHECK(load(engine, body("local x = string.format('a')")) == nonexistent("string"));
  CHECK(load(engine, body("error('boom')")) == nonexistent("error"));
  CHECK(load(engine, body("return redis.setresp(3)")) == nonexistent("setresp"));
  CHECK(load(engine, body("local t = {} for k,v in pairs(redis) do end")) == nonexistent("pairs"));
  CHECK(load(engine, body("x = 1")) ==
        prefix + "user_function:2: Attempt to modify a readonly table");
  CHECK(load(engine, body("redis.foo = 1")) ==
        prefix + "user_function:2: Attempt to modify a readonly table");
  const std::string bad_name =
      prefix +
      "Library names can only contain letters, numbers, or underscores(_) and must be at least "
      "one character long";
  CHECK(load(engine, body("redis.register_function('f-2', function() end)")) == bad_name);
  CHECK(load(engine, body("redis.register_function('', function() end)")) == bad_name);
  CHECK(load(engine, body("redis.register_function('f2')")) ==
        prefix +
            "calling redis.register_function with a single argument is only applicable to Lua "
            "table (representing named arguments).");
  CHECK(load(engine, body("redis.register_function('f2', 1)")) ==
        prefix + "second argument to redis.register_function must be a function");
  CHECK(load(engine, body("redis.register_function({}, function() end)")) ==
        prefix + "first argument to redis.register_function must be a string");
  CHECK(load(engine, body("redis.register_function()")) ==
        prefix + "wrong number of arguments to redis.register_function");
  CHECK(load(engine, body("redis.register_function('a','b','c')")) ==
        prefix + "wrong number of arguments to redis.register_function");
  CHECK(load(engine, body("redis.register_function{function_name='f2', callback=function() "
                          "end, flags={'bad'}}")) == prefix + "unknown flag given");
  CHECK(load(engine, body("redis.register_function{function_name='f2', callback=function() "
                          "end, flags={1}}")) == prefix + "unknown flag given");
  CHECK(load(engine, body("redis.register_function{function_name='f2', callback=function() "
                          "end, flags='no-writes'}")) ==
        prefix +
            "flags argument to redis.register_function must be a table representing function "
            "flags");
  CHECK(load(engine,
             body("redis.register_function{function_name='f2', callback=function() end, foo=1}")) ==
        prefix + "unknown argument given to redis.register_function");
  CHECK(load(engine, body("redis.register_function{callback=function() end}")) ==
        prefix + "redis.register_function must get a function name argument");
  CHECK(load(engine, body("redis.register_function({})")) ==
        prefix + "redis.register_function must get a function name argument");
  CHECK(load(engine, body("redis.register_function{function_name='f2'}")) ==
        prefix + "redis.register_function must get a callback argument");
  CHECK(load(engine, body("redis.register_function{function_name='f2', callback=1}")) ==
        prefix + "callback argument given to redis.register_function must be a function");
  CHECK(load(engine, body("redis.register_function{function_name={}, callback=function() end}")) ==
        prefix + "function_name argument given to redis.register_function must be a string");
  CHECK(load(engine, body("redis.register_function{function_name='f2', callback=function() "
                          "end, description={}}")) ==
        prefix + "description argument given to redis.register_function must be a string");
  CHECK(load(engine, body("redis.register_function('f2', function() end) "
                          "redis.register_function('f2', function() end)")) ==
        prefix + "Function already exists in the library");
  CHECK(load(engine, body("redis.register_function('f2', function() return 1 end) "
                          "while true do end")) ==
        "ERR Error registering functions: ERR FUNCTION LOAD timeout");
  CHECK(engine.libraries().empty());
  CHECK(engine.function_count() == 0);
}

TEST_CASE("script functions: registering, listing and calling", "[unit][script]") {
  Engine engine;
  FakeScriptHost host;
  REQUIRE(load(engine, body("redis.log(redis.LOG_WARNING, 'loading', redis.REDIS_VERSION)\n"
                            "redis.register_function{function_name='f2', callback=function() "
                            "return redis.REDIS_VERSION end, flags={'no-writes','allow-oom',"
                            "'allow-stale','no-cluster','allow-cross-slot-keys'}, "
                            "description='hello'}\n"
                            "redis.register_function(1, function(keys, args) return "
                            "{keys[1], args[1], #keys, #args} end)")) == "libx");
  const auto* lib = engine.find_library("libx");
  REQUIRE(lib != nullptr);
  CHECK(lib->engine == "LUA");
  REQUIRE(lib->functions.size() == 2);
  CHECK(lib->functions[0].name == "1");
  CHECK(lib->functions[1].name == "f2");
  const auto* f2 = engine.find_function("F2");
  REQUIRE(f2 != nullptr);
  CHECK(f2->library == "libx");
  CHECK(f2->description == "hello");
  CHECK(f2->flags.declared);
  CHECK(f2->flags.no_writes);
  CHECK(f2->flags.allow_oom);
  CHECK(f2->flags.allow_stale);
  CHECK(f2->flags.no_cluster);
  CHECK(f2->flags.allow_cross_slot_keys);
  CHECK(engine.function_count() == 2);
  CHECK(engine.libraries_bytes() == lib->code.size());
  CHECK(fcall(engine, "f2", host) == "$6\r\n7.0.15\r\n");
  CHECK(fcall(engine, "1", host, {"k"}, {"a"}) == "*4\r\n$1\r\nk\r\n$1\r\na\r\n:1\r\n:1\r\n");
  CHECK(fcall(engine, "nosuch", host) == "-ERR Function not found\r\n");
}

TEST_CASE("script functions: runtime errors and globals", "[unit][script]") {
  Engine engine;
  FakeScriptHost host;
  REQUIRE(
      load(engine,
           "#!lua name=lib3\n"
           "redis.register_function('f3', function(keys, args) return 1 end)\n"
           "redis.register_function('f4', function(keys, args) return x end)\n"
           "redis.register_function('f5', function(keys, args) error('boom') end)\n"
           "redis.register_function('f6', function(keys, args) return redis.call('nosuch') end)\n"
           "redis.register_function('f7', function(keys, args) return KEYS end)\n"
           "redis.register_function('f8', function(keys, args) y = 1 end)\n"
           "redis.register_function('f9', function() return redis.register_function('x', "
           "function() end) end)\n"
           "redis.register_function('f10', function() return cjson.encode({1}) end)\n"
           "redis.register_function('f11', function() return rawget(_G, 'redis') == nil end)\n"
           "local x = {} x.y = 5\n"
           "redis.register_function('f12', function() return x.y end)\n"
           "redis.register_function('spin', function() while true do end end)\n") == "lib3");
  CHECK(fcall(engine, "f4", host) ==
        "-ERR user_function:3: Script attempted to access nonexistent global variable 'x' "
        "script: f4, on @user_function:3.\r\n");
  CHECK(fcall(engine, "f5", host) ==
        "-ERR user_function:4: boom script: f5, on @user_function:4.\r\n");
  CHECK(fcall(engine, "f6", host) ==
        "-ERR Unknown Redis command called from script script: f6, on @user_function:5.\r\n");
  CHECK(fcall(engine, "f7", host) ==
        "-ERR user_function:6: Script attempted to access nonexistent global variable 'KEYS' "
        "script: f7, on @user_function:6.\r\n");
  CHECK(fcall(engine, "f8", host) ==
        "-ERR user_function:7: Attempt to modify a readonly table script: f8, on "
        "@user_function:7.\r\n");
  CHECK(fcall(engine, "f9", host) ==
        "-ERR user_function:8: attempt to call field 'register_function' (a nil value) script: "
        "f9, on @user_function:8.\r\n");
  CHECK(fcall(engine, "f10", host) == "$3\r\n[1]\r\n");
  CHECK(fcall(engine, "f11", host) == "$-1\r\n");
  CHECK(fcall(engine, "f12", host) == ":5\r\n");
  REQUIRE(load(engine,
               "#!lua name=lib4\nredis.register_function('api', function() local t = {} for k "
               "in pairs(redis) do t[#t+1] = k end table.sort(t) return table.concat(t, ' ') "
               "end)") == "lib4");
  // No breakpoint, debug or replicate_commands: eval.c adds those for scripts only.
  CHECK(fcall(engine, "api", host) ==
        "$207\r\nLOG_DEBUG LOG_NOTICE LOG_VERBOSE LOG_WARNING REDIS_VERSION REDIS_VERSION_NUM "
        "REPL_ALL REPL_AOF REPL_NONE REPL_REPLICA REPL_SLAVE acl_check_cmd call error_reply log "
        "pcall set_repl setresp sha1hex status_reply\r\n");
  host.kill_after_hooks = 0;
  CHECK(fcall(engine, "spin", host) ==
        "-ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:13.\r\n");
  host.kill_after_hooks = -1;
  CHECK(fcall(engine, "f3", host) == ":1\r\n");
}

TEST_CASE("script functions: conflicts, REPLACE and deletion", "[unit][script]") {
  Engine engine;
  FakeScriptHost host;
  REQUIRE(load(engine, "#!lua name=lib1\nredis.register_function('f1', function() return 1 end)") ==
          "lib1");
  CHECK(load(engine, "#!lua name=lib1\nredis.register_function('f1', function() return 1 end)") ==
        "ERR Library 'lib1' already exists");
  CHECK(load(engine, "#!lua name=lib2\nredis.register_function('f1', function() end)") ==
        "ERR Function f1 already exists");
  CHECK(load(engine, "#!lua name=lib2\nredis.register_function('F1', function() end)") ==
        "ERR Function F1 already exists");
  // A failing new version leaves the old one.
  CHECK(load(engine, "#!lua name=lib1\nredis.register_function('f1', function() end)\nerror('x')",
             true) ==
        "ERR Error registering functions: ERR user_function:3: Script attempted to access "
        "nonexistent global variable 'error'");
  CHECK(fcall(engine, "f1", host) == ":1\r\n");
  REQUIRE(load(engine, "#!lua name=lib1\nredis.register_function('g1', function() return 9 end)",
               true) == "lib1");
  CHECK(fcall(engine, "f1", host) == "-ERR Function not found\r\n");
  CHECK(fcall(engine, "g1", host) == ":9\r\n");
  REQUIRE(load(engine, "#!lua name=lib2\nredis.register_function('f1', function() return 2 end)") ==
          "lib2");
  CHECK(fcall(engine, "f1", host) == ":2\r\n");
  CHECK(engine.delete_library("lib2"));
  CHECK_FALSE(engine.delete_library("lib2"));
  CHECK(engine.find_function("f1") == nullptr);
  engine.flush_libraries();
  CHECK(engine.libraries().empty());
  CHECK(engine.function_count() == 0);
  CHECK(engine.libraries_bytes() == 0);
}
