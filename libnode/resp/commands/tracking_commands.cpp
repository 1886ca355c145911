// CLIENT TRACKING, CACHING, GETREDIR, TRACKINGINFO (placeholder until they land).
#include "commands.hpp"

namespace apiary::resp {

void register_tracking_subcommands(CommandSpec& client) { (void)client; }

}  // namespace apiary::resp
