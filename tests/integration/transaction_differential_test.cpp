// Differential test of MULTI, EXEC, DISCARD, WATCH and UNWATCH: one apiaryd and one
// redis-server 7.0, both started here on ports picked at run time, get the same command lines
// (RESP2, then RESP3 after HELLO 3) and must answer byte for byte alike -- transactions over
// every data type, the errors that abort a transaction (EXECABORT) and those that do not (one
// element of EXEC's reply), blocking commands inside MULTI, RESET, and WATCH with a second
// client changing (or not changing) the watched keys. The same lines then go through members
// of a three-node cluster, the second client on another member than the first; every key of a
// transaction shares one hash tag, so one coordinator runs it whole. Keys at different
// coordinators are refused with CROSSSLOT, as Redis Cluster refuses them.
//
// Lines that differ by design carry Apiary's reply and the reason.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "integration/support/cluster.hpp"
#include "integration/support/differential.hpp"

using namespace apiary::test;

namespace {

constexpr const char* kFlushInTx =
    "a transaction runs at its keys' coordinator; FLUSHALL and FLUSHDB act on the whole "
    "cluster, so inside a transaction they answer an error element (Redis runs them)";

// One connection's transactions: every data type, the errors, blocking commands, RESET.
std::vector<DiffLine> lines() {
  return {
      // Strings, counters, hashes, sets, zsets and lists in one transaction.
      {"MULTI"},
      {"SET {t}s hello"},
      {"APPEND {t}s _world"},
      {"GET {t}s"},
      {"STRLEN {t}s"},
      {"SETNX {t}s other"},
      {"GETSET {t}s again"},
      {"MSET {t}m1 a {t}m2 b"},
      {"MGET {t}m1 {t}m2 {t}missing"},
      {"INCR {t}n"},
      {"INCRBY {t}n 10"},
      {"DECR {t}n"},
      {"INCRBYFLOAT {t}f 1.5"},
      {"HSET {t}h a 1 b 2"},
      {"HINCRBY {t}h a 5"},
      {"HMGET {t}h a b c"},
      {"HLEN {t}h"},
      {"SADD {t}set a b c"},
      {"SREM {t}set c"},
      {"SISMEMBER {t}set b"},
      {"SCARD {t}set"},
      {"ZADD {t}z 1 a 2 b 3 c"},
      {"ZINCRBY {t}z 5 a"},
      {"ZSCORE {t}z a"},
      {"ZRANGE {t}z 0 -1 WITHSCORES"},
      {"RPUSH {t}l a b c"},
      {"LPOP {t}l"},
      {"LRANGE {t}l 0 -1"},
      {"EXPIRE {t}s 100"},
      {"TTL {t}s"},
      {"TYPE {t}h"},
      {"EXISTS {t}s {t}n {t}missing"},
      {"DEL {t}m1"},
      {"EXEC"},
      // Everything it wrote is there afterwards.
      {"MGET {t}s {t}n {t}f {t}m1 {t}m2"},
      {"HMGET {t}h a b"},
      {"ZRANGE {t}z 0 -1 WITHSCORES"},
      {"LRANGE {t}l 0 -1"},
      {"SISMEMBER {t}set a"},
      // Empty transactions; EXEC and DISCARD without MULTI.
      {"MULTI"},
      {"EXEC"},
      {"EXEC"},
      {"DISCARD"},
      {"MULTI"},
      {"DISCARD"},
      {"DISCARD"},
      // Keyless commands only (they run on the client's node).
      {"MULTI"},
      {"PING"},
      {"ECHO hi"},
      {"EXEC"},
      // A nested MULTI and WATCH inside MULTI are refused without aborting the transaction.
      {"MULTI"},
      {"MULTI"},
      {"SET {t}a 1"},
      {"WATCH {t}a"},
      {"INCR {t}a"},
      {"EXEC"},
      // Unknown commands, unknown subcommands and wrong arities abort the transaction.
      {"MULTI"},
      {"SET {t}a 100"},
      {"NOSUCHCOMMAND {t}a"},
      {"EXEC"},
      {"GET {t}a"},
      {"MULTI"},
      {"SET {t}a 100"},
      {"GET"},
      {"EXEC"},
      {"GET {t}a"},
      {"MULTI"},
      {"OBJECT NOSUCH {t}a"},
      {"EXEC"},
      {"MULTI"},
      {"SET {t}a 100"},
      {"SET {t}a"},
      {"DISCARD"},
      {"GET {t}a"},
      {"MULTI"},
      {"SET {t}a 100"},
      {"EXEC x"},
      {"DISCARD x"},
      {"MULTI x"},
      {"WATCH"},
      {"EXEC"},
      {"GET {t}a"},
      // More writes with several keys of one tag.
      {"MULTI"},
      {"SET {t}a 1"},
      {"COPY {t}a {t}b"},
      {"RENAME {t}b {t}c"},
      {"MSETNX {t}c 2 {t}d 2"},
      {"SET {t}a 5 GET"},
      {"GETDEL {t}c"},
      {"RPUSH {t}sl c a b"},
      {"SORT {t}sl ALPHA STORE {t}sorted"},
      {"LRANGE {t}sorted 0 -1"},
      {"SMOVE {t}nos {t}set x"},
      {"EXEC"},
      // Scripts inside a transaction run where it runs, in order with its commands.
      {"SCRIPT LOAD \"return ARGV[1]\""},
      {"MULTI"},
      {"SET {t}a 1"},
      {"EVAL \"return redis.call('INCR', KEYS[1])\" 1 {t}a"},
      {"EVALSHA 098e0f0d1448c0a81dafe820f66d460eb09263da 0 hi"},
      {"EVAL \"return redis.call('NOSUCH')\" 0"},
      {"GET {t}a"},
      {"EXEC"},
      // Runtime errors are elements; the other commands still run.
      {"MULTI"},
      {"SET {t}a 1"},
      {"LPUSH {t}a x"},
      {"INCR {t}a"},
      {"HSET {t}a f v"},
      {"INCRBY {t}a notanumber"},
      {"SADD {t}set x"},
      {"ZADD {t}set 1 x"},
      {"GET {t}a"},
      {"EXEC"},
      {"GET {t}a"},
      {"SCARD {t}set"},
      // Blocking commands answer at once inside a transaction.
      {"MULTI"},
      {"BLPOP {t}nolist 0"},
      {"BRPOP {t}nolist 1"},
      {"BLMOVE {t}nolist {t}dst LEFT RIGHT 0"},
      {"BZPOPMIN {t}nozset 0"},
      {"RPUSH {t}bl x y"},
      {"BLPOP {t}bl 0"},
      {"BRPOPLPUSH {t}bl {t}dst 0"},
      {"BZPOPMAX {t}z 0"},
      {"EXEC"},
      {"LRANGE {t}dst 0 -1"},
      // UNWATCH is queued and answers OK.
      {"MULTI"},
      {"UNWATCH"},
      {"GET {t}a"},
      {"EXEC"},
      {"UNWATCH"},
      // Discarded: nothing ran.
      {"MULTI"},
      {"INCR {t}a"},
      {"DISCARD"},
      {"GET {t}a"},
      // A transaction on one key of every type, then the keys deleted in one.
      {"MULTI"},
      {"DEL {t}s {t}n {t}f {t}m2 {t}h {t}set {t}z {t}l {t}a {t}bl {t}dst {t}d {t}sl {t}sorted"},
      {"DBSIZE"},
      {"EXEC"},
      // FLUSHALL and FLUSHDB inside a transaction.
      {"MULTI"},
      {"FLUSHALL"},
      {"FLUSHDB"},
      {"PING"},
      {"EXEC",
       "*3\r\n-ERR 'flushall' cannot run inside a transaction in a cluster\r\n"
       "-ERR 'flushdb' cannot run inside a transaction in a cluster\r\n+PONG\r\n",
       nullptr, kFlushInTx},
      // RESET leaves MULTI (last: it also returns the connection to RESP2).
      {"MULTI"},
      {"SET {t}a 1"},
      {"RESET"},
      {"EXEC"},
      {"GET {t}a"},
  };
}

// A step of a two-client script: which client sends `command` (0 or 1; "SLEEP ms" waits),
// whether its reply is hidden (CLIENT REPLY SKIP), whether it is a read the second client
// makes through another member than the writer's (not compared there: a read with R=1 on
// another owner may not see a write acknowledged a moment ago, docs/cluster.md), and Apiary's
// reply where it differs.
struct Step {
  int client;
  const char* command;
  bool silent = false;
  bool stale_ok = false;
  const char* apiary = nullptr;
  const char* why = nullptr;
};
using Script = std::vector<Step>;

// The watch scenarios: the second client changes (or does not change) what the first watches.
std::vector<Script> watch_scripts() {
  return {
      // Another client changes the watched key: EXEC answers a null array.
      {{0, "SET {w}k 1"},
       {0, "WATCH {w}k"},
       {1, "SET {w}k 2"},
       {0, "MULTI"},
       {0, "INCR {w}k"},
       {0, "EXEC"},
       {0, "GET {w}k"}},
      {{0, "SET {w}k 1"},
       {0, "WATCH {w}k"},
       {1, "DEL {w}k"},
       {0, "MULTI"},
       {0, "SET {w}k 5"},
       {0, "EXEC"},
       {0, "GET {w}k"}},
      {{0, "SET {w}k 1"},
       {0, "WATCH {w}k"},
       {1, "EXPIRE {w}k 100"},
       {0, "MULTI"},
       {0, "INCR {w}k"},
       {0, "EXEC"},
       {0, "GET {w}k"}},
      {{0, "SET {w}k 1"},
       {0, "WATCH {w}k"},
       {1, "INCR {w}k"},
       {0, "MULTI"},
       {0, "INCR {w}k"},
       {0, "EXEC"},
       {0, "GET {w}k"}},
      {{0, "SET {w}k 1"},
       {0, "WATCH {w}k"},
       {1, "SET {w}k 1"},
       {0, "MULTI"},
       {0, "INCR {w}k"},
       {0, "EXEC"},
       {0, "GET {w}k"}},
      {{0, "RPUSH {w}k a"},
       {0, "WATCH {w}k"},
       {1, "RPUSH {w}k b"},
       {0, "MULTI"},
       {0, "LRANGE {w}k 0 -1"},
       {0, "EXEC"}},
      {{0, "HSET {w}k f 1"},
       {0, "WATCH {w}k"},
       {1, "HINCRBY {w}k f 1"},
       {0, "MULTI"},
       {0, "HGET {w}k f"},
       {0, "EXEC"}},
      {{0, "SET {w}k 1"},
       {0, "WATCH {w}k"},
       {1, "FLUSHALL"},
       {0, "MULTI"},
       {0, "SET {w}k 9"},
       {0, "EXEC"},
       {0, "EXISTS {w}k"}},
      // Another client's transaction changes it.
      {{0, "SET {w}k 1"},
       {0, "WATCH {w}k"},
       {1, "MULTI"},
       {1, "INCR {w}k"},
       {1, "EXEC"},
       {0, "MULTI"},
       {0, "INCR {w}k"},
       {0, "EXEC"},
       {0, "GET {w}k"}},
      // One of two watched keys changes.
      {{0, "WATCH {w}k {w}j"},
       {1, "SET {w}j 1"},
       {0, "MULTI"},
       {0, "SET {w}k 1"},
       {0, "EXEC"},
       {0, "EXISTS {w}k"}},
      // A watched missing key is created.
      {{0, "WATCH {w}missing"},
       {1, "SET {w}missing x"},
       {0, "MULTI"},
       {0, "GET {w}missing"},
       {0, "EXEC"}},
      // Created and deleted again, or deleted and written back as it was.
      {{0, "WATCH {w}missing"},
       {1, "SET {w}missing x"},
       {1, "DEL {w}missing"},
       {0, "MULTI"},
       {0, "SET {w}missing 1"},
       {0, "EXEC"},
       {0, "GET {w}missing"}},
      {{0, "SET {w}k 1"},
       {0, "WATCH {w}k"},
       {1, "DEL {w}k"},
       {1, "SET {w}k 1"},
       {0, "MULTI"},
       {0, "INCR {w}k"},
       {0, "EXEC"},
       {0, "GET {w}k"}},
      // The watching client changes the key itself.
      {{0, "SET {w}k 1"},
       {0, "WATCH {w}k"},
       {0, "SET {w}k 5"},
       {0, "MULTI"},
       {0, "INCR {w}k"},
       {0, "EXEC"},
       {0, "GET {w}k"}},
      // WATCH again after the change keeps the transaction failed.
      {{0, "SET {w}k 1"},
       {0, "WATCH {w}k"},
       {1, "SET {w}k 2"},
       {0, "WATCH {w}k"},
       {0, "MULTI"},
       {0, "INCR {w}k"},
       {0, "EXEC"}},
      // Another client's PEXPIRE, and then the key expiring.
      {{0, "SET {w}k 1"},
       {0, "WATCH {w}k"},
       {1, "PEXPIRE {w}k 1"},
       {0, "SLEEP 50"},
       {0, "MULTI"},
       {0, "SET {w}k 2"},
       {0, "EXEC"},
       {0, "EXISTS {w}k"}},
      // The key expiring alone (Redis 7.0 fails EXEC when a watched key expired since WATCH).
      {{0, "SET {w}k 1 PX 400"},
       {0, "WATCH {w}k"},
       {0, "SLEEP 600"},
       {0, "MULTI"},
       {0, "SET {w}k 2"},
       {0, "EXEC"},
       {0, "EXISTS {w}k"}},
      // Nothing changed: the transaction runs.
      {{0, "SET {w}k 1"},
       {0, "WATCH {w}k"},
       {0, "MULTI"},
       {0, "INCR {w}k"},
       {0, "EXEC"},
       {0, "GET {w}k"}},
      {{0, "SET {w}k 1"},
       {0, "WATCH {w}k"},
       {1, "GET {w}k", false, true},
       {1, "SET {w}other 1"},
       {1, "SET {w}k 3 NX"},
       {1, "PERSIST {w}k"},
       {0, "MULTI"},
       {0, "INCR {w}k"},
       {0, "EXEC"}},
      {{0, "WATCH {w}missing"},
       {1, "DEL {w}missing"},
       {0, "MULTI"},
       {0, "SET {w}missing 1"},
       {0, "EXEC"},
       {0, "GET {w}missing"}},
      // UNWATCH, DISCARD, EXEC and an aborted EXEC forget the watched keys.
      {{0, "SET {w}k 1"},
       {0, "WATCH {w}k"},
       {0, "UNWATCH"},
       {1, "SET {w}k 2"},
       {0, "MULTI"},
       {0, "INCR {w}k"},
       {0, "EXEC"}},
      {{0, "SET {w}k 1"},
       {0, "WATCH {w}k"},
       {0, "MULTI"},
       {0, "DISCARD"},
       {1, "SET {w}k 2"},
       {0, "MULTI"},
       {0, "INCR {w}k"},
       {0, "EXEC"}},
      {{0, "SET {w}k 1"},
       {0, "WATCH {w}k"},
       {0, "MULTI"},
       {0, "EXEC"},
       {1, "SET {w}k 2"},
       {0, "MULTI"},
       {0, "INCR {w}k"},
       {0, "EXEC"}},
      {{0, "SET {w}k 1"},
       {0, "WATCH {w}k"},
       {0, "MULTI"},
       {0, "NOSUCHCOMMAND"},
       {0, "EXEC"},
       {1, "SET {w}k 2"},
       {0, "MULTI"},
       {0, "INCR {w}k"},
       {0, "EXEC"}},
      // UNWATCH queued inside MULTI does not save a transaction whose key changed.
      {{0, "SET {w}k 1"},
       {0, "WATCH {w}k"},
       {1, "SET {w}k 2"},
       {0, "MULTI"},
       {0, "UNWATCH"},
       {0, "INCR {w}k"},
       {0, "EXEC"}},
      // CLIENT REPLY OFF hides a whole transaction's replies; its writes are made.
      {{0, "CLIENT REPLY OFF", true},
       {0, "MULTI", true},
       {0, "SET {w}k 1", true},
       {0, "INCR {w}k", true},
       {0, "EXEC", true},
       {0, "CLIENT REPLY ON"},
       {0, "GET {w}k"}},
      // CLIENT REPLY SKIP hides MULTI's +OK, not the transaction.
      {{0, "CLIENT REPLY SKIP", true},
       {0, "MULTI", true},
       {0, "SET {w}k 1"},
       {0, "EXEC"},
       {0, "GET {w}k"}},
  };
}

// Scripts for one node: over maxmemory (CONFIG SET applies to the member it is sent to), and
// while a script is busy on it ("READ" reads a reply sent earlier without one). WATCH is not
// sent while busy: Apiary answers it BUSY by design (it would ask the cluster layer from
// inside the running script; docs/scripting.md).
std::vector<Script> single_node_scripts() {
  return {
      {{1, "CONFIG SET busy-reply-threshold 100"},
       {0, "EVAL \"while true do end\" 0", true},
       {1, "SLEEP 300"},
       {1, "MULTI"},
       {1, "UNWATCH"},
       {1, "DISCARD"},
       {1, "UNWATCH"},
       {1, "MULTI"},
       {1, "EXEC"},
       {1, "PING"},
       {1, "SCRIPT KILL"},
       {0, "READ"},
       {1, "CONFIG SET busy-reply-threshold 5000"},
       {0, "PING"}},
      {{0, "SET {w}x 1"},
       {0, "MULTI"},
       {0, "GET {w}x"},
       {0, "SET {w}k v"},
       {1, "CONFIG SET maxmemory-policy noeviction"},
       {1, "CONFIG SET maxmemory 1"},
       {0, "EXEC"},
       {0, "EXEC"},
       {0, "MULTI"},
       {0, "GET {w}x"},
       {0, "DISCARD"},
       {0, "MULTI"},
       {0, "DEL {w}x"},
       {0, "EXEC"},
       {1, "CONFIG SET maxmemory 0"},
       {0, "MULTI"},
       {0, "GET {w}x"},
       {0, "DEL {w}x"},
       {1, "CONFIG SET maxmemory 1"},
       {0, "EXEC"},
       {1, "CONFIG SET maxmemory 0"},
       {0, "EXISTS {w}k {w}x"}},
  };
}

// Runs `script` with two clients on each side -- Apiary's through `port0` and `port1` -- and
// compares every reply.
void compare_script(const std::string& port0, const std::string& port1, const RedisServer& redis,
                    int protocol, const Script& script) {
  RespClient a0(port0);
  RespClient a1(port1);
  RespClient r0(redis.port());
  RespClient r1(redis.port());
  begin_pair(a0, r0, protocol);
  if (protocol == 3) {
    REQUIRE(a1.command({"HELLO", "3"}).rfind("%7\r\n", 0) == 0);
    REQUIRE(r1.command({"HELLO", "3"}).rfind("%7\r\n", 0) == 0);
  }
  std::string trace;
  for (const Step& step : script) {
    trace += std::string(step.client == 0 ? "  A: " : "  B: ") + step.command + "\n";
    const auto argv = words(step.command);
    if (argv[0] == "SLEEP") {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(argv[1])));
      continue;
    }
    RespClient& a = step.client == 0 ? a0 : a1;
    RespClient& r = step.client == 0 ? r0 : r1;
    if (argv[0] == "READ") {
      const std::string from_apiary = a.reply();
      const std::string from_redis = r.reply();
      INFO("RESP" << protocol << ", script so far:\n" << trace);
      CHECK(from_apiary == from_redis);
      continue;
    }
    if (step.silent) {  // no reply comes; the next reply read is the next command's
      std::string req = "*" + std::to_string(argv.size()) + "\r\n";
      for (const auto& w : argv) req += "$" + std::to_string(w.size()) + "\r\n" + w + "\r\n";
      a.send_raw(req);
      r.send_raw(req);
      continue;
    }
    const std::string from_apiary = a.command(argv);
    const std::string from_redis = r.command(argv);
    if (step.stale_ok && port0 != port1) continue;
    INFO("RESP" << protocol << ", script so far:\n" << trace);
    INFO("apiary: " << from_apiary);
    INFO("redis:  " << from_redis);
    if (step.apiary != nullptr) {
      INFO("by design: " << step.why);
      CHECK(from_apiary == step.apiary);
    } else {
      CHECK(from_apiary == from_redis);
    }
  }
}

