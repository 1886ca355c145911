// listen_tcp: the non-blocking IPv4 listening socket behind the Redis port (RespListener) and
// the data link (DataLink).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "apiary/base/status.hpp"

namespace apiary::runtime {

struct TcpListening {
  int fd = -1;             // non-blocking, close-on-exec, SO_REUSEADDR; the caller owns it
  std::string host;        // as given ("*" for every address)
  std::uint16_t port = 0;  // the port bound (the real one when 0 was asked for)
};

// Listens on `bind_addr` ("IPV4:PORT", host "*" for every address, port 0 for a free one).
// `what` names the address in the error ("client address", "data address").
Result<TcpListening> listen_tcp(const std::string& bind_addr, std::string_view what);

}  // namespace apiary::runtime
