// Seeded random BITFIELD/BITCOUNT/BITPOS/GETRANGE lines for bitmap_differential_test.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "apiary/base/rng.hpp"
#include "integration/support/differential.hpp"

namespace apiary::test {

// Seeded random lines: BITFIELD writes and reads of random widths, offsets, values and
// overflow modes on one key, and BITCOUNT/BITPOS/GETRANGE over random ranges of it.
inline std::vector<DiffLine> random_lines(std::vector<std::string>& owned) {
  owned.clear();
  apiary::Rng rng(0x9e3779b97f4a7c15ULL);
  const auto next = [&] { return rng.next(); };
  const auto pick = [&](std::int64_t lo, std::int64_t hi) {
    const std::uint64_t span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo) + 1;
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + next() % span);
  };
  const char* overflow[] = {"WRAP", "SAT", "FAIL"};
  const char* ops[] = {"SET", "INCRBY", "GET"};
  for (int i = 0; i < 150; ++i) {
    std::string line = "BITFIELD rnd";
    for (int k = 0; k < 3; ++k) {
      const bool is_signed = next() % 2 == 0;
      const std::int64_t bits = is_signed ? pick(1, 64) : pick(1, 63);
      const std::string type = (is_signed ? "i" : "u") + std::to_string(bits);
      const std::string offset =
          next() % 4 == 0 ? "#" + std::to_string(pick(0, 30)) : std::to_string(pick(0, 400));
      line += std::string(" OVERFLOW ") + overflow[next() % 3];
      const char* op = ops[next() % 3];
      line += std::string(" ") + op + " " + type + " " + offset;
      if (op[0] != 'G') {
        // Values near the limits of the width, and anywhere in 64 bits.
        const std::int64_t limit =
            bits >= 63 ? INT64_MAX : static_cast<std::int64_t>(std::uint64_t{1} << bits);
        const std::int64_t value = next() % 2 == 0 ? pick(-limit / 2 - 2, limit / 2 + 2)
                                                   : static_cast<std::int64_t>(next());
        line += " " + std::to_string(value);
      }
    }
    owned.push_back(line);
    if (i % 5 == 0) {
      const std::int64_t a = pick(-60, 60), b = pick(-60, 60);
      const char* unit = next() % 2 == 0 ? " BIT" : " BYTE";
      owned.push_back("BITCOUNT rnd " + std::to_string(a) + " " + std::to_string(b) + unit);
      owned.push_back("BITPOS rnd " + std::to_string(next() % 2) + " " + std::to_string(a) + " " +
                      std::to_string(b) + unit);
      owned.push_back("BITPOS rnd " + std::to_string(next() % 2) + " " + std::to_string(a));
      owned.push_back("GETRANGE rnd " + std::to_string(a) + " " + std::to_string(b));
    }
  }
  owned.emplace_back("GET rnd");
  std::vector<DiffLine> out;
  for (const auto& s : owned) out.push_back(DiffLine{s.c_str()});
  return out;
}

// Offsets at proto-max-bulk-len, set to 1 MB on both sides (and every cluster member).
}  // namespace apiary::test
