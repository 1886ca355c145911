// A small JSON reader for what the apiary CLI reads: the admin port's /v1/members and
// /v1/partitions and a backup's manifest.json (written with http::json_quote). Parses into a plain
// tree; numbers keep their text (as_int() reads integers exactly). Bounded nesting; never throws.
// Not a general JSON library: \u escapes outside the Basic Multilingual Plane are kept as two code
// units' UTF-8, which none of those documents contain.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "apiary/base/status.hpp"

namespace apiary::cli {

struct Json {
  enum class Kind : unsigned char { null, boolean, number, string, array, object };
  Kind kind = Kind::null;
  bool boolean = false;
  std::string text;  // a string's value, or a number's text
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> fields;

  // The field `name` of an object, or nullptr.
  const Json* find(std::string_view name) const;
  std::optional<std::int64_t> as_int() const;
  std::optional<std::string> as_string() const;
};

// `malformed` with the offset when `text` is not one JSON value (surrounding space allowed).
Result<Json> parse_json(std::string_view text);

}  // namespace apiary::cli
