// Differential test of client-side caching (CLIENT TRACKING, CACHING, GETREDIR,
// TRACKINGINFO): one apiaryd and one redis-server 7.0 run the same scenarios, each with a few
// connections, and every byte each connection receives (replies and invalidation pushes or
// `__redis__:invalidate` messages) must be the same. Client ids differ between the two
// servers, so the transcript writes a connection's id as <id N>; CLIENT LIST / CLIENT INFO
// are compared on their tracking fields only (flags=, redir=), the rest differs by design
// (addresses, memory figures).
//
// What arrives between commands is read by sending PING and taking everything before its
// PONG: an invalidation is written before the reply of a command sent after the change.
#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "integration/support/cluster.hpp"
#include "integration/support/command_words.hpp"
#include "integration/support/daemon.hpp"
#include "integration/support/redis_server.hpp"

using namespace apiary::test;

namespace {

bool is_pong(const std::string& r) {
  return r == "+PONG\r\n" || r == "*2\r\n$4\r\npong\r\n$0\r\n\r\n" ||
         r == ">2\r\n$4\r\npong\r\n$0\r\n\r\n";
}

// Connections to one server and the transcript of what they received.
class Session {
 public:
  explicit Session(std::string port) : port_(std::move(port)) {}

  // Opens connection n (0, 1, ...) and learns its id.
  void open() {
    conns_.push_back(std::make_unique<RespClient>(port_));
    const std::string r = conns_.back()->command({"CLIENT", "ID"});
    ids_.push_back(r.substr(1, r.size() - 3));
  }
  void close(std::size_t n) {
    conns_[n].reset();
    log_ += "[" + std::to_string(n) + "] closed\n";
  }
  const std::string& id(std::size_t n) const { return ids_[n]; }

  // Runs a command line on connection n ("<id 1>" in it becomes connection 1's id).
  std::string run(std::size_t n, const std::string& line) {
    std::string expanded = line;
    for (std::size_t i = 0; i < ids_.size(); ++i) {
      expanded =
          std::regex_replace(expanded, std::regex("<id " + std::to_string(i) + ">"), ids_[i]);
    }
    std::string r = conns_[n]->command(words(expanded));
    if (line.starts_with("CLIENT LIST") || line.starts_with("CLIENT INFO")) r = tracking_fields(r);
    if (line.starts_with("HELLO")) r = r.substr(0, 4);  // its id differs; the map header stays
    const bool shows_ids = line.find("GETREDIR") != std::string::npos ||
                           line.find("TRACKINGINFO") != std::string::npos ||
                           line.starts_with("CLIENT LIST") || line.starts_with("CLIENT INFO");
    log_ += "[" + std::to_string(n) + "] " + line + " -> " + normalize(r, shows_ids) + "\n";
    return r;
  }
  // What connection n received since its last reply (pushes, messages).
  void drain(std::size_t n) {
    conns_[n]->send_raw("*1\r\n$4\r\nPING\r\n");
    std::string got;
    for (int i = 0; i < 50; ++i) {
      std::string r = conns_[n]->reply();
      if (is_pong(r) || r.find("<timeout>") != std::string::npos) break;
      got += r;
    }
    log_ += "[" + std::to_string(n) + "] received: " + normalize(got, false) + "\n";
  }
  // Reads one more reply of connection n (the second reply Redis writes for one command).
  void extra_reply(std::size_t n) {
    log_ += "[" + std::to_string(n) + "] extra: " + conns_[n]->reply() + "\n";
  }
  const std::string& log() const { return log_; }

