// The systemd unit's sandbox lets apiaryd do its work. The test machines' PID 1 is not systemd,
// so the unit (deploy/debian/apiaryd.service) cannot be started here; instead apiaryd runs
// under strace through a start, client commands (strings, a Lua script, CONFIG SET), an AOF
// rewrite, a snapshot, the admin port, a key reload (SIGHUP) and a graceful stop (SIGTERM), and
// every system call it made must be one the unit's SystemCallFilter allows (expanded by
// `systemd-analyze syscall-filter`), every socket family one RestrictAddressFamilies lists, and
// no mapping may be writable and executable at once (MemoryDenyWriteExecute).
// What this cannot see: system calls of paths not exercised here (joins, handoffs and TLS use
// the same kinds of calls as what is run; finding the address to advertise when gossip binds
// 0.0.0.0 opens an AF_NETLINK socket, which the unit allows), and the unit's file system and
// namespace restrictions.
#include <sys/types.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "integration/support/daemon.hpp"

using namespace apiary::test;
namespace fs = std::filesystem;

namespace {

// The system calls of a filter entry: a name, or a @group that systemd-analyze expands (groups
// name other groups).
std::set<std::string> expand(const std::string& entry) {
  if (entry.empty() || entry[0] != '@') return {entry};
  std::set<std::string> out;
  std::istringstream lines(run("systemd-analyze syscall-filter " + entry).second);
  std::string line;
  std::getline(lines, line);  // the group's own name
  while (std::getline(lines, line)) {
    const auto start = line.find_first_not_of(' ');
    if (start == std::string::npos || line[start] == '#') continue;
    for (const auto& call : expand(line.substr(start))) out.insert(call);
  }
  return out;
}

// The values of every `key=` line of the unit, split at spaces.
std::vector<std::string> unit_values(const std::string& unit, const std::string& key) {
  std::vector<std::string> out;
  std::istringstream lines(unit);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(key + "=", 0) != 0) continue;
    std::istringstream words(line.substr(key.size() + 1));
    std::vector<std::string> values;
    for (std::string w; words >> w;) values.push_back(w);
    // "~" before the list makes every entry of the line a denied one.
    if (!values.empty() && values[0][0] == '~') {
      values[0] = values[0].substr(1);
      for (auto& v : values) v = "~" + v;
    }
    out.insert(out.end(), values.begin(), values.end());
  }
  return out;
}

// The pid of `parent`'s first child (strace's tracee), or -1.
pid_t first_child(pid_t parent) {
  std::istringstream children(read_text("/proc/" + std::to_string(parent) + "/task/" +
                                        std::to_string(parent) + "/children"));
  pid_t child = -1;
  children >> child;
  return child;
}

}  // namespace

