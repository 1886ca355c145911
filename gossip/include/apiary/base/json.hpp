// JSON strings for what the node writes as JSON (the admin port's documents, JSON log lines,
// the slow log on the dashboard): keys, arguments and names are binary-safe, so a byte that
// is not part of valid UTF-8 becomes the code point of the same number (\u00XX) and every
// document stays valid JSON.
#pragma once

#include <string>
#include <string_view>

namespace apiary {

// Appends `in` to `out` as the inside of a JSON string: quotes, backslashes and control
// characters escaped, valid UTF-8 kept, other bytes as \u00XX.
void append_json_escaped(std::string& out, std::string_view in);

// The same with the quotes around it.
inline void append_json_string(std::string& out, std::string_view in) {
  out += '"';
  append_json_escaped(out, in);
  out += '"';
}

}  // namespace apiary
