// MIGRATE with real processes: apiaryd -> redis-server (every type, TTL, COPY, REPLACE, the
// target's errors, KEYS, NOKEY, AUTH and AUTH2), a member of a 3-node cluster -> another
// apiaryd, redis-server's own MIGRATE into apiaryd (its RESTOREs), IOERR on a closed port and
// a timeout against a listener that never answers while the node keeps serving others.
// Argument errors are compared byte for byte with redis-server's.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "integration/support/cluster.hpp"
#include "integration/support/redis_server.hpp"

using namespace apiary::test;
using namespace std::chrono_literals;

namespace {

using Argv = std::vector<std::string>;

Argv migrate_args(const std::string& port, const std::string& key, Argv options = {}) {
  Argv argv = {"MIGRATE", "127.0.0.1", port, key, "0", "2000"};
  argv.insert(argv.end(), options.begin(), options.end());
  return argv;
}

// A loopback listener that accepts nothing and answers nothing.
struct SilentListener {
  int fd = -1;
  std::string port;
  SilentListener() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, 8) == 0);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = std::to_string(ntohs(addr.sin_port));
  }
  ~SilentListener() { ::close(fd); }
};

// Accepts one connection on `listener`, reads what comes, answers `reply` and then closes, or
// waits for the peer to close when `linger`.
std::thread hostile_target(const SilentListener& listener, std::string reply, bool linger) {
  return std::thread([fd = listener.fd, reply = std::move(reply), linger] {
    const int c = ::accept(fd, nullptr, nullptr);
    if (c < 0) return;
    char buf[4096];
    [[maybe_unused]] auto n = ::recv(c, buf, sizeof buf, 0);
    [[maybe_unused]] auto w = ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
    while (linger && ::recv(c, buf, sizeof buf, 0) > 0) {
    }
    ::close(c);
  });
}

}  // namespace