// Sends every line in one write (a client's pipeline) to both servers, then compares the
// replies in order.
void compare_pipeline(const std::string& port, const RedisServer& redis, int protocol,
                      const std::vector<std::string>& pipeline) {
  RespClient a(port);
  RespClient r(redis.port());
  begin_pair(a, r, protocol);
  std::string bytes;
  for (const auto& line : pipeline) {
    const auto argv = words(line);
    bytes += "*" + std::to_string(argv.size()) + "\r\n";
    for (const auto& w : argv) bytes += "$" + std::to_string(w.size()) + "\r\n" + w + "\r\n";
  }
  a.send_raw(bytes);
  r.send_raw(bytes);
  for (const auto& line : pipeline) {
    INFO("RESP" << protocol << " pipelined: " << line);
    CHECK(a.reply() == r.reply());
  }
}

// A pipeline of transactions mixed with commands around them, WATCH included.
std::vector<std::string> pipelined_lines() {
  std::vector<std::string> out = {"SET {t}p 1",
                                  "GET {t}p",
                                  "MULTI",
                                  "INCR {t}p",
                                  "RPUSH {t}q a",
                                  "GET {t}p",
                                  "EXEC",
                                  "GET {t}p",
                                  "LRANGE {t}q 0 -1",
                                  "WATCH {t}p {t}q",
                                  "GET {t}p",
                                  "MULTI",
                                  "INCR {t}p",
                                  "EXEC",
                                  "WATCH {t}p",
                                  "SET {t}p 10",
                                  "MULTI",
                                  "INCR {t}p",
                                  "EXEC",
                                  "GET {t}p",
                                  "MULTI",
                                  "NOSUCHCOMMAND",
                                  "EXEC",
                                  "INCR {t}p",
                                  "MULTI",
                                  "PING",
                                  "EXEC",
                                  "DEL {t}p {t}q"};
  // A long transaction: 500 commands.
  out.emplace_back("MULTI");
  for (int i = 0; i < 250; ++i) {
    out.push_back("RPUSH {t}big e" + std::to_string(i));
    out.push_back("INCRBY {t}sum " + std::to_string(i));
  }
  out.emplace_back("EXEC");
  out.emplace_back("LLEN {t}big");
  out.emplace_back("GET {t}sum");
  return out;
}

