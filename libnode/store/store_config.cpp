#include "apiary/store/store_config.hpp"

#include <array>
#include <utility>

namespace apiary::store {

namespace {
constexpr std::array<std::pair<EvictionPolicy, std::string_view>, 8> kNames = {{
    {EvictionPolicy::noeviction, "noeviction"},
    {EvictionPolicy::allkeys_lru, "allkeys-lru"},
    {EvictionPolicy::allkeys_lfu, "allkeys-lfu"},
    {EvictionPolicy::allkeys_random, "allkeys-random"},
    {EvictionPolicy::volatile_lru, "volatile-lru"},
    {EvictionPolicy::volatile_lfu, "volatile-lfu"},
    {EvictionPolicy::volatile_random, "volatile-random"},
    {EvictionPolicy::volatile_ttl, "volatile-ttl"},
}};
}  // namespace

std::string_view to_string(EvictionPolicy policy) {
  for (const auto& [p, name] : kNames) {
    if (p == policy) return name;
  }
  return "noeviction";
}

std::optional<EvictionPolicy> parse_eviction_policy(std::string_view name) {
  for (const auto& [p, n] : kNames) {
    if (n.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < n.size() && same; ++i) {
      char c = name[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      same = c == n[i];
    }
    if (same) return p;
  }
  return std::nullopt;
}

}  // namespace apiary::store
