#include "apiary/base/version.hpp"

namespace apiary {

std::string_view version() { return APIARY_VERSION; }

}  // namespace apiary
