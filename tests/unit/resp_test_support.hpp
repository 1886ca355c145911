// Shared fixture for the RESP tests: a Server over a real Store, one or more connections,
// and virtual time that the test moves by hand.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/resp/connection.hpp"
#include "apiary/resp/server.hpp"
#include "apiary/store/store.hpp"

namespace resp_test {

inline std::string cmd(std::initializer_list<std::string_view> args) {
  std::string s = "*" + std::to_string(args.size()) + "\r\n";
  for (auto a : args) {
    s += "$" + std::to_string(a.size()) + "\r\n";
    s += a;
    s += "\r\n";
  }
  return s;
}

struct Harness {
  apiary::store::Store store;
  apiary::resp::Server server;
  apiary::TimePoint now = apiary::from_nanos(1'000'000'000);
  apiary::WallTime wall{1'700'000'000'000};
  std::vector<std::unique_ptr<apiary::resp::Connection>> clients;

  explicit Harness(apiary::store::StoreConfig config = {}) : store(std::move(config)) {
    server.attach_store(&store);
    connect();
  }
  apiary::resp::Connection& connect(std::string peer = "127.0.0.1:40000") {
    clients.push_back(server.connect(now, {peer, "127.0.0.1:6379", 7}));
    return *clients.back();
  }
  apiary::resp::Connection& c(std::size_t i = 0) { return *clients.at(i); }
  // Feeds raw bytes and returns (and drains) everything the client would read.
  std::string raw(std::string_view bytes, std::size_t i = 0) {
    c(i).feed(now, wall, bytes);
    return drain(i);
  }
  std::string drain(std::size_t i = 0) {
    std::string out(c(i).output());
    c(i).consume_output(out.size());
    return out;
  }
  std::string send(std::initializer_list<std::string_view> args, std::size_t i = 0) {
    return raw(cmd(args), i);
  }
  void advance(std::chrono::milliseconds d) {
    now += d;
    wall = wall + d;
  }
};

}  // namespace resp_test
