// The FUNCTION libraries on disk: `functions.rdb` in the data directory holds FUNCTION DUMP's
// payload (Redis's serialization, with its own version and CRC-64), rewritten whole through a
// temporary file and a rename whenever the libraries change, and restored at start.
// Internal to libnode/core.
#pragma once

#include <string>
#include <string_view>

#include "apiary/base/status.hpp"
#include "apiary/persist/env.hpp"

namespace apiary::core {

inline constexpr std::string_view kFunctionsFile = "functions.rdb";

Status save_functions(persist::Env& env, const std::string& path, std::string_view payload);
// The payload, or "" when there is no file.
Result<std::string> load_functions(persist::Env& env, const std::string& path);

}  // namespace apiary::core
