#include "dashboard_routes.hpp"

#include <chrono>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "apiary/base/host_port.hpp"
#include "apiary/runtime/event_loop.hpp"  // wall_now(): the "time" of /v1/cluster/stats
#include "dashboard_assets.hpp"

namespace apiary::http {

namespace {

constexpr auto kPeerTimeout = std::chrono::milliseconds(500);

const Asset* find_asset(std::string_view name) {
  for (const auto& asset : dashboard_assets()) {
    if (asset.name == name) return &asset;
  }
  return nullptr;
}

void serve_asset(std::string_view name, httplib::Response& res) {
  const Asset* asset = find_asset(name);
  if (asset == nullptr) {
    res.status = 404;
    res.set_content("not found\n", "text/plain");
    return;
  }
  // The files change only with the binary; a restarted node must not serve stale copies.
  res.set_header("Cache-Control", "no-cache");
  res.set_content(std::string(asset->body), std::string(asset->content_type));
}

// A member's GET /v1/stats, or nullopt when it does not answer within kPeerTimeout.
std::optional<std::string> peer_stats(const std::string& http_addr, const PeerAccess& peers) {
  auto parsed = parse_host_port(http_addr);
  if (!parsed.ok()) return std::nullopt;
  httplib::Client client(peers.scheme + "://" + parsed->to_string());
  if (peers.scheme == "https" && !peers.ca_file.empty()) client.set_ca_cert_path(peers.ca_file);
  if (!peers.token.empty()) client.set_bearer_token_auth(peers.token);
  client.set_connection_timeout(kPeerTimeout);
  client.set_read_timeout(kPeerTimeout);
  client.set_write_timeout(kPeerTimeout);
  auto res = client.Get("/v1/stats");
  // A member's body goes into ours verbatim: take only what looks like one JSON object.
  if (!res || res->status != 200 || res->body.empty() || res->body.front() != '{' ||
      res->body.back() != '}') {
    return std::nullopt;
  }
  return res->body;
}

std::string cluster_stats(const AdminSources& sources, const PeerAccess& peers) {
  const std::string self = sources.self_name();
  std::vector<std::string> names;
  std::vector<std::future<std::optional<std::string>>> answers;
  for (const auto& m : sources.members()) {
    const bool reachable =
        m.state == gossip::MemberState::alive || m.state == gossip::MemberState::suspect;
    if (m.name == self || !reachable) continue;
    names.push_back(m.name);
    // No admin address: peer_stats fails at once, no thread needed.
    const auto policy = m.meta.http_addr.empty() ? std::launch::deferred : std::launch::async;
    answers.push_back(std::async(policy, peer_stats, m.meta.http_addr, std::cref(peers)));
  }
  std::string nodes, unreachable;
  auto add = [](std::string& list, const std::string& item) {
    if (!list.empty()) list += ',';
    list += item;
  };
  if (auto own = sources.stats ? sources.stats() : std::nullopt) {
    add(nodes, *own);
  } else {
    add(unreachable, json_quote(self));
  }
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (auto body = answers[i].get()) {
      add(nodes, *body);
    } else {
      add(unreachable, json_quote(names[i]));
    }
  }
  return "{\"self\":" + json_quote(self) + ",\"time\":" + std::to_string(runtime::wall_now().ms) +
         ",\"nodes\":[" + nodes + "],\"unreachable\":[" + unreachable + "]}";
}

}  // namespace

void add_dashboard_routes(httplib::Server& server, const AdminSources& sources, PeerAccess peers) {
  server.Get(
      "/", [](const httplib::Request&, httplib::Response& res) { serve_asset("index.html", res); });
  server.Get(R"(/dashboard/([A-Za-z0-9_.-]+))",
             [](const httplib::Request& req, httplib::Response& res) {
               serve_asset(req.matches[1].str(), res);
             });
  server.Get("/v1/cluster/stats",
             [sources, peers](const httplib::Request&, httplib::Response& res) {
               res.set_content(cluster_stats(sources, peers), "application/json");
             });
}

}  // namespace apiary::http
