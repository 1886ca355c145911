#include "meta_pool.hpp"

#include <cstdint>
#include <functional>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace apiary::gossip::detail {

namespace {

std::size_t hash_meta(const MemberMeta& m) {
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

struct Entry {
  const MemberMeta* raw;
  std::weak_ptr<const MemberMeta> weak;
};

struct Pool {
  std::mutex mu;
  std::unordered_multimap<std::size_t, Entry> entries;  // never iterated in an output order

  void forget(const MemberMeta* meta, std::size_t hash) {
    std::lock_guard lock(mu);
    auto [first, last] = entries.equal_range(hash);
    for (auto it = first; it != last; ++it) {
      if (it->second.raw == meta) {
        entries.erase(it);
        return;
      }
    }
  }
};

// Leaked on purpose: shared_ptrs held by static objects may outlive any destructor order.
Pool& pool() {
  static Pool* p = new Pool;
  return *p;
}

}  // namespace

MetaPtr intern_meta(MemberMeta meta) {
  if (meta == MemberMeta{}) return nullptr;
  const std::size_t hash = hash_meta(meta);
  Pool& p = pool();
  std::lock_guard lock(p.mu);
  auto [first, last] = p.entries.equal_range(hash);
  for (auto it = first; it != last; ++it) {
    if (*it->second.raw == meta) {
      // lock() fails once the last owner let go (its deleter is waiting for the mutex).
      if (MetaPtr existing = it->second.weak.lock()) return existing;
    }
  }
  auto* raw = new MemberMeta(std::move(meta));
  MetaPtr shared(raw, [hash](const MemberMeta* m) {
    pool().forget(m, hash);
    delete m;
  });
  p.entries.emplace(hash, Entry{raw, shared});
  return shared;
}

}  // namespace apiary::gossip::detail
