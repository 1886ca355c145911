// Rng: the only source of randomness a protocol core may use.
//
// xoshiro256** seeded through splitmix64, with our own range, real, shuffle and sample
// functions so that a seed replays bit-for-bit on any standard library (std:: distributions
// are implementation-defined). `split()` derives an independent generator, which is how the
// simulator gives every node its own stream from one master seed. Not thread-safe: each
// owner keeps its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace apiary {

class Rng {
 public:
  explicit Rng(std::uint64_t seed);

  std::uint64_t next();  // 64 uniformly random bits

  // Uniform in [0, bound); bound must be > 0. Unbiased (Lemire's multiply-and-reject).
  std::uint64_t uniform(std::uint64_t bound);
  // Uniform in [lo, hi] inclusive; lo <= hi.
  std::int64_t uniform_between(std::int64_t lo, std::int64_t hi);
  // Uniform double in [0, 1) with 53 random bits.
  double unit();
  // True with probability p (p <= 0 never, p >= 1 always).
  bool chance(double p);

  // Fisher-Yates, driven by uniform().
  template <typename T>
  void shuffle(std::span<T> items) {
    for (std::size_t i = items.size(); i > 1; --i) {
      const std::size_t j = static_cast<std::size_t>(uniform(i));
      using std::swap;
      swap(items[i - 1], items[j]);
    }
  }
  template <typename T>
  void shuffle(std::vector<T>& items) {
    shuffle(std::span<T>(items));
  }

  // k distinct indices from [0, n) in random order (all of them when k >= n).
  std::vector<std::size_t> sample(std::size_t n, std::size_t k);

  // A new generator whose stream is independent of this one's; advances this one.
  Rng split();

 private:
  std::uint64_t s_[4];
};

// splitmix64 step, also useful as a cheap integer mixer.
std::uint64_t splitmix64(std::uint64_t& state);

}  // namespace apiary
