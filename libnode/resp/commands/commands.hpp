// Internal to libnode/resp: registration of the built-in commands, one function per family,
// and small helpers the handlers share.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "apiary/resp/command.hpp"
#include "apiary/resp/command_table.hpp"

namespace apiary::resp {

void register_connection_commands(CommandTable& table);
void register_server_commands(CommandTable& table);
void register_string_commands(CommandTable& table);
void register_keyspace_commands(CommandTable& table);
void register_introspection_commands(CommandTable& table);
void register_version_commands(CommandTable& table);
void register_persistence_commands(CommandTable& table);
void register_backup_commands(CommandTable& table);
void register_hash_commands(CommandTable& table);
void register_set_commands(CommandTable& table);
void register_zset_commands(CommandTable& table);
void register_zset_algebra_commands(CommandTable& table);
void register_zset_pick_commands(CommandTable& table);
void register_list_commands(CommandTable& table);
void register_list_move_commands(CommandTable& table);
void register_zset_pop_commands(CommandTable& table);
void register_bitmap_commands(CommandTable& table);
void register_bitfield_commands(CommandTable& table);
void register_lcs_commands(CommandTable& table);
void register_dump_commands(CommandTable& table);
void register_migrate_commands(CommandTable& table);
void register_sort_commands(CommandTable& table);
void register_transaction_commands(CommandTable& table);
void register_script_commands(CommandTable& table);
void register_pubsub_commands(CommandTable& table);
void register_diagnostics_commands(CommandTable& table);  // SLOWLOG, LATENCY, MONITOR
void register_acl_commands(CommandTable& table);          // ACL *
// CLIENT TRACKING, CACHING, GETREDIR and TRACKINGINFO, added to CLIENT's subcommands.
void register_tracking_subcommands(CommandSpec& client);

// CLIENT INFO's line for `c` (CLIENT LIST's lines, ACL LOG's client-info), with its '\n'.
std::string client_info_line(Server& server, const Connection& c, TimePoint now);

// Shared reply texts, worded as in Redis 7.0.
inline constexpr std::string_view kSyntaxError = "syntax error";
inline constexpr std::string_view kNotInteger = "value is not an integer or out of range";
inline constexpr std::string_view kNotFloat = "value is not a valid float";
inline constexpr std::string_view kNoStore = "this node has no keyspace attached";
inline constexpr std::string_view kWrongType =
    "-WRONGTYPE Operation against a key holding the wrong kind of value";

bool iequals(std::string_view a, std::string_view b);
std::string to_upper(std::string_view s);
std::string to_lower(std::string_view s);
std::optional<std::int64_t> to_int(std::string_view s);
// A SCAN/HSCAN/SSCAN cursor as Redis parses it (strtoul); false when it is not one.
bool parse_scan_cursor(std::string_view s, std::uint64_t& out);

// The timeout argument of a blocking command (BLPOP ... timeout) as Redis 7.0.15 reads it:
// seconds as a float, rounded up to milliseconds; zero (or above -1 ms) means no timeout. False
// after replying "timeout is not a float or out of range" or "timeout is negative" (also for
// infinities and values past 2^63 ms, as Redis's conversion makes them).
bool parse_block_timeout(ReplyWriter& reply, std::string_view arg, Duration& out);

// The handler of a container command (CLIENT, PUBSUB, SCRIPT, ...) itself: never reached with
// a subcommand (the connection resolves those), it answers "unknown subcommand".
Outcome container_command(CommandContext& ctx);

// Help text replies (CLIENT HELP, ...): a header line, the lines, and Redis's trailer.
void reply_help(ReplyWriter& reply, std::string_view command,
                std::initializer_list<std::string_view> lines);

struct SpecInit {
  const char* name;
  int arity;
  std::uint32_t flags;
  int first_key;
  int last_key;
  int key_step;
  std::string_view acl;
  std::string_view key_flags;
  std::string_view group;
  std::string_view summary;
  std::string_view since;
  std::string_view complexity;
  CommandHandler handler;
  int numkeys_index = 0;  // CommandSpec::numkeys_index
};
CommandSpec make_spec(const SpecInit& init);

}  // namespace apiary::resp
