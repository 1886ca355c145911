// apiary: the admin command-line client. Data commands go through redis-cli (any node speaks
// the Redis protocol); this tool shows the cluster as a node's HTTP admin port reports it.
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "apiary/base/host_port.hpp"

namespace {

int fetch(const std::string& http_addr, const std::string& path) {
  auto parsed = apiary::parse_host_port(http_addr);
  if (!parsed.ok()) {
    std::fprintf(stderr, "apiary: --http: %s\n", parsed.status().message().c_str());
    return 2;
  }
  httplib::Client client(parsed->host, parsed->port);
  client.set_connection_timeout(3);
  client.set_read_timeout(5);
  auto res = client.Get(path);
  if (!res) {
    std::fprintf(stderr, "apiary: cannot reach %s: %s\n", http_addr.c_str(),
                 httplib::to_string(res.error()).c_str());
    return 1;
  }
  if (res->status != 200) {
    std::fprintf(stderr, "apiary: %s answered HTTP %d\n", http_addr.c_str(), res->status);
    return 1;
  }
  std::fwrite(res->body.data(), 1, res->body.size(), stdout);
  if (!res->body.empty() && res->body.back() != '\n') std::fputc('\n', stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"apiary - admin client for an Apiary cluster (data: use redis-cli)"};
  app.require_subcommand(1);
  std::string http_addr = "127.0.0.1:8080";
  bool json = false;

  auto* members = app.add_subcommand("members", "Print the member table as a node sees it");
  members->add_option("--http", http_addr, "HTTP admin address of any node")->capture_default_str();
  members->add_flag("--json", json, "Print the raw JSON of GET /v1/members");

  bool all = false;
  auto* partitions = app.add_subcommand(
      "partitions", "Print the partition table: partitions owned per member (and per partition)");
  partitions->add_option("--http", http_addr, "HTTP admin address of any node")
      ->capture_default_str();
  partitions->add_flag("--all", all, "Also list every partition with its owners in order");
  partitions->add_flag("--json", json, "Print the raw JSON of GET /v1/partitions");

  auto* health = app.add_subcommand("health", "Exit 0 when the node answers /healthz");
  health->add_option("--http", http_addr, "HTTP admin address of the node")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  if (members->parsed()) return fetch(http_addr, json ? "/v1/members" : "/v1/members?format=text");
  if (partitions->parsed()) {
    return fetch(http_addr, json  ? "/v1/partitions"
                            : all ? "/v1/partitions?format=text&all=1"
                                  : "/v1/partitions?format=text");
  }
  if (health->parsed()) return fetch(http_addr, "/healthz");
  return 2;
}
