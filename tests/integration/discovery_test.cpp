// Discovery: nodes that know only a DNS name (A records through a hosts file, SRV records
// through dnsmasq) form one cluster when started at the same instant; two clusters that
// formed apart merge, with every key of both, when joined by hand (`apiary meet`) or when
// the name of one starts listing a member of the other.
//
// The DNS tests run their nodes inside a network namespace of their own (127.0.0.0/8 is on
// its `lo`), where `ip netns exec` puts /etc/netns/<ns>/hosts and resolv.conf over /etc's.
// This test process enters the namespace too (setns, this thread only) to ask the nodes'
// admin ports.
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "integration/support/cluster.hpp"
#include "integration/support/daemon.hpp"
#include "integration/support/redis_server.hpp"

using namespace apiary::test;
using namespace std::chrono_literals;

namespace {

std::string ip_tool() {
  auto [rc, out] = run("command -v ip");
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return rc == 0 ? out : std::string();
}

bool netns_available() { return !ip_tool().empty() && run("ip netns list").first == 0; }

// A network namespace with `lo` up and its own /etc/netns/<name>/ (hosts, resolv.conf);
// both removed when the object goes, whatever happened.
struct Netns {
  std::string name;
  std::filesystem::path etc;
  explicit Netns(const std::string& tag)
      : name("apiary-" + tag + "-" + std::to_string(::getpid())), etc("/etc/netns/" + name) {
    run("ip netns del " + name);
    REQUIRE(run("ip netns add " + name).first == 0);
    REQUIRE(run("ip -n " + name + " link set lo up").first == 0);
    std::filesystem::create_directories(etc);
  }
  ~Netns() {
    run("ip netns del " + name);
    std::error_code ignored;
    std::filesystem::remove_all(etc, ignored);
  }
  // Rewritten in place: the processes see the file through a bind mount of this inode.
  void write(const std::string& file, const std::string& text) const {
    std::ofstream out(etc / file, std::ios::trunc);
    out << text;
  }
};

// This thread inside `ns` for the object's life (HTTP and Redis clients of the test).
struct InNetns {
  int original = -1;
  explicit InNetns(const Netns& ns) {
    original = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    const int fd = ::open(("/var/run/netns/" + ns.name).c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(::setns(fd, CLONE_NEWNET) == 0);
    ::close(fd);
  }
  ~InNetns() {
    ::setns(original, CLONE_NEWNET);
    ::close(original);
  }
};

// apiaryd inside a namespace, started by `ip netns exec` (which execs it: same pid, and it
// dies with the test process); killed with SIGKILL when the object goes.
class NsNode {
 public:
  NsNode(const Netns& ns, const std::string& name, const std::vector<std::string>& flags)
      : name_(name) {
    log_ = scratch_dir() / (ns.name + "-" + name + "-" + std::to_string(counter()++) + ".log");
    std::vector<std::string> args = {ip_tool(),    "netns",  "exec", ns.name,
                                     APIARYD_PATH, "--name", name};
    args.insert(args.end(), flags.begin(), flags.end());
    pid_ = spawn_logged(args, log_);
  }
  ~NsNode() { kill_and_reap(pid_); }
  NsNode(const NsNode&) = delete;
  NsNode& operator=(const NsNode&) = delete;

