// Interning of member metadata, so that a process holding many Swim instances (the simulator
// runs thousands, each knowing every member) keeps one copy of each distinct MemberMeta.
//
// intern() returns a shared, immutable MemberMeta equal to its argument, or null for empty
// metadata (the common case costs no allocation). Identical metadata interned by different
// Swim instances yields the same object. The pool holds no ownership: the last shared_ptr
// to go removes its entry. Thread-safe (one mutex; uncontended in the simulator, rare in the
// runtime because metadata is interned only when a member's metadata changes). Pointer
// identity never reaches any output, so interning does not affect determinism.
#pragma once

#include <memory>

#include "apiary/gossip/member.hpp"

namespace apiary::gossip::detail {

using MetaPtr = std::shared_ptr<const MemberMeta>;

MetaPtr intern_meta(MemberMeta meta);

}  // namespace apiary::gossip::detail
