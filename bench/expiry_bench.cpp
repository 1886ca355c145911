// What active expiry costs per key, to size the store's work budgets (StoreConfig
// expire_slow_cycle_keys / expire_fast_cycle_keys stand for Redis's 25 ms and 1 ms).
//
//   expiry_bench                       # all with 100k and 1M keys with an expiry
//
// BM_ExpireRemove: every key the cycle meets has expired (a burst of keys written with the
// same TTL): the time per key removed. BM_ExpireLookLive: none has (one loop of 20 per cycle,
// the steady state): the time per key looked at.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "apiary/store/store.hpp"

using namespace apiary;
using namespace apiary::store;

namespace {

const WallTime kNow{1'700'000'000'000};

std::unique_ptr<Store> filled(std::size_t keys, WallTime at) {
  StoreConfig c;
  c.self = NodeId{1};
  auto s = std::make_unique<Store>(c);
  for (std::size_t i = 0; i < keys; ++i) {
    if (!s->put_local("key:" + std::to_string(i), std::string(32, 'v'), kNow, ExpiryUpdate::set(at))
             .ok()) {
      std::abort();
    }
  }
  return s;
}

void BM_ExpireRemove(benchmark::State& state) {
  const auto keys = static_cast<std::size_t>(state.range(0));
  const WallTime later{kNow.ms + 1000};
  std::size_t removed = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto s = filled(keys, WallTime{kNow.ms + 200});
    state.ResumeTiming();
    // One slow cycle's budget at a time, as the node runs it.
    while (s->size() > 0) removed += s->active_expire_cycle(later, ExpireCycle::slow).expired;
    state.PauseTiming();
    s.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(removed));
}
BENCHMARK(BM_ExpireRemove)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

void BM_ExpireLookLive(benchmark::State& state) {
  const auto keys = static_cast<std::size_t>(state.range(0));
  auto s = filled(keys, WallTime{kNow.ms + 3'600'000});
  std::size_t looked = 0;
  for (auto _ : state) looked += s->active_expire_cycle(kNow, std::size_t{1000}).sampled;
  state.SetItemsProcessed(static_cast<std::int64_t>(looked));
}
BENCHMARK(BM_ExpireLookLive)->Arg(100'000)->Arg(1'000'000);

}  // namespace

BENCHMARK_MAIN();
