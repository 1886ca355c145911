// The embedding API's call cost against a Redis round trip: an embedded node's get/set (one
// node, N=1; and a three-node in-process cluster, N=3 W=2) next to a blocking RESP client
// doing the same GET/SET over loopback against redis-server (REDIS_PORT) and against the
// embedded node's own Redis port. Run through bench/embedded_compare.sh, which starts
// redis-server and reports the ratios; run alone it skips the redis-server benchmarks.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "apiary/node.hpp"

namespace {

using namespace std::chrono_literals;

constexpr int kKeys = 10000;

std::string key(int i) { return "key:" + std::to_string(i % kKeys); }
const std::string kValue(100, 'v');

apiary::NodeConfig config(const std::string& name, std::uint32_t replicas,
                          std::vector<std::string> seeds = {}) {
  apiary::NodeConfig c;
  c.name = name;
  c.gossip_addr = "127.0.0.1:0";
  c.client_addr = "127.0.0.1:0";
  c.seeds = std::move(seeds);
  c.replicas = replicas;
  c.write_quorum = replicas > 1 ? 2 : 1;
  c.log_level = "warn";
  return c;
}

// One node (N=1), filled with kKeys keys.
apiary::Node& single() {
  static std::unique_ptr<apiary::Node> node = [] {
    auto n = std::move(apiary::Node::start(config("single", 1))).value();
    for (int i = 0; i < kKeys; ++i) (void)n->set(key(i), kValue);
    return n;
  }();
  return *node;
}

// Three nodes (N=3, W=2): calls go to the first.
apiary::Node& cluster() {
  static std::vector<std::unique_ptr<apiary::Node>> nodes = [] {
    std::vector<std::unique_ptr<apiary::Node>> out;
    out.push_back(std::move(apiary::Node::start(config("c1", 3))).value());
    for (const char* name : {"c2", "c3"}) {
      out.push_back(
          std::move(apiary::Node::start(config(name, 3, {out.front()->gossip_addr()}))).value());
    }
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      bool ready = true;
      for (const auto& n : out) {
        std::size_t owners = 0;
        auto table = n->partitions();
        if (!table.empty()) owners = table.front().owners.size();
        ready = ready && owners == 3;
      }
      if (ready) break;
      std::this_thread::sleep_for(100ms);
    }
    for (int i = 0; i < kKeys; ++i) (void)out.front()->set(key(i), kValue);
    return out;
  }();
  return *nodes.front();
}

void BM_EmbeddedGet(benchmark::State& state, apiary::Node& (*node)()) {
  apiary::Node& n = node();
  int i = static_cast<int>(state.thread_index()) * 7919;
  for (auto _ : state) {
    auto r = n.get(key(i++));
    if (!r.ok() || !r->has_value()) state.SkipWithError("get failed");
  }
}

void BM_EmbeddedSet(benchmark::State& state, apiary::Node& (*node)()) {
  apiary::Node& n = node();
  int i = static_cast<int>(state.thread_index()) * 7919;
  for (auto _ : state) {
    if (!n.set(key(i++), kValue).ok()) state.SkipWithError("set failed");
  }
}

// 1000 asynchronous gets in flight, then wait for all: the loop thread's throughput.
void BM_EmbeddedGetAsync1000(benchmark::State& state) {
  apiary::Node& n = single();
  for (auto _ : state) {
    std::atomic<int> left{1000};
    for (int i = 0; i < 1000; ++i) {
      n.get_async(key(i), [&](apiary::Result<std::optional<std::string>>) { --left; });
    }
    while (left.load() > 0) std::this_thread::yield();
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}

// A blocking RESP client: one command, wait for its reply (what a simple Redis client does).
class RespClient {
 public:
  explicit RespClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
    int one = 1;
    if (fd_ >= 0) ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~RespClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  // Sends argv, reads one reply (simple, bulk or integer); false on error replies.
  bool call(std::initializer_list<std::string_view> argv) {
    out_ = "*" + std::to_string(argv.size()) + "\r\n";
    for (auto a : argv) {
      out_ += "$" + std::to_string(a.size()) + "\r\n";
      out_.append(a);
      out_ += "\r\n";
    }
    if (::send(fd_, out_.data(), out_.size(), 0) != static_cast<ssize_t>(out_.size())) {
      return false;
    }
    // Read until a complete reply: a line, plus a bulk body when it is one.
    in_.clear();
    for (;;) {
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return false;
      in_.append(buf, static_cast<std::size_t>(n));
      const auto eol = in_.find("\r\n");
      if (eol == std::string::npos) continue;
      if (in_[0] != '$') return in_[0] != '-';
      const long len = std::strtol(in_.c_str() + 1, nullptr, 10);
      if (len < 0 || in_.size() >= eol + 2 + static_cast<std::size_t>(len) + 2) return true;
    }
  }

 private:
  int fd_ = -1;
  std::string out_;
  std::string in_;
};

int port_of(const std::string& host_port) {
  return std::atoi(host_port.substr(host_port.rfind(':') + 1).c_str());
}

void BM_RespGet(benchmark::State& state, int (*port)()) {
  const int p = port();
  if (p <= 0) return state.SkipWithError("no server (set REDIS_PORT)");
  RespClient client(p);
  if (!client.ok()) return state.SkipWithError("cannot connect");
  int i = 0;
  for (int k = 0; k < kKeys; ++k) client.call({"SET", key(k), kValue});
  for (auto _ : state) {
    if (!client.call({"GET", key(i++)})) state.SkipWithError("GET failed");
  }
}

void BM_RespSet(benchmark::State& state, int (*port)()) {
  const int p = port();
  if (p <= 0) return state.SkipWithError("no server (set REDIS_PORT)");
  RespClient client(p);
  if (!client.ok()) return state.SkipWithError("cannot connect");
  int i = 0;
  for (auto _ : state) {
    if (!client.call({"SET", key(i++), kValue})) state.SkipWithError("SET failed");
  }
}

int redis_port() {
  const char* p = std::getenv("REDIS_PORT");
  return p == nullptr ? 0 : std::atoi(p);
}
int single_port() { return port_of(single().client_addr()); }
int cluster_port() { return port_of(cluster().client_addr()); }

BENCHMARK_CAPTURE(BM_RespGet, redis_server, redis_port)->UseRealTime();
BENCHMARK_CAPTURE(BM_RespSet, redis_server, redis_port)->UseRealTime();
BENCHMARK_CAPTURE(BM_RespGet, apiary_single_over_resp, single_port)->UseRealTime();
BENCHMARK_CAPTURE(BM_RespSet, apiary_single_over_resp, single_port)->UseRealTime();
BENCHMARK_CAPTURE(BM_EmbeddedGet, single, single)->UseRealTime();
BENCHMARK_CAPTURE(BM_EmbeddedSet, single, single)->UseRealTime();
BENCHMARK_CAPTURE(BM_EmbeddedGet, single, single)->Threads(4)->UseRealTime();
BENCHMARK(BM_EmbeddedGetAsync1000)->UseRealTime();
BENCHMARK_CAPTURE(BM_RespSet, apiary_cluster_over_resp, cluster_port)->UseRealTime();
BENCHMARK_CAPTURE(BM_EmbeddedGet, cluster_n3, cluster)->UseRealTime();
BENCHMARK_CAPTURE(BM_EmbeddedSet, cluster_n3_w2, cluster)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
