// The simulated clients' RESP codec: what they send is what a Redis client sends, and every
// RESP2 reply a node writes parses back, whole or not at all.
#include "apiary/sim/resp_reply.hpp"

#include <catch2/catch.hpp>

using namespace apiary::sim;
using Kind = RespReply::Kind;
using Status = ParsedReply::Status;

TEST_CASE("commands are encoded as arrays of bulk strings", "[sim][resp]") {
  CHECK(encode_command({"SET", "k", "v", "NX"}) ==
        "*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nNX\r\n");
  CHECK(encode_command({"GET", ""}) == "*2\r\n$3\r\nGET\r\n$0\r\n\r\n");
}

TEST_CASE("every RESP2 reply type parses", "[sim][resp]") {
  auto one = [](std::string_view bytes) {
    const auto p = parse_reply(bytes);
    REQUIRE(p.status == Status::complete);
    CHECK(p.used == bytes.size());
    return p.reply;
  };
  CHECK(one("+OK\r\n").is_ok());
  const auto err = one("-NOREPLICAS not enough\r\n");
  CHECK(err.is_error());
  CHECK(err.text == "NOREPLICAS not enough");
  CHECK(one(":-42\r\n").integer == -42);
  const auto bulk = one("$5\r\na\r\nbc\r\n");  // binary-safe: CRLF inside a bulk string
  CHECK(bulk.kind == Kind::bulk);
  CHECK(bulk.text == "a\r\nbc");
  CHECK(one("$-1\r\n").kind == Kind::nil);
  CHECK(one("*-1\r\n").kind == Kind::nil);
  const auto arr = one("*3\r\n:1\r\n$1\r\nx\r\n*1\r\n+y\r\n");
  REQUIRE(arr.kind == Kind::array);
  REQUIRE(arr.elements.size() == 3);
  CHECK(arr.elements[2].elements[0].text == "y");
  CHECK(arr.describe() == "[:1, \"x\", [+y]]");
}

TEST_CASE("a partial reply is incomplete and two replies parse one at a time", "[sim][resp]") {
  const std::string two = "$3\r\nabc\r\n:7\r\n";
  for (std::size_t n = 0; n < 9; ++n) {
    INFO("prefix " << n);
    CHECK(parse_reply(std::string_view(two).substr(0, n)).status == Status::incomplete);
  }
  const auto first = parse_reply(two);
  REQUIRE(first.status == Status::complete);
  CHECK(first.used == 9);
  const auto second = parse_reply(std::string_view(two).substr(first.used));
  REQUIRE(second.status == Status::complete);
  CHECK(second.reply.integer == 7);
}

TEST_CASE("malformed and oversized replies are refused", "[sim][resp]") {
  CHECK(parse_reply("?x\r\n").status == Status::malformed);
  CHECK(parse_reply(":12a\r\n").status == Status::malformed);
  CHECK(parse_reply("$3\r\nabcd\r\n").status == Status::malformed);
  CHECK(parse_reply("$-2\r\n").status == Status::malformed);
  RespLimits small;
  small.max_bulk_bytes = 4;
  small.max_elements = 2;
  small.max_depth = 2;
  CHECK(parse_reply("$5\r\nabcde\r\n", small).status == Status::malformed);
  CHECK(parse_reply("*3\r\n", small).status == Status::malformed);
  CHECK(parse_reply("*1\r\n*1\r\n*1\r\n:1\r\n", small).status == Status::malformed);
  small.max_line_bytes = 8;
  CHECK(parse_reply("+0123456789", small).status == Status::malformed);
}
