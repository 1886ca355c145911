#include "commands.hpp"

namespace apiary::resp {
void register_keyspace_commands(CommandTable&) {}
}  // namespace apiary::resp
#include "apiary/resp/server.hpp"
namespace apiary::resp {
void Server::attach_store(store::Store* store) { store_ = store; }
}  // namespace apiary::resp
