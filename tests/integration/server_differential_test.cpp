// Differential test of the connection, server and keyspace commands of issue 24: one apiaryd
// and one redis-server 7.0, both started here, get the same lines (RESP2, then RESP3 after
// HELLO 3) and must answer byte for byte alike: PING/ECHO/SELECT/SWAPDB/LOLWUT/TIME/RESET,
// the HELP of every container command, WAIT/WAITAOF, OBJECT on every type, TOUCH/UNLINK,
// COPY/RENAME across types, COMMAND GETKEYS/GETKEYSANDFLAGS and COMMAND INFO/DOCS. Then
// the same lines through members of a three-node cluster (multi-key lines under one hash
// tag, {k}), COMMAND INFO/DOCS of every command Apiary has compared with Redis's, and INFO's
// sections.
//
// redis-server runs normally (not in cluster mode); Apiary answers as Redis Cluster, so
// SELECT of another database and SWAPDB differ by design, as listed in the lines.
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "integration/support/cluster.hpp"
#include "integration/support/differential.hpp"

using namespace apiary::test;

namespace {

constexpr const char* kClusterMode = "Apiary answers as Redis Cluster: one keyspace";
constexpr const char* kNotIn70 = "WAITAOF is Redis 7.2's; redis-server 7.0 does not know it";
constexpr const char* kNoTouch = "CLIENT NO-TOUCH is Redis 7.2's; 7.0 answers unknown subcommand";
constexpr const char* kArt =
    "LOLWUT 6 draws a skyline from rand(), never twice alike; Apiary answers the version line";

std::vector<DiffLine> lines(bool cluster) {
  std::vector<DiffLine> out = {
      // Connection.
      {"PING"},
      {"PING hello"},
      {"PING a b"},
      {"ECHO hello"},
      {"ECHO ''"},
      {"ECHO"},
      {"ECHO a b"},
      {"SELECT 0"},
      {"SELECT x"},
      {"SELECT 99999999999"},
      {"SELECT"},
      {"SELECT 1", "-ERR SELECT is not allowed in cluster mode\r\n", nullptr, kClusterMode},
      {"SELECT 16", "-ERR SELECT is not allowed in cluster mode\r\n", nullptr, kClusterMode},
      {"SELECT -1", "-ERR SELECT is not allowed in cluster mode\r\n", nullptr, kClusterMode},
      {"SWAPDB 0 1", "-ERR SWAPDB is not allowed in cluster mode\r\n", nullptr, kClusterMode},
      {"SWAPDB 0 0", "-ERR SWAPDB is not allowed in cluster mode\r\n", nullptr, kClusterMode},
      {"SWAPDB x 1", "-ERR SWAPDB is not allowed in cluster mode\r\n", nullptr, kClusterMode},
      {"SWAPDB 0"},
      {"LOLWUT"},
      {"LOLWUT VERSION 7"},
      {"LOLWUT version 99"},
      {"LOLWUT VERSION 4"},
      {"LOLWUT VERSION x"},
      {"LOLWUT VERSION"},
      {"LOLWUT 1 2"},
      // Schotter with two rows of squares or fewer has no random part: exact.
      {"LOLWUT VERSION 5 20 3 2"},
      {"LOLWUT VERSION 5 1 1 1"},
      // Columns clamped to 1 with one square per row and column: no randomness enters (the
      // default 8 x 12 squares on one column can leave a dot unset, on either server).
      {"LOLWUT VERSION 5 0 1 1"},
      {"LOLWUT VERSION 5 -5 0 0"},
      {"LOLWUT VERSION 5 2000 300 1"},
      {"LOLWUT VERSION 5 40 5 2 extra"},
      {"LOLWUT VERSION 5 x"},
      {"LOLWUT VERSION 5 99999999999999999999"},
      {"LOLWUT VERSION 6 10 10", "$18\r\nRedis ver. 7.0.15\n\r\n",
       "=22\r\ntxt:Redis ver. 7.0.15\n\r\n", kArt},
      {"TIME x"},
      // HELP of every container command.
      {"CLIENT HELP"},
      {"client help"},
      {"CLIENT HELP x"},
      {"COMMAND HELP"},
      {"CONFIG HELP"},
      {"OBJECT HELP"},
      {"OBJECT help"},
      {"OBJECT HELP extra"},
      {"MEMORY HELP"},
      {"CLIENT NO-TOUCH ON", "+OK\r\n", nullptr, kNoTouch},
      {"CLIENT NO-TOUCH maybe", "-ERR syntax error\r\n", nullptr, kNoTouch},
      {"CLIENT NO-TOUCH OFF", "+OK\r\n", nullptr, kNoTouch},
      {"CLIENT NOSUCH"},
      {"OBJECT"},
      {"OBJECT nosuch k"},
      // WAIT / WAITAOF.
      {"WAIT 0 x"},
      {"WAIT x 0"},
      {"WAIT 0 -1"},
      {"WAIT 0 1.5"},
      {"WAIT 99999999999999999999 0"},
      {"WAIT 0"},
      {"WAITAOF 0 0 0", "*2\r\n:0\r\n:0\r\n", nullptr, kNotIn70},
      {"WAITAOF 1 0 0",
       "-ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled.\r\n", nullptr,
       kNotIn70},
      {"WAITAOF 2 0 0", "-ERR value is out of range, value must between 0 and 1\r\n", nullptr,
       kNotIn70},
      {"WAITAOF 0 -1 0", "-ERR value is out of range, must be positive\r\n", nullptr, kNotIn70},
      {"WAITAOF 0 0 -1", "-ERR timeout is negative\r\n", nullptr, kNotIn70},
      // OBJECT on every type.
      {"SET {k}s hello"},
      {"SET {k}n 123"},
      {"SET {k}n2 99999"},
      {"SET {k}neg -5"},
      {"SET {k}big aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
      {"HSET {k}h f v"},
      {"SADD {k}st a b"},
      {"SADD {k}si 1 2 3"},
      {"ZADD {k}z 1 a 2 b"},
      {"RPUSH {k}l a b c"},
      {"OBJECT ENCODING {k}s"},
      {"OBJECT ENCODING {k}n"},
      {"OBJECT ENCODING {k}big"},
      {"OBJECT ENCODING {k}h"},
      {"OBJECT ENCODING {k}st"},
      {"OBJECT ENCODING {k}si"},
      {"OBJECT ENCODING {k}z"},
      {"OBJECT ENCODING {k}l"},
      {"OBJECT ENCODING {k}missing"},
      {"OBJECT ENCODING"},
      {"OBJECT ENCODING {k}s extra"},
      {"OBJECT REFCOUNT {k}s"},
      {"OBJECT REFCOUNT {k}n"},
      {"OBJECT REFCOUNT {k}n2"},
      {"OBJECT REFCOUNT {k}neg"},
      {"OBJECT REFCOUNT {k}h"},
      {"OBJECT REFCOUNT {k}st"},
      {"OBJECT REFCOUNT {k}z"},
      {"OBJECT REFCOUNT {k}l"},
      {"OBJECT REFCOUNT {k}missing"},
      {"OBJECT IDLETIME {k}s"},
      {"OBJECT IDLETIME {k}h"},
      {"OBJECT IDLETIME {k}z"},
      {"OBJECT IDLETIME {k}l"},
      {"OBJECT IDLETIME {k}missing"},
      {"OBJECT FREQ {k}s"},
      {"OBJECT FREQ {k}l"},
      {"OBJECT FREQ {k}missing"},
      // TOUCH and UNLINK count existing keys.
      {"TOUCH {k}s {k}h {k}missing {k}z {k}l"},
      {"TOUCH {k}missing"},
      {"TOUCH {k}s {k}s"},
      {"TOUCH"},
      {"UNLINK {k}n {k}missing {k}neg"},
      {"UNLINK {k}missing"},
      {"UNLINK"},
      {"EXISTS {k}n {k}neg {k}s"},
      // Keys of different partitions: through a cluster, counted by every key's coordinator
      // and summed.
      {"MSET {a}1 x {b}2 y"},
      {"SET {c}3 z"},
      {"TOUCH {a}1 {b}2 {c}3 {d}4"},
      {"UNLINK {a}1 {b}2 {d}4"},
      {"EXISTS {a}1 {b}2 {c}3"},
      {"UNLINK {c}3"},
      // COPY across types: REPLACE, TTL kept, errors.
      {"COPY {k}h {k}h2"},
      {"COPY {k}st {k}st2"},
      {"COPY {k}z {k}z2"},
      {"COPY {k}l {k}l2"},
      {"COPY {k}s {k}s2"},
      {"COPY {k}l {k}l2"},
      {"COPY {k}l {k}l2 REPLACE"},
      {"COPY {k}h {k}l2 REPLACE"},
      {"TYPE {k}l2"},
      {"HGETALL {k}l2"},
      {"COPY {k}z {k}s2 replace"},
      {"ZRANGE {k}s2 0 -1 WITHSCORES"},
      {"COPY {k}missing {k}x"},
      {"COPY {k}h {k}h"},
      {"COPY {k}h {k}x DB"},
      {"COPY {k}h {k}x foo"},
      {"COPY {k}h {k}x DB 0 REPLACE"},
      {"COPY {k}h"},
      {"LRANGE {k}l2 0 -1"},
      {"SMISMEMBER {k}st2 a b c"},
      {"ZRANGE {k}z2 0 -1 WITHSCORES"},
      {"EXPIRE {k}l 1000"},
      {"COPY {k}l {k}l3"},
      {"TTL {k}l3"},
      {"LRANGE {k}l3 0 -1"},
      // RENAME / RENAMENX across types.
      {"RENAME {k}l {k}l4"},
      {"TTL {k}l4"},
      {"EXISTS {k}l"},
      {"LRANGE {k}l4 0 -1"},
      {"RENAME {k}z {k}h2"},
      {"TYPE {k}h2"},
      {"ZRANGE {k}h2 0 -1 WITHSCORES"},
      {"RENAME {k}st {k}s"},
      {"TYPE {k}s"},
      {"RENAME {k}missing {k}x"},
      {"RENAME {k}h2 {k}h2"},
      {"RENAMENX {k}st2 {k}s"},
      {"RENAMENX {k}st2 {k}newst"},
      {"SMISMEMBER {k}newst a b c"},
      {"RENAMENX {k}missing {k}x"},
      {"RENAMENX {k}s {k}s"},
      {"RENAME {k}h"},
      // COMMAND GETKEYS / GETKEYSANDFLAGS.
      {"COMMAND GETKEYS get k"},
      {"COMMAND GETKEYS get"},
      {"COMMAND GETKEYS ping x"},
      {"COMMAND GETKEYS nosuch k"},
      {"COMMAND GETKEYS mset a 1 b 2"},
      {"COMMAND GETKEYS mset a 1 b"},
      {"COMMAND GETKEYS zunionstore d 2 a b WEIGHTS 1 2"},
      {"COMMAND GETKEYS zunionstore d 0 a"},
      {"COMMAND GETKEYS zunionstore d 5 a"},
      {"COMMAND GETKEYS lmpop 2 a b LEFT"},
      // Key counts that are not strict integers: Redis's own key finders read them with atoi.
      {"COMMAND GETKEYS lmpop 4294967297 a LEFT"},
      {"COMMAND GETKEYS zinter +1 a"},
      {"COMMAND GETKEYS zunionstore d 01 a"},
      {"COMMAND GETKEYS zdiffstore d 1abc a"},
      {"COMMAND GETKEYS zinter 99999999999999999999 a"},
      {"COMMAND GETKEYSANDFLAGS zunionstore d +2 a b"},
      {"COMMAND GETKEYSANDFLAGS bzmpop 0 +1 a MIN"},
      {"COMMAND GETKEYS blmpop 0 2 a b LEFT"},
      {"COMMAND GETKEYS sintercard 2 a b LIMIT 1"},
      {"COMMAND GETKEYS object encoding k"},
      {"COMMAND GETKEYS object help"},
      {"COMMAND GETKEYS object"},
      {"COMMAND GETKEYS memory usage k"},
      {"COMMAND GETKEYS client list"},
      {"COMMAND GETKEYS sort k"},
      {"COMMAND GETKEYS sort k BY w LIMIT 0 1 GET g STORE d"},
      {"COMMAND GETKEYS sort_ro k"},
      {"COMMAND GETKEYS flushall"},
      {"COMMAND GETKEYSANDFLAGS set a b"},
      {"COMMAND GETKEYSANDFLAGS set a b GET"},
      {"COMMAND GETKEYSANDFLAGS lmove a b LEFT RIGHT"},
      {"COMMAND GETKEYSANDFLAGS copy a b"},
      {"COMMAND GETKEYSANDFLAGS rename a b"},
      {"COMMAND GETKEYSANDFLAGS del a b c"},
      {"COMMAND GETKEYSANDFLAGS bitop AND d a b"},
      {"COMMAND GETKEYSANDFLAGS bitfield k GET u8 0"},
      {"COMMAND GETKEYSANDFLAGS bitfield k GET u8 0 SET u8 0 1"},
      {"COMMAND GETKEYSANDFLAGS lcs a b"},
      {"COMMAND GETKEYSANDFLAGS restore k 0 x"},
      {"COMMAND GETKEYSANDFLAGS get"},
      {"COMMAND GETKEYSANDFLAGS"},
      // COMMAND INFO / DOCS of a sample, byte for byte.
      {"COMMAND INFO get set zadd lmove"},
      {"COMMAND INFO client|list object|encoding config|get nosuch"},
      {"COMMAND INFO sort sort_ro bitfield restore"},
      {"COMMAND DOCS get"},
      {"COMMAND DOCS set zadd"},
      {"COMMAND DOCS client|kill object|freq"},
      {"COMMAND DOCS nosuch"},
      {"COMMAND DOCS lcs bitfield sort restore"},
      // RESET: back to RESP2, no name (the lines after it are RESP2 on both).
      {"CLIENT SETNAME before-reset"},
      {"CLIENT GETNAME"},
      {"RESET"},
      {"CLIENT GETNAME"},
      {"PING"},
      {"RESET x"},
  };
  if (cluster) {
    // W = 2 of 3 replicas: every acknowledged write is on one other member.
    out.push_back({"WAIT 1 10", ":1\r\n", nullptr,
                   "Apiary acknowledges a write once W=2 replicas hold it: 1 other member"});
    for (const char* line : {"WAIT 0 10", "WAIT 0 0", "WAIT -1 0"}) {
      out.push_back({line, ":1\r\n", nullptr, "the same: 1 other member holds every write"});
    }
  } else {
    out.push_back({"WAIT 1 10"});
    out.push_back({"WAIT 0 10"});
    out.push_back({"WAIT 0 0"});
    out.push_back({"WAIT -1 0"});
    // LFU: a new key starts at 5, the first access counts for sure (Redis's LFULogIncr).
    out.push_back({"CONFIG SET maxmemory-policy allkeys-lfu"});
    out.push_back({"SET {k}fresh v"});
    out.push_back({"OBJECT FREQ {k}fresh"});
    out.push_back({"GET {k}fresh"});
    out.push_back({"OBJECT FREQ {k}fresh"});
    out.push_back({"OBJECT IDLETIME {k}fresh"});
    out.push_back({"OBJECT IDLETIME {k}missing"});
    out.push_back({"CONFIG SET maxmemory-policy noeviction"});
    out.push_back({"OBJECT FREQ {k}fresh"});
  }
  return out;
}

// The offset just past `n` complete replies from `at` (the end of `reply` if it runs out).
std::size_t skip_replies(const std::string& reply, std::size_t at, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const auto end = resp_reply_end(reply, at);
    if (!end) return reply.size();
    at = *end;
  }
  return at;
}

std::size_t after_header(const std::string& reply, std::size_t at) {
  return reply.find("\r\n", at) + 2;
}

// COMMAND INFO of one container: everything before its subcommands (the 10th field).
std::string info_before_subcommands(const std::string& reply) {
  return reply.substr(0, skip_replies(reply, after_header(reply, after_header(reply, 0)), 9));
}

// COMMAND DOCS of one container: the name and every docs field before "subcommands" (last).
std::string docs_before_subcommands(const std::string& reply, int protocol) {
  std::size_t at = after_header(reply, 0);  // the outer map / array
  at = skip_replies(reply, at, 1);          // the name
  const std::size_t header = at;
  at = after_header(reply, at);
  const std::size_t pairs = std::stoul(reply.substr(header + 1)) / (protocol == 3 ? 1 : 2);
  return reply.substr(0, skip_replies(reply, at, 2 * (pairs - 1)));
}

std::vector<std::string> bulk_strings(const std::string& reply) {
  std::vector<std::string> out;
  std::size_t at = after_header(reply, 0);
  while (at < reply.size()) {
    const std::size_t eol = reply.find("\r\n", at);
    const std::size_t n = std::stoul(reply.substr(at + 1, eol - at - 1));
    out.push_back(reply.substr(eol + 2, n));
    at = eol + 2 + n + 2;
  }
  return out;
}

// The section titles of an INFO reply, in order.
std::vector<std::string> info_sections(const std::string& reply) {
  std::vector<std::string> out;
  for (std::size_t at = reply.find("# "); at != std::string::npos; at = reply.find("\n# ", at)) {
    at += reply[at] == '\n' ? 3 : 2;
    out.push_back(reply.substr(at, reply.find("\r\n", at) - at));
  }
  return out;
}

}  // namespace

