// The sorted set commands' promises that a comparison with redis-server cannot pin down, run
// in-process (tests/integration/zset_differential_test.cpp compares the replies themselves):
// ranks and ranges of a big zset agree with each other and with a model, ZRANDMEMBER spreads
// its picks, ZSCAN returns every member present for a whole scan exactly once, ZRANK's
// WITHSCORE (Redis 7.2), the encodings OBJECT ENCODING names, and the keys a ZUNIONSTORE
// routes by.
#include <catch2/catch.hpp>
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "resp_test_support.hpp"

namespace {

// The bulk strings of a flat reply, in order (aggregate headers skipped).
std::vector<std::string> bulks(const std::string& reply) {
  std::vector<std::string> out;
  std::size_t p = 0;
  while (p < reply.size()) {
    const std::size_t eol = reply.find("\r\n", p);
    REQUIRE(eol != std::string::npos);
    if (reply[p] != '$') {
      p = eol + 2;
      continue;
    }
    const auto len = std::stoul(reply.substr(p + 1, eol - p - 1));
    out.push_back(reply.substr(eol + 2, len));
    p = eol + 2 + len + 2;
  }
  return out;
}

std::string member(int i) { return "player:" + std::to_string(i); }

}  // namespace

TEST_CASE("ZRANK, ZREVRANK, ZRANGE, ZCOUNT of a big zset agree with a model", "[resp][zset]") {
  resp_test::Harness h;
  std::vector<std::pair<int, std::string>> model;  // (score, member), sorted
  for (int i = 0; i < 3000; ++i) {
    const int score = (i * 7919) % 1000;  // repeats: ties order by member
    REQUIRE(h.send({"ZADD", "z", std::to_string(score), member(i)}) == ":1\r\n");
    model.emplace_back(score, member(i));
  }
  std::sort(model.begin(), model.end());
  CHECK(h.send({"ZCARD", "z"}) == ":3000\r\n");
  CHECK(h.send({"OBJECT", "ENCODING", "z"}) == "$8\r\nskiplist\r\n");
  for (int r = 0; r < 3000; r += 97) {
    const auto& [score, name] = model[static_cast<std::size_t>(r)];
    INFO(name);
    CHECK(h.send({"ZRANK", "z", name}) == ":" + std::to_string(r) + "\r\n");
    CHECK(h.send({"ZREVRANK", "z", name}) == ":" + std::to_string(2999 - r) + "\r\n");
    CHECK(bulks(h.send({"ZRANGE", "z", std::to_string(r), std::to_string(r)})) ==
          std::vector<std::string>{name});
  }
  const auto top = bulks(h.send({"ZREVRANGE", "z", "0", "9", "WITHSCORES"}));
  REQUIRE(top.size() == 20);
  for (std::size_t i = 0; i < 10; ++i) {
    CHECK(top[2 * i] == model[2999 - i].second);
    CHECK(top[2 * i + 1] == std::to_string(model[2999 - i].first));
  }
  const auto in_range = std::count_if(model.begin(), model.end(),
                                      [](const auto& m) { return m.first > 100 && m.first <= 250; });
  CHECK(h.send({"ZCOUNT", "z", "(100", "250"}) == ":" + std::to_string(in_range) + "\r\n");
  const auto by_score = bulks(h.send({"ZRANGEBYSCORE", "z", "(100", "250", "LIMIT", "5", "3"}));
  const auto first = std::find_if(model.begin(), model.end(), [](const auto& m) { return m.first > 100; });
  CHECK(by_score == std::vector<std::string>{(first + 5)->second, (first + 6)->second,
                                             (first + 7)->second});
  // Removing by rank keeps the index in step.
  CHECK(h.send({"ZREMRANGEBYRANK", "z", "0", "99"}) == ":100\r\n");
  CHECK(h.send({"ZRANK", "z", model[100].second}) == ":0\r\n");
  CHECK(h.send({"ZRANK", "z", model[99].second}) == "$-1\r\n");
}

TEST_CASE("ZRANK WITHSCORE answers as Redis 7.2", "[resp][zset]") {
  resp_test::Harness h;
  h.send({"ZADD", "z", "1.5", "a", "2", "b"});
  CHECK(h.send({"ZRANK", "z", "b", "WITHSCORE"}) == "*2\r\n:1\r\n$1\r\n2\r\n");
  CHECK(h.send({"ZREVRANK", "z", "b", "withscore"}) == "*2\r\n:0\r\n$1\r\n2\r\n");
  CHECK(h.send({"ZRANK", "z", "x", "WITHSCORE"}) == "*-1\r\n");
  CHECK(h.send({"ZRANK", "z", "a", "WITHSCORES"}) == "-ERR syntax error\r\n");
  CHECK(h.send({"ZRANK", "z", "a", "WITHSCORE", "x"}) == "-ERR syntax error\r\n");
  h.send({"HELLO", "3"});
  CHECK(h.send({"ZRANK", "z", "a", "WITHSCORE"}) == "*2\r\n:0\r\n,1.5\r\n");
  CHECK(h.send({"ZRANK", "z", "x", "WITHSCORE"}) == "_\r\n");
}

