#include "apiary/http/admin_server.hpp"

#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "apiary/base/host_port.hpp"
#include "apiary/base/json.hpp"
#include "dashboard_routes.hpp"
#include "drain_route.hpp"
#include "ops_routes.hpp"

namespace apiary::http {

struct AdminServer::Impl {
  std::unique_ptr<httplib::Server> server;  // an httplib::SSLServer for https
  std::thread thread;
};

bool bearer_matches(std::string_view authorization, std::string_view token) {
  constexpr std::string_view kScheme = "bearer ";
  if (token.empty() || authorization.size() < kScheme.size()) return false;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    const char c = authorization[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != kScheme[i]) return false;
  }
  std::string_view given = authorization.substr(kScheme.size());
  while (!given.empty() && given.front() == ' ') given.remove_prefix(1);
  // Digests of both: equal length, so the comparison leaks neither where they differ nor
  // the token's length.
  unsigned char a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
  unsigned int a_len = 0, b_len = 0;
  if (EVP_Digest(given.data(), given.size(), a, &a_len, EVP_sha256(), nullptr) != 1 ||
      EVP_Digest(token.data(), token.size(), b, &b_len, EVP_sha256(), nullptr) != 1) {
    return false;
  }
  return a_len == b_len && CRYPTO_memcmp(a, b, a_len) == 0;
}

std::string json_quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  append_json_string(out, s);
  return out;
}

std::string members_json(const std::string& self, const std::vector<gossip::Member>& members) {
  std::string out = "{\"self\":" + json_quote(self) + ",\"members\":[";
  bool first = true;
  for (const auto& m : members) {
    if (!first) out += ',';
    first = false;
    out += "{\"name\":" + json_quote(m.name);
    out += ",\"addr\":" + json_quote(m.addr);
    out += ",\"state\":" + json_quote(gossip::to_string(m.state));
    out += ",\"incarnation\":" + std::to_string(m.incarnation.value);
    out += ",\"client_addr\":" + json_quote(m.meta.client_addr);
    out += ",\"http_addr\":" + json_quote(m.meta.http_addr);
    out += ",\"data_addr\":" + json_quote(m.meta.data_addr);
    out += ",\"tags\":{";
    bool first_tag = true;
    for (const auto& [k, v] : m.meta.tags) {
      if (!first_tag) out += ',';
      first_tag = false;
      out += json_quote(k) + ":" + json_quote(v);
    }
    out += "}}";
  }
  out += "]}";
  return out;
}

std::string pad(std::string s, std::size_t w) {
  if (s.size() < w) s.append(w - s.size(), ' ');
  return s;
}

std::string members_table(const std::string& self, const std::vector<gossip::Member>& members) {
  std::size_t name_w = 4, addr_w = 4, client_w = 6;
  for (const auto& m : members) {
    name_w = std::max(name_w, m.name.size() + 2);  // room for the "* " self marker
    addr_w = std::max(addr_w, m.addr.size());
    client_w = std::max(client_w, m.meta.client_addr.size());
  }
  std::string out = pad("NAME", name_w) + "  " + pad("ADDR", addr_w) + "  " + pad("STATE", 7) +
                    "  " + pad("INC", 5) + "  " + pad("CLIENT", client_w) + "  HTTP\n";
  for (const auto& m : members) {
    out += pad((m.name == self ? "* " : "  ") + m.name, name_w) + "  " + pad(m.addr, addr_w) +
           "  " + pad(std::string(gossip::to_string(m.state)), 7) + "  " +
           pad(std::to_string(m.incarnation.value), 5) + "  " +
           pad(m.meta.client_addr.empty() ? "-" : m.meta.client_addr, client_w) + "  " +
           (m.meta.http_addr.empty() ? "-" : m.meta.http_addr) + "\n";
  }
  return out;
}

