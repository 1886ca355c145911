#include "apiary/resp/diagnostics.hpp"

namespace apiary::resp {

struct Diagnostics::Impl {
  Server& server;
};

Diagnostics::Diagnostics(Server& server) : impl_(std::make_unique<Impl>(Impl{server})) {}
Diagnostics::~Diagnostics() = default;

void Diagnostics::command_ran(Connection&, const CommandSpec&, std::span<const std::string_view>,
                              Duration, WallTime) {}

void Diagnostics::client_closed(ClientId) {}

std::string Diagnostics::slowlog_json(std::size_t) const { return "[]"; }

}  // namespace apiary::resp
