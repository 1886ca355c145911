// LCS.
#include "commands.hpp"

namespace apiary::resp {

void register_lcs_commands(CommandTable& /*t*/) {}

}  // namespace apiary::resp
