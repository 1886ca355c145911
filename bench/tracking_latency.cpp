// Invalidation latency of CLIENT TRACKING: a RESP3 reader with tracking on (on one server)
// reads a key, a writer (on the same or another server) SETs it, and the time from sending
// the SET to the reader receiving the `invalidate` push is recorded; ROUNDS rounds, one key
// each. Prints p50/p99/max in microseconds. Used by bench/tracking_compare.sh, which runs it
// against one redis-server (reader and writer on it) and a 3-node Apiary cluster (reader on
// node 2, writer on node 1).
//
//   tracking_latency READER_PORT WRITER_PORT [ROUNDS]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

std::string command(const std::vector<std::string>& argv) {
  std::string out = "*" + std::to_string(argv.size()) + "\r\n";
  for (const auto& a : argv) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

void send_all(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      std::perror("send");
      std::exit(1);
    }
    sent += static_cast<std::size_t>(n);
  }
}

// Reads until `buffer` contains `needle`; drops everything up to and including it.
void read_until(int fd, std::string& buffer, const std::string& needle) {
  char chunk[4096];
  for (;;) {
    if (auto at = buffer.find(needle); at != std::string::npos) {
      buffer.erase(0, at + needle.size());
      return;
    }
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) {
      std::fprintf(stderr, "connection closed while waiting for %s\n", needle.c_str());
      std::exit(1);
    }
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
}

// Reads until `buffer` contains `a` or `b`, drops up to the first found; 0 for a, 1 for b.
int read_one_of(int fd, std::string& buffer, const std::string& a, const std::string& b) {
  char chunk[4096];
  for (;;) {
    const auto at_a = buffer.find(a);
    const auto at_b = buffer.find(b);
    if (at_a != std::string::npos && (at_b == std::string::npos || at_a < at_b)) {
      buffer.erase(0, at_a + a.size());
      return 0;
    }
    if (at_b != std::string::npos) {
      buffer.erase(0, at_b + b.size());
      return 1;
    }
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) {
      std::fprintf(stderr, "connection closed\n");
      std::exit(1);
    }
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
}

std::string bulk(const std::string& s) { return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n"; }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: tracking_latency READER_PORT WRITER_PORT [ROUNDS]\n");
    return 2;
  }
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 2000;
  const int reader = connect_to(std::atoi(argv[1]));
  const int writer = connect_to(std::atoi(argv[2]));
  std::string rbuf, wbuf;
  send_all(reader, command({"HELLO", "3"}));
  read_until(reader, rbuf, "modules");
  rbuf.clear();
  send_all(reader, command({"CLIENT", "TRACKING", "ON"}));
  read_until(reader, rbuf, "+OK\r\n");
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(rounds));
  const std::string tag = std::to_string(::getpid());
  for (int i = 0; i < rounds; ++i) {
    const std::string key = "track:" + tag + ":" + std::to_string(i);
    send_all(writer, command({"SET", key, "v1"}));
    read_until(writer, wbuf, "+OK\r\n");
    // The reader reads it through its own node (until the write has reached that node's
    // replica) and is now tracking it; a PING drains whatever came before.
    for (;;) {
      send_all(reader, command({"GET", key}));
      if (read_one_of(reader, rbuf, "$2\r\nv1\r\n", "_\r\n") == 0) break;
      ::usleep(200);
    }
    send_all(reader, command({"PING"}));
    read_until(reader, rbuf, "+PONG\r\n");
    const auto start = Clock::now();
    send_all(writer, command({"SET", key, "v2"}));
    read_until(reader, rbuf, ">2\r\n$10\r\ninvalidate\r\n*1\r\n" + bulk(key));
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    read_until(writer, wbuf, "+OK\r\n");
  }
  std::sort(us.begin(), us.end());
  auto at = [&](double q) { return us[static_cast<std::size_t>(q * static_cast<double>(us.size() - 1))]; };
  std::printf("rounds %d p50_us %.0f p99_us %.0f max_us %.0f\n", rounds, at(0.5), at(0.99),
              us.back());
  return 0;
}
