// Bytes no peer would send, on the node-to-node ports of a real apiaryd: the node drops them
// (closing the offending connection), keeps every key and keeps serving.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <random>

#include "integration/support/cluster.hpp"

using namespace apiary::test;
using namespace std::chrono_literals;

namespace {

// Connects to "host:port" on loopback; -1 when refused.
int connect_to(const std::string& addr) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(std::stoi(addr.substr(addr.rfind(':') + 1))));
  ::inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends `bytes` on a new connection to `addr` and closes it (the peer may close first).
void send_and_close(const std::string& addr, const std::string& bytes) {
  const int fd = connect_to(addr);
  REQUIRE(fd >= 0);
  (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  ::close(fd);
}

std::string frame(const std::string& body) {
  const auto n = static_cast<std::uint32_t>(body.size());
  std::string out = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                     static_cast<char>(n >> 8), static_cast<char>(n)};
  return out + body;
}

std::string random_bytes(std::mt19937_64& rng, std::size_t n) {
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng());
  return out;
}

}  // namespace

TEST_CASE("garbage on the data and gossip ports neither stops a node nor loses its keys",
          "[integration][robustness]") {
  Daemon a("hostile-a", {});
  Daemon b("hostile-b", {"--seeds", a.gossip()});
  REQUIRE(eventually(10s, [&] { return info_field(b, "cluster_alive_members") == 2; }));
  for (int i = 0; i < 50; ++i) {
    REQUIRE(cli(a, "SET k" + std::to_string(i) + " v" + std::to_string(i)) == "OK\n");
  }
  REQUIRE(!a.data().empty());
  std::mt19937_64 rng(20261205);

  // Not a data link at all: random bytes, a Redis command, an HTTP request.
  for (int i = 0; i < 20; ++i) send_and_close(a.data(), random_bytes(rng, 1 + rng() % 70000));
  send_and_close(a.data(), "*1\r\n$4\r\nPING\r\n");
  send_and_close(a.data(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  // The preamble, then: a length far above the limit; frames of random bytes (not an
  // envelope); a truncated frame; a zero-length frame.
  send_and_close(a.data(), std::string("APIARYD1") + "\xff\xff\xff\xff");
  std::string frames = "APIARYD1";
  for (int i = 0; i < 200; ++i) frames += frame(random_bytes(rng, rng() % 2000));
  frames += frame("") + frame(std::string("\x96\x01\xa6"
                                          "apiary",
                                          9));
  send_and_close(a.data(), frames);
  send_and_close(a.data(), std::string("APIARYD1") + frame("x").substr(0, 3));
  // Many connections at once, left open while the node serves.
  std::vector<int> open;
  for (int i = 0; i < 200; ++i) {
    const int fd = connect_to(a.data());
    if (fd >= 0) open.push_back(fd);
  }
  // The gossip port is ZeroMQ: random bytes instead of its handshake.
  for (int i = 0; i < 20; ++i) send_and_close(a.gossip(), random_bytes(rng, 1 + rng() % 4096));

  // Still one cluster, every key there through both nodes, writes still replicate.
  CHECK(a.running());
  CHECK(b.running());
  CHECK(cli(a, "SET after yes") == "OK\n");
  for (int i = 0; i < 50; i += 7) {
    CHECK(cli(b, "GET k" + std::to_string(i)) == "v" + std::to_string(i) + "\n");
  }
  CHECK(cli(b, "GET after") == "yes\n");
  CHECK(info_field(a, "cluster_alive_members") == 2);
  CHECK(info_field(a, "cluster_data_malformed_dropped") > 0);
  for (int fd : open) ::close(fd);
  CHECK(a.running());
}
