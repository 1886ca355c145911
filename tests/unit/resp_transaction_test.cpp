// MULTI, EXEC, DISCARD, WATCH and UNWATCH at the Connection/Server layer on one node (no
// cluster): commands queue with +QUEUED and run together at EXEC, a refused command aborts
// the transaction (unknown, arity, OOM, MISCONF; a refused EXEC answers Redis's
// execCommandAbort), a watched key changed through another connection (or expiring) makes
// EXEC answer a null array, CLIENT LIST shows a transaction in progress, RESET leaves it,
// HELLO inside one switches the protocol, a transaction forwarded to the coordinator leaves
// the shared internal client untouched, and pipelined transactions keep their replies in
// order however the bytes arrive.
#include <catch2/catch.hpp>
#include <string>

#include "apiary/resp/persistence_control.hpp"
#include "resp_test_support.hpp"

using resp_test::cmd;
using resp_test::Harness;

namespace {

constexpr const char* kExecAbort =
    "-EXECABORT Transaction discarded because of previous errors.\r\n";

// The CLIENT LIST line of the client with `id` (CLIENT ID's reply), as connection 1 sees it.
std::string client_line(Harness& h, const std::string& id) {
  const std::string list = h.send({"CLIENT", "LIST"}, 1);
  const auto at = list.find("id=" + id.substr(1, id.size() - 3) + " ");
  if (at == std::string::npos) return {};
  return list.substr(at, list.find('\n', at) - at);
}

// A node whose persistence fails once `refusal` is set: writes get MISCONF.
struct FailingDisk : apiary::resp::PersistenceControl {
  std::string refusal;
  apiary::Status save(const apiary::resp::CommandContext&) override { return {}; }
  apiary::resp::BackgroundReply bgsave(const apiary::resp::CommandContext&, bool) override {
    return apiary::resp::BackgroundReply::started;
  }
  apiary::resp::BackgroundReply bgrewriteaof(const apiary::resp::CommandContext&) override {
    return apiary::resp::BackgroundReply::started;
  }
  std::int64_t lastsave() const override { return 0; }
  const std::string& write_refusal() const override { return refusal; }
};

}  // namespace

