// The cost of node-to-node encryption (runtime/keyring.hpp): seal + open of one message with
// AES-256-GCM, at the sizes gossip (probes, acks and piggybacked updates up to the 1400-byte
// packet budget; push-pull of a large cluster is bigger) and the data channel (replication,
// forwards: ~100 B; handoff batches up to 64 KiB) carry. Prints ns per message, MB/s and the
// bytes a sealed message adds (counter `overhead_B`). docs/benchmarks.md, "Encryption between
// nodes", turns these into a per-node gossip cost.
//
//   cmake --build --preset release --target keyring_bench && build/release/bench/keyring_bench
#include <benchmark/benchmark.h>

#include "apiary/runtime/keyring.hpp"

namespace {

using apiary::runtime::ClusterKey;
using apiary::runtime::KeyChannel;
using apiary::runtime::Keyring;

ClusterKey key_of(std::uint8_t fill) {
  ClusterKey key{};
  key.fill(fill);
  return key;
}

std::unique_ptr<Keyring> ring(std::vector<ClusterKey> keys) {
  return std::move(Keyring::create(std::move(keys), "apiary")).value();
}

std::vector<std::uint8_t> message(std::size_t size) {
  std::vector<std::uint8_t> out(size);
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::uint8_t>(i * 31 + 7);
  if (size > 0) out[0] = 0x96;  // a msgpack envelope
  return out;
}

void report(benchmark::State& state, std::size_t size) {
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
  state.counters["overhead_B"] = static_cast<double>(Keyring::kOverhead);
}

// Sender seals, receiver opens with the same key (the primary): the steady state.
void BM_SealOpen(benchmark::State& state, KeyChannel channel) {
  const auto size = static_cast<std::size_t>(state.range(0));
  auto sender = ring({key_of(1)});
  auto receiver = ring({key_of(1)});
  const auto plain = message(size);
  std::vector<std::uint8_t> sealed;
  std::vector<std::uint8_t> opened;
  for (auto _ : state) {
    if (!sender->seal(channel, plain, sealed)) state.SkipWithError("seal failed");
    if (receiver->open(channel, sealed, opened) != Keyring::OpenResult::opened) {
      state.SkipWithError("open failed");
    }
    benchmark::DoNotOptimize(opened.data());
  }
  report(state, size);
}
BENCHMARK_CAPTURE(BM_SealOpen, gossip, KeyChannel::gossip)->Arg(64)->Arg(200)->Arg(700)->Arg(1400);
BENCHMARK_CAPTURE(BM_SealOpen, data, KeyChannel::data)
    ->Arg(100)
    ->Arg(1024)
    ->Arg(4096)
    ->Arg(16384)
    ->Arg(65536);

// Seal alone and open alone, for a 200-byte probe.
void BM_Seal(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  auto sender = ring({key_of(1)});
  const auto plain = message(size);
  std::vector<std::uint8_t> sealed;
  for (auto _ : state) {
    sender->seal(KeyChannel::gossip, plain, sealed);
    benchmark::DoNotOptimize(sealed.data());
  }
  report(state, size);
}
BENCHMARK(BM_Seal)->Arg(200)->Arg(1400);

// During a rotation (step 2 reached some nodes only): the message opens with the second key,
// after the primary failed.
void BM_OpenWithSecondKey(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  auto sender = ring({key_of(2)});
  auto receiver = ring({key_of(1), key_of(2)});
  std::vector<std::uint8_t> sealed;
  sender->seal(KeyChannel::gossip, message(size), sealed);
  std::vector<std::uint8_t> opened;
  for (auto _ : state) {
    if (receiver->open(KeyChannel::gossip, sealed, opened) != Keyring::OpenResult::opened) {
      state.SkipWithError("open failed");
    }
  }
  report(state, size);
}
BENCHMARK(BM_OpenWithSecondKey)->Arg(200)->Arg(1400);

// A message that no key opens (an outsider's, or forged): what refusing it costs, per key.
void BM_Reject(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  auto outsider = ring({key_of(9)});
  std::vector<ClusterKey> keys = {key_of(1)};
  for (int i = 1; i < state.range(1); ++i) keys.push_back(key_of(static_cast<std::uint8_t>(i + 1)));
  auto receiver = ring(keys);
  std::vector<std::uint8_t> sealed;
  outsider->seal(KeyChannel::gossip, message(size), sealed);
  std::vector<std::uint8_t> opened;
  for (auto _ : state) {
    if (receiver->open(KeyChannel::gossip, sealed, opened) != Keyring::OpenResult::no_key) {
      state.SkipWithError("opened");
    }
  }
  report(state, size);
}
BENCHMARK(BM_Reject)->Args({1400, 1})->Args({1400, 2})->Args({65536, 1});

}  // namespace

BENCHMARK_MAIN();
