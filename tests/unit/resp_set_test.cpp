// Set commands run in-process (no sockets), for what a differential test against redis-server
// cannot show: sets holding concurrent states from other coordinators, SSCAN while the set
// changes, picks that follow the store's seed, expiry under virtual time, and a server with
// no keyspace. Byte-for-byte agreement with Redis is tests/integration/set_differential_test.
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "apiary/data/codec.hpp"
#include "apiary/data/collection.hpp"
#include "apiary/store/store.hpp"
#include "resp_test_support.hpp"

namespace {

using namespace apiary;
using resp_test::Harness;

store::StoreConfig config_for(std::uint64_t node, std::uint64_t seed = 0x5eed) {
  store::StoreConfig c;
  c.self = NodeId{node};
  c.seed = seed;
  return c;
}

// The elements of an array or set reply of bulk strings.
std::vector<std::string> bulks(const std::string& reply) {
  std::vector<std::string> out;
  std::size_t pos = reply.find("\r\n") + 2;
  while (pos < reply.size()) {
    REQUIRE(reply[pos] == '$');
    const std::size_t eol = reply.find("\r\n", pos);
    const auto n = std::stoul(reply.substr(pos + 1, eol - pos - 1));
    out.push_back(reply.substr(eol + 2, n));
    pos = eol + 2 + n + 2;
  }
  return out;
}

std::set<std::string> as_set(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

// Ships `key` from one store to another as replication does (encoded and decoded).
void ship(store::Store& from, store::Store& to, std::string_view key, WallTime now) {
  auto v = from.export_entry(key, now);
  REQUIRE(v);
  auto decoded = data::decode_dvv(data::encode_dvv(v->version));
  REQUIRE(decoded.ok());
  REQUIRE(to.merge(key, decoded.value(), v->expiry, now).ok());
}

void sadd(store::Store& s, std::string_view key, std::string_view member, WallTime now) {
  REQUIRE(s.edit_collection(key, data::ValueKind::set, now, [&](store::Store::CollectionEdit& e) {
             e.collection.add(member, e.dot, e.stamp);
             return true;
           }).ok());
}

}  // namespace

TEST_CASE("Set commands over keys holding concurrent states read every state whole",
          "[resp][sets]") {
  // Each key gets a member here and one at another coordinator that this node has not seen:
  // the key holds two sibling states, which a read joins. A multi-key command must not let
  // the second key's join spoil the first one's.
  Harness h(config_for(1));
  store::Store other(config_for(2));
  for (const char* key : {"{k}a", "{k}b", "{k}c"}) {
    CHECK(h.send({"SADD", key, "here", "shared"}) == ":2\r\n");
    sadd(other, key, std::string(key) + "-there", h.wall);
    sadd(other, key, "shared", h.wall);
    ship(other, h.store, key, h.wall);
    const auto entry = h.store.export_entry(key, h.wall);
    REQUIRE(entry);
    REQUIRE(entry->version.siblings().size() == 2);
  }
  CHECK(as_set(bulks(h.send({"SMEMBERS", "{k}a"}))) ==
        std::set<std::string>{"here", "shared", "{k}a-there"});
  CHECK(h.send({"SCARD", "{k}a"}) == ":3\r\n");
  CHECK(as_set(bulks(h.send({"SINTER", "{k}a", "{k}b", "{k}c"}))) ==
        std::set<std::string>{"here", "shared"});
  CHECK(h.send({"SINTERCARD", "3", "{k}a", "{k}b", "{k}c"}) == ":2\r\n");
  CHECK(as_set(bulks(h.send({"SUNION", "{k}a", "{k}b"}))) ==
        std::set<std::string>{"here", "shared", "{k}a-there", "{k}b-there"});
  CHECK(bulks(h.send({"SDIFF", "{k}a", "{k}b"})) == std::vector<std::string>{"{k}a-there"});
  CHECK(h.send({"SUNIONSTORE", "{k}u", "{k}a", "{k}b", "{k}c"}) == ":5\r\n");
  CHECK(h.send({"SMOVE", "{k}a", "{k}b", "{k}a-there"}) == ":1\r\n");
  CHECK(as_set(bulks(h.send({"SMEMBERS", "{k}b"}))) ==
        std::set<std::string>{"here", "shared", "{k}a-there", "{k}b-there"});
  CHECK(as_set(bulks(h.send({"SMEMBERS", "{k}a"}))) == std::set<std::string>{"here", "shared"});
}

TEST_CASE("SSCAN returns each member present for the whole scan exactly once", "[resp][sets]") {
  Harness h;
  std::vector<std::string> initial;
  for (int i = 0; i < 1000; ++i) initial.push_back("m" + std::to_string(i));
  for (const auto& m : initial) REQUIRE(h.send({"SADD", "s", m}) == ":1\r\n");
  // While the scan runs, members m0..m99 go and new members come.
  std::vector<std::string> seen;
  std::string cursor = "0";
  int calls = 0;
  do {
    const std::string reply = h.send({"SSCAN", "s", cursor, "COUNT", "7"});
    const std::size_t cursor_at = reply.find("$", 0);
    const std::size_t eol = reply.find("\r\n", cursor_at);
    const std::size_t cursor_len = std::stoul(reply.substr(cursor_at + 1, eol - cursor_at - 1));
    cursor = reply.substr(eol + 2, cursor_len);
    const std::string batch = reply.substr(eol + 2 + cursor_len + 2);
    for (const auto& m : bulks(batch)) seen.push_back(m);
    if (calls < 100) {
      h.send({"SREM", "s", "m" + std::to_string(calls)});
      h.send({"SADD", "s", "new" + std::to_string(calls)});
    }
    REQUIRE(++calls < 10'000);
  } while (cursor != "0");
  CHECK(calls > 100);
  const std::set<std::string> unique = as_set(seen);
  CHECK(unique.size() == seen.size());  // nothing twice
  for (std::size_t i = 100; i < initial.size(); ++i) CHECK(unique.contains(initial[i]));
}

TEST_CASE("SPOP and SRANDMEMBER pick with the store's seed", "[resp][sets]") {
  const auto picks = [](std::uint64_t seed) {
    Harness h(config_for(1, seed));
    std::vector<std::string> members;
    for (int i = 0; i < 100; ++i) members.push_back("m" + std::to_string(i));
    for (const auto& m : members) h.send({"SADD", "s", m});
    std::string out;
    out += h.send({"SRANDMEMBER", "s"});
    out += h.send({"SRANDMEMBER", "s", "5"});
    out += h.send({"SRANDMEMBER", "s", "60"});
    out += h.send({"SRANDMEMBER", "s", "-20"});
    out += h.send({"SPOP", "s"});
    out += h.send({"SPOP", "s", "10"});
    return out;
  };
  CHECK(picks(7) == picks(7));
  CHECK(picks(7) != picks(8));
}

TEST_CASE("A set's expiry: writes keep it, *STORE drops it, an expired set is gone",
          "[resp][sets]") {
  Harness h;
  CHECK(h.send({"SADD", "{e}s", "a", "b", "c"}) == ":3\r\n");
  CHECK(h.send({"EXPIRE", "{e}s", "100"}) == ":1\r\n");
  CHECK(h.send({"SADD", "{e}s", "d"}) == ":1\r\n");
  CHECK(h.send({"SREM", "{e}s", "a"}) == ":1\r\n");
  CHECK(h.send({"SPOP", "{e}s", "1"}).rfind("*1\r\n", 0) == 0);
  CHECK(h.send({"SMOVE", "{e}s", "{e}d", "zz"}) == ":0\r\n");
  CHECK(h.send({"TTL", "{e}s"}) == ":100\r\n");
  CHECK(h.send({"SADD", "{e}d", "x"}) == ":1\r\n");
  CHECK(h.send({"EXPIRE", "{e}d", "50"}) == ":1\r\n");
  CHECK(h.send({"SUNIONSTORE", "{e}d", "{e}s", "{e}d"}) == ":3\r\n");
  CHECK(h.send({"TTL", "{e}d"}) == ":-1\r\n");
  h.advance(std::chrono::milliseconds(100'001));
  CHECK(h.send({"EXISTS", "{e}s"}) == ":0\r\n");
  CHECK(h.send({"SMEMBERS", "{e}s"}) == "*0\r\n");
  CHECK(h.send({"SCARD", "{e}s"}) == ":0\r\n");
  CHECK(h.send({"SADD", "{e}s", "fresh"}) == ":1\r\n");
  CHECK(h.send({"TTL", "{e}s"}) == ":-1\r\n");
  CHECK(h.send({"SMEMBERS", "{e}s"}) == "*1\r\n$5\r\nfresh\r\n");
}

TEST_CASE("An integer set lists in ascending order, as Redis lists an intset", "[resp][sets]") {
  Harness h;
  CHECK(h.send({"SADD", "s", "10", "-3", "7", "0", "9223372036854775807"}) == ":5\r\n");
  CHECK(bulks(h.send({"SMEMBERS", "s"})) ==
        std::vector<std::string>{"-3", "0", "7", "10", "9223372036854775807"});
  CHECK(bulks(h.send({"SRANDMEMBER", "s", "10"})) ==
        std::vector<std::string>{"-3", "0", "7", "10", "9223372036854775807"});
  CHECK(h.send({"SSCAN", "s", "123", "COUNT", "1"}) ==
        "*2\r\n$1\r\n0\r\n*5\r\n$2\r\n-3\r\n$1\r\n0\r\n$1\r\n7\r\n$2\r\n10\r\n$19\r\n"
        "9223372036854775807\r\n");
  // One member that is not an integer to Redis: a hash table, listed in member-hash order.
  CHECK(h.send({"SADD", "s", "07"}) == ":1\r\n");
  CHECK(h.send({"OBJECT", "ENCODING", "s"}) == "$9\r\nhashtable\r\n");
  const auto listed = bulks(h.send({"SMEMBERS", "s"}));
  CHECK(listed.size() == 6);
  CHECK(bulks(h.send({"SMEMBERS", "s"})) == listed);  // stable
  CHECK(bulks(h.send({"SSCAN", "s", "0", "COUNT", "100"}).substr(11)) == listed);
}

TEST_CASE("Set commands on a server without a keyspace answer an error", "[resp][sets]") {
  resp::Server server;
  auto conn = server.connect(from_nanos(1), {"127.0.0.1:1", "127.0.0.1:6379", 7});
  const auto run = [&](std::initializer_list<std::string_view> args) {
    conn->feed(from_nanos(1), WallTime{1}, resp_test::cmd(args));
    std::string out(conn->output());
    conn->consume_output(out.size());
    return out;
  };
  const std::string error = "-ERR this node has no keyspace attached\r\n";
  CHECK(run({"SADD", "s", "a"}) == error);
  CHECK(run({"SREM", "s", "a"}) == error);
  CHECK(run({"SMEMBERS", "s"}) == error);
  CHECK(run({"SPOP", "s"}) == error);
  CHECK(run({"SPOP", "s", "2"}) == error);
  CHECK(run({"SRANDMEMBER", "s", "2"}) == error);
  CHECK(run({"SMOVE", "a", "b", "m"}) == error);
  CHECK(run({"SINTER", "a", "b"}) == error);
  CHECK(run({"SINTERSTORE", "d", "a"}) == error);
  CHECK(run({"SINTERCARD", "1", "a"}) == error);
  CHECK(run({"SSCAN", "s", "0"}) == error);
}

TEST_CASE("A huge negative SRANDMEMBER count stops at the client's output limit", "[resp][sets]") {
  Harness h;
  CHECK(h.send({"SADD", "s", "a", "b", "c"}) == ":3\r\n");
  REQUIRE(h.send({"CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0"}) == "+OK\r\n");
  // A billion picks would be some 7 GB of reply: it stops past 1 MB and the client is closed.
  h.c().feed(h.now, h.wall, resp_test::cmd({"SRANDMEMBER", "s", "-1000000000"}));
  CHECK(h.c().should_close());
  CHECK(h.drain().size() < (2u << 20));
}

TEST_CASE("SRANDMEMBER picks every member of a big set about equally often", "[resp][sets]") {
  // A pick by a random member hash alone favours members after wide hash gaps (some came up
  // eight times as often as the mean, some almost never); a small set is picked from by
  // position. 600 members (a hash table to Redis) and 300 (an intset's size), 500 draws each.
  for (const int size : {600, 300}) {
    Harness h;
    for (int i = 0; i < size; ++i) h.send({"SADD", "s", "m" + std::to_string(i)});
    std::map<std::string, int> counts;
    const std::string draws = std::to_string(-500 * size);
    for (const auto& m : bulks(h.send({"SRANDMEMBER", "s", draws}))) ++counts[m];
    INFO("set of " << size);
    REQUIRE(counts.size() == static_cast<std::size_t>(size));
    for (const auto& [member, n] : counts) {
      INFO(member << " drawn " << n << " times");
      CHECK(n > 500 / 3);
      CHECK(n < 500 * 3);
    }
  }
}
