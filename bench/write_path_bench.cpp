// The cluster write path in one process: three NodeCores (N=3, W=2, R=1) wired to each other
// directly -- no sockets, no threads, virtual time standing still -- with one pipelined client
// per node sending what `redis-benchmark -t set|incr|mset -P 16 -r 100000` sends. Every
// message a node produces is handed to its target at once, so the figure is the work the
// three node cores do per command (parsing, routing, forwarding, replication, merging,
// encoding and decoding), without the kernel's share: the program to compare two builds of
// the write path with (docs/benchmarks.md, "Write path: the cores' instructions per command").
//
//   LD_PRELOAD=libjemalloc.so.2 build/release/bench/write_path_bench  # apiaryd's allocator
//
// Each benchmark (BM_SET, BM_INCR, BM_MSET) runs five times from a fresh cluster, a fixed
// number of rounds each (WRITE_PATH_ROUNDS, default 3000; MSET an eighth of it). Times on a
// shared VM swing by +-30 % between runs of one binary; the instructions each round executes
// do not (the same build gives the same count), so compare builds by those:
//
//   WRITE_PATH_ROUNDS=200 valgrind --tool=callgrind --collect-atstart=no
//     '--toggle-collect=*Cluster::round*' build/release/bench/write_path_bench
//     --benchmark_filter=BM_SET                                  (one command line)
//
// and divide callgrind's "Collected" by 5 runs x rounds x 48 commands per round.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "apiary/base/rng.hpp"
#include "apiary/core/node_core.hpp"
#include "apiary/resp/connection.hpp"

namespace {

using namespace apiary;

constexpr std::size_t kNodes = 3;
constexpr std::size_t kPipeline = 16;
constexpr std::uint64_t kKeyspace = 100000;
constexpr std::int64_t kWallEpochMs = 1'700'000'000'000;

class Cluster {
 public:
  Cluster() {
    for (std::size_t i = 0; i < kNodes; ++i) {
      core::NodeCoreConfig c;
      c.name = "n" + std::to_string(i);
      c.gossip_addr = c.name + ":7946";
      c.meta.data_addr = c.name + ":7947";
      c.meta.client_addr = c.name + ":6379";
      c.replication.replicas = 3;
      c.replication.write_quorum = 2;
      c.replication.read_quorum = 1;
      c.seed = 1000 + i;
      auto made = core::NodeCore::create(c, now_);
      if (!made.ok()) std::abort();
      by_addr_[c.gossip_addr] = i;
      by_addr_[c.meta.data_addr] = i;
      nodes_.push_back(std::move(made).value());
    }
    nodes_[0]->join(now_, wall(), {});
    for (std::size_t i = 1; i < kNodes; ++i) nodes_[i]->join(now_, wall(), {"n0:7946"});
    // Let gossip run until every node routes with all three members.
    for (int step = 0; step < 100000 && !formed(); ++step) {
      deliver();
      TimePoint next = nodes_[0]->next_deadline();
      for (auto& n : nodes_) next = std::min(next, n->next_deadline());
      now_ = std::max(now_, next);
      for (auto& n : nodes_) {
        if (n->next_deadline() <= now_) n->handle_timeout(now_, wall());
      }
    }
    if (!formed()) std::abort();
    for (std::size_t i = 0; i < kNodes; ++i) {
      clients_.push_back(nodes_[i]->resp_server().connect(
          now_, resp::ClientAddress{"c" + std::to_string(i) + ":1", "n:6379", -1}));
    }
  }
  ~Cluster() { clients_.clear(); }

  // One pipeline of kPipeline commands through every node; returns when all are answered.
  // Not inlined, so that callgrind can count its instructions alone (see the top).
  [[gnu::noinline]] void round(const std::string& command, Rng& rng) {
    for (std::size_t i = 0; i < kNodes; ++i) {
      std::string bytes;
      for (std::size_t k = 0; k < kPipeline; ++k) bytes += request(command, rng);
      clients_[i]->feed(now_, wall(), bytes);
    }
    for (bool progress = true; progress;) {
      progress = false;
      for (std::size_t i = 0; i < kNodes; ++i) {
        nodes_[i]->settle(now_, wall());
        for (auto& reply : nodes_[i]->take_client_replies()) {
          clients_[i]->complete(reply.token, reply.bytes, now_, wall());
          progress = true;
        }
      }
      progress = deliver() || progress;
    }
    for (auto& c : clients_) c->consume_output(c->output().size());
  }

 private:
  WallTime wall() const { return WallTime{kWallEpochMs + to_nanos(now_) / 1'000'000}; }

  bool formed() const {
    for (const auto& n : nodes_) {
      if (!n->serving() || n->replicator().view().members().size() != kNodes) return false;
      for (const auto& m : n->replicator().view().members()) {
        if (!m.live) return false;
      }
    }
    return true;
  }

  // Hands every queued message to its target until none is left.
  bool deliver() {
    bool any = false;
    for (bool progress = true; progress;) {
      progress = false;
      for (std::size_t i = 0; i < kNodes; ++i) {
        while (auto out = nodes_[i]->poll_gossip_send()) {
          progress = true;
          nodes_[by_addr_.at(out->to)]->handle_gossip(now_, wall(), out->bytes);
        }
        while (auto out = nodes_[i]->poll_data_send()) {
          progress = true;
          nodes_[by_addr_.at(out->to)]->handle_data(now_, wall(), out->bytes);
        }
      }
      any = any || progress;
    }
    return any;
  }

  static std::string bulk(std::string_view s) {
    return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
  }
  static std::string key(Rng& rng) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "key:%012llu",
                  static_cast<unsigned long long>(rng.uniform(kKeyspace)));
    return buf;
  }
  // As redis-benchmark: 3-byte values, MSET of 10 keys.
  static std::string request(const std::string& command, Rng& rng) {
    if (command == "SET") return "*3\r\n$3\r\nSET\r\n" + bulk(key(rng)) + bulk("xxx");
    if (command == "INCR") return "*2\r\n$4\r\nINCR\r\n" + bulk(key(rng));
    std::string out = "*21\r\n$4\r\nMSET\r\n";
    for (int k = 0; k < 10; ++k) out += bulk(key(rng)) + bulk("xxx");
    return out;
  }

  TimePoint now_{};
  std::vector<std::unique_ptr<core::NodeCore>> nodes_;
  std::vector<std::unique_ptr<resp::Connection>> clients_;
  std::map<std::string, std::size_t> by_addr_;
};

void run(benchmark::State& state, const std::string& command) {
  Cluster cluster;
  Rng rng(42);
  for (auto _ : state) cluster.round(command, rng);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kNodes * kPipeline));
}

}  // namespace

// A fixed number of rounds from a fresh cluster, so that every run does the same work (the
// share of first writes of a key, which insert, falls as the keyspace fills).
int main(int argc, char** argv) {
  const char* env = std::getenv("WRITE_PATH_ROUNDS");
  const std::int64_t rounds = env != nullptr ? std::atoll(env) : 3000;
  for (const char* command : {"SET", "INCR", "MSET"}) {
    const std::string name = std::string("BM_") + command;
    benchmark::RegisterBenchmark(name.c_str(), [command](benchmark::State& state) {
      run(state, command);
    })
        ->Unit(benchmark::kMicrosecond)
        ->Iterations(std::string(command) == "MSET" ? std::max<std::int64_t>(rounds / 8, 1)
                                                     : rounds)
        ->Repetitions(5);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
