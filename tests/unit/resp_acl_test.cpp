// The ACL core (resp/acl.hpp) against what redis-server 7.0.15 answered for the same rules:
// ACL SETUSER of each line on a new user, then that user's ACL LIST text (recorded with
// redis-cli; the differential test against a live redis-server comes with the ACL commands).
// Redis lists single-command rules in its command dict's seeded order, different in every
// redis-server process, so they are compared as a set; categories keep their order.
#include <catch2/catch.hpp>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "apiary/resp/acl.hpp"

using namespace apiary;
using namespace apiary::resp;

namespace {

struct Case {
  const char* rules;
  const char* listed;  // ACL LIST after "user <name> "
};

const Case kCases[] = {
    {"on >p1 ~cache:* +get +set -get +@string -@write",
     "on #f64551fcd6f07823cb87971cfb91446425da18286b3ab1ef935e0cbd7a69f68a ~cache:* resetchannels -@all +strlen +mget +substr +getrange +get +lcs"},
    {"%R~r:* %W~w:* &ch* (+get ~foo) nocommands +ping",
     "off %R~r:* %W~w:* resetchannels &ch* -@all +ping (~foo resetchannels -@all +get)"},
    {"+@all -@dangerous",
     "off resetchannels +@all -@dangerous"},
    {"+@all -@write +set",
     "off resetchannels +@all -@write +set"},
    {"-@all +@read +@hash -hgetall",
     "off resetchannels -@all +@read -hgetall +hincrbyfloat +hdel +hsetnx +hmset +hincrby +hset"},
    {"+config|get +client -client|kill",
     "off resetchannels -@all +client -client|kill +config|get"},
    {"+select|0 +get|x",
     "off resetchannels -@all +get|x +select|0"},
    {"allcommands -config",
     "off resetchannels +@all -config"},
    {"+@admin",
     "off resetchannels -@all +@admin"},
    {"+@all -debug +debug|digest",
     "off resetchannels +@all -debug +debug|digest"},
    {"+@read -@keyspace +@fast",
     "off resetchannels -@all +@fast +@geo +hgetall -geosearchstore +sscan +zrevrange +hscan +memory|usage -georadius +zunion +zrandmember +sinter +xrange +bitpos +sintercard +zdiff +lindex +xread +zrevrangebyscore +bitcount -geoadd +xpending +zintercard +substr +zrevrangebylex +lpos +lrange +sunion +smembers +xrevrange +sdiff +hvals +hkeys +zscan +getrange +lcs +zinter +pfcount +srandmember +zrange +xinfo|groups +xinfo|stream +xinfo|consumers +zrangebylex -georadiusbymember +sort_ro +zrangebyscore +hrandfield"},
    {"~a %R~a %W~b %RW~c",
     "off ~a %W~b ~c resetchannels -@all"},
    {"+@all -client|kill",
     "off resetchannels +@all -client|kill"},
    {"+@slow -@admin",
     "off resetchannels -@all +@scripting +@geo +@pubsub +@blocking +@bitmap +@set +@stream +@connection +@sortedset +hgetall +rename -publish -quit +info -smove -spublish +hscan -asking +memory -xautoclaim +acl -acl|deluser -acl|load -acl|users -acl|log -acl|getuser -acl|list -acl|setuser -acl|save -acl|dryrun -zadd -zpopmin +copy -zpopmax -zcard +linsert +dump +lset +migrate +restore -readwrite -zrevrank -zrank +del +set -xdel +lmove -scard -zcount -reset +setex +lindex +xgroup -ping +psetex -echo +cluster -cluster|meet -cluster|count-failure-reports -cluster|addslots -cluster|slaves -cluster|addslotsrange -cluster|saveconfig -cluster|failover -cluster|forget -cluster|flushslots -cluster|bumpepoch -cluster|delslotsrange -cluster|setslot -cluster|delslots -cluster|replicate -cluster|set-config-epoch -cluster|reset -cluster|replicas -sadd +slowlog -slowlog|reset -slowlog|get -slowlog|len -xclaim +lrem -readonly +client -client|pause -client|unblock -client|unpause -client|list -client|kill -client|no-evict -hello +mset +pubsub -bzpopmax +exec +keys +substr -auth -zmscore +latency -latency|histogram -latency|graph -latency|history -latency|reset -latency|latest -latency|doctor -bitfield_ro +lmpop -smismember +lpos +rpoplpush -bzpopmin +lrange +flushdb -xack +function +config -config|resetstat -config|get -config|set -config|rewrite -zincrby +pfmerge +hvals -zrem -zscore +hkeys -sismember +flushall +getrange +module -module|loadex -module|list -module|load -module|unload +script -xadd -srem +msetnx -xlen -xsetid -getbit +setrange +lcs +pfcount +randomkey -spop +xinfo +ltrim -select +object +restore-asking -zlexcount +hrandfield +scan"},
    {"+config|get +config|set",
     "off resetchannels -@all +config|get +config|set"},
    {"+@pubsub &news:* allkeys",
     "off ~* resetchannels &news:* -@all +@pubsub"},
    {"reset on nopass +@all ~*",
     "on nopass sanitize-payload ~* resetchannels +@all"},
    {"+acl|whoami +acl",
     "off resetchannels -@all +acl"},
    {"-@all +client|info +client|id +client|setname",
     "off resetchannels -@all +client|id +client|setname +client|info"},
    {"+@all -@blocking -@scripting -@transaction",
     "off resetchannels +@all -@scripting -@blocking -@transaction"}};

std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  std::istringstream in{std::string(s)};
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// Single-command rules (+get, -client|kill) of each selector sorted; the rest in order.
std::string normalised(std::string_view listed) {
  std::string out;
  std::vector<std::string> singles;
  auto flush = [&] {
    std::sort(singles.begin(), singles.end());
    for (const std::string& w : singles) out += w + " ";
    singles.clear();
  };
  for (std::string w : words(listed)) {
    const bool opens = w.front() == '(';
    const bool closes = w.back() == ')';
    if (opens) {
      flush();
      out += "( ";
      w.erase(0, 1);
    }
    if (closes) w.pop_back();
    if ((w.front() == '+' || w.front() == '-') && w.size() > 1 && w[1] != '@') {
      singles.push_back(w);
    } else {
      out += w + " ";
    }
    if (closes) {
      flush();
      out += ") ";
    }
  }
  flush();
  return out;
}

std::vector<std::string_view> views(const std::vector<std::string>& v) {
  return {v.begin(), v.end()};
}

}  // namespace

