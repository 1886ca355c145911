// The dashboard's files (libnode/http/dashboard), compiled into the binary by
// embed_assets.cmake: the admin port serves them from memory, with no file or network access
// at run time. Immutable; safe from any thread.
#pragma once

#include <span>
#include <string_view>

namespace apiary::http {

struct Asset {
  std::string_view name;          // file name inside libnode/http/dashboard, e.g. "index.html"
  std::string_view content_type;  // from the extension
  std::string_view body;
};

// Every file, sorted by name.
std::span<const Asset> dashboard_assets();

}  // namespace apiary::http
