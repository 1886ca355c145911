// Differential test of publish/subscribe: one apiaryd and one redis-server 7.0, both started
// here on ports picked at run time, get the same steps over several connections each (RESP2,
// then RESP3 after HELLO 3), and what every connection receives is compared byte for byte:
// subscribe and unsubscribe confirmations with their counts, the commands refused in RESP2
// subscribe mode, PING there, RESP3 subscribers running other commands, the messages a
// subscriber connection receives while another connection publishes (read until a marker
// message), PUBLISH's receiver counts, PUBSUB's subcommands, errors, RESET, CLIENT INFO's
// subscription fields and COMMAND INFO.
//
// Where an order is a hash table's in Redis (PUBSUB CHANNELS, UNSUBSCRIBE without arguments
// answering for several channels), the comparison ignores the order and says so. Lines that
// differ by design carry Apiary's reply and the reason.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "integration/support/differential.hpp"
#include "integration/support/subscriber.hpp"

using namespace apiary::test;
using namespace std::chrono_literals;

namespace {

enum class Compare {
  exact,
  // An array's elements as a set: Redis lists PUBSUB CHANNELS in its hash table's order,
  // Apiary sorted.
  elements_as_set,
  // Several confirmations in any order, their counts in order: UNSUBSCRIBE without
  // arguments walks Redis's per-client hash table, Apiary's sorted set.
  replies_as_set,
  // Only CLIENT INFO / CLIENT LIST's fields that do not differ by nature (not id, addr, fd,
  // age, buffers, memory).
  client_fields,
  // COMMAND INFO of a container: Redis lists the subcommands in its hash table's order.
  subcommands_as_set,
};

struct Step {
  int conn = 0;                   // which of the scenario's connections
  const char* command = nullptr;  // nullptr: only read
  int replies = 1;                // replies (and pushes) to read
  const char* until = nullptr;    // instead: read until a reply holding this text
  Compare compare = Compare::exact;
  const char* apiary = nullptr;  // Apiary's bytes where they differ by design
  const char* why = nullptr;
};

Step cmd(int conn, const char* command, int replies = 1) { return {conn, command, replies}; }
Step read_until(int conn, const char* marker) { return {conn, nullptr, 0, marker}; }
Step as_set(int conn, const char* command) {
  return {conn, command, 1, nullptr, Compare::elements_as_set};
}
Step unordered(int conn, const char* command, int replies) {
  return {conn, command, replies, nullptr, Compare::replies_as_set};
}
Step fields(int conn, const char* command) {
  return {conn, command, 1, nullptr, Compare::client_fields};
}
Step container_info(int conn, const char* command) {
  return {conn, command, 1, nullptr, Compare::subcommands_as_set};
}

// One server's connections for a scenario, and their client ids ($ID0, $ID1... in commands).
struct Side {
  std::vector<std::unique_ptr<Subscriber>> conns;
  std::vector<std::string> ids;
};

Side open_side(const std::string& port, int protocol, int connections) {
  Side s;
  for (int i = 0; i < connections; ++i) {
    s.conns.push_back(std::make_unique<Subscriber>(port));
    const std::string id = s.conns.back()->command({"CLIENT", "ID"});
    REQUIRE(id.rfind(':', 0) == 0);
    s.ids.push_back(id.substr(1, id.size() - 3));
    if (protocol == 3) REQUIRE(s.conns.back()->command({"HELLO", "3"}).rfind("%7\r\n", 0) == 0);
  }
  return s;
}

std::vector<std::string> argv_of(const Side& side, const char* line) {
  auto argv = words(line);
  for (auto& w : argv) {
    if (w.size() == 4 && w.rfind("$ID", 0) == 0) w = side.ids.at(std::size_t(w[3] - '0'));
  }
  return argv;
}

std::vector<std::string> run_step(Side& side, const Step& step) {
  Subscriber& c = *side.conns.at(static_cast<std::size_t>(step.conn));
  if (step.command != nullptr) c.send(argv_of(side, step.command));
  std::vector<std::string> got;
  for (int i = 0; step.until != nullptr || i < step.replies; ++i) {
    auto r = c.next_raw(5s);
    if (!r) {
      got.emplace_back("<timeout>");
      break;
    }
    got.push_back(*r);
    if (step.until != nullptr && r->find(step.until) != std::string::npos) break;
  }
  return got;
}

std::string joined(const std::vector<std::string>& replies) {
  std::string out;
  for (const auto& r : replies) out += r;
  return out;
}

// The array's type and its elements sorted.
std::string elements_sorted(const std::string& reply) {
  if (reply.empty() || (reply[0] != '*' && reply[0] != '~')) return reply;
  auto texts = parse_resp(reply).texts();
  std::sort(texts.begin(), texts.end());
  std::string out(1, reply[0]);
  for (const auto& t : texts) out += " " + t;
  return out;
}

// The confirmations without their counts, sorted; then the counts in order.
std::string replies_sorted(std::vector<std::string> replies) {
  std::string counts;
  for (auto& r : replies) {
    const auto at = r.rfind("\r\n:", r.size() - 3);
    if (at == std::string::npos) continue;
    counts += r.substr(at + 2);
    r.erase(at + 2);
  }
  std::sort(replies.begin(), replies.end());
  return joined(replies) + "counts " + counts;
}

// CLIENT INFO / CLIENT LIST: the reply's type, then the fields that can match.
std::string client_fields_of(const std::string& reply) {
  if (reply.empty() || (reply[0] != '$' && reply[0] != '=')) return reply;
  static const std::regex kept(R"((?:^| )((?:name|db|flags|sub|psub|ssub|multi|cmd|resp)=\S*))");
  const std::string text = parse_resp(reply).text;
  std::string out(1, reply[0]);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kept); it != std::sregex_iterator();
       ++it) {
    out += " " + (*it)[1].str();
  }
  return out;
}

