// The installed package, as a service author meets it: `cmake --install` this build into a
// scratch prefix, check the installed headers stand alone without any third-party header,
// build examples/lookup_service as a separate project against the prefix
// (find_package(apiary)), then run two copies of it as a two-member cluster and check that
// a lookup computed by one is a cache hit on the other, and that SIGTERM leaves cleanly.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "integration/support/daemon.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using apiary::test::scratch_dir;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string quoted(const std::string& text) { return "'" + text + "'"; }

// Runs a shell command with its output in `log`; returns the exit code.
int run(const std::string& command, const fs::path& log) {
  const std::string line = command + " > " + quoted(log.string()) + " 2>&1";
  const int status = std::system(line.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define REQUIRE_RUN(command, log)                                      \
  do {                                                                 \
    const int rc_ = run(command, log);                                 \
    INFO("command: " << (command) << "\noutput:\n" << read_file(log)); \
    REQUIRE(rc_ == 0);                                                 \
  } while (false)

// One lookup_service process, killed when this object (or the test process) dies.
class Service {
 public:
  Service(const fs::path& program, std::string name, std::vector<std::string> extra) {
    log_ = scratch_dir() / ("service-" + name + ".log");
    std::vector<std::string> args = {
        program.string(), "--name",     name, "--gossip",       "127.0.0.1:0", "--http",
        "127.0.0.1:0",    "--replicas", "2",  "--cluster-name", "pkg-test"};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = apiary::test::spawn_logged(args, log_);
    static const std::regex ready(R"(lookup_service ready name=\S+ gossip=(\S+) http=(\S+))");
    const auto end = std::chrono::steady_clock::now() + 15s;
    while (std::chrono::steady_clock::now() < end) {
      std::smatch m;
      const std::string text = log();
      if (std::regex_search(text, m, ready)) {
        gossip_ = m[1];
        http_ = m[2];
        return;
      }
      if (exited()) break;
      std::this_thread::sleep_for(20ms);
    }
    FAIL("lookup_service " << name << " did not become ready:\n" << log());
  }
  ~Service() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  const std::string& gossip() const { return gossip_; }
  std::string log() const { return read_file(log_); }

  // GET path on this service; "" with status 0 when it did not answer.
  httplib::Result get(const std::string& path) const {
    const auto colon = http_.rfind(':');
    httplib::Client client(http_.substr(0, colon), std::stoi(http_.substr(colon + 1)));
    client.set_read_timeout(20s);
    return client.Get(path.c_str());
  }

  // Sends SIGTERM and returns the exit code (-1: killed by a signal or still running).
  int terminate(std::chrono::milliseconds timeout) {
    ::kill(pid_, SIGTERM);
    return apiary::test::wait_for_exit(pid_, timeout);
  }

 private:
  bool exited() {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
    pid_ = -1;
    return true;
  }

  fs::path log_;
  pid_t pid_ = -1;
  std::string gossip_;
  std::string http_;
};

// Every #include of an installed header must be a standard header or another installed
// apiary header: a service must not need ZeroMQ, msgpack or spdlog headers to compile.
std::vector<std::string> foreign_includes(const fs::path& include_dir) {
  static const std::regex include_line(R"(^\s*#\s*include\s*([<"])([^>"]+)[>"])");
  std::vector<std::string> foreign;
  for (const auto& entry : fs::recursive_directory_iterator(include_dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      std::smatch m;
      if (!std::regex_search(line, m, include_line)) continue;
      const std::string header = m[2];
      const bool standard = m[1] == "<" && header.find_first_of("./") == std::string::npos;
      const bool installed = header.starts_with("apiary/") && fs::exists(include_dir / header);
      if (!standard && !installed) foreign.push_back(entry.path().string() + ": " + header);
    }
  }
  return foreign;
}

std::string value_of(const std::string& body) {
  static const std::regex value(R"re("value":"([^"]*)")re");
  std::smatch m;
  return std::regex_search(body, m, value) ? std::string(m[1]) : std::string();
}

}  // namespace

TEST_CASE("an installed apiary package builds and runs the lookup_service example", "[package]") {
  const fs::path work = scratch_dir() / "package";
  fs::remove_all(work);
  fs::create_directories(work);
  const fs::path prefix = work / "prefix";
  const fs::path build = work / "lookup_service";
  // The install and the build are ~100 MB; the logs stay for a failure's diagnosis.
  struct RemoveTrees {
    std::vector<fs::path> trees;
    ~RemoveTrees() {
      std::error_code ignored;
      for (const auto& tree : trees) fs::remove_all(tree, ignored);
    }
  } remove_trees{{prefix, build}};
  const std::string cmake = APIARY_CMAKE_COMMAND;

  REQUIRE_RUN(
      cmake + " --install " + quoted(APIARY_BINARY_DIR) + " --prefix " + quoted(prefix.string()),
      work / "install.log");

  const fs::path libdir = prefix / APIARY_INSTALL_LIBDIR;
  CHECK(fs::exists(libdir / "cmake" / "apiary" / "apiaryConfig.cmake"));
  CHECK(fs::exists(libdir / "cmake" / "apiary" / "apiaryConfigVersion.cmake"));
  CHECK(fs::exists(libdir / "libapiary.so"));
  CHECK(fs::exists(prefix / "bin" / "apiaryd"));
  CHECK(fs::exists(prefix / "bin" / "apiary"));
  CHECK(fs::exists(prefix / "include" / "apiary" / "node.hpp"));
  // Only the public closure of node.hpp: no internal headers (the store, the router, ...).
  CHECK_FALSE(fs::exists(prefix / "include" / "apiary" / "store"));
  CHECK_FALSE(fs::exists(prefix / "include" / "apiary" / "wire"));
  CHECK(foreign_includes(prefix / "include").empty());

  // Each installed header compiles alone with nothing but the prefix on the include path.
  for (const auto& entry : fs::recursive_directory_iterator(prefix / "include")) {
    if (entry.path().extension() != ".hpp") continue;
    const auto header = fs::relative(entry.path(), prefix / "include").string();
    const fs::path source = work / "header_check.cpp";
    std::ofstream(source) << "#include <" << header << ">\n";
    REQUIRE_RUN(std::string(APIARY_CXX_COMPILER) + " -std=c++20 -fsyntax-only -Wall -Wextra " +
                    "-Wpedantic -Werror -I" + quoted((prefix / "include").string()) + " " +
                    quoted(source.string()),
                work / "header_check.log");
  }

  // The example as its own project, against the prefix only.
  REQUIRE_RUN(cmake + " -S " + quoted(std::string(APIARY_SOURCE_DIR) + "/examples/lookup_service") +
                  " -B " + quoted(build.string()) + " -G " + quoted(APIARY_CMAKE_GENERATOR) +
                  " -DCMAKE_MAKE_PROGRAM=" + quoted(APIARY_MAKE_PROGRAM) +
                  " -DCMAKE_CXX_COMPILER=" + quoted(APIARY_CXX_COMPILER) +
                  " -DCMAKE_CXX_FLAGS=" + quoted(APIARY_CXX_FLAGS) +
                  " -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g" +
                  " -DCMAKE_PREFIX_PATH=" + quoted(prefix.string()),
              work / "configure.log");
  REQUIRE_RUN(cmake + " --build " + quoted(build.string()), work / "build.log");
  const fs::path program = build / "lookup_service";
  REQUIRE(fs::exists(program));

  // Two copies form a cluster with no apiaryd.
  Service a(program, "pkg-a", {});
  Service b(program, "pkg-b", {"--seed", a.gossip()});
  std::string members;
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = b.get("/members");
    members = r ? r->body : "";
    if (members.find("pkg-a") != std::string::npos && members.find("pkg-b") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  INFO("members seen by pkg-b:\n"
       << members << "\npkg-a log:\n"
       << a.log() << "\npkg-b log:\n"
       << b.log());
  REQUIRE(members.find("pkg-a 127.0.0.1") != std::string::npos);

  auto first = a.get("/lookup/answer");
  REQUIRE(first);
  REQUIRE(first->status == 200);
  CHECK(first->body.find("\"cached\":false") != std::string::npos);
  CHECK(first->body.find("\"computed_by\":\"pkg-a\"") != std::string::npos);

  auto again = a.get("/lookup/answer");
  REQUIRE(again);
  REQUIRE(again->status == 200);
  CHECK(again->body.find("\"cached\":true") != std::string::npos);

  // The other member sees the same cached entry, computed by pkg-a.
  auto other = b.get("/lookup/answer");
  REQUIRE(other);
  REQUIRE(other->status == 200);
  CHECK(other->body.find("\"cached\":true") != std::string::npos);
  CHECK(other->body.find("\"computed_by\":\"pkg-a\"") != std::string::npos);
  CHECK(other->body.find("\"served_by\":\"pkg-b\"") != std::string::npos);
  CHECK(value_of(other->body) == value_of(first->body));
  CHECK(value_of(first->body).size() == 16);

  CHECK(b.terminate(30s) == 0);
  CHECK(a.terminate(30s) == 0);
}
