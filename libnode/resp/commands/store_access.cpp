// Helpers shared by the data commands.
#include "store_access.hpp"

#include <limits>
#include <string>

#include "apiary/resp/server.hpp"
#include "commands.hpp"

namespace apiary::resp {

store::Store* store_or_reply(CommandContext& ctx) {
  store::Store* st = ctx.server.store();
  if (st == nullptr) ctx.reply.error(kNoStore);
  return st;
}

void reply_write_error(CommandContext& ctx, const Status& status) {
  if (status.code() == StatusCode::out_of_memory) {
    ctx.reply.error("-OOM command not allowed when used memory > 'maxmemory'.");
  } else {
    ctx.reply.error(status.message());
  }
}

std::optional<WallTime> parse_expire(CommandContext& ctx, std::string_view arg, bool unit_seconds,
                                     bool absolute, std::string_view command) {
  const std::string invalid = "invalid expire time in '" + std::string(command) + "' command";
  auto v = to_int(arg);
  if (!v) {
    ctx.reply.error(kNotInteger);
    return std::nullopt;
  }
  std::int64_t ms = *v;
  if (ms <= 0 || (unit_seconds && ms > std::numeric_limits<std::int64_t>::max() / 1000)) {
    ctx.reply.error(invalid);
    return std::nullopt;
  }
  if (unit_seconds) ms *= 1000;
  if (!absolute) {
    if (ms > std::numeric_limits<std::int64_t>::max() - ctx.wall.ms) {
      ctx.reply.error(invalid);
      return std::nullopt;
    }
    ms += ctx.wall.ms;
  }
  return WallTime{ms};
}

}  // namespace apiary::resp
