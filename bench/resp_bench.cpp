// RESP hot path: parse + look up + execute + write the reply, through Connection, for
// pipelined and single GET/SET, the way the runtime drives it (no sockets). Prints
// commands/s; compare with redis-benchmark figures for the whole server. The second
// argument is 1 when commands are timed as apiaryd times them (the monotonic clock read
// around each command, latency histograms kept: INFO commandstats/latencystats, /metrics),
// 0 for no clock and latency-tracking off: the cost of per-command statistics.
//
//   ./build/release/bench/resp_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "apiary/resp/connection.hpp"
#include "apiary/resp/server.hpp"
#include "apiary/runtime/event_loop.hpp"
#include "apiary/store/store.hpp"

// Counts heap allocations so the report can show allocations per command on the hot path.
// GCC 12 inlines the replaced operators into their callers and then flags malloc/free in
// them as "mismatched" with new/delete (a known false positive of -Wmismatched-new-delete).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
static std::atomic<std::uint64_t> g_allocations{0};
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

std::string bulk_cmd(std::initializer_list<std::string_view> args) {
  std::string s = "*" + std::to_string(args.size()) + "\r\n";
  for (auto a : args) {
    s += "$" + std::to_string(a.size()) + "\r\n";
    s.append(a);
    s += "\r\n";
  }
  return s;
}

struct Fixture {
  apiary::store::Store store{apiary::store::StoreConfig{}};
  apiary::resp::Server server;
  std::unique_ptr<apiary::resp::Connection> conn;
  apiary::TimePoint now{};
  apiary::WallTime wall{1'700'000'000'000};

  Fixture() {
    server.attach_store(&store);
    conn = server.connect(now, {});
  }
  void round(const std::string& batch) {
    conn->feed(now, wall, batch);
    conn->consume_output(conn->output().size());
  }
};

// redis-benchmark's key space: key:__rand_int__ over 100k keys, 3-byte values.
std::string make_batch(const char* op, int pipeline, int& counter) {
  std::string batch;
  for (int i = 0; i < pipeline; ++i) {
    const std::string key = "key:" + std::to_string(counter++ % 100000);
    batch += std::string(op) == "SET" ? bulk_cmd({"SET", key, "xxx"}) : bulk_cmd({"GET", key});
  }
  return batch;
}

void run(benchmark::State& state, const char* op) {
  Fixture f;
  if (state.range(1) != 0) {
    f.server.set_clock(&apiary::runtime::core_now);
  } else {
    (void)f.server.config().set({{"latency-tracking", "no"}});
  }
  const int pipeline = static_cast<int>(state.range(0));
  int counter = 0;
  // Pre-built batches so the loop measures the server side only.
  std::vector<std::string> batches;
  for (int i = 0; i < 64; ++i) batches.push_back(make_batch(op, pipeline, counter));
  if (std::string(op) == "GET") {  // GETs hit existing keys
    int c2 = 0;
    for (int i = 0; i < 64; ++i) f.round(make_batch("SET", pipeline, c2));
  }
  std::size_t i = 0;
  const std::uint64_t allocs_before = g_allocations.load();
  for (auto _ : state) {
    f.round(batches[i++ & 63]);
  }
  state.counters["allocs/cmd"] = static_cast<double>(g_allocations.load() - allocs_before) /
                                 static_cast<double>(state.iterations() * pipeline);
  state.SetItemsProcessed(state.iterations() * pipeline);
  state.counters["cmds/s"] = benchmark::Counter(static_cast<double>(state.iterations() * pipeline),
                                                benchmark::Counter::kIsRate);
}

void BM_Set(benchmark::State& state) { run(state, "SET"); }
void BM_Get(benchmark::State& state) { run(state, "GET"); }

void BM_ParseOnly(benchmark::State& state) {
  const std::string batch = [] {
    std::string b;
    for (int i = 0; i < 16; ++i) b += bulk_cmd({"GET", "key:" + std::to_string(i)});
    return b;
  }();
  apiary::resp::RequestParser parser;
  for (auto _ : state) {
    std::string_view buf = batch;
    while (!buf.empty()) {
      parser.parse(buf);
      benchmark::DoNotOptimize(parser.argv().data());
      buf.remove_prefix(parser.consumed());
      parser.reset();
    }
  }
  state.SetItemsProcessed(state.iterations() * 16);
}

}  // namespace

BENCHMARK(BM_Set)->ArgsProduct({{1, 16}, {0, 1}});
BENCHMARK(BM_Get)->ArgsProduct({{1, 16}, {0, 1}});
BENCHMARK(BM_ParseOnly);
BENCHMARK_MAIN();
