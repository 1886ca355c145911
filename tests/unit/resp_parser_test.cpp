// The RESP request parser and reply writer: framing, limits, Redis's error texts, and the
// RESP2/RESP3 encodings of every reply type.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "apiary/resp/reply_writer.hpp"
#include "apiary/resp/request_parser.hpp"

using apiary::resp::ParseStatus;
using apiary::resp::ReplyWriter;
using apiary::resp::RequestParser;

namespace {

struct Parsed {
  std::vector<std::vector<std::string>> commands;
  std::string error;
  bool incomplete = false;
};

// Feeds `input` to the parser in pieces cut at `cuts`, the way a connection does: the buffer
// grows between calls and complete commands are dropped from its front.
Parsed parse_all(const std::string& input, std::vector<std::size_t> cuts = {},
                 apiary::resp::ParserLimits limits = {}) {
  RequestParser parser(limits);
  Parsed out;
  std::string buffer;
  std::size_t fed = 0;
  cuts.push_back(input.size());
  for (std::size_t cut : cuts) {
    buffer.append(input, fed, cut - fed);
    fed = cut;
    while (!buffer.empty()) {
      const ParseStatus st = parser.parse(buffer);
      if (st == ParseStatus::incomplete) break;
      if (st == ParseStatus::error) {
        out.error = parser.error();
        return out;
      }
      std::vector<std::string> argv;
      for (auto a : parser.argv()) argv.emplace_back(a);
      if (!argv.empty()) out.commands.push_back(argv);
      buffer.erase(0, parser.consumed());
      parser.reset();
    }
  }
  out.incomplete = !buffer.empty();
  return out;
}

using Cmds = std::vector<std::vector<std::string>>;

}  // namespace

TEST_CASE("multibulk requests parse into argv, pipelined", "[resp][parser]") {
  const auto p =
      parse_all("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
  CHECK(p.error.empty());
  CHECK(p.commands == Cmds{{"GET", "k"}, {"SET", "k", ""}});
  CHECK_FALSE(p.incomplete);
}

TEST_CASE("binary-safe bulk strings keep CR, LF and NUL", "[resp][parser]") {
  const std::string value("a\r\nb\0c", 6);
  const auto p = parse_all("*2\r\n$4\r\nECHO\r\n$6\r\n" + value + "\r\n");
  REQUIRE(p.commands.size() == 1);
  CHECK(p.commands[0][1] == value);
}

TEST_CASE("a request split at every byte offset parses the same", "[resp][parser]") {
  const std::string input =
      "*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$11\r\nworld\r\n!!!!\r\nPING\r\nECHO \"a b\" 'c'\r\n"
      "*1\r\n$4\r\nPING\r\n";
  const Cmds want{{"SET", "hello", "world\r\n!!!!"}, {"PING"}, {"ECHO", "a b", "c"}, {"PING"}};
  for (std::size_t i = 0; i <= input.size(); ++i) {
    for (std::size_t j = i; j <= input.size(); j += 7) {
      INFO("cuts at " << i << " and " << j);
      const auto p = parse_all(input, {i, j});
      REQUIRE(p.error.empty());
      REQUIRE(p.commands == want);
    }
  }
}

TEST_CASE("a request fed one byte at a time parses", "[resp][parser]") {
  const std::string input = "*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\n";
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < input.size(); ++i) cuts.push_back(i);
  const auto p = parse_all(input, cuts);
  CHECK(p.commands == Cmds{{"ECHO", "abc"}});
}

TEST_CASE("inline commands follow sdssplitargs", "[resp][parser]") {
  CHECK(parse_all("PING\r\n").commands == Cmds{{"PING"}});
  CHECK(parse_all("PING\n").commands == Cmds{{"PING"}});
  CHECK(parse_all("  SET  k   v  \r\n").commands == Cmds{{"SET", "k", "v"}});
  CHECK(parse_all("ECHO \"a\\x41\\n\"\r\n").commands == Cmds{{"ECHO", "aA\n"}});
  CHECK(parse_all("ECHO 'it\\'s'\r\n").commands == Cmds{{"ECHO", "it's"}});
  CHECK(parse_all("ECHO a\"b c\"\r\n").commands == Cmds{{"ECHO", "ab c"}});
  CHECK(parse_all("ECHO \"\"\r\n").commands == Cmds{{"ECHO", ""}});
  // Empty lines and empty multibulks are skipped without a reply.
  CHECK(parse_all("\r\n\r\nPING\r\n").commands == Cmds{{"PING"}});
  CHECK(parse_all("*0\r\n*-1\r\nPING\r\n").commands == Cmds{{"PING"}});
}

