// Differential test of keyspace notifications (notify-keyspace-events): one apiaryd and one
// redis-server 7.0, both started here, get the same CONFIG SET notify-keyspace-events and the
// same command lines; a subscriber connection on each (PSUBSCRIBE __key*__:*, RESP2 or RESP3)
// collects the event messages every line causes, read up to a marker message published after
// the line, and the two streams are compared byte for byte. Every write family is covered
// (strings, counters, keyspace commands, hashes, sets, sorted sets, lists with LMOVE and a
// blocked pop served by a push, bitmaps, BITFIELD, SORT STORE, RESTORE), with the edge cases
// where Redis emits nothing (a write that changes nothing) or adds "del" (a pop or removal
// that empties a collection, EXPIRE in the past, an empty *STORE result), under several
// flag sets: KEA, KEAnm ("new" and "keymiss"), El, Kx, A alone (no K or E: nothing is
// published), KEn, KEm. CONFIG GET's rendering of the flags and CONFIG SET's error for an
// unknown letter are compared too.
//
// Only the events are compared here, not the commands' replies (the per-family differential
// tests compare those; some replies are random or ordered differently by design).
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "integration/support/command_words.hpp"
#include "integration/support/daemon.hpp"
#include "integration/support/redis_server.hpp"
#include "integration/support/subscriber.hpp"

using namespace apiary::test;
using namespace std::chrono_literals;

namespace {

// A line of a sequence: a command for the command connection, or one of these directives:
//   "@sleep <ms>"            wait (active expiry runs meanwhile) before the marker
//   "@block <command>"       send on the blocker connection without reading its reply
//   "@unblocked"             read the blocker connection's reply
//   "@restore <dst> <src> <ttl> [option ...]"   RESTORE dst ttl <DUMP of src> [option ...]
struct EventLine {
  const char* command;
  const char* apiary = nullptr;  // Apiary's events (raw) where they differ by design
  const char* why = nullptr;
};

// One server's side of the comparison: a command connection, a blocker connection and the
// subscriber, all in `protocol`, and a connection that publishes the markers (not the command
// connection: inside MULTI its PUBLISH would be queued).
class Side {
 public:
  Side(const std::string& port, int protocol)
      : commands_(port), blocker_(port), subscriber_(port), marker_conn_(port) {
    if (protocol == 3) {
      for (Subscriber* c : {&commands_, &blocker_, &subscriber_}) {
        REQUIRE(c->command({"HELLO", "3"}).rfind("%7\r\n", 0) == 0);
      }
    }
    REQUIRE(commands_.command({"FLUSHALL"}) == "+OK\r\n");
    subscriber_.command({"PSUBSCRIBE", "__key*__:*"});
    subscriber_.command({"SUBSCRIBE", "marker"});
  }

  std::string command(const std::vector<std::string>& argv) { return commands_.command(argv); }

  // Runs `line` and returns the event messages it caused, raw, in the order received.
  std::string run(const std::string& line) {
    auto argv = words(line);
    if (argv[0] == "@sleep") {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(argv[1])));
    } else if (argv[0] == "@block") {
      argv.erase(argv.begin());
      blocker_.send(argv);
      std::this_thread::sleep_for(100ms);  // blocked before the next line's push
    } else if (argv[0] == "@unblocked") {
      blocker_.next_raw(5s);
    } else if (argv[0] == "@restore") {
      const RespValue dump = parse_resp(commands_.command({"DUMP", argv[2]}));
      std::vector<std::string> restore = {"RESTORE", argv[1], argv[3], dump.text};
      restore.insert(restore.end(), argv.begin() + 4, argv.end());
      commands_.command(restore);
    } else {
      commands_.command(argv);
    }
    const std::string mark = std::to_string(++marker_);
    marker_conn_.command({"PUBLISH", "marker", mark});
    std::string events;
    while (auto raw = subscriber_.next_raw(5s)) {
      const RespValue v = parse_resp(*raw);
      if (v.items.size() == 3 && v.items[1].text == "marker") {
        if (v.items[2].text == mark) return events;
        continue;
      }
      events += *raw;
    }
    return events + "<timeout>";
  }

 private:
  Subscriber commands_;
  Subscriber blocker_;
  Subscriber subscriber_;
  Subscriber marker_conn_;
  int marker_ = 0;
};

