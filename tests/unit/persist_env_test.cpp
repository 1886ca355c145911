// The storage seam: CRC-32C, SimEnv's crash and fsync-failure model (what the durability
// code is tested against), and PosixEnv on real files.
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "apiary/persist/crc32c.hpp"
#include "apiary/persist/posix_env.hpp"
#include "apiary/persist/sim_env.hpp"
#include "persist_test_support.hpp"

using namespace apiary;
using namespace apiary::persist;

namespace {

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

std::vector<std::uint8_t> read_all(Env& env, const std::string& path) {
  auto file = env.open_read(path);
  REQUIRE(file.ok());
  std::vector<std::uint8_t> out;
  std::vector<std::uint8_t> chunk(7);  // small reads exercise the loop
  while (true) {
    auto n = file.value()->read(chunk);
    REQUIRE(n.ok());
    if (n.value() == 0) return out;
    out.insert(out.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n.value()));
  }
}

// A file with `synced` bytes synced, then `unsynced` more appended.
void write_file(SimEnv& env, const std::string& path, std::string_view synced,
                std::string_view unsynced) {
  auto file = env.create(path);
  REQUIRE(file.ok());
  REQUIRE(file.value()->append(bytes(synced)).ok());
  REQUIRE(file.value()->sync().ok());
  REQUIRE(file.value()->append(bytes(unsynced)).ok());
}

}  // namespace

TEST_CASE("persist: crc32c matches the Castagnoli known answers", "[unit][persist]") {
  CHECK(crc32c("123456789") == 0xE3069283u);
  CHECK(crc32c("") == 0u);
  std::vector<std::uint8_t> zeros(32, 0);
  CHECK(crc32c(zeros) == 0x8A9136AAu);  // RFC 3720 B.4
  const std::string a = "hello, ";
  const std::string b = "world";
  CHECK(crc32c_extend(crc32c(a), bytes(b)) == crc32c(a + b));
}

TEST_CASE("persist: SimEnv: a crash keeps synced bytes and loses unsynced ones",
          "[unit][persist]") {
  SimEnvOptions options;
  options.torn_tail_on_crash = false;
  SimEnv env(options);
  write_file(env, "d/aof", "synced", "-unsynced");
  CHECK(read_all(env, "d/aof") == bytes("synced-unsynced"));
  CHECK(env.durable_size("d/aof") == 6);
  env.crash();
  CHECK(read_all(env, "d/aof") == bytes("synced"));
  CHECK(env.stats().bytes_lost == 9);
}

TEST_CASE("persist: SimEnv: a crash may keep a prefix of the unsynced tail, chosen by the seed",
          "[unit][persist]") {
  std::set<std::size_t> sizes;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    SimEnvOptions options;
    options.seed = seed;
    SimEnv env(options);
    write_file(env, "aof", "synced", "0123456789");
    env.crash();
    const auto after = read_all(env, "aof");
    REQUIRE(after.size() >= 6);
    REQUIRE(after.size() <= 16);
    CHECK(std::equal(after.begin(), after.end(), bytes("synced0123456789").begin()));
    sizes.insert(after.size());
    // The same seed tears the same way.
    SimEnv again(options);
    write_file(again, "aof", "synced", "0123456789");
    again.crash();
    CHECK(read_all(again, "aof") == after);
  }
  CHECK(sizes.size() > 3);  // torn at different points, not always all or nothing
}

TEST_CASE("persist: SimEnv: names, handles and renames across a crash", "[unit][persist]") {
  SimEnv env;
  auto never_synced = env.create("tmp");
  REQUIRE(never_synced.ok());
  REQUIRE(never_synced.value()->append(bytes("x")).ok());
  write_file(env, "old", "old contents", "");
  env.crash();
  CHECK_FALSE(env.exists("tmp"));  // its name was never made durable
  CHECK(env.exists("old"));
  // A handle opened before the crash is dead.
  CHECK(never_synced.value()->append(bytes("y")).code() == StatusCode::io_error);

  // Rename is durable at once, and an open handle keeps writing to the renamed inode.
  auto tmp = env.create("new.tmp");
  REQUIRE(tmp.ok());
  REQUIRE(tmp.value()->append(bytes("new contents")).ok());
  REQUIRE(tmp.value()->sync().ok());
  REQUIRE(env.rename("new.tmp", "old").ok());
  CHECK_FALSE(env.exists("new.tmp"));
  env.crash();
  CHECK(read_all(env, "old") == bytes("new contents"));
  auto names = env.list("");
  REQUIRE(names.ok());
  CHECK(names.value() == std::vector<std::string>{"old"});
  CHECK(env.remove("old").ok());
  CHECK(env.remove("old").code() == StatusCode::not_found);
}

