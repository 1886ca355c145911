#include "apiary/base/host_port.hpp"

namespace apiary {

Result<HostPort> parse_host_port(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return make_error(StatusCode::invalid_argument, "'" + std::string(text) + "' is not HOST:PORT");
  }
  const std::string_view digits = text.substr(colon + 1);
  unsigned port = 0;
  for (char c : digits) {
    if (c < '0' || c > '9' || digits.size() > 5) {
      return make_error(StatusCode::invalid_argument, "'" + std::string(text) + "' has a bad port");
    }
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (port > 65535) {
    return make_error(StatusCode::invalid_argument, "'" + std::string(text) + "' has a bad port");
  }
  return HostPort{std::string(text.substr(0, colon)), static_cast<std::uint16_t>(port)};
}

}  // namespace apiary
