// The two commands `apiary backup` and `apiary restore` run (docs/persistence.md, "Backup and
// restore"). Entries travel packed as replication ships them (store/entry_codec.hpp), so a
// backup keeps every version vector, sibling, counter, tombstone and absolute expiry.
//
//   APIARY.EXPORT partition cursor count
//     -> [next cursor, [entry, ...]]   entries of one partition of THIS node's store, live
//        ones and tombstones (tombstones carry deletes); the cursor is "0" at the start and
//        when done. It has no keys, so the cluster does not route it: ask the member whose
//        copy you want (the partition's coordinator holds every acknowledged write).
//   APIARY.MERGE key entry
//     -> 1 when the key's entry changed, 0 when it already held that version or a newer one.
//        A keyed write: the cluster runs it on the key's coordinator and replicates the
//        result to the key's other owners like any write. Merging by version vector means
//        restoring into a live cluster never replaces a newer write.
#include <algorithm>
#include <bit>
#include <charconv>
#include <cstdint>
#include <span>

#include "apiary/store/entry_codec.hpp"
#include "commands.hpp"
#include "store_access.hpp"

namespace apiary::resp {
namespace {

constexpr std::int64_t kMaxExportCount = 10000;

// A strict unsigned decimal (no sign, no spaces), as the cursor EXPORT returns.
bool parse_cursor(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

// A cursor EXPORT returned for `partition`: 0, or a position inside that partition. The
// store orders keys with the partition id in the top bits of the position (docs/store.md),
// so a cursor of another partition would end the scan at once, silently: refuse it instead.
bool cursor_in_partition(std::uint64_t cursor, std::uint32_t partition, std::uint32_t count) {
  if (cursor == 0 || count <= 1) return true;
  const int bits = std::countr_zero(count);
  return (cursor >> (64 - bits)) == partition;
}

Outcome export_partition(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  const std::uint32_t partitions = st->config().partition_count;
  const auto partition = to_int(ctx.argv[1]);
  if (!partition || *partition < 0 || *partition >= partitions) {
    ctx.reply.error("invalid partition: this node has " + std::to_string(partitions) +
                    " partitions (0.." + std::to_string(partitions - 1) + ")");
    return Outcome::done();
  }
  const auto id = static_cast<std::uint32_t>(*partition);
  std::uint64_t position = 0;
  if (!parse_cursor(ctx.argv[2], position) || !cursor_in_partition(position, id, partitions)) {
    ctx.reply.error("invalid cursor");
    return Outcome::done();
  }
  const auto count = to_int(ctx.argv[3]);
  if (!count) {
    ctx.reply.error(kNotInteger);
    return Outcome::done();
  }
  store::ScanCursor cursor{position, position != 0};
  const auto entries = st->scan_partition(
      PartitionId{id}, cursor,
      static_cast<std::size_t>(std::clamp<std::int64_t>(*count, 1, kMaxExportCount)), ctx.wall);
  ctx.reply.array(2);
  ctx.reply.bulk(std::to_string(cursor.position));
  ctx.reply.array(entries.size());
  for (const auto& entry : entries) {
    const auto bytes = store::encode_entry(entry);
    ctx.reply.bulk({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
  }
  return Outcome::done();
}

Outcome merge(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  const std::string_view packed = ctx.argv[2];
  auto entry =
      store::decode_entry({reinterpret_cast<const std::uint8_t*>(packed.data()), packed.size()});
  if (!entry.ok()) {
    ctx.reply.error("invalid entry: " + entry.status().message());
    return Outcome::done();
  }
  if (entry->key != ctx.argv[1]) {
    ctx.reply.error("invalid entry: it holds another key than the command's");
    return Outcome::done();
  }
  const auto changed = st->merge(entry->key, entry->version, entry->expiry, ctx.wall);
  if (!changed.ok()) {
    reply_write_error(ctx, changed.status());
    return Outcome::done();
  }
  ctx.reply.integer(*changed ? 1 : 0);
  return Outcome::done();
}

}  // namespace

void register_backup_commands(CommandTable& t) {
  t.add(make_spec({"apiary.export", 4, kAdmin | kReadonly, 0, 0, 0, "@admin @read @slow", "",
                   "server", "Export one partition of this node's store, a page at a time", "0.1.0",
                   "O(count)", export_partition}));
  t.add(make_spec({"apiary.merge", 3, kWrite | kDenyOom, 1, 1, 1, "@write @string @slow",
                   "RW update", "string", "Merge a packed versioned entry into a key", "0.1.0",
                   "O(siblings)", merge}));
}

}  // namespace apiary::resp