TEST_CASE("ACL SETUSER rules list as redis-server 7.0.15 lists them") {
  const AclCatalog catalog;
  for (const Case& c : kCases) {
    AclUsers users(catalog);
    // Selectors are single arguments in the recorded lines: "(+get ~foo)" was two words.
    const std::vector<std::string> rules = words(c.rules);
    const Status set = users.set_user("u", views(rules));
    INFO(c.rules);
    REQUIRE(set.ok());
    CHECK(normalised(users.describe(*users.find("u"))) == normalised(c.listed));
  }
}

TEST_CASE("ACL SETUSER errors are Redis's") {
  const AclCatalog catalog;
  AclUsers users(catalog);
  auto error = [&](std::vector<std::string_view> rules) {
    return users.set_user("x", rules).message();
  };
  CHECK(error({"foo"}) == "Error in ACL SETUSER modifier 'foo': Syntax error");
  CHECK(error({"+nosuch"}) ==
        "Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL");
  CHECK(error({"+@nosuch"}) ==
        "Error in ACL SETUSER modifier '+@nosuch': Unknown command or category name in ACL");
  CHECK(error({"+config|nosuch"}) ==
        "Error in ACL SETUSER modifier '+config|nosuch': Unknown command or category name in "
        "ACL");
  CHECK(error({"%X~a"}) == "Error in ACL SETUSER modifier '%X~a': Syntax error");
  CHECK(error({"(foo"}) == "Unmatched parenthesis in acl selector starting at '(foo'.");
  CHECK(error({"#abc"}) ==
        "Error in ACL SETUSER modifier '#abc': The password hash must be exactly 64 characters "
        "and contain only lowercase hexadecimal characters");
  CHECK(error({"<nope"}) ==
        "Error in ACL SETUSER modifier '<nope': The password you are trying to remove from the "
        "user does not exist");
  CHECK(error({"allkeys", "~a"}) ==
        "Error in ACL SETUSER modifier '~a': Adding a pattern after the * pattern (or the "
        "'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start "
        "with an empty list of patterns");
  CHECK(users.set_user("a b", {}).message() == "Usernames can't contain spaces or null characters");
  // Nothing of a failed SETUSER applies.
  CHECK(users.find("x") == nullptr);
  CHECK_FALSE(users.set_user("x", std::vector<std::string_view>{"on", "bogus"}).ok());
  CHECK(users.find("x") == nullptr);
}

