#include "meta_pool.hpp"

#include <functional>
#include <string_view>

namespace apiary::gossip::detail {

std::size_t InternTraits<MemberMeta>::hash(const MemberMeta& m) {
  std::hash<std::string_view> h;
  std::size_t seed = h(m.client_addr);
  auto mix = [&seed](std::size_t v) {
    seed ^= v + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
  };
  mix(h(m.http_addr));
  mix(h(m.data_addr));
  for (const auto& [key, value] : m.tags) {
    mix(h(key));
    mix(h(value));
  }
  return seed;
}

MetaPtr intern_meta(const MemberMeta& meta) {
  if (meta == MemberMeta{}) return {};
  return MetaPtr::of(meta);
}

}  // namespace apiary::gossip::detail
