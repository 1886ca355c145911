// Splitting a multi-key command by owner and merging the parts' replies (libnode/routing/
// merge.hpp): the pieces that decide what a client reads for MGET/MSET/DEL/EXISTS across
// nodes, and that must never crash on a malformed part reply.
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/resp/command_table.hpp"

// merge.hpp is internal to libnode/routing (linked as apiary_routing).
#include "../../libnode/routing/merge.hpp"

using apiary::routing::key_indices;
using apiary::routing::Merge;
using apiary::routing::merge_kind;
using apiary::routing::merge_replies;
using apiary::routing::sub_command;
using apiary::routing::value_length;

namespace {

const apiary::resp::CommandSpec& spec(std::string_view name) {
  const auto* s = apiary::resp::default_command_table().find(name);
  REQUIRE(s != nullptr);
  return *s;
}

using Positions = std::vector<std::vector<std::size_t>>;
const std::string kBadPart = "-ERR a node answered part of the command unexpectedly\r\n";

std::string merge(Merge m, std::vector<std::string> replies, Positions positions,
                  std::size_t key_count) {
  return merge_replies(m, replies, positions, key_count);
}

}  // namespace

TEST_CASE("Router merge: key_indices follows each command's key positions", "[routing]") {
  using V = std::vector<std::size_t>;
  CHECK(key_indices(spec("get"), 2) == V{1});
  CHECK(key_indices(spec("set"), 5) == V{1});
  CHECK(key_indices(spec("mset"), 7) == V{1, 3, 5});
  CHECK(key_indices(spec("msetnx"), 5) == V{1, 3});
  CHECK(key_indices(spec("mget"), 4) == V{1, 2, 3});
  CHECK(key_indices(spec("del"), 4) == V{1, 2, 3});
  CHECK(key_indices(spec("exists"), 3) == V{1, 2});
  CHECK(key_indices(spec("rename"), 3) == V{1, 2});
  CHECK(key_indices(spec("ping"), 1).empty());
  // A malformed spec never loops or indexes past argv.
  apiary::resp::CommandSpec odd;
  odd.first_key = 1;
  odd.last_key = -1;
  odd.key_step = 0;
  CHECK(key_indices(odd, 4).empty());
  odd.key_step = 1;
  odd.last_key = 9;
  CHECK(key_indices(odd, 3) == V{1, 2});
}

TEST_CASE("Router merge: merge_kind: which commands split and how they merge", "[routing]") {
  CHECK(merge_kind(spec("mget")) == Merge::array);
  CHECK(merge_kind(spec("mset")) == Merge::ok);
  CHECK(merge_kind(spec("del")) == Merge::sum);
  CHECK(merge_kind(spec("unlink")) == Merge::sum);
  CHECK(merge_kind(spec("exists")) == Merge::sum);
  CHECK(merge_kind(spec("touch")) == Merge::sum);
  CHECK(merge_kind(spec("rename")) == Merge::none);
  CHECK(merge_kind(spec("msetnx")) == Merge::none);
}

TEST_CASE("Router merge: sub_command keeps each key with its values, in command order",
          "[routing]") {
  using S = std::vector<std::string>;
  const std::vector<std::string_view> mset{"MSET", "a", "1", "b", "2", "c", "3"};
  const std::vector<std::size_t> ac{1, 5};
  CHECK(sub_command(mset, spec("mset"), ac) == S{"MSET", "a", "1", "c", "3"});
  const std::vector<std::size_t> b{3};
  CHECK(sub_command(mset, spec("mset"), b) == S{"MSET", "b", "2"});
  const std::vector<std::string_view> del{"DEL", "x", "y", "x"};
  const std::vector<std::size_t> xx{1, 3};
  CHECK(sub_command(del, spec("del"), xx) == S{"DEL", "x", "x"});
  // A trailing key without its value does not read past argv.
  const std::vector<std::string_view> odd{"MSET", "a", "1", "b"};
  CHECK(sub_command(odd, spec("mset"), b) == S{"MSET", "b"});
}

