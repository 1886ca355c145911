#include "cluster_http.hpp"

#include <httplib.h>

#include "apiary/base/host_port.hpp"
#include "json.hpp"

namespace apiary::cli {

namespace {

AdminAccess& access() {
  static AdminAccess a;
  return a;
}

}  // namespace

void set_admin_access(AdminAccess a) { access() = std::move(a); }

std::unique_ptr<httplib::Client> admin_client(const std::string& host, int port) {
  const AdminAccess& a = access();
  auto client = std::make_unique<httplib::Client>((a.https ? "https://" : "http://") + host + ":" +
                                                  std::to_string(port));
  if (a.https && !a.ca_file.empty()) client->set_ca_cert_path(a.ca_file);
  if (!a.token.empty()) client->set_bearer_token_auth(a.token);
  return client;
}

namespace {

Result<Json> get_json(const std::string& http_addr, const std::string& path) {
  auto parsed = parse_host_port(http_addr);
  if (!parsed.ok())
    return make_error(StatusCode::invalid_argument, "--http: " + parsed.status().message());
  auto client = admin_client(parsed->host, parsed->port);
  client->set_connection_timeout(3);
  client->set_read_timeout(10);
  auto res = client->Get(path);
  if (!res) {
    return make_error(StatusCode::unavailable,
                      "cannot reach " + http_addr + ": " + httplib::to_string(res.error()));
  }
  if (res->status != 200) {
    return make_error(StatusCode::unavailable, http_addr + path + " answered HTTP " +
                                                   std::to_string(res->status) + " " + res->body);
  }
  auto json = parse_json(res->body);
  if (!json.ok()) {
    return make_error(StatusCode::malformed, http_addr + path + ": " + json.status().message());
  }
  return json;
}

Status missing(const std::string& http_addr, const char* path, const char* what) {
  return make_error(StatusCode::malformed, http_addr + path + ": no " + what);
}

}  // namespace

const ClusterMember* ClusterMembers::find(const std::string& name) const {
  for (const auto& m : members) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::vector<std::string> ClusterMembers::live_redis_addrs() const {
  std::vector<std::string> out;
  for (const auto& m : members) {
    if (!m.live()) continue;
    if (m.name == self) {
      out.insert(out.begin(), m.redis_addr);
    } else {
      out.push_back(m.redis_addr);
    }
  }
  return out;
}

Result<ClusterMembers> fetch_members(const std::string& http_addr) {
  auto json = get_json(http_addr, "/v1/members");
  if (!json.ok()) return json.status();
  const std::string http_host = parse_host_port(http_addr)->host;
  const Json* list = json->find("members");
  if (list == nullptr || list->kind != Json::Kind::array) {
    return missing(http_addr, "/v1/members", "member list");
  }
  ClusterMembers out;
  if (const Json* self = json->find("self")) out.self = self->as_string().value_or("");
  for (const Json& m : list->items) {
    ClusterMember member;
    const Json* name = m.find("name");
    const Json* state = m.find("state");
    if (name == nullptr || state == nullptr)
      return missing(http_addr, "/v1/members", "name or state");
    member.name = name->as_string().value_or("");
    member.state = state->as_string().value_or("");
    const Json* client = m.find("client_addr");
    if (client != nullptr && client->as_string() && !client->text.empty()) {
      auto hp = parse_host_port(client->text);
      if (hp.ok()) {
        // A node bound to every interface advertises no usable host: use the one we reached.
        if (hp->host.empty() || hp->host == "0.0.0.0") hp->host = http_host;
        member.redis_addr = hp->to_string();
      }
    }
    out.members.push_back(std::move(member));
  }
  return out;
}

Result<PartitionMap> fetch_partitions(const std::string& http_addr) {
  auto json = get_json(http_addr, "/v1/partitions");
  if (!json.ok()) return json.status();
  const Json* count = json->find("partition_count");
  const Json* replicas = json->find("replicas");
  const Json* list = json->find("partitions");
  if (count == nullptr || !count->as_int() || list == nullptr || list->kind != Json::Kind::array) {
    return missing(http_addr, "/v1/partitions", "partition table");
  }
  const std::int64_t n = *count->as_int();
  if (n <= 0 || n > (1 << 20) || (n & (n - 1)) != 0) {
    return missing(http_addr, "/v1/partitions", "power-of-two partition count");
  }
  PartitionMap out;
  out.partition_count = static_cast<std::uint32_t>(n);
  out.replicas =
      replicas != nullptr ? static_cast<std::uint32_t>(replicas->as_int().value_or(0)) : 0;
  out.owners.resize(out.partition_count);
  for (const Json& p : list->items) {
    const Json* id = p.find("id");
    const Json* owners = p.find("owners");
    if (id == nullptr || !id->as_int() || *id->as_int() < 0 ||
        *id->as_int() >= static_cast<std::int64_t>(out.partition_count) || owners == nullptr) {
      return missing(http_addr, "/v1/partitions", "valid partition id and owners");
    }
    auto& list_of = out.owners[static_cast<std::size_t>(*id->as_int())];
    for (const Json& o : owners->items) list_of.push_back(o.as_string().value_or(""));
  }
  return out;
}

Result<std::vector<std::string>> fetch_live_redis_addrs(const std::string& http_addr) {
  auto members = fetch_members(http_addr);
  if (!members.ok()) return members.status();
  auto addrs = members->live_redis_addrs();
  if (addrs.empty()) {
    return make_error(StatusCode::unavailable,
                      http_addr + " lists no live member with a Redis port");
  }
  return addrs;
}

}  // namespace apiary::cli