  // Waits for the ready line; returns false (with the log in `why`) if it does not come.
  bool ready(std::string& why) {
    static const std::regex line(R"(apiaryd ready name=\S+ gossip=\S+ redis=(\S+) http=(\S+))");
    const bool ok = eventually(15s, [&] {
      std::smatch m;
      const std::string text = log();
      if (!std::regex_search(text, m, line)) return false;
      redis_ = m[1];
      http_ = m[2];
      return true;
    });
    if (!ok) why = name_ + " did not start:\n" + log();
    return ok;
  }
  const std::string& http() const { return http_; }
  const std::string& name() const { return name_; }
  std::string log() const { return read_text(log_); }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::string name_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
  std::string redis_;
  std::string http_;
};

// How many members `http` lists as alive.
std::size_t alive_seen(const std::string& http) {
  std::size_t n = 0;
  for (const auto& [name, state] : member_states(http)) n += state == "alive" ? 1 : 0;
  return n;
}

bool all_see_alive(const std::vector<std::unique_ptr<NsNode>>& nodes, std::size_t count) {
  for (const auto& n : nodes) {
    if (alive_seen(n->http()) != count) return false;
  }
  return true;
}

std::string logs_of(const std::vector<std::unique_ptr<NsNode>>& nodes) {
  std::string out;
  for (const auto& n : nodes) out += "---- " + n->name() + "\n" + n->log();
  return out;
}

// Node i of a namespace test: gossip, Redis and admin ports on 127.0.0.(first + i).
std::vector<std::string> ns_flags(int host, int gossip_port, const std::string& seeds) {
  const std::string ip = "127.0.0." + std::to_string(host);
  return {"--gossip-addr", ip + ":" + std::to_string(gossip_port),
          "--bind",        ip,
          "--port",        "0",
          "--http-addr",   ip + ":0",
          "--seeds",       seeds};
}

// A port for the gossip sockets (the same on every address of a namespace): outside the
// ephemeral range, varied by `seed` so that tests running at the same time differ.
int fixed_port(int seed) { return 10000 + seed % 20000; }

std::string hosts_file(const std::map<std::string, std::vector<int>>& names) {
  std::string out = "127.0.0.1 localhost\n";
  for (const auto& [name, hosts] : names) {
    for (int h : hosts) out += "127.0.0." + std::to_string(h) + " " + name + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("five nodes started at once with --seeds dns:NAME:PORT form one cluster, 20 times",
          "[discovery][dns]") {
  if (!netns_available()) {
    WARN("SKIPPED: ip netns is not available");
    return;
  }
  Netns ns("dns");
  ns.write("hosts", hosts_file({{"apiary.test", {2, 3, 4, 5, 6}}}));
  InNetns inside(ns);
  const int base_port = free_loopback_port();
  for (int round = 0; round < 20; ++round) {
    INFO("round " << round);
    // The same port on every address, as a StatefulSet's pods have; a new one each round so
    // that nothing of the previous round's sockets is in the way. Below the ephemeral range
    // (32768-60999): the nodes' other ports are picked from it (port 0), and a connection's
    // source port from there can be the very port a node is about to bind.
    const int port = fixed_port(base_port + round);
    std::vector<std::unique_ptr<NsNode>> nodes;
    for (int i = 0; i < 5; ++i) {
      nodes.push_back(std::make_unique<NsNode>(
          ns, "d" + std::to_string(i),
          ns_flags(2 + i, port, "dns:apiary.test:" + std::to_string(port))));
    }
    for (auto& n : nodes) {
      std::string why;
      if (!n->ready(why)) FAIL(why + logs_of(nodes));
    }
    const bool one_cluster = eventually(20s, [&] { return all_see_alive(nodes, 5); });
    if (!one_cluster) FAIL_CHECK(logs_of(nodes));
    REQUIRE(one_cluster);
  }
}

TEST_CASE("nodes that know only a dns+srv: name form one cluster", "[discovery][dns]") {
  if (!netns_available() || run("command -v dnsmasq").first != 0) {
    WARN("SKIPPED: ip netns or dnsmasq (scripts/setup installs dnsmasq-base) is not available");
    return;
  }
  Netns ns("srv");
  ns.write("resolv.conf", "nameserver 127.0.0.1\n");
  InNetns inside(ns);
  const int port = fixed_port(free_loopback_port());
  // Each node on a port of its own: the port comes from the SRV record, not from the spec.
  std::vector<std::string> dns = {ip_tool(),
                                  "netns",
                                  "exec",
                                  ns.name,
                                  "dnsmasq",
                                  "--no-daemon",
                                  "--conf-file=/dev/null",
                                  "--no-resolv",
                                  "--no-hosts",
                                  "--user=root",
                                  "--listen-address=127.0.0.1",
                                  "--bind-interfaces",
                                  "--pid-file="};
  for (int i = 0; i < 3; ++i) {
    const std::string host = "n" + std::to_string(i) + ".apiary.test";
    dns.push_back("--host-record=" + host + ",127.0.0." + std::to_string(2 + i));
    dns.push_back("--srv-host=_apiary._tcp.apiary.test," + host + "," + std::to_string(port + i));
  }
  struct Process {
    pid_t pid;
    ~Process() { kill_and_reap(pid); }
  } dnsmasq{spawn_logged(dns, scratch_dir() / (ns.name + "-dnsmasq.log"))};
  REQUIRE(eventually(10s, [&] {
    return run(ip_tool() + " netns exec " + ns.name + " getent hosts n2.apiary.test").first == 0;
  }));

  std::vector<std::unique_ptr<NsNode>> nodes;
  for (int i = 0; i < 3; ++i) {
    nodes.push_back(
        std::make_unique<NsNode>(ns, "s" + std::to_string(i),
                                 ns_flags(2 + i, port + i, "dns+srv:_apiary._tcp.apiary.test")));
  }
  for (auto& n : nodes) {
    std::string why;
    REQUIRE(n->ready(why));
  }
  const bool one_cluster = eventually(20s, [&] { return all_see_alive(nodes, 3); });
  if (!one_cluster) FAIL_CHECK(logs_of(nodes));
  REQUIRE(one_cluster);
}

TEST_CASE("two clusters merge when one's DNS name starts listing a member of the other",
          "[discovery][dns][merge]") {
  if (!netns_available()) {
    WARN("SKIPPED: ip netns is not available");
    return;
  }
  Netns ns("dnsmerge");
  const std::map<std::string, std::vector<int>> apart = {{"a.test", {2, 3, 4}},
                                                         {"b.test", {5, 6, 7}}};
  ns.write("hosts", hosts_file(apart));
  InNetns inside(ns);
  const int port = fixed_port(free_loopback_port());
  std::vector<std::unique_ptr<NsNode>> a, b, all;
  for (int i = 0; i < 3; ++i) {
    auto flags = ns_flags(2 + i, port, "dns:a.test:" + std::to_string(port));
    flags.insert(flags.end(), {"--seed-refresh-interval-ms", "1000"});
    a.push_back(std::make_unique<NsNode>(ns, "a" + std::to_string(i), flags));
    flags = ns_flags(5 + i, port, "dns:b.test:" + std::to_string(port));
    flags.insert(flags.end(), {"--seed-refresh-interval-ms", "1000"});
    b.push_back(std::make_unique<NsNode>(ns, "b" + std::to_string(i), flags));
  }
  for (auto* group : {&a, &b}) {
    for (auto& n : *group) {
      std::string why;
      if (!n->ready(why)) FAIL(why);
    }
  }
  REQUIRE(eventually(20s, [&] { return all_see_alive(a, 3) && all_see_alive(b, 3); }));
  std::this_thread::sleep_for(3s);  // several refreshes: the clusters stay apart
  REQUIRE(all_see_alive(a, 3));
  REQUIRE(all_see_alive(b, 3));

  auto joined = apart;
  joined["b.test"].push_back(2);  // b.test now lists a0 too
  ns.write("hosts", hosts_file(joined));
  for (auto* group : {&a, &b}) {
    for (auto& n : *group) all.push_back(std::move(n));
  }
  // Within a refresh interval or two (1 s, +-25%) and a gossip round.
  const bool merged = eventually(15s, [&] { return all_see_alive(all, 6); });
  if (!merged) FAIL_CHECK(logs_of(all));
  REQUIRE(merged);
}

namespace {

// Sends every command on one connection and checks each reply starts as expected.
void write_all(const Daemon& node, const std::vector<std::vector<std::string>>& commands) {
  RespClient c(node.redis_port());
  for (const auto& cmd : commands) {
    const std::string reply = c.command(cmd);
    INFO(cmd[0] << " " << cmd[1] << " -> " << reply);
    REQUIRE((reply.rfind("+OK", 0) == 0 || reply.rfind(":", 0) == 0));
  }
}

std::string bulk(const std::string& value) {
  return "$" + std::to_string(value.size()) + "\r\n" + value + "\r\n";
}

}  // namespace

TEST_CASE("apiary meet joins two 3-node clusters into six members with every key of both",
          "[discovery][merge][meet]") {
  auto a = start_cluster("ma", 3, {});
  auto b = start_cluster("mb", 3, {});
  // Each cluster's own keys, acknowledged by its write quorum; counters and registers that
  // both wrote, each side its own value.
  std::vector<std::vector<std::string>> to_a, to_b;
  std::map<std::string, std::vector<std::string>> expected;  // key -> acceptable GET replies
  for (int i = 0; i < 300; ++i) {
    const std::string n = std::to_string(i);
    to_a.push_back({"SET", "a:" + n, "va" + n});
    to_b.push_back({"SET", "b:" + n, "vb" + n});
    expected["a:" + n] = {bulk("va" + n)};
    expected["b:" + n] = {bulk("vb" + n)};
  }
  for (int i = 0; i < 100; ++i) {
    const std::string n = std::to_string(i);
    for (int k = 0; k < 2; ++k) {
      to_a.push_back({"INCR", "ia:" + n});
      to_b.push_back({"INCR", "ib:" + n});
    }
    expected["ia:" + n] = {bulk("2")};
    expected["ib:" + n] = {bulk("2")};
  }
  for (int i = 0; i < 50; ++i) {
    const std::string n = std::to_string(i);
    to_a.push_back({"INCRBY", "c:" + n, std::to_string(i + 1)});
    to_b.push_back({"INCRBY", "c:" + n, "1000"});
    expected["c:" + n] = {bulk(std::to_string(i + 1 + 1000))};  // per-actor counters add up
  }
  for (int i = 0; i < 20; ++i) {
    const std::string n = std::to_string(i);
    to_a.push_back({"SET", "r:" + n, "from-a" + n});
    to_b.push_back({"SET", "r:" + n, "from-b" + n});
    expected["r:" + n] = {bulk("from-a" + n), bulk("from-b" + n)};  // one of the two
  }
  write_all(*a[0], to_a);
  write_all(*b[1], to_b);
  REQUIRE(cli(*a[1], "DBSIZE") == std::to_string(300 + 100 + 50 + 20) + "\n");
  REQUIRE(cli(*b[2], "DBSIZE") == std::to_string(300 + 100 + 50 + 20) + "\n");

  REQUIRE(cli(*a[0], "EXISTS b:1") == "0\n");  // apart until now
  // One new seed: b's third node meets a's second.
  auto [rc, out] =
      run(std::string(APIARY_CLI_PATH) + " meet --node " + b[2]->http() + " " + a[1]->gossip());
  INFO(out);
  REQUIRE(rc == 0);

  std::vector<std::unique_ptr<Daemon>> all;
  for (auto* group : {&a, &b}) {
    for (auto& n : *group) all.push_back(std::move(n));
  }
  std::string views;  // what each node sees, for the failure message
  const bool six = eventually(30s, [&] {
    views.clear();
    bool all_six = true;
    for (const auto& n : all) {
      std::size_t alive = 0;
      views += n->name() + ":";
      for (const auto& [name, state] : member_states(n->http())) {
        alive += state == "alive";
        views += " " + name + "=" + state;
      }
      views += "\n";
      all_six = all_six && alive == 6;
    }
    return all_six;
  });
  if (!six)
    FAIL(views + "---- " + all[1]->name() + "\n" + all[1]->log() + "---- " + all[5]->name() + "\n" +
         all[5]->log());
  // The partitions move to their new owners (handoffs); then every key reads back, the same,
  // through every node.
  std::string missing;
  const bool complete = eventually(60s, [&] {
    if (!settled(all)) return false;
    missing.clear();
    for (const auto& n : all) {
      RespClient c(n->redis_port());
      for (const auto& [key, accepted] : expected) {
        const std::string got = c.command({"GET", key});
        if (std::find(accepted.begin(), accepted.end(), got) == accepted.end()) {
          missing += n->name() + " " + key + " -> " + got + "\n";
        }
      }
    }
    return missing.empty();
  });
  INFO(missing.substr(0, 2000));
  CHECK(complete);
  for (const auto& n : all) CHECK(cli(*n, "DBSIZE") == std::to_string(expected.size()) + "\n");
}

TEST_CASE("a seed that is none of the three forms stops apiaryd at start with exit code 2",
          "[discovery]") {
  for (const std::string bad : {"dns:apiary.test", "dns+srv:", "10.0.0.1"}) {
    auto [rc, out] = run(std::string(APIARYD_PATH) +
                         " --gossip-addr 127.0.0.1:0 --port 0 --seeds 10.0.0.2:7946," + bad);
    INFO(out);
    CHECK(rc == 2);
    CHECK(out.find("--seeds: seed '" + bad + "'") != std::string::npos);
    CHECK(out.find("dns:NAME:PORT") != std::string::npos);
  }
}
