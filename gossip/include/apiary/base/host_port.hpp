// "host:port" addresses, parsed once for every place that takes one (gossip, data, RESP and
// HTTP endpoints, seeds, CLI flags). The host is kept as text (a name or an IPv4 literal);
// the port must be all digits and at most 65535. Thread-safe (pure functions).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "apiary/base/status.hpp"

namespace apiary {

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
  std::string to_string() const { return host + ":" + std::to_string(port); }
};

// invalid_argument with a message that quotes `text` when it is not host:port.
Result<HostPort> parse_host_port(std::string_view text);

}  // namespace apiary
