#include "drain_route.hpp"

#include <string>

namespace apiary::http {

void add_drain_route(httplib::Server& server, const AdminSources& sources) {
  server.Post("/v1/drain", [sources](const httplib::Request& req, httplib::Response& res) {
    if (!sources.drain) {
      res.status = 503;
      res.set_content("{\"error\":\"this node cannot drain\"}", "application/json");
      return;
    }
    const std::string wait = req.get_param_value("wait");
    const DrainAnswer answer = sources.drain(wait == "1" || wait == "true");
    if (!answer.by_drain) {
      res.status = 409;
      res.set_content("{\"state\":\"stopping\",\"error\":\"the node is leaving to stop\"}",
                      "application/json");
      return;
    }
    if (!answer.done) {
      res.status = 202;
      res.set_content("{\"state\":\"leaving\"}", "application/json");
      return;
    }
    std::string body = std::string("{\"state\":\"drained\",\"complete\":") +
                       (answer.status.ok() ? "true" : "false");
    if (!answer.status.ok()) body += ",\"error\":" + json_quote(answer.status.message());
    res.set_content(body + "}", "application/json");
  });
}

}  // namespace apiary::http
