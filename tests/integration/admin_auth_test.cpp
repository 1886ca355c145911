// The HTTP admin port with a bearer token and https (docs/security.md): /healthz stays open,
// every data endpoint answers 401 with WWW-Authenticate without the token (or with a wrong
// one) and 200 with it; the dashboard page loads without it (its data requests carry it);
// over https with the test's certificates curl and httplib connect with the CA, a plain
// http request gets nothing; /v1/cluster/stats reaches the other member with https and the
// token; the apiary CLI passes --admin-token and --cacert; the dashboard in headless Chromium
// takes the token from ?token= or asks for it (skipped, saying so, without node/npm or
// Chromium). Without a token the port is open, as before.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "integration/support/cluster.hpp"
#include "integration/support/tls_certs.hpp"

using namespace apiary::test;

namespace {

httplib::Result get(const std::string& scheme, const std::string& host_port,
                    const std::string& path, const std::string& token, const std::string& ca) {
  httplib::Client client(scheme + "://" + host_port);
  client.set_connection_timeout(2);
  client.set_read_timeout(5);
  if (!ca.empty()) client.set_ca_cert_path(ca);
  if (!token.empty()) client.set_bearer_token_auth(token);
  return client.Get(path);
}

int status_of(const httplib::Result& res) { return res ? res->status : -1; }

}  // namespace

TEST_CASE("tls/admin: a token: /healthz open, the rest 401 without it and 200 with it",
          "[integration][admin][tls]") {
  const std::string token = "t0ken-for-the-admin-port";
  Daemon node("adm1", {"--admin-token", token});
  const std::string http = node.http();

  CHECK(status_of(get("http", http, "/healthz", "", "")) == 200);
  for (const char* path : {"/v1/members", "/v1/partitions", "/metrics", "/v1/stats", "/v1/events",
                           "/v1/cluster/stats"}) {
    INFO(path);
    auto denied = get("http", http, path, "", "");
    REQUIRE(denied);
    CHECK(denied->status == 401);
    CHECK(denied->get_header_value("WWW-Authenticate").find("Bearer") == 0);
    CHECK(status_of(get("http", http, path, "wrong-token", "")) == 401);
    CHECK(status_of(get("http", http, path, token + "x", "")) == 401);
    CHECK(status_of(get("http", http, path, token, "")) == 200);
  }
  // The page and its script hold no node data: a browser loads them, then sends the token.
  CHECK(status_of(get("http", http, "/", "", "")) == 200);
  auto script = get("http", http, "/dashboard/dashboard.js", "", "");
  REQUIRE(script);
  CHECK(script->body.find("Authorization: 'Bearer '") != std::string::npos);

  // The apiary CLI: refused without the token, served with it.
  const std::string cli = APIARY_CLI_PATH;
  CHECK(run(cli + " members --http " + http).first != 0);
  const auto members = run(cli + " members --http " + http + " --admin-token " + token);
  CHECK(members.first == 0);
  CHECK(members.second.find("adm1") != std::string::npos);

  // No token configured: open, as before.
  Daemon open("adm-open", {});
  CHECK(status_of(get("http", open.http(), "/v1/members", "", "")) == 200);
}

TEST_CASE("tls/admin: https with a token file: curl, httplib, the CLI and cluster stats",
          "[integration][admin][tls]") {
  const TlsCerts certs = TlsCerts::make("admin");
  const auto token_file = certs.dir / "admin.token";
  const std::string token = "file-token-0123456789";
  std::ofstream(token_file) << token << "\n";
  const std::vector<std::string> flags = {
      "--http-tls-cert-file", certs.server_cert, "--http-tls-key-file", certs.server_key,
      "--http-tls-ca-file",   certs.ca,          "--admin-token-file",  token_file.string()};
  Daemon first("adms1", flags);
  auto with_seed = flags;
  with_seed.insert(with_seed.end(), {"--seeds", first.gossip()});
  Daemon second("adms2", with_seed);
  const std::string https = first.http();

  CHECK(status_of(get("https", https, "/healthz", "", certs.ca)) == 200);
  CHECK(status_of(get("https", https, "/v1/members", "", certs.ca)) == 401);
  CHECK(status_of(get("https", https, "/v1/members", token, certs.ca)) == 200);
  // Plain http on the https port gets no answer.
  CHECK(status_of(get("http", https, "/healthz", "", "")) == -1);
  // A client that does not trust the CA does not get through.
  CHECK(status_of(get("https", https, "/healthz", "", certs.dir.string() + "/other-ca.crt")) == -1);

  // curl with the CA, with and without the token.
  const std::string curl =
      "curl -s -o /dev/null -w '%{http_code}' --cacert " + certs.ca + " https://" + https;
  CHECK(run(curl + "/healthz").second == "200");
  CHECK(run(curl + "/v1/members").second == "401");
  CHECK(run(curl + "/v1/members -H 'Authorization: Bearer " + token + "'").second == "200");

  // /v1/cluster/stats asks the other member over https with the token.
  REQUIRE(eventually(15s, [&] {
    auto res = get("https", https, "/v1/cluster/stats", token, certs.ca);
    return res && res->status == 200 && res->body.find("\"unreachable\":[]") != std::string::npos &&
           res->body.find("adms2") != std::string::npos;
  }));

  // The CLI with --cacert (https) and the token file.
  const auto members = run(std::string(APIARY_CLI_PATH) + " members --http " + https +
                           " --cacert " + certs.ca + " --admin-token-file " + token_file.string());
  INFO(members.second);
  CHECK(members.first == 0);
  CHECK(members.second.find("adms2") != std::string::npos);
}

