#include "ops_commands.hpp"

#include <httplib.h>

#include <cstdio>

#include "apiary/base/host_port.hpp"
#include "cluster_http.hpp"

namespace apiary::cli {

namespace {

// POSTs `path` to the admin port at `node`; prints the node's answer. Exit code as above.
int post(const std::string& command, const std::string& node, const std::string& path) {
  auto parsed = parse_host_port(node);
  if (!parsed.ok()) {
    std::fprintf(stderr, "apiary %s: --node: %s\n", command.c_str(),
                 parsed.status().message().c_str());
    return 2;
  }
  auto client = admin_client(parsed->host, parsed->port);
  client->set_connection_timeout(3);
  client->set_read_timeout(10);
  auto res = client->Post(path.c_str());
  if (!res) {
    std::fprintf(stderr, "apiary %s: cannot reach %s: %s\n", command.c_str(), node.c_str(),
                 httplib::to_string(res.error()).c_str());
    return 1;
  }
  if (res->status != 200) {
    std::fprintf(stderr, "apiary %s: %s answered HTTP %d %s\n", command.c_str(), node.c_str(),
                 res->status, res->body.c_str());
    return 1;
  }
  std::printf("%s\n", res->body.c_str());
  return 0;
}

}  // namespace

OpsCommands::OpsCommands(CLI::App& app) {
  meet_ = app.add_subcommand(
      "meet",
      "Join two clusters: the node at --node contacts a member of the other cluster at its "
      "gossip address, and the two become one (their data merges by the usual version rules)");
  meet_->add_option("--node", node_addr_, "HTTP admin address of a node of one cluster")
      ->capture_default_str();
  meet_->add_option("GOSSIP_ADDR", meet_addr_, "Gossip HOST:PORT of a member of the other cluster")
      ->required();
}

std::optional<int> OpsCommands::run() const {
  if (meet_->parsed()) {
    if (auto parsed = parse_host_port(meet_addr_); !parsed.ok()) {
      std::fprintf(stderr, "apiary meet: %s\n", parsed.status().message().c_str());
      return 2;
    }
    return post("meet", node_addr_,
                "/v1/meet?addr=" + httplib::detail::encode_query_param(meet_addr_));
  }
  return std::nullopt;
}

}  // namespace apiary::cli
