// Real apiaryd processes with --cluster-key-file (docs/security.md, "Node-to-node traffic"):
// nodes with another key or none stay out of a keyed cluster and get none of its data, the
// members count what they refuse, and a key rotation in three steps (file + SIGHUP on every
// node) keeps the cluster whole and every acknowledged write readable.
#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <set>

#include "integration/support/cluster.hpp"

using namespace apiary::test;

namespace {

std::string new_key() {
  auto [status, out] = run(std::string(APIARY_CLI_PATH) + " keygen");
  REQUIRE(status == 0);
  REQUIRE(out.size() == 45);  // 44 base64 characters and a newline
  return out.substr(0, 44);
}

// Replaces the keyring file at `path` at once (a rename), readable by its owner only.
void write_keys(const std::filesystem::path& path, const std::vector<std::string>& keys) {
  const auto tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp);
    out << "# primary first\n";
    for (const auto& k : keys) out << k << "\n";
  }
  std::filesystem::permissions(
      tmp, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::filesystem::rename(tmp, path);
}

// One text field of INFO cluster, or "".
std::string info_text(const Daemon& d, const std::string& field) {
  const std::string info = cli(d, "INFO cluster");
  const auto at = info.find(field + ":");
  if (at == std::string::npos) return "";
  const auto end = info.find_first_of("\r\n", at);
  return info.substr(at + field.size() + 1, end - at - field.size() - 1);
}

long long rejected(const Daemon& d) {
  return info_field(d, "cluster_key_gossip_rejected") + info_field(d, "cluster_key_data_rejected");
}

bool alive_everywhere(const std::vector<std::unique_ptr<Daemon>>& nodes, long long count) {
  for (const auto& n : nodes) {
    if (info_field(*n, "cluster_alive_members") != count) return false;
  }
  return true;
}

// GETs every key through `d` in one redis-cli session; the keys whose value is not key's own
// name with "v-" in front.
std::vector<std::string> unreadable(const Daemon& d, const std::vector<std::string>& keys) {
  const auto script = scratch_dir() / ("gets-" + d.name() + ".txt");
  {
    std::ofstream out(script);
    for (const auto& k : keys) out << "GET " << k << "\n";
  }
  const auto [status, out] =
      run("redis-cli -h 127.0.0.1 -p " + d.redis_port() + " < " + script.string());
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < out.size()) {
    const auto nl = out.find('\n', start);
    lines.push_back(out.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  std::vector<std::string> missing;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (i >= lines.size() || lines[i] != "v-" + keys[i]) missing.push_back(keys[i]);
  }
  return missing;
}

}  // namespace

TEST_CASE("nodes with another cluster key or none stay out of a keyed cluster and get no data",
          "[integration][cluster_key]") {
  const auto dir = scratch_dir() / "cluster-key-out";
  std::filesystem::create_directories(dir);
  write_keys(dir / "cluster.keys", {new_key()});
  write_keys(dir / "other.keys", {new_key()});

  auto nodes = start_cluster("ck", 3, {"--cluster-key-file", (dir / "cluster.keys").string()});
  for (const auto& n : nodes) {
    CHECK(info_field(*n, "cluster_key_enabled") == 1);
    CHECK(info_field(*n, "cluster_keys") == 1);
    CHECK(rejected(*n) == 0);
  }
  CHECK(info_text(*nodes[0], "cluster_key_primary") == info_text(*nodes[2], "cluster_key_primary"));

  const std::string seed = nodes[0]->gossip();
  Daemon wrong("ck-wrong", {"--cluster-key-file", (dir / "other.keys").string(), "--seeds", seed});
  Daemon none("ck-none", {"--seeds", seed});
  CHECK(info_field(none, "cluster_key_enabled") == 0);

  // The seed refuses their join attempts, counts them and says so in its log.
  CHECK(eventually(15s, [&] { return info_field(*nodes[0], "cluster_key_gossip_rejected") >= 2; }));
  CHECK(eventually(5s, [&] {
    const std::string log = nodes[0]->log();
    return log.find("cluster key: dropped") != std::string::npos &&
           log.find("unencrypted") != std::string::npos &&
           log.find("no installed key opens it") != std::string::npos;
  }));

  // Data written through the cluster while the outsiders keep trying to join.
  std::vector<std::string> keys;
  for (int i = 0; i < 30; ++i) {
    keys.push_back("ck:" + std::to_string(i));
    REQUIRE(cli(*nodes[i % 3], "SET " + keys.back() + " v-" + keys.back()) == "OK\n");
  }
  // For a while (a few probe rounds and more than the outsiders' 10 s join timeout, counted
  // from their start): the members keep exactly each other, the outsiders see nobody.
  for (int round = 0; round < 8; ++round) {
    INFO("round " << round);
    CHECK(alive_everywhere(nodes, 3));
    for (Daemon* outsider : {&wrong, &none}) {
      INFO(outsider->name());
      const auto seen = member_states(outsider->http());
      CHECK(seen.size() == 1);
      CHECK(seen.count(outsider->name()) == 1);
      CHECK(info_field(*outsider, "cluster_alive_members") == 1);
    }
    for (const auto& n : nodes) {
      const auto seen = member_states(n->http());
      CHECK(seen.count("ck-wrong") == 0);
      CHECK(seen.count("ck-none") == 0);
    }
    std::this_thread::sleep_for(1s);
  }
  CHECK(unreadable(*nodes[1], keys).empty());
  for (Daemon* outsider : {&wrong, &none}) {
    INFO(outsider->name());
    CHECK(unreadable(*outsider, keys).size() == keys.size());
    CHECK(cli(*outsider, "DBSIZE") == "0\n");
    CHECK(cli(*outsider, "INFO keyspace").find("db0:") == std::string::npos);
  }
  CHECK(info_field(*nodes[0], "cluster_key_gossip_rejected") > 2);

  // The other way round: a node with the key cannot join a node without one, which cannot
  // read its messages (the gossip core drops them as malformed).
  Daemon keyed("ck-keyed",
               {"--cluster-key-file", (dir / "cluster.keys").string(), "--seeds", none.gossip()});
  CHECK(eventually(10s, [&] {
    const std::string metrics = http_get(none.http(), "/metrics").value_or("");
    const std::string name = "apiary_gossip_dropped_total{reason=\"malformed\"} ";
    const auto at = metrics.find(name);
    return at != std::string::npos && std::stoll(metrics.substr(at + name.size())) > 0;
  }));
  CHECK(member_states(none.http()).size() == 1);
  CHECK(member_states(keyed.http()).size() == 1);
}