TEST_CASE("Router merge: value_length measures one value of every RESP type", "[routing]") {
  using L = std::optional<std::size_t>;
  CHECK(value_length("+OK\r\n") == L{5});
  CHECK(value_length("-ERR no\r\n") == L{9});
  CHECK(value_length(":-42\r\n") == L{6});
  CHECK(value_length("$5\r\nhello\r\n") == L{11});
  CHECK(value_length("$0\r\n\r\n") == L{6});
  CHECK(value_length("$-1\r\n") == L{5});
  CHECK(value_length("*-1\r\n") == L{5});
  CHECK(value_length("$4\r\na\r\nb\r\n") == L{10});  // CRLF inside a bulk string
  CHECK(value_length("_\r\n") == L{3});
  CHECK(value_length(",3.14\r\n") == L{7});
  CHECK(value_length("#t\r\n") == L{4});
  CHECK(value_length("(12345678901234567890\r\n") == L{23});
  CHECK(value_length("=8\r\ntxt:abcd\r\n") == L{14});
  CHECK(value_length("!5\r\nERR x\r\n") == L{11});
  CHECK(value_length("*0\r\n") == L{4});
  CHECK(value_length("*2\r\n:1\r\n$1\r\na\r\n") == L{15});
  CHECK(value_length("~2\r\n:1\r\n:2\r\n") == L{12});
  CHECK(value_length(">2\r\n+a\r\n+b\r\n") == L{12});
  CHECK(value_length("%1\r\n+k\r\n:1\r\n") == L{12});
  // Nested aggregates, and only the first value counts.
  CHECK(value_length("*2\r\n*1\r\n%1\r\n+k\r\n*0\r\n$-1\r\n+next\r\n") == L{25});
}

TEST_CASE("Router merge: value_length: incomplete or unknown input has no length", "[routing]") {
  for (std::string_view bad :
       {"", "+OK", "+OK\r", ":1", "$5\r\nhel", "$5\r\nhello", "$5", "$x\r\nhello\r\n", "$\r\n",
        "*2\r\n:1\r\n", "*2\r\n", "*x\r\n", "%1\r\n+k\r\n", "~1\r\n", "?what\r\n", "hello\r\n"}) {
    INFO(std::string(bad));
    CHECK_FALSE(value_length(bad));
  }
}

TEST_CASE("Router merge: value_length: deep nesting is cut off, never a stack overflow",
          "[routing]") {
  auto nested = [](std::size_t depth) {
    std::string s;
    for (std::size_t i = 0; i < depth; ++i) s += "*1\r\n";
    return s + ":1\r\n";
  };
  CHECK(value_length(nested(3)) == std::optional<std::size_t>(3 * 4 + 4));
  CHECK_FALSE(value_length(nested(64)));
  CHECK_FALSE(value_length(nested(100000)));
  // Huge announced counts and lengths with little data behind them.
  CHECK_FALSE(value_length("*9223372036854775807\r\n:1\r\n"));
  CHECK_FALSE(value_length("$9223372036854775807\r\nabc\r\n"));
  CHECK_FALSE(value_length("*99999999999999999999999\r\n"));
}

TEST_CASE("Router merge: value_length rejects malformed framing", "[routing]") {
  // Only -1 is a null length; a bulk string ends with CRLF; a map count cannot overflow.
  CHECK_FALSE(value_length("$-5\r\n"));
  CHECK_FALSE(value_length("*-2\r\n"));
  CHECK_FALSE(value_length("$5\r\nhelloXY"));
  CHECK_FALSE(value_length("%4611686018427387904\r\n"));
}

