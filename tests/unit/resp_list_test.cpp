// The list commands through a Connection, for what a comparison with redis-server cannot pin
// down (tests/integration/list_differential_test.cpp compares the replies themselves): index
// reads of a big list agree with a model, a move to a key of another type changes nothing,
// the blocking forms serve at once when a key has data and otherwise hold their timeout reply
// (without a cluster layer the connection sends it when the timeout passes), and the metadata
// the router and COMMAND read.
#include <catch2/catch.hpp>
#include <deque>
#include <string>
#include <vector>

#include "apiary/resp/command_table.hpp"
#include "resp_test_support.hpp"

namespace {

std::string bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}

}  // namespace

TEST_CASE("LPUSH, RPUSH, LRANGE, LPOP, RPOP and their null forms", "[resp][list]") {
  resp_test::Harness h;
  CHECK(h.send({"RPUSH", "l", "a", "b", "c"}) == ":3\r\n");
  CHECK(h.send({"LPUSH", "l", "y", "x"}) == ":5\r\n");
  CHECK(h.send({"LRANGE", "l", "0", "-1"}) ==
        "*5\r\n" + bulk("x") + bulk("y") + bulk("a") + bulk("b") + bulk("c"));
  CHECK(h.send({"TYPE", "l"}) == "+list\r\n");
  CHECK(h.send({"OBJECT", "ENCODING", "l"}) == bulk("quicklist"));
  CHECK(h.send({"LPOP", "l"}) == bulk("x"));
  CHECK(h.send({"RPOP", "l", "2"}) == "*2\r\n" + bulk("c") + bulk("b"));
  CHECK(h.send({"LPOP", "l", "0"}) == "*0\r\n");
  CHECK(h.send({"LPOP", "missing"}) == "$-1\r\n");
  CHECK(h.send({"LPOP", "missing", "2"}) == "*-1\r\n");
  CHECK(h.send({"LPOP", "l", "5"}) == "*2\r\n" + bulk("y") + bulk("a"));
  CHECK(h.send({"EXISTS", "l"}) == ":0\r\n");  // emptied: deleted
  CHECK(h.send({"HELLO", "3"}).size() > 0);
  CHECK(h.send({"LPOP", "missing", "2"}) == "_\r\n");
  CHECK(h.send({"LINDEX", "missing", "0"}) == "_\r\n");
  CHECK(h.send({"SET", "s", "v"}) == "+OK\r\n");
  CHECK(h.send({"RPUSH", "s", "a"}).rfind("-WRONGTYPE", 0) == 0);
}

TEST_CASE("LINDEX, LSET, LRANGE and LTRIM of a big list agree with a model", "[resp][list]") {
  resp_test::Harness h;
  std::deque<std::string> model;
  for (int i = 0; i < 5000; ++i) {
    const std::string v = "e" + std::to_string(i);
    const bool left = i % 4 == 0;
    REQUIRE(h.send({left ? "LPUSH" : "RPUSH", "big", v}) ==
            ":" + std::to_string(model.size() + 1) + "\r\n");
    if (left) {
      model.push_front(v);
    } else {
      model.push_back(v);
    }
  }
  for (int i = 0; i < 5000; i += 97) {
    const auto idx = static_cast<std::size_t>(i);
    CHECK(h.send({"LINDEX", "big", std::to_string(i)}) == bulk(model[idx]));
    CHECK(h.send({"LINDEX", "big", std::to_string(i - 5000)}) == bulk(model[idx]));
    REQUIRE(h.send({"LSET", "big", std::to_string(i), "set" + std::to_string(i)}) == "+OK\r\n");
    model[idx] = "set" + std::to_string(i);
  }
  std::string expect = "*3\r\n";
  for (std::size_t i = 2500; i < 2503; ++i) expect += bulk(model[i]);
  CHECK(h.send({"LRANGE", "big", "2500", "2502"}) == expect);
  CHECK(h.send({"LINSERT", "big", "BEFORE", model[1000], "ins"}) == ":5001\r\n");
  model.insert(model.begin() + 1000, "ins");
  CHECK(h.send({"LPOS", "big", "ins"}) == ":1000\r\n");
  CHECK(h.send({"LTRIM", "big", "10", "-11"}) == "+OK\r\n");
  model.erase(model.end() - 10, model.end());
  model.erase(model.begin(), model.begin() + 10);
  CHECK(h.send({"LLEN", "big"}) == ":" + std::to_string(model.size()) + "\r\n");
  CHECK(h.send({"LINDEX", "big", "0"}) == bulk(model.front()));
  CHECK(h.send({"LINDEX", "big", "-1"}) == bulk(model.back()));
  CHECK(h.send({"LSET", "big", "100000", "x"}) == "-ERR index out of range\r\n");
  CHECK(h.send({"LSET", "nokey", "0", "x"}) == "-ERR no such key\r\n");
}

