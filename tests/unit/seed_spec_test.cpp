// Seed specs (runtime/seed_resolver.hpp): the three forms apiaryd --seeds takes, what is
// refused at start, and lookups that need no DNS server (addresses and /etc/hosts names).
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "apiary/runtime/seed_resolver.hpp"

using apiary::runtime::any_names;
using apiary::runtime::parse_seed_spec;
using apiary::runtime::parse_seed_specs;
using apiary::runtime::resolve_seeds;
using apiary::runtime::SeedSpec;

TEST_CASE("seed specs: addresses, dns: names with a port, dns+srv: names", "[seeds]") {
  auto address = parse_seed_spec("10.0.0.1:7946");
  REQUIRE(address.ok());
  CHECK(address->kind == SeedSpec::Kind::address);
  CHECK(address->host == "10.0.0.1");
  CHECK(address->port == 7946);

  auto dns = parse_seed_spec("dns:apiary.default.svc.cluster.local:7946");
  REQUIRE(dns.ok());
  CHECK(dns->kind == SeedSpec::Kind::dns);
  CHECK(dns->host == "apiary.default.svc.cluster.local");
  CHECK(dns->port == 7946);

  auto srv = parse_seed_spec("dns+srv:_apiary._tcp.apiary.test");
  REQUIRE(srv.ok());
  CHECK(srv->kind == SeedSpec::Kind::dns_srv);
  CHECK(srv->host == "_apiary._tcp.apiary.test");

  auto specs = parse_seed_specs({"10.0.0.1:7946", "dns:a.test:1"});
  REQUIRE(specs.ok());
  CHECK(any_names(*specs));
  CHECK_FALSE(any_names(*parse_seed_specs({"10.0.0.1:7946"})));
}

TEST_CASE("bad seed specs are refused with the entry and the forms in the message", "[seeds]") {
  for (const char* bad : {"10.0.0.1", "dns:apiary.test", "dns:apiary.test:0", "dns::7946",
                          "dns+srv:", "dns+srv:bad name", "dns:a/b:7946", "host:99999"}) {
    INFO(bad);
    auto spec = parse_seed_spec(bad);
    REQUIRE_FALSE(spec.ok());
    CHECK(spec.status().message().find(bad) != std::string::npos);
    CHECK(spec.status().message().find("dns:NAME:PORT") != std::string::npos);
  }
  CHECK_FALSE(parse_seed_specs({"10.0.0.1:7946", "nope"}).ok());
}

TEST_CASE("resolving: addresses as given, a hosts-file name with the spec's port", "[seeds]") {
  auto specs = parse_seed_specs({"10.0.0.9:7000", "dns:localhost:7946", "10.0.0.9:7000"});
  REQUIRE(specs.ok());
  auto resolved = resolve_seeds(*specs);
  CHECK(resolved.errors.empty());
  REQUIRE(resolved.addrs.size() == 2);  // each address once
  CHECK(resolved.addrs[0] == "10.0.0.9:7000");
  CHECK(resolved.addrs[1] == "127.0.0.1:7946");

  auto unknown = resolve_seeds(*parse_seed_specs({"dns:no-such-name.invalid:7946"}));
  CHECK(unknown.addrs.empty());
  REQUIRE(unknown.errors.size() == 1);
  CHECK(unknown.errors[0].find("no-such-name.invalid") != std::string::npos);
}

TEST_CASE("SeedResolver looks up on its own thread and stops calling back once destroyed",
          "[seeds]") {
  using apiary::runtime::ResolvedSeeds;
  using apiary::runtime::SeedResolver;
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<ResolvedSeeds> results;
  bool destroyed = false;
  bool called_after_destruction = false;
  {
    SeedResolver resolver(*parse_seed_specs({"dns:localhost:7946"}), [&](ResolvedSeeds r) {
      std::lock_guard<std::mutex> lock(mutex);
      if (destroyed) called_after_destruction = true;
      results.push_back(std::move(r));
      changed.notify_all();
    });
    resolver.request();
    std::unique_lock<std::mutex> lock(mutex);
    REQUIRE(changed.wait_for(lock, std::chrono::seconds(10), [&] { return !results.empty(); }));
    REQUIRE(results[0].addrs == std::vector<std::string>{"127.0.0.1:7946"});
    lock.unlock();
    resolver.request();  // maybe still running when the resolver goes
  }
  {
    std::lock_guard<std::mutex> lock(mutex);
    destroyed = true;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::lock_guard<std::mutex> lock(mutex);
  CHECK_FALSE(called_after_destruction);
}
