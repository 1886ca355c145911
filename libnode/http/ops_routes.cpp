#include "ops_routes.hpp"

#include <string>

#include "apiary/base/host_port.hpp"

namespace apiary::http {

namespace {

void reply_error(httplib::Response& res, int http_status, const std::string& message) {
  res.status = http_status;
  res.set_content("{\"error\":" + json_quote(message) + "}", "application/json");
}

// What a Status from the node means to an HTTP client: its own mistake (400) or try again.
void reply_status(httplib::Response& res, const Status& status) {
  reply_error(res, status.code() == StatusCode::invalid_argument ? 400 : 503, status.message());
}

}  // namespace

void add_ops_routes(httplib::Server& server, const AdminSources& sources) {
  server.Post("/v1/meet", [sources](const httplib::Request& req, httplib::Response& res) {
    const std::string addr = req.get_param_value("addr");
    if (addr.empty()) return reply_error(res, 400, "give the gossip address: ?addr=HOST:PORT");
    if (auto parsed = parse_host_port(addr); !parsed.ok()) {
      return reply_error(res, 400, parsed.status().message());
    }
    if (!sources.ops.meet) return reply_error(res, 503, "this node cannot meet others");
    if (Status st = sources.ops.meet(addr); !st.ok()) return reply_status(res, st);
    res.set_content("{\"ok\":true,\"addr\":" + json_quote(addr) + "}", "application/json");
  });
}

}  // namespace apiary::http
