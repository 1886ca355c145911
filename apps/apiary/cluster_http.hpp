// What the apiary CLI learns from a node's HTTP admin port (libnode/http/admin_server.cpp):
// the members with their state and Redis address (GET /v1/members) and the partition table
// with each partition's owners in preference order (GET /v1/partitions). Blocking, with
// timeouts; errors are Statuses whose message names the address.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "apiary/base/status.hpp"

namespace httplib {
class Client;
}

namespace apiary::cli {

// How this tool talks to admin ports (docs/security.md): https (checked against `ca_file`,
// or the system's CAs when it is empty) and a bearer token. Set once by main before any
// request; every admin request of the tool goes through admin_client().
struct AdminAccess {
  bool https = false;
  std::string ca_file;
  std::string token;
};
void set_admin_access(AdminAccess access);
// A client for the admin port at host:port with the access above.
std::unique_ptr<httplib::Client> admin_client(const std::string& host, int port);

struct ClusterMember {
  std::string name;
  std::string state;       // alive, suspect, dead, left
  std::string redis_addr;  // host:port of its Redis port; empty when it has none
  // Serves commands: what the router calls a live member (alive or suspect).
  bool live() const { return (state == "alive" || state == "suspect") && !redis_addr.empty(); }
};

struct ClusterMembers {
  std::string self;  // the member that answered
  std::vector<ClusterMember> members;
  const ClusterMember* find(const std::string& name) const;
  // Redis addresses of the live members, the answering one first.
  std::vector<std::string> live_redis_addrs() const;
};

struct PartitionMap {
  std::uint32_t partition_count = 0;
  std::uint32_t replicas = 0;
  std::vector<std::vector<std::string>> owners;  // by partition id, preference order
};

// A member that advertises no host (bound to every interface) is given `http_addr`'s host.
Result<ClusterMembers> fetch_members(const std::string& http_addr);
Result<PartitionMap> fetch_partitions(const std::string& http_addr);
// The Redis addresses of the live members (the answering one first); an error when the
// member list cannot be fetched or holds none.
Result<std::vector<std::string>> fetch_live_redis_addrs(const std::string& http_addr);

}  // namespace apiary::cli