TEST_CASE("connection, server and keyspace commands answer as redis-server 7.0 does",
          "[integration][server]") {
  RedisServer redis;
  Daemon apiary("server", {});
  SECTION("command lines, RESP2 and RESP3") {
    for (int protocol : {2, 3}) compare_exact(apiary, redis, protocol, lines(false));
  }
  SECTION("LOLWUT VERSION 5: Redis's size, first rows and trailer (the rest is random)") {
    RespClient a(apiary.redis_port());
    RespClient r(redis.port());
    for (const std::vector<std::string>& args : {std::vector<std::string>{"LOLWUT", "VERSION", "5"},
                                                 {"LOLWUT", "VERSION", "5", "30", "4", "6"}}) {
      const std::string from_apiary = a.command(args);
      const std::string from_redis = r.command(args);
      CHECK(from_apiary.size() == from_redis.size());
      // The first two rows of squares stand still: the first lines of text are Redis's.
      const std::size_t still = from_redis.find('\n', from_redis.find('\n') + 1);
      CHECK(from_apiary.substr(0, still) == from_redis.substr(0, still));
      const std::string trailer =
          "\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. "
          "7.0.15\n\r\n";
      CHECK(from_apiary.substr(from_apiary.size() - trailer.size()) == trailer);
    }
  }
  SECTION("TIME: seconds and microseconds from the wall clock") {
    RespClient a(apiary.redis_port());
    RespClient r(redis.port());
    const auto from_apiary = bulk_strings(a.command({"TIME"}));
    const auto from_redis = bulk_strings(r.command({"TIME"}));
    REQUIRE(from_apiary.size() == 2);
    REQUIRE(from_redis.size() == 2);
    CHECK(std::abs(std::stoll(from_apiary[0]) - std::stoll(from_redis[0])) <= 5);
    CHECK(std::stoll(from_apiary[1]) < 1000000);
    CHECK(a.command({"HELLO", "3"}).rfind("%7\r\n", 0) == 0);
    CHECK(a.command({"TIME"}).rfind("*2\r\n$10\r\n", 0) == 0);
  }
  SECTION("COMMAND INFO and DOCS of every command Apiary has, RESP2 and RESP3") {
    // Differences by design: Apiary's own commands (not in Redis); ZRANK/ZREVRANK take Redis
    // 7.2's WITHSCORE (arity -3); SAVE lacks the no_multi flag (no MULTI here); WAITAOF and
    // CLIENT NO-TOUCH are Redis 7.2's. Containers list only the subcommands Apiary has, in name
    // order (Redis's order is its dicts' seeded hash order): compared up to the subcommands, and
    // each subcommand on its own.
    const std::set<std::string> by_design = {
        "apiary.export", "apiary.merge",   "apiary.vget",     "apiary.vput",
        "apiary.vdel",   "apiary.exec",    "apiary.watchv",   "apiary.eval",
        "apiary.eval_ro", "apiary.fcall",  "apiary.fcall_ro", "zrank",
        "zrevrank",      "save",           "waitaof",         "client|no-touch"};
    for (int protocol : {2, 3}) {
      RespClient a(apiary.redis_port());
      RespClient r(redis.port());
      begin_pair(a, r, protocol);
      const auto names = bulk_strings(RespClient(apiary.redis_port()).command({"COMMAND", "LIST"}));
      REQUIRE(names.size() > 150);
      std::set<std::string> containers;
      for (const auto& n : names) {
        if (n.find('|') != std::string::npos) containers.insert(n.substr(0, n.find('|')));
      }
      std::size_t compared = 0;
      for (const auto& name : names) {
        INFO("RESP" << protocol << ": " << name);
        const std::string docs_a = a.command({"COMMAND", "DOCS", name});
        const std::string docs_r = r.command({"COMMAND", "DOCS", name});
        const std::string info_a = a.command({"COMMAND", "INFO", name});
        const std::string info_r = r.command({"COMMAND", "INFO", name});
        if (by_design.count(name) != 0) continue;
        if (containers.count(name) != 0) {
          CHECK(docs_before_subcommands(docs_a, protocol) ==
                docs_before_subcommands(docs_r, protocol));
          CHECK(info_before_subcommands(info_a) == info_before_subcommands(info_r));
        } else {
          CHECK(docs_a == docs_r);
          CHECK(info_a == info_r);
        }
        ++compared;
      }
      CHECK(compared + by_design.size() >= names.size());
    }
  }
  SECTION("INFO: sections by name, default, all, everything") {
    RespClient a(apiary.redis_port());
    RespClient r(redis.port());
    // Sections Apiary does not have: CPU; Persistence only with --dir (this node has none).
    // It adds Localkeyspace to all and everything.
    const std::set<std::string> missing = {"CPU", "Persistence"};
    for (const std::vector<std::string>& args : {std::vector<std::string>{"INFO"},
                                                 {"INFO", "default"},
                                                 {"INFO", "DEFAULT"},
                                                 {"INFO", "all"},
                                                 {"INFO", "everything"},
                                                 {"INFO", "server", "clients"},
                                                 {"INFO", "clients", "server"},
                                                 {"INFO", "CLIENTS", "nosuch"},
                                                 {"INFO", "nosuch"},
                                                 {"INFO", "keyspace"},
                                                 {"INFO", "Server"},
                                                 {"INFO", "replication"},
                                                 {"INFO", "modules"},
                                                 {"INFO", "cluster"},
                                                 {"INFO", "stats", "memory", "server"},
                                                 {"INFO", "default", "commandstats"}}) {
      std::string line;
      for (const auto& w : args) line += w + " ";
      INFO(line);
      std::vector<std::string> expected;
      for (const auto& s : info_sections(r.command(args))) {
        if (missing.count(s) == 0) expected.push_back(s);
      }
      if (args.size() == 2 && (args[1] == "all" || args[1] == "everything")) {
        expected.push_back("Localkeyspace");
      }
      CHECK(info_sections(a.command(args)) == expected);
    }
    CHECK(a.command({"INFO", "nosuch"}) == r.command({"INFO", "nosuch"}));
    CHECK(a.command({"INFO", "keyspace"}) == r.command({"INFO", "keyspace"}));
    CHECK(info_sections(a.command({"INFO", "localkeyspace"})) ==
          std::vector<std::string>{"Localkeyspace"});
    const std::string server = a.command({"INFO", "server"});
    CHECK(server.find("redis_version:7.0.15\r\n") != std::string::npos);
    const std::string replication = a.command({"INFO", "replication"});
    CHECK(replication.find("role:master\r\n") != std::string::npos);
  }
  RespClient after(apiary.redis_port());
  CHECK(after.command({"PING"}) == "+PONG\r\n");
  CHECK(apiary.running());
}

TEST_CASE("connection, server and keyspace commands through a cluster member",
          "[integration][server]") {
  auto nodes = start_cluster("sv", 3, {});
  RedisServer redis;
  compare_exact(*nodes[1], redis, 2, lines(true));
  compare_exact(*nodes[2], redis, 3, lines(true));
  for (const auto& n : nodes) CHECK(n->running());
}
