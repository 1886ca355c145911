// The packed containers inside RDB values (internal to libnode/persist): a listpack (Redis
// 7.0+), a ziplist (3.2 to 6.2), an intset and a zipmap (before 2.6), each stored in the file
// as one string. RdbReader decodes the hashes and sets kept in them with these.
//
// Each decoder walks the whole blob, checks every length, offset and header count against the
// blob before it reads (nothing is allocated from a count in the blob), and appends the
// elements in stored order to `out`, integers as decimal text (as Redis returns them). A
// damaged blob gives a `malformed` Status saying what and at which byte of the blob; `out` then
// holds whatever was decoded before it. Pure functions: no state, no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/status.hpp"

namespace apiary::persist::rdb {

// Listpack: a 6-byte header (total bytes, element count), entries each closed by their
// back-length, then 0xFF.
Status decode_listpack(std::string_view blob, std::vector<std::string>& out);
// Ziplist: a 10-byte header (total bytes, tail offset, element count), entries each opened by
// the previous entry's length, then 0xFF.
Status decode_ziplist(std::string_view blob, std::vector<std::string>& out);
// Intset: the integer width (2, 4 or 8), the count, then the integers, little-endian.
Status decode_intset(std::string_view blob, std::vector<std::string>& out);
// Zipmap: a count byte, then field, value pairs (each value followed by unused bytes), 0xFF.
// `out` gets field, value, field, value...
Status decode_zipmap(std::string_view blob, std::vector<std::string>& out);

}  // namespace apiary::persist::rdb
