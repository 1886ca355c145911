// Contention through several nodes at once, as a user of one Redis server would check it:
// concurrent INCRs add up exactly and hand out distinct values, SET NX has exactly one
// winner, a node killed during an INCR storm loses no acknowledged increment, and a pipeline
// through a node that does not coordinate its keys answers as redis-server does. Real
// apiaryd processes on loopback; the clients are tests/integration/clients/
// consistency_client.py (raw RESP over sockets, standard library only).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <memory>
#include <regex>
#include <sstream>

#include "integration/support/cluster.hpp"

using namespace apiary::test;

namespace {

const std::string kClient =
    "/usr/bin/python3 " APIARY_SOURCE_DIR "/tests/integration/clients/consistency_client.py ";

// A GET reply as redis-cli prints it, as a number; -1 when it is not one (missing key, error,
// unreachable node).
long long get_number(const Daemon& d, const std::string& key) {
  const std::string out = cli(d, "GET " + key);
  static const std::regex number(R"(^-?[0-9]+\n$)");
  return std::regex_match(out, number) ? std::stoll(out) : -1;
}

// A redis-server listening only on a Unix socket (no TCP port to pick), killed on scope exit.
class RedisServer {
 public:
  explicit RedisServer(const std::string& name)
      : socket_((scratch_dir() / (name + ".sock")).string()) {
    pid_ = spawn_logged({"/usr/bin/redis-server", "--port", "0", "--unixsocket", socket_,
                         "--save", "", "--appendonly", "no"},
                        scratch_dir() / (name + ".log"));
  }
  ~RedisServer() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;
  const std::string& socket() const { return socket_; }
  bool ready() const { return run("redis-cli -s " + socket_ + " PING").second == "PONG\n"; }

 private:
  std::string socket_;
  pid_t pid_ = -1;
};

}  // namespace

TEST_CASE("concurrent INCRs through three nodes add up exactly", "[integration][consistency]") {
  auto nodes = start_cluster("ci", 3, {});
  // Three clients, one per node, each pipelining 2,000 INCR ctr, all at the same time.
  auto [status, out] = run(kClient + "incr " + redis_ports(nodes) + " ctr 2000");
  INFO(out);
  CHECK(status == 0);
  CHECK(json_field(out, "replies") == 6000);
  CHECK(json_field(out, "non_integer") == 0);
  // As on one server, every INCR of the counter hands out a value no other INCR got.
  CHECK(json_field(out, "duplicates") == 0);
  CHECK(json_field(out, "max") == 6000);
  for (const auto& n : nodes) {
    INFO("node " << n->name());
    eventually(10s, [&] { return get_number(*n, "ctr") == 6000; });
    CHECK(get_number(*n, "ctr") == 6000);
  }
}

TEST_CASE("SET NX has exactly one winner per key", "[integration][consistency]") {
  auto nodes = start_cluster("cn", 3, {});
  // Three clients, one per node, each pipelining SET lock:i <its id> NX for 200 keys, all at
  // the same time; then every key is read back through every node.
  auto [status, out] = run(kClient + "setnx " + redis_ports(nodes) + " lock 200");
  INFO(out);
  CHECK(status == 0);
  CHECK(json_field(out, "keys") == 200);
  CHECK(json_field(out, "no_winner") == 0);
  CHECK(json_field(out, "several_winners") == 0);
  CHECK(json_field(out, "other_replies") == 0);
  CHECK(json_field(out, "wrong_reads") == 0);  // a value no client won with
  CHECK(json_field(out, "unsettled") == 0);    // not the winner's value within 10 s
}

