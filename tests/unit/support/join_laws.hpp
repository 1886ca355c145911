// The join laws every Collection kind keeps (docs/datatypes.md): commutative, idempotent and
// associative, checked on three replicas' states.
#pragma once

#include <catch2/catch.hpp>

#include "apiary/data/collection.hpp"

namespace apiary::test {

// CHECKs a.join(b) == b.join(a), (a.join(b)).join(b) == a.join(b) and
// (a.join(b)).join(c) == a.join(b.join(c)); returns a joined with b and c.
inline data::Collection check_join_laws(const data::Collection& a, const data::Collection& b,
                                        const data::Collection& c) {
  data::Collection ab = a;
  ab.join(b);
  data::Collection ba = b;
  ba.join(a);
  CHECK(ab == ba);
  data::Collection again = ab;
  again.join(b);
  CHECK(again == ab);
  data::Collection left = ab;
  left.join(c);
  data::Collection bc = b;
  bc.join(c);
  data::Collection right = a;
  right.join(bc);
  CHECK(left == right);
  return left;
}

}  // namespace apiary::test
