#include "commands.hpp"

namespace apiary::resp {
void register_string_commands(CommandTable&) {}
}  // namespace apiary::resp
