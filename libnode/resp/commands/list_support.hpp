// Internal to libnode/resp: what the list commands share (list_commands.cpp and
// list_move_commands.cpp): reading a list, popping and pushing at its ends as one write each,
// and Redis's LEFT|RIGHT argument.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/data/collection.hpp"
#include "apiary/resp/command.hpp"

namespace apiary::resp {

inline constexpr data::ValueKind kList = data::ValueKind::list;

// The key's list for a read: nullptr when missing, or with `replied` after WRONGTYPE.
// `keymiss`: a missing key is a "keymiss" event (the reads, as Redis's lookupKeyRead).
const data::Collection* read_list(CommandContext& ctx, std::string_view key, bool& replied,
                                  bool keymiss = false);

// LEFT or RIGHT (any case), else "syntax error" is replied and false returned.
bool parse_side(CommandContext& ctx, std::string_view arg, bool& left);

// Removes up to `count` elements from the head (`left`) or the tail of the key's list, as one
// write, and returns their values in the order popped; an empty list when the key holds none.
// Emits "lpop" or "rpop" (and "del" when the list is left empty).
// nullopt after replying an error (the store refused the write).
std::optional<std::vector<std::string>> pop_elements(CommandContext& ctx, std::string_view key,
                                                     bool left, std::size_t count);

// Pushes `values` one after the other at the head (`left`: each becomes the new first, as
// LPUSH) or the tail, as one write, emitting "lpush" or "rpush" (after "new" for a new key);
// returns the list's new length, or nullopt after replying
// an error (WRONGTYPE, OOM, too large).
std::optional<std::size_t> push_elements(CommandContext& ctx, std::string_view key, bool left,
                                         std::span<const std::string_view> values);

// Replies `values` as an array of bulk strings.
void reply_values(CommandContext& ctx, std::span<const std::string> values);

// LMOVE source destination: moves one element from the source's head or tail to the
// destination's head or tail and replies it. The destination is written before the source, so
// a write the store refuses loses nothing. Emits the destination's push event, then the
// source's pop event, as Redis does. Returns false, having replied nothing, when the
// source holds no list (the caller replies a null, or blocks); true once it replied (the
// element, WRONGTYPE for either key, or the store's error).
bool move_element(CommandContext& ctx, std::string_view src, std::string_view dst, bool from_left,
                  bool to_left);

}  // namespace apiary::resp
