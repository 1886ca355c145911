// `apiary check-aof [--fix] FILE` as an operator runs it: the real binary on a real file
// written by AofWriter, torn at the end, reported, repaired, and clean afterwards.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <string>

#include "apiary/persist/aof_writer.hpp"
#include "apiary/persist/posix_env.hpp"

using namespace apiary;
using namespace apiary::persist;

namespace {

struct Run {
  int status = -1;
  std::string output;
};

Run run_cli(const std::string& args) {
  const std::string cmd = std::string(APIARY_CLI_PATH) + " check-aof " + args + " 2>&1";
  Run r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[512];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) r.output.append(buf, n);
  const int rc = ::pclose(pipe);
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return r;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("apiary check-aof reports a torn AOF and --fix repairs it", "[integration][cli]") {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("apiary-check-aof-cli-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "appendonly.aof").string();
  PosixEnv env;
  std::uint64_t good_end = 0;
  {
    auto writer = AofWriter::open(env, path, NodeId{0xabc}, {FsyncPolicy::always}, TimePoint{});
    REQUIRE(writer.ok());
    for (int i = 0; i < 100; ++i) {
      REQUIRE(writer.value()->append(RemoveRecord{"key" + std::to_string(i)}).ok());
    }
    good_end = writer.value()->appended();
    REQUIRE(writer.value()->append(RemoveRecord{std::string(200, 'k')}).ok());
    REQUIRE(writer.value()->close(TimePoint{}).ok());
  }
  const std::uint64_t torn_size = env.file_size(path).value() - 50;
  REQUIRE(env.truncate(path, torn_size).ok());
  const std::string dropped = std::to_string(torn_size - good_end);

  const Run check = run_cli(path);
  INFO(check.output);
  CHECK(check.status == 1);
  CHECK(contains(check.output, "created by actor 0000000000000abc"));
  CHECK(contains(check.output, "records: 100"));
  CHECK(contains(check.output, "last good offset: " + std::to_string(good_end)));
  CHECK(contains(check.output, "problem: truncated"));
  CHECK(contains(check.output, "drops " + dropped + " bytes"));
  CHECK(env.file_size(path).value() == torn_size);

  const Run fix = run_cli("--fix " + path);
  INFO(fix.output);
  CHECK(fix.status == 0);
  CHECK(contains(fix.output, "drops " + dropped + " bytes"));
  CHECK(contains(fix.output, "fixed: " + dropped + " bytes dropped, 100 records kept"));
  CHECK(env.file_size(path).value() == good_end);

  const Run again = run_cli(path);
  INFO(again.output);
  CHECK(again.status == 0);
  CHECK(contains(again.output, "OK"));

  const std::string other = (dir / "not-an-aof").string();
  {
    auto file = env.create(other);
    REQUIRE(file.ok());
    REQUIRE(file.value()->append(std::vector<std::uint8_t>(64, 'x')).ok());
  }
  const Run wrong = run_cli(other);
  INFO(wrong.output);
  CHECK(wrong.status == 2);
  CHECK(contains(wrong.output, "not an Apiary append-only file"));
  CHECK(run_cli((dir / "missing").string()).status == 2);
  // An empty file is what a writer starts from: nothing to repair.
  const std::string empty = (dir / "empty.aof").string();
  REQUIRE(env.create(empty).ok());
  const Run blank = run_cli(empty);
  INFO(blank.output);
  CHECK(blank.status == 0);
  CHECK(contains(blank.output, "OK: an empty file"));
  std::filesystem::remove_all(dir);
}
