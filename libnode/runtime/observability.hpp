// What the admin port shows of a running node, rendered on the node's loop thread (the
// cores belong to it; Node::Impl::ask_loop runs these there): the Prometheus exposition
// (metrics.cpp) and the JSON snapshot the dashboard polls (stats_json.cpp). Internal to
// libnode/runtime.
#pragma once

#include <string>

#include "apiary/node.hpp"

namespace apiary::runtime {

// GET /metrics: the Prometheus text format 0.0.4, or OpenMetrics 1.0.0 when `openmetrics`
// (the scraper's Accept header asked for application/openmetrics-text).
std::string render_metrics(Node::Impl& node, bool openmetrics);

// GET /v1/stats: this node's counters, gauges and recent slow log as one JSON object.
std::string render_stats_json(Node::Impl& node);

// GET /readyz: {"ready":bool,"reasons":[...]} -- ready once the node has joined (its
// partition table includes it), owns its partitions' data (no partition being handed to it
// or caught up on as a new coordinator) and is not leaving.
std::string render_ready_json(Node::Impl& node, bool& ready);

}  // namespace apiary::runtime
