// The data channel's TCP transport (runtime::DataLink) on real loopback sockets, driven by a
// real EventLoop on the test thread.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <string>

#include "apiary/base/host_port.hpp"
#include "apiary/runtime/data_link.hpp"
#include "apiary/runtime/event_loop.hpp"

using namespace apiary;
using namespace std::chrono_literals;

namespace {

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

// Runs `loop` until `done()` holds (checked every millisecond) or 5 s passed; returns done().
bool run_until(runtime::EventLoop& loop, const std::function<bool()>& done) {
  const auto limit = runtime::core_now() + 5s;
  bool met = false;
  std::function<void()> check = [&] {
    met = done();
    if (met || runtime::core_now() > limit) {
      loop.stop();
      return;
    }
    loop.schedule(runtime::core_now() + 1ms, check);
  };
  loop.post(check);
  loop.run();
  return met;
}

std::vector<std::string> drain(runtime::DataLink& link) {
  std::vector<std::string> out;
  std::vector<std::uint8_t> m;
  while (link.receive(m)) out.emplace_back(m.begin(), m.end());
  return out;
}

// A raw TCP client connected to `addr`, for sending what a DataLink never would.
int raw_connect(const std::string& addr) {
  const auto hp = parse_host_port(addr);
  REQUIRE(hp.ok());
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(hp->port);
  ::inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  return fd;
}

}  // namespace

TEST_CASE("data links exchange messages in order over loopback", "[runtime][data_link]") {
  runtime::EventLoop loop;
  auto a = runtime::DataLink::bind(loop, "127.0.0.1:0");
  auto b = runtime::DataLink::bind(loop, "127.0.0.1:0");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK((*a)->bound_addr().rfind("127.0.0.1:", 0) == 0);
  CHECK((*a)->bound_addr() != "127.0.0.1:0");

  const auto now = runtime::core_now();
  for (int i = 0; i < 1000; ++i) {
    REQUIRE((*a)->send((*b)->bound_addr(), bytes("m" + std::to_string(i)), now));
  }
  const std::string big(3u << 20, 'x');  // larger than a socket buffer: written in pieces
  REQUIRE((*a)->send((*b)->bound_addr(), bytes(big), now));
  REQUIRE((*a)->send((*b)->bound_addr(), {}, now));  // an empty message is a message
  std::vector<std::string> got;
  REQUIRE(run_until(loop, [&] {
    for (auto& m : drain(**b)) got.push_back(std::move(m));
    return got.size() == 1002;
  }));
  for (int i = 0; i < 1000; ++i) CHECK(got[static_cast<std::size_t>(i)] == "m" + std::to_string(i));
  CHECK(got[1000] == big);
  CHECK(got[1001].empty());
  REQUIRE((*b)->send((*a)->bound_addr(), bytes("back"), now));
  std::vector<std::string> back;
  REQUIRE(run_until(loop, [&] {
    back = drain(**a);
    return !back.empty();
  }));
  CHECK(back == std::vector<std::string>{"back"});
  CHECK((*a)->stats().sent == 1002);
  CHECK((*b)->stats().received == 1002);
  CHECK((*a)->stats().connects == 1);
}

TEST_CASE("oversized messages and bad addresses are refused, not sent", "[runtime][data_link]") {
  runtime::EventLoop loop;
  runtime::DataLinkOptions options;
  options.max_message_bytes = 100;
  auto a = runtime::DataLink::bind(loop, "127.0.0.1:0", options);
  REQUIRE(a.ok());
  const auto now = runtime::core_now();
  CHECK_FALSE((*a)->send("127.0.0.1:1", std::vector<std::uint8_t>(101), now));
  CHECK((*a)->stats().dropped_too_large == 1);
  CHECK_FALSE((*a)->send("no port", bytes("x"), now));
  CHECK_FALSE((*a)->send("127.0.0.1:0", bytes("x"), now));
  CHECK((*a)->stats().dropped_bad_address == 2);
  CHECK_FALSE(runtime::DataLink::bind(loop, "not an address").ok());
}

