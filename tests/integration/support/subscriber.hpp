// Integration-test support for publish/subscribe: a connection that reads whole replies and
// pushes with a timeout of the caller's choosing, and parses them, so a test can wait for the
// next message (or check that none comes) without RespClient's fixed 5 s.
//
// One blocking socket to 127.0.0.1:port, used from one thread. Replies are framed by
// resp_reply_end (RESP2 and RESP3); `parse` turns one into a small tree.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "integration/support/redis_server.hpp"

namespace apiary::test {

// One RESP value: its type byte, its text (bulk, simple string, error, integer...; "" for
// null) and, for arrays, sets, maps and pushes, its elements.
struct RespValue {
  char type = '_';
  std::string text;
  std::vector<RespValue> items;
  bool null() const { return type == '_' || ((type == '$' || type == '*') && text == "-1"); }
  // The elements' texts (a message push: {"message", channel, payload}).
  std::vector<std::string> texts() const {
    std::vector<std::string> out;
    for (const auto& i : items) out.push_back(i.null() ? "<nil>" : i.text);
    return out;
  }
};

// Parses the value starting at bytes[pos] (which must hold all of it); advances pos.
inline RespValue parse_resp(std::string_view bytes, std::size_t& pos) {
  RespValue v;
  v.type = bytes[pos];
  const std::size_t eol = bytes.find("\r\n", pos);
  const std::string header(bytes.substr(pos + 1, eol - pos - 1));
  pos = eol + 2;
  switch (v.type) {
    case '$':
    case '=':
    case '!': {
      const long long n = std::stoll(header);
      if (n < 0) {
        v.text = "-1";
        return v;
      }
      v.text = std::string(bytes.substr(pos, static_cast<std::size_t>(n)));
      pos += static_cast<std::size_t>(n) + 2;
      return v;
    }
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
      long long n = std::stoll(header);
      if (n < 0) {
        v.text = "-1";
        return v;
      }
      if (v.type == '%' || v.type == '|') n *= 2;
      for (long long i = 0; i < n; ++i) v.items.push_back(parse_resp(bytes, pos));
      return v;
    }
    default:
      v.text = header;
      return v;
  }
}

inline RespValue parse_resp(std::string_view bytes) {
  std::size_t pos = 0;
  return parse_resp(bytes, pos);
}

class Subscriber {
 public:
  explicit Subscriber(const std::string& port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(std::stoi(port)));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      throw std::runtime_error("cannot connect to port " + port);
    }
  }
  ~Subscriber() { close(); }
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  void send(const std::vector<std::string>& argv) {
    std::string req = "*" + std::to_string(argv.size()) + "\r\n";
    for (const auto& a : argv) req += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
    send_raw(req);
  }
  void send_raw(std::string_view rest) {
    while (!rest.empty()) {
      const ssize_t n = ::send(fd_, rest.data(), rest.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  // The next whole reply or push, or nullopt when none arrives within `timeout` (or the
  // server closed the connection).
  std::optional<std::string> next_raw(std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (!buf_.empty()) {
        if (auto stop = resp_reply_end(buf_, 0)) {
          std::string out = buf_.substr(0, *stop);
          buf_.erase(0, *stop);
          return out;
        }
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left.count() <= 0 || fd_ < 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[65536];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return std::nullopt;
      buf_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  std::optional<RespValue> next(std::chrono::milliseconds timeout) {
    auto raw = next_raw(timeout);
    if (!raw) return std::nullopt;
    return parse_resp(*raw);
  }

  // Sends argv and returns its first reply (raw), or "<timeout>".
  std::string command(const std::vector<std::string>& argv,
                      std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    send(argv);
    return next_raw(timeout).value_or("<timeout>");
  }

 private:
  int fd_ = -1;
  std::string buf_;
};

}  // namespace apiary::test
