// The `#!` first lines: EVAL's `#!lua flags=...` (eval.c evalExtractShebangFlags) and
// FUNCTION LOAD's `#!<engine> name=<library>` (functions.c functionExtractLibMetaData).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "apiary/script/engine.hpp"

namespace apiary::script::detail {

struct ScriptShebang {
  bool ok = true;
  std::string error;       // Redis's text, without "ERR "
  Flags flags;             // declared only when a shebang was present
  std::size_t length = 0;  // bytes before the shebang's '\n' (0: none)
};
ScriptShebang parse_script_shebang(std::string_view body);

struct LibraryMetadata {
  bool ok = true;
  std::string error;  // Redis's text, without "ERR "
  std::string engine;
  std::string name;
  std::size_t code_offset = 0;  // where the code starts: at the shebang's '\n'
};
LibraryMetadata parse_library_metadata(std::string_view code);

// One of Redis's flag names ("no-writes", ...); false if unknown.
bool apply_flag(std::string_view name, Flags& flags);

// Redis's functionsVerifyName: letters, digits and '_', at least one.
bool valid_name(std::string_view name);

}  // namespace apiary::script::detail
