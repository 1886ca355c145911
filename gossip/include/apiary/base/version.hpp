// The release this build is (CMake's project version, e.g. "0.2.0"): INFO's apiary_version,
// `apiaryd --version`, and the version tag members publish in gossip (so /v1/members shows
// which release each member runs during a rolling upgrade).
#pragma once

#include <string_view>

namespace apiary {

std::string_view version();
// The gossip metadata tag holding it.
inline constexpr std::string_view kVersionTag = "apiary.version";

}  // namespace apiary