// Readable form of raw event messages for the failure report: "channel payload | ...".
std::string readable(const std::string& raw) {
  std::string out;
  std::size_t pos = 0;
  while (pos < raw.size() && raw[pos] != '<') {
    const RespValue v = parse_resp(raw, pos);
    const auto t = v.texts();
    if (!out.empty()) out += " | ";
    out += t.size() == 4 ? t[2] + " " + t[3] : "?";
  }
  return out + (pos < raw.size() ? raw.substr(pos) : "");
}

void compare_events(const Daemon& apiary, const RedisServer& redis, int protocol,
                    const std::string& flags, const std::vector<EventLine>& lines) {
  Side a(apiary.redis_port(), protocol);
  Side r(redis.port(), protocol);
  REQUIRE(a.command({"CONFIG", "SET", "notify-keyspace-events", flags}) == "+OK\r\n");
  REQUIRE(r.command({"CONFIG", "SET", "notify-keyspace-events", flags}) == "+OK\r\n");
  std::size_t lines_with_events = 0;
  for (const EventLine& line : lines) {
    const std::string from_apiary = a.run(line.command);
    const std::string from_redis = r.run(line.command);
    lines_with_events += from_redis.empty() ? 0 : 1;
    // A line whose marker never came would compare two timeouts.
    REQUIRE(from_redis.find("<timeout>") == std::string::npos);
    REQUIRE(from_apiary.find("<timeout>") == std::string::npos);
    INFO("RESP" << protocol << ", flags " << flags << ": " << line.command);
    INFO("apiary: " << readable(from_apiary));
    INFO("redis:  " << readable(from_redis));
    if (line.apiary != nullptr) {
      INFO("by design: " << line.why);
      CHECK(from_apiary == line.apiary);
    } else {
      CHECK(from_apiary == from_redis);
    }
  }
  // Two silent servers would agree: the flags that select something must have published.
  INFO("flags " << flags);
  CHECK((lines_with_events == 0) == (flags == std::string("A")));
  // Leave the servers quiet for the next comparison.
  a.command({"CONFIG", "SET", "notify-keyspace-events", ""});
  r.command({"CONFIG", "SET", "notify-keyspace-events", ""});
}

std::vector<EventLine> strings() {
  return {
      {"SET k v"},
      {"SET k v EX 100"},
      {"SET k v KEEPTTL"},
      {"SET k v PX 100000 NX"},  // not set: nothing
      {"SET k w XX GET"},
      {"SET k2 v NX GET"},
      {"SET k2 x GET EXAT 99999999999"},
      {"SETNX k v"},
      {"SETNX k3 v"},
      {"SETEX k4 100 v"},
      {"PSETEX k5 100000 v"},
      {"SETEX k4 0 v"},  // an error: nothing
      {"GETSET k v2"},
      {"GETSET nosuch v"},
      {"MSET a 1 b 2 a 3"},
      {"MSETNX a 1 c 2"},
      {"MSETNX c 1 d 2"},
      {"APPEND a x"},
      {"APPEND newa ''"},
      {"SETRANGE a 1 yy"},
      {"SETRANGE a 1 ''"},
      {"SETRANGE nosr 0 ''"},
      {"SETRANGE sr 3 abc"},
      {"INCR n"},
      {"INCRBY n 0"},
      {"DECR n"},
      {"DECRBY n 5"},
      {"INCRBYFLOAT n 1.5"},
      {"INCRBYFLOAT nf 2"},
      {"INCR k"},  // not an integer: nothing
      {"GETDEL n"},
      {"GETDEL n"},
      {"GETEX k"},
      {"GETEX k PERSIST"},
      {"GETEX k PERSIST"},
      {"GETEX k EX 100"},
      {"GETEX k PXAT 1"},  // in the past: deleted
      {"GETEX nosuch EX 10"},
      {"GET nosuch"},
      {"MGET a nosuch b"},
      {"STRLEN nosuch"},
      {"GETRANGE nosuch 0 1"},
      {"SET h v"},
      {"HSET hh f v"},
      {"GET hh"},  // WRONGTYPE: not a miss
      {"SET hh v GET"},
      {"LCS nosuch a"},
      {"LCS hh nosuch"},  // WRONGTYPE, after both lookups
  };
}

