// Command lines written as text in the differential tests (one apiaryd and one redis-server
// answering the same lines).
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace apiary::test {

// Space-separated words; "double quotes" group words, and '' is an empty argument.
inline std::vector<std::string> words(std::string_view line) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < line.size()) {
    if (line[i] == ' ') {
      ++i;
    } else if (line.substr(i, 2) == "''") {
      out.emplace_back();
      i += 2;
    } else if (line[i] == '"') {
      const std::size_t end = line.find('"', i + 1);
      out.emplace_back(line.substr(i + 1, end - i - 1));
      i = end + 1;
    } else {
      const std::size_t end = std::min(line.find(' ', i), line.size());
      out.emplace_back(line.substr(i, end - i));
      i = end;
    }
  }
  return out;
}

}  // namespace apiary::test
