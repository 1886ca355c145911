// script::Engine's memory cap: a script that grows its state past kLuaMemoryLimit gets an
// error, not the node's memory, and the engine keeps working after it.
#include <catch2/catch.hpp>
#include <string>

#include "apiary/script/engine.hpp"
#include "support/script_fake_host.hpp"

using apiary::script::Engine;
using apiary::script::RunOptions;
using apiary::test::FakeScriptHost;

TEST_CASE("script memory: a script past the cap fails and the engine goes on", "[unit][script]") {
  Engine engine;
  FakeScriptHost host;
  // 1 MiB strings kept in a table: 512 of them reach the cap.
  const std::string hog =
      "local t = {} for i = 1, 100000 do t[i] = string.rep('x', 1048576) .. i end return #t";
  auto loaded = engine.load_script(hog);
  REQUIRE(loaded.ok());
  const std::string reply = engine.run_script(*loaded.value, RunOptions{}, host);
  INFO(reply);
  CHECK(reply.rfind("-", 0) == 0);
  CHECK(reply.find("not enough memory") != std::string::npos);
  // The garbage is collected and the state still runs scripts.
  CHECK(engine.eval_memory_bytes() < (std::size_t{64} << 20));
  auto small = engine.load_script("return string.rep('y', 1000):len()");
  REQUIRE(small.ok());
  CHECK(engine.run_script(*small.value, RunOptions{}, host) == ":1000\r\n");
  // The hog again fails the same way (the cap did not leak).
  CHECK(engine.run_script(*loaded.value, RunOptions{}, host).find("not enough memory") !=
        std::string::npos);
}
