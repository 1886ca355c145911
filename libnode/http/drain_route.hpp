// POST /v1/drain on the admin port (internal to libnode/http): hands every partition of the
// node off and leaves the cluster, keeping the process up until it is stopped -- for
// maintenance, and for a Kubernetes preStop hook (`apiary drain --wait`, then SIGTERM).
// Needs the admin token like every /v1 route.
//
//   POST /v1/drain          starts the drain and answers at once:
//                           202 {"state":"leaving"}
//   POST /v1/drain?wait=1   answers when the drain is over (at most the node's
//                           --handoff-timeout-ms plus its announcement time):
//                           200 {"state":"drained","complete":true}
//                           ("complete":false with "error" when the handoff ran out of time)
//
// A second POST reports the drain already running or over. A node already leaving for good
// (SIGTERM) answers 409 {"state":"stopping"}. Progress: GET /readyz, whose reasons say
// "leaving the cluster" while it runs and "drained" after.
#pragma once

#include <httplib.h>

#include "apiary/http/admin_server.hpp"

namespace apiary::http {

void add_drain_route(httplib::Server& server, const AdminSources& sources);

}  // namespace apiary::http
