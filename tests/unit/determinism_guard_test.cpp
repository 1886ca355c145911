// Protocol cores must take time and randomness from their caller (see STYLE.md). This test
// scans every source file of the cores and fails on a forbidden call, naming file and line.
// Drivers (folders named runtime/, zmq/, http/, apps/) are exempt: they are where the real
// clock, sockets and threads live.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {
const std::vector<std::string> kCoreRoots = {"gossip", "libnode", "sim"};
const std::vector<std::string> kDriverFolders = {"runtime", "zmq", "http", "embed", "apps"};

bool is_driver(const fs::path& p) {
  for (const auto& part : p) {
    for (const auto& d : kDriverFolders) {
      if (part == d) return true;
    }
  }
  return false;
}

std::vector<std::string> scan(const fs::path& root) {
  static const std::regex forbidden(
      R"((steady_clock|system_clock|high_resolution_clock)::now|sleep_for|sleep_until|)"
      R"(random_device|[^a-z_:.]rand\(|[^a-z_]srand\(|std::shuffle|uniform_(int|real)_distribution|)"
      R"(std::thread|std::jthread|std::async|\btime\(nullptr\)|gettimeofday|clock_gettime)");
  std::vector<std::string> hits;
  for (const auto& root_name : kCoreRoots) {
    const fs::path dir = root / root_name;
    if (!fs::exists(dir)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      const auto ext = entry.path().extension();
      if (ext != ".cpp" && ext != ".hpp" && ext != ".h" && ext != ".cc") continue;
      const fs::path rel = fs::relative(entry.path(), root);
      if (is_driver(rel)) continue;
      std::ifstream in(entry.path());
      std::string line;
      int number = 0;
      while (std::getline(in, line)) {
        ++number;
        const auto comment = line.find("//");
        const std::string code = comment == std::string::npos ? line : line.substr(0, comment);
        if (std::regex_search(code, forbidden)) {
          hits.push_back(rel.string() + ":" + std::to_string(number) + ": " + line);
        }
      }
    }
  }
  return hits;
}
}  // namespace

TEST_CASE("protocol cores use no wall clock, sleep, global randomness or threads",
          "[determinism]") {
  const auto hits = scan(APIARY_SOURCE_DIR);
  for (const auto& hit : hits) UNSCOPED_INFO(hit);
  CHECK(hits.empty());
}

TEST_CASE("the determinism guard catches a forbidden call", "[determinism]") {
  // Guard the guard: a fake core file with a forbidden call must be reported.
  const fs::path tmp = fs::temp_directory_path() / "apiary-guard-test";
  fs::remove_all(tmp);
  fs::create_directories(tmp / "gossip" / "swim");
  fs::create_directories(tmp / "gossip" / "zmq");
  std::ofstream(tmp / "gossip" / "swim" / "bad.cpp")
      << "auto t = std::chrono::steady_clock::now();\n";
  std::ofstream(tmp / "gossip" / "zmq" / "driver.cpp")
      << "auto t = std::chrono::steady_clock::now();\n";
  const auto hits = scan(tmp);
  fs::remove_all(tmp);
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].find("gossip/swim/bad.cpp:1") != std::string::npos);
}
