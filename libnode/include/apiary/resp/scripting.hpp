// Scripting: the seam through which EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, FCALL, FCALL_RO, SCRIPT
// and FUNCTION reach the Lua engine. The command specs live with the other commands
// (libnode/resp/commands/script_commands.cpp); the scripting layer (libnode/script/service.hpp)
// implements this interface and is installed with Server::set_scripting(). Without one (unit
// tests of other commands) those commands answer an error.
// Called on the node's event-loop thread only.
#pragma once

#include "apiary/resp/command.hpp"

namespace apiary::resp {

enum class ScriptCall : unsigned char {
  eval,          // EVAL script numkeys key... arg...
  evalsha,       // EVALSHA sha1 numkeys ...
  eval_ro,       // EVAL_RO
  evalsha_ro,    // EVALSHA_RO
  fcall,         // FCALL function numkeys ...
  fcall_ro,      // FCALL_RO
  run_script,    // APIARY.EVAL (internal: a script at its keys' coordinator)
  run_function,  // APIARY.FCALL (internal: a function at its keys' coordinator)
};

class Scripting {
 public:
  virtual ~Scripting() = default;
  virtual Outcome call(CommandContext& ctx, ScriptCall kind) = 0;
  virtual Outcome script(CommandContext& ctx) = 0;    // SCRIPT <subcommand> ...
  virtual Outcome function(CommandContext& ctx) = 0;  // FUNCTION <subcommand> ...
};

}  // namespace apiary::resp
