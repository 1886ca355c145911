// TLS on the Redis port (docs/security.md) with real apiaryd processes and certificates the
// test makes with the openssl CLI: redis-cli --tls and redis-py (ssl=True) set and get
// through a 3-node cluster's TLS ports while the plaintext ports serve beside them; a
// plaintext client on the TLS port gets no reply; tls-auth-clients yes refuses a client
// without a certificate (or with one from another CA) and optional accepts it; CONFIG SET
// tls-cert-file switches the certificate for new connections while open ones keep working,
// and a bad file leaves the old one in place; bad certificates stop the start with exit
// code 2.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "integration/support/daemon.hpp"
#include "integration/support/tls_certs.hpp"

using namespace apiary::test;

namespace {

// An apiaryd with a TLS port (and a plaintext one unless `plaintext` is false). Its ports are
// picked before the start (--tls-port 0 means "no TLS port", as in Redis); a start that lost
// its port to another process is retried with new ones.
class TlsNode {
 public:
  TlsNode(const std::string& name, const TlsCerts& certs, std::vector<std::string> extra,
          bool plaintext = true, const std::string& key_file = "") {
    for (int attempt = 0; attempt < 3; ++attempt) {
      const int port = plaintext ? free_port() : 0;
      const int tls_port = free_port();
      std::vector<std::string> args = {APIARYD_PATH,
                                       "--name",
                                       name,
                                       "--gossip-addr",
                                       "127.0.0.1:0",
                                       "--http-addr",
                                       "127.0.0.1:0",
                                       "--bind",
                                       "127.0.0.1",
                                       "--port",
                                       std::to_string(port),
                                       "--tls-port",
                                       std::to_string(tls_port),
                                       "--tls-cert-file",
                                       certs.server_cert,
                                       "--tls-key-file",
                                       key_file.empty() ? certs.server_key : key_file,
                                       "--tls-ca-cert-file",
                                       certs.ca};
      args.insert(args.end(), extra.begin(), extra.end());
      log_ = scratch_dir() / (name + "-tls-" + std::to_string(attempt) + ".log");
      pid_ = spawn_logged(args, log_);
      if (wait_ready()) return;
      const std::string text = log();
      kill_now();
      if (text.find("ddress already in use") == std::string::npos) {
        throw std::runtime_error("apiaryd " + name + " did not start:\n" + text);
      }
    }
    throw std::runtime_error("apiaryd " + name + ": no free ports after 3 attempts");
  }
  ~TlsNode() { kill_now(); }
  TlsNode(const TlsNode&) = delete;
  TlsNode& operator=(const TlsNode&) = delete;

  std::string redis_port() const { return redis_.substr(redis_.rfind(':') + 1); }
  std::string tls_port() const { return tls_.substr(tls_.rfind(':') + 1); }
  const std::string& redis() const { return redis_; }
  const std::string& gossip() const { return gossip_; }
  std::string log() const {
    std::ifstream in(log_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  bool wait_ready() {
    static const std::regex ready(
        R"(apiaryd ready name=\S+ gossip=(\S+) redis=(\S+) http=\S+ data=\S+ tls=(\S+))");
    const auto end = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < end) {
      std::smatch m;
      const std::string text = log();
      if (std::regex_search(text, m, ready)) {
        gossip_ = m[1];
        redis_ = m[2];
        tls_ = m[3];
        return true;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  void kill_now() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  std::filesystem::path log_;
  pid_t pid_ = -1;
  std::string gossip_, redis_, tls_;
};

std::string tls_cli(const TlsNode& n, const TlsCerts& c, const std::string& args,
                    bool with_cert = true) {
  std::string cmd = "redis-cli -h 127.0.0.1 -p " + n.tls_port() + " --tls --cacert " + c.ca;
  if (with_cert) cmd += " --cert " + c.client_cert + " --key " + c.client_key;
  return run(cmd + " " + args).second;
}

std::string plain_cli(const TlsNode& n, const std::string& args) {
  return run("redis-cli -h 127.0.0.1 -p " + n.redis_port() + " " + args).second;
}

// The subject line `openssl s_client` prints for the certificate the TLS port presents.
std::string served_subject(const TlsNode& n, const TlsCerts& c) {
  const auto out = run("openssl s_client -connect 127.0.0.1:" + n.tls_port() + " -CAfile " + c.ca +
                       " -cert " + c.client_cert + " -key " + c.client_key + " </dev/null")
                       .second;
  static const std::regex subject(R"(subject=([^\n]*))");
  std::smatch m;
  return std::regex_search(out, m, subject) ? m[1].str() : "none:\n" + out;
}

// Sends a plaintext PING to `port` and returns what comes back before the server closes (or
// 2 s pass).
std::string raw_ping(const std::string& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(std::stoi(port)));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string got;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const char ping[] = "*1\r\n$4\r\nPING\r\n";
    (void)::send(fd, ping, sizeof ping - 1, MSG_NOSIGNAL);
    char buf[256];
    for (;;) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return got;
}

}  // namespace

TEST_CASE(
    "tls: redis-cli and redis-py with certificates use a 3-node cluster's TLS ports, plaintext "
    "beside",
    "[integration][tls]") {
  const TlsCerts certs = TlsCerts::make("cluster");
  std::vector<std::unique_ptr<TlsNode>> nodes;
  nodes.push_back(std::make_unique<TlsNode>("tls1", certs, std::vector<std::string>{}));
  for (int i = 2; i <= 3; ++i) {
    nodes.push_back(
        std::make_unique<TlsNode>("tls" + std::to_string(i), certs,
                                  std::vector<std::string>{"--seeds", nodes.front()->gossip()}));
  }
  // Every member sees three alive, and the start's handoffs are over (as cluster.hpp's
  // settled(): until then a write may first have to catch up).
  REQUIRE(eventually(30s, [&] {
    for (const auto& n : nodes) {
      const std::string info = plain_cli(*n, "INFO cluster");
      if (info.find("cluster_alive_members:3") == std::string::npos ||
          info.find("cluster_handoff_pending:0") == std::string::npos ||
          info.find("cluster_partitions_promoting:0") == std::string::npos) {
        return false;
      }
    }
    return true;
  }));

  // redis-cli --tls through every node; each key read back through the others (most keys
  // live on another node: the TLS side feeds the same routing as the plaintext one).
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    for (int k = 0; k < 5; ++k) {
      const std::string key = "cli:" + std::to_string(i) + ":" + std::to_string(k);
      const std::string reply = tls_cli(*nodes[i], certs, "SET " + key + " v" + std::to_string(k));
      INFO(nodes[i]->log());
      REQUIRE(reply == "OK\n");
    }
  }
  for (std::size_t j = 0; j < nodes.size(); ++j) {
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const std::string key = "cli:" + std::to_string(i) + ":3";
      CHECK(tls_cli(*nodes[j], certs, "GET " + key) == "v3\n");
      CHECK(plain_cli(*nodes[j], "GET " + key) == "v3\n");  // the plaintext port beside
    }
  }