 private:
  static std::string tracking_fields(const std::string& r) {
    std::smatch f, d;
    std::regex_search(r, f, std::regex("flags=(\\S*)"));
    std::regex_search(r, d, std::regex("redir=(-?[0-9]+)"));
    return "flags=" + f[1].str() + " redir=" + d[1].str();
  }
  // Client ids as <id N>: anywhere in a reply that shows them (shows_ids), else only in
  // `tracking-redir-broken` pushes.
  std::string normalize(std::string r, bool shows_ids) const {
    for (std::size_t i = 0; i < ids_.size(); ++i) {
      const std::string name = "<id " + std::to_string(i) + ">";
      if (shows_ids) {
        r = std::regex_replace(r, std::regex("(^|:|=)" + ids_[i] + "(\r\n|$)"), "$1" + name + "$2");
      } else {
        r = std::regex_replace(r, std::regex("(tracking-redir-broken\r\n:)" + ids_[i] + "\r\n"),
                               "$1" + name + "\r\n");
      }
    }
    return r;
  }
  std::string port_;
  std::vector<std::unique_ptr<RespClient>> conns_;
  std::vector<std::string> ids_;
  std::string log_;
};

using Scenario = std::function<void(Session&)>;

void compare(const Daemon& apiary, const RedisServer& redis, const Scenario& scenario) {
  Session a(apiary.redis_port());
  Session r(redis.port());
  for (Session* s : {&a, &r}) {
    s->open();
    s->run(0, "FLUSHALL");
  }
  scenario(a);
  scenario(r);
  // The first line where they differ, with what led to it.
  std::size_t at = 0;
  while (at < a.log().size() && at < r.log().size() && a.log()[at] == r.log()[at]) ++at;
  const std::size_t from = a.log().rfind("\n[", at == 0 ? 0 : at - 1);
  const std::size_t start = from == std::string::npos ? 0 : from + 1;
  INFO("apiary from the first difference:\n" << a.log().substr(start, 600));
  INFO("redis from the first difference:\n" << r.log().substr(start, 600));
  const bool same = a.log() == r.log();
  CHECK(same);
}

void subcommands_and_errors(Session& s) {
  for (const char* line : {
           "COMMAND INFO client|tracking client|caching client|getredir client|trackinginfo",
           "COMMAND DOCS client|tracking client|caching client|getredir client|trackinginfo",
           "CLIENT TRACKING",
           "CLIENT CACHING",
           "CLIENT CACHING yes",
           "CLIENT CACHING yes no",
           "CLIENT GETREDIR",
           "CLIENT GETREDIR x",
           "CLIENT TRACKINGINFO",
           "CLIENT TRACKINGINFO x",
           "CLIENT TRACKING maybe",
           "CLIENT TRACKING on foo",
           "CLIENT TRACKING on REDIRECT",
           "CLIENT TRACKING on REDIRECT abc",
           "CLIENT TRACKING on REDIRECT 0",
           "CLIENT TRACKING on REDIRECT -3",
           "CLIENT TRACKING on REDIRECT 99999999",
           "CLIENT TRACKING on PREFIX a",
           "CLIENT TRACKING on BCAST OPTIN",
           "CLIENT TRACKING on BCAST OPTOUT",
           "CLIENT TRACKING on OPTIN OPTOUT",
           "CLIENT TRACKING on BCAST PREFIX ab PREFIX a",
           "CLIENT TRACKINGINFO",
           "CLIENT TRACKING on OPTIN",
           "CLIENT TRACKINGINFO",
           "CLIENT GETREDIR",
           "CLIENT CACHING no",
           "CLIENT CACHING maybe",
           "CLIENT CACHING yes",
           "CLIENT TRACKINGINFO",
           "CLIENT TRACKING on OPTOUT",
           "CLIENT TRACKING on BCAST",
           "CLIENT TRACKING on OPTIN NOLOOP",
           "CLIENT TRACKINGINFO",
           "CLIENT TRACKING off",
           "CLIENT TRACKINGINFO",
           "CLIENT TRACKING off",
           "CLIENT TRACKING on OPTOUT",
           "CLIENT CACHING yes",
           "CLIENT CACHING no",
           "CLIENT TRACKINGINFO",
           "CLIENT TRACKING OFF",
           "CLIENT TRACKING on BCAST PREFIX user: PREFIX obj:",
           "CLIENT TRACKINGINFO",
           "CLIENT TRACKING on",
           "CLIENT TRACKING on BCAST PREFIX us",
           "CLIENT TRACKING on BCAST PREFIX item:",
           "CLIENT TRACKINGINFO",
           "CLIENT LIST ID <id 0>",
           "CLIENT INFO",
           "CLIENT TRACKING off",
           "CLIENT TRACKING on",
           "CLIENT LIST ID <id 0>",
           "CLIENT GETREDIR",
           "RESET",
           "CLIENT TRACKINGINFO",
           "CLIENT INFO",
       }) {
    s.run(0, line);
  }
  // An overlap between given prefixes past the first: Redis answers the error, then +OK.
  s.run(0, "CLIENT TRACKING on BCAST PREFIX a PREFIX b PREFIX bc");
  s.extra_reply(0);
  s.run(0, "CLIENT TRACKINGINFO");
  s.run(0, "CLIENT TRACKING off");
}

void resp3_default_mode(Session& s) {
  s.open();
  s.run(0, "HELLO 3");
  s.run(0, "CLIENT TRACKING on");
  s.run(0, "GET k");
  s.run(0, "MGET a b");
  s.run(0, "HGET h f");
  s.run(1, "SET k 1");
  s.drain(0);
  s.run(1, "SET k 2");  // forgotten until read again
  s.drain(0);
  s.run(1, "MSET a 1 b 2");
  s.drain(0);
  s.run(1, "HSET h f v");
  s.drain(0);
  s.run(0, "GET k");
  s.run(0, "SET k mine");  // its own write: told after its reply
  s.drain(0);
  s.run(0, "STRLEN k");
  s.run(1, "APPEND k x");
  s.drain(0);
  // Keys read inside MULTI ... EXEC are remembered too.
  s.run(0, "MULTI");
  s.run(0, "GET t");
  s.run(0, "EXEC");
  s.run(1, "SET t 1");
  s.drain(0);
  // A script's reads are remembered (Apiary: the keys it declares).
  s.run(0, "EVAL \"return redis.call('get',KEYS[1])\" 1 ek");
  s.run(0, "EVAL_RO \"return redis.call('get',KEYS[1])\" 1 ek2");
  s.run(1, "MSET ek 1 ek2 2");
  s.drain(0);
  s.run(0, "CLIENT TRACKING off");
  s.run(0, "GET z");
  s.run(1, "SET z 1");
  s.drain(0);
}

void resp2_without_redirect(Session& s) {
  s.open();
  s.run(0, "CLIENT TRACKING on");
  s.run(0, "GET k");
  s.run(1, "SET k 1");
  s.drain(0);  // nothing: RESP2 cannot carry pushes
  s.run(0, "CLIENT LIST ID <id 0>");
}

void bcast(Session& s) {
  s.open();
  s.run(0, "HELLO 3");
  s.run(0, "CLIENT TRACKING on BCAST PREFIX user: PREFIX obj:");
  s.run(1, "SET user:1 x");
  s.drain(0);
  s.run(1, "SET other 1");
  s.run(1, "SET obj:2 y");
  s.run(1, "DEL user:1");
  s.drain(0);
  s.run(0, "SET user:9 mine");
  s.drain(0);
  s.run(0, "CLIENT TRACKING off");
  s.run(0, "CLIENT TRACKING on BCAST NOLOOP");
  s.run(0, "SET any 1");
  s.drain(0);
  s.run(1, "SET any 2");
  s.drain(0);
}

void optin_optout(Session& s) {
  s.open();
  s.run(0, "HELLO 3");
  s.run(0, "CLIENT TRACKING on OPTIN");
  s.run(0, "GET a");
  s.run(0, "CLIENT CACHING yes");
  s.run(0, "GET b");
  s.run(0, "CLIENT CACHING yes");
  s.run(0, "PING");
  s.run(0, "GET c");
  s.run(0, "CLIENT CACHING yes");
  s.run(0, "CLIENT GETREDIR");
  s.run(0, "GET d");
  s.run(1, "MSET a 1 b 1 c 1 d 1");
  s.drain(0);
  s.run(0, "CLIENT TRACKING off");
  s.run(0, "CLIENT TRACKING on OPTOUT");
  s.run(0, "GET a");
  s.run(0, "CLIENT CACHING no");
  s.run(0, "GET b");
  s.run(0, "GET c");
  s.run(1, "MSET a 2 b 2 c 2");
  s.drain(0);
}

void noloop(Session& s) {
  s.open();
  s.run(0, "HELLO 3");
  s.run(0, "CLIENT TRACKING on NOLOOP");
  s.run(0, "GET k");
  s.run(0, "SET k 1");
  s.drain(0);
  s.run(1, "SET k 2");  // k was forgotten by the change above, as Redis does
  s.drain(0);
  s.run(0, "GET k");
  s.run(1, "SET k 3");
  s.drain(0);
  s.run(0, "GET k");
  s.run(0, "DEL missing");
  s.run(1, "SET k 4");
  s.drain(0);
}

void redirect_resp2(Session& s) {
  s.open();
  s.open();
  s.run(1, "SUBSCRIBE __redis__:invalidate");
  s.run(0, "CLIENT TRACKING on REDIRECT <id 1>");
  s.run(0, "CLIENT GETREDIR");
  s.run(0, "CLIENT LIST ID <id 0>");
  s.run(0, "CLIENT TRACKINGINFO");
  s.run(0, "GET k");
  s.run(2, "SET k 1");
  s.drain(1);
  s.run(0, "GET k");
  s.run(2, "FLUSHALL");
  s.drain(1);
  s.drain(0);
  s.close(1);
  s.run(0, "GET k");
  s.run(2, "SET k 2");
  s.drain(0);  // RESP2: nothing, but the redirect is now broken
  s.run(0, "CLIENT TRACKINGINFO");
  s.run(0, "CLIENT LIST ID <id 0>");
  s.run(0, "HELLO 3");
  s.run(0, "GET k");
  s.run(2, "SET k 3");
  s.drain(0);
}

void redirect_resp3_target(Session& s) {
  s.open();
  s.open();
  s.run(1, "HELLO 3");
  s.run(0, "CLIENT TRACKING on REDIRECT <id 1>");
  s.run(0, "GET k");
  s.run(2, "SET k 1");
  s.drain(1);
  s.drain(0);
  s.run(0, "CLIENT TRACKING on BCAST REDIRECT <id 1>");
  s.run(0, "CLIENT TRACKING off");
  s.run(0, "CLIENT TRACKING on BCAST REDIRECT <id 1> PREFIX p");
  s.run(2, "SET p1 x");
  s.drain(1);
}

void flush_resp3(Session& s) {
  s.open();
  s.run(0, "HELLO 3");
  s.run(0, "CLIENT TRACKING on");
  s.run(0, "GET k");
  s.run(1, "SET k 1");
  s.drain(0);
  s.run(1, "FLUSHALL");
  s.drain(0);
  s.run(0, "FLUSHDB");
  s.drain(0);
}

}  // namespace