TEST_CASE("sending to a dead peer never blocks, bounds its buffer and delivers once it is up",
          "[runtime][data_link]") {
  runtime::EventLoop loop;
  // A port that nobody listens on yet: bind a link, note its port, destroy it.
  std::string addr;
  {
    auto gone = runtime::DataLink::bind(loop, "127.0.0.1:0");
    REQUIRE(gone.ok());
    addr = (*gone)->bound_addr();
  }
  runtime::DataLinkOptions options;
  options.send_buffer_bytes = 1000;
  options.reconnect_min = 5ms;
  options.reconnect_max = 20ms;
  auto a = runtime::DataLink::bind(loop, "127.0.0.1:0", options);
  REQUIRE(a.ok());
  const auto now = runtime::core_now();
  std::size_t accepted = 0;
  for (int i = 0; i < 100; ++i)
    accepted += (*a)->send(addr, std::vector<std::uint8_t>(96), now) ? 1 : 0;
  CHECK(accepted < 100);
  CHECK((*a)->stats().dropped_queue_full == 100 - accepted);
  REQUIRE(run_until(loop, [&] { return (*a)->stats().connect_failures >= 2; }));

  // The peer comes up on that port: what waited is delivered.
  auto b = runtime::DataLink::bind(loop, addr);
  REQUIRE(b.ok());
  std::size_t got = 0;
  REQUIRE(run_until(loop, [&] {
    got += drain(**b).size();
    return got == accepted;
  }));
}

TEST_CASE("a receiver closes a connection that is not a data link or sends too much",
          "[runtime][data_link]") {
  runtime::EventLoop loop;
  runtime::DataLinkOptions options;
  options.max_message_bytes = 1000;
  auto b = runtime::DataLink::bind(loop, "127.0.0.1:0", options);
  REQUIRE(b.ok());

  const int wrong = raw_connect((*b)->bound_addr());
  const std::string redis = "*1\r\n$4\r\nPING\r\n";
  REQUIRE(::send(wrong, redis.data(), redis.size(), 0) == static_cast<ssize_t>(redis.size()));
  REQUIRE(run_until(loop, [&] { return (*b)->stats().inbound_refused == 1; }));

  const int huge = raw_connect((*b)->bound_addr());
  const std::string frame = std::string("APIARYD1") + std::string("\x00\x10\x00\x00", 4);
  REQUIRE(::send(huge, frame.data(), frame.size(), 0) == static_cast<ssize_t>(frame.size()));
  REQUIRE(run_until(loop, [&] { return (*b)->stats().inbound_refused == 2; }));

  // A truncated message from a peer that went away is dropped with its connection.
  const int cut = raw_connect((*b)->bound_addr());
  const std::string partial = std::string("APIARYD1") + std::string("\x00\x00\x00\x05", 4) + "ab";
  REQUIRE(::send(cut, partial.data(), partial.size(), 0) == static_cast<ssize_t>(partial.size()));
  ::close(cut);
  ::close(wrong);
  ::close(huge);

  // The listener still serves real peers.
  auto a = runtime::DataLink::bind(loop, "127.0.0.1:0");
  REQUIRE(a.ok());
  REQUIRE((*a)->send((*b)->bound_addr(), bytes("ok"), runtime::core_now()));
  std::vector<std::string> got;
  REQUIRE(run_until(loop, [&] {
    got = drain(**b);
    return !got.empty();
  }));
  CHECK(got == std::vector<std::string>{"ok"});
  CHECK((*b)->stats().received == 1);
}

TEST_CASE("a peer that restarts gets messages again on a new connection", "[runtime][data_link]") {
  runtime::EventLoop loop;
  runtime::DataLinkOptions options;
  options.reconnect_min = 5ms;
  options.reconnect_max = 20ms;
  auto a = runtime::DataLink::bind(loop, "127.0.0.1:0", options);
  REQUIRE(a.ok());
  auto b = runtime::DataLink::bind(loop, "127.0.0.1:0");
  REQUIRE(b.ok());
  const std::string addr = (*b)->bound_addr();
  REQUIRE((*a)->send(addr, bytes("one"), runtime::core_now()));
  REQUIRE(run_until(loop, [&] { return drain(**b).size() == 1; }));

  b->reset();  // the peer goes away...
  REQUIRE(run_until(loop, [&] { return (*a)->stats().peers == 0; }));
  auto again = runtime::DataLink::bind(loop, addr);  // ...and comes back on the same port
  REQUIRE(again.ok());
  REQUIRE((*a)->send(addr, bytes("two"), runtime::core_now()));
  std::vector<std::string> got;
  REQUIRE(run_until(loop, [&] {
    for (auto& m : drain(**again)) got.push_back(std::move(m));
    return !got.empty();
  }));
  CHECK(got == std::vector<std::string>{"two"});
  CHECK((*a)->stats().connects == 2);
}