  // redis-py with ssl=True, ssl_ca_certs, ssl_certfile and ssl_keyfile.
  std::string ports;
  for (const auto& n : nodes) ports += (ports.empty() ? "" : ",") + n->tls_port();
  const auto [status, out] = run(
      "/usr/bin/python3 " APIARY_SOURCE_DIR "/tests/integration/clients/redis_py_tls.py cluster " +
      ports + " " + certs.ca + " " + certs.client_cert + " " + certs.client_key);
  INFO(out);
  CHECK(status == 0);
  CHECK(out.find("ok") != std::string::npos);

  // CONFIG GET shows Redis's parameters, the TLS port as bound.
  const std::string conf = plain_cli(*nodes[0], "CONFIG GET tls-port");
  CHECK(conf == "tls-port\n" + nodes[0]->tls_port() + "\n");

  // A plaintext client on the TLS port gets no reply, and the node logs why.
  CHECK(raw_ping(nodes[0]->tls_port()).find("PONG") == std::string::npos);
  const auto plain_on_tls = run("redis-cli -h 127.0.0.1 -p " + nodes[0]->tls_port() + " PING");
  CHECK(plain_on_tls.second.find("PONG") == std::string::npos);
  CHECK(plain_on_tls.first != 0);
  CHECK(eventually(5s, [&] {
    return nodes[0]->log().find("Error accepting a client connection") != std::string::npos;
  }));
  // ...and the node serves on.
  CHECK(tls_cli(*nodes[0], certs, "PING") == "PONG\n");
}

TEST_CASE(
    "tls: tls-auth-clients yes refuses a client without a valid certificate, optional accepts one "
    "without",
    "[integration][tls]") {
  const TlsCerts certs = TlsCerts::make("auth");
  TlsNode node("tlsauth", certs, {});

  CHECK(tls_cli(node, certs, "PING") == "PONG\n");
  // yes (the default): no certificate, or one from another CA, gets no session.
  CHECK(tls_cli(node, certs, "PING", /*with_cert=*/false).find("PONG") == std::string::npos);
  const std::string stranger =
      run("redis-cli -h 127.0.0.1 -p " + node.tls_port() + " --tls --cacert " + certs.ca +
          " --cert " + certs.stranger_cert + " --key " + certs.stranger_key + " PING")
          .second;
  CHECK(stranger.find("PONG") == std::string::npos);

  // optional: a client without a certificate is served; one that presents a bad one is not.
  REQUIRE(plain_cli(node, "CONFIG SET tls-auth-clients optional") == "OK\n");
  CHECK(plain_cli(node, "CONFIG GET tls-auth-clients") == "tls-auth-clients\noptional\n");
  CHECK(tls_cli(node, certs, "PING", /*with_cert=*/false) == "PONG\n");
  CHECK(tls_cli(node, certs, "PING") == "PONG\n");
  const std::string stranger_optional =
      run("redis-cli -h 127.0.0.1 -p " + node.tls_port() + " --tls --cacert " + certs.ca +
          " --cert " + certs.stranger_cert + " --key " + certs.stranger_key + " PING")
          .second;
  CHECK(stranger_optional.find("PONG") == std::string::npos);

  // Redis's value check.
  CHECK(plain_cli(node, "CONFIG SET tls-auth-clients maybe")
            .find("ERR CONFIG SET failed (possibly related to argument 'tls-auth-clients') - "
                  "argument(s) must be one of the following: no, yes, optional") == 0);

  // A TLS-only node (--port 0 with --tls-port, as Redis): no plaintext port at all.
  TlsNode only("tlsonly", certs, {"--tls-auth-clients", "no"}, /*plaintext=*/false);
  CHECK(only.redis() == "-");
  CHECK(tls_cli(only, certs, "PING", /*with_cert=*/false) == "PONG\n");
  CHECK(tls_cli(only, certs, "CONFIG GET port") == "port\n0\n");
}

TEST_CASE(
    "tls: CONFIG SET tls-cert-file serves the new certificate to new connections, open ones keep "
    "working",
    "[integration][tls]") {
  const TlsCerts certs = TlsCerts::make("reload");
  TlsNode node("tlsreload", certs, {});
  CHECK(served_subject(node, certs).find("apiary-server-1") != std::string::npos);

  // A file that does not load: Redis's error, the old certificate stays.
  CHECK(plain_cli(node, "CONFIG SET tls-cert-file " + certs.dir.string() + "/missing.crt")
            .find("ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - Unable "
                  "to update TLS configuration. Check server logs.") == 0);
  CHECK(plain_cli(node, "CONFIG GET tls-cert-file") ==
        "tls-cert-file\n" + certs.server_cert + "\n");
  // A certificate whose key is not the configured one fails the same way.
  CHECK(plain_cli(node, "CONFIG SET tls-cert-file " + certs.server2_cert)
            .find("Unable to update TLS configuration") != std::string::npos);
  CHECK(node.log().find("Failed to load certificate") != std::string::npos);
  CHECK(served_subject(node, certs).find("apiary-server-1") != std::string::npos);

  // redis-py switches the certificate through its own TLS connection, which keeps working;
  // a new connection sees the new certificate.
  const auto [status, out] = run(
      "/usr/bin/python3 " APIARY_SOURCE_DIR "/tests/integration/clients/redis_py_tls.py reload " +
      node.tls_port() + " " + certs.ca + " " + certs.client_cert + " " + certs.client_key + " " +
      certs.server2_cert + " " + certs.server2_key);
  INFO(out);
  CHECK(status == 0);
  CHECK(out.find("old-connection-ok CN=apiary-server-2") != std::string::npos);
  CHECK(served_subject(node, certs).find("apiary-server-2") != std::string::npos);
  CHECK(tls_cli(node, certs, "GET after-reload") == "yes\n");
  CHECK(plain_cli(node, "GET after-reload") == "yes\n");
}

TEST_CASE(
    "tls: bad certificates or passphrases stop apiaryd at start with a clear error and exit code 2",
    "[integration][tls]") {
  const TlsCerts certs = TlsCerts::make("bad");
  auto start = [&](const std::vector<std::string>& tls_args) {
    std::vector<std::string> args = {APIARYD_PATH, "--gossip-addr", "127.0.0.1:0",
                                     "--bind",     "127.0.0.1",     "--port",
                                     "0",          "--tls-port",    std::to_string(free_port())};
    args.insert(args.end(), tls_args.begin(), tls_args.end());
    const auto log = scratch_dir() / "bad-tls.log";
    pid_t pid = spawn_logged(args, log);
    const int code = wait_for_exit(pid, 10s);
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    return std::make_pair(code, text.str());
  };
  const auto missing = start({"--tls-cert-file", certs.dir.string() + "/nope.crt", "--tls-key-file",
                              certs.server_key, "--tls-ca-cert-file", certs.ca});
  CHECK(missing.first == 2);
  CHECK(missing.second.find("Failed to load certificate") != std::string::npos);
  const auto mismatched = start({"--tls-cert-file", certs.server2_cert, "--tls-key-file",
                                 certs.server_key, "--tls-ca-cert-file", certs.ca});
  CHECK(mismatched.first == 2);
  CHECK(mismatched.second.find("--tls-") != std::string::npos);
  const auto no_ca =
      start({"--tls-cert-file", certs.server_cert, "--tls-key-file", certs.server_key});
  CHECK(no_ca.first == 2);
  CHECK(no_ca.second.find("tls-ca-cert-file or tls-ca-cert-dir") != std::string::npos);
  // An encrypted key: the wrong passphrase is refused, the right one starts the node.
  const auto wrong_pass =
      start({"--tls-cert-file", certs.server_cert, "--tls-key-file", certs.server_key_encrypted,
             "--tls-key-file-pass", "nope", "--tls-ca-cert-file", certs.ca});
  CHECK(wrong_pass.first == 2);
  CHECK(wrong_pass.second.find("Failed to load private key") != std::string::npos);
  TlsNode encrypted("tlspass", certs, {"--tls-key-file-pass", TlsCerts::kKeyPass},
                    /*plaintext=*/true, certs.server_key_encrypted);
  CHECK(tls_cli(encrypted, certs, "PING") == "PONG\n");
}
