// `apiary drain --node ADMIN_HOST:PORT [--wait] [--timeout SECONDS]`: asks the node to hand
// every partition off and leave the cluster while its process stays up (POST /v1/drain,
// libnode/http/drain_route.hpp), before maintenance or from a Kubernetes preStop hook; the
// process is stopped afterwards (SIGTERM then only stops it).
//
// With --wait it follows GET /readyz until the node reports "drained", printing the reasons
// as they change. Exit codes: 0 drained (or, without --wait, the drain started), 1 the node
// refused, could not be reached, ran out of handoff time or was not drained within
// --timeout, 2 bad arguments.
#pragma once

#include <string>

namespace apiary::cli {

struct DrainOptions {
  std::string node_addr = "127.0.0.1:8080";  // the node's admin port
  bool wait = false;
  int timeout_s = 300;  // --wait: how long to follow the drain
};

int run_drain(const DrainOptions& options);

}  // namespace apiary::cli