// A value as text, one element a line, nested ones indented.
std::string dump(const RespValue& v, const std::string& indent = "") {
  std::string out = indent + v.type + v.text + "\n";
  for (const auto& i : v.items) out += dump(i, indent + "  ");
  return out;
}

// COMMAND INFO <container>: the subcommands (its entry's 10th element) sorted.
std::string subcommands_sorted(const std::string& reply) {
  RespValue v = parse_resp(reply);
  if (v.items.size() != 1 || v.items[0].items.size() < 10) return dump(v);
  auto& subs = v.items[0].items[9].items;
  std::sort(subs.begin(), subs.end(),
            [](const RespValue& x, const RespValue& y) { return dump(x) < dump(y); });
  return dump(v);
}

std::string normalized(const Step& step, const std::vector<std::string>& replies) {
  switch (step.compare) {
    case Compare::exact:
      return joined(replies);
    case Compare::elements_as_set:
      return elements_sorted(joined(replies));
    case Compare::replies_as_set:
      return replies_sorted(replies);
    case Compare::client_fields:
      return client_fields_of(joined(replies));
    case Compare::subcommands_as_set:
      return subcommands_sorted(joined(replies));
  }
  return {};
}

// Both servers have no subscriptions left from an earlier scenario's connections (closing a
// connection unsubscribes it, as soon as the server reads the close).
void wait_unsubscribed(const std::string& port) {
  Subscriber c(port);
  const bool clean = eventually(5s, [&] {
    return c.command({"PUBSUB", "NUMPAT"}) == ":0\r\n" &&
           c.command({"PUBSUB", "CHANNELS"}) == "*0\r\n" &&
           c.command({"PUBSUB", "SHARDCHANNELS"}) == "*0\r\n";
  });
  REQUIRE(clean);
}

void compare_steps(const Daemon& apiary, const RedisServer& redis, int protocol, int connections,
                   const std::vector<Step>& steps) {
  wait_unsubscribed(apiary.redis_port());
  wait_unsubscribed(redis.port());
  Side a = open_side(apiary.redis_port(), protocol, connections);
  Side r = open_side(redis.port(), protocol, connections);
  REQUIRE(a.conns[0]->command({"FLUSHALL"}) == "+OK\r\n");
  REQUIRE(r.conns[0]->command({"FLUSHALL"}) == "+OK\r\n");
  for (const Step& step : steps) {
    const auto from_apiary = run_step(a, step);
    const auto from_redis = run_step(r, step);
    INFO("RESP" << protocol << ", connection " << step.conn << ": "
                << (step.command != nullptr ? step.command : "(read)")
                << (step.until != nullptr ? std::string(" until ") + step.until : ""));
    INFO("apiary: " << joined(from_apiary));
    INFO("redis:  " << joined(from_redis));
    if (step.apiary != nullptr) {
      INFO("by design: " << step.why);
      CHECK(joined(from_apiary) == step.apiary);
    } else {
      CHECK(normalized(step, from_apiary) == normalized(step, from_redis));
    }
  }
}

