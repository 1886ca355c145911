// Interning of member metadata, so that a process holding many Swim instances (the simulator
// runs thousands, each knowing every member) keeps one copy of each distinct MemberMeta.
//
// intern_meta() returns a shared, immutable MemberMeta equal to its argument, or null for
// empty metadata (the common case costs no allocation). Identical metadata interned by
// different Swim instances yields the same object; the last handle to go removes it.
// Thread-safe (see interned.hpp).
#pragma once

#include <cstddef>

#include "apiary/gossip/member.hpp"
#include "interned.hpp"

namespace apiary::gossip::detail {

template <>
struct InternTraits<MemberMeta> {
  using Key = const MemberMeta&;
  static std::size_t hash(const MemberMeta& meta);
  static MemberMeta make(const MemberMeta& meta) { return meta; }
};

using MetaPtr = Interned<MemberMeta>;

MetaPtr intern_meta(const MemberMeta& meta);

}  // namespace apiary::gossip::detail