TEST_CASE("LMOVE rotates one list, and a destination of another type changes nothing",
          "[resp][list]") {
  resp_test::Harness h;
  CHECK(h.send({"RPUSH", "l", "a", "b", "c"}) == ":3\r\n");
  CHECK(h.send({"LMOVE", "l", "l", "LEFT", "RIGHT"}) == bulk("a"));
  CHECK(h.send({"LRANGE", "l", "0", "-1"}) == "*3\r\n" + bulk("b") + bulk("c") + bulk("a"));
  CHECK(h.send({"SET", "s", "v"}) == "+OK\r\n");
  CHECK(h.send({"LMOVE", "l", "s", "LEFT", "RIGHT"}).rfind("-WRONGTYPE", 0) == 0);
  CHECK(h.send({"LLEN", "l"}) == ":3\r\n");
  CHECK(h.send({"RPOPLPUSH", "l", "other"}) == bulk("a"));
  CHECK(h.send({"LRANGE", "other", "0", "-1"}) == "*1\r\n" + bulk("a"));
  CHECK(h.send({"LMOVE", "missing", "other", "LEFT", "LEFT"}) == "$-1\r\n");
  CHECK(h.send({"LMPOP", "2", "missing", "l", "RIGHT", "COUNT", "5"}) ==
        "*2\r\n" + bulk("l") + "*2\r\n" + bulk("c") + bulk("b"));
  CHECK(h.send({"LMPOP", "1", "l", "LEFT"}) == "*-1\r\n");
}

TEST_CASE("BLPOP, BLMOVE and BLMPOP serve at once when a key has data", "[resp][list]") {
  resp_test::Harness h;
  CHECK(h.send({"RPUSH", "q2", "a", "b", "c"}) == ":3\r\n");
  CHECK(h.send({"BLPOP", "q1", "q2", "0"}) == "*2\r\n" + bulk("q2") + bulk("a"));
  CHECK(h.send({"BRPOP", "q1", "q2", "1.5"}) == "*2\r\n" + bulk("q2") + bulk("c"));
  CHECK(h.send({"BLMOVE", "q2", "dst", "LEFT", "LEFT", "0"}) == bulk("b"));
  CHECK(h.send({"BRPOPLPUSH", "dst", "q2", "0"}) == bulk("b"));
  CHECK(h.send({"BLMPOP", "0", "2", "q1", "q2", "LEFT", "COUNT", "9"}) ==
        "*2\r\n" + bulk("q2") + "*1\r\n" + bulk("b"));
  CHECK(h.send({"SET", "s", "v"}) == "+OK\r\n");
  CHECK(h.send({"BLPOP", "q1", "s", "q2", "0"}).rfind("-WRONGTYPE", 0) == 0);
  CHECK(h.send({"BLPOP", "q1", "-1"}) == "-ERR timeout is negative\r\n");
  CHECK(h.send({"BLMPOP", "x", "1", "q1", "LEFT"}) ==
        "-ERR timeout is not a float or out of range\r\n");
}

TEST_CASE("a blocking pop with nothing to serve sends its timeout reply when it passes",
          "[resp][list]") {
  resp_test::Harness h;
  CHECK(h.raw(resp_test::cmd({"BLPOP", "q", "0.5"}) + resp_test::cmd({"PING"})).empty());
  h.advance(std::chrono::milliseconds(499));
  h.server.on_timer(h.now, h.wall);
  CHECK(h.drain().empty());
  h.advance(std::chrono::milliseconds(1));
  h.server.on_timer(h.now, h.wall);
  // The pipeline resumes after the blocked command, as in Redis.
  CHECK(h.drain() == "*-1\r\n+PONG\r\n");
  CHECK(h.raw(resp_test::cmd({"BLMOVE", "q", "d", "LEFT", "LEFT", "0.1"})).empty());
  h.advance(std::chrono::milliseconds(100));
  h.server.on_timer(h.now, h.wall);
  CHECK(h.drain() == "*-1\r\n");  // as Redis 7.0 times BLMOVE out
  CHECK(h.raw(resp_test::cmd({"BLMPOP", "0.1", "1", "q", "RIGHT"})).empty());
  h.advance(std::chrono::milliseconds(100));
  h.server.on_timer(h.now, h.wall);
  CHECK(h.drain() == "*-1\r\n");
  CHECK(h.send({"EXISTS", "q", "d"}) == ":0\r\n");  // nothing was written
}

TEST_CASE("list command metadata: blocking flags and the keys the router reads",
          "[resp][list]") {
  const auto& table = apiary::resp::default_command_table();
  const auto* blpop = table.find("blpop");
  REQUIRE(blpop != nullptr);
  CHECK((blpop->flags & apiary::resp::kBlocking) != 0);
  CHECK(blpop->acl == "@write @list @slow @blocking");
  const std::vector<std::string_view> bl = {"BLPOP", "a", "b", "0"};
  CHECK(apiary::resp::command_keys(*blpop, bl) == std::vector<std::size_t>{1, 2});
  const auto* blmpop = table.find("blmpop");
  REQUIRE(blmpop != nullptr);
  const std::vector<std::string_view> bm = {"BLMPOP", "0", "2", "a", "b", "LEFT"};
  CHECK(apiary::resp::command_keys(*blmpop, bm) == std::vector<std::size_t>{3, 4});
  const auto* lmpop = table.find("lmpop");
  REQUIRE(lmpop != nullptr);
  CHECK((lmpop->flags & apiary::resp::kBlocking) == 0);
  const std::vector<std::string_view> lm = {"LMPOP", "1", "a", "LEFT"};
  CHECK(apiary::resp::command_keys(*lmpop, lm) == std::vector<std::size_t>{2});
  const auto* lmove = table.find("lmove");
  REQUIRE(lmove != nullptr);
  const std::vector<std::string_view> mv = {"LMOVE", "a", "b", "LEFT", "RIGHT"};
  CHECK(apiary::resp::command_keys(*lmove, mv) == std::vector<std::size_t>{1, 2});
}