// One connection: confirmations and their counts (channels and patterns counted together,
// shard channels apart), unsubscribing without arguments, subscribe mode's refusals and PING.
std::vector<Step> confirmations() {
  return {
      cmd(0, "UNSUBSCRIBE"),  // no subscriptions: one reply with a null channel
      cmd(0, "PUNSUBSCRIBE"),
      cmd(0, "SUNSUBSCRIBE"),
      cmd(0, "UNSUBSCRIBE never subscribed", 2),
      cmd(0, "PUNSUBSCRIBE never*"),
      cmd(0, "SUNSUBSCRIBE never"),
      cmd(0, "SUBSCRIBE a b c", 3),
      cmd(0, "SUBSCRIBE a"),  // again: the count stays
      cmd(0, "SUBSCRIBE b d b", 3),
      cmd(0, "PSUBSCRIBE p* q?", 2),
      cmd(0, "PSUBSCRIBE p*"),
      cmd(0, "SSUBSCRIBE {s}1 {s}2", 2),
      cmd(0, "SSUBSCRIBE {s}1"),
      cmd(0, "UNSUBSCRIBE b"),
      cmd(0, "UNSUBSCRIBE b nosuch", 2),
      cmd(0, "PUNSUBSCRIBE nosuch*"),
      cmd(0, "SUNSUBSCRIBE {s}2"),
      // RESP2 subscribe mode refuses everything else (RESP3 runs it).
      cmd(0, "GET x"),
      cmd(0, "SET x 1"),
      cmd(0, "PUBLISH elsewhere hello"),
      fields(0, "CLIENT INFO"),
      cmd(0, "PUBSUB NUMPAT"),
      cmd(0, "ECHO hi"),
      cmd(0, "MULTI"),
      cmd(0, "DISCARD"),
      cmd(0, "GET"),  // the arity check comes first
      cmd(0, "NOSUCHCOMMAND"),
      cmd(0, "PING"),
      cmd(0, "PING hello"),
      cmd(0, "PING a b"),
      unordered(0, "UNSUBSCRIBE", 3),
      cmd(0, "UNSUBSCRIBE"),
      cmd(0, "PING"),  // still subscribed: patterns and a shard channel
      unordered(0, "PUNSUBSCRIBE", 2),
      cmd(0, "PUNSUBSCRIBE"),
      cmd(0, "GET x"),  // shard channels alone keep subscribe mode
      cmd(0, "SUNSUBSCRIBE"),
      cmd(0, "SUNSUBSCRIBE"),
      cmd(0, "PING"),
      cmd(0, "GET x"),
      // One pattern, then one channel, unsubscribed without arguments.
      cmd(0, "PSUBSCRIBE one*"),
      cmd(0, "SUBSCRIBE two"),
      cmd(0, "PUNSUBSCRIBE"),
      cmd(0, "UNSUBSCRIBE"),
      cmd(0, "UNSUBSCRIBE"),
      cmd(0, "PING"),
      // RESET leaves subscribe mode (and RESP3).
      cmd(0, "SUBSCRIBE r"),
      cmd(0, "SSUBSCRIBE {r}s"),
      cmd(0, "RESET"),
      cmd(0, "PING"),
      cmd(0, "GET x"),
      cmd(0, "PUBSUB NUMSUB r"),
      cmd(0, "PUBSUB SHARDNUMSUB {r}s"),
      // Duplicates in one command, then QUIT in subscribe mode.
      cmd(0, "SUBSCRIBE d d e", 3),
      cmd(0, "UNSUBSCRIBE d d", 2),
      cmd(0, "PSUBSCRIBE d* d*", 2),
      cmd(0, "QUIT"),
  };
}

