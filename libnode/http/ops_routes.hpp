// Operations on the admin port that change the cluster (internal to libnode/http). Each is a
// POST, needs the admin token like every /v1 route, and answers JSON:
//
//   POST /v1/meet?addr=HOST:PORT   contact a member of another cluster at its gossip
//                                  address and keep it as a seed, so the two clusters merge
//                                  (Redis's CLUSTER MEET; Node::meet). 200 {"ok":true,...}
//                                  once asked; the merge itself follows within seconds.
//
// Errors: 400 {"error"} for a missing or bad parameter, 503 when the node cannot act now
// (stopping, or its loop did not answer). A new operation is one more action in OpsActions
// and one more route in ops_routes.cpp.
#pragma once

#include <httplib.h>

#include "apiary/http/admin_server.hpp"

namespace apiary::http {

void add_ops_routes(httplib::Server& server, const AdminSources& sources);

}  // namespace apiary::http
