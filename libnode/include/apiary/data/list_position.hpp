// ListPosition: the identifiers that order a list's elements (a sequence CRDT's positions).
//
// A list is a data::Collection of kind list whose element names are positions: byte strings
// compared with memcmp, the list's order. A position is minted once, by the coordinator of
// one write, and never reused: `position bytes + suffix`, where the suffix names the write
// (its dot's counter and actor) and the element's index within it, followed by the suffix's
// own length, so a name determines its suffix and two writes never mint the same name, even
// at the same place. Concurrent pushes at two coordinators therefore both survive a merge,
// side by side, and an element popped and pushed again is a new element.
//
// What it promises:
//  - between(left, right) is strictly between its neighbours (either may be absent: the list's
//    ends) whatever suffix is appended, for any names that end in a nonzero byte (every name
//    minted here does, and Collection::decode refuses list names that do not).
//  - Names stay short: a position is read as a base-256 fraction; a new one takes the first
//    depth at which its neighbours leave room, plus two bytes, and steps by one from the
//    neighbour it is biased towards, so 65,536 inserts at one spot (a head, a tail, or the
//    same side of one element) cost one more byte. The bias goes towards the neighbour with
//    the longer name (where recent inserts cluster), so both "always before the same pivot"
//    and "always before the element just inserted" keep names short
//    (tests/unit/list_position_test.cpp measures 1e5 repeated inserts).
// Pure functions; no state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "apiary/data/dvv.hpp"

namespace apiary::data::list_position {

enum class Bias : std::uint8_t { left, right, longer };

// The position bytes of a new element strictly between `left` and `right` (left < right when
// both are given). `bias` says which neighbour it steps from (longer: the one with the longer
// name, ties going left).
std::string between(std::optional<std::string_view> left, std::optional<std::string_view> right,
                    Bias bias = Bias::longer);

// The suffix naming the `index`-th element a write with `dot` mints.
std::string suffix(Dot dot, std::uint32_t index);

// A whole new name: between() followed by suffix().
std::string mint(std::optional<std::string_view> left, std::optional<std::string_view> right,
                 Dot dot, std::uint32_t index, Bias bias = Bias::longer);

// Whether `name` can be a list element's name: not empty and ending in a nonzero byte.
bool valid(std::string_view name);

}  // namespace apiary::data::list_position
