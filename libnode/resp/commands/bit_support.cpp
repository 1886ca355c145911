#include "bit_support.hpp"

#include "apiary/resp/server.hpp"
#include "commands.hpp"
#include "keyspace_notify.hpp"
#include "store_access.hpp"

namespace apiary::resp {

bool parse_bit_offset(CommandContext& ctx, std::string_view arg, bool hash, int bits,
                      std::uint64_t& out) {
  const bool use_hash = hash && arg.size() > 1 && arg.front() == '#';
  if (use_hash) arg.remove_prefix(1);
  auto offset = to_int(arg);
  if (offset && use_hash) {
    // Redis multiplies in a long long; do it modulo 2^64 so it wraps the same way.
    offset = static_cast<std::int64_t>(static_cast<std::uint64_t>(*offset) *
                                       static_cast<std::uint64_t>(bits));
  }
  const auto max_bytes = static_cast<std::int64_t>(ctx.server.config().proto_max_bulk_len());
  if (!offset || *offset < 0 || (*offset >> 3) >= max_bytes) {
    ctx.reply.error("bit offset is not an integer or out of range");
    return false;
  }
  out = static_cast<std::uint64_t>(*offset);
  return true;
}

bool bit_string(CommandContext& ctx, store::Store& st, std::string_view key,
                std::optional<std::string_view>& out, bool keymiss) {
  bool wrong_type = false;
  out = st.get_value(key, ctx.wall, &wrong_type);
  if (wrong_type) ctx.reply.error(kWrongType);
  if (keymiss && !wrong_type && !out) notify_keymiss(ctx, key);
  return !wrong_type;
}

bool write_bits(CommandContext& ctx, store::Store& st, std::string_view key,
                std::string_view value) {
  NewKeyWatch watch(ctx, st, key);
  const Status s = st.put_local(key, value, ctx.wall, store::ExpiryUpdate::keep());
  if (!s.ok()) {
    reply_write_error(ctx, s);
    return false;
  }
  watch.created();
  return true;
}

}  // namespace apiary::resp
