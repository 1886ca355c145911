#include "apiary/persist/lzf.hpp"

#include <string>

namespace apiary::persist {

namespace {

Status bad(std::size_t at, const std::string& what) {
  return make_error(StatusCode::malformed,
                    "LZF: " + what + " (compressed byte " + std::to_string(at) + ")");
}

}  // namespace

Status lzf_decompress(std::span<const std::uint8_t> in, std::span<std::uint8_t> out) {
  std::size_t ip = 0;
  std::size_t op = 0;
  while (ip < in.size()) {
    const std::size_t run_at = ip;
    const unsigned ctrl = in[ip++];
    if (ctrl < 32) {
      const std::size_t len = ctrl + 1;
      if (len > in.size() - ip) return bad(run_at, "literal run past the end of the input");
      if (len > out.size() - op) return bad(run_at, "literal run past the end of the output");
      for (std::size_t i = 0; i < len; ++i) out[op++] = in[ip++];
      continue;
    }
    std::size_t len = ctrl >> 5;
    if (len == 7) {
      if (ip >= in.size()) return bad(run_at, "back reference cut short");
      len += in[ip++];
    }
    if (ip >= in.size()) return bad(run_at, "back reference cut short");
    const std::size_t distance = (static_cast<std::size_t>(ctrl & 0x1f) << 8 | in[ip++]) + 1;
    len += 2;
    if (distance > op) return bad(run_at, "back reference before the start of the output");
    if (len > out.size() - op) return bad(run_at, "back reference past the end of the output");
    std::size_t from = op - distance;
    for (std::size_t i = 0; i < len; ++i) out[op++] = out[from++];
  }
  if (op != out.size()) {
    return make_error(StatusCode::malformed, "LZF: decompressed to " + std::to_string(op) +
                                                 " bytes, expected " + std::to_string(out.size()));
  }
  return Status::Ok();
}

}  // namespace apiary::persist