std::string partitions_json(const cluster::PartitionTable& table) {
  std::string out = "{\"partition_count\":" + std::to_string(table.partition_count()) +
                    ",\"replicas\":" + std::to_string(table.replicas()) + ",\"owned\":{";
  std::vector<std::size_t> owned(table.members().size(), 0);
  for (std::uint32_t p = 0; p < table.partition_count(); ++p) {
    for (auto i : table.owner_indices(PartitionId{p})) ++owned[i];
  }
  for (std::size_t i = 0; i < owned.size(); ++i) {
    if (i > 0) out += ',';
    out += json_quote(table.members()[i]) + ":" + std::to_string(owned[i]);
  }
  out += "},\"partitions\":[";
  for (std::uint32_t p = 0; p < table.partition_count(); ++p) {
    if (p > 0) out += ',';
    out += "{\"id\":" + std::to_string(p) + ",\"owners\":[";
    bool first = true;
    for (auto i : table.owner_indices(PartitionId{p})) {
      if (!first) out += ',';
      first = false;
      out += json_quote(table.members()[i]);
    }
    out += "]}";
  }
  out += "]}";
  return out;
}

// Per member: partitions owned and those where it is first in the preference list; with
// `all`, one line per partition with its owners in preference order.
std::string partitions_table(const cluster::PartitionTable& table, bool all) {
  const auto& members = table.members();
  std::vector<std::size_t> owned(members.size(), 0), primary(members.size(), 0);
  for (std::uint32_t p = 0; p < table.partition_count(); ++p) {
    const auto owners = table.owner_indices(PartitionId{p});
    for (std::size_t r = 0; r < owners.size(); ++r) {
      ++owned[owners[r]];
      if (r == 0) ++primary[owners[r]];
    }
  }
  std::size_t name_w = 6;
  for (const auto& m : members) name_w = std::max(name_w, m.size());
  std::string out = "partitions " + std::to_string(table.partition_count()) + ", replicas " +
                    std::to_string(table.replicas()) + ", members " +
                    std::to_string(members.size()) + "\n" + pad("MEMBER", name_w) +
                    "  OWNED  PRIMARY\n";
  for (std::size_t i = 0; i < members.size(); ++i) {
    out += pad(members[i], name_w) + "  " + pad(std::to_string(owned[i]), 5) + "  " +
           std::to_string(primary[i]) + "\n";
  }
  if (!all) return out;
  out += "\nPARTITION  OWNERS\n";
  for (std::uint32_t p = 0; p < table.partition_count(); ++p) {
    std::string line = pad(std::to_string(p), 9) + "  ";
    bool first = true;
    for (auto i : table.owner_indices(PartitionId{p})) {
      if (!first) line += ',';
      first = false;
      line += members[i];
    }
    out += line + "\n";
  }
  return out;
}

