// Durability as an operator sees it: real apiaryd processes with data directories, killed with
// SIGKILL and started again. What was acknowledged must come back (docs/persistence.md).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "integration/support/cluster.hpp"
#include "integration/support/daemon.hpp"
#include "integration/support/redis_server.hpp"

using namespace apiary::test;

namespace {

std::string data_dir(const std::string& name) {
  static int n = 0;
  auto dir = scratch_dir() / ("data-" + name + "-" + std::to_string(n++));
  std::filesystem::remove_all(dir);
  return dir.string();
}

std::string request(const std::vector<std::string>& argv) {
  std::string req = "*" + std::to_string(argv.size()) + "\r\n";
  for (const auto& a : argv) req += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return req;
}

// Sends the commands pipelined, `window` at a time; returns every reply in order.
std::vector<std::string> pipeline(RespClient& c, const std::vector<std::vector<std::string>>& cmds,
                                  std::size_t window = 256) {
  std::vector<std::string> replies;
  for (std::size_t i = 0; i < cmds.size(); i += window) {
    const std::size_t end = std::min(cmds.size(), i + window);
    std::string batch;
    for (std::size_t k = i; k < end; ++k) batch += request(cmds[k]);
    c.send_raw(batch);
    for (std::size_t k = i; k < end; ++k) replies.push_back(c.reply());
  }
  return replies;
}

std::string bulk(const std::string& s) { return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n"; }

long long info_number(const Daemon& d, const std::string& section, const std::string& field) {
  const std::string info = cli(d, "INFO " + section);
  const auto at = info.find(field + ":");
  if (at == std::string::npos) return -1;
  return std::stoll(info.substr(at + field.size() + 1));
}

std::vector<std::string> dir_flags(const std::string& dir, std::vector<std::string> more = {}) {
  std::vector<std::string> flags = {"--dir", dir};
  flags.insert(flags.end(), more.begin(), more.end());
  return flags;
}

}  // namespace

TEST_CASE("appendfsync always: every acknowledged write and its TTL survive kill -9",
          "[integration][persistence]") {
  const std::string dir = data_dir("always");
  const auto flags = dir_flags(dir, {"--appendonly", "yes", "--appendfsync", "always"});
  constexpr int kKeys = 10000;
  std::vector<std::vector<std::string>> writes;
  for (int i = 0; i < kKeys; ++i) {
    writes.push_back({"SET", "key:" + std::to_string(i), "value:" + std::to_string(i), "EX",
                      std::to_string(1000 + i)});
  }
  for (int i = 0; i < 100; ++i) writes.push_back({"INCRBY", "counter:" + std::to_string(i), "7"});
  int acknowledged = 0;
  {
    Daemon node("always", flags);
    RespClient c(node.redis_port());
    for (const auto& reply : pipeline(c, writes)) {
      if (reply == "+OK\r\n" || reply == ":7\r\n") ++acknowledged;
    }
    node.kill_now();
  }
  REQUIRE(acknowledged == kKeys + 100);

  Daemon again("always", flags);
  CHECK(again.log().find("loaded AOF") != std::string::npos);
  RespClient c(again.redis_port());
  std::vector<std::vector<std::string>> reads;
  for (int i = 0; i < kKeys; ++i) reads.push_back({"GET", "key:" + std::to_string(i)});
  const auto values = pipeline(c, reads);
  int present = 0;
  for (int i = 0; i < kKeys; ++i) {
    if (values[static_cast<std::size_t>(i)] == bulk("value:" + std::to_string(i))) ++present;
  }
  CHECK(present == kKeys);
  for (int i = 0; i < kKeys; i += 97) {
    // The expiry is absolute on disk: what is left is the TTL minus the time since the write.
    const std::string ttl = c.command({"TTL", "key:" + std::to_string(i)});
    const long long left = std::stoll(ttl.substr(1));
    CHECK(left <= 1000 + i);
    CHECK(left >= 1000 + i - 60);
  }
  for (int i = 0; i < 100; ++i) {
    CHECK(c.command({"GET", "counter:" + std::to_string(i)}) == bulk("7"));
  }
  CHECK(info_number(again, "persistence", "aof_enabled") == 1);
}

// The fields and values of an HGETALL reply (RESP2: an array of bulk strings).
std::map<std::string, std::string> hgetall_fields(const std::string& reply) {
  std::map<std::string, std::string> out;
  std::size_t at = reply.find("\r\n");
  REQUIRE((reply.size() > 1 && reply[0] == '*' && at != std::string::npos));
  const long long n = std::stoll(reply.substr(1, at - 1));
  at += 2;
  std::string field;
  for (long long i = 0; i < n; ++i) {
    REQUIRE(reply[at] == '$');
    const std::size_t line = reply.find("\r\n", at);
    const auto len = static_cast<std::size_t>(std::stoll(reply.substr(at + 1, line - at - 1)));
    std::string value = reply.substr(line + 2, len);
    at = line + 2 + len + 2;
    if (i % 2 == 0) {
      field = std::move(value);
    } else {
      out[field] = std::move(value);
    }
  }
  return out;
}

TEST_CASE("appendonly: writes to a 20000-field hash append deltas and survive kill -9",
          "[integration][persistence]") {
  const std::string dir = data_dir("hash");
  const std::string aof = dir + "/appendonly.aof";
  const auto flags = dir_flags(dir, {"--appendonly", "yes", "--appendfsync", "always"});
  constexpr int kFields = 20000;
  std::map<std::string, std::string> model;
  std::vector<std::vector<std::string>> create;
  for (int i = 0; i < kFields; i += 1000) {
    std::vector<std::string> cmd = {"HSET", "big"};
    for (int k = i; k < i + 1000; ++k) {
      const std::string field = "field:" + std::to_string(k);
      const std::string value = "value:" + std::to_string(k) + std::string(24, 'v');
      cmd.push_back(field);
      cmd.push_back(value);
      model[field] = value;
    }
    create.push_back(std::move(cmd));
  }
  // 2,000 writes: HSET of existing and new fields, HDEL, HINCRBY of counter fields; the
  // expected reply of each is computed from the model, so an acknowledged write is one that
  // answered as Redis would.
  std::vector<std::vector<std::string>> writes;
  std::vector<std::string> expected;
  for (int i = 0; i < 2000; ++i) {
    const int pick = (i * 7919) % kFields;
    const std::string field = "field:" + std::to_string(pick);
    if (i % 5 == 3) {
      writes.push_back({"HDEL", "big", field});
      expected.push_back(model.erase(field) > 0 ? ":1\r\n" : ":0\r\n");
    } else if (i % 5 == 4) {
      const std::string counter = "n:" + std::to_string(i % 37);
      long long v = model.count(counter) ? std::stoll(model[counter]) : 0;
      v += i;
      model[counter] = std::to_string(v);
      writes.push_back({"HINCRBY", "big", counter, std::to_string(i)});
      expected.push_back(":" + std::to_string(v) + "\r\n");
    } else {
      const std::string f = i % 5 == 2 ? "new:" + std::to_string(i) : field;
      const bool fresh = model.count(f) == 0;
      model[f] = "w" + std::to_string(i);
      writes.push_back({"HSET", "big", f, model[f]});
      expected.push_back(fresh ? ":1\r\n" : ":0\r\n");
    }
  }
  std::uintmax_t created_size = 0;
  {
    Daemon node("hash", flags);
    RespClient c(node.redis_port());
    for (const auto& reply : pipeline(c, create, 4)) REQUIRE(reply == ":1000\r\n");
    created_size = std::filesystem::file_size(aof);
    const auto replies = pipeline(c, writes, 64);
    REQUIRE(replies.size() == writes.size());
    for (std::size_t i = 0; i < replies.size(); ++i) {
      CAPTURE(i, writes[i]);
      REQUIRE(replies[i] == expected[i]);  // every write acknowledged
    }
    node.kill_now();
  }
  // The hash is about `created_size` bytes on disk; a whole entry per write would have added
  // that much 2,000 times.
  const auto final_size = std::filesystem::file_size(aof);
  INFO("AOF after creating the hash: " << created_size << " bytes, after 2,000 writes: "
                                       << final_size);
  CHECK(created_size > 500'000);
  CHECK(final_size < 2000 * created_size / 100);
  CHECK(final_size - created_size < 2000 * 300);

  Daemon again("hash", flags);
  CHECK(again.log().find("loaded AOF") != std::string::npos);
  RespClient c(again.redis_port());
  const auto got = hgetall_fields(c.command({"HGETALL", "big"}));
  CHECK(got.size() == model.size());
  CHECK(got == model);
}

TEST_CASE("a BGSAVE snapshot is what a restart without the AOF loads",
          "[integration][persistence]") {
  const std::string dir = data_dir("snapshot");
  std::vector<std::vector<std::string>> before, after;
  for (int i = 0; i < 2000; ++i) {
    before.push_back({"SET", "s:" + std::to_string(i), "v" + std::to_string(i)});
  }
  before.push_back({"SET", "ttl", "t", "EX", "5000"});
  for (int i = 0; i < 500; ++i) after.push_back({"SET", "after:" + std::to_string(i), "x"});
  after.push_back({"SET", "s:0", "changed"});
  {
    Daemon node("snap", dir_flags(dir));
    RespClient c(node.redis_port());
    pipeline(c, before);
    REQUIRE(c.command({"BGSAVE"}) == "+Background saving started\r\n");
    REQUIRE(eventually(20s, [&] {
      return info_number(node, "persistence", "rdb_bgsave_in_progress") == 0 &&
             info_number(node, "persistence", "rdb_saves") == 1;
    }));
    CHECK(cli(node, "INFO persistence").find("rdb_last_bgsave_status:ok") != std::string::npos);
    const long long lastsave = std::stoll(c.command({"LASTSAVE"}).substr(1));
    CHECK(lastsave > 1700000000);
    pipeline(c, after);
    node.kill_now();
  }
  Daemon again("snap", dir_flags(dir));
  RespClient c(again.redis_port());
  CHECK(c.command({"DBSIZE"}) == ":2001\r\n");
  CHECK(c.command({"GET", "s:0"}) == bulk("v0"));
  CHECK(c.command({"GET", "s:1999"}) == bulk("v1999"));
  CHECK(c.command({"EXISTS", "after:0"}) == ":0\r\n");
  const long long ttl = std::stoll(c.command({"TTL", "ttl"}).substr(1));
  CHECK(ttl > 4900);
  CHECK(info_number(again, "persistence", "rdb_last_load_keys_loaded") == 2001);
}

TEST_CASE("a torn AOF loads up to its last whole record, and check-aof --fix repairs it",
          "[integration][persistence]") {
  const std::string dir = data_dir("torn");
  const std::string aof = dir + "/appendonly.aof";
  const auto flags = dir_flags(dir, {"--appendonly", "yes", "--appendfsync", "always"});
  {
    Daemon node("torn", flags);
    RespClient c(node.redis_port());
    std::vector<std::vector<std::string>> writes;
    for (int i = 0; i < 100; ++i) writes.push_back({"SET", "k" + std::to_string(i), "v"});
    pipeline(c, writes);
    node.kill_now();
  }
  // What a crash in the middle of a write leaves: the start of a record.
  const auto whole = std::filesystem::file_size(aof);
  {
    std::ofstream out(aof, std::ios::app | std::ios::binary);
    out.write("\x12\x34\x56\x78\x40\x00\x00\x00\x01\x93", 10);
  }
  SECTION("aof-load-truncated yes (the default) truncates it and starts") {
    Daemon again("torn", flags);
    CHECK(again.log().find("truncated") != std::string::npos);
    CHECK(cli(again, "DBSIZE").find("100") != std::string::npos);
    CHECK(info_number(again, "persistence", "apiary_loaded_truncated_bytes") == 10);
    CHECK(std::filesystem::file_size(aof) >= whole);
  }
  SECTION("aof-load-truncated no refuses to start until check-aof --fix") {
    auto refused = flags;
    refused.insert(refused.end(), {"--aof-load-truncated", "no"});
    bool started = true;
    std::string why;
    try {
      Daemon again("torn", refused);
    } catch (const std::exception& e) {
      started = false;
      why = e.what();
    }
    CHECK_FALSE(started);
    INFO(why);
    CHECK(why.find("check-aof --fix") != std::string::npos);
    const auto fixed = run(std::string(APIARY_CLI_PATH) + " check-aof --fix " + aof);
    CHECK(fixed.first == 0);
    CHECK(std::filesystem::file_size(aof) == whole);
    Daemon again("torn", refused);
    CHECK(cli(again, "DBSIZE").find("100") != std::string::npos);
  }
}

TEST_CASE("CONFIG SET appendonly yes writes a complete AOF while the node serves",
          "[integration][persistence]") {
  const std::string dir = data_dir("config");
  {
    Daemon node("cfg", dir_flags(dir));
    RespClient c(node.redis_port());
    std::vector<std::vector<std::string>> writes;
    for (int i = 0; i < 3000; ++i) writes.push_back({"SET", "c" + std::to_string(i), "v"});
    pipeline(c, writes);
    CHECK(c.command({"CONFIG", "GET", "appendonly"}) == "*2\r\n" + bulk("appendonly") + bulk("no"));
    CHECK(c.command({"CONFIG", "SET", "appendonly", "yes"}) == "+OK\r\n");
    CHECK(c.command({"CONFIG", "SET", "appendfsync", "always"}) == "+OK\r\n");
    CHECK(c.command({"SET", "late", "1"}) == "+OK\r\n");
    REQUIRE(eventually(20s, [&] {
      return info_number(node, "persistence", "aof_rewrites") == 1 &&
             info_number(node, "persistence", "aof_enabled") == 1;
    }));
    CHECK(c.command({"SET", "later", "2"}) == "+OK\r\n");
    CHECK(c.command({"CONFIG", "SET", "dir", "/tmp"}).find("can't set protected config") !=
          std::string::npos);
    node.kill_now();
  }
  Daemon again("cfg", dir_flags(dir, {"--appendonly", "yes"}));
  CHECK(cli(again, "DBSIZE").find("3002") != std::string::npos);
  CHECK(cli(again, "GET late").find("1") != std::string::npos);
}

TEST_CASE("a restarted member answers every key written while it was down, at once, with R=1",
          "[integration][persistence][cluster]") {
  const std::string base = data_dir("warm");
  auto flags_of = [&](const std::string& name) {
    return dir_flags(base + "/" + name, {"--appendonly", "yes", "--read-quorum", "1"});
  };
  std::vector<std::unique_ptr<Daemon>> nodes;
  nodes.push_back(std::make_unique<Daemon>("warm1", flags_of("warm1")));
  for (const char* name : {"warm2", "warm3"}) {
    auto flags = flags_of(name);
    flags.insert(flags.end(), {"--seeds", nodes.front()->gossip()});
    nodes.push_back(std::make_unique<Daemon>(name, flags));
  }
  REQUIRE(eventually(10s, [&] {
    for (const auto& n : nodes) {
      if (info_field(*n, "cluster_alive_members") != 3) return false;
    }
    return true;
  }));
  {
    RespClient c(nodes[0]->redis_port());
    std::vector<std::vector<std::string>> early;
    for (int i = 0; i < 1000; ++i) early.push_back({"SET", "early:" + std::to_string(i), "e"});
    for (const auto& r : pipeline(c, early)) REQUIRE(r == "+OK\r\n");
  }
  nodes[2]->kill_now();
  // Once the others see it gone, every write goes to a live coordinator and is acknowledged
  // (before that, writes forwarded to it fail, and a client would retry them).
  REQUIRE(eventually(20s, [&] {
    return info_field(*nodes[0], "cluster_alive_members") == 2 &&
           info_field(*nodes[1], "cluster_alive_members") == 2;
  }));
  constexpr int kKeys = 5000;
  int acknowledged = 0;
  {
    RespClient a(nodes[0]->redis_port());
    RespClient b(nodes[1]->redis_port());
    std::vector<std::vector<std::string>> half_a, half_b;
    for (int i = 0; i < kKeys; ++i) {
      (i % 2 == 0 ? half_a : half_b)
          .push_back({"SET", "down:" + std::to_string(i), "d" + std::to_string(i)});
    }
    for (const auto& r : pipeline(a, half_a)) acknowledged += r == "+OK\r\n" ? 1 : 0;
    for (const auto& r : pipeline(b, half_b)) acknowledged += r == "+OK\r\n" ? 1 : 0;
  }
  REQUIRE(acknowledged == kKeys);
  auto flags = flags_of("warm3");
  flags.insert(flags.end(), {"--seeds", nodes.front()->gossip()});
  nodes[2] = std::make_unique<Daemon>("warm3", flags);
  RespClient c(nodes[2]->redis_port());
  std::vector<std::vector<std::string>> reads;
  for (int i = 0; i < kKeys; ++i) reads.push_back({"GET", "down:" + std::to_string(i)});
  for (int i = 0; i < 1000; ++i) reads.push_back({"GET", "early:" + std::to_string(i)});
  const auto replies = pipeline(c, reads);
  int present = 0;
  std::string first_miss;
  for (int i = 0; i < kKeys + 1000; ++i) {
    const std::string want = i < kKeys ? bulk("d" + std::to_string(i)) : bulk("e");
    if (replies[static_cast<std::size_t>(i)] == want) {
      ++present;
    } else if (first_miss.empty()) {
      first_miss = reads[static_cast<std::size_t>(i)][1] + " -> " + replies[static_cast<std::size_t>(i)];
    }
  }
  INFO("first miss: " << first_miss);
  CHECK(present == kKeys + 1000);
  CHECK(nodes[2]->log().find("loaded AOF") != std::string::npos);
  CHECK(info_field(*nodes[2], "cluster_start_catch_ups") > 0);
}

TEST_CASE("without --dir a node keeps no files and says so", "[integration][persistence]") {
  Daemon node("nodir", {});
  RespClient c(node.redis_port());
  CHECK(c.command({"CONFIG", "SET", "appendonly", "yes"}) ==
        "-ERR CONFIG SET failed (possibly related to argument 'appendonly') - this node has no "
        "data directory (apiaryd --dir)\r\n");
  CHECK(c.command({"CONFIG", "SET", "save", ""}) == "+OK\r\n");  // already so: accepted
  CHECK(c.command({"BGSAVE"}) == "-ERR persistence is not available on this node\r\n");
  CHECK(c.command({"SAVE", "x"}) == "-ERR wrong number of arguments for 'save' command\r\n");
  CHECK(c.command({"BGSAVE", "NOW"}) == "-ERR syntax error\r\n");
  const auto refused = run(std::string(APIARYD_PATH) + " --appendonly yes");
  CHECK(refused.first == 2);
  CHECK(refused.second.find("need --dir") != std::string::npos);
}
