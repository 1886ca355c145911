// The runtime's transport and loop on real loopback sockets.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>
#include <zmq.hpp>

#include "apiary/runtime/event_loop.hpp"
#include "apiary/zmq/mailbox.hpp"

using namespace apiary;
using namespace std::chrono_literals;

namespace {
std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

// Waits up to 5 s for one message.
std::optional<std::string> receive_one(zmqx::Mailbox& box) {
  std::vector<std::uint8_t> out;
  for (int i = 0; i < 500; ++i) {
    if (box.receive(out)) return std::string(out.begin(), out.end());
    std::this_thread::sleep_for(10ms);
  }
  return std::nullopt;
}
}  // namespace

TEST_CASE("mailboxes exchange datagrams over loopback on a port chosen at run time",
          "[runtime][zmq]") {
  zmq::context_t ctx(1);
  auto a = zmqx::Mailbox::bind(ctx, "127.0.0.1:0");
  auto b = zmqx::Mailbox::bind(ctx, "127.0.0.1:0");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK((*a)->bound_addr().rfind("127.0.0.1:", 0) == 0);
  CHECK((*a)->bound_addr() != "127.0.0.1:0");

  const auto now = runtime::core_now();
  REQUIRE((*a)->send((*b)->bound_addr(), bytes("hello"), now));
  CHECK(receive_one(**b) == "hello");
  REQUIRE((*b)->send((*a)->bound_addr(), bytes("back"), now));
  CHECK(receive_one(**a) == "back");
  CHECK((*a)->stats().sent == 1);
  CHECK((*a)->stats().received == 1);
}

TEST_CASE("sending to a dead peer never blocks and drops past the queue bound", "[runtime][zmq]") {
  zmq::context_t ctx(1);
  zmqx::MailboxOptions options;
  options.send_queue_messages = 10;
  auto a = zmqx::Mailbox::bind(ctx, "127.0.0.1:0", options);
  REQUIRE(a.ok());
  // Port 1 on loopback: nothing listens there.
  const auto start = std::chrono::steady_clock::now();
  int accepted = 0;
  for (int i = 0; i < 5000; ++i) {
    if ((*a)->send("127.0.0.1:1", bytes("ping"), runtime::core_now())) ++accepted;
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(accepted <= 20);  // the bound plus ZeroMQ's small pipe slack
  CHECK((*a)->stats().dropped_queue_full >= 4980);
  // Not a timing assertion on speed: only that 5000 sends did not wait on the network
  // (a blocking send would hang forever here).
  CHECK(elapsed < 30s);
}

TEST_CASE("oversized messages and bad addresses are refused, not sent", "[runtime][zmq]") {
  zmq::context_t ctx(1);
  zmqx::MailboxOptions options;
  options.max_message_bytes = 16;
  auto a = zmqx::Mailbox::bind(ctx, "127.0.0.1:0", options);
  REQUIRE(a.ok());
  CHECK_FALSE((*a)->send("127.0.0.1:2", std::vector<std::uint8_t>(17, 'x'), runtime::core_now()));
  CHECK((*a)->stats().dropped_too_large == 1);
  CHECK_FALSE((*a)->send("no-port", bytes("x"), runtime::core_now()));
  CHECK_FALSE((*a)->send("host:99999", bytes("x"), runtime::core_now()));
  CHECK((*a)->stats().dropped_bad_address == 2);

  CHECK_FALSE(zmqx::Mailbox::bind(ctx, "not an address").ok());
  auto taken = zmqx::Mailbox::bind(ctx, (*a)->bound_addr());
  REQUIRE_FALSE(taken.ok());
  CHECK(taken.status().code() == StatusCode::io_error);
}

TEST_CASE("a receiver drops a message above its size limit and keeps working", "[runtime][zmq]") {
  zmq::context_t ctx(1);
  zmqx::MailboxOptions small;
  small.max_message_bytes = 64;
  auto receiver = zmqx::Mailbox::bind(ctx, "127.0.0.1:0", small);
  REQUIRE(receiver.ok());
  {
    auto big_sender = zmqx::Mailbox::bind(ctx, "127.0.0.1:0");
    REQUIRE(big_sender.ok());
    (*big_sender)
        ->send((*receiver)->bound_addr(), std::vector<std::uint8_t>(1000, 'x'),
               runtime::core_now());
    std::this_thread::sleep_for(200ms);
    std::vector<std::uint8_t> out;
    CHECK_FALSE((*receiver)->receive(out));
  }
  auto sender = zmqx::Mailbox::bind(ctx, "127.0.0.1:0");
  REQUIRE(sender.ok());
  (*sender)->send((*receiver)->bound_addr(), bytes("small"), runtime::core_now());
  CHECK(receive_one(**receiver) == "small");
}

TEST_CASE("event loop runs timers in order, posted work and stops from another thread",
          "[runtime][loop]") {
  runtime::EventLoop loop;
  std::vector<int> order;
  const auto now = runtime::core_now();
  loop.schedule(now + 30ms, [&] { order.push_back(3); });
  loop.schedule(now + 10ms, [&] { order.push_back(1); });
  auto cancelled = loop.schedule(now + 20ms, [&] { order.push_back(99); });
  loop.schedule(now + 20ms, [&] { order.push_back(2); });
  loop.cancel(cancelled);
  loop.schedule(now + 40ms, [&] { loop.stop(); });
  loop.run();
  CHECK(order == std::vector<int>{1, 2, 3});

  runtime::EventLoop loop2;
  std::atomic<int> ran{0};
  std::thread t([&] {
    for (int i = 0; i < 100; ++i) loop2.post([&] { ++ran; });
    loop2.post([&] { loop2.stop(); });
  });
  loop2.run();
  t.join();
  CHECK(ran == 100);
}