// The reply with HELLO's client id (which differs between the servers) blanked.
std::string without_id(std::string reply) {
  const std::string field = "$2\r\nid\r\n:";
  const auto at = reply.find(field);
  if (at != std::string::npos)
    reply.erase(at + field.size(), reply.find('\r', at + field.size()) - at - field.size());
  return reply;
}

// HELLO inside a transaction switches the protocol of the replies after it; and, in a
// transaction without keys (which runs on the client's node), the connection's protocol.
void compare_hello_inside_multi(const std::string& port, const RedisServer& redis) {
  RespClient a(port);
  RespClient r(redis.port());
  begin_pair(a, r, 2);
  for (const char* line :
       {"MULTI", "ECHO x", "HELLO 3", "ECHO y", "EXEC", "HGETALL {t}nohash", "MULTI",
        "HGETALL {t}nohash", "HELLO 2", "HGETALL {t}nohash", "ZSCORE {t}noz m", "EXEC"}) {
    const auto argv = words(line);
    const std::string from_apiary = without_id(a.command(argv));
    const std::string from_redis = without_id(r.command(argv));
    INFO(line);
    CHECK(from_apiary == from_redis);
  }
  // By design: a transaction with keys runs at their coordinator, so its HELLO does not
  // switch the connection's protocol (Redis's does: HGETALL answers *0 in RESP2 there).
  CHECK(a.command({"HGETALL", "{t}nohash"}) == "%0\r\n");
  CHECK(r.command({"HGETALL", "{t}nohash"}) == "*0\r\n");
}