std::vector<EventLine> keyspace() {
  return {
      {"MSET a 1 b 2 c 3"},
      {"DEL a nosuch b"},
      {"UNLINK c nosuch"},
      {"SET k v"},
      {"EXPIRE k 100"},
      {"EXPIRE k 200 NX"},  // has one: nothing
      {"EXPIRE k 300 XX"},
      {"PEXPIRE k 100000 GT"},  // not greater: nothing
      {"EXPIREAT k 99999999999"},
      {"PEXPIREAT k 99999999999000 LT"},
      {"TTL k"},
      {"PERSIST k"},
      {"PERSIST k"},
      {"PERSIST nosuch"},
      {"EXPIRE nosuch 10"},
      {"EXPIRE k 0"},  // in the past: deleted
      {"SET k v"},
      {"PEXPIREAT k 1"},
      {"SET k v"},
      {"EXPIRE k -5"},
      {"TTL nosuch"},
      {"PTTL nosuch"},
      {"EXPIRETIME nosuch"},
      {"EXISTS nosuch k"},
      {"TYPE nosuch"},
      {"TOUCH nosuch"},
      {"SET k v"},
      {"RENAME k k2"},
      {"SET k3 v"},
      {"RENAME k2 k3"},  // over an existing key: still "new"
      {"RENAME k3 k3"},
      {"RENAME nosuch x"},
      {"RENAMENX k3 k4"},
      {"SET k5 v"},
      {"RENAMENX k4 k5"},  // target exists: nothing
      {"COPY k4 k6"},
      {"COPY k4 k6"},  // target exists: nothing
      {"COPY k4 k6 REPLACE"},
      {"COPY nosuch k7"},
      {"RPUSH l a b"},
      {"COPY l l2"},
      {"DUMP nosuch"},
      {"@restore r l 0"},
      {"@restore r k4 0 REPLACE"},
      {"@restore r k4 100000 REPLACE"},
      {"@restore r k4 1 REPLACE ABSTTL"},  // expired: the old key deleted
      {"@restore r k4 1 ABSTTL"},          // expired: nothing
      {"RESTORE r 0 junk"},                // an error: nothing
  };
}

std::vector<EventLine> hashes() {
  return {
      {"HSET h a 1 b 2"},
      {"HSET h a 1"},  // the same value: Redis notifies anyway
      {"HMSET h c 3"},
      {"HSETNX h a 9"},
      {"HSETNX h z 9"},
      {"HDEL h nosuch"},
      {"HDEL h a b"},
      {"HINCRBY h n 5"},
      {"HINCRBY h2 n 0"},
      {"HINCRBY h a x"},
      {"HINCRBYFLOAT h f 1.5"},
      {"HINCRBYFLOAT h c 1e400"},
      {"HDEL h c z n f"},  // emptied: "del"
      {"HGET h a"},
      {"HMGET h a b"},
      {"HGETALL h"},
      {"HLEN h"},
      {"HEXISTS h a"},
      {"HSTRLEN h a"},
      {"HKEYS h"},
      {"HVALS h"},
      {"HRANDFIELD h"},
      {"HSCAN h 0"},
      {"HDEL nosuch a"},
      {"SET s v"},
      {"HSET s a 1"},  // WRONGTYPE: nothing
  };
}

