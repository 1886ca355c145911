// Internal to libnode/resp: what the bitmap commands (bitmap_commands.cpp: SETBIT, GETBIT,
// BITCOUNT, BITPOS, BITOP) and BITFIELD (bitfield_commands.cpp) share -- Redis 7.0's bit
// offset parsing, the string a bit command reads, and the read-modify-write of a string at
// the key's coordinator.
//
// A bitmap is a string (TYPE string), so it is a last-writer register like every string:
// a bit write reads the key's value at its coordinator, changes it and writes the whole new
// string with put_local (docs/datatypes.md, "Bitmaps").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "apiary/resp/command.hpp"
#include "apiary/store/store.hpp"

namespace apiary::resp {

// Redis's getBitOffsetFromArgument: a non-negative 64-bit integer whose byte (offset >> 3) is
// below proto-max-bulk-len; with `hash`, "#N" means N * `bits` (the product wraps as Redis's
// does, and a wrapped product is refused as negative). False after replying "bit offset is
// not an integer or out of range".
bool parse_bit_offset(CommandContext& ctx, std::string_view arg, bool hash, int bits,
                      std::uint64_t& out);

// The key's string for a bit command: false after replying WRONGTYPE when it holds another
// type; `out` is nullopt when the key is missing. Valid until the next store call.
// `keymiss`: a missing key is a "keymiss" event (the reads, as Redis's lookupKeyRead; SETBIT
// and a writing BITFIELD pass false).
bool bit_string(CommandContext& ctx, store::Store& st, std::string_view key,
                std::optional<std::string_view>& out, bool keymiss = true);

// Writes `value` as the key's new string at this (coordinator) node, keeping its expiry as
// Redis's in-place bit writes do. False after replying the write's error (OOM, too large).
// Emits "new" when the write created the key; the caller emits "setbit" when Redis does.
bool write_bits(CommandContext& ctx, store::Store& st, std::string_view key,
                std::string_view value);

}  // namespace apiary::resp
