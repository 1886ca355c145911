// HSET / HGET through a Store on 100 hashes of N fields, for instruction counts that compare
// two trees (docs/benchmarks.md, "Hashes and sets"). Not built by CMake: build it against each
// tree's release libraries, run it under callgrind with 0 and with OPS operations, and divide
// the difference by OPS:
//
//   T=/path/to/tree; cmake --preset release && cmake --build --preset release --target apiary_store
//   c++ -std=c++20 -O2 -I$T/libnode/include -I$T/gossip/include bench/collection_ops.cpp -o ops \
//     $T/build/release/libnode/store/libapiary_store.a $T/build/release/libnode/data/libapiary_data.a \
//     $(find $T/build/release/libnode/wire $T/build/release/gossip -name '*.a') \
//     $T/build/release/libnode/data/libapiary_data.a -lxxhash
//   for ops in 0 20000; do valgrind --tool=callgrind --callgrind-out-file=/dev/null ./ops 1000 $ops hget; done
//
// Usage: ops FIELDS OPS hset|hget
#include <cstdio>
#include <cstdlib>
#include <string>
#include "apiary/data/collection.hpp"
#include "apiary/store/store.hpp"
using namespace apiary;
using namespace apiary::data;
int main(int argc, char** argv) {
  const int n = std::atoi(argv[1]);       // elements per collection
  const int ops = std::atoi(argv[2]);     // operations measured
  const std::string what = argv[3];       // hset | hget
  store::StoreConfig cfg;
  cfg.self = NodeId{1};
  store::Store s(cfg);
  WallTime now{1'700'000'000'000};
  const int keys = 100;
  for (int k = 0; k < keys; ++k) {
    (void)s.edit_collection("h" + std::to_string(k), ValueKind::hash, now, [&](store::Store::CollectionEdit& e) {
      for (int i = 0; i < n; ++i) e.collection.set("field:" + std::to_string(i), "value:" + std::to_string(i) + "xxxxxxxxxxxxxxxxxxxxxxxxx", e.dot, e.stamp);
      return true;
    });
  }
  unsigned long long sum = 0;
  std::uint64_t x = 88172645463325252ull;
  for (int op = 0; op < ops; ++op) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    const std::string key = "h" + std::to_string(x % keys);
    const std::string field = "field:" + std::to_string((x >> 20) % n);
    if (what == "hset") {
      (void)s.edit_collection(key, ValueKind::hash, now, [&](store::Store::CollectionEdit& e) {
        e.collection.set(field, "newvalue-newvalue-newvalue-12345", e.dot, e.stamp);
        return true;
      });
      (void)s.take_delta(key);
    } else {
      bool wrong = false;
      const Collection* c = s.read_collection(key, ValueKind::hash, now, wrong);
      auto e = c->find(field);
      std::string scratch;
      if (e) sum += Collection::value_of(*e, scratch).size();
    }
  }
  std::printf("%llu\n", sum);
}