std::vector<EventLine> sets() {
  return {
      {"SADD s a b c"},
      {"SADD s a"},  // nothing added: nothing
      {"SREM s nosuch"},
      {"SREM s a"},
      {"SREM nosuch a"},
      {"SPOP s 0"},
      {"SPOP s 5"},  // the whole set: "del"
      {"SPOP s"},
      {"SADD s a"},
      {"SPOP s"},
      {"SADD s a b"},
      {"SMOVE s d a"},
      {"SMOVE s d nosuch"},
      {"SMOVE s d b"},  // the source emptied
      {"SADD d2 a"},
      {"SMOVE d d2 a"},  // already in the destination
      {"SMOVE nosuch d a"},
      {"SADD a 1 2"},
      {"SADD b 2 3"},
      {"SINTERSTORE dst a b"},
      {"SINTERSTORE dst a nosuch"},  // empty: "del" of the destination
      {"SINTERSTORE dst a nosuch"},  // ... which is gone now
      {"SUNIONSTORE dst a b"},
      {"SDIFFSTORE dst a a"},
      {"SDIFFSTORE dst a b"},
      {"SET str v"},
      {"SUNIONSTORE str a"},  // over another type: no "new"
      {"SINTERSTORE a a"},
      {"SISMEMBER nosuch a"},
      {"SMISMEMBER nosuch a"},
      {"SMEMBERS nosuch"},
      {"SCARD nosuch"},
      {"SINTER nosuch a"},
      {"SUNION nosuch a"},
      {"SDIFF nosuch a"},
      {"SINTERCARD 2 nosuch a"},
      {"SRANDMEMBER nosuch"},
      {"SRANDMEMBER nosuch 3"},
      {"SSCAN nosuch 0"},
  };
}

std::vector<EventLine> zsets() {
  return {
      {"ZADD z 1 a 2 b"},
      {"ZADD z 1 a"},  // unchanged: nothing
      {"ZADD z 3 a"},
      {"ZADD z NX 5 a"},
      {"ZADD z XX CH 5 nosuch"},
      {"ZADD z GT 1 a"},
      {"ZADD z INCR 1 a"},
      {"ZADD z NX INCR 1 a"},
      {"ZINCRBY z 1 b"},
      {"ZINCRBY z 0 b"},
      {"ZINCRBY z2 1 m"},
      {"ZREM z nosuch"},
      {"ZREM z a"},
      {"ZADD z 1 a 2 c 3 d"},
      {"ZREMRANGEBYSCORE z 100 200"},
      {"ZREMRANGEBYSCORE z 0 1"},
      {"ZREMRANGEBYRANK z 0 0"},
      {"ZREMRANGEBYLEX z - +"},  // emptied
      {"ZADD z 1 a 2 b 3 c"},
      {"ZPOPMIN z"},
      {"ZPOPMAX z 0"},
      {"ZPOPMAX z 5"},
      {"ZPOPMIN z"},
      {"ZADD a 1 x 2 y"},
      {"ZADD b 1 y"},
      {"SADD s y"},
      {"ZUNIONSTORE d 2 a b"},
      {"ZINTERSTORE d 3 a b s"},
      {"ZINTERSTORE d 2 a nosuch"},
      {"ZDIFFSTORE d 1 a"},
      {"ZRANGESTORE d2 a 0 -1"},
      {"ZRANGESTORE d2 a 5 6"},
      {"ZRANGESTORE d3 nosuch 0 -1"},
      {"ZMPOP 1 a MIN"},
      {"ZMPOP 2 nosuch a MAX COUNT 5"},
      {"ZMPOP 1 nosuch MIN"},
      {"ZSCORE nosuch a"},
      {"ZMSCORE nosuch a"},
      {"ZRANGE nosuch 0 -1"},
      {"ZRANGEBYSCORE nosuch 0 1"},
      {"ZREVRANGE nosuch 0 1"},
      {"ZCARD nosuch"},
      {"ZRANK nosuch a"},
      {"ZCOUNT nosuch 0 1"},
      {"ZLEXCOUNT nosuch - +"},
      {"ZRANDMEMBER nosuch"},
      {"ZUNION 2 nosuch b"},
      {"ZINTERCARD 1 nosuch"},
      {"ZSCAN nosuch 0"},
      // Pops blocked on an empty zset, served by an add.
      {"@block BZPOPMIN bz 5"},
      {"ZADD bz 1 a 2 b"},
      {"@unblocked"},
      {"@block BZMPOP 5 1 bz2 MAX COUNT 3"},
      {"ZADD bz2 1 a 2 b"},
      {"@unblocked"},
  };
}

