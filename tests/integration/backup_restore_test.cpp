// `apiary backup` and `apiary restore` as an operator runs them, on real clusters: a 3-node
// cluster with strings, counters, TTLs and deletes is backed up (also with a member killed
// just before, and then with a second one hung, so their partitions come from the next live
// owner) and restored into a fresh 5-node cluster with another partition count; every key
// reads back through several nodes with its value and TTL, deleted keys stay deleted, and
// restoring the same backup again after newer writes brings no old value back. After a
// FLUSHALL only --overwrite restores. Hashes and sets come back with every field, member and
// TTL, by merge and by --overwrite.
#include <sys/wait.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "integration/support/cluster.hpp"

using namespace apiary::test;

namespace {

constexpr int kKeys = 3000;
constexpr long long kTtlMs = 600'000;

struct Expected {
  std::optional<std::string> value;  // nullopt: the key must be missing
  bool ttl = false;
};

// Every seventh key has a hash tag: its partition comes from the tag, in both clusters.
std::string key_name(int i) {
  const std::string tag = i % 7 == 6 ? "{g" + std::to_string(i % 13) + "}" : "";
  return tag + "bk:" + std::to_string(i);
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Runs `script` (one command a line) through redis-cli on `d`; one output line per reply.
std::vector<std::string> run_script(const Daemon& d, const std::string& name,
                                    const std::string& script) {
  const auto path = scratch_dir() / (name + ".txt");
  std::ofstream(path) << script;
  return lines(run("redis-cli -h 127.0.0.1 -p " + d.redis_port() + " < " + path.string()).second);
}

std::pair<int, std::string> apiary_cli(const std::string& args) {
  return run(std::string(APIARY_CLI_PATH) + " " + args);
}

// Every fifth key a counter (INCRBY i, then INCR), every tenth a TTL, every tenth deleted;
// written through the nodes in turn.
std::map<std::string, Expected> write_data(const std::vector<std::unique_ptr<Daemon>>& nodes) {
  std::map<std::string, Expected> expected;
  std::vector<std::string> scripts(nodes.size());
  for (int i = 0; i < kKeys; ++i) {
    const std::string k = key_name(i);
    std::string& s = scripts[static_cast<std::size_t>(i) % nodes.size()];
    if (i % 5 == 0) {
      s += "INCRBY " + k + " " + std::to_string(i) + "\nINCR " + k + "\n";
      expected[k] = {std::to_string(i + 1), false};
    } else if (i % 10 == 1) {
      s += "SET " + k + " ttl" + std::to_string(i) + " PX " + std::to_string(kTtlMs) + "\n";
      expected[k] = {"ttl" + std::to_string(i), true};
    } else if (i % 10 == 2) {
      s += "SET " + k + " doomed\nDEL " + k + "\n";
      expected[k] = {std::nullopt, false};
    } else {
      s += "SET " + k + " v" + std::to_string(i) + "\n";
      expected[k] = {"v" + std::to_string(i), false};
    }
  }
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    for (const auto& line : run_script(*nodes[n], "write-" + nodes[n]->name(), scripts[n])) {
      REQUIRE(line.find("ERR") == std::string::npos);
    }
  }
  return expected;
}

// Every key's value through `d` (one MGET, which the node splits by owner), and its TTL.
// Returns the first difference, or "" when every key matches.
std::string differences(const Daemon& d, const std::map<std::string, Expected>& expected,
                        long long min_ttl_ms) {
  std::string mget = "MGET";
  std::string pttl;
  for (const auto& [k, e] : expected) {
    mget += " " + k;
    pttl += "PTTL " + k + "\n";
  }
  const auto values = run_script(d, "mget-" + d.name(), mget + "\n");
  const auto ttls = run_script(d, "pttl-" + d.name(), pttl);
  if (values.size() != expected.size() || ttls.size() != expected.size()) {
    return "short reply from " + d.name() + ": " + std::to_string(values.size()) + " values, " +
           std::to_string(ttls.size()) + " ttls";
  }
  std::size_t i = 0;
  for (const auto& [k, e] : expected) {
    const std::string& v = values[i];
    const std::string& ttl_text = ttls[i];
    ++i;
    if (ttl_text.empty() || ttl_text.find_first_not_of("-0123456789") != std::string::npos) {
      return "PTTL " + k + " answered '" + ttl_text + "' through " + d.name();
    }
    const long long ttl = std::stoll(ttl_text);
    if (v != e.value.value_or("")) return k + " reads '" + v + "' through " + d.name();
    const bool ttl_ok = !e.value ? ttl == -2
                        : e.ttl  ? (ttl > min_ttl_ms && ttl <= kTtlMs)
                                 : ttl == -1;
    if (!ttl_ok) return k + " has PTTL " + std::to_string(ttl) + " through " + d.name();
  }
  return "";
}

// Every key of `expected` reads back through each of `nodes` (a replica may lag a moment).
// TTLs were absolute: a key set with kTtlMs at `written_at` has at most that much left.
void check_reads(const std::vector<std::unique_ptr<Daemon>>& cluster,
                 std::initializer_list<std::size_t> nodes,
                 const std::map<std::string, Expected>& expected,
                 std::chrono::steady_clock::time_point written_at) {
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - written_at)
                           .count();
  const long long min_ttl = kTtlMs - elapsed - 5'000;
  for (std::size_t n : nodes) {
    std::string diff;
    CHECK(eventually(10s,
                     [&] { return (diff = differences(*cluster[n], expected, min_ttl)).empty(); }));
    INFO(diff);
    CHECK(diff.empty());
  }
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("apiary backup of a 3-node cluster restored into a 5-node cluster, merging by version",
          "[integration][backup]") {
  const auto dir = scratch_dir() / "backup";
  const auto dir_failover = scratch_dir() / "backup-failover";
  const auto written_at = std::chrono::steady_clock::now();
  std::map<std::string, Expected> expected;
  {
    auto source = start_cluster("bs", 3, {"--partitions", "64"});
    expected = write_data(source);
    REQUIRE(cli(*source[0], "DBSIZE") == std::to_string(kKeys - kKeys / 10) + "\n");

    const auto [status, out] =
        apiary_cli("backup --http " + source[1]->http() + " --out " + dir.string());
    INFO(out);
    REQUIRE(status == 0);
    CHECK(contains(out, "backed up 3000 entries of 64 partitions from 3 members"));
    CHECK(std::filesystem::exists(dir / "manifest.json"));
    CHECK(std::filesystem::exists(dir / "partition-00063.snap"));
    // A directory that holds a backup is not overwritten.
    CHECK(apiary_cli("backup --http " + source[1]->http() + " --out " + dir.string()).first == 1);

    // A member killed just before the backup still looks alive to the others: its
    // partitions come from their next live owner.
    source[2]->kill_now();
    const auto [status2, out2] =
        apiary_cli("backup --http " + source[0]->http() + " --out " + dir_failover.string());
    INFO(out2);
    CHECK(status2 == 0);
    CHECK(contains(out2, "member bs3 is left out"));
    CHECK(contains(out2, "backed up 3000 entries of 64 partitions from 2 members"));

    // A member that hangs (stopped) is left out once it does not answer in time.
    source[1]->signal(SIGSTOP);
    const auto [status3, out3] = apiary_cli("backup --http " + source[0]->http() + " --out " +
                                            (scratch_dir() / "backup-hung").string());
    source[1]->signal(SIGCONT);
    INFO(out3);
    CHECK(status3 == 0);
    CHECK(contains(out3, "member bs2 is left out: INFO cluster: no reply in time"));
    CHECK(contains(out3, "backed up 3000 entries of 64 partitions from 1 member into"));
  }
  std::ifstream manifest_file(dir / "manifest.json");
  const std::string manifest((std::istreambuf_iterator<char>(manifest_file)), {});
  CHECK(contains(manifest, "\"partition_count\": 64"));
  CHECK(contains(manifest, "\"total_entries\": 3000"));
  CHECK(contains(manifest, "\"complete\": true"));

  auto target = start_cluster("bt", 5, {"--partitions", "128"});
  {
    const auto [status, out] =
        apiary_cli("restore " + dir.string() + " --http " + target[2]->http());
    INFO(out);
    REQUIRE(status == 0);
    CHECK(contains(out, "restored 3000 entries of 64 partitions"));
    CHECK(contains(out, "3000 changed, 0 unchanged"));
    CHECK(contains(out, "0 refused"));
  }
  check_reads(target, {0, 2, 4}, expected, written_at);
  CHECK(cli(*target[1], "DBSIZE") == std::to_string(kKeys - kKeys / 10) + "\n");
  const auto backed_up = expected;
  CHECK(cli(*target[3], "INCR " + key_name(0)) == "2\n");  // a counter still (0 + 1, then + 1)
  expected[key_name(0)].value = "2";

  // Newer writes in the target, then the same (now older) backup again: nothing old returns.
  CHECK(cli(*target[0], "SET " + key_name(3) + " newer") == "OK\n");
  CHECK(cli(*target[1], "DEL " + key_name(4)) == "1\n");
  CHECK(cli(*target[2], "INCR " + key_name(5)) == "7\n");
  CHECK(cli(*target[3], "PERSIST " + key_name(11)) == "1\n");
  CHECK(cli(*target[4], "SET " + key_name(12) + " reborn") == "OK\n");  // deleted in the backup
  expected[key_name(3)] = {"newer", false};
  expected[key_name(4)] = {std::nullopt, false};
  expected[key_name(5)] = {"7", false};
  expected[key_name(11)].ttl = false;
  expected[key_name(12)] = {"reborn", false};
  {
    const auto [status, out] = apiary_cli("restore " + dir_failover.string() + " --http " +
                                          target[4]->http() + " --batch 64");
    INFO(out);
    REQUIRE(status == 0);
    CHECK(contains(out, "0 changed, 3000 unchanged"));
  }
  check_reads(target, {1, 3}, expected, written_at);

  // After a FLUSHALL its horizon discards every entry written before it, restored ones too:
  // merging brings nothing back, --overwrite writes the backed-up values anew.
  CHECK(cli(*target[0], "FLUSHALL") == "OK\n");
  {
    const auto [status, out] =
        apiary_cli("restore " + dir.string() + " --http " + target[1]->http());
    INFO(out);
    CHECK(status == 0);
    CHECK(contains(out, "0 changed, 3000 unchanged"));
    CHECK(contains(out, "nothing changed"));
  }
  {
    const auto [status, out] =
        apiary_cli("restore " + dir.string() + " --http " + target[1]->http() + " --overwrite");
    INFO(out);
    REQUIRE(status == 0);
    CHECK(contains(out, "2700 written, 300 skipped (deleted or expired), 0 refused"));
  }
  check_reads(target, {0, 4}, backed_up, written_at);
  CHECK(cli(*target[2], "INCR " + key_name(0)) == "2\n");  // a counter's value as a string
}

TEST_CASE("apiary restore refuses a damaged backup and restores nothing", "[integration][backup]") {
  auto source = start_cluster("bd", 1, {"--partitions", "8"});
  CHECK(cli(*source[0], "SET a 1") == "OK\n");
  CHECK(cli(*source[0], "SET b 2") == "OK\n");
  const auto dir = scratch_dir() / "backup-damaged";
  REQUIRE(apiary_cli("backup --http " + source[0]->http() + " --out " + dir.string()).first == 0);
  auto target = start_cluster("be", 1, {"--partitions", "8"});
  // One flipped byte in a partition file that holds an entry.
  std::filesystem::path victim;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    if (f.path().extension() == ".snap" && f.file_size() > 60) victim = f.path();
  }
  REQUIRE(!victim.empty());
  {
    std::fstream file(victim, std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(40);
    const char c = static_cast<char>(file.get());
    file.seekp(40);
    file.put(static_cast<char>(c ^ 0x5a));
  }
  const auto [status, out] = apiary_cli("restore " + dir.string() + " --http " + target[0]->http());
  INFO(out);
  CHECK(status == 1);
  CHECK(contains(out, "nothing was restored"));
  CHECK(cli(*target[0], "DBSIZE") == "0\n");
  // A manifest from a newer apiary, or one that is not JSON, is refused.
  std::ifstream in(dir / "manifest.json");
  const std::string manifest((std::istreambuf_iterator<char>(in)), {});
  const auto write_manifest = [&](const std::string& text) {
    std::ofstream(dir / "manifest.json", std::ios::trunc) << text;
  };
  std::string newer = manifest;
  newer.replace(newer.find("\"version\": 1"), 12, "\"version\": 2");
  write_manifest(newer);
  const auto [status_newer, out_newer] =
      apiary_cli("restore " + dir.string() + " --http " + target[0]->http());
  CHECK(status_newer == 1);
  CHECK(contains(out_newer, "backup format version 2 is newer"));
  write_manifest(manifest.substr(0, manifest.size() / 2));
  const auto [status_cut, out_cut] =
      apiary_cli("restore " + dir.string() + " --http " + target[0]->http());
  CHECK(status_cut == 1);
  CHECK(contains(out_cut, "manifest.json: invalid JSON"));
  // Without its manifest a directory is not a finished backup.
  std::filesystem::remove(dir / "manifest.json");
  const auto [status2, out2] =
      apiary_cli("restore " + dir.string() + " --http " + target[0]->http());
  INFO(out2);
  CHECK(status2 == 1);
  CHECK(contains(out2, "not a finished backup"));
}

// Hashes, sets, sorted sets and lists travel through a backup whole: a hash with a counter
// field, a big hash (more fields than one partition's snapshot batch), an integer set, a set
// with a TTL, a sorted set with an incremented score and a list with an LSET come back
// through another cluster with every field, member, score, element (in order) and TTL, by
// merge and, after a FLUSHALL, by --overwrite.
TEST_CASE("apiary backup and restore carry hashes and sets", "[integration][backup]") {
  const auto dir = scratch_dir() / "backup-collections";
  std::string script = "HSET {c}h name ada lang en\nHINCRBY {c}h visits 41\nHINCRBY {c}h visits 1\n"
                       "SADD {c}ints 3 1 2\nSADD tags red green blue\nPEXPIRE tags 600000\n"
                       "HSET gone f v\nDEL gone\n"
                       "ZADD {c}z 1.5 a 2 b -inf c\nZINCRBY {c}z 0.25 a\n"
                       "RPUSH {c}l a b c\nLPUSH {c}l z\nLSET {c}l 1 A\n";
  for (int i = 0; i < 3000; i += 500) {
    script += "HSET big";
    for (int j = i; j < i + 500; ++j) script += " f" + std::to_string(j) + " v" + std::to_string(j);
    script += "\n";
  }
  // What a reader sees, one line per reply (fields and members sorted).
  const auto snapshot = [](const Daemon& d) {
    std::vector<std::string> out;
    for (const std::string key : {"{c}h", "big"}) {
      auto fields = lines(cli(d, "HGETALL " + key));
      std::vector<std::string> pairs;
      for (std::size_t i = 0; i + 1 < fields.size(); i += 2) pairs.push_back(fields[i] + "=" + fields[i + 1]);
      std::sort(pairs.begin(), pairs.end());
      out.insert(out.end(), pairs.begin(), pairs.end());
    }
    for (const std::string key : {"{c}ints", "tags"}) {
      auto members = lines(cli(d, "SMEMBERS " + key));
      std::sort(members.begin(), members.end());
      out.insert(out.end(), members.begin(), members.end());
    }
    const auto scores = lines(cli(d, "ZRANGE {c}z 0 -1 WITHSCORES"));
    out.insert(out.end(), scores.begin(), scores.end());
    const auto list = lines(cli(d, "LRANGE {c}l 0 -1"));  // in order
    out.insert(out.end(), list.begin(), list.end());
    out.push_back("gone:" + cli(d, "EXISTS gone"));
    out.push_back("types:" + cli(d, "TYPE {c}h") + cli(d, "TYPE tags") + cli(d, "TYPE {c}z") +
                  cli(d, "TYPE {c}l"));
    const long long ttl = std::stoll(cli(d, "PTTL tags"));
    out.push_back(ttl > 500'000 && ttl <= 600'000 ? "ttl ok" : "ttl " + std::to_string(ttl));
    out.push_back("ttl big:" + cli(d, "PTTL big"));
    return out;
  };
  std::vector<std::string> expected;
  {
    auto source = start_cluster("cs", 3, {});
    for (const auto& line : run_script(*source[0], "write-collections", script)) {
      REQUIRE(line.find("ERR") == std::string::npos);
    }
    expected = snapshot(*source[1]);
    REQUIRE(expected.size() == 3 + 3000 + 3 + 3 + 6 + 4 + 4);
    const auto [status, out] = apiary_cli("backup --http " + source[2]->http() + " --out " + dir.string());
    INFO(out);
    REQUIRE(status == 0);
  }
  auto target = start_cluster("ct", 3, {"--partitions", "32"});
  {
    const auto [status, out] = apiary_cli("restore " + dir.string() + " --http " + target[0]->http());
    INFO(out);
    REQUIRE(status == 0);
  }
  for (const auto& d : target) CHECK(eventually(10s, [&] { return snapshot(*d) == expected; }));
  CHECK(cli(*target[1], "HINCRBY {c}h visits 1") == "43\n");  // still a counter
  CHECK(cli(*target[1], "ZINCRBY {c}z 1 a") == "2.75\n");

  CHECK(cli(*target[0], "FLUSHALL") == "OK\n");
  {
    const auto [status, out] =
        apiary_cli("restore " + dir.string() + " --http " + target[2]->http() + " --overwrite");
    INFO(out);
    REQUIRE(status == 0);
    CHECK(contains(out, "0 refused"));
  }
  for (const auto& d : target) CHECK(eventually(10s, [&] { return snapshot(*d) == expected; }));
}
