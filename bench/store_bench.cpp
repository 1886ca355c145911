// Store micro-benchmarks: single-thread get and put over 1M keys (16-byte keys, 32-byte
// values), and (with --memory-report) bytes per key for the same data set, measured from the
// allocator (glibc mallinfo2) and from the store's own accounting.
//
//   store_bench --benchmark_filter=Store          # throughput
//   store_bench --memory-report [keys]           # bytes/key (used by store_memory_vs_redis.sh)
//   store_bench --latency-report [keys]          # worst single put while growing to 2M keys
//   store_bench --benchmark_filter=Skew          # insertion cost by key order (BM_SkewInsert:
//                                                # store; BM_SkewTableInsert: the table alone)
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "../libnode/store/table.hpp"
#include "apiary/base/rng.hpp"
#include "apiary/data/partition.hpp"
#include "apiary/store/store.hpp"

using namespace apiary;
using namespace apiary::store;

namespace {

constexpr std::size_t kKeys = 1'000'000;
const WallTime kNow{1'700'000'000'000};

std::string key_of(std::size_t i) {
  std::string digits = std::to_string(i);
  return "key:" + std::string(12 - std::min<std::size_t>(12, digits.size()), '0') + digits;
}
std::string value_of(std::size_t i) {
  std::string digits = std::to_string(i);
  return "value:" + std::string(26 - std::min<std::size_t>(26, digits.size()), '0') + digits;
}

struct Fixture {
  Fixture() {
    StoreConfig c;
    c.self = NodeId{1};
    store = std::make_unique<Store>(c);
    keys.reserve(kKeys);
    for (std::size_t i = 0; i < kKeys; ++i) {
      keys.push_back(key_of(i));
      if (!store->put_local(keys.back(), value_of(i), kNow).ok()) std::abort();
    }
  }
  std::unique_ptr<Store> store;
  std::vector<std::string> keys;
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

// A large odd stride visits every key once per kKeys steps in a cache-unfriendly order.
constexpr std::size_t kStride = 611'953;

void BM_StoreGet(benchmark::State& state) {
  Fixture& f = fixture();
  std::size_t i = 0;
  for (auto _ : state) {
    auto v = f.store->get_value(f.keys[i], kNow);
    benchmark::DoNotOptimize(v);
    i = (i + kStride) % kKeys;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StoreGet);

void BM_StoreGetMissing(benchmark::State& state) {
  Fixture& f = fixture();
  std::vector<std::string> missing;
  for (std::size_t i = 0; i < 4096; ++i) missing.push_back(key_of(kKeys + i));
  std::size_t i = 0;
  for (auto _ : state) {
    auto v = f.store->get_value(missing[i++ & 4095], kNow);
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StoreGetMissing);

void BM_StorePutOverwrite(benchmark::State& state) {
  Fixture& f = fixture();
  const std::string value = value_of(42);
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.store->put_local(f.keys[i], value, kNow));
    i = (i + kStride) % kKeys;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StorePutOverwrite);

// Reference point measured in the same run: std::unordered_map<string, string> holding the
// same 1M keys, same access order. Tells machine noise apart from store cost.
void BM_UnorderedMapGet(benchmark::State& state) {
  Fixture& f = fixture();
  static const auto* map = [&] {
    auto* m = new std::unordered_map<std::string, std::string>();
    m->reserve(kKeys);
    for (std::size_t i = 0; i < kKeys; ++i) (*m)[f.keys[i]] = value_of(i);
    return m;
  }();
  std::size_t i = 0;
  for (auto _ : state) {
    auto it = map->find(f.keys[i]);
    benchmark::DoNotOptimize(it);
    i = (i + kStride) % kKeys;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UnorderedMapGet);

// Fresh inserts into an empty store up to 1M keys (includes table growth).
void BM_StorePutInsert1M(benchmark::State& state) {
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < kKeys; ++i) keys.push_back(key_of(i));
  const std::string value = value_of(7);
  for (auto _ : state) {
    StoreConfig c;
    c.self = NodeId{1};
    Store s(c);
    for (const auto& k : keys) benchmark::DoNotOptimize(s.put_local(k, value, kNow));
    state.PauseTiming();
    s.clear();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kKeys));
}
BENCHMARK(BM_StorePutInsert1M)->Unit(benchmark::kMillisecond)->Iterations(3);

// ---- insertion cost by key order ----------------------------------------------------------
// The table sorts entries by order key (partition id first), so the order in which keys
// arrive must not matter: these insert N fresh keys into an empty store in several orders.
// A handoff receiver gets keys partition by partition, in the sender's order-key order; a
// hostile client can pick keys that all fall into one partition (~1024 tries per key).

constexpr unsigned kPartitionBits = 10;  // the default 1024 partitions

std::uint64_t order_key(std::string_view key) {
  const std::uint64_t h = data::key_hash(key);
  return (h >> kPartitionBits) | (h << (64 - kPartitionBits));
}

enum class KeyOrder { random, sorted, by_partition, one_partition };

// key_of(i) for i in [0, n), or (one_partition) the first n candidates "key:%012d" whose
// partition is 0.
std::vector<std::string> make_keys(std::size_t n, KeyOrder order) {
  std::vector<std::string> keys;
  keys.reserve(n);
  if (order == KeyOrder::one_partition) {
    for (std::size_t i = 0; keys.size() < n; ++i) {
      std::string k = key_of(i);
      if ((data::key_hash(k) & ((1u << kPartitionBits) - 1)) == 0) keys.push_back(std::move(k));
    }
    return keys;
  }
  for (std::size_t i = 0; i < n; ++i) keys.push_back(key_of(i));
  if (order == KeyOrder::sorted) {
    std::sort(keys.begin(), keys.end(), [](const std::string& a, const std::string& b) {
      return order_key(a) < order_key(b);
    });
  } else if (order == KeyOrder::by_partition) {
    // Partition by partition, random order inside each (stable sort on the partition id).
    std::stable_sort(keys.begin(), keys.end(), [](const std::string& a, const std::string& b) {
      return order_key(a) >> (64 - kPartitionBits) < order_key(b) >> (64 - kPartitionBits);
    });
  }
  return keys;
}

const std::vector<std::string>& cached_keys(std::size_t n, KeyOrder order) {
  static std::map<std::pair<std::size_t, int>, std::vector<std::string>> cache;
  auto& keys = cache[{n, static_cast<int>(order)}];
  if (keys.empty()) keys = make_keys(n, order);
  return keys;
}

void BM_SkewInsert(benchmark::State& state, KeyOrder order) {
  const auto& keys = cached_keys(static_cast<std::size_t>(state.range(0)), order);
  const std::string value = value_of(7);
  for (auto _ : state) {
    StoreConfig c;
    c.self = NodeId{1};
    Store s(c);
    for (const auto& k : keys) benchmark::DoNotOptimize(s.put_local(k, value, kNow));
    state.PauseTiming();
    s.clear();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(keys.size()));
}
BENCHMARK_CAPTURE(BM_SkewInsert, random, KeyOrder::random)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
BENCHMARK_CAPTURE(BM_SkewInsert, sorted, KeyOrder::sorted)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
BENCHMARK_CAPTURE(BM_SkewInsert, by_partition, KeyOrder::by_partition)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
BENCHMARK_CAPTURE(BM_SkewInsert, one_partition, KeyOrder::one_partition)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

// The table alone, with synthetic order keys: skew a client cannot produce cheaply through
// the hash (all keys in one digest bucket of one partition: ~65,536 tries per key).
enum class Synthetic { random, sorted, one_partition, one_bucket };

std::vector<std::uint64_t> make_orders(std::size_t n, Synthetic kind) {
  Rng rng(42);
  std::vector<std::uint64_t> out(n);
  for (auto& o : out) {
    const std::uint64_t r = rng.next();
    switch (kind) {
      case Synthetic::random:
      case Synthetic::sorted:
        o = r;
        break;
      case Synthetic::one_partition:  // partition 517 of 1024
        o = (std::uint64_t{517} << 54) | (r >> 10);
        break;
      case Synthetic::one_bucket:  // bucket 33 of partition 517
        o = (std::uint64_t{517} << 54) | (std::uint64_t{33} << 48) | (r >> 16);
        break;
    }
  }
  if (kind == Synthetic::sorted) std::sort(out.begin(), out.end());
  return out;
}

void BM_SkewTableInsert(benchmark::State& state, Synthetic kind) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const std::vector<std::uint64_t> orders = make_orders(n, kind);
  store::detail::Entry* e = store::detail::allocate_entry(0, "k", 0);  // shared: not freed per key
  for (auto _ : state) {
    store::detail::Table t;
    for (std::uint64_t o : orders) benchmark::DoNotOptimize(t.insert(o, e));
    state.PauseTiming();
    t.clear();
    state.ResumeTiming();
  }
  store::detail::free_entry(e);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}
BENCHMARK_CAPTURE(BM_SkewTableInsert, random, Synthetic::random)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
BENCHMARK_CAPTURE(BM_SkewTableInsert, sorted, Synthetic::sorted)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
BENCHMARK_CAPTURE(BM_SkewTableInsert, one_partition, Synthetic::one_partition)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
BENCHMARK_CAPTURE(BM_SkewTableInsert, one_bucket, Synthetic::one_bucket)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

int memory_report(std::size_t n) {
  std::vector<std::string> keys;
  keys.reserve(n);
  for (std::size_t i = 0; i < n; ++i) keys.push_back(key_of(i));
  malloc_trim(0);
  const std::size_t before = mallinfo2().uordblks + mallinfo2().hblkhd;
  StoreConfig c;
  c.self = NodeId{1};
  auto store = std::make_unique<Store>(c);
  for (std::size_t i = 0; i < n; ++i) {
    if (!store->put_local(keys[i], value_of(i), kNow).ok()) return 1;
  }
  const std::size_t after = mallinfo2().uordblks + mallinfo2().hblkhd;  // + mmapped blocks
  std::printf("keys %zu\n", store->size());
  std::printf("heap_bytes_per_key %.1f\n", static_cast<double>(after - before) / n);
  std::printf("used_memory_per_key %.1f\n", static_cast<double>(store->used_memory()) / n);
  std::printf("entry_bytes_per_key %.1f\n", static_cast<double>(store->entries_memory()) / n);
  std::printf("table_bytes_per_key %.1f\n",
              static_cast<double>(store->used_memory() - store->entries_memory()) / n);
  return 0;
}

// Worst single put_local while inserting `n` fresh keys: shows whether table growth stalls.
// Reports wall time and this thread's CPU time (which excludes preemption by other
// processes, the main noise on a shared machine, but includes page faults).
double thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

void keep_top(std::vector<double>& top, double v) {
  if (top.size() < 5 || v > top.back()) {
    top.push_back(v);
    std::sort(top.begin(), top.end(), std::greater<>());
    if (top.size() > 5) top.pop_back();
  }
}

int latency_report(std::size_t n) {
  StoreConfig c;
  c.self = NodeId{1};
  Store store(c);
  const std::string value = value_of(1);
  std::vector<double> wall;
  std::vector<double> cpu;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string key = key_of(i);
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = thread_cpu_us();
    if (!store.put_local(key, value, kNow).ok()) return 1;
    keep_top(cpu, thread_cpu_us() - c0);
    keep_top(
        wall,
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::printf("keys %zu\nworst_put_wall_us", store.size());
  for (double w : wall) std::printf(" %.0f", w);
  std::printf("\nworst_put_cpu_us");
  for (double w : cpu) std::printf(" %.0f", w);
  std::printf("\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "--memory-report") == 0) {
    return memory_report(argc >= 3 ? std::stoul(argv[2]) : kKeys);
  }
  if (argc >= 2 && std::strcmp(argv[1], "--latency-report") == 0) {
    return latency_report(argc >= 3 ? std::stoul(argv[2]) : 2 * kKeys);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
