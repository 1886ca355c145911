// The hash commands' promises that a comparison with redis-server cannot pin down, run
// in-process (tests/integration/hash_differential_test.cpp compares the replies themselves):
// how HRANDFIELD spreads its picks, that HSCAN returns every field present for a whole scan
// exactly once while the hash changes under it, and that a huge HRANDFIELD count stops at the
// client's output limit instead of growing the reply without bound.
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "resp_test_support.hpp"

namespace {

// The bulk strings of a flat reply (an array of bulks, or HSCAN's cursor and array), in order.
std::vector<std::string> bulks(const std::string& reply) {
  std::vector<std::string> out;
  std::size_t p = 0;
  while (p < reply.size()) {
    const std::size_t eol = reply.find("\r\n", p);
    REQUIRE(eol != std::string::npos);
    if (reply[p] != '$') {  // an aggregate's header
      p = eol + 2;
      continue;
    }
    const auto len = std::stoul(reply.substr(p + 1, eol - p - 1));
    out.push_back(reply.substr(eol + 2, len));
    p = eol + 2 + len + 2;
  }
  return out;
}

void fill(resp_test::Harness& h, const std::string& key, int n) {
  for (int i = 0; i < n; ++i) {
    REQUIRE(h.send({"HSET", key, "f" + std::to_string(i), "v" + std::to_string(i)}) == ":1\r\n");
  }
}

}  // namespace

TEST_CASE("HRANDFIELD picks each field of a small hash about equally often", "[resp][hash]") {
  resp_test::Harness h;
  fill(h, "h", 4);
  std::map<std::string, int> times;
  for (const auto& f : bulks(h.send({"HRANDFIELD", "h", "-4000"}))) ++times[f];
  REQUIRE(times.size() == 4);
  for (const auto& [field, n] : times) {
    INFO(field);
    CHECK(n > 800);  // 1000 expected; a spread this wide is a broken picker, not bad luck
    CHECK(n < 1200);
  }
}

TEST_CASE("HRANDFIELD with a positive count returns distinct fields of the hash", "[resp][hash]") {
  resp_test::Harness h;
  const int n = GENERATE(5, 600);  // a listpack-sized hash and a big one
  fill(h, "h", n);
  for (int count = 1; count <= n + 10; count += (n > 100 ? 37 : 1)) {
    const auto fields = bulks(h.send({"HRANDFIELD", "h", std::to_string(count)}));
    INFO("hash of " << n << ", count " << count);
    CHECK(fields.size() == static_cast<std::size_t>(std::min(count, n)));
    CHECK(std::set<std::string>(fields.begin(), fields.end()).size() == fields.size());
    for (const auto& f : fields) CHECK(h.send({"HEXISTS", "h", f}) == ":1\r\n");
  }
  // With values: each field followed by its own value.
  const auto pairs = bulks(h.send({"HRANDFIELD", "h", "-50", "WITHVALUES"}));
  REQUIRE(pairs.size() == 100);
  for (std::size_t i = 0; i < pairs.size(); i += 2) {
    CHECK(pairs[i + 1] == "v" + pairs[i].substr(1));
  }
}

TEST_CASE("HSCAN returns every field present for the whole scan once, while the hash changes",
          "[resp][hash]") {
  resp_test::Harness h;
  fill(h, "h", 600);  // f0..f599 stay for the whole scan
  std::multiset<std::string> seen;
  std::string cursor = "0";
  int calls = 0;
  do {
    const auto out = bulks(h.send({"HSCAN", "h", cursor, "COUNT", "13"}));
    REQUIRE(out.size() % 2 == 1);
    cursor = out[0];
    for (std::size_t i = 1; i < out.size(); i += 2) {
      CHECK(out[i + 1] == "v" + out[i].substr(1));
      seen.insert(out[i]);
    }
    // Fields that come and go meanwhile, which the scan may or may not return.
    const std::string extra = "x" + std::to_string(calls);
    REQUIRE(h.send({"HSET", "h", extra, "v" + std::to_string(calls)}) == ":1\r\n");
    if (calls % 2 == 1) {
      REQUIRE(h.send({"HDEL", "h", "x" + std::to_string(calls - 1)}) == ":1\r\n");
    }
    REQUIRE(++calls < 1000);
  } while (cursor != "0");
  CHECK(calls > 10);  // a hash table this big is scanned in pages, not at once
  for (int i = 0; i < 600; ++i) CHECK(seen.count("f" + std::to_string(i)) == 1);
  for (const auto& f : seen) CHECK(seen.count(f) == 1);
}

TEST_CASE("a huge negative HRANDFIELD count stops at the client's output limit", "[resp][hash]") {
  resp_test::Harness h;
  fill(h, "h", 3);
  REQUIRE(h.send({"CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0"}) == "+OK\r\n");
  // A billion picks would be some 10 GB of reply: the reply stops past 1 MB and the client is
  // disconnected, as Redis closes it.
  h.c().feed(h.now, h.wall, resp_test::cmd({"HRANDFIELD", "h", "-1000000000"}));
  CHECK(h.c().should_close());
  CHECK(h.drain().size() < (2u << 20));
}