TEST_CASE(
    "tls/admin: flags, a token and a token file together, a certificate without its key, are "
    "refused",
    "[integration][admin]") {
  const TlsCerts certs = TlsCerts::make("admin-flags");
  const auto token_file = certs.dir / "t";
  std::ofstream(token_file) << "abc\n";
  auto exit_code = [](std::vector<std::string> args) {
    args.insert(args.begin(), {APIARYD_PATH, "--gossip-addr", "127.0.0.1:0", "--port", "0"});
    pid_t pid = spawn_logged(args, scratch_dir() / "admin-flags.log");
    const int code = wait_for_exit(pid, 10s);
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    return code;
  };
  CHECK(exit_code({"--admin-token", "x", "--admin-token-file", token_file.string()}) == 2);
  CHECK(exit_code({"--http-addr", "127.0.0.1:0", "--http-tls-cert-file", certs.server_cert}) == 2);
  // A certificate with another certificate's key.
  CHECK(exit_code({"--http-addr", "127.0.0.1:0", "--http-tls-cert-file", certs.server_cert,
                   "--http-tls-key-file", certs.server2_key}) == 2);
}

TEST_CASE("tls/admin: the dashboard over https takes the token from the address or asks for it",
          "[integration][admin][tls][dashboard]") {
  const TlsCerts certs = TlsCerts::make("admin-dashboard");
  const std::string token = "dashboard-token-42";
  const std::vector<std::string> flags = {
      "--http-tls-cert-file", certs.server_cert, "--http-tls-key-file", certs.server_key,
      "--http-tls-ca-file",   certs.ca,          "--admin-token",       token};
  Daemon first("admd1", flags);
  auto with_seed = flags;
  with_seed.insert(with_seed.end(), {"--seeds", first.gossip()});
  Daemon second("admd2", with_seed);
  REQUIRE(eventually(15s, [&] {
    auto res = get("https", first.http(), "/v1/cluster/stats", token, certs.ca);
    return res && res->status == 200 && res->body.find("admd2") != std::string::npos;
  }));

  auto which = [](const std::string& name) {
    auto [status, out] = run("command -v " + name);
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return status == 0 ? out : std::string();
  };
  const std::string node = which("node");
  if (node.empty() || which("npm").empty() || !std::filesystem::exists("/usr/bin/chromium")) {
    WARN("SKIPPED: node, npm or /usr/bin/chromium is not installed (scripts/setup installs them)");
    return;
  }
  const auto dir = scratch_dir() / "token-dashboard";
  std::filesystem::create_directories(dir);
  std::filesystem::copy(
      std::filesystem::path(APIARY_SOURCE_DIR) / "tests/integration/clients/dashboard", dir,
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
  const auto [installed, install_out] =
      run("cd " + dir.string() + " && npm install --no-audit --no-fund --loglevel=error");
  INFO(install_out);
  REQUIRE(installed == 0);
  const auto shot = std::filesystem::path(APIARY_BINARY_DIR) / "dashboard_test";
  std::filesystem::create_directories(shot);
  const auto [status, out] =
      run("timeout 120 " + node + " " + (dir / "token_check.mjs").string() + " https://" +
          first.http() + "/ " + token + " admd1,admd2 " + (shot / "dashboard-token.png").string());
  std::cout << "token_check.mjs:\n" << out;
  INFO(out);
  CHECK(status == 0);
  CHECK(out.find("token removed from the address bar, kept in sessionStorage") !=
        std::string::npos);
  CHECK(out.find("then members alive") != std::string::npos);
  CHECK(out.find("\nok\n") != std::string::npos);
}