TEST_CASE("MULTI queues commands and EXEC runs them in order", "[resp][transaction]") {
  Harness h;
  CHECK(h.send({"MULTI"}) == "+OK\r\n");
  CHECK(h.send({"SET", "k", "1"}) == "+QUEUED\r\n");
  CHECK(h.send({"INCR", "k"}) == "+QUEUED\r\n");
  CHECK(h.send({"RPUSH", "l", "a", "b"}) == "+QUEUED\r\n");
  CHECK(h.send({"GET", "k"}) == "+QUEUED\r\n");
  // Nothing ran yet: another connection does not see the writes.
  h.connect();
  CHECK(h.send({"EXISTS", "k", "l"}, 1) == ":0\r\n");
  CHECK(h.send({"EXEC"}) == "*4\r\n+OK\r\n:2\r\n:2\r\n$1\r\n2\r\n");
  CHECK(h.send({"LRANGE", "l", "0", "-1"}, 1) == "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
  // Out of MULTI again.
  CHECK(h.send({"EXEC"}) == "-ERR EXEC without MULTI\r\n");
  CHECK(h.send({"DISCARD"}) == "-ERR DISCARD without MULTI\r\n");
  CHECK(h.send({"GET", "k"}) == "$1\r\n2\r\n");
  // An empty transaction, and one discarded.
  CHECK(h.send({"MULTI"}) == "+OK\r\n");
  CHECK(h.send({"EXEC"}) == "*0\r\n");
  CHECK(h.send({"MULTI"}) == "+OK\r\n");
  CHECK(h.send({"INCR", "k"}) == "+QUEUED\r\n");
  CHECK(h.send({"DISCARD"}) == "+OK\r\n");
  CHECK(h.send({"GET", "k"}) == "$1\r\n2\r\n");
}

TEST_CASE("a command refused while queuing aborts the transaction", "[resp][transaction]") {
  Harness h;
  SECTION("unknown command") {
    CHECK(h.send({"MULTI"}) == "+OK\r\n");
    CHECK(h.send({"SET", "k", "1"}) == "+QUEUED\r\n");
    CHECK(h.send({"NOSUCH", "x"}) ==
          "-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n");
  }
  SECTION("wrong number of arguments") {
    CHECK(h.send({"MULTI"}) == "+OK\r\n");
    CHECK(h.send({"SET", "k", "1"}) == "+QUEUED\r\n");
    CHECK(h.send({"GET"}) == "-ERR wrong number of arguments for 'get' command\r\n");
  }
  SECTION("unknown subcommand") {
    CHECK(h.send({"MULTI"}) == "+OK\r\n");
    CHECK(h.send({"SET", "k", "1"}) == "+QUEUED\r\n");
    CHECK(h.send({"CLIENT", "NOSUCH"}) == "-ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP.\r\n");
  }
  // Refusals that do not abort: a nested MULTI and WATCH inside MULTI.
  CHECK(h.send({"MULTI"}) == "-ERR MULTI calls can not be nested\r\n");
  CHECK(h.send({"WATCH", "k"}) == "-ERR WATCH inside MULTI is not allowed\r\n");
  CHECK(h.send({"EXEC"}) == kExecAbort);
  CHECK(h.send({"GET", "k"}) == "$-1\r\n");  // nothing ran
  CHECK(h.send({"EXEC"}) == "-ERR EXEC without MULTI\r\n");
}

TEST_CASE("EXEC with arguments discards the transaction, as Redis's execCommandAbort does",
          "[resp][transaction]") {
  Harness h;
  h.connect();
  CHECK(h.send({"SET", "k", "1"}) == "+OK\r\n");
  CHECK(h.send({"WATCH", "k"}) == "+OK\r\n");
  CHECK(h.send({"MULTI"}) == "+OK\r\n");
  CHECK(h.send({"INCR", "k"}) == "+QUEUED\r\n");
  CHECK(h.send({"EXEC", "now"}) ==
        "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' "
        "command\r\n");
  CHECK(h.send({"EXEC"}) == "-ERR EXEC without MULTI\r\n");
  // The watched key is forgotten too: a change no longer fails the next transaction.
  CHECK(h.send({"SET", "k", "5"}, 1) == "+OK\r\n");
  CHECK(h.send({"MULTI"}) == "+OK\r\n");
  CHECK(h.send({"INCR", "k"}) == "+QUEUED\r\n");
  CHECK(h.send({"EXEC"}) == "*1\r\n:6\r\n");
  // Outside MULTI it answers the same.
  CHECK(h.send({"EXEC", "now"}) ==
        "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' "
        "command\r\n");
}

TEST_CASE("HELLO inside a transaction switches the protocol of what follows it",
          "[resp][transaction]") {
  Harness h;
  CHECK(h.send({"MULTI"}) == "+OK\r\n");
  CHECK(h.send({"HGETALL", "nohash"}) == "+QUEUED\r\n");
  CHECK(h.send({"HELLO", "3"}) == "+QUEUED\r\n");
  CHECK(h.send({"HGETALL", "nohash"}) == "+QUEUED\r\n");
  const std::string exec = h.send({"EXEC"});
  CHECK(exec.rfind("*3\r\n*0\r\n%7\r\n", 0) == 0);
  CHECK(exec.substr(exec.size() - 4) == "%0\r\n");
  CHECK(h.send({"HGETALL", "nohash"}) == "%0\r\n");
}

TEST_CASE("over maxmemory nothing queues, and EXEC of a transaction that may grow aborts",
          "[resp][transaction]") {
  constexpr const char* kOom = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";
  Harness h;
  h.connect();
  // What CONFIG SET maxmemory does on a node (the runtime applies it to the store).
  auto limit = [&](std::size_t bytes) {
    h.store.set_memory_policy(bytes, apiary::store::EvictionPolicy::noeviction, 5);
  };
  CHECK(h.send({"SET", "x", "1"}) == "+OK\r\n");
  SECTION("queuing any command is refused (as Redis 7.0: queuing takes memory)") {
    CHECK(h.send({"MULTI"}) == "+OK\r\n");
    limit(1);
    CHECK(h.send({"GET", "x"}) == kOom);
    CHECK(h.send({"DEL", "x"}) == kOom);
    CHECK(h.send({"EXEC"}) == kExecAbort);
    limit(0);
    CHECK(h.send({"GET", "x"}) == "$1\r\n1\r\n");
  }
  SECTION("memory filled after queuing: EXEC of a write aborts, of reads runs") {
    CHECK(h.send({"MULTI"}) == "+OK\r\n");
    CHECK(h.send({"GET", "x"}) == "+QUEUED\r\n");
    CHECK(h.send({"SET", "k", "v"}) == "+QUEUED\r\n");
    limit(1);
    CHECK(h.send({"EXEC"}) ==
          "-EXECABORT Transaction discarded because of: OOM command not allowed when used "
          "memory > 'maxmemory'.\r\n");
    CHECK(h.send({"EXEC"}) == "-ERR EXEC without MULTI\r\n");
    limit(0);
    CHECK(h.send({"EXISTS", "k"}) == ":0\r\n");
    CHECK(h.send({"MULTI"}) == "+OK\r\n");
    CHECK(h.send({"GET", "x"}) == "+QUEUED\r\n");
    CHECK(h.send({"DEL", "x"}) == "+QUEUED\r\n");
    limit(1);
    CHECK(h.send({"EXEC"}) == "*2\r\n$1\r\n1\r\n:1\r\n");
  }
}

TEST_CASE("runtime errors are elements of EXEC's reply and the rest still runs",
          "[resp][transaction]") {
  Harness h;
  CHECK(h.send({"MULTI"}) == "+OK\r\n");
  CHECK(h.send({"SET", "k", "a"}) == "+QUEUED\r\n");
  CHECK(h.send({"LPUSH", "k", "x"}) == "+QUEUED\r\n");
  CHECK(h.send({"INCR", "k"}) == "+QUEUED\r\n");
  CHECK(h.send({"APPEND", "k", "b"}) == "+QUEUED\r\n");
  CHECK(h.send({"EXEC"}) ==
        "*4\r\n+OK\r\n"
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
        "-ERR value is not an integer or out of range\r\n:2\r\n");
  CHECK(h.send({"GET", "k"}) == "$2\r\nab\r\n");
}

TEST_CASE("EXEC answers a null array when a watched key changed", "[resp][transaction]") {
  Harness h;
  h.connect();
  CHECK(h.send({"SET", "k", "1"}) == "+OK\r\n");
  SECTION("changed through another connection") {
    CHECK(h.send({"WATCH", "k"}) == "+OK\r\n");
    CHECK(h.send({"SET", "k", "2"}, 1) == "+OK\r\n");
    CHECK(h.send({"MULTI"}) == "+OK\r\n");
    CHECK(h.send({"INCR", "k"}) == "+QUEUED\r\n");
    CHECK(h.send({"EXEC"}) == "*-1\r\n");
    CHECK(h.send({"GET", "k"}) == "$1\r\n2\r\n");
  }
  SECTION("a watched missing key created through another connection, RESP3") {
    CHECK(h.send({"HELLO", "3"}).rfind("%7\r\n", 0) == 0);
    CHECK(h.send({"WATCH", "other", "k"}) == "+OK\r\n");
    CHECK(h.send({"SET", "other", "x"}, 1) == "+OK\r\n");
    CHECK(h.send({"MULTI"}) == "+OK\r\n");
    CHECK(h.send({"SET", "k", "9"}) == "+QUEUED\r\n");
    CHECK(h.send({"EXEC"}) == "_\r\n");
    CHECK(h.send({"GET", "k"}) == "$1\r\n1\r\n");
  }
  SECTION("expired since WATCH") {
    CHECK(h.send({"PEXPIRE", "k", "100"}) == ":1\r\n");
    CHECK(h.send({"WATCH", "k"}) == "+OK\r\n");
    h.advance(std::chrono::milliseconds(200));
    CHECK(h.send({"MULTI"}) == "+OK\r\n");
    CHECK(h.send({"SET", "k", "2"}) == "+QUEUED\r\n");
    CHECK(h.send({"EXEC"}) == "*-1\r\n");
    CHECK(h.send({"EXISTS", "k"}) == ":0\r\n");
  }
  SECTION("unchanged, or only read: EXEC runs; and the watches end with it") {
    CHECK(h.send({"WATCH", "k"}) == "+OK\r\n");
    CHECK(h.send({"GET", "k"}, 1) == "$1\r\n1\r\n");
    CHECK(h.send({"SET", "unrelated", "1"}, 1) == "+OK\r\n");
    CHECK(h.send({"MULTI"}) == "+OK\r\n");
    CHECK(h.send({"INCR", "k"}) == "+QUEUED\r\n");
    CHECK(h.send({"EXEC"}) == "*1\r\n:2\r\n");
    CHECK(h.send({"SET", "k", "7"}, 1) == "+OK\r\n");
    CHECK(h.send({"MULTI"}) == "+OK\r\n");
    CHECK(h.send({"INCR", "k"}) == "+QUEUED\r\n");
    CHECK(h.send({"EXEC"}) == "*1\r\n:8\r\n");
  }
  SECTION("UNWATCH and DISCARD forget the watched keys") {
    CHECK(h.send({"WATCH", "k"}) == "+OK\r\n");
    CHECK(h.send({"UNWATCH"}) == "+OK\r\n");
    CHECK(h.send({"SET", "k", "2"}, 1) == "+OK\r\n");
    CHECK(h.send({"MULTI"}) == "+OK\r\n");
    CHECK(h.send({"EXEC"}) == "*0\r\n");
    CHECK(h.send({"WATCH", "k"}) == "+OK\r\n");
    CHECK(h.send({"MULTI"}) == "+OK\r\n");
    CHECK(h.send({"DISCARD"}) == "+OK\r\n");
    CHECK(h.send({"SET", "k", "3"}, 1) == "+OK\r\n");
    CHECK(h.send({"MULTI"}) == "+OK\r\n");
    CHECK(h.send({"GET", "k"}) == "+QUEUED\r\n");
    CHECK(h.send({"EXEC"}) == "*1\r\n$1\r\n3\r\n");
  }
}

TEST_CASE("CLIENT LIST shows a transaction being queued, and RESET ends it",
          "[resp][transaction]") {
  Harness h;
  h.connect();
  const std::string id = h.send({"CLIENT", "ID"});
  const std::string idle = client_line(h, id);
  INFO(idle);
  CHECK(idle.find(" flags=N ") != std::string::npos);
  CHECK(idle.find(" multi=-1 ") != std::string::npos);
  CHECK(h.send({"MULTI"}) == "+OK\r\n");
  CHECK(h.send({"SET", "k", "1"}) == "+QUEUED\r\n");
  CHECK(h.send({"GET", "k"}) == "+QUEUED\r\n");
  const std::string queuing = client_line(h, id);
  INFO(queuing);
  CHECK(queuing.find(" flags=x ") != std::string::npos);
  CHECK(queuing.find(" multi=2 ") != std::string::npos);
  CHECK(queuing.find(" multi-mem=0 ") == std::string::npos);
  CHECK(h.send({"RESET"}) == "+RESET\r\n");
  const std::string after = client_line(h, id);
  INFO(after);
  CHECK(after.find(" flags=N ") != std::string::npos);
  CHECK(after.find(" multi=-1 ") != std::string::npos);
  CHECK(h.send({"EXEC"}) == "-ERR EXEC without MULTI\r\n");
  CHECK(h.send({"EXISTS", "k"}) == ":0\r\n");
  // RESET forgets the watched keys too.
  CHECK(h.send({"WATCH", "k"}) == "+OK\r\n");
  CHECK(h.send({"RESET"}) == "+RESET\r\n");
  CHECK(h.send({"SET", "k", "2"}, 1) == "+OK\r\n");
  CHECK(h.send({"MULTI"}) == "+OK\r\n");
  CHECK(h.send({"GET", "k"}) == "+QUEUED\r\n");
  CHECK(h.send({"EXEC"}) == "*1\r\n$1\r\n2\r\n");
}

TEST_CASE("pipelined transactions keep their replies in order at every split",
          "[resp][transaction]") {
  const std::string input = cmd({"SET", "k", "1"}) + cmd({"MULTI"}) + cmd({"INCR", "k"}) +
                            "GET k\r\n" + cmd({"BLPOP", "nolist", "0"}) + cmd({"EXEC"}) +
                            cmd({"GET", "k"}) + cmd({"MULTI"}) + cmd({"NOSUCH"}) + cmd({"EXEC"}) +
                            "PING\r\n";
  const std::string want =
      "+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n:2\r\n$1\r\n2\r\n*-1\r\n"
      "$1\r\n2\r\n+OK\r\n-ERR unknown command 'NOSUCH', with args beginning with: \r\n" +
      std::string(kExecAbort) + "+PONG\r\n";
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    Harness h;
    std::string got = h.raw(input.substr(0, cut));
    got += h.raw(input.substr(cut));
    INFO("cut at " << cut);
    REQUIRE(got == want);
  }
}

