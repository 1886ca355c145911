// Test support: real apiaryd processes on loopback.
//
// Every daemon binds port 0 and reports its addresses on its "apiaryd ready" line (plain, or
// the `msg` of a JSON line under --log-format json), so tests never guess ports. Processes
// are killed when the Daemon object dies, and also (through PR_SET_PDEATHSIG) when the test
// process itself dies, so a failing or crashing test never leaves nodes behind.
#pragma once

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace apiary::test {

using namespace std::chrono_literals;

inline std::filesystem::path scratch_dir() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("apiary-it-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

// Starts `args` (args[0] is the program) with stdout and stderr in `log`; the child dies with
// the test process (PR_SET_PDEATHSIG). Returns its pid.
inline pid_t spawn_logged(const std::vector<std::string>& args, const std::filesystem::path& log) {
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

// Waits up to `timeout` for child `pid` to exit; then sets `pid` to -1 and returns its exit
// code. -1 (pid unchanged) when it is still running; -1 too when a signal ended it.
inline int wait_for_exit(pid_t& pid, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (pid > 0 && std::chrono::steady_clock::now() < end) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      pid = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(20ms);
  }
  return -1;
}

// The whole of a text file ("" when it cannot be read): process logs, configuration files.
inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// SIGKILLs child `pid` and reaps it; sets `pid` to -1 (a no-op when it is already gone).
inline void kill_and_reap(pid_t& pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  pid = -1;
}

class Daemon {
 public:
  Daemon(std::string name, std::vector<std::string> extra_args) : name_(std::move(name)) {
    log_path_ = scratch_dir() / (name_ + "-" + std::to_string(counter()++) + ".log");
    std::vector<std::string> args = {APIARYD_PATH,
                                     "--name",
                                     name_,
                                     "--gossip-addr",
                                     "127.0.0.1:0",
                                     "--http-addr",
                                     "127.0.0.1:0",
                                     "--bind",
                                     "127.0.0.1",
                                     "--port",
                                     "0"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    spawn(args);
    wait_ready();
  }
  ~Daemon() { kill_now(); }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  const std::string& name() const { return name_; }
  const std::string& gossip() const { return gossip_; }
  const std::string& http() const { return http_; }
  const std::string& data() const { return data_; }  // the data link's address
  const std::string& redis() const { return redis_; }
  std::string redis_port() const { return redis_.substr(redis_.rfind(':') + 1); }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  void signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  void kill_now() { kill_and_reap(pid_); }
  // Waits for the process to exit; returns its exit code (or -1 on timeout / signal).
  int wait_exit(std::chrono::milliseconds timeout) { return wait_for_exit(pid_, timeout); }
  std::string log() const { return read_text(log_path_); }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }

  void spawn(const std::vector<std::string>& args) { pid_ = spawn_logged(args, log_path_); }

  void wait_ready() {
    static const std::regex ready(
        R"(apiaryd ready name=(\S+) gossip=(\S+) redis=(\S+) http=(\S+) data=([^\s"]+))");
    const auto end = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < end) {
      std::smatch m;
      const std::string text = log();
      if (std::regex_search(text, m, ready)) {
        gossip_ = m[2];
        redis_ = m[3];
        http_ = m[4];
        data_ = m[5];
        return;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("apiaryd " + name_ + " exited during start:\n" + text);
      }
      std::this_thread::sleep_for(20ms);
    }
    throw std::runtime_error("apiaryd " + name_ + " did not become ready:\n" + log());
  }

  std::string name_;
  std::filesystem::path log_path_;
  pid_t pid_ = -1;
  std::string gossip_;
  std::string redis_;
  std::string http_;
  std::string data_;
};

inline std::optional<std::string> http_get(const std::string& host_port, const std::string& path) {
  const auto colon = host_port.rfind(':');
  httplib::Client client(host_port.substr(0, colon), std::stoi(host_port.substr(colon + 1)));
  client.set_connection_timeout(1);
  client.set_read_timeout(2);
  auto res = client.Get(path);
  if (!res || res->status != 200) return std::nullopt;
  return res->body;
}

// name -> state, as one node's /v1/members reports it.
inline std::map<std::string, std::string> member_states(const std::string& http_addr) {
  std::map<std::string, std::string> out;
  auto body = http_get(http_addr, "/v1/members");
  if (!body) return out;
  static const std::regex entry(R"re("name":"([^"]+)","addr":"[^"]*","state":"([a-z]+)")re");
  for (auto it = std::sregex_iterator(body->begin(), body->end(), entry);
       it != std::sregex_iterator(); ++it) {
    out[(*it)[1]] = (*it)[2];
  }
  return out;
}

// Runs a shell command; returns its exit status and its stdout with stderr folded in.
inline std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, ""};
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// Polls `condition` every 100 ms until it holds or `timeout` passes.
inline bool eventually(std::chrono::milliseconds timeout, const std::function<bool()>& condition) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return condition();
}

}  // namespace apiary::test
