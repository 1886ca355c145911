// The web dashboard's routes on the admin port (internal to libnode/http):
//
//   GET /                    the dashboard page (dashboard/index.html, built into the binary)
//   GET /dashboard/<file>    its script and style sheet
//   GET /v1/cluster/stats    {"self", "time", "nodes": [/v1/stats of every reachable alive or
//                            suspect member, this node first], "unreachable": [names]}
//
// The page is read-only: it only polls GET endpoints. /v1/cluster/stats asks the other
// members' admin ports from the handler's thread (500 ms per member, all at once), so that
// one request gives the browser a consistent picture even though it talks to one node only.
#pragma once

#include <httplib.h>

#include "apiary/http/admin_server.hpp"

namespace apiary::http {

// How this node reaches the other members' admin ports for /v1/cluster/stats: the scheme
// its own port speaks (members share the setting), the CA to check their certificates
// against, and the token to send (empty: none).
struct PeerAccess {
  std::string scheme = "http";
  std::string ca_file;
  std::string token;
};

void add_dashboard_routes(httplib::Server& server, const AdminSources& sources,
                          PeerAccess peers = {});

}  // namespace apiary::http