TEST_CASE("protocol errors carry Redis's texts", "[resp][parser]") {
  CHECK(parse_all("*x\r\n").error == "Protocol error: invalid multibulk length");
  CHECK(parse_all("*3000000000\r\n").error == "Protocol error: invalid multibulk length");
  CHECK(parse_all("*01\r\n").error == "Protocol error: invalid multibulk length");
  CHECK(parse_all("*1\r\n$-5\r\n").error == "Protocol error: invalid bulk length");
  CHECK(parse_all("*1\r\n$abc\r\n").error == "Protocol error: invalid bulk length");
  CHECK(parse_all("*1\r\nx\r\n").error == "Protocol error: expected '$', got 'x'");
  CHECK(parse_all("PING \"a\r\n").error == "Protocol error: unbalanced quotes in request");
  CHECK(parse_all("ECHO \"a\"b\r\n").error == "Protocol error: unbalanced quotes in request");
  CHECK(parse_all(std::string(70000, 'a')).error == "Protocol error: too big inline request");
  CHECK(parse_all("*" + std::string(70000, '1')).error ==
        "Protocol error: too big mbulk count string");
  CHECK(parse_all("*1\r\n$" + std::string(70000, '1')).error ==
        "Protocol error: too big bulk count string");
  // Commands before the bad one are still returned.
  const auto p = parse_all("*1\r\n$4\r\nPING\r\n*x\r\n");
  CHECK(p.commands == Cmds{{"PING"}});
  CHECK(p.error == "Protocol error: invalid multibulk length");
}

TEST_CASE("proto-max-bulk-len bounds a bulk before its bytes arrive", "[resp][parser]") {
  apiary::resp::ParserLimits limits;
  limits.max_bulk_len = 10;
  CHECK(parse_all("*1\r\n$10\r\n0123456789\r\n", {}, limits).error.empty());
  CHECK(parse_all("*1\r\n$11\r\n", {}, limits).error == "Protocol error: invalid bulk length");
}

TEST_CASE("a huge announced multibulk does not reserve memory up front", "[resp][parser]") {
  const auto p = parse_all("*2000000000\r\n$1\r\na\r\n");
  CHECK(p.error.empty());
  CHECK(p.incomplete);
}

TEST_CASE("parse_int64 is Redis's strict string2ll", "[resp][parser]") {
  std::int64_t v = 0;
  CHECK(apiary::resp::parse_int64("0", v));
  CHECK(apiary::resp::parse_int64("-9223372036854775808", v));
  CHECK(v == INT64_MIN);
  CHECK(apiary::resp::parse_int64("9223372036854775807", v));
  CHECK_FALSE(apiary::resp::parse_int64("9223372036854775808", v));
  CHECK_FALSE(apiary::resp::parse_int64("01", v));
  CHECK_FALSE(apiary::resp::parse_int64("+1", v));
  CHECK_FALSE(apiary::resp::parse_int64(" 1", v));
  CHECK_FALSE(apiary::resp::parse_int64("-0", v));
  CHECK_FALSE(apiary::resp::parse_int64("", v));
}

TEST_CASE("reply writer encodes RESP2 fallbacks and RESP3 types", "[resp][writer]") {
  std::string out2, out3;
  ReplyWriter w2(out2, 2), w3(out3, 3);
  for (ReplyWriter* w : {&w2, &w3}) {
    w->map(1);
    w->bulk("k");
    w->null();
    w->set(1);
    w->integer(-5);
    w->double_value(1.5);
    w->boolean(true);
    w->null_array();
    w->push(0);
    w->big_number("123");
    w->verbatim("txt", "hi");
  }
  CHECK(out2 ==
        "*2\r\n$1\r\nk\r\n$-1\r\n*1\r\n:-5\r\n$3\r\n1.5\r\n:1\r\n*-1\r\n*0\r\n$3\r\n123\r\n"
        "$2\r\nhi\r\n");
  CHECK(out3 ==
        "%1\r\n$1\r\nk\r\n_\r\n~1\r\n:-5\r\n,1.5\r\n#t\r\n_\r\n>0\r\n(123\r\n"
        "=6\r\ntxt:hi\r\n");
}

TEST_CASE("error replies get ERR unless they carry a code, and never break framing",
          "[resp][writer]") {
  std::string out;
  ReplyWriter w(out, 2);
  w.error("syntax error");
  w.error("-WRONGTYPE Operation against a key holding the wrong kind of value");
  w.error("bad\r\nline");
  CHECK(out ==
        "-ERR syntax error\r\n-WRONGTYPE Operation against a key holding the wrong kind of "
        "value\r\n-ERR bad  line\r\n");
}

TEST_CASE("doubles print like Redis", "[resp][writer]") {
  std::string out;
  ReplyWriter w(out, 3);
  w.double_value(1.0 / 0.0);
  w.double_value(-1.0 / 0.0);
  w.double_value(0.1);
  CHECK(out == ",inf\r\n,-inf\r\n,0.10000000000000001\r\n");
}
