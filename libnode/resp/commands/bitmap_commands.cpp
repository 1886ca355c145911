// SETBIT, GETBIT, BITCOUNT, BITPOS and BITOP.
#include "commands.hpp"

namespace apiary::resp {

void register_bitmap_commands(CommandTable& /*t*/) {}

}  // namespace apiary::resp