TEST_CASE("a node killed during an INCR storm loses no acknowledged increment",
          "[integration][consistency]") {
  auto nodes = start_cluster("cs", 3, {"--dead-grace-ms", "2000"});
  const std::string key = "storm:ctr";
  // Kill the node that coordinates the counter (the hard case: its successor takes over the
  // increments). The coordinator runs a write of the key itself; the others forward it.
  // INCRBY 0 is such a write, and starts the counter at 0.
  int coordinator = -1;
  for (int i = 0; i < 3; ++i) {
    const long long before = info_field(*nodes[i], "cluster_commands_forwarded");
    REQUIRE(cli(*nodes[i], "INCRBY " + key + " 0") == "0\n");
    if (info_field(*nodes[i], "cluster_commands_forwarded") == before) coordinator = i;
  }
  REQUIRE(coordinator >= 0);
  std::vector<int> survivors;
  for (int i = 0; i < 3; ++i) {
    if (i != coordinator) survivors.push_back(i);
  }

  const auto dir = scratch_dir() / "storm";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string command =
      kClient + "storm " + redis_ports(nodes) + " " + key + " " + dir.string() + " 16";
  auto storm = std::async(std::launch::async, [command] { return run(command); });
  TouchOnExit stop{dir / "stop"};
  REQUIRE(eventually(10s, [&] { return std::filesystem::exists(dir / "started"); }));
  std::this_thread::sleep_for(1s);
  nodes[coordinator]->kill_now();
  const auto killed_at = std::chrono::steady_clock::now();
  // The survivors' clients keep going while the dead node is detected (their INCRs of the
  // counter fail meanwhile: ambiguous), and past --dead-grace-ms, when the ring drops it.
  for (int s : survivors) {
    CHECK(eventually(15s, [&] { return info_field(*nodes[s], "cluster_alive_members") == 2; }));
  }
  const auto detected_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - killed_at)
                               .count();
  std::this_thread::sleep_for(3s);
  std::ofstream{dir / "stop"};
  const auto [status, out] = storm.get();
  INFO(out);
  CHECK(status == 0);

  // Wait until both survivors answer the same value for a second.
  long long last = -2;
  int stable = 0;
  const bool agreed = eventually(20s, [&] {
    const long long a = get_number(*nodes[survivors[0]], key);
    const long long b = get_number(*nodes[survivors[1]], key);
    stable = (a == b && a == last && a >= 0) ? stable + 1 : 0;
    last = a == b ? a : -2;
    return stable >= 10;
  });
  const long long final_value = get_number(*nodes[survivors[0]], key);
  const long long acked = json_field(out, "acked");
  const long long ambiguous = json_field(out, "ambiguous");
  const long long max_reply = json_field(out, "max_reply");
  std::ostringstream line;
  line << "INCR storm: killed " << nodes[coordinator]->name() << " (coordinator of " << key
       << "); acknowledged " << acked << ", ambiguous " << ambiguous << ", sent "
       << json_field(out, "sent") << ", largest reply " << max_reply << ", final " << final_value
       << " through " << nodes[survivors[0]]->name() << ", "
       << get_number(*nodes[survivors[1]], key) << " through " << nodes[survivors[1]]->name()
       << (agreed ? "" : " (survivors did not agree)") << "; both survivors saw it dead after "
       << detected_ms << " ms";
  std::cout << line.str() << std::endl;
  INFO(line.str());
  REQUIRE(agreed);
  CHECK(acked > 0);
  CHECK(acked <= final_value);
  CHECK(final_value <= acked + ambiguous);
}

// The writes of a client run in its order on each key's coordinator, forwarded or not: their
// replies are redis-server's even when pipelined, and so are the reads of a client that waits
// for each reply.
TEST_CASE("INCR through a non-coordinator still answers in order", "[integration][consistency]") {
  RedisServer oracle("oracle-w");
  auto nodes = start_cluster("co", 3, {});
  REQUIRE(eventually(10s, [&] { return oracle.ready(); }));
  // 2,000 mixed commands on 8 keys through one node, which coordinates only some of them
  // (it forwards the writes of the others).
  const Daemon& node = *nodes[1];
  const long long forwarded_before = info_field(node, "cluster_commands_forwarded");
  {
    auto [status, out] = run(kClient + "oracle " + node.redis_port() + " " + oracle.socket() +
                             " seq 2000 sequential");
    INFO(out);
    CHECK(status == 0);
    CHECK(json_field(out, "commands") == 2000);
    CHECK(json_field(out, "mismatches") == 0);
  }
  {
    // Pipelined, the replies of the writes (every command but GET and EXISTS) are redis-server's.
    auto [status, out] = run(kClient + "oracle " + node.redis_port() + " " + oracle.socket() +
                             " pipe 2000 pipelined");
    INFO(out);
    CHECK(json_field(out, "commands") == 2000);
    CHECK(json_field(out, "write_mismatches") == 0);
  }
  CHECK(info_field(node, "cluster_commands_forwarded") > forwarded_before);
}

// A read pipelined behind a write of the same key must see it, as on one Redis server: the
// pipeline keeps running keyed commands behind a pending one, so a read the local copy would
// answer (R=1) follows the client's own in-flight write of its key to the coordinator instead
// (routing/router.cpp, InFlightWrite).
TEST_CASE("reads pipelined behind a forwarded write see it", "[integration][consistency]") {
  RedisServer oracle("oracle-r");
  auto nodes = start_cluster("cr", 3, {});
  REQUIRE(eventually(10s, [&] { return oracle.ready(); }));
  REQUIRE(eventually(20s, [&] { return settled(nodes); }));
  const Daemon& node = *nodes[1];
  auto [status, out] = run(kClient + "oracle " + node.redis_port() + " " + oracle.socket() +
                           " pipe 2000 pipelined");
  INFO(out);
  CHECK(status == 0);
  CHECK(json_field(out, "commands") == 2000);
  CHECK(json_field(out, "mismatches") == 0);
}
