// SORT and SORT_RO.
#include "commands.hpp"

namespace apiary::resp {

void register_sort_commands(CommandTable& /*t*/) {}

}  // namespace apiary::resp