Result<std::unique_ptr<AdminServer>> AdminServer::start(const std::string& addr,
                                                        AdminSources sources,
                                                        AdminSecurity security) {
  auto parsed = parse_host_port(addr);
  if (!parsed.ok()) {
    return make_error(StatusCode::invalid_argument, "HTTP address " + parsed.status().message());
  }
  const std::string host = parsed->host;
  const int port = parsed->port;

  std::unique_ptr<AdminServer> self(new AdminServer());
  self->impl_ = std::make_unique<Impl>();
  const bool https = !security.tls_cert_file.empty() && !security.tls_key_file.empty();
  if (https) {
    auto ssl = std::make_unique<httplib::SSLServer>(security.tls_cert_file.c_str(),
                                                    security.tls_key_file.c_str());
    if (!ssl->is_valid()) {
      return make_error(StatusCode::invalid_argument,
                        "HTTP admin port: cannot load --http-tls-cert-file " +
                            security.tls_cert_file + " with --http-tls-key-file " +
                            security.tls_key_file);
    }
    self->impl_->server = std::move(ssl);
  } else {
    self->impl_->server = std::make_unique<httplib::Server>();
  }
  auto& server = *self->impl_->server;
  if (!security.token.empty()) {
    server.set_pre_routing_handler(
        [token = security.token](const httplib::Request& req, httplib::Response& res) {
          const bool open = req.path == "/healthz" || req.path == "/readyz" || req.path == "/" ||
                            req.path.rfind("/dashboard/", 0) == 0;
          if (open || bearer_matches(req.get_header_value("Authorization"), token)) {
            return httplib::Server::HandlerResponse::Unhandled;
          }
          res.status = 401;
          res.set_header("WWW-Authenticate", "Bearer realm=\"apiary\"");
          res.set_content("{\"error\":\"this endpoint needs Authorization: Bearer <admin token>\"}",
                          "application/json");
          return httplib::Server::HandlerResponse::Handled;
        });
  }
  PeerAccess peers;
  peers.scheme = https ? "https" : "http";
  peers.ca_file = security.tls_ca_file.empty() ? security.tls_cert_file : security.tls_ca_file;
  peers.token = security.token;
  // Four threads: a dashboard's /v1/cluster/stats holds one while it asks the other members.
  server.new_task_queue = [] { return new httplib::ThreadPool(4); };

  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  // Readiness for load balancers and Kubernetes probes: 200 once joined, owning its data and
  // not leaving; 503 with the reasons otherwise. Open like /healthz.
  server.Get("/readyz", [sources](const httplib::Request&, httplib::Response& res) {
    auto answer = sources.ready ? sources.ready() : std::nullopt;
    if (!answer) {
      res.status = 503;
      res.set_content("{\"ready\":false,\"reasons\":[\"node busy\"]}", "application/json");
      return;
    }
    res.status = answer->first ? 200 : 503;
    res.set_content(answer->second, "application/json");
  });
  server.Get("/v1/members", [sources](const httplib::Request& req, httplib::Response& res) {
    if (req.get_param_value("format") == "text") {
      res.set_content(members_table(sources.self_name(), sources.members()), "text/plain");
    } else {
      res.set_content(members_json(sources.self_name(), sources.members()), "application/json");
    }
  });

  server.Get("/v1/partitions", [sources](const httplib::Request& req, httplib::Response& res) {
    auto table = sources.partitions ? sources.partitions() : nullptr;
    if (!table) {
      res.status = 503;
      res.set_content("{\"error\":\"no partition table yet\"}", "application/json");
      return;
    }
    if (req.get_param_value("format") == "text") {
      res.set_content(partitions_table(*table, req.get_param_value("all") == "1"), "text/plain");
    } else {
      res.set_content(partitions_json(*table), "application/json");
    }
  });

  server.Get("/metrics", [sources](const httplib::Request& req, httplib::Response& res) {
    const bool openmetrics =
        req.get_header_value("Accept").find("application/openmetrics-text") != std::string::npos;
    auto body = sources.metrics ? sources.metrics(openmetrics) : std::nullopt;
    if (!body) {
      res.status = 503;
      res.set_content("node busy\n", "text/plain");
      return;
    }
    res.set_content(*body, openmetrics
                               ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                               : "text/plain; version=0.0.4; charset=utf-8");
  });
  server.Get("/v1/stats", [sources](const httplib::Request&, httplib::Response& res) {
    auto body = sources.stats ? sources.stats() : std::nullopt;
    if (!body) {
      res.status = 503;
      res.set_content("{\"error\":\"node busy\"}", "application/json");
      return;
    }
    res.set_content(*body, "application/json");
  });
  server.Get("/v1/events", [sources](const httplib::Request& req, httplib::Response& res) {
    std::uint64_t after = 0;
    const std::string given = req.get_param_value("after");
    if (!given.empty()) after = std::strtoull(given.c_str(), nullptr, 10);
    res.set_content(sources.events ? sources.events(after) : "{\"events\":[]}", "application/json");
  });

  add_dashboard_routes(server, sources, std::move(peers));
  add_ops_routes(server, sources);
  add_drain_route(server, sources);

  int bound_port = port;
  if (port == 0) {
    bound_port = server.bind_to_any_port(host);
  } else if (!server.bind_to_port(host, port)) {
    bound_port = -1;
  }
  if (bound_port <= 0) {
    return make_error(StatusCode::io_error, "cannot bind HTTP admin port " + addr);
  }
  self->bound_addr_ = host + ":" + std::to_string(bound_port);
  self->impl_->thread =
      std::thread([impl = self->impl_.get()] { impl->server->listen_after_bind(); });
  return self;
}

void AdminServer::stop() {
  if (!impl_ || !impl_->server) return;
  impl_->server->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

AdminServer::~AdminServer() { stop(); }

}  // namespace apiary::http