TEST_CASE("MIGRATE moves every type from apiaryd to redis-server", "[integration]") {
  Daemon node("mg1", {});
  RedisServer redis;
  RespClient a(node.redis_port());
  RespClient r(redis.port());
  REQUIRE(a.command({"SET", "s", "hello", "PX", "100000"}) == "+OK\r\n");
  REQUIRE(a.command({"HSET", "h", "f", "1"}) == ":1\r\n");
  REQUIRE(a.command({"RPUSH", "l", "x", "y", "z"}) == ":3\r\n");
  REQUIRE(a.command({"SADD", "st", "m"}) == ":1\r\n");
  REQUIRE(a.command({"ZADD", "z", "1.5", "a", "2", "b"}) == ":2\r\n");
  for (const char* key : {"s", "h", "l", "st", "z"}) {
    CHECK(a.command(migrate_args(redis.port(), key)) == "+OK\r\n");
  }
  CHECK(a.command({"EXISTS", "s", "h", "l", "st", "z"}) == ":0\r\n");
  CHECK(r.command({"GET", "s"}) == "$5\r\nhello\r\n");
  const std::string pttl = r.command({"PTTL", "s"});
  CHECK(pttl.size() > 3);
  CHECK(std::stoll(pttl.substr(1)) > 90000);
  CHECK(r.command({"HGET", "h", "f"}) == "$1\r\n1\r\n");
  CHECK(r.command({"LRANGE", "l", "0", "-1"}) == "*3\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\nz\r\n");
  CHECK(r.command({"SISMEMBER", "st", "m"}) == ":1\r\n");
  CHECK(r.command({"ZSCORE", "z", "a"}) == "$3\r\n1.5\r\n");
  CHECK(r.command({"TTL", "h"}) == ":-1\r\n");

  SECTION("COPY keeps the source, REPLACE overwrites, BUSYKEY otherwise") {
    REQUIRE(a.command({"SET", "s", "v2"}) == "+OK\r\n");
    CHECK(a.command(migrate_args(redis.port(), "s", {"COPY"})) ==
          "-ERR Target instance replied with error: BUSYKEY Target key name already exists.\r\n");
    CHECK(a.command({"GET", "s"}) == "$2\r\nv2\r\n");
    CHECK(r.command({"GET", "s"}) == "$5\r\nhello\r\n");
    CHECK(a.command(migrate_args(redis.port(), "s", {"COPY", "REPLACE"})) == "+OK\r\n");
    CHECK(a.command({"GET", "s"}) == "$2\r\nv2\r\n");
    CHECK(r.command({"GET", "s"}) == "$2\r\nv2\r\n");
    CHECK(r.command({"TTL", "s"}) == ":-1\r\n");
  }
  SECTION("KEYS moves several keys; missing ones are skipped; none present is NOKEY") {
    REQUIRE(a.command({"SET", "k1", "1"}) == "+OK\r\n");
    REQUIRE(a.command({"SET", "k2", "2"}) == "+OK\r\n");
    CHECK(a.command(migrate_args(redis.port(), "", {"KEYS", "k1", "nokey", "k2"})) == "+OK\r\n");
    CHECK(a.command({"EXISTS", "k1", "k2"}) == ":0\r\n");
    CHECK(r.command({"MGET", "k1", "k2"}) == "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    CHECK(a.command(migrate_args(redis.port(), "nokey")) == "+NOKEY\r\n");
    CHECK(a.command(migrate_args(redis.port(), "", {"KEYS", "x", "y"})) == "+NOKEY\r\n");
  }
  SECTION("one key refused: the others move, the error is the target's") {
    REQUIRE(a.command({"SET", "s", "again"}) == "+OK\r\n");
    REQUIRE(a.command({"SET", "fresh", "1"}) == "+OK\r\n");
    CHECK(a.command(migrate_args(redis.port(), "", {"KEYS", "s", "fresh"})) ==
          "-ERR Target instance replied with error: BUSYKEY Target key name already exists.\r\n");
    CHECK(a.command({"EXISTS", "s"}) == ":1\r\n");
    CHECK(a.command({"EXISTS", "fresh"}) == ":0\r\n");
    CHECK(r.command({"GET", "fresh"}) == "$1\r\n1\r\n");
  }
}

TEST_CASE("MIGRATE authenticates with AUTH and AUTH2", "[integration]") {
  Daemon node("mga", {});
  RedisServer redis;
  {
    RespClient admin(redis.port());
    REQUIRE(admin.command({"CONFIG", "SET", "requirepass", "secret"}) == "+OK\r\n");
  }
  RespClient a(node.redis_port());
  REQUIRE(a.command({"SET", "p", "1"}) == "+OK\r\n");
  CHECK(a.command(migrate_args(redis.port(), "p")) ==
        "-ERR Target instance replied with error: NOAUTH Authentication required.\r\n");
  CHECK(a.command(migrate_args(redis.port(), "p", {"AUTH", "wrong"})) ==
        "-ERR Target instance replied with error: WRONGPASS invalid username-password pair or "
        "user is disabled.\r\n");
  CHECK(a.command({"EXISTS", "p"}) == ":1\r\n");
  CHECK(a.command(migrate_args(redis.port(), "p", {"AUTH", "secret", "COPY"})) == "+OK\r\n");
  CHECK(a.command(migrate_args(redis.port(), "p", {"REPLACE", "AUTH2", "default", "secret"})) ==
        "+OK\r\n");
  CHECK(a.command({"EXISTS", "p"}) == ":0\r\n");
  RespClient r(redis.port());
  REQUIRE(r.command({"AUTH", "secret"}) == "+OK\r\n");
  CHECK(r.command({"GET", "p"}) == "$1\r\n1\r\n");
}

TEST_CASE("MIGRATE between Apiary clusters, and from redis-server into apiaryd", "[integration]") {
  auto nodes = start_cluster("mgc", 3, {});
  REQUIRE(eventually(10s, [&] { return settled(nodes); }));
  Daemon target("mgt", {});
  RedisServer redis;
  RespClient a(nodes[1]->redis_port());
  RespClient t(target.redis_port());
  // Keys on every member: the MIGRATE reads them through the cluster, wherever they live.
  Argv keys = {"KEYS"};
  for (int i = 0; i < 12; ++i) {
    const std::string key = "key" + std::to_string(i);
    REQUIRE(a.command({"SET", key, "v" + std::to_string(i)}) == "+OK\r\n");
    keys.push_back(key);
  }
  REQUIRE(a.command({"HSET", "hash", "f", "g"}) == ":1\r\n");
  keys.push_back("hash");
  CHECK(a.command(migrate_args(target.redis_port(), "", keys)) == "+OK\r\n");
  RespClient other(nodes[2]->redis_port());
  CHECK(other.command({"DBSIZE"}) == ":0\r\n");
  CHECK(t.command({"DBSIZE"}) == ":13\r\n");
  CHECK(t.command({"GET", "key7"}) == "$2\r\nv7\r\n");
  CHECK(t.command({"HGET", "hash", "f"}) == "$1\r\ng\r\n");

  // redis-server's own MIGRATE into apiaryd: SELECT 0 and RESTOREs of Redis's encodings.
  RespClient r(redis.port());
  REQUIRE(r.command({"RPUSH", "rl", "1", "2", "3"}) == ":3\r\n");
  REQUIRE(r.command({"ZADD", "rz", "1", "a"}) == ":1\r\n");
  REQUIRE(r.command({"SET", "rs", "abc", "PX", "60000"}) == "+OK\r\n");
  CHECK(r.command({"MIGRATE", "127.0.0.1", nodes[0]->redis_port(), "", "0", "2000", "KEYS", "rl",
                   "rz", "rs"}) == "+OK\r\n");
  CHECK(r.command({"DBSIZE"}) == ":0\r\n");
  CHECK(a.command({"LRANGE", "rl", "0", "-1"}) == "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
  CHECK(a.command({"ZSCORE", "rz", "a"}) == "$1\r\n1\r\n");
  const std::string pttl = a.command({"PTTL", "rs"});
  CHECK(std::stoll(pttl.substr(1)) > 50000);
  CHECK(r.command({"MIGRATE", "127.0.0.1", nodes[0]->redis_port(), "rl", "0", "2000", "COPY"}) ==
        "+NOKEY\r\n");
}

TEST_CASE("MIGRATE's I/O errors and timeout leave the key and the node serving", "[integration]") {
  Daemon node("mgi", {});
  RespClient a(node.redis_port());
  REQUIRE(a.command({"SET", "k", "v"}) == "+OK\r\n");
  const std::string closed = std::to_string(free_loopback_port());
  CHECK(a.command(migrate_args(closed, "k")) ==
        "-IOERR error or timeout writing to target instance\r\n");
  CHECK(a.command({"MIGRATE", "no.such.host.invalid", "1", "k", "0", "100"}) ==
        "-IOERR error or timeout connecting to the client\r\n");
  SilentListener silent;
  RespClient waiting(node.redis_port());
  const auto start = std::chrono::steady_clock::now();
  waiting.send_raw("*6\r\n$7\r\nMIGRATE\r\n$9\r\n127.0.0.1\r\n$" +
                   std::to_string(silent.port.size()) + "\r\n" + silent.port +
                   "\r\n$1\r\nk\r\n$1\r\n0\r\n$4\r\n1500\r\n");
  // Meanwhile the node answers other clients at once.
  for (int i = 0; i < 5; ++i) CHECK(a.command({"GET", "k"}) == "$1\r\nv\r\n");
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  CHECK(waiting.reply() == "-IOERR error or timeout reading to target instance\r\n");
  CHECK(std::chrono::steady_clock::now() - start >= 1400ms);
  CHECK(a.command({"GET", "k"}) == "$1\r\nv\r\n");
}

TEST_CASE("MIGRATE answers a garbled target with IOERR and keeps the key", "[integration]") {
  Daemon node("mgh", {});
  RespClient a(node.redis_port());
  REQUIRE(a.command({"SET", "k", "v"}) == "+OK\r\n");
  const std::vector<std::string> replies = {
      "+OK\r\n$5\r\nhello\r\n",          // RESTORE answered with a bulk string
      "+OK\r\n:1\r\n",                   // ... with an integer
      "\x01\x02garbage without an end",  // not RESP at all, and no line end
      std::string(70000, 'x'),           // a line longer than any status line
      "+OK\r\n",                         // SELECT's reply only
  };
  for (bool linger : {true, false}) {
    for (const std::string& reply : replies) {
      SilentListener target;
      std::thread t = hostile_target(target, reply, linger);
      CHECK(a.command({"MIGRATE", "127.0.0.1", target.port, "k", "0", "1000"}) ==
            "-IOERR error or timeout reading to target instance\r\n");
      ::shutdown(target.fd, SHUT_RDWR);
      t.join();
      CHECK(a.command({"GET", "k"}) == "$1\r\nv\r\n");
    }
  }
}

TEST_CASE("MIGRATE's argument errors are redis-server's, byte for byte", "[integration]") {
  Daemon node("mge", {});
  RedisServer redis;
  RespClient a(node.redis_port());
  RespClient r(redis.port());
  const std::vector<Argv> cases = {
      {"MIGRATE", "h", "1", "k", "0"},
      {"MIGRATE", "h", "1", "k", "0", "x"},
      {"MIGRATE", "h", "1", "k", "x", "0"},
      {"MIGRATE", "h", "1", "k", "99999999999999999999", "1"},
      {"MIGRATE", "h", "1", "k", "0", "10", "AUTH"},
      {"MIGRATE", "h", "1", "k", "0", "10", "AUTH2", "u"},
      {"MIGRATE", "h", "1", "k", "0", "10", "KEYS", "a"},
      {"MIGRATE", "h", "1", "k", "0", "10", "FOO"},
      {"MIGRATE", "h", "1", "k", "x", "y", "FOO"},
      {"MIGRATE", "h", "1", "k", "0", "x", "KEYS", "a"},
      {"MIGRATE", "h", "1", "", "0", "10", "KEYS"},
      {"MIGRATE", "h", "1", "nokey", "0", "10", "COPY", "REPLACE"},
      {"COMMAND", "GETKEYS", "MIGRATE", "h", "1", "k", "0", "10"},
      {"COMMAND", "GETKEYS", "MIGRATE", "h", "1", "", "0", "10", "KEYS", "a", "b"},
      {"COMMAND", "GETKEYS", "MIGRATE", "h", "1", "", "0", "10", "AUTH", "KEYS", "a"},
      {"COMMAND", "GETKEYS", "MIGRATE", "h", "1", "k", "0", "10", "KEYS", "a"},
      {"COMMAND", "GETKEYS", "MIGRATE", "h", "1", "k", "0", "10", "KEYS"},
      {"COMMAND", "GETKEYSANDFLAGS", "MIGRATE", "h", "1", "", "0", "10", "KEYS", "a"},
      {"COMMAND", "INFO", "MIGRATE"},
  };
  for (const Argv& argv : cases) {
    INFO(argv[0] << " " << argv[1] << " " << argv[2] << " ... (" << argv.size() << " args)");
    CHECK(a.command(argv) == r.command(argv));
  }
}
