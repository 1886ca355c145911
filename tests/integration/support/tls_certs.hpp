// Test support for TLS: certificates made with the `openssl` CLI in a scratch directory (a CA,
// two server certificates for 127.0.0.1/localhost, a client certificate, and a client
// certificate from another CA), and free loopback ports for listeners whose number must be
// given up front (apiaryd's --tls-port, where 0 means "off" as in Redis).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "integration/support/daemon.hpp"

namespace apiary::test {

struct TlsCerts {
  static constexpr const char* kKeyPass = "key-pass-123";
  std::filesystem::path dir;
  std::string ca, server_cert, server_key, server2_cert, server2_key, client_cert, client_key,
      stranger_cert, stranger_key,
      server_key_encrypted;  // server_key under the passphrase kKeyPass

  // Makes every file in a new directory under scratch_dir(); throws with openssl's output on
  // failure.
  static TlsCerts make(const std::string& name) {
    TlsCerts c;
    c.dir = scratch_dir() / ("certs-" + name);
    std::filesystem::create_directories(c.dir);
    const std::string d = c.dir.string();
    auto sh = [&](const std::string& cmd) {
      auto [status, out] = run("cd " + d + " && " + cmd);
      if (status != 0) throw std::runtime_error("openssl failed: " + cmd + "\n" + out);
    };
    auto ca = [&](const std::string& stem, const std::string& cn) {
      sh("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=" + cn + "' -keyout " +
         stem + ".key -out " + stem + ".crt");
    };
    auto leaf = [&](const std::string& stem, const std::string& cn, const std::string& by) {
      sh("printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > " + stem + ".ext");
      sh("openssl req -newkey rsa:2048 -nodes -subj '/CN=" + cn + "' -keyout " + stem +
         ".key -out " + stem + ".csr");
      sh("openssl x509 -req -days 2 -in " + stem + ".csr -CA " + by + ".crt -CAkey " + by +
         ".key -CAcreateserial -extfile " + stem + ".ext -out " + stem + ".crt");
    };
    ca("ca", "Apiary Test CA");
    ca("other-ca", "Some Other CA");
    leaf("server", "apiary-server-1", "ca");
    leaf("server2", "apiary-server-2", "ca");
    leaf("client", "apiary-client", "ca");
    leaf("stranger", "stranger-client", "other-ca");
    sh("openssl pkey -in server.key -aes256 -passout pass:" + std::string(kKeyPass) +
       " -out server-encrypted.key");
    auto p = [&](const std::string& f) { return (c.dir / f).string(); };
    c.ca = p("ca.crt");
    c.server_cert = p("server.crt");
    c.server_key = p("server.key");
    c.server2_cert = p("server2.crt");
    c.server2_key = p("server2.key");
    c.client_cert = p("client.crt");
    c.client_key = p("client.key");
    c.stranger_cert = p("stranger.crt");
    c.stranger_key = p("stranger.key");
    c.server_key_encrypted = p("server-encrypted.key");
    return c;
  }
};

// A loopback port nothing listens on right now (the kernel's pick for port 0). Another
// process may take it before the caller binds it; callers retry a start that failed so.
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("no free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace apiary::test
