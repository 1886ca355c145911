// Subcommands that change a running cluster through a node's admin port (libnode/http's
// ops_routes: POST /v1/...):
//
//   apiary meet --node ADMIN_HOST:PORT GOSSIP_HOST:PORT
//       the node at --node contacts the member at GOSSIP_HOST:PORT (another cluster's) and
//       the two clusters merge (Node::meet)
//
// Exit codes: 0 done, 1 the node refused or could not be reached, 2 bad arguments.
// A new operation: one more subcommand in the constructor and one more branch in run().
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

namespace apiary::cli {

class OpsCommands {
 public:
  // Adds the subcommands to `app` (before it parses).
  explicit OpsCommands(CLI::App& app);
  // After parsing: runs the subcommand given and returns its exit code; nullopt when none of
  // these was given.
  std::optional<int> run() const;

 private:
  CLI::App* meet_ = nullptr;
  std::string node_addr_ = "127.0.0.1:8080";
  std::string meet_addr_;
};

}  // namespace apiary::cli
