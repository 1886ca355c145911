// DUMP, RESTORE and MIGRATE.
#include "commands.hpp"

namespace apiary::resp {

void register_dump_commands(CommandTable& /*t*/) {}

}  // namespace apiary::resp