TEST_CASE("a key rotation in three steps with SIGHUP keeps the cluster whole and every write",
          "[integration][cluster_key]") {
  const auto dir = scratch_dir() / "cluster-key-rotation";
  std::filesystem::create_directories(dir);
  const std::string old_key = new_key();
  const std::string next_key = new_key();
  std::vector<std::filesystem::path> files;
  std::vector<std::unique_ptr<Daemon>> nodes;
  for (int i = 1; i <= 3; ++i) {
    files.push_back(dir / ("node" + std::to_string(i) + ".keys"));
    write_keys(files.back(), {old_key});
    std::vector<std::string> args = {"--cluster-key-file", files.back().string()};
    if (i > 1) args.insert(args.end(), {"--seeds", nodes.front()->gossip()});
    nodes.push_back(std::make_unique<Daemon>("rot" + std::to_string(i), args));
  }
  REQUIRE(eventually(15s, [&] { return alive_everywhere(nodes, 3); }));
  REQUIRE(eventually(15s, [&] { return settled(nodes); }));
  const std::string old_print = info_text(*nodes[0], "cluster_key_primary");

  // A client writes through every node, one key at a time, for the whole rotation.
  std::atomic<bool> stop{false};
  std::mutex acked_mutex;
  std::vector<std::string> acked;
  long long refused = 0;
  auto writer = std::async(std::launch::async, [&] {
    for (int i = 0; !stop.load(); ++i) {
      const std::string key = "rot:" + std::to_string(i);
      if (cli(*nodes[i % 3], "SET " + key + " v-" + key) == "OK\n") {
        std::lock_guard<std::mutex> lock(acked_mutex);
        acked.push_back(key);
      } else {
        ++refused;
      }
    }
  });
  struct StopWriter {
    std::atomic<bool>& stop;
    ~StopWriter() { stop = true; }
  } stop_writer{stop};
  auto acked_so_far = [&] {
    std::lock_guard<std::mutex> lock(acked_mutex);
    return acked;
  };

  // A bad file is refused on reload and the node keeps its key (and its peers).
  {
    std::ofstream(files[0]) << "not a key\n";
    nodes[0]->signal(SIGHUP);
    CHECK(
        eventually(5s, [&] { return info_field(*nodes[0], "cluster_key_reload_failures") >= 1; }));
    CHECK(info_text(*nodes[0], "cluster_key_primary") == old_print);
    write_keys(files[0], {old_key});
  }

  const std::vector<std::vector<std::string>> steps = {
      {old_key, next_key},  // 1: the new key beside the old one on every node
      {next_key, old_key},  // 2: the new key primary on every node
      {next_key},           // 3: the old key gone
  };
  std::vector<long long> reloads(3);
  for (std::size_t i = 0; i < 3; ++i) reloads[i] = info_field(*nodes[i], "cluster_key_reloads");
  for (std::size_t s = 0; s < steps.size(); ++s) {
    INFO("step " << s + 1);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      write_keys(files[i], steps[s]);
      nodes[i]->signal(SIGHUP);
      // The operator waits for each node to report the new keyring before the next.
      const bool reloaded = eventually(10s, [&] {
        return info_field(*nodes[i], "cluster_key_reloads") > reloads[i] &&
               info_field(*nodes[i], "cluster_keys") == static_cast<long long>(steps[s].size());
      });
      REQUIRE(reloaded);
      reloads[i] = info_field(*nodes[i], "cluster_key_reloads");
    }
    std::this_thread::sleep_for(2s);  // traffic under the new keyrings, writes included
    CHECK(alive_everywhere(nodes, 3));
    const auto written = acked_so_far();
    CHECK(unreadable(*nodes[s % 3], written).empty());
  }
  const std::string new_print = info_text(*nodes[0], "cluster_key_primary");
  CHECK(new_print != old_print);
  stop = true;
  writer.get();

  const auto written = acked_so_far();
  INFO(written.size() << " writes acknowledged, " << refused << " refused");
  CHECK(written.size() > 20);
  for (const auto& n : nodes) {
    INFO(n->name());
    CHECK(info_text(*n, "cluster_key_primary") == new_print);
    CHECK(info_field(*n, "cluster_keys") == 1);
    CHECK(info_field(*n, "cluster_alive_members") == 3);
    // Every message of the rotation opened: each node was at most one step from the others.
    CHECK(rejected(*n) == 0);
    CHECK(info_field(*n, "cluster_key_gossip_opened") > 0);
    CHECK(info_field(*n, "cluster_key_data_opened") > 0);
    CHECK(unreadable(*n, written).empty());
  }

  // Edited without a signal: the node notices the new modification time by itself (checked
  // every 5 s) and installs the file, here with a third key beside the current one.
  const std::string third = new_key();
  write_keys(files[2], {next_key, third});
  CHECK(eventually(15s, [&] { return info_field(*nodes[2], "cluster_keys") == 2; }));
  CHECK(alive_everywhere(nodes, 3));
}