TEST_CASE("tracking: CLIENT TRACKING matches redis-server",
          "[integration][tracking][differential]") {
  RedisServer redis;
  Daemon apiary("trk", {});
  SECTION("subcommands, flags and errors") { compare(apiary, redis, subcommands_and_errors); }
  SECTION("RESP3 invalidations") { compare(apiary, redis, resp3_default_mode); }
  SECTION("RESP2 without REDIRECT") { compare(apiary, redis, resp2_without_redirect); }
  SECTION("BCAST with prefixes") { compare(apiary, redis, bcast); }
  SECTION("OPTIN and OPTOUT with CACHING") { compare(apiary, redis, optin_optout); }
  SECTION("NOLOOP") { compare(apiary, redis, noloop); }
  SECTION("REDIRECT to a RESP2 subscriber, then broken") { compare(apiary, redis, redirect_resp2); }
  SECTION("REDIRECT to a RESP3 client") { compare(apiary, redis, redirect_resp3_target); }
  SECTION("FLUSHALL and FLUSHDB") { compare(apiary, redis, flush_resp3); }
}

TEST_CASE("tracking: INFO reports tracking as redis-server does",
          "[integration][tracking][differential]") {
  RedisServer redis;
  Daemon apiary("trkinfo", {});
  auto fields = [](const std::string& port) {
    RespClient reader(port), bcaster(port), info(port);
    reader.command({"CLIENT", "TRACKING", "on"});
    reader.command({"MGET", "x", "y", "z"});
    bcaster.command({"CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a", "PREFIX", "b"});
    const std::string text = info.command({"INFO", "everything"});
    std::string out;
    for (const char* f : {"tracking_clients", "tracking_total_keys", "tracking_total_items",
                          "tracking_total_prefixes"}) {
      std::smatch m;
      std::regex_search(text, m, std::regex(std::string(f) + ":([0-9]+)"));
      out += std::string(f) + "=" + m[1].str() + " ";
    }
    return out;
  };
  CHECK(fields(apiary.redis_port()) == fields(redis.port()));
}