TEST_CASE("a transaction forwarded to the coordinator leaves its internal client as it was",
          "[resp][transaction]") {
  Harness h;
  // The node's shared internal client, through which other nodes' commands run here.
  apiary::resp::Connection internal(h.server, apiary::resp::kInternalClient, {}, h.now);
  auto run = [&](const std::string& request) {
    internal.feed(h.now, h.wall, request);
    std::string out(internal.output());
    internal.consume_output(out.size());
    return out;
  };
  CHECK(run(cmd({"APIARY.EXEC", "0", "3", "3", "SET", "k", "1", "3", "CLIENT", "SETNAME", "x", "2",
                 "CLIENT", "GETNAME"})) == "*3\r\n+OK\r\n+OK\r\n$1\r\nx\r\n");
  CHECK(run(cmd({"APIARY.EXEC", "0", "1", "2", "CLIENT", "GETNAME"})) == "*1\r\n$-1\r\n");
  CHECK(
      run(cmd({"APIARY.EXEC", "0", "2", "2", "HELLO", "3", "2", "HGETALL", "k2"})).find("%0\r\n") !=
      std::string::npos);
  CHECK(run(cmd({"APIARY.EXEC", "0", "1", "2", "HGETALL", "k2"})) == "*1\r\n*0\r\n");
  CHECK(internal.name().empty());
  CHECK(internal.protocol() == 2);
}

