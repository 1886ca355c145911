#include "functions_file.hpp"

#include <vector>

namespace apiary::core {

Status save_functions(persist::Env& env, const std::string& path, std::string_view payload) {
  const std::string temp = path + ".tmp";
  auto file = env.create(temp);
  if (!file.ok()) return file.status();
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(payload.data());
  Status s = (*file)->append({bytes, payload.size()});
  if (s.ok()) s = (*file)->sync();
  const Status closed = (*file)->close();
  if (s.ok()) s = closed;
  if (s.ok()) s = env.rename(temp, path);
  if (!s.ok()) (void)env.remove(temp);
  return s;
}

Result<std::string> load_functions(persist::Env& env, const std::string& path) {
  if (!env.exists(path)) return std::string();
  auto file = env.open_read(path);
  if (!file.ok()) return file.status();
  std::string out;
  std::vector<std::uint8_t> buf(64 * 1024);
  for (;;) {
    auto n = (*file)->read(buf);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  return out;
}

}  // namespace apiary::core
