// lookup_service: an HTTP service that caches slow lookups in an Apiary cluster it is itself
// a member of (no apiaryd needed; apiaryd nodes may join the same cluster).
//
//   GET /lookup/<key>  the lookup's result: from the cluster when some member computed it
//                      within --ttl seconds ("cached": true), else computed here (slowly)
//                      and cached for every member
//   GET /members       the cluster's members as this node sees them
//   GET /stats         this node's cache counters
//
// SIGINT or SIGTERM stops the HTTP server, then leaves the cluster gracefully (this member's
// share of the cache moves to the others first) and exits 0. See README.md, "Embedding".
#include <httplib.h>
#include <signal.h>

#include <apiary/node.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;

struct Options {
  apiary::NodeConfig node = [] {
    apiary::NodeConfig c;
    c.near_cache_keys = 10000;  // repeated lookups of keys other members own stay local
    return c;
  }();
  std::string http_addr = "127.0.0.1:8000";
  std::chrono::seconds ttl{60};
};

void usage(std::FILE* out) {
  std::fputs(
      "usage: lookup_service [options]\n"
      "  --name NAME          unique member name (default: HOSTNAME-PORT)\n"
      "  --gossip HOST:PORT   gossip address to bind (default 0.0.0.0:7946; port 0: any)\n"
      "  --seed HOST:PORT     gossip address of a member to join through (repeatable;\n"
      "                       none starts a new cluster)\n"
      "  --http HOST:PORT     where this service answers HTTP (default 127.0.0.1:8000)\n"
      "  --client IP:PORT     also serve the Redis protocol there (redis-cli can look at the\n"
      "                       cache; off by default)\n"
      "  --replicas N         owners of every partition (default 3; same on every member)\n"
      "  --partitions N       partitions of the key space (default 1024; same everywhere)\n"
      "  --cluster-name NAME  members only talk to members with the same name (apiary)\n"
      "  --ttl SECONDS        how long a computed lookup stays cached (default 60)\n"
      "  --near-cache N       keep up to N lookups this member does not own in a local\n"
      "                       near cache, invalidated when they change (default 10000;\n"
      "                       0: off)\n"
      "  --log-level LEVEL    the node's log: trace, debug, info (default), warn, error, off\n",
      out);
}

bool parse_uint(const std::string& text, std::uint32_t& out) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != text.npos) {
    return false;
  }
  out = static_cast<std::uint32_t>(std::stoul(text));
  return true;
}

// Plain argv parsing (--flag VALUE or --flag=VALUE), so the example needs no library beyond
// apiary and cpp-httplib. Returns false on a bad command line.
bool parse_args(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    std::string value;
    if (flag == "--help" || flag == "-h") {
      usage(stdout);
      std::exit(0);
    }
    if (const auto eq = flag.find('='); eq != flag.npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      std::fprintf(stderr, "lookup_service: %s needs a value\n", flag.c_str());
      return false;
    }
    std::uint32_t number = 0;
    if (flag == "--name") {
      options.node.name = value;
    } else if (flag == "--gossip") {
      options.node.gossip_addr = value;
    } else if (flag == "--seed") {
      options.node.seeds.push_back(value);
    } else if (flag == "--http") {
      options.http_addr = value;
    } else if (flag == "--client") {
      options.node.client_addr = value;
    } else if (flag == "--log-level") {
      options.node.log_level = value;
    } else if (flag == "--cluster-name") {
      options.node.cluster_name = value;
    } else if (flag == "--replicas" && parse_uint(value, number) && number > 0) {
      options.node.replicas = number;
    } else if (flag == "--partitions" && parse_uint(value, number) && number > 0) {
      options.node.partition_count = number;
    } else if (flag == "--near-cache" && parse_uint(value, number)) {
      options.node.near_cache_keys = number;
    } else if (flag == "--ttl" && parse_uint(value, number) && number > 0) {
      options.ttl = std::chrono::seconds(number);
    } else {
      std::fprintf(stderr, "lookup_service: bad option %s %s\n", flag.c_str(), value.c_str());
      return false;
    }
  }
  // The default write quorum (2) cannot exceed a smaller replication factor.
  if (options.node.write_quorum > options.node.replicas) {
    options.node.write_quorum = options.node.replicas;
  }
  return true;
}