// A subscriber (connection 0) and a publisher (connection 1); connection 2 looks on.
std::vector<Step> messages() {
  return {
      cmd(0, "SUBSCRIBE news marker", 2),
      cmd(0, "PSUBSCRIBE n* s*", 2),
      cmd(1, "PUBLISH news hello"),  // one channel and one pattern
      cmd(1, "PUBLISH nothing x"),
      cmd(1, "PUBLISH nx ''"),
      cmd(1, "PUBLISH \"some news\" \"with spaces\""),
      cmd(1, "PUBLISH marker MARK1"),
      read_until(0, "MARK1"),
      // Two patterns matching one channel: Redis walks its patterns in its hash table's order,
      // Apiary in sorted order, so these messages are compared in any order.
      cmd(0, "PSUBSCRIBE *ews"),
      cmd(1, "PUBLISH news twice"),
      cmd(1, "PUBLISH marker MARK1b"),
      {0, nullptr, 0, "MARK1b", Compare::replies_as_set},
      cmd(0, "PUNSUBSCRIBE *ews"),
      cmd(2, "PUBSUB NUMSUB news marker nothing nx"),
      cmd(2, "PUBSUB NUMPAT"),
      as_set(2, "PUBSUB CHANNELS"),
      as_set(2, "PUBSUB CHANNELS n*"),
      as_set(2, "PUBSUB CHANNELS nomatch*"),
      as_set(2, "PUBSUB CHANNELS [mn]?*"),
      as_set(2, "PUBSUB CHANNELS *\\ *"),
      cmd(2, "PUBSUB NUMSUB news news n*"),
      // Shard channels: their own messages and counts.
      cmd(0, "SSUBSCRIBE {s}1 {s}2", 2),
      cmd(1, "SPUBLISH {s}1 first"),
      cmd(1, "SPUBLISH {s}3 nobody"),
      cmd(1, "PUBLISH {s}1 plain"),  // a plain channel of the same name: nobody
      cmd(1, "SPUBLISH {s}2 second"),
      cmd(1, "PUBLISH marker MARK2"),
      read_until(0, "MARK2"),
      as_set(2, "PUBSUB SHARDCHANNELS"),
      as_set(2, "PUBSUB SHARDCHANNELS {s}1"),
      cmd(2, "PUBSUB SHARDNUMSUB {s}1 {s}2 {s}3"),
      cmd(2, "PUBSUB SHARDNUMSUB"),
      cmd(2, "PUBSUB NUMSUB"),
      // A second subscriber to the same channel and pattern.
      cmd(2, "SUBSCRIBE news"),
      cmd(2, "PSUBSCRIBE n*"),
      cmd(1, "PUBLISH news again"),
      cmd(1, "PUBLISH marker MARK3"),
      read_until(0, "MARK3"),
      cmd(2, "PING hi"),
      cmd(2, "GET k"),  // RESP2: refused; RESP3: runs
      cmd(2, "PUNSUBSCRIBE n*"),
      cmd(2, "UNSUBSCRIBE news"),
      cmd(2, "PING end"),  // nothing else came to connection 2 first
      cmd(2, "PUBSUB NUMSUB news"),
      // CLIENT INFO's flags (P) and counts, seen by the subscriber and by another client.
      fields(0, "CLIENT INFO"),
      fields(1, "CLIENT LIST ID $ID0"),
      fields(1, "CLIENT INFO"),
      // RESP3 subscribers run other commands (RESP2's are refused).
      cmd(0, "SET k v"),
      cmd(0, "GET k"),
      cmd(0, "HSET h f v"),
      cmd(0, "HGETALL h"),
      cmd(1, "PUBLISH news after"),
      cmd(1, "PUBLISH marker MARK4"),
      read_until(0, "MARK4"),
      // RESET: no subscriptions left; the publisher reaches nobody.
      cmd(0, "RESET"),
      cmd(1, "PUBLISH news gone"),
      cmd(1, "PUBSUB NUMPAT"),
      fields(1, "CLIENT LIST ID $ID0"),
      fields(0, "CLIENT INFO"),
  };
}

