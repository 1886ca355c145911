#include "apiary/runtime/tcp_listen.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "apiary/base/host_port.hpp"

namespace apiary::runtime {

Result<TcpListening> listen_tcp(const std::string& bind_addr, std::string_view what) {
  auto parsed = parse_host_port(bind_addr);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  const std::string host = parsed.ok() ? parsed->host : "";
  if (!parsed.ok() ||
      ::inet_pton(AF_INET, host == "*" ? "0.0.0.0" : host.c_str(), &addr.sin_addr) != 1) {
    return make_error(StatusCode::invalid_argument,
                      std::string(what) + " '" + bind_addr + "' is not IPV4:PORT");
  }
  addr.sin_port = htons(parsed->port);
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return make_error(StatusCode::io_error, std::string("socket: ") + std::strerror(errno));
  }
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 511) != 0) {
    const std::string error = std::strerror(errno);
    ::close(fd);
    return make_error(StatusCode::io_error, "cannot listen on " + bind_addr + ": " + error);
  }
  sockaddr_in bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  return TcpListening{fd, host, ntohs(bound.sin_port)};
}

}  // namespace apiary::runtime
