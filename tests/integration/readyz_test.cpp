// GET /readyz on real apiaryd processes (loopback, ports chosen at run time): every member of
// a 3-node cluster turns ready (200, {"ready":true,"reasons":[]}) once joined and owning its
// data; the endpoint stays open when the admin port has a token (probes need no secret),
// while /v1/members does not.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "integration/support/cluster.hpp"

using namespace apiary::test;
using namespace std::chrono_literals;

namespace {

// "<status> <body>" of a GET.
std::string get(const std::string& addr, const std::string& path) {
  return run("curl -s -w ' %{http_code}' http://" + addr + path).second;
}

}  // namespace

TEST_CASE("readyz: every member of a cluster turns ready, and the endpoint needs no token") {
  const std::string token_file = (scratch_dir() / "readyz.token").string();
  run("printf 'probe-secret' > " + token_file + " && chmod 600 " + token_file);
  auto nodes = start_cluster("ready", 3, {"--admin-token-file", token_file});
  for (const auto& n : nodes) {
    INFO(n->http());
    CHECK(eventually(
        10s, [&] { return get(n->http(), "/readyz") == "{\"ready\":true,\"reasons\":[]} 200"; }));
    CHECK(get(n->http(), "/healthz") == "ok\n 200");
    CHECK(get(n->http(), "/v1/members").ends_with(" 401"));
  }
}
