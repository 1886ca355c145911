// swim_bench: size and speed of the SWIM core.
//
//   swim_bench [nodes=200] [virtual_seconds=60] [google-benchmark flags...]
//
// Part 1 runs `nodes` Swim instances in one process on virtual time (the unit-test harness:
// 1 ms links, no loss), all joining through one seed at t=0; a tenth of them crash at a third
// of the run. It prints wall time, traffic, convergence and detection times, and memory per
// known member (the table estimate and the heap in use). Part 2 measures memory per member at
// the simulator's scale: 100 tables of 10,000 members each. Part 3 is Google Benchmark
// micro-benchmarks of the per-message paths through the public API.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>

#include "../tests/unit/support/swim_harness.hpp"
#include "apiary/wire/envelope.hpp"
#include "apiary/wire/msgpack_codec.hpp"

using namespace apiary;
using namespace apiary::gossip;
using apiary::test::SwimCluster;

namespace {

// Process CPU time: the machine may be shared, so wall time would overstate the cost.
double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

double vseconds(Duration d) { return std::chrono::duration<double>(d).count(); }

// Heap bytes in use (glibc), unlike RSS not inflated by freed peaks.
std::size_t heap_in_use() { return mallinfo2().uordblks; }

bool all_know_all(SwimCluster& c, std::size_t n) {
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (c.swim(i).alive_count() != n) return false;
  }
  return true;
}

void cluster_run(std::size_t nodes, Duration length) {
  const std::size_t heap_before = heap_in_use();
  const double cpu0 = cpu_seconds();
  SwimCluster c(2024);
  c.record_events(false);
  c.add_cluster(nodes);
  const bool converged = c.run_until([&] { return all_know_all(c, nodes); }, length / 3);
  const Duration converge_time = c.now() - TimePoint{};
  const double join_cpu = cpu_seconds() - cpu0;

  // Memory once the join storm's retransmissions are over (just before the crashes).
  const double steady_cpu0 = cpu_seconds();
  const TimePoint steady_from = c.now();
  c.run_until_time(TimePoint{} + length / 3);
  const double steady_cpu = cpu_seconds() - steady_cpu0;
  const double steady_node_seconds = static_cast<double>(nodes) * vseconds(c.now() - steady_from);
  const std::size_t heap_steady = heap_in_use() - heap_before;
  std::size_t table_bytes = 0;
  std::size_t known = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    table_bytes += c.swim(i).memory_bytes();
    known += c.swim(i).member_count();
  }

  const std::size_t crashed = std::max<std::size_t>(1, nodes / 10);
  for (std::size_t k = 0; k < crashed; ++k) c.crash(nodes - 1 - k);
  const TimePoint crash_at = c.now();
  const bool detected = c.run_until(
      [&] {
        for (std::size_t i = 0; i + crashed < nodes; ++i) {
          if (c.swim(i).alive_count() != nodes - crashed) return false;
        }
        return true;
      },
      TimePoint{} + length - c.now());
  const Duration detect_time = c.now() - crash_at;
  c.run_until_time(TimePoint{} + length);
  const double cpu = cpu_seconds() - cpu0;

  SwimStats total;
  for (std::size_t i = 0; i < c.size(); ++i) {
    const auto& s = c.swim(i).stats();
    total.messages_sent += s.messages_sent;
    total.bytes_sent += s.bytes_sent;
    total.push_pulls += s.push_pulls;
    total.refutations += s.refutations;
    total.malformed_dropped += s.malformed_dropped;
  }
  const double node_seconds = static_cast<double>(nodes) * vseconds(length);
  std::printf("cluster: %zu nodes, %.0f virtual s, CPU %.2f s (join until all know all: %.2f s)\n",
              nodes, vseconds(length), cpu, join_cpu);
  std::printf("  all know all: %s after %.2f virtual s\n", converged ? "yes" : "NO",
              vseconds(converge_time));
  std::printf("  CPU from then until the crashes: %.2f us per node per virtual second\n",
              steady_cpu * 1e6 / std::max(steady_node_seconds, 1.0));
  std::printf("  %zu crashed at %.0f s: all survivors agree %s after %.2f s\n", crashed,
              vseconds(crash_at - TimePoint{}), detected ? "yes" : "NO", vseconds(detect_time));
  std::printf("  messages: %llu delivered, %.1f sent per node per s, %.0f bytes per node per s\n",
              static_cast<unsigned long long>(c.delivered()),
              static_cast<double>(total.messages_sent) / node_seconds,
              static_cast<double>(total.bytes_sent) / node_seconds);
  std::printf(
      "  CPU per delivered message (harness included): %.2f us; events: %llu; "
      "push-pulls: %llu; refutations: %llu; malformed: %llu\n",
      cpu * 1e6 / static_cast<double>(std::max<std::uint64_t>(c.delivered(), 1)),
      static_cast<unsigned long long>(c.event_count()),
      static_cast<unsigned long long>(total.push_pulls),
      static_cast<unsigned long long>(total.refutations),
      static_cast<unsigned long long>(total.malformed_dropped));
  std::printf(
      "  memory at %.0f s: %zu member entries, table estimate %.1f B/entry, "
      "heap in use %.1f B/entry (everything: queues, harness, in-flight messages)\n",
      vseconds(crash_at - TimePoint{}), known,
      static_cast<double>(table_bytes) / static_cast<double>(known),
      static_cast<double>(heap_steady) / static_cast<double>(known));
}