// COMMAND INFO of the transaction commands, RESP2.
void compare_command_info(const std::string& port, const RedisServer& redis) {
  RespClient a(port);
  RespClient r(redis.port());
  for (const char* name : {"multi", "exec", "discard", "watch", "unwatch"}) {
    INFO(name);
    CHECK(a.command({"COMMAND", "INFO", name}) == r.command({"COMMAND", "INFO", name}));
  }
}

}  // namespace

TEST_CASE("transactions answer as redis-server 7.0 does", "[integration][transaction]") {
  RedisServer redis;
  Daemon apiary("tx", {});
  SECTION("one connection's transactions, RESP2 and RESP3") {
    for (int protocol : {2, 3}) compare_exact(apiary, redis, protocol, lines());
  }
  SECTION("WATCH with a second client, RESP2 and RESP3") {
    for (int protocol : {2, 3}) {
      for (const Script& s : watch_scripts()) {
        compare_script(apiary.redis_port(), apiary.redis_port(), redis, protocol, s);
      }
    }
  }
  SECTION("pipelined transactions, RESP2 and RESP3") {
    for (int protocol : {2, 3})
      compare_pipeline(apiary.redis_port(), redis, protocol, pipelined_lines());
  }
  SECTION("HELLO inside a transaction") { compare_hello_inside_multi(apiary.redis_port(), redis); }
  SECTION("over maxmemory and during a busy script, RESP2 and RESP3") {
    for (int protocol : {2, 3}) {
      for (const Script& s : single_node_scripts()) {
        compare_script(apiary.redis_port(), apiary.redis_port(), redis, protocol, s);
      }
    }
  }
  SECTION("COMMAND INFO of the transaction commands, RESP2") {
    compare_command_info(apiary.redis_port(), redis);
  }
  RespClient after(apiary.redis_port());
  CHECK(after.command({"PING"}) == "+PONG\r\n");
  CHECK(apiary.running());
}

