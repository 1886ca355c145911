#include "shebang.hpp"

#include <strings.h>

#include <cctype>
#include <vector>

namespace apiary::script::detail {
namespace {

// sdssplitargs, without its quoting (a shebang has none in practice).
std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    const std::size_t start = i;
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

}  // namespace

bool apply_flag(std::string_view name, Flags& flags) {
  if (name == "no-writes") {
    flags.no_writes = true;
  } else if (name == "allow-oom") {
    flags.allow_oom = true;
  } else if (name == "allow-stale") {
    flags.allow_stale = true;
  } else if (name == "no-cluster") {
    flags.no_cluster = true;
  } else if (name == "allow-cross-slot-keys") {
    flags.allow_cross_slot_keys = true;
  } else {
    return false;
  }
  return true;
}

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

ScriptShebang parse_script_shebang(std::string_view body) {
  ScriptShebang out;
  if (body.substr(0, 2) != "#!") return out;
  const auto end = body.find('\n');
  if (end == std::string_view::npos) {
    out.ok = false;
    out.error = "Invalid script shebang";
    return out;
  }
  out.length = end;
  const auto words = split_words(body.substr(0, end));
  if (words.empty()) {
    out.ok = false;
    out.error = "Invalid engine in script shebang";
    return out;
  }
  if (words[0] != "#!lua") {
    out.ok = false;
    out.error = "Unexpected engine in script shebang: " + std::string(words[0]);
    return out;
  }
  out.flags.declared = true;
  for (std::size_t j = 1; j < words.size(); ++j) {
    if (words[j].substr(0, 6) != "flags=") {
      out.ok = false;
      out.error = "Unknown lua shebang option: " + std::string(words[j]);
      return out;
    }
    std::string_view list = words[j].substr(6);
    // sdssplitlen: an empty list has no elements; otherwise every comma separates one.
    if (list.empty()) continue;
    for (;;) {
      const auto comma = list.find(',');
      const std::string_view flag = list.substr(0, comma);
      if (!apply_flag(flag, out.flags)) {
        out.ok = false;
        out.error = "Unexpected flag in script shebang: " + std::string(flag);
        return out;
      }
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  return out;
}

LibraryMetadata parse_library_metadata(std::string_view code) {
  LibraryMetadata out;
  if (code.substr(0, 2) != "#!") {
    out.ok = false;
    out.error = "Missing library metadata";
    return out;
  }
  const auto end = code.find('\n');
  if (end == std::string_view::npos) {
    out.ok = false;
    out.error = "Invalid library metadata";
    return out;
  }
  const auto words = split_words(code.substr(0, end));
  if (words.empty()) {
    out.ok = false;
    out.error = "Invalid library metadata";
    return out;
  }
  out.engine = std::string(words[0].substr(2));
  bool named = false;
  for (std::size_t j = 1; j < words.size(); ++j) {
    const std::string_view part = words[j];
    if (part.size() >= 5 && strncasecmp(part.data(), "name=", 5) == 0) {
      if (named) {
        out.ok = false;
        out.error = "Invalid metadata value, name argument was given multiple times";
        return out;
      }
      named = true;
      out.name = std::string(part.substr(5));
      continue;
    }
    out.ok = false;
    out.error = "Invalid metadata value given: " + std::string(part);
    return out;
  }
  if (!named) {
    out.ok = false;
    out.error = "Library name was not given";
    return out;
  }
  out.code_offset = end;
  return out;
}

}  // namespace apiary::script::detail
