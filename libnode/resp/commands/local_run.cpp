#include "local_run.hpp"

#include "apiary/resp/connection.hpp"
#include "apiary/resp/server.hpp"

namespace apiary::resp {

const CommandSpec* resolve_command(const CommandTable& table,
                                   std::span<const std::string_view> argv) {
  if (argv.empty()) return nullptr;
  const CommandSpec* spec = table.find(argv[0]);
  if (spec != nullptr && !spec->subcommands.empty() && argv.size() >= 2) {
    spec = CommandTable::find_subcommand(*spec, argv[1]);
  }
  return spec;
}

bool arity_ok(const CommandSpec& spec, std::size_t argc) {
  const auto n = static_cast<std::int64_t>(argc);
  return spec.arity > 0 ? n == spec.arity : n >= -spec.arity;
}

bool runs_only_alone(const CommandSpec& spec) {
  const std::string_view n = spec.name;
  return n == "migrate" || n == "flushall" || n == "flushdb" || n == "apiary.exec" ||
         n == "exec" || n == "multi" || n == "watch";
}

int run_here(Server& server, Connection& client, const CommandSpec& spec,
             std::span<const std::string_view> argv, int protocol, TimePoint now, WallTime wall,
             std::string& out) {
  const Server::LocalOnly local(server);
  const std::size_t mark = out.size();
  ReplyWriter reply(out, protocol);
  CommandContext ctx{server, client, reply, argv, now, wall};
  const Outcome outcome = run_handler(spec, ctx);
  // Where it may not block, Redis's BLMOVE (and BRPOPLPUSH, its older form) answers a null
  // bulk string, though its timeout answers a null array (blmoveGenericCommand).
  if (outcome.kind() == Outcome::Kind::blocked &&
      (spec.name == "blmove" || spec.name == "brpoplpush")) {
    out.resize(mark);
    reply.null();
  }
  // A reply promised for later (nothing in the command table does this here once
  // runs_only_alone() is respected) cannot be part of the answer.
  if (outcome.kind() == Outcome::Kind::pending) {
    out.resize(mark);
    reply.error("'" + spec.name + "' cannot run inside a transaction or script");
  }
  return reply.protocol();
}

}  // namespace apiary::resp