// A push-pull reply listing `members` members, as a seed would send it. Hand-encoded in the
// layout documented in gossip/swim/codec.hpp, so that building it needs no cluster that big.
// `with_meta`: realistic addresses ("10.0.39.255:7946", often longer than the 15 bytes a
// std::string holds inline) and distinct metadata; otherwise the simulator's style ("n123",
// "n123:7946") and no metadata.
std::vector<std::uint8_t> big_push_pull_reply(std::size_t members, bool with_meta) {
  std::vector<std::uint8_t> payload;
  wire::VectorSink sink(payload);
  wire::Packer p(sink);
  p.pack_array(2);
  p.pack_false();
  p.pack_array(static_cast<std::uint32_t>(members));
  char name[32];
  char ip[32];
  for (std::size_t i = 0; i < members; ++i) {
    if (with_meta) {
      std::snprintf(name, sizeof name, "node-%05zu", i);
      std::snprintf(ip, sizeof ip, "10.%zu.%zu.%zu", i >> 16, (i >> 8) & 255, i & 255);
    } else {
      std::snprintf(name, sizeof name, "n%zu", i);
      std::snprintf(ip, sizeof ip, "n%zu", i);
    }
    p.pack_array(5);
    p.pack_uint8(0);  // alive
    wire::pack_str(p, name);
    p.pack_uint64(i % 3);
    wire::pack_str(p, std::string(ip) + ":7946");
    p.pack_array(4);
    wire::pack_str(p, with_meta ? std::string(ip) + ":6379" : "");
    wire::pack_str(p, with_meta ? std::string(ip) + ":8080" : "");
    wire::pack_str(p, "");
    p.pack_map(with_meta ? 1 : 0);
    if (with_meta) {
      wire::pack_str(p, "zone");
      wire::pack_str(p, i % 2 == 0 ? "a" : "b");
    }
  }
  return wire::encode_envelope(
      {"apiary", wire::MessageType::push_pull_reply, "node-00000", "10.0.0.0:7946"}, payload);
}

// Heap per known member when `tables` Swim instances each learn `members` members from one
// push-pull reply. `joining`: the reply answers their join (nothing is queued for gossip);
// otherwise every member is new news and sits in the broadcast queue too.
void table_size(std::size_t tables, std::size_t members, bool with_meta, bool joining) {
  const auto reply = big_push_pull_reply(members, with_meta);
  const std::size_t heap_before = heap_in_use();
  const double cpu0 = cpu_seconds();
  std::vector<std::unique_ptr<Swim>> swims;
  std::size_t estimate = 0;
  for (std::size_t t = 0; t < tables; ++t) {
    auto swim = std::make_unique<Swim>(
        SwimConfig{}, LocalNode{"observer-" + std::to_string(t), "obs:1", {}}, Rng(t), TimePoint{});
    swim->join(TimePoint{},
               joining ? std::vector<std::string>{"10.0.0.0:7946"} : std::vector<std::string>{});
    swim->handle_message(TimePoint{}, reply);
    while (swim->poll_send()) {
    }
    while (swim->poll_event()) {
    }
    estimate += swim->memory_bytes();
    swims.push_back(std::move(swim));
  }
  const double entries = static_cast<double>(tables * (members + 1));
  std::printf(
      "  %zu tables x %zu members, %s metadata, %s: heap %.1f B/entry "
      "(table estimate %.1f), merge %.2f us/entry\n",
      tables, members, with_meta ? "IP addresses, distinct" : "simulator names, no",
      joining ? "join reply (table only)" : "news (table + gossip queue)",
      static_cast<double>(heap_in_use() - heap_before) / entries,
      static_cast<double>(estimate) / entries, (cpu_seconds() - cpu0) * 1e6 / entries);
}

