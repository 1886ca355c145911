// Seeds given by name: NodeConfig::seeds (apiaryd --seeds) entries are
//
//   HOST:PORT        one address, used as it is (as before)
//   dns:NAME:PORT    every A record of NAME (getaddrinfo: /etc/hosts, then DNS), each with PORT
//                    -- a Kubernetes headless Service, or a round-robin name
//   dns+srv:NAME     the SRV records of NAME (libresolv), each target's A records with the
//                    record's port -- _apiary._tcp.apiary.default.svc.cluster.local
//
// parse_seed_specs() checks the syntax at start (no lookups). resolve_seeds() does the blocking
// lookups; SeedResolver runs them on a thread of its own, so a slow or dead DNS server never
// stalls a node's event loop, and hands each result to a callback that posts it to the loop
// (which gives it to the core: NodeCore::set_seeds). When to resolve again is the driver's
// choice (node_impl.cpp: while joining or alone every ~2 s, then every seed_refresh_interval).
//
// Only IPv4 addresses are kept (AAAA records are skipped): the gossip transport speaks IPv4.
// Thread safety: parse_seed_specs and resolve_seeds are pure/blocking functions; a
// SeedResolver's methods may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/status.hpp"

namespace apiary::runtime {

struct SeedSpec {
  enum class Kind : unsigned char { address, dns, dns_srv };
  Kind kind = Kind::address;
  std::string host;        // address: the host; dns and dns_srv: the name to look up
  std::uint16_t port = 0;  // address and dns; dns_srv takes each record's port
  std::string text;        // as given, for messages
};

// invalid_argument naming the entry and the expected forms when one is not one of them.
Result<SeedSpec> parse_seed_spec(std::string_view text);
Result<std::vector<SeedSpec>> parse_seed_specs(const std::vector<std::string>& texts);
// Whether any spec is a name (it must be resolved before the node can join through it).
bool any_names(const std::vector<SeedSpec>& specs);

struct ResolvedSeeds {
  std::vector<std::string> addrs;   // host:port, each once, in the order found
  std::vector<std::string> errors;  // one line per name that did not resolve
};

// Blocking: every spec's addresses (HOST:PORT specs as they are).
ResolvedSeeds resolve_seeds(const std::vector<SeedSpec>& specs);

class SeedResolver {
 public:
  // `done` runs on the resolver's thread after every resolution, never after the destructor
  // returned; it must be quick (post to a loop).
  SeedResolver(std::vector<SeedSpec> specs, std::function<void(ResolvedSeeds)> done);
  // Does not wait for a lookup in progress (getaddrinfo cannot be interrupted): the thread
  // finishes it alone, and its result is dropped.
  ~SeedResolver();
  SeedResolver(const SeedResolver&) = delete;
  SeedResolver& operator=(const SeedResolver&) = delete;

  // Resolve again (at once when idle; requests made during a lookup become one more lookup).
  void request();

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
};

}  // namespace apiary::runtime
