// AdminServer: the node's HTTP admin port (cpp-httplib, its own small thread pool).
//
//   GET /healthz      200 "ok" while the node runs
//   GET /readyz       200 once joined, owning its data and not leaving; 503 with reasons
//   GET /v1/members   {"self": name, "members": [{"name", "addr", "state", "incarnation",
//                      "client_addr", "http_addr", "data_addr", "tags"}...]}
//                     with ?format=text: the same as an aligned text table
//   GET /v1/partitions {"partition_count", "replicas", "owned": {member: count},
//                      "partitions": [{"id", "owners": [...]}...]} -- the preference lists
//                      this node computes from its live members
//   GET /metrics      Prometheus text format (OpenMetrics on Accept)
//   GET /v1/stats     this node's counters and gauges (JSON; docs/observability.md)
//   GET /v1/events    recent membership, handoff and quorum events, ?after=id
//   GET /             the web dashboard; GET /v1/cluster/stats: /v1/stats of every member
//   POST /v1/drain    hand every partition off and leave, keep running (drain_route.hpp)
//   POST /v1/meet     ?addr=HOST:PORT: join another cluster (ops_routes.hpp)
//
// Handlers never touch the node's cores: they read snapshots through the `Sources`
// callbacks, which must be thread-safe.
//
// Security (AdminSecurity, docs/security.md): with a certificate and key the port speaks
// https only; with a token every endpoint but /healthz and the dashboard's static files (the
// page, its script and style, which hold no node data) answers 401 with WWW-Authenticate
// unless the request carries "Authorization: Bearer <token>" (compared in constant time).
// /v1/cluster/stats asks the other members with the same token, over https when this port
// speaks it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "apiary/base/status.hpp"
#include "apiary/cluster/partition_table.hpp"
#include "apiary/gossip/member.hpp"

namespace apiary::http {

// What the admin port's operations (POST /v1/..., ops_routes.hpp) ask the node to do; called
// on the admin port's threads. An unset action answers 503.
struct OpsActions {
  std::function<Status(const std::string& gossip_addr)> meet;  // POST /v1/meet
};

struct DrainAnswer {
  bool by_drain = false;  // false: the node is leaving for good (SIGTERM), not draining
  bool done = false;      // the leave is over: the node is no longer a member
  Status status;          // when done: ok, or why the handoff was cut short
};

struct AdminSources {
  std::function<std::string()> self_name;
  std::function<std::vector<gossip::Member>()> members;
  std::function<std::shared_ptr<const cluster::PartitionTable>()> partitions;
  // Rendered on the node's loop thread; nullopt when it did not answer in time (503).
  std::function<std::optional<std::string>(bool openmetrics)> metrics;
  std::function<std::optional<std::string>()> stats;
  // GET /readyz: the JSON body and whether the node is ready (nullopt: the loop did not
  // answer in time, not ready).
  std::function<std::optional<std::pair<bool, std::string>>()> ready;
  std::function<std::string(std::uint64_t after)> events;
  // POST /v1/drain (drain_route.hpp): starts the node's drain (Node::drain), or joins the
  // leave already running; with wait=true returns once it is over (or its time ran out).
  std::function<DrainAnswer(bool wait)> drain;
  OpsActions ops;
};

struct AdminSecurity {
  std::string tls_cert_file;  // PEM chain and key: https when both are set
  std::string tls_key_file;
  // CA (PEM) that the other members' admin certificates are checked against when this node
  // fetches their /v1/stats; empty: tls_cert_file (members that share one certificate, or a
  // file that holds the chain up to the CA).
  std::string tls_ca_file;
  std::string token;  // empty: no token asked for
};

class AdminServer {
 public:
  // Binds `addr` ("host:port", port 0 picks a free one) and starts serving.
  static Result<std::unique_ptr<AdminServer>> start(const std::string& addr, AdminSources sources,
                                                    AdminSecurity security = {});
  ~AdminServer();  // stops and joins
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  const std::string& bound_addr() const { return bound_addr_; }
  void stop();

 private:
  struct Impl;
  AdminServer() = default;
  std::unique_ptr<Impl> impl_;
  std::string bound_addr_;
};

// JSON for the member table (also used by tests and the apiary CLI's --json).
std::string members_json(const std::string& self, const std::vector<gossip::Member>& members);
// The member table as aligned text (GET /v1/members?format=text, `apiary members`).
std::string members_table(const std::string& self, const std::vector<gossip::Member>& members);
// JSON for GET /v1/partitions.
std::string partitions_json(const cluster::PartitionTable& table);
// Whether `authorization` (an Authorization header's value) is "Bearer <token>"; the
// comparison takes the same time wherever the two first differ.
bool bearer_matches(std::string_view authorization, std::string_view token);
// Escapes a string for inclusion in a JSON document (adds the quotes).
std::string json_quote(std::string_view s);

}  // namespace apiary::http
