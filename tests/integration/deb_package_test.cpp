// The Debian package as an operator meets it: cpack builds apiary_<v>_<arch>.deb from this
// build, `apt-get install ./apiary_*.deb` installs it with its dependencies already on the
// machine, the files land where docs/operations.md says, the systemd unit passes
// `systemd-analyze verify` (the service is not started through systemctl: PID 1 is not
// systemd in a container), and /usr/bin/apiaryd, run as the package's `apiary` user with the
// package's /etc/apiary/apiaryd.toml, serves Redis clients and keeps its data across a
// restart. The package is purged at the end, failed or not.
//
// The package is installed system-wide, so the test holds a lock file while it runs (two
// suites on one machine take turns), and it leaves a machine that already has an `apiary`
// package installed alone. Ports are chosen at run time (port 0): nothing else is disturbed.
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "integration/support/daemon.hpp"

using namespace apiary::test;
namespace fs = std::filesystem;

namespace {

bool has_command(const std::string& name) { return run("command -v " + name).first == 0; }

bool package_installed(const std::string& name) {
  return run("dpkg-query -W -f='${Status}' " + name + " | grep -q 'install ok installed'").first ==
         0;
}

// An exclusive flock held for the object's lifetime.
class FileLock {
 public:
  explicit FileLock(const char* path) : fd_(::open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

// Purges the package when the test ends, whatever happened, and removes the system user the
// package made when it did not exist before (Debian's postrm keeps it, on purpose).
struct PurgeOnExit {
  bool user_existed = false;
  ~PurgeOnExit() {
    run("apt-get purge -y -o DPkg::Lock::Timeout=300 apiary || dpkg --purge apiary");
    if (!user_existed) run("deluser --system apiary");
  }
};

// /usr/bin/apiaryd from the package, as the `apiary` user, with the package's configuration
// and the ports moved to free loopback ones. setpriv's change of user clears
// PR_SET_PDEATHSIG, so this object is what stops it.
class PackagedNode {
 public:
  explicit PackagedNode(const fs::path& log) : log_(log) {
    pid_ = spawn_logged({"/usr/bin/setpriv",
                         "--reuid=apiary",
                         "--regid=apiary",
                         "--init-groups",
                         "--",
                         "/usr/bin/apiaryd",
                         "--config",
                         "/etc/apiary/apiaryd.toml",
                         "--name",
                         "deb-test",
                         "--gossip-addr",
                         "127.0.0.1:0",
                         "--data-addr",
                         "127.0.0.1:0",
                         "--http-addr",
                         "127.0.0.1:0",
                         "--bind",
                         "127.0.0.1",
                         "--port",
                         "0"},
                        log_);
    static const std::regex ready(
        R"(apiaryd ready name=\S+ gossip=\S+ redis=\S+:(\d+) http=(\S+))");
    const auto end = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < end) {
      std::smatch m;
      const std::string text = this->log();
      if (std::regex_search(text, m, ready)) {
        redis_port_ = m[1];
        http_ = m[2];
        return;
      }
      if (wait_for_exit(pid_, 0ms) != -1 || pid_ < 0) break;
      std::this_thread::sleep_for(50ms);
    }
    FAIL("the packaged apiaryd did not start:\n" << this->log());
  }
  ~PackagedNode() { kill_and_reap(pid_); }
  PackagedNode(const PackagedNode&) = delete;
  PackagedNode& operator=(const PackagedNode&) = delete;

  std::string redis(const std::string& command) const {
    return run("redis-cli -h 127.0.0.1 -p " + redis_port_ + " " + command).second;
  }
  const std::string& http() const { return http_; }
  // SIGTERM, as `systemctl stop` sends it; the exit code.
  int stop() {
    ::kill(pid_, SIGTERM);
    return wait_for_exit(pid_, 60s);
  }
  std::string log() const { return read_text(log_); }

 private:
  fs::path log_;
  pid_t pid_ = -1;
  std::string redis_port_;
  std::string http_;
};

// The package names of a Depends field ("libc6 (>= 2.34), adduser" -> {adduser, libc6}).
std::set<std::string> depends_names(const std::string& field) {
  std::set<std::string> out;
  static const std::regex name(R"((?:^|,)\s*([a-z0-9][a-z0-9.+-]+))");
  for (auto it = std::sregex_iterator(field.begin(), field.end(), name);
       it != std::sregex_iterator(); ++it) {
    out.insert((*it)[1]);
  }
  return out;
}

// The packages a Containerfile stage installs between "# BEGIN <what>" and "# END <what>":
// the words of its continuation lines (those not starting with RUN or &&).
std::set<std::string> containerfile_packages(const std::string& what) {
  std::ifstream in(fs::path(APIARY_SOURCE_DIR) / "deploy/container/Containerfile");
  std::set<std::string> out;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line == "# BEGIN " + what) inside = true;
    if (line == "# END " + what) inside = false;
    if (!inside || line.empty() || line[0] == '#' || line.rfind("RUN", 0) == 0 ||
        line.find("&&") != std::string::npos) {
      continue;
    }
    std::istringstream words(line);
    for (std::string word; words >> word;) {
      if (word != "\\") out.insert(word);
    }
  }
  return out;
}

