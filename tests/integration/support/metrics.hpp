// Integration-test support: reading a node's /metrics (Prometheus text or OpenMetrics) as a
// scraper would, and running promtool on it when it is installed.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "integration/support/daemon.hpp"

namespace apiary::test {

// The samples of one exposition: name, labels, value.
class Metrics {
 public:
  using Labels = std::map<std::string, std::string>;

  explicit Metrics(const std::string& text) {
    std::size_t at = 0;
    while (at < text.size()) {
      std::size_t end = text.find('\n', at);
      if (end == std::string::npos) end = text.size();
      const std::string line = text.substr(at, end - at);
      at = end + 1;
      if (line.empty() || line[0] == '#') continue;
      parse(line);
    }
  }

  // The value of the first sample named `name` whose labels include `labels`; -1 when none.
  double value(const std::string& name, const Labels& labels = {}) const {
    for (const auto& s : samples_) {
      if (s.name == name && includes(s.labels, labels)) return s.value;
    }
    return -1;
  }
  bool has(const std::string& name, const Labels& labels = {}) const {
    for (const auto& s : samples_) {
      if (s.name == name && includes(s.labels, labels)) return true;
    }
    return false;
  }
  // Every sample name (histograms' _bucket, _sum and _count included).
  std::set<std::string> names() const {
    std::set<std::string> out;
    for (const auto& s : samples_) out.insert(s.name);
    return out;
  }
  std::size_t size() const { return samples_.size(); }

 private:
  struct Sample {
    std::string name;
    Labels labels;
    double value = 0;
  };

  static bool includes(const Labels& have, const Labels& want) {
    for (const auto& [k, v] : want) {
      auto it = have.find(k);
      if (it == have.end() || it->second != v) return false;
    }
    return true;
  }

  void parse(const std::string& line) {
    Sample s;
    std::size_t i = line.find_first_of("{ ");
    if (i == std::string::npos) return;
    s.name = line.substr(0, i);
    if (line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const std::size_t eq = line.find('=', i);
        if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') return;
        const std::string key = line.substr(i, eq - i);
        std::string value;
        std::size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) {
            ++j;
            value.push_back(line[j] == 'n' ? '\n' : line[j]);
          } else {
            value.push_back(line[j]);
          }
        }
        s.labels[key] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      ++i;  // '}'
    }
    while (i < line.size() && line[i] == ' ') ++i;
    s.value = std::strtod(line.c_str() + i, nullptr);
    samples_.push_back(std::move(s));
  }

  std::vector<Sample> samples_;
};

inline bool promtool_available() { return run("command -v promtool").first == 0; }

// Runs `cmd` with `input` on its stdin; returns its exit status and output.
inline std::pair<int, std::string> run_with_input(const std::string& cmd,
                                                  const std::string& input) {
  static int counter = 0;
  const auto file = scratch_dir() / ("stdin-" + std::to_string(counter++) + ".txt");
  std::ofstream(file) << input;
  return run(cmd + " < " + file.string());
}

}  // namespace apiary::test
