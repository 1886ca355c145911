// The embedding API's near cache (NodeConfig::near_cache_keys): three embedded members in one
// process with one owner per key (replicas 1, as lookup_service would run beside bigger
// clusters), calls on the first. get() of keys other members own, with the near cache on and
// off, over a skewed key choice (80 % of reads on 20 % of the keys, as a lookup cache sees)
// and with a writer changing 1 % of the reads' keys through another member. Counters: the
// near cache's hit rate. Run: build/release/bench/near_cache_bench.
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "apiary/node.hpp"

namespace {

using namespace std::chrono_literals;

constexpr int kKeys = 10000;
const std::string kValue(100, 'v');

std::string key(int i) { return "lookup:" + std::to_string(i); }

apiary::NodeConfig config(const std::string& name, std::size_t near,
                          std::vector<std::string> seeds = {}) {
  apiary::NodeConfig c;
  c.name = name;
  c.gossip_addr = "127.0.0.1:0";
  c.seeds = std::move(seeds);
  c.replicas = 1;
  c.write_quorum = 1;
  c.near_cache_keys = near;
  c.log_level = "warn";
  return c;
}

struct Cluster {
  std::vector<std::unique_ptr<apiary::Node>> nodes;
  std::vector<std::string> remote;  // the keys read
};

Cluster make(const std::string& prefix, std::size_t near) {
  Cluster c;
  c.nodes.push_back(std::move(apiary::Node::start(config(prefix + "1", near))).value());
  for (int i = 2; i <= 3; ++i) {
    c.nodes.push_back(std::move(apiary::Node::start(config(
                                    prefix + std::to_string(i), 0, {c.nodes[0]->gossip_addr()})))
                          .value());
  }
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    std::set<std::string> owners;
    for (const auto& p : c.nodes[0]->partitions()) owners.insert(p.owners.begin(), p.owners.end());
    if (owners.size() == 3) break;
    std::this_thread::sleep_for(100ms);
  }
  for (int i = 0; i < kKeys; ++i) (void)c.nodes[1]->set(key(i), kValue);
  // Every key is read; about a third are the first member's own, which its near cache never
  // holds (a local read is as fast), so the hit rate tops out near two thirds.
  for (int i = 0; i < kKeys; ++i) c.remote.push_back(key(i));
  return c;
}

Cluster& with_near() {
  static Cluster c = make("near", kKeys);
  return c;
}
Cluster& without_near() {
  static Cluster c = make("plain", 0);
  return c;
}

// 80 % of reads on the first 20 % of the keys.
int pick(std::uint64_t& x) {
  x = x * 6364136223846793005ULL + 1442695040888963407ULL;
  const std::uint64_t r = x >> 33;
  return (r % 100) < 80 ? static_cast<int>(r % (kKeys / 5)) : static_cast<int>(r % kKeys);
}

void run_gets(benchmark::State& state, Cluster& c, int write_every) {
  std::uint64_t x = 42;
  std::int64_t n = 0;
  const auto before = c.nodes[0]->stats();
  for (auto _ : state) {
    const int i = pick(x);
    if (write_every > 0 && ++n % write_every == 0) (void)c.nodes[2]->set(key(i), kValue);
    auto r = c.nodes[0]->get(c.remote[static_cast<std::size_t>(i)]);
    benchmark::DoNotOptimize(r);
  }
  const auto after = c.nodes[0]->stats();
  const auto hits = static_cast<double>(after.near_cache_hits - before.near_cache_hits);
  const auto misses = static_cast<double>(after.near_cache_misses - before.near_cache_misses);
  state.counters["near_hit_rate"] = hits + misses > 0 ? hits / (hits + misses) : 0.0;
  state.counters["invalidations"] =
      static_cast<double>(after.near_cache_invalidations - before.near_cache_invalidations);
}

void BM_get_near_cache(benchmark::State& state) { run_gets(state, with_near(), 0); }
void BM_get_no_near_cache(benchmark::State& state) { run_gets(state, without_near(), 0); }
void BM_get_near_cache_1pct_writes(benchmark::State& state) {
  run_gets(state, with_near(), 100);
}
void BM_get_no_near_cache_1pct_writes(benchmark::State& state) {
  run_gets(state, without_near(), 100);
}

BENCHMARK(BM_get_near_cache)->Unit(benchmark::kMicrosecond)->MinTime(2.0);
BENCHMARK(BM_get_no_near_cache)->Unit(benchmark::kMicrosecond)->MinTime(2.0);
BENCHMARK(BM_get_near_cache_1pct_writes)->Unit(benchmark::kMicrosecond)->MinTime(2.0);
BENCHMARK(BM_get_no_near_cache_1pct_writes)->Unit(benchmark::kMicrosecond)->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