std::string owner_of(const fs::path& path) {
  return run("stat -c '%U:%G %a' " + path.string()).second;
}

}  // namespace

TEST_CASE("the Debian package installs, runs apiaryd as its own user and purges cleanly",
          "[integration][package][deb]") {
  if (::getuid() != 0) {
    WARN("SKIPPED: installing a .deb needs root");
    return;
  }
  for (const char* tool : {"cpack", "dpkg-deb", "dpkg-shlibdeps", "apt-get", "setpriv"}) {
    if (!has_command(tool)) {
      WARN("SKIPPED: " << tool << " is not installed (scripts/setup)");
      return;
    }
  }
  FileLock lock("/tmp/apiary-deb-package-test.lock");
  if (package_installed("apiary") || fs::exists("/usr/bin/apiaryd")) {
    WARN(
        "SKIPPED: this machine already has apiary installed; the test leaves it alone "
        "(`apt-get purge apiary` lets it run)");
    return;
  }

  // ---- Build the packages from this build tree --------------------------------------------
  const fs::path dir = scratch_dir() / "deb";
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    const auto [status, out] = run("cpack -G DEB -B " + dir.string() +
                                   " --config " APIARY_BINARY_DIR "/CPackConfig.cmake");
    INFO(out);
    REQUIRE(status == 0);
  }
  fs::path deb, dev;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("apiary_", 0) == 0 && entry.path().extension() == ".deb") deb = entry.path();
    if (name.rfind("apiary-dev_", 0) == 0 && entry.path().extension() == ".deb") dev = entry.path();
  }
  REQUIRE(!deb.empty());
  REQUIRE(!dev.empty());
  {
    // dpkg-shlibdeps found the libraries' packages; the maintainer scripts' tool is added.
    const std::string depends = run("dpkg-deb -f " + deb.string() + " Depends").second;
    INFO(depends);
    for (const char* wanted : {"libc6", "libzmq5", "libjemalloc2", "libssl3", "adduser"}) {
      CHECK(depends.find(wanted) != std::string::npos);
    }
    // The container image's runtime stage installs exactly these libraries (less adduser,
    // which only the maintainer scripts use).
    auto wanted = depends_names(depends);
    wanted.erase("adduser");
    const auto image = containerfile_packages("runtime packages");
    CHECK(image == wanted);
    const std::string contents = run("dpkg-deb -c " + dev.string()).second;
    CHECK(contents.find("./usr/include/apiary/node.hpp") != std::string::npos);
    CHECK(contents.find("/cmake/apiary/apiaryConfig.cmake") != std::string::npos);
  }

  // ---- Install: every dependency is already here, so apt downloads nothing ----------------
  PurgeOnExit purge{run("getent passwd apiary").first == 0};
  {
    const auto [status, out] =
        run("DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=300 " +
            deb.string());
    INFO(out);
    REQUIRE(status == 0);
  }
  for (const char* program : {"/usr/bin/apiaryd", "/usr/bin/apiary", "/usr/bin/apiary-sim"}) {
    INFO(program);
    CHECK(run(std::string(program) + " --help").first == 0);  // its libraries resolve
  }
  CHECK(run("ldconfig -p | grep -q 'libapiary.so.'").first == 0);
  CHECK(fs::exists("/lib/systemd/system/apiaryd.service"));
  // The configuration is a conffile (an upgrade keeps the operator's edits).
  CHECK(run("dpkg-query -W -f='${Conffiles}' apiary").second.find("/etc/apiary/apiaryd.toml") !=
        std::string::npos);
  CHECK(run("getent passwd apiary").second.find("/usr/sbin/nologin") != std::string::npos);
  CHECK(owner_of("/var/lib/apiary").rfind("apiary:apiary 750", 0) == 0);
  // A fresh cluster key for this host, readable by the service only.
  CHECK(owner_of("/etc/apiary/cluster.keys").rfind("apiary:apiary 600", 0) == 0);

  // ---- The unit ----------------------------------------------------------------------------
  if (has_command("systemd-analyze")) {
    const auto [status, out] = run("systemd-analyze verify /lib/systemd/system/apiaryd.service");
    INFO(out);
    CHECK(status == 0);
    CHECK(out.empty());  // unknown keys and bad values are warnings with status 0
    const std::string security =
        run("systemd-analyze security --offline=yes /lib/systemd/system/apiaryd.service").second;
    static const std::regex overall(
        R"(Overall exposure level for apiaryd.service: ([0-9.]+) (\w+))");
    std::smatch m;
    REQUIRE(std::regex_search(security, m, overall));
    INFO("exposure " << m[1] << " " << m[2]);
    CHECK((m[2] == "OK" || m[2] == "SAFE"));
  } else {
    WARN("systemd-analyze is not installed: the unit was not verified");
  }

  // ---- Reinstalling (as an upgrade does) keeps the operator's edits and the host's key -------
  {
    const std::string key = run("cat /etc/apiary/cluster.keys").second;
    REQUIRE(!key.empty());
    std::ofstream("/etc/apiary/apiaryd.toml", std::ios::app) << "# edited by the operator\n";
    const auto [status, out] =
        run("DEBIAN_FRONTEND=noninteractive apt-get install -y --reinstall"
            " -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confold " +
            deb.string());
    INFO(out);
    CHECK(status == 0);
    CHECK(run("cat /etc/apiary/cluster.keys").second == key);
    CHECK(run("tail -n 1 /etc/apiary/apiaryd.toml").second == "# edited by the operator\n");
  }

  // ---- Run it as the package's user with the package's configuration -----------------------
  {
    PackagedNode node(scratch_dir() / "deb-node-1.log");
    INFO(node.log());
    CHECK(node.redis("PING") == "PONG\n");
    CHECK(node.redis("SET deb:greeting hello") == "OK\n");
    CHECK(node.redis("GET deb:greeting") == "hello\n");
    // The configuration's settings are in force: the cluster key, the AOF in /var/lib/apiary.
    CHECK(node.redis("INFO cluster").find("cluster_key_enabled:1") != std::string::npos);
    CHECK(eventually(10s, [&] { return http_get(node.http(), "/readyz").has_value(); }));
    CHECK(owner_of("/var/lib/apiary/appendonly.aof").rfind("apiary:apiary", 0) == 0);
    CHECK(node.stop() == 0);
  }
  {
    // Restarted with the same name and data directory, it still has the key.
    PackagedNode node(scratch_dir() / "deb-node-2.log");
    INFO(node.log());
    CHECK(node.redis("GET deb:greeting") == "hello\n");
    CHECK(node.stop() == 0);
  }

  // ---- Purge -------------------------------------------------------------------------------
  {
    const auto [status, out] = run("apt-get purge -y -o DPkg::Lock::Timeout=300 apiary");
    INFO(out);
    CHECK(status == 0);
  }
  CHECK_FALSE(fs::exists("/usr/bin/apiaryd"));
  CHECK_FALSE(fs::exists("/etc/apiary"));
  CHECK_FALSE(fs::exists("/var/lib/apiary"));
}

