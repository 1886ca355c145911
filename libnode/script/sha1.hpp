// SHA-1 (FIPS 180-1), for the script cache's keys and redis.sha1hex. Not for security: Redis
// names scripts by it, so we must too.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace apiary::script::detail {

std::array<std::uint8_t, 20> sha1(std::string_view data);
// 40 lowercase hex digits.
std::string sha1_hex(std::string_view data);

}  // namespace apiary::script::detail
