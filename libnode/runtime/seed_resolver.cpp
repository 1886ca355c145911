#include "apiary/runtime/seed_resolver.hpp"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <sys/socket.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "apiary/base/host_port.hpp"

namespace apiary::runtime {

namespace {

constexpr std::string_view kDns = "dns:";
constexpr std::string_view kDnsSrv = "dns+srv:";

Status bad_spec(std::string_view text, std::string_view why) {
  return make_error(StatusCode::invalid_argument,
                    "seed '" + std::string(text) + "': " + std::string(why) +
                        " (expected HOST:PORT, dns:NAME:PORT or dns+srv:NAME)");
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
  });
}

void add_unique(std::vector<std::string>& out, std::string addr) {
  if (std::find(out.begin(), out.end(), addr) == out.end()) out.push_back(std::move(addr));
}

// The IPv4 addresses of `name`, each with `port`; an error line when there are none.
void lookup_a(const std::string& name, std::uint16_t port, ResolvedSeeds& out) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  const int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &list);
  if (rc != 0) {
    out.errors.push_back(name + ": " + ::gai_strerror(rc));
    return;
  }
  for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET) continue;
    char buf[INET_ADDRSTRLEN];
    const auto* sin = reinterpret_cast<const sockaddr_in*>(ai->ai_addr);
    if (::inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf) != nullptr) {
      add_unique(out.addrs, std::string(buf) + ":" + std::to_string(port));
    }
  }
  ::freeaddrinfo(list);
}

// The SRV records of `name`, each target resolved to its A records with the record's port.
void lookup_srv(const std::string& name, ResolvedSeeds& out) {
  struct __res_state state;
  std::memset(&state, 0, sizeof state);
  if (::res_ninit(&state) != 0) {
    out.errors.push_back(name + ": cannot read the resolver configuration");
    return;
  }
  std::vector<unsigned char> answer(65536);
  const int len = ::res_nquery(&state, name.c_str(), ns_c_in, ns_t_srv, answer.data(),
                               static_cast<int>(answer.size()));
  if (len < 0) {
    out.errors.push_back(name + ": no SRV records (" + ::hstrerror(state.res_h_errno) + ")");
    ::res_nclose(&state);
    return;
  }
  ns_msg msg;
  if (::ns_initparse(answer.data(), len, &msg) != 0) {
    out.errors.push_back(name + ": malformed DNS answer");
    ::res_nclose(&state);
    return;
  }
  struct Target {
    std::uint16_t priority, weight, port;
    std::string host;
  };
  std::vector<Target> targets;
  for (int i = 0; i < ns_msg_count(msg, ns_s_an); ++i) {
    ns_rr rr;
    if (::ns_parserr(&msg, ns_s_an, i, &rr) != 0 || ns_rr_type(rr) != ns_t_srv ||
        ns_rr_rdlen(rr) < 7) {
      continue;
    }
    const unsigned char* rdata = ns_rr_rdata(rr);
    char host[NS_MAXDNAME];
    if (::dn_expand(ns_msg_base(msg), ns_msg_end(msg), rdata + 6, host, sizeof host) < 0) continue;
    auto u16 = [](const unsigned char* at) { return static_cast<std::uint16_t>(ns_get16(at)); };
    targets.push_back({u16(rdata), u16(rdata + 2), u16(rdata + 4), host});
  }
  ::res_nclose(&state);
  if (targets.empty()) out.errors.push_back(name + ": no SRV records");
  // Lower priority first (any of them is a seed; the order only decides the list's order).
  std::stable_sort(targets.begin(), targets.end(),
                   [](const Target& a, const Target& b) { return a.priority < b.priority; });
  for (const auto& t : targets) lookup_a(t.host, t.port, out);
}

}  // namespace

Result<SeedSpec> parse_seed_spec(std::string_view text) {
  SeedSpec spec;
  spec.text = std::string(text);
  if (text.rfind(kDnsSrv, 0) == 0) {
    spec.kind = SeedSpec::Kind::dns_srv;
    spec.host = std::string(text.substr(kDnsSrv.size()));
    if (!valid_name(spec.host)) return bad_spec(text, "not a DNS name");
    return spec;
  }
  if (text.rfind(kDns, 0) == 0) {
    auto parsed = parse_host_port(text.substr(kDns.size()));
    if (!parsed.ok()) return bad_spec(text, "dns: needs NAME:PORT");
    if (!valid_name(parsed->host)) return bad_spec(text, "not a DNS name");
    if (parsed->port == 0) return bad_spec(text, "port 0");
    spec.kind = SeedSpec::Kind::dns;
    spec.host = parsed->host;
    spec.port = parsed->port;
    return spec;
  }
  auto parsed = parse_host_port(text);
  if (!parsed.ok()) return bad_spec(text, "not HOST:PORT");
  spec.host = parsed->host;
  spec.port = parsed->port;
  return spec;
}

Result<std::vector<SeedSpec>> parse_seed_specs(const std::vector<std::string>& texts) {
  std::vector<SeedSpec> out;
  for (const auto& t : texts) {
    auto spec = parse_seed_spec(t);
    if (!spec.ok()) return spec.status();
    out.push_back(std::move(spec).value());
  }
  return out;
}

bool any_names(const std::vector<SeedSpec>& specs) {
  return std::any_of(specs.begin(), specs.end(),
                     [](const SeedSpec& s) { return s.kind != SeedSpec::Kind::address; });
}

ResolvedSeeds resolve_seeds(const std::vector<SeedSpec>& specs) {
  ResolvedSeeds out;
  for (const auto& spec : specs) {
    switch (spec.kind) {
      case SeedSpec::Kind::address:
        add_unique(out.addrs, spec.host + ":" + std::to_string(spec.port));
        break;
      case SeedSpec::Kind::dns:
        lookup_a(spec.host, spec.port, out);
        break;
      case SeedSpec::Kind::dns_srv:
        lookup_srv(spec.host, out);
        break;
    }
  }
  return out;
}

// Shared by the resolver object and its (detached) thread, which may outlive it.
struct SeedResolver::Shared {
  std::vector<SeedSpec> specs;
  std::function<void(ResolvedSeeds)> done;
  std::mutex mutex;
  std::condition_variable wake;
  bool requested = false;
  bool closed = false;

  static void run(const std::shared_ptr<Shared>& self) {
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(self->mutex);
        self->wake.wait(lock, [&] { return self->requested || self->closed; });
        if (self->closed) return;
        self->requested = false;
      }
      ResolvedSeeds result = resolve_seeds(self->specs);
      std::lock_guard<std::mutex> lock(self->mutex);
      if (self->closed) return;
      self->done(std::move(result));  // under the lock: the destructor waits for it
    }
  }
};

SeedResolver::SeedResolver(std::vector<SeedSpec> specs, std::function<void(ResolvedSeeds)> done)
    : shared_(std::make_shared<Shared>()) {
  shared_->specs = std::move(specs);
  shared_->done = std::move(done);
  std::thread([shared = shared_] { Shared::run(shared); }).detach();
}

SeedResolver::~SeedResolver() {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  shared_->closed = true;
  shared_->wake.notify_all();
}

void SeedResolver::request() {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  shared_->requested = true;
  shared_->wake.notify_all();
}

}  // namespace apiary::runtime
