// Internal to libnode/resp: writing a key's whole value at its coordinator, replacing what
// the key held (RESTORE, SORT ... STORE). The value is a decoded RDB item
// (apiary/persist/rdb_reader.hpp): what RESTORE reads from a DUMP payload, or a list SORT
// builds. And the reverse: a key's value as DUMP serializes it (APIARY.VDEL compares it with
// what MIGRATE moved).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "apiary/base/status.hpp"
#include "apiary/base/time.hpp"
#include "apiary/persist/rdb_reader.hpp"
#include "apiary/store/store.hpp"

namespace apiary::resp {

// Sets `key` to `item`'s value (a string, hash, set, sorted set or list; its key and expiry
// fields are not used) with `expiry` (nullopt: none), as local writes at this coordinator: a
// string is one put; a collection replaces the key's collection of the same type in one write
// (its elements go, as COPY replaces one), after deleting a value of another type. Fails with
// the store's error (out_of_memory, too large); the key may then have lost its old value.
Status replace_value(store::Store& st, std::string_view key, const persist::RdbItem& item,
                     std::optional<WallTime> expiry, WallTime now);

// The key's value as DUMP serializes it (RDB value, version, CRC-64); nullopt when the key is
// missing. Defined with DUMP (dump_commands.cpp).
std::optional<std::string> dump_payload(store::Store& st, std::string_view key, WallTime now);

}  // namespace apiary::resp
