// apiary::Node — one running Apiary member with its own event-loop thread.
//
// Node::start() binds the sockets, starts the loop thread and begins joining through the
// seeds; it returns once the sockets are bound (joining continues in the background).
// leave() hands every partition this node holds to the remaining owners (at most
// NodeConfig::handoff_timeout), announces the departure to the cluster, waits until it has
// gone out (or the leave timeout passes) and stops the loop; the destructor does the same if
// leave() was not called.
//
// Thread safety: every public method may be called from any thread. members() returns a
// snapshot that the loop refreshes after each membership change.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "apiary/base/status.hpp"
#include "apiary/gossip/member.hpp"
#include "apiary/gossip/swim.hpp"
#include "apiary/node_config.hpp"

namespace apiary {

class Node {
 public:
  static Result<std::unique_ptr<Node>> start(NodeConfig config);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Graceful leave: peers see this member as `left`. Idempotent.
  Status leave();
  // Abrupt stop without telling anyone (peers will detect a failure). Idempotent.
  void stop();

  const std::string& name() const;
  const std::string& gossip_addr() const;  // advertised host:port
  const std::string& http_addr() const;    // bound host:port, "" when off
  const std::string& client_addr() const;  // bound RESP host:port, "" when off
  const std::string& data_addr() const;    // advertised node-to-node data host:port

  std::vector<gossip::Member> members() const;
  gossip::SwimStats gossip_stats() const;

 private:
  struct Impl;
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace apiary
