// Internal to libnode/resp: helpers shared by the data commands (strings, keyspace).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "apiary/base/status.hpp"
#include "apiary/resp/command.hpp"
#include "apiary/store/store.hpp"

namespace apiary::resp {

// The store, or nullptr after replying an error when the server has none attached.
store::Store* store_or_reply(CommandContext& ctx);
// Replies the Redis text for a failed write ("-OOM command not allowed ...").
void reply_write_error(CommandContext& ctx, const Status& status);

// Parses an expire argument like Redis's getExpireMillisecondsOrReply: `unit_seconds` for
// EX/EXAT, `absolute` for EXAT/PXAT. Replies "invalid expire time in '<cmd>' command" and
// returns nullopt when the value is not positive or overflows.
std::optional<WallTime> parse_expire(CommandContext& ctx, std::string_view arg, bool unit_seconds,
                                     bool absolute, std::string_view command);

}  // namespace apiary::resp