TEST_CASE("ZRANDMEMBER picks each member about equally often, distinct with a positive count",
          "[resp][zset]") {
  resp_test::Harness h;
  for (int i = 0; i < 4; ++i) h.send({"ZADD", "z", std::to_string(i), member(i)});
  std::map<std::string, int> times;
  for (const auto& m : bulks(h.send({"ZRANDMEMBER", "z", "-4000"}))) ++times[m];
  REQUIRE(times.size() == 4);
  for (const auto& [name, n] : times) {
    INFO(name);
    CHECK(n > 800);
    CHECK(n < 1200);
  }
  for (int i = 4; i < 300; ++i) h.send({"ZADD", "z", std::to_string(i), member(i)});
  for (const int count : {1, 5, 150, 299, 300, 310}) {
    const auto picked = bulks(h.send({"ZRANDMEMBER", "z", std::to_string(count), "WITHSCORES"}));
    INFO(count);
    CHECK(picked.size() == 2 * static_cast<std::size_t>(std::min(count, 300)));
    std::set<std::string> names;
    for (std::size_t i = 0; i < picked.size(); i += 2) {
      names.insert(picked[i]);
      CHECK(picked[i] == "player:" + picked[i + 1]);  // each member with its own score
    }
    CHECK(names.size() == picked.size() / 2);
  }
}

TEST_CASE("ZSCAN returns every member present for the whole scan once, while the zset changes",
          "[resp][zset]") {
  resp_test::Harness h;
  for (int i = 0; i < 600; ++i) h.send({"ZADD", "z", std::to_string(i), member(i)});
  std::multiset<std::string> seen;
  std::string cursor = "0";
  int calls = 0;
  do {
    const auto reply = bulks(h.send({"ZSCAN", "z", cursor, "COUNT", "20"}));
    REQUIRE(!reply.empty());
    cursor = reply[0];
    for (std::size_t i = 1; i + 1 < reply.size(); i += 2) {
      seen.insert(reply[i]);
      if (reply[i].rfind("player:", 0) == 0) CHECK(reply[i] == "player:" + reply[i + 1]);
    }
    h.send({"ZADD", "z", "5", "new:" + std::to_string(calls)});  // members that come and go
    h.send({"ZREM", "z", "new:" + std::to_string(calls - 1)});
    ++calls;
  } while (cursor != "0" && calls < 1000);
  CHECK(calls > 10);
  for (int i = 0; i < 600; ++i) CHECK(seen.count(member(i)) == 1);
  // A listpack-sized zset answers whole, in score order, with cursor 0.
  h.send({"ZADD", "small", "3", "c", "1", "a", "2.5", "b"});
  CHECK(h.send({"ZSCAN", "small", "0"}) ==
        "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n2.5\r\n$1\r\nc\r\n$1\r\n3\r\n");
  CHECK(h.send({"OBJECT", "ENCODING", "small"}) == "$8\r\nlistpack\r\n");
  CHECK(h.send({"TYPE", "small"}) == "+zset\r\n");
}

TEST_CASE("Sorted set keys: TYPE, SCAN TYPE, COPY, RENAME, WRONGTYPE, an emptied zset goes",
          "[resp][zset]") {
  resp_test::Harness h;
  h.send({"ZADD", "z", "1", "a", "2", "b"});
  h.send({"SET", "s", "x"});
  CHECK(h.send({"SCAN", "0", "TYPE", "zset"}) == "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nz\r\n");
  CHECK(h.send({"COPY", "z", "z2"}) == ":1\r\n");
  CHECK(h.send({"ZRANGE", "z2", "0", "-1", "WITHSCORES"}) ==
        "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n");
  CHECK(h.send({"RENAME", "z2", "z3"}) == "+OK\r\n");
  CHECK(h.send({"ZSCORE", "z3", "b"}) == "$1\r\n2\r\n");
  const std::string wrong = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
  CHECK(h.send({"ZADD", "s", "1", "a"}) == wrong);
  CHECK(h.send({"SADD", "z", "a"}) == wrong);
  CHECK(h.send({"HGET", "z", "a"}) == wrong);
  CHECK(h.send({"ZREM", "z", "a", "b"}) == ":2\r\n");
  CHECK(h.send({"EXISTS", "z"}) == ":0\r\n");
}

TEST_CASE("ZINCRBY sums as doubles, RESP3 answers scores as doubles", "[resp][zset]") {
  resp_test::Harness h;
  CHECK(h.send({"ZINCRBY", "z", "0.1", "m"}) == "$19\r\n0.10000000000000001\r\n");
  CHECK(h.send({"ZINCRBY", "z", "0.2", "m"}) == "$19\r\n0.30000000000000004\r\n");
  CHECK(h.send({"ZADD", "z", "INCR", "inf", "m"}) == "$3\r\ninf\r\n");
  CHECK(h.send({"ZINCRBY", "z", "-inf", "m"}) == "-ERR resulting score is not a number (NaN)\r\n");
  h.send({"HELLO", "3"});
  CHECK(h.send({"ZSCORE", "z", "m"}) == ",inf\r\n");
  CHECK(h.send({"ZADD", "y", "2", "b", "1", "a"}) == ":2\r\n");
  CHECK(h.send({"ZRANGE", "y", "0", "-1", "WITHSCORES"}) ==
        "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n");
  CHECK(h.send({"ZPOPMIN", "y"}) == "*2\r\n$1\r\na\r\n,1\r\n");
}