TEST_CASE("persist: SimEnv: a failed fsync is an io_error and makes nothing durable",
          "[unit][persist]") {
  SimEnvOptions options;
  options.sync_failure_probability = 1.0;
  options.torn_tail_on_crash = false;
  SimEnv env(options);
  auto file = env.create("aof");
  REQUIRE(file.ok());
  REQUIRE(file.value()->append(bytes("abc")).ok());
  const Status s = file.value()->sync();
  CHECK(s.code() == StatusCode::io_error);
  CHECK(env.durable_size("aof") == 0);
  CHECK(env.stats().failed_syncs == 1);
  env.crash();
  CHECK_FALSE(env.exists("aof"));

  // With a probability in between, the failures are a function of the seed.
  auto pattern = [](std::uint64_t seed) {
    SimEnvOptions o;
    o.seed = seed;
    o.sync_failure_probability = 0.5;
    SimEnv e(o);
    auto f = e.create("f");
    std::string outcomes;
    for (int i = 0; i < 32; ++i) outcomes += f.value()->sync().ok() ? '.' : 'x';
    return outcomes;
  };
  CHECK(pattern(7) == pattern(7));
  CHECK(pattern(7).find('x') != std::string::npos);
  CHECK(pattern(7).find('.') != std::string::npos);
}

TEST_CASE("persist: SimEnv: truncate is durable and flip_byte corrupts in place",
          "[unit][persist]") {
  SimEnv env;
  write_file(env, "f", "abcdef", "gh");
  REQUIRE(env.truncate("f", 4).ok());
  env.crash();
  CHECK(read_all(env, "f") == bytes("abcd"));
  CHECK(env.flip_byte("f", 0));
  CHECK(read_all(env, "f") == bytes("`bcd"));
  CHECK_FALSE(env.flip_byte("f", 4));
}

TEST_CASE("persist: PosixEnv: write, sync, read, rename, list, truncate, remove",
          "[unit][persist]") {
  const persist_test::ScratchDir scratch("posix-env");
  const std::string dir = join_path(scratch.path, "sub");
  PosixEnv env;
  REQUIRE(env.create_dir(dir).ok());
  REQUIRE(env.create_dir(dir).ok());  // exists: fine
  const std::string a = join_path(dir, "a");
  {
    auto file = env.create(a);
    REQUIRE(file.ok());
    REQUIRE(file.value()->append(bytes("hello ")).ok());
    REQUIRE(file.value()->sync().ok());
    REQUIRE(file.value()->close().ok());
  }
  {
    auto file = env.open_append(a);
    REQUIRE(file.ok());
    CHECK(file.value()->size() == 6);
    REQUIRE(file.value()->append(bytes("world")).ok());
    REQUIRE(file.value()->sync().ok());
  }
  CHECK(read_all(env, a) == bytes("hello world"));
  CHECK(env.file_size(a).value() == 11);
  const std::string b = join_path(dir, "b");
  REQUIRE(env.rename(a, b).ok());
  CHECK_FALSE(env.exists(a));
  CHECK(env.list(dir).value() == std::vector<std::string>{"b"});
  REQUIRE(env.truncate(b, 5).ok());
  CHECK(read_all(env, b) == bytes("hello"));
  REQUIRE(env.remove(b).ok());
  CHECK(env.open_read(b).status().code() == StatusCode::not_found);
  CHECK(env.file_size(b).status().code() == StatusCode::not_found);
}