TEST_CASE("a node that cannot persist refuses queued writes and EXEC of a transaction with one",
          "[resp][transaction]") {
  Harness h;
  FailingDisk disk;
  h.server.set_persistence(&disk);
  const std::string misconf = "MISCONF Errors writing to the AOF file: No space left on device";
  CHECK(h.send({"SET", "k", "1"}) == "+OK\r\n");
  // Failing after the write was queued: EXEC is refused whole.
  CHECK(h.send({"MULTI"}) == "+OK\r\n");
  CHECK(h.send({"GET", "k"}) == "+QUEUED\r\n");
  CHECK(h.send({"INCR", "k"}) == "+QUEUED\r\n");
  disk.refusal = "-" + misconf;
  CHECK(h.send({"EXEC"}) == "-EXECABORT Transaction discarded because of: " + misconf + "\r\n");
  CHECK(h.send({"EXEC"}) == "-ERR EXEC without MULTI\r\n");
  // Reads still run; a write queued now is refused and aborts the transaction.
  CHECK(h.send({"MULTI"}) == "+OK\r\n");
  CHECK(h.send({"GET", "k"}) == "+QUEUED\r\n");
  CHECK(h.send({"EXEC"}) == "*1\r\n$1\r\n1\r\n");
  CHECK(h.send({"MULTI"}) == "+OK\r\n");
  CHECK(h.send({"SET", "k", "2"}) == "-" + misconf + "\r\n");
  CHECK(h.send({"EXEC"}) == kExecAbort);
  disk.refusal.clear();
  CHECK(h.send({"GET", "k"}) == "$1\r\n1\r\n");
  h.server.set_persistence(nullptr);
}