// RESP3: a client publishing to a channel it subscribes to gets the message before
// PUBLISH's reply, as Redis writes it.
std::vector<Step> self_publish() {
  return {
      cmd(0, "SUBSCRIBE self"),
      cmd(0, "PSUBSCRIBE s*"),
      cmd(0, "PUBLISH self hi", 3),
      cmd(0, "SSUBSCRIBE {self}"),
      cmd(0, "SPUBLISH {self} shard", 2),
      cmd(0, "PUBLISH other x"),
      cmd(0, "UNSUBSCRIBE self"),
      cmd(0, "PUBLISH self bye", 2),
      cmd(1, "PUBLISH self from-another"),
      read_until(0, "from-another"),
  };
}

constexpr const char* kShardInScript =
    "Apiary is a cluster: a script may touch only the keys it declares, so SPUBLISH of an "
    "undeclared shard channel is refused as Redis Cluster refuses it (standalone Redis runs it)";

// Messages published by scripts and transactions reach subscribers like any other.
std::vector<Step> from_scripts() {
  return {
      cmd(0, "SUBSCRIBE a"),
      cmd(0, "PSUBSCRIBE a*"),
      cmd(0, "SSUBSCRIBE {a}s"),
      cmd(1, "EVAL \"return redis.call('PUBLISH', 'a', 'fromlua')\" 0"),
      cmd(1, "EVAL \"return redis.call('PUBLISH', KEYS[1], ARGV[1])\" 1 a2 withkey"),
      cmd(1, "EVAL \"return redis.call('SUBSCRIBE', 'a')\" 0"),
      cmd(1, "EVAL \"return redis.call('SPUBLISH', KEYS[1], 'shard')\" 1 {a}s"),
      {1, "EVAL \"return redis.call('SPUBLISH', 'nobody', 'x')\" 0", 1, nullptr, Compare::exact,
       "-ERR Script attempted to access a non local key in a cluster node script script: "
       "33531dcb957d761aea632e79321ea00af79d8a8f, on @user_script:1.\r\n",
       kShardInScript},
      cmd(1, "MULTI"),
      cmd(1, "PUBLISH a inmulti"),
      cmd(1, "SPUBLISH {a}s inmulti2"),
      cmd(1, "EXEC"),
      cmd(0, "SUBSCRIBE marker"),
      cmd(1, "PUBLISH marker MARK"),
      read_until(0, "MARK"),
  };
}

// Arities, unknown subcommands, PUBSUB HELP, and a message on the wire for a client that
// subscribes inside MULTI.
std::vector<Step> errors() {
  return {
      cmd(0, "SUBSCRIBE"),
      cmd(0, "PSUBSCRIBE"),
      cmd(0, "SSUBSCRIBE"),
      cmd(0, "PUBLISH"),
      cmd(0, "PUBLISH a"),
      cmd(0, "PUBLISH a b c"),
      cmd(0, "SPUBLISH a"),
      cmd(0, "SPUBLISH a b c"),
      cmd(0, "PUBSUB"),
      cmd(0, "PUBSUB FOO"),
      cmd(0, "PUBSUB foo bar"),
      cmd(0, "PUBSUB CHANNELS a b"),
      cmd(0, "PUBSUB SHARDCHANNELS a b"),
      cmd(0, "PUBSUB NUMPAT x"),
      cmd(0, "PUBSUB HELP x"),
      cmd(0, "PUBSUB HELP"),
      cmd(0, "pubsub help"),
      cmd(0, "pubsub numsub"),
      cmd(0, "pubsub channels"),
      cmd(0, "MULTI"),
      cmd(0, "SUBSCRIBE inmulti"),
      cmd(0, "PUBLISH inmulti x"),
      cmd(0, "EXEC"),
      cmd(0, "PING"),
      cmd(0, "UNSUBSCRIBE"),
  };
}

void compare_command_info(const Daemon& apiary, const RedisServer& redis, int protocol) {
  std::vector<Step> steps;
  for (const char* name :
       {"COMMAND INFO subscribe", "COMMAND INFO unsubscribe", "COMMAND INFO psubscribe",
        "COMMAND INFO punsubscribe", "COMMAND INFO publish", "COMMAND INFO ssubscribe",
        "COMMAND INFO sunsubscribe", "COMMAND INFO spublish", "COMMAND INFO pubsub",
        "COMMAND INFO pubsub|numsub", "COMMAND GETKEYS SPUBLISH ch msg"}) {
    steps.push_back(container_info(0, name));
  }
  compare_steps(apiary, redis, protocol, 1, steps);
}

}  // namespace

