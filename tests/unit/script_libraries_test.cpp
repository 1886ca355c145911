// The libraries scripts get besides Lua's own: struct and cmsgpack (ours, ported from the
// copies Redis bundles), cjson and bit (Debian's). Expected bytes come from redis-server
// 7.0.15 running the same scripts.
#include <catch2/catch.hpp>
#include <string>

#include "apiary/script/engine.hpp"
#include "support/script_fake_host.hpp"

using apiary::script::Engine;
using apiary::script::RunOptions;
using apiary::test::FakeScriptHost;

namespace {

struct Runner {
  Engine engine;
  FakeScriptHost host;
  std::string operator()(std::string_view body) {
    auto loaded = engine.load_script(body);
    if (!loaded.ok()) return "-" + loaded.refusal.message + "\r\n";
    return engine.run_script(*loaded.value, RunOptions{}, host);
  }
  static std::string error(std::string_view body, std::string_view message) {
    return "-ERR user_script:1: " + std::string(message) + " script: " + Engine::sha1_hex(body) +
           ", on @user_script:1.\r\n";
  }
};

std::string bytes(std::initializer_list<int> values) {
  std::string s;
  for (int v : values) s.push_back(static_cast<char>(v));
  return s;
}

}  // namespace

TEST_CASE("script libraries: struct", "[unit][script]") {
  Runner run;
  CHECK(run("return struct.pack('>I2', 258)") == "$2\r\n\x01\x02\r\n");
  CHECK(run("return {struct.unpack('>I2', '\\1\\2')}") == "*2\r\n:258\r\n:3\r\n");
  CHECK(run("return struct.size('!8bd')") == ":16\r\n");
  CHECK(run("return {struct.unpack('bc0', '\\3abcd')}") == "*2\r\n$3\r\nabc\r\n:5\r\n");
  CHECK(run("return {struct.unpack('s', 'hi\\0rest')}") == "*2\r\n$2\r\nhi\r\n:4\r\n");
  CHECK(run("return {struct.unpack('<d', struct.pack('<d', 1.5))}") == "*2\r\n:1\r\n:9\r\n");
  const char* short_data = "return {struct.unpack('i', 'abcdabcd', 6)}";
  CHECK(run(short_data) ==
        Runner::error(short_data, "bad argument #2 to 'unpack' (data string too short)"));
  CHECK(run("return struct.size('s')") ==
        Runner::error("return struct.size('s')",
                      "bad argument #1 to 'size' (option 's' has no fixed size)"));
  CHECK(
      run("return struct.pack('i33', 1)") ==
      Runner::error("return struct.pack('i33', 1)", "integral size 33 is larger than limit of 32"));
}

TEST_CASE("script libraries: cmsgpack", "[unit][script]") {
  Runner run;
  CHECK(run("return cmsgpack.pack(1, -1, 128, 65536, -33, 2^53, 1.5, 0.1)") ==
        "$34\r\n" + bytes({0x01, 0xff, 0xcc, 0x80, 0xce, 0x00, 0x01, 0x00, 0x00, 0xd0, 0xdf, 0xcf,
                           0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xca, 0x3f, 0xc0, 0x00,
                           0x00, 0xcb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a}) +
            "\r\n");
  CHECK(run("return cmsgpack.pack({1,2,3}, {a=1}, {}, {[1]=1,[3]=3})") ==
        "$14\r\n" +
            bytes({0x93, 0x01, 0x02, 0x03, 0x81, 0xa1, 'a', 0x01, 0x90, 0x82, 0x01, 0x01, 0x03,
                   0x03}) +
            "\r\n");
  // Nesting stops at 16 levels, so a table holding itself still packs.
  CHECK(run("local t = {} t[1] = t return cmsgpack.pack(t)") ==
        "$17\r\n" + std::string(16, '\x91') + "\xc0\r\n");
  CHECK(run("return cjson.encode({cmsgpack.unpack(cmsgpack.pack(1, 'a', {1,2}, {x=5}, 1.5, -5, "
            "true))})") == "$33\r\n[1,\"a\",[1,2],{\"x\":5},1.5,-5,true]\r\n");
  CHECK(run("return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 1)}") == "*2\r\n:2\r\n:2\r\n");
  CHECK(run("return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}") ==
        "*3\r\n:2\r\n:1\r\n:2\r\n");
  CHECK(run("return cmsgpack.unpack('\\204')") ==
        Runner::error("return cmsgpack.unpack('\\204')", "Missing bytes in input."));
  CHECK(run("return cmsgpack.unpack('\\193')") ==
        Runner::error("return cmsgpack.unpack('\\193')", "Bad data format in input."));
  CHECK(run("return cmsgpack.unpack_one('abc', 10)") ==
        Runner::error("return cmsgpack.unpack_one('abc', 10)",
                      "Start offset 10 greater than input length 3."));
  CHECK(run("return cmsgpack.pack()") ==
        Runner::error("return cmsgpack.pack()",
                      "bad argument #0 to 'pack' (MessagePack pack needs input.)"));
}

TEST_CASE("script libraries: cjson and bit", "[unit][script]") {
  Runner run;
  CHECK(run("return cjson.encode({a={1,2,{b=cjson.null}}})") ==
        "$22\r\n{\"a\":[1,2,{\"b\":null}]}\r\n");
  CHECK(run("return cjson.decode('[1,2,null]')[3] == cjson.null") == ":1\r\n");
  CHECK(run("return cjson.decode('[')") ==
        Runner::error("return cjson.decode('[')", "Expected value but found T_END at character 2"));
  // Redis's fixes over Debian's copies: tohex of -2^31 digits (CVE-2024-31449) and the
  // wrapped cjson.encode still reading its configuration.
  CHECK(run("return bit.tohex(1, -2147483648)") == "$8\r\n00000001\r\n");
  CHECK(run("return bit.tohex(255, -2)") == "$2\r\nFF\r\n");
  CHECK(run("cjson.encode_keep_buffer(false) return cjson.encode({1, 'a', {b=2}})") ==
        "$15\r\n[1,\"a\",{\"b\":2}]\r\n");
  CHECK(run("local t = {} t[1] = t return cjson.encode(t)") ==
        Runner::error("local t = {} t[1] = t return cjson.encode(t)",
                      "Cannot serialise, excessive nesting (1001)"));
  CHECK(run("return {bit.tohex(65535), bit.band(0xff, 0x0f), bit.tobit(2^32+1), bit.bnot(0), "
            "bit.bswap(0x12345678)}") ==
        "*5\r\n$8\r\n0000ffff\r\n:15\r\n:1\r\n:-1\r\n:2018915346\r\n");
}

TEST_CASE("script libraries: Lua 5.1's crashers are refused", "[unit][script]") {
  Runner run;
  const char* wide = "return unpack({}, -2147483648, 2147483647)";
  CHECK(run(wide) == Runner::error(wide, "too many results to unpack"));
  CHECK(run("return {unpack({1,2,3}, 2)}") == "*2\r\n:2\r\n:3\r\n");
  CHECK(run("return select('#', unpack({}, 1, 7000))") == ":7000\r\n");
  const char* deep = "return string.find(string.rep('a', 300000), string.rep('a?', 300000))";
  CHECK(run(deep) == Runner::error(deep, "pattern too complex"));
  CHECK(run("return string.find(string.rep('a', 300000), string.rep('a?', 300000), 1, true)") ==
        "$-1\r\n");
  CHECK(run("return string.find(string.rep('a', 20000), string.rep('a?', 20000))") == ":1\r\n");
  CHECK(run("return ('hello'):find('l+')") == ":3\r\n");
}