TEST_CASE("every system call apiaryd makes is allowed by the systemd unit's filter",
          "[integration][package][systemd]") {
  for (const char* tool : {"strace", "systemd-analyze", "redis-cli"}) {
    if (run(std::string("command -v ") + tool).first != 0) {
      WARN("SKIPPED: " << tool << " is not installed (scripts/setup)");
      return;
    }
  }
  const std::string unit = read_text(fs::path(APIARY_SOURCE_DIR) / "deploy/debian/apiaryd.service");
  std::set<std::string> allowed, denied;
  for (const auto& entry : unit_values(unit, "SystemCallFilter")) {
    if (entry[0] == '~') {
      for (const auto& call : expand(entry.substr(1))) denied.insert(call);
    } else {
      for (const auto& call : expand(entry)) allowed.insert(call);
    }
  }
  REQUIRE(allowed.size() > 100);  // @system-service expanded
  REQUIRE(allowed.count("epoll_wait") == 1);
  REQUIRE(denied.count("setuid") == 1);  // ~@privileged expanded
  const auto families_list = unit_values(unit, "RestrictAddressFamilies");
  const std::set<std::string> families(families_list.begin(), families_list.end());
  REQUIRE(families.count("AF_INET") == 1);

  const fs::path dir = scratch_dir() / "systemd-unit";
  fs::create_directories(dir / "data");
  {
    const auto [status, keys] = run(std::string(APIARY_CLI_PATH) + " keygen");
    REQUIRE(status == 0);
    std::ofstream(dir / "cluster.keys") << keys;
    fs::permissions(dir / "cluster.keys", fs::perms::owner_read | fs::perms::owner_write);
  }
  const fs::path trace = dir / "trace";
  const fs::path log = dir / "apiaryd.log";
  pid_t strace = spawn_logged({"/usr/bin/strace",
                               "-f",
                               "-qq",
                               "-o",
                               trace.string(),
                               APIARYD_PATH,
                               "--name",
                               "unit",
                               "--gossip-addr",
                               "127.0.0.1:0",
                               "--data-addr",
                               "127.0.0.1:0",
                               "--http-addr",
                               "127.0.0.1:0",
                               "--bind",
                               "127.0.0.1",
                               "--port",
                               "0",
                               "--dir",
                               (dir / "data").string(),
                               "--appendonly",
                               "yes",
                               "--save",
                               "1 1",
                               "--cluster-key-file",
                               (dir / "cluster.keys").string()},
                              log);
  // strace's tracee is killed by id when the test ends, failed or not (the tracee does not
  // get strace's PR_SET_PDEATHSIG).
  struct Stop {
    pid_t& strace;
    ~Stop() {
      if (strace <= 0) return;
      if (const pid_t node = first_child(strace); node > 0) ::kill(node, SIGKILL);
      ::kill(strace, SIGKILL);
      ::waitpid(strace, nullptr, 0);
    }
  } stop{strace};

  static const std::regex ready(R"(apiaryd ready name=\S+ gossip=\S+ redis=\S+:(\d+) http=(\S+))");
  std::smatch m;
  std::string text;
  REQUIRE(eventually(20s, [&] {
    text = read_text(log);
    return std::regex_search(text, m, ready);
  }));
  const std::string cli = "redis-cli -h 127.0.0.1 -p " + m[1].str() + " ";
  const std::string http = m[2];
  CHECK(run(cli + "SET unit:a 1").second == "OK\n");
  CHECK(run(cli + "GET unit:a").second == "1\n");
  CHECK(run(cli + "EVAL \"return redis.call('INCR', KEYS[1])\" 1 unit:b").second == "1\n");
  CHECK(run(cli + "CONFIG SET appendfsync always").second == "OK\n");
  CHECK(run(cli + "SET unit:c 3").second == "OK\n");
  run(cli + "BGREWRITEAOF");
  run(cli + "BGSAVE");
  CHECK(http_get(http, "/metrics").has_value());
  CHECK(http_get(http, "/readyz").has_value());
  CHECK(eventually(10s, [&] { return fs::exists(dir / "data/dump.apiary"); }));

  const pid_t node = first_child(strace);
  REQUIRE(node > 0);
  ::kill(node, SIGHUP);
  CHECK(eventually(10s, [&] {
    return read_text(log).find("SIGHUP: re-reading the cluster keys") != std::string::npos;
  }));
  ::kill(node, SIGTERM);
  const int status = wait_for_exit(strace, 60s);  // strace exits with the tracee's status
  INFO(read_text(log));
  CHECK(status == 0);

  // "1234 name(args..." and "1234 <... name resumed>...": the calls; socket(AF_...): families.
  static const std::regex call(R"(^\d+\s+(?:<\.\.\. )?([a-z_0-9]+)[( ])");
  static const std::regex socket(R"(socket\((AF_[A-Z0-9]+))");
  std::set<std::string> used, used_families;
  std::istringstream lines(read_text(trace));
  for (std::string line; std::getline(lines, line);) {
    std::smatch c;
    if (std::regex_search(line, c, call)) used.insert(c[1]);
    if (std::regex_search(line, c, socket)) used_families.insert(c[1]);
  }
  REQUIRE(used.size() > 20);
  INFO("system calls apiaryd made: " << used.size());
  for (const auto& name : used) {
    INFO(name);
    CHECK(allowed.count(name) == 1);
    CHECK(denied.count(name) == 0);
  }
  // MemoryDenyWriteExecute=yes: no mapping is ever both writable and executable.
  CHECK(std::regex_search(read_text(trace), std::regex("PROT_EXEC")));  // the libraries' code
  CHECK_FALSE(std::regex_search(read_text(trace),
                                std::regex(R"(PROT_WRITE\|PROT_EXEC|PROT_EXEC\|PROT_WRITE)")));
  for (const auto& family : used_families) {
    INFO(family);
    CHECK(families.count(family) == 1);
  }
}