TEST_CASE("Router merge: merge_replies sums integer parts", "[routing]") {
  CHECK(merge(Merge::sum, {":1\r\n", ":0\r\n", ":2\r\n"}, {{0}, {1}, {2, 3}}, 4) == ":3\r\n");
  CHECK(merge(Merge::sum, {":-1\r\n", ":1\r\n"}, {{0}, {1}}, 2) == ":0\r\n");
  // The first part's error is the reply.
  CHECK(merge(Merge::sum, {":1\r\n", "-CLUSTERDOWN gone\r\n", "-ERR other\r\n"}, {{0}, {1}, {2}},
              3) == "-CLUSTERDOWN gone\r\n");
  for (std::string bad : {"", ":\r\n", ":x\r\n", ":1", ":1\r\nextra", "+OK\r\n", "$1\r\n1\r\n",
                          ":99999999999999999999\r\n"}) {
    INFO(bad);
    CHECK(merge(Merge::sum, {":1\r\n", bad}, {{0}, {1}}, 2) == kBadPart);
  }
}

TEST_CASE("Router merge: merge_replies answers OK only when every part did", "[routing]") {
  CHECK(merge(Merge::ok, {"+OK\r\n", "+OK\r\n"}, {{0}, {1}}, 2) == "+OK\r\n");
  CHECK(merge(Merge::ok, {"+OK\r\n", "-NOREPLICAS x\r\n"}, {{0}, {1}}, 2) == "-NOREPLICAS x\r\n");
  for (std::string bad : {"", "+OK", "+QUEUED\r\n", ":1\r\n", "+OK\r\n+OK\r\n"}) {
    INFO(bad);
    CHECK(merge(Merge::ok, {"+OK\r\n", bad}, {{0}, {1}}, 2) == kBadPart);
  }
}

TEST_CASE("Router merge: merge_replies reassembles array parts in key order", "[routing]") {
  // Keys 0..4: part 0 holds keys 0, 3 and 4, part 1 holds keys 1 and 2.
  const Positions pos{{0, 3, 4}, {1, 2}};
  CHECK(merge(Merge::array, {"*3\r\n$1\r\na\r\n$-1\r\n$1\r\nd\r\n", "*2\r\n$2\r\nbb\r\n_\r\n"}, pos,
              5) == "*5\r\n$1\r\na\r\n$2\r\nbb\r\n_\r\n$-1\r\n$1\r\nd\r\n");
  // Elements of any shape travel whole.
  CHECK(merge(Merge::array, {"*1\r\n*2\r\n:1\r\n%1\r\n+k\r\n+v\r\n", "*1\r\n:7\r\n"}, {{1}, {0}},
              2) == "*2\r\n:7\r\n*2\r\n:1\r\n%1\r\n+k\r\n+v\r\n");
  CHECK(merge(Merge::array, {"*1\r\n$1\r\na\r\n", "-CLUSTERDOWN x\r\n"}, {{0}, {1}}, 2) ==
        "-CLUSTERDOWN x\r\n");
}

TEST_CASE("Router merge: merge_replies: a malformed array part is an error reply, never a crash",
          "[routing]") {
  const Positions pos{{0}, {1, 2}};
  for (std::string bad :
       {"", "*", "*2\r\n", "*2\r\n$1\r\nb\r\n", "*1\r\n$1\r\nb\r\n", "*3\r\n:1\r\n:2\r\n:3\r\n",
        "*2\r\n$1\r\nb\r\n$1\r\nc\r\nXX", "*2\r\n$9\r\nb\r\n$1\r\nc\r\n", "*-1\r\n", "$1\r\nb\r\n",
        ":2\r\n", "*2\r\n?\r\n:1\r\n", "*99999999999999999999\r\n", "*-9223372036854775808\r\n"}) {
    INFO(bad);
    CHECK(merge(Merge::array, {"*1\r\n$1\r\na\r\n", bad}, pos, 3) == kBadPart);
  }
  // A position outside the key count (a router bug) is refused too.
  CHECK(merge(Merge::array, {"*1\r\n:1\r\n"}, {{5}}, 1) == kBadPart);
  CHECK(merge(Merge::none, {"+OK\r\n"}, {{0}}, 1) == kBadPart);
}