// The container image cannot be built here (no base images can be pulled), so this checks the
// parts of deploy/container/Containerfile that can go wrong unnoticed: its build stage's
// packages are ones scripts/setup installs (the tree builds with them), and the sources it
// copies are enough to configure the tree with its cmake flags.
TEST_CASE("the Containerfile's build stage copies enough of the tree to configure it",
          "[integration][package][container]") {
  const fs::path source = APIARY_SOURCE_DIR;
  const std::string containerfile = read_text(source / "deploy/container/Containerfile");
  {
    const std::string setup = read_text(source / "scripts/setup");
    for (const auto& package : containerfile_packages("build packages")) {
      INFO(package << " is installed by the Containerfile but not by scripts/setup");
      CHECK(std::regex_search(
          setup, std::regex("\\s" + std::regex_replace(package, std::regex(R"([.+])"), R"(\$&)") +
                            "\\s")));
    }
  }

  const fs::path dir = scratch_dir() / "container";
  fs::remove_all(dir);
  fs::create_directories(dir / "src");
  static const std::regex copy(R"(^COPY (?!--from)(.+)$)", std::regex::multiline);
  int copies = 0;
  for (auto it = std::sregex_iterator(containerfile.begin(), containerfile.end(), copy);
       it != std::sregex_iterator(); ++it) {
    std::istringstream words((*it)[1].str());
    std::vector<std::string> args;
    for (std::string w; words >> w;) args.push_back(w);
    for (std::size_t i = 0; i + 1 < args.size(); ++i) {
      const fs::path from = source / args[i];
      const fs::path to = dir / "src" / args[i];
      fs::create_directories(to.parent_path());
      fs::copy(from, to, fs::copy_options::recursive);
      ++copies;
    }
  }
  REQUIRE(copies >= 5);
  std::string flags;
  static const std::regex define(R"((-D[A-Z_]+=\S+))");
  for (auto it = std::sregex_iterator(containerfile.begin(), containerfile.end(), define);
       it != std::sregex_iterator(); ++it) {
    flags += " " + (*it)[1].str();
  }
  REQUIRE(flags.find("-DAPIARY_BUILD_TESTS=OFF") != std::string::npos);
  const auto [status, out] = run("cmake -S " + (dir / "src").string() + " -B " +
                                 (dir / "build").string() + " -G Ninja" + flags);
  INFO(out);
  CHECK(status == 0);
  fs::remove_all(dir);
}
