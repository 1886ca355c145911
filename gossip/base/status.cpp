#include "apiary/base/status.hpp"

#include <cinttypes>
#include <cstdio>

#include "apiary/base/ids.hpp"

namespace apiary {

std::string_view to_string(StatusCode code) {
  switch (code) {
    case StatusCode::ok:
      return "ok";
    case StatusCode::invalid_argument:
      return "invalid argument";
    case StatusCode::malformed:
      return "malformed";
    case StatusCode::too_large:
      return "too large";
    case StatusCode::unsupported:
      return "unsupported";
    case StatusCode::wrong_cluster:
      return "wrong cluster";
    case StatusCode::not_found:
      return "not found";
    case StatusCode::already_exists:
      return "already exists";
    case StatusCode::out_of_memory:
      return "out of memory";
    case StatusCode::timeout:
      return "timeout";
    case StatusCode::unavailable:
      return "unavailable";
    case StatusCode::io_error:
      return "i/o error";
    case StatusCode::internal:
      return "internal error";
    case StatusCode::moved:
      return "moved";
    case StatusCode::wrong_type:
      return "wrong type";
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (ok()) return "ok";
  std::string out(apiary::to_string(code_));
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

std::string to_string(NodeId id) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, id.value);
  return buf;
}

}  // namespace apiary