TEST_CASE("transactions through cluster members answer as redis-server 7.0 does",
          "[integration][transaction]") {
  auto nodes = start_cluster("txc", 3, {});
  RedisServer redis;
  compare_exact(*nodes[1], redis, 2, lines());
  compare_exact(*nodes[2], redis, 3, lines());
  // The watching client and the one that changes the key are on different members.
  for (int protocol : {2, 3}) {
    for (const Script& s : watch_scripts()) {
      compare_script(nodes[0]->redis_port(), nodes[1 + protocol % 2]->redis_port(), redis, protocol,
                     s);
    }
  }
  compare_command_info(nodes[2]->redis_port(), redis);
  for (int protocol : {2, 3}) {
    for (const auto& n : nodes)
      compare_pipeline(n->redis_port(), redis, protocol, pipelined_lines());
  }
  compare_hello_inside_multi(nodes[1]->redis_port(), redis);

  // A transaction (or WATCH) whose keys have different coordinators is refused with
  // CROSSSLOT, and the transaction is gone.
  RespClient c(nodes[0]->redis_port());
  int crossslot = 0;
  for (int i = 0; i < 20; ++i) {
    const std::string other = "other" + std::to_string(i);
    REQUIRE(c.command({"MULTI"}) == "+OK\r\n");
    REQUIRE(c.command({"SET", "{x}a", "1"}) == "+QUEUED\r\n");
    REQUIRE(c.command({"SET", other, "1"}) == "+QUEUED\r\n");
    const std::string exec = c.command({"EXEC"});
    const std::string watch = c.command({"WATCH", "{x}a", other});
    INFO(other << ": EXEC " << exec << "WATCH " << watch);
    CHECK((exec.rfind("-CROSSSLOT", 0) == 0 || exec == "*2\r\n+OK\r\n+OK\r\n"));
    CHECK((watch.rfind("-CROSSSLOT", 0) == 0) == (exec.rfind("-CROSSSLOT", 0) == 0));
    if (exec.rfind("-CROSSSLOT", 0) == 0) {
      ++crossslot;
      CHECK(c.command({"EXEC"}) == "-ERR EXEC without MULTI\r\n");
      CHECK(c.command({"EXISTS", "{x}a"}) == ":0\r\n");  // nothing of it ran
    } else {
      CHECK(c.command({"DEL", "{x}a"}) == ":1\r\n");
    }
    CHECK(c.command({"UNWATCH"}) == "+OK\r\n");
  }
  CHECK(crossslot > 0);

  // A transaction that changes its connection (CLIENT SETNAME) at a coordinator on another
  // member leaves nothing behind there for other clients' transactions.
  for (int i = 0; i < 12; ++i) {
    const std::string key = "{n" + std::to_string(i) + "}k";
    RespClient first(nodes[0]->redis_port());
    REQUIRE(first.command({"MULTI"}) == "+OK\r\n");
    REQUIRE(first.command({"SET", key, "1"}) == "+QUEUED\r\n");
    REQUIRE(first.command({"CLIENT", "SETNAME", "leak"}) == "+QUEUED\r\n");
    REQUIRE(first.command({"CLIENT", "GETNAME"}) == "+QUEUED\r\n");
    CHECK(first.command({"EXEC"}) == "*3\r\n+OK\r\n+OK\r\n$4\r\nleak\r\n");
    RespClient second(nodes[0]->redis_port());
    REQUIRE(second.command({"MULTI"}) == "+OK\r\n");
    REQUIRE(second.command({"GET", key}) == "+QUEUED\r\n");
    REQUIRE(second.command({"CLIENT", "GETNAME"}) == "+QUEUED\r\n");
    INFO(key);
    CHECK(second.command({"EXEC"}) == "*2\r\n$1\r\n1\r\n$-1\r\n");
  }
  for (const auto& n : nodes) CHECK(n->running());
}