// The slow thing this service exists to avoid repeating: here a fixed delay and a
// deterministic digest of the key, so every member computes the same answer.
std::string slow_lookup(std::string_view key) {
  std::this_thread::sleep_for(200ms);
  std::uint64_t hash = 14695981039346656037ull;  // FNV-1a, iterated
  for (int round = 0; round < 1000; ++round) {
    for (const char c : key) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    hash = (hash ^ static_cast<std::uint64_t>(round)) * 1099511628211ull;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// A cached entry is "<member that computed it>\t<result>".
std::pair<std::string, std::string> split_entry(const std::string& entry) {
  const auto tab = entry.find('\t');
  if (tab == entry.npos) return {"", entry};
  return {entry.substr(0, tab), entry.substr(tab + 1)};
}

void handle_lookup(apiary::Node& node, const Options& options, const httplib::Request& request,
                   httplib::Response& response) {
  const std::string key = request.matches[1];
  const std::string cache_key = "lookup:" + key;
  auto cached = node.get(cache_key);
  if (!cached.ok()) {
    // The cache is unavailable (e.g. the owners of this key are unreachable): say so rather
    // than pile slow lookups onto a struggling cluster.
    response.status = 503;
    response.set_content("cache unavailable: " + cached.status().message() + "\n", "text/plain");
    return;
  }
  bool hit = false;
  std::string computed_by;
  std::string value;
  std::string cache_error;
  if (cached.value().has_value()) {
    hit = true;
    std::tie(computed_by, value) = split_entry(*cached.value());
  } else {
    value = slow_lookup(key);
    computed_by = node.name();
    apiary::SetOptions set_options;
    set_options.ttl = options.ttl;
    auto stored = node.set(cache_key, computed_by + "\t" + value, set_options);
    if (!stored.ok()) cache_error = stored.status().message();  // still answer
  }
  std::string body = "{\"key\":" + json_string(key) + ",\"value\":" + json_string(value) +
                     ",\"cached\":" + (hit ? "true" : "false") +
                     ",\"computed_by\":" + json_string(computed_by) +
                     ",\"served_by\":" + json_string(node.name());
  if (!cache_error.empty()) body += ",\"cache_error\":" + json_string(cache_error);
  response.set_content(body + "}\n", "application/json");
}

void handle_members(apiary::Node& node, httplib::Response& response) {
  std::ostringstream out;
  for (const auto& member : node.members()) {
    out << member.name << ' ' << member.addr << ' ' << apiary::gossip::to_string(member.state)
        << '\n';
  }
  response.set_content(out.str(), "text/plain");
}

void handle_stats(apiary::Node& node, httplib::Response& response) {
  const apiary::NodeStats stats = node.stats();
  std::ostringstream out;
  out << "keys " << stats.keys << "\nhits " << stats.hits << "\nmisses " << stats.misses
      << "\nexpired " << stats.expired << "\ncalls " << stats.calls << "\ncommands_forwarded "
      << stats.commands_forwarded << "\nnear_cache_hits " << stats.near_cache_hits
      << "\nnear_cache_misses " << stats.near_cache_misses << "\nnear_cache_invalidations "
      << stats.near_cache_invalidations << "\nnear_cache_entries " << stats.near_cache_entries
      << '\n';
  response.set_content(out.str(), "text/plain");
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse_args(argc, argv, options)) {
    usage(stderr);
    return 2;
  }
  const auto colon = options.http_addr.rfind(':');
  std::uint32_t port_number = 0;
  if (colon == std::string::npos || !parse_uint(options.http_addr.substr(colon + 1), port_number) ||
      port_number > 65535) {
    std::fprintf(stderr, "lookup_service: --http wants HOST:PORT, got %s\n",
                 options.http_addr.c_str());
    return 2;
  }
  const std::string http_host = options.http_addr.substr(0, colon);
  int http_port = static_cast<int>(port_number);

  // Block SIGINT/SIGTERM before any thread starts (the node's loop thread and the HTTP
  // workers inherit the mask), so only the waiter thread below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto started = apiary::Node::start(options.node);
  if (!started.ok()) {
    std::fprintf(stderr, "lookup_service: cannot start the node: %s\n",
                 started.status().message().c_str());
    return 1;
  }
  std::unique_ptr<apiary::Node> node = std::move(started).value();

  httplib::Server server;
  // Headers and body leave in separate writes: without TCP_NODELAY a keep-alive client waits
  // for its delayed ACK (~40 ms) on every response.
  server.set_tcp_nodelay(true);
  server.Get(R"(/lookup/(.+))", [&](const httplib::Request& request, httplib::Response& response) {
    handle_lookup(*node, options, request, response);
  });
  server.Get("/members", [&](const httplib::Request&, httplib::Response& response) {
    handle_members(*node, response);
  });
  server.Get("/stats", [&](const httplib::Request&, httplib::Response& response) {
    handle_stats(*node, response);
  });
  if (http_port == 0) {
    http_port = server.bind_to_any_port(http_host);
  } else if (!server.bind_to_port(http_host, http_port)) {
    http_port = -1;
  }
  if (http_port < 0) {
    std::fprintf(stderr, "lookup_service: cannot listen on %s\n", options.http_addr.c_str());
    node->stop();
    return 1;
  }

  std::atomic<bool> listening_done{false};
  std::thread signal_waiter([&] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    // stop() is a no-op until listen_after_bind() is running: repeat until it returned.
    while (!listening_done) {
      server.stop();
      std::this_thread::sleep_for(20ms);
    }
  });

  // One line with every bound address (ports may have been picked by the system).
  std::printf("lookup_service ready name=%s gossip=%s http=%s:%d client=%s\n", node->name().c_str(),
              node->gossip_addr().c_str(), http_host.c_str(), http_port,
              node->client_addr().empty() ? "off" : node->client_addr().c_str());
  std::fflush(stdout);

  const bool served = server.listen_after_bind();
  listening_done = true;
  if (!served) {
    // listen_after_bind() failed on its own: wake the waiter so it can be joined.
    pthread_kill(signal_waiter.native_handle(), SIGTERM);
  }
  signal_waiter.join();

  const apiary::Status left = node->leave();
  std::printf("lookup_service left the cluster: %s\n", left.ok() ? "ok" : left.message().c_str());
  return served && left.ok() ? 0 : 1;
}
