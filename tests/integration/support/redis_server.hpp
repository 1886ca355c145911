// Integration-test support: a redis-server to compare Apiary's replies with, and a minimal
// blocking RESP client that reads one whole reply at a time (RESP2 and RESP3 framing), so
// replies can be compared byte for byte.
//
// The redis-server gets a free loopback port chosen at run time, no persistence (unless
// `extra_args` asks for some: later flags override earlier ones, `--dir` and `--dbfilename`
// included), and dies with its RedisServer object or with the test process
// (spawn_logged's PR_SET_PDEATHSIG).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "integration/support/daemon.hpp"

namespace apiary::test {

// A free loopback port right now (the kernel's pick for port 0).
inline int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class RedisServer {
 public:
  explicit RedisServer(const std::vector<std::string>& extra_args = {}) {
    // The port can be taken between the probe and the bind: then redis-server exits, and
    // another port is tried.
    for (int attempt = 0; attempt < 5 && pid_ < 0; ++attempt) {
      port_ = std::to_string(free_loopback_port());
      std::vector<std::string> args = {"/usr/bin/redis-server",
                                       "--port",
                                       port_,
                                       "--bind",
                                       "127.0.0.1",
                                       "--save",
                                       "",
                                       "--appendonly",
                                       "no",
                                       "--dir",
                                       scratch_dir().string()};
      args.insert(args.end(), extra_args.begin(), extra_args.end());
      pid_ = spawn_logged(args, scratch_dir() / ("redis-server-" + port_ + ".log"));
      const bool up = eventually(10s, [&] {
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_) pid_ = -1;  // exited: port taken
        return pid_ < 0 || ping();
      });
      if (!up) stop();
    }
    REQUIRE(pid_ > 0);
  }
  ~RedisServer() { stop(); }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;
  const std::string& port() const { return port_; }

 private:
  bool ping() const {
    return run("redis-cli -h 127.0.0.1 -p " + port_ + " PING").second == "PONG\n";
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string port_;
  pid_t pid_ = -1;
};

// Where the reply starting at buf[pos] ends, or nullopt when buf does not hold all of it yet.
inline std::optional<std::size_t> resp_reply_end(std::string_view buf, std::size_t pos) {
  const std::size_t eol = buf.find("\r\n", pos);
  if (eol == std::string_view::npos) return std::nullopt;
  const char type = buf[pos];
  const std::string_view header = buf.substr(pos + 1, eol - pos - 1);
  std::size_t next = eol + 2;
  switch (type) {
    case '$':
    case '=':
    case '!': {
      const long long n = std::stoll(std::string(header));
      if (n < 0) return next;
      if (buf.size() < next + static_cast<std::size_t>(n) + 2) return std::nullopt;
      return next + static_cast<std::size_t>(n) + 2;
    }
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
      long long n = std::stoll(std::string(header));
      if (type == '%' || type == '|') n *= 2;
      for (long long i = 0; i < n; ++i) {
        auto end = resp_reply_end(buf, next);
        if (!end) return std::nullopt;
        next = *end;
      }
      return next;
    }
    default:  // + - : _ , # ( are one line
      return next;
  }
}

// One blocking connection to 127.0.0.1:port. Every read gives up after 5 s.
class RespClient {
 public:
  explicit RespClient(const std::string& port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(std::stoi(port)));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RespClient() { ::close(fd_); }
  RespClient(const RespClient&) = delete;
  RespClient& operator=(const RespClient&) = delete;

  void send_raw(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return;  // the server closed: what it answered is still readable
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  // Sends argv as a multibulk request and returns its whole reply ("<closed>" or
  // "<timeout>" appended to what came when the reply is cut short).
  std::string command(const std::vector<std::string>& argv) {
    std::string req = "*" + std::to_string(argv.size()) + "\r\n";
    for (const auto& a : argv) req += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
    send_raw(req);
    return reply();
  }
  std::string reply() {
    while (true) {
      if (!buf_.empty()) {
        if (auto end = resp_reply_end(buf_, 0)) {
          std::string out = buf_.substr(0, *end);
          buf_.erase(0, *end);
          return out;
        }
      }
      if (const char* cut = fill()) return std::exchange(buf_, {}) + cut;
    }
  }
  // Half-closes the connection and returns everything the server sends until it closes
  // ("<timeout>" appended if it does not).
  std::string drain_after_eof() {
    ::shutdown(fd_, SHUT_WR);
    const char* why = nullptr;
    while ((why = fill()) == nullptr) {
    }
    return std::exchange(buf_, {}) + (std::string_view(why) == "<closed>" ? "" : why);
  }

 private:
  // Reads more bytes; nullptr, or why nothing more will come.
  const char* fill() {
    char chunk[65536];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n == 0) return "<closed>";
    if (n < 0) return "<timeout>";
    buf_.append(chunk, static_cast<std::size_t>(n));
    return nullptr;
  }
  int fd_ = -1;
  std::string buf_;
};

}  // namespace apiary::test
