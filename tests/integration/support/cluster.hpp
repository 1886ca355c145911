// Integration-test support: a cluster of real apiaryd processes on loopback, and the INFO
// fields the tests read from them (through redis-cli, as an operator would).
#pragma once

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "integration/support/daemon.hpp"

namespace apiary::test {

inline std::string cli(const Daemon& d, const std::string& args) {
  return run("redis-cli -h 127.0.0.1 -p " + d.redis_port() + " " + args).second;
}

// One INFO cluster field of a node, or -1.
inline long long info_field(const Daemon& d, const std::string& field) {
  const std::string info = cli(d, "INFO cluster");
  const auto at = info.find(field + ":");
  if (at == std::string::npos) return -1;
  return std::stoll(info.substr(at + field.size() + 1));
}

// Starts `count` nodes that join through the first; waits until every node sees all alive.
inline std::vector<std::unique_ptr<Daemon>> start_cluster(const std::string& prefix, int count,
                                                          const std::vector<std::string>& flags) {
  using namespace std::chrono_literals;
  std::vector<std::unique_ptr<Daemon>> nodes;
  nodes.push_back(std::make_unique<Daemon>(prefix + "1", flags));
  for (int i = 2; i <= count; ++i) {
    auto args = flags;
    args.push_back("--seeds");
    args.push_back(nodes.front()->gossip());
    nodes.push_back(std::make_unique<Daemon>(prefix + std::to_string(i), args));
  }
  const bool converged = eventually(10s, [&] {
    for (const auto& n : nodes) {
      if (info_field(*n, "cluster_alive_members") != count) return false;
    }
    return true;
  });
  REQUIRE(converged);
  return nodes;
}

// The index of the node that coordinates `key`: the one that runs a write of it without
// forwarding (a DEL of a missing key changes nothing).
inline int coordinator_of(const std::vector<std::unique_ptr<Daemon>>& nodes, const std::string& key) {
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const long long before = info_field(*nodes[i], "cluster_commands_forwarded");
    cli(*nodes[i], "DEL " + key);
    if (info_field(*nodes[i], "cluster_commands_forwarded") == before) return static_cast<int>(i);
  }
  return -1;
}

// The Redis ports of `nodes`, comma-separated (the clients in tests/integration/clients).
inline std::string redis_ports(const std::vector<std::unique_ptr<Daemon>>& nodes) {
  std::string out;
  for (const auto& n : nodes) out += (out.empty() ? "" : ",") + n->redis_port();
  return out;
}

// No node is handing data over or catching up as a new coordinator: the cluster's membership
// changes of its start are over (until then a write may first read the other replicas).
inline bool settled(const std::vector<std::unique_ptr<Daemon>>& nodes) {
  for (const auto& n : nodes) {
    if (info_field(*n, "cluster_handoff_pending") != 0 ||
        info_field(*n, "cluster_partitions_promoting") != 0) {
      return false;
    }
  }
  return true;
}

// The first integer field `name` of a client's JSON line, or -1.
inline long long json_field(const std::string& json, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(json, m, std::regex("\"" + name + "\": (-?[0-9]+)"))) return -1;
  return std::stoll(m[1]);
}

// Creates `path` when it goes out of scope: tells a background client to stop even when a
// REQUIRE leaves the test early (declare it after the std::future that waits for the client).
struct TouchOnExit {
  std::filesystem::path path;
  ~TouchOnExit() { std::ofstream touch(path); }
};

}  // namespace apiary::test
