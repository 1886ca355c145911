// BITFIELD and BITFIELD_RO.
#include "commands.hpp"

namespace apiary::resp {

void register_bitfield_commands(CommandTable& /*t*/) {}

}  // namespace apiary::resp