TEST_CASE("pubsub: publish/subscribe answers as redis-server 7.0 does", "[integration][pubsub]") {
  RedisServer redis;
  Daemon apiary("pubsub", {});
  SECTION("confirmations, counts, subscribe mode, RESP2 and RESP3") {
    for (int protocol : {2, 3}) compare_steps(apiary, redis, protocol, 1, confirmations());
  }
  SECTION("messages between connections, PUBSUB, CLIENT INFO, RESET, RESP2 and RESP3") {
    for (int protocol : {2, 3}) compare_steps(apiary, redis, protocol, 3, messages());
  }
  SECTION("a RESP3 client publishing to itself") {
    compare_steps(apiary, redis, 3, 2, self_publish());
  }
  SECTION("messages from scripts and transactions, RESP2 and RESP3") {
    for (int protocol : {2, 3}) compare_steps(apiary, redis, protocol, 2, from_scripts());
  }
  SECTION("arities, unknown subcommands, PUBSUB HELP, MULTI, RESP2 and RESP3") {
    for (int protocol : {2, 3}) compare_steps(apiary, redis, protocol, 1, errors());
  }
  SECTION("COMMAND INFO, RESP2 and RESP3") {
    for (int protocol : {2, 3}) compare_command_info(apiary, redis, protocol);
  }
  SECTION("shard channels in different slots") {
    // Redis Cluster would refuse channels of different slots with CROSSSLOT; standalone
    // Redis, and Apiary (a subscription lives at the client's node, each SPUBLISH at its
    // channel's coordinator), subscribe to both.
    for (int protocol : {2, 3}) {
      compare_steps(apiary, redis, protocol, 2,
                    {cmd(0, "SSUBSCRIBE {t}a {t}b", 2), cmd(0, "SSUBSCRIBE a b c", 3),
                     cmd(1, "SPUBLISH b x"), cmd(1, "SPUBLISH c y"), cmd(1, "SPUBLISH {t}a z"),
                     read_until(0, "$1\r\nz\r\n"), unordered(0, "SUNSUBSCRIBE", 5)});
    }
  }
  Subscriber after(apiary.redis_port());
  CHECK(after.command({"PING"}) == "+PONG\r\n");
  CHECK(apiary.running());
}

// Redis 7.0 writes pub/sub confirmations and messages even under CLIENT REPLY OFF / SKIP
// (CLIENT_PUSHING); CLIENT REPLY SKIP leaves OFF in force; CLIENT LIST / KILL TYPE pubsub
// select the clients with subscriptions (which TYPE normal then leaves out).
TEST_CASE("pubsub: CLIENT REPLY OFF/SKIP and CLIENT TYPE pubsub", "[integration][pubsub]") {
  RedisServer redis;
  Daemon apiary("pubsub-known", {});
  SECTION("CLIENT REPLY OFF and SKIP keep pub/sub confirmations and messages, RESP2") {
    compare_steps(apiary, redis, 2, 2,
                  {cmd(0, "CLIENT REPLY OFF", 0),
                   cmd(0, "SUBSCRIBE a"),
                   cmd(1, "PUBLISH a x"),
                   {0, nullptr, 1},
                   cmd(0, "UNSUBSCRIBE a"),
                   cmd(0, "PING", 0)});
  }
  SECTION("CLIENT REPLY OFF and SKIP keep pub/sub messages, RESP3") {
    compare_steps(apiary, redis, 3, 2,
                  {cmd(0, "SUBSCRIBE a"), cmd(0, "CLIENT REPLY OFF", 0), cmd(0, "PUBLISH a self"),
                   cmd(0, "CLIENT REPLY SKIP", 0), cmd(0, "PUBLISH a skip"),
                   cmd(0, "PUBLISH a after"), cmd(0, "CLIENT REPLY ON"), cmd(0, "PING")});
  }
  SECTION("CLIENT LIST and CLIENT KILL TYPE pubsub") {
    compare_steps(apiary, redis, 2, 2,
                  {cmd(0, "SUBSCRIBE a"), fields(1, "CLIENT LIST TYPE pubsub"),
                   fields(1, "CLIENT LIST TYPE normal"), cmd(1, "CLIENT KILL TYPE pubsub"),
                   cmd(1, "PUBSUB NUMSUB a")});
  }
}