std::vector<EventLine> lists() {
  return {
      {"RPUSH l a b c"},
      {"LPUSH l z"},
      {"RPUSHX nosuch a"},
      {"LPUSHX l y"},
      {"LPOP l"},
      {"RPOP l 2"},
      {"LPOP l 0"},
      {"LPOP l 5"},  // emptied
      {"LPOP l"},
      {"RPUSH l a b c d"},
      {"LINSERT l BEFORE b x"},
      {"LINSERT l BEFORE nosuch x"},
      {"LINSERT nosuch BEFORE a x"},
      {"LSET l 0 q"},
      {"LSET l 99 q"},
      {"LTRIM l 0 -1"},  // nothing removed: Redis notifies anyway
      {"LTRIM l 1 -1"},
      {"LTRIM nosuch 0 1"},
      {"LREM l 0 nosuch"},
      {"LREM l 0 c"},
      {"LMOVE l l2 LEFT RIGHT"},
      {"LMOVE l l LEFT RIGHT"},
      {"RPOPLPUSH l l2"},
      {"LMOVE l l2 RIGHT LEFT"},  // the source emptied
      {"LMOVE l l2 LEFT LEFT"},
      {"LMPOP 1 l2 LEFT COUNT 10"},
      {"LRANGE nosuch 0 1"},
      {"LLEN nosuch"},
      {"LINDEX nosuch 0"},
      {"LPOS nosuch a"},
      {"RPUSH l a"},
      {"BLMOVE l l3 LEFT RIGHT 0.01"},
      {"LTRIM l3 5 10"},  // emptied
      {"RPUSH l a"},
      {"BLPOP l 0.1"},
      {"BLPOP nosuch 0.01"},
      {"LMPOP 1 nosuch LEFT"},
      // A pop blocked on an empty list, served by a push.
      {"@block BLPOP bl 5"},
      {"RPUSH bl a b"},
      {"@unblocked"},
      {"@block BRPOP bl 5"},
      {"@unblocked"},
      {"@block BLMOVE bl2 bl3 RIGHT LEFT 5"},
      {"LPUSH bl2 x"},
      {"@unblocked"},
      {"@block BLMPOP 5 2 bl4 bl5 RIGHT COUNT 2"},
      {"RPUSH bl5 a b c"},
      {"@unblocked"},
      {"RPUSH s a b c"},
      {"SORT s STORE d"},
      {"SORT s STORE d"},
      {"SORT nosuch STORE d"},
      {"SORT nosuch STORE d2"},
      {"SORT nosuch"},
      {"SORT_RO nosuch"},
      // BY and GET patterns read their keys: a missing one is a "keymiss". (Hash tags: Apiary,
      // always a cluster, takes only patterns in the sorted key's slot, as Redis Cluster.)
      {"RPUSH {t}l 2 1 3"},
      {"SET {t}w_1 3"},
      {"HSET {t}h_2 f 1"},
      {"SORT {t}l BY {t}w_*"},
      {"SORT {t}l BY {t}w_* GET # GET {t}h_*->f"},
      {"SORT {t}l BY nosort GET {t}x_*"},
      {"SORT {t}l BY {t}w_* STORE {t}d"},
  };
}

std::vector<EventLine> bitmaps() {
  return {
      {"SETBIT b 7 1"},
      {"SETBIT b 7 1"},  // unchanged: nothing
      {"SETBIT b 7 0"},
      {"SETBIT b2 0 0"},   // created: notified
      {"SETBIT b 100 0"},  // grown: notified
      {"GETBIT nosuch 0"},
      {"BITCOUNT nosuch"},
      {"BITPOS nosuch 1"},
      {"SET a foo"},
      {"BITOP AND d a b"},
      {"BITOP AND d nosuch nosuch2"},  // empty: "del"
      {"BITOP NOT d a"},
      {"BITFIELD bf SET u8 0 1"},
      {"BITFIELD bf GET u8 0"},
      {"BITFIELD bf INCRBY u8 0 1"},
      {"BITFIELD bf SET u8 0 2"},  // the same bits: nothing
      {"BITFIELD bf OVERFLOW FAIL INCRBY u8 0 300"},
      {"BITFIELD bf OVERFLOW FAIL INCRBY u8 100 300"},  // grown, nothing written
      {"BITFIELD bf2 OVERFLOW FAIL INCRBY u8 0 300"},   // created, nothing written
      {"BITFIELD bf3 INCRBY u8 0 0"},
      {"BITFIELD nosuch GET u8 0"},
      {"BITFIELD_RO nosuch GET u8 0"},
  };
}

