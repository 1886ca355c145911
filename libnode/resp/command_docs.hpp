// Redis's own command documentation, recorded from redis-server 7.0 by
// scripts/gen_command_docs.py into command_docs_data.cpp: for every Redis command (and
// subcommand, "client|list") its COMMAND DOCS entry and COMMAND INFO's tips and key specs,
// each as RESP3 bytes, and its ACL categories (the universe of commands ACL rules name).
// COMMAND DOCS / INFO / GETKEYS / GETKEYSANDFLAGS answer from it for the commands Apiary
// registers; Apiary's own commands (APIARY.*) are not in it and keep the docs of their
// CommandSpec. Internal to libnode/resp; read-only data, safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "apiary/resp/reply_writer.hpp"

namespace apiary::resp {

struct CommandDocsEntry {
  std::string_view name;  // lower case, "parent|sub" for a subcommand
  std::string_view info;  // RESP3: a 2-element array [tips (set), key specs (array)]
  std::string_view docs;  // RESP3: the COMMAND DOCS map, without "subcommands"
  std::string_view acl;   // its ACL categories: "@read @string @fast" (empty for none)
};

// Every entry, sorted by name (a container's subcommands follow it in name order). Redis's
// own order is its dicts' seeded hash order, different in every redis-server process.
std::span<const CommandDocsEntry> redis_command_docs();
std::string_view redis_command_docs_version();

// The entry of `name` (lower case, "parent|sub"); nullptr when Redis has no such command.
const CommandDocsEntry* find_command_docs(std::string_view name);

// Writes the RESP3 value that starts `resp3` in the writer's protocol (maps and sets become
// arrays in RESP2, as Redis renders them); returns the bytes it used (0 if malformed).
std::size_t write_resp3_value(ReplyWriter& reply, std::string_view resp3);

// One key spec of a command (COMMAND INFO), enough to find its keys in an argv.
struct KeySpec {
  std::string_view flags;  // the RESP3 set of flag names, to copy into a reply
  bool not_key = false;
  bool incomplete = false;
  bool variable_flags = false;  // the flags depend on the arguments (SET ... GET, BITFIELD)
  bool unknown = false;         // keys found by code only (SORT's BY/GET patterns): skipped
  // begin_search: an index, or a keyword searched from startfrom (negative: from the end).
  bool by_keyword = false;
  int index = 0;
  std::string_view keyword;
  int startfrom = 0;
  // find_keys: a range (lastkey, keystep, limit) or a key count (keynumidx, firstkey,
  // keystep).
  bool by_keynum = false;
  int lastkey = 0, keystep = 1, limit = 0;
  int keynumidx = 0, firstkey = 0;
};
std::vector<KeySpec> parse_key_specs(const CommandDocsEntry& entry);

struct FoundKey {
  std::size_t position;    // index into argv (argv[0] is the command name)
  std::string_view flags;  // the spec's RESP3 flag set
};
// Redis 7.0's getKeysUsingKeySpecs: the keys `argv` names by `specs` (not_key specs skipped);
// nullopt when a spec does not fit the arguments (a bad key count, a range past the end, an
// incomplete spec), where Redis finds no keys either.
std::optional<std::vector<FoundKey>> keys_by_specs(const std::vector<KeySpec>& specs,
                                                   std::span<const std::string_view> argv);

// Commands whose keys Redis finds by code rather than by their specs (SORT: sortGetKeys, the
// last STORE after skipping LIMIT/GET/BY arguments; MIGRATE: migrateGetKeys, the keys after
// KEYS); nullopt for the others.
std::optional<std::vector<FoundKey>> keys_by_code(std::string_view command,
                                                  std::span<const std::string_view> argv);

// When a command's key count is not a strict integer its specs find nothing, and Redis reads
// the count with atoi in the command's own key finder (zunionInterDiffGetKeys, lmpopGetKeys,
// ...: the keys, then ZUNIONSTORE's destination): those keys, with no flags (as those finders
// give them); an empty vector when the count does not fit; nullopt for other commands.
std::optional<std::vector<FoundKey>> keys_by_numkeys_code(std::string_view command,
                                                          std::span<const std::string_view> argv);

// The flags of the key of a command whose spec says variable_flags, as Redis's key finders
// give them (setGetKeys, bitfieldGetKeys): a RESP3 set. The spec's own flags otherwise.
std::string_view variable_key_flags(std::string_view command, std::string_view spec_flags,
                                    std::span<const std::string_view> argv);

}  // namespace apiary::resp