TEST_CASE("passwords are kept as SHA-256 and checked") {
  const AclCatalog catalog;
  AclUsers users(catalog);
  CHECK(acl_hash_password("p1") ==
        "f64551fcd6f07823cb87971cfb91446425da18286b3ab1ef935e0cbd7a69f68a");
  REQUIRE(users.set_user("u", std::vector<std::string_view>{"on", ">p1", ">p2"}).ok());
  CHECK(users.authenticate("u", "p1"));
  CHECK(users.authenticate("u", "p2"));
  CHECK_FALSE(users.authenticate("u", "p3"));
  CHECK_FALSE(users.authenticate("nobody", "p1"));
  REQUIRE(users.set_user("u", std::vector<std::string_view>{"off"}).ok());
  CHECK_FALSE(users.authenticate("u", "p1"));  // disabled
  CHECK(users.authenticate("default", "anything"));  // nopass
  users.set_default_password("secret");
  CHECK_FALSE(users.authenticate("default", "anything"));
  CHECK(users.authenticate("default", "secret"));
}

TEST_CASE("checks: commands, keys by read and write, channels, selectors") {
  const AclCatalog catalog;
  AclUsers users(catalog);
  REQUIRE(users.set_user("u", std::vector<std::string_view>{"on", "nopass", "%R~r:*", "%W~w:*",
                                                             "~cache:*", "+get", "+set", "&news*",
                                                             "+publish", "(+del ~tmp:*)"})
              .ok());
  const AclUser& u = *users.find("u");
  const std::size_t get = *catalog.find("get");
  const std::size_t set = *catalog.find("set");
  const std::size_t del = *catalog.find("del");
  const std::size_t incr = *catalog.find("incr");
  const std::size_t publish = *catalog.find("publish");
  auto verdict = [&](std::size_t id, std::vector<std::string_view> argv,
                     std::vector<AclKeyRef> keys, AclChannels channels = {}) {
    return users.check(u, id, argv, keys, channels).verdict;
  };
  const AclKeyRef read1{1, true, false}, write1{1, false, true}, rw1{1, true, true};
  CHECK(verdict(get, {"get", "cache:1"}, {read1}) == AclVerdict::ok);
  CHECK(verdict(get, {"get", "r:1"}, {read1}) == AclVerdict::ok);
  CHECK(verdict(get, {"get", "w:1"}, {read1}) == AclVerdict::key);
  CHECK(verdict(set, {"set", "w:1", "v"}, {write1}) == AclVerdict::ok);
  CHECK(verdict(set, {"set", "w:1", "v", "get"}, {rw1}) == AclVerdict::key);
  CHECK(verdict(incr, {"incr", "cache:1"}, {rw1}) == AclVerdict::command);
  CHECK(verdict(del, {"del", "tmp:1"}, {write1}) == AclVerdict::ok);  // the selector
  CHECK(verdict(del, {"del", "cache:1"}, {write1}) == AclVerdict::key);
  CHECK(verdict(publish, {"publish", "news1", "m"}, {}, {1, 1, false}) == AclVerdict::ok);
  const AclCheck refused = users.check(u, publish, std::vector<std::string_view>{"publish", "x", "m"},
                                       {}, {1, 1, false});
  CHECK(refused.verdict == AclVerdict::channel);
  CHECK(refused.position == 1);
}

TEST_CASE("ACL SAVE text loads back, a bad file changes nothing") {
  const AclCatalog catalog;
  AclUsers users(catalog);
  REQUIRE(users.set_user("app", std::vector<std::string_view>{"on", ">pw", "~app:*", "+@read",
                                                               "(+set ~tmp:*)"})
              .ok());
  const std::string saved = users.to_text();
  AclUsers loaded(catalog);
  REQUIRE(loaded.load_text(saved, "users.acl").ok());
  CHECK(loaded.to_text() == saved);
  const Status bad = loaded.load_text("user ok on\nnot a user line\nuser x +bogus\n", "users.acl");
  CHECK(bad.message() ==
        "users.acl:2 should start with user keyword followed by the username. users.acl:3: "
        "Unknown command or category name in ACL. WARNING: ACL errors detected, no change to the "
        "previously active ACL rules was performed");
  CHECK(loaded.to_text() == saved);
}
