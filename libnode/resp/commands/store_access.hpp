// Internal to libnode/resp: helpers shared by the data commands (strings, keyspace).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/status.hpp"
#include "apiary/data/collection.hpp"
#include "apiary/resp/command.hpp"
#include "apiary/store/store.hpp"

namespace apiary::resp {

// The store, or nullptr after replying an error when the server has none attached.
store::Store* store_or_reply(CommandContext& ctx);
// Replies the Redis text for a failed write ("-OOM command not allowed ...").
void reply_write_error(CommandContext& ctx, const Status& status);

// The key's hash, set or zset (of `kind`) for a read: the joined state, or nullptr when the
// key is missing (the caller replies its empty answer) -- or nullptr with `replied` set after
// replying an error (WRONGTYPE, no store).
// `keymiss`: the command looks the key up as Redis's lookupKeyRead does, so a missing key is a
// "keymiss" keyspace event.
const data::Collection* collection_or_reply(CommandContext& ctx, std::string_view key,
                                            data::ValueKind kind, bool& replied,
                                            bool keymiss = false);
// Store::edit_collection, replying the error (WRONGTYPE, OOM, no store) and returning false
// when it fails.
bool edit_or_reply(CommandContext& ctx, std::string_view key, data::ValueKind kind,
                   const std::function<bool(store::Store::CollectionEdit&)>& edit);

// The encoding Redis 7.0 would give the collection (OBJECT ENCODING): a hash is "listpack"
// up to 512 fields and values of at most 64 bytes, else "hashtable"; a set is "intset" up to
// 512 integers, else "hashtable"; a zset is "listpack" up to 128 members of at most 64 bytes,
// else "skiplist". A small encoding also means HSCAN/SSCAN/ZSCAN answer whole.
std::string_view collection_encoding(const data::Collection& c);

// HSCAN/SSCAN key cursor [MATCH pattern] [COUNT count] as Redis reads them: the cursor first,
// a missing key answers an empty scan before the options are read, COUNT must be >= 1. Returns
// nullopt after replying (an error, or the empty scan); otherwise the collection's elements to
// reply, MATCH applied, and the next cursor. A collection Redis keeps small (listpack, intset)
// is returned whole with cursor 0, COUNT ignored, as Redis does.
struct CollectionScan {
  const data::Collection* collection = nullptr;
  std::vector<data::ElementView> batch;
  std::uint64_t next = 0;
};
std::optional<CollectionScan> scan_collection(CommandContext& ctx, data::ValueKind kind);

// HRANDFIELD / ZRANDMEMBER key [count [WITH...]] as Redis reads them, before the key: the
// count (argv[2], absent: nullopt) and whether argv[3] is `with_word`. False after replying
// an error (not an integer, below -LONG_MAX, a wrong option, a count too big to pair).
struct RandomCount {
  std::optional<std::int64_t> count;
  bool with = false;
};
bool parse_random_count(CommandContext& ctx, std::string_view with_word, RandomCount& out);

// Parses an expire argument like Redis's getExpireMillisecondsOrReply: `unit_seconds` for
// EX/EXAT, `absolute` for EXAT/PXAT. Replies "invalid expire time in '<cmd>' command" and
// returns nullopt when the value is not positive or overflows.
std::optional<WallTime> parse_expire(CommandContext& ctx, std::string_view arg, bool unit_seconds,
                                     bool absolute, std::string_view command);

}  // namespace apiary::resp
