#include "drain_command.hpp"

#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "apiary/base/host_port.hpp"
#include "cluster_http.hpp"

namespace apiary::cli {

namespace {

// The POST's answer, or a message for the operator (and exit code 1).
struct Posted {
  int status = 0;
  std::string body;
  std::string problem;
};

Posted post_drain(httplib::Client& client, const std::string& addr) {
  Posted out;
  auto res = client.Post("/v1/drain", "", "application/json");
  if (!res) {
    out.problem = "cannot reach " + addr + ": " + httplib::to_string(res.error());
    return out;
  }
  out.status = res->status;
  out.body = res->body;
  if (res->status == 401) {
    out.problem = addr + " needs the admin token (--admin-token-file or $APIARY_ADMIN_TOKEN)";
  } else if (res->status == 409) {
    out.problem = addr + " is already leaving to stop (SIGTERM); it cannot be drained";
  } else if (res->status != 200 && res->status != 202) {
    out.problem = addr + " answered HTTP " + std::to_string(res->status) + ": " + res->body;
  }
  return out;
}

bool incomplete(const std::string& body) {
  return body.find("\"complete\":false") != std::string::npos;
}

int report_drained(const std::string& addr, const std::string& body) {
  if (incomplete(body)) {
    std::fprintf(stderr,
                 "apiary drain: %s left the cluster, but its handoff ran out of time (its "
                 "partitions' other replicas still hold them): %s\n",
                 addr.c_str(), body.c_str());
    return 1;
  }
  std::printf(
      "%s drained: its partitions are handed off and it has left the cluster; stop it "
      "now\n",
      addr.c_str());
  return 0;
}

}  // namespace

int run_drain(const DrainOptions& options) {
  const std::string& addr = options.node_addr;
  auto parsed = parse_host_port(addr);
  if (!parsed.ok()) {
    std::fprintf(stderr, "apiary drain: --node: %s\n", parsed.status().message().c_str());
    return 2;
  }
  auto client = admin_client(parsed->host, parsed->port);
  client->set_connection_timeout(3);
  client->set_read_timeout(10);
  const Posted posted = post_drain(*client, addr);
  if (!posted.problem.empty()) {
    std::fprintf(stderr, "apiary drain: %s\n", posted.problem.c_str());
    return 1;
  }
  if (posted.status == 200) return report_drained(addr, posted.body);
  if (!options.wait) {
    std::printf(
        "%s is draining: GET /readyz reports \"drained\" when it is done "
        "(`apiary drain --wait` waits for it)\n",
        addr.c_str());
    return 0;
  }
  // Follow /readyz (open, and it shows the handoff's progress), then ask the drain's result.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout_s);
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    auto res = client->Get("/readyz");
    const std::string body = res ? res->body : "unreachable: " + httplib::to_string(res.error());
    if (body != last) {
      std::printf("%s: %s\n", addr.c_str(), body.c_str());
      std::fflush(stdout);
      last = body;
    }
    if (res && body.find("\"drained") != std::string::npos) {
      const Posted final_state = post_drain(*client, addr);
      if (final_state.problem.empty() && final_state.status == 200) {
        return report_drained(addr, final_state.body);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  std::fprintf(stderr, "apiary drain: %s not drained within %d s (last /readyz: %s)\n",
               addr.c_str(), options.timeout_s, last.c_str());
  return 1;
}

}  // namespace apiary::cli