// A ping as node `a` sends it while probing `b`, and `b` answering it.
void BM_PingToAck(benchmark::State& state) {
  Swim a(SwimConfig{}, LocalNode{"a", "a:1", {}}, Rng(1), TimePoint{});
  Swim b(SwimConfig{}, LocalNode{"b", "b:1", {}}, Rng(2), TimePoint{});
  a.join(TimePoint{}, {});
  b.join(TimePoint{}, {"a:1"});
  // Introduce them: b's join push-pull to a, a's reply to b.
  while (auto out = b.poll_send()) a.handle_message(TimePoint{}, out->bytes);
  while (auto out = a.poll_send()) b.handle_message(TimePoint{}, out->bytes);
  TimePoint now{};
  std::vector<std::uint8_t> ping;
  while (ping.empty()) {  // a's first probe
    now = a.next_deadline();
    a.handle_timeout(now);
    while (auto out = a.poll_send()) {
      if (out->to == "b:1") ping = out->bytes;
    }
  }
  for (auto _ : state) {
    b.handle_message(now, ping);
    auto ack = b.poll_send();
    benchmark::DoNotOptimize(ack);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PingToAck);

// Merging a full member list that holds nothing new (the steady-state push-pull).
void BM_PushPullMerge(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  // Built once per size: Google Benchmark calls this function several times.
  static std::map<std::size_t, std::pair<std::unique_ptr<SwimCluster>, std::vector<std::uint8_t>>>
      setups;
  auto& [cluster, reply] = setups[n];
  if (!cluster) {
    cluster = std::make_unique<SwimCluster>(7);
    SwimCluster& c = *cluster;
    c.record_events(false);
    c.add_cluster(n);
    c.run_until([&] { return all_know_all(c, n); }, 120s);
    // n0's answer to a push-pull from an outsider carries the whole list.
    Swim outsider(SwimConfig{}, LocalNode{"x", "x:1", {}}, Rng(3), c.now());
    outsider.join(c.now(), {SwimCluster::addr_of(c.name(0))});
    c.swim(0).handle_message(c.now(), outsider.poll_send()->bytes);
    while (auto out = c.swim(0).poll_send()) {
      if (out->to == "x:1") reply = out->bytes;
    }
    c.swim(1).handle_message(c.now(), reply);  // n1 learns "x" once
    while (c.swim(1).poll_send()) {
    }
  }
  Swim& target = cluster->swim(1);
  for (auto _ : state) {
    target.handle_message(cluster->now(), reply);
    while (target.poll_send()) {
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(reply.size()));
}
BENCHMARK(BM_PushPullMerge)->Arg(100)->Arg(1000);

}  // namespace

int main(int argc, char** argv) {
  std::size_t nodes = 200;
  double length_s = 60;
  int rest = 1;
  if (argc > rest && argv[rest][0] != '-') nodes = std::strtoul(argv[rest++], nullptr, 10);
  if (argc > rest && argv[rest][0] != '-') length_s = std::strtod(argv[rest++], nullptr);
  cluster_run(nodes, std::chrono::duration_cast<Duration>(std::chrono::duration<double>(length_s)));
  std::printf("member tables at simulator scale:\n");
  table_size(100, 10000, false, true);
  table_size(100, 10000, true, true);
  table_size(100, 10000, true, false);
  argv[rest - 1] = argv[0];
  int bench_argc = argc - rest + 1;
  benchmark::Initialize(&bench_argc, argv + rest - 1);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