TEST_CASE("ZUNIONSTORE and ZRANGESTORE route by their destination and sources",
          "[resp][zset]") {
  resp_test::Harness h;
  CHECK(h.send({"COMMAND", "GETKEYS", "ZUNIONSTORE", "dst", "2", "a", "b", "WEIGHTS", "1", "2"}) ==
        "*3\r\n$3\r\ndst\r\n$1\r\na\r\n$1\r\nb\r\n");
  CHECK(h.send({"COMMAND", "GETKEYS", "ZUNION", "2", "a", "b", "WITHSCORES"}) ==
        "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
  CHECK(h.send({"COMMAND", "GETKEYS", "ZRANGESTORE", "dst", "src", "0", "-1"}) ==
        "*2\r\n$3\r\ndst\r\n$3\r\nsrc\r\n");
  CHECK(h.send({"COMMAND", "GETKEYS", "ZINTERCARD", "2", "a", "b", "LIMIT", "1"}) ==
        "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
}

TEST_CASE("Blocking pops serve a zset at once, and block on missing keys changing nothing",
          "[resp][zset][blocking]") {
  resp_test::Harness h;
  h.send({"ZADD", "b", "2", "x", "1", "y", "3", "z"});
  // The first key with members is served, as its non-blocking form would pop it.
  CHECK(h.send({"BZPOPMIN", "none", "b", "0"}) == "*3\r\n$1\r\nb\r\n$1\r\ny\r\n$1\r\n1\r\n");
  CHECK(h.send({"BZPOPMAX", "b", "0"}) == "*3\r\n$1\r\nb\r\n$1\r\nz\r\n$1\r\n3\r\n");
  CHECK(h.send({"BZMPOP", "0", "2", "none", "b", "MIN", "COUNT", "5"}) ==
        "*2\r\n$1\r\nb\r\n*1\r\n*2\r\n$1\r\nx\r\n$1\r\n2\r\n");
  CHECK(h.send({"EXISTS", "b"}) == ":0\r\n");
  // Nothing to pop: no reply until the timeout passes, then a null; the keys are untouched
  // and the connection runs nothing behind the blocked command meanwhile.
  CHECK(h.send({"BZPOPMIN", "b", "none", "0.5"}) == "");
  CHECK(h.send({"PING"}) == "");
  h.advance(std::chrono::milliseconds(499));
  h.server.on_timer(h.now, h.wall);
  CHECK(h.drain() == "");
  h.advance(std::chrono::milliseconds(1));
  h.server.on_timer(h.now, h.wall);
  CHECK(h.drain() == "*-1\r\n+PONG\r\n");
  CHECK(h.send({"DBSIZE"}) == ":0\r\n");
  // Argument errors answer at once, as does ZMPOP (never blocks).
  CHECK(h.send({"BZMPOP", "x", "1", "b", "MIN"}) ==
        "-ERR timeout is not a float or out of range\r\n");
  CHECK(h.send({"BZMPOP", "x", "1", "b", "MIN", "COUNT", "0"}) ==
        "-ERR count should be greater than 0\r\n");
  CHECK(h.send({"ZMPOP", "1", "b", "MAX"}) == "*-1\r\n");
  h.send({"HELLO", "3"});
  h.send({"ZADD", "b", "1.5", "x"});
  CHECK(h.send({"BZPOPMIN", "b", "0"}) == "*3\r\n$1\r\nb\r\n$1\r\nx\r\n,1.5\r\n");
}

TEST_CASE("Blocking pops: flags, and keys found by numkeys or before the timeout",
          "[resp][zset][blocking]") {
  resp_test::Harness h;
  for (const char* name : {"bzpopmin", "bzpopmax", "bzmpop"}) {
    const auto* spec = h.server.commands().find(name);
    REQUIRE(spec != nullptr);
    CHECK((spec->flags & apiary::resp::kBlocking) != 0);
  }
  CHECK((h.server.commands().find("zmpop")->flags & apiary::resp::kBlocking) == 0);
  CHECK(h.send({"COMMAND", "GETKEYS", "BZPOPMIN", "a", "b", "0"}) ==
        "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
  CHECK(h.send({"COMMAND", "GETKEYS", "ZMPOP", "2", "a", "b", "MIN", "COUNT", "3"}) ==
        "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
  CHECK(h.send({"COMMAND", "GETKEYS", "BZMPOP", "1.5", "2", "a", "b", "MAX"}) ==
        "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
}