// Commands run by EXEC and by scripts notify as they run.
std::vector<EventLine> transactions() {
  return {
      {"MULTI"},
      {"SET t 1"},
      {"INCR t"},
      {"RPUSH tl a"},
      {"LPOP tl"},
      {"GET nosuch"},
      {"EXEC"},
      {"EVAL \"redis.call('set', KEYS[1], 'v'); redis.call('expire', KEYS[1], 100); "
       "return redis.call('del', KEYS[1])\" 1 sk"},
      {"EVAL \"redis.call('hset', KEYS[1], 'f', 'v'); return redis.call('hget', KEYS[1], "
       "'nosuch')\" 1 sh"},
      {"EVAL \"return redis.call('get', KEYS[1])\" 1 nosuch"},
  };
}

// The same family lines joined: one comparison per flag set and protocol.
std::vector<EventLine> every_family() {
  std::vector<EventLine> all;
  for (auto family : {strings, keyspace, hashes, sets, zsets, lists, bitmaps, transactions}) {
    const auto lines = family();
    all.insert(all.end(), lines.begin(), lines.end());
    all.push_back({"FLUSHALL"});
  }
  return all;
}

// Lines for the narrower flag sets: some events of each class, and an expiry.
std::vector<EventLine> mixed() {
  return {
      {"SET k v"},       {"GET nosuch"},     {"EXPIRE k 100"}, {"RPUSH l a b"},
      {"LPOP l"},        {"SADD s a"},       {"HSET h a 1"},   {"ZADD z 1 a"},
      {"DEL k l s h z"}, {"SET e v PX 50"},  {"@sleep 400"},   {"INCR n"},
      {"APPEND n x"},    {"SET e2 v PX 50"}, {"@sleep 400"},   {"GET e2"},
  };
}

}  // namespace

TEST_CASE("keyspace_events: the events are the ones redis-server 7.0 publishes",
          "[integration][keyspace_events]") {
  RedisServer redis;
  Daemon apiary("keyspace-events", {});
  SECTION("every write family, KEA and KEAnm, RESP2 and RESP3") {
    for (int protocol : {2, 3}) {
      for (const char* flags : {"KEA", "KEAnm"}) {
        compare_events(apiary, redis, protocol, flags, every_family());
      }
    }
  }
  SECTION("narrower flag sets select the classes and channels") {
    for (const char* flags : {"El", "Kx", "A", "KEn", "KEm", "Kg$", "Ez"}) {
      compare_events(apiary, redis, 2, flags, mixed());
    }
  }
  SECTION("CONFIG SET and GET of notify-keyspace-events") {
    RespClient a(apiary.redis_port());
    RespClient r(redis.port());
    for (const char* flags : {"KEA", "", "A", "Kx", "El", "AKE", "KEAnm", "mn", "gl$shzxetd",
                              "gl$shzxetdKE", "xK", "EK", "$", "AAn", "Kq", "KEA?", "kEA"}) {
      INFO("flags " << flags);
      const std::vector<std::string> set = {"CONFIG", "SET", "notify-keyspace-events", flags};
      CHECK(a.command(set) == r.command(set));
      const std::vector<std::string> get = {"CONFIG", "GET", "notify-keyspace-events"};
      CHECK(a.command(get) == r.command(get));
    }
    a.command({"CONFIG", "SET", "notify-keyspace-events", ""});
    r.command({"CONFIG", "SET", "notify-keyspace-events", ""});
  }
}
