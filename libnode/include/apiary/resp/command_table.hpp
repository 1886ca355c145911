// The command table: every command the server knows with the metadata Redis 7 publishes
// through COMMAND / COMMAND INFO / COMMAND DOCS (arity, flags, key positions, ACL
// categories, docs), and case-insensitive lookup that does not allocate.
//
// Arity follows Redis: positive = exact argc, negative = at least -arity. Container commands
// (CLIENT, CONFIG, COMMAND, OBJECT, MEMORY) have subcommands looked up by argv[1], named
// "client|list" in errors and in COMMAND INFO, as Redis 7 does.
// Built once at start-up and then read-only: safe to share between threads after that.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/resp/command.hpp"

namespace apiary::resp {

enum CommandFlag : std::uint32_t {
  kWrite = 1u << 0,
  kReadonly = 1u << 1,
  kDenyOom = 1u << 2,
  kAdmin = 1u << 3,
  kNoScript = 1u << 4,
  kLoading = 1u << 5,
  kStale = 1u << 6,
  kFast = 1u << 7,
  kNoAuth = 1u << 8,
  kMayReplicate = 1u << 9,
  kAllowBusy = 1u << 10,
  kNoMandatoryKeys = 1u << 11,
  kNoAsyncLoading = 1u << 12,
  kSentinel = 1u << 13,
  kMovableKeys = 1u << 14,  // keys found by a count argument (numkeys_index)
  kBlocking = 1u << 15,     // may wait for a key to be written (Outcome::blocked)
  // Runs on the node the client is connected to although COMMAND INFO shows keys (MIGRATE
  // reads its keys through the cluster itself): has_keys() is false, so neither the
  // connection nor the router treats it as keyed. Not shown by COMMAND INFO.
  kRunsHere = 1u << 16,
  // Runs at its keys' coordinator, as a write does, but changes nothing there (APIARY.WATCHV
  // reads the versions WATCH records there): routed like a write, run like a read, never
  // replicated. Not shown by COMMAND INFO.
  kAtCoordinator = 1u << 17,
  // An error reply does not mean it changed nothing (a script can write and then fail, as
  // in Redis, which does not roll scripts back): the router replicates its keys anyway.
  kWritesOnError = 1u << 18,
  // Its keys replicate as one unit whenever they have the same owners, collections' changes
  // included (a transaction, a script): Replicator::replicate_together(..., whole).
  kOneUnit = 1u << 19,
  kSkipMonitor = 1u << 20,
  kSkipSlowlog = 1u << 21,
  kPubsub = 1u << 22,
};

// Names in COMMAND INFO order, for the flags set in `flags`.
std::vector<std::string_view> flag_names(std::uint32_t flags);

struct CommandSpec {
  std::string name;  // lower case: "get", or "client|list" for a subcommand
  int arity = 0;
  std::uint32_t flags = 0;
  int first_key = 0;  // 0 = no keys
  int last_key = 0;   // -1 = last argument
  int key_step = 0;
  // Commands whose keys are counted by an argument (SINTERCARD numkeys key...): its index,
  // with the keys right after it. first_key/last_key/key_step then describe the legacy range
  // COMMAND INFO shows.
  int numkeys_index = 0;
  // Commands whose keys follow a keyword anywhere in argv (SORT ... STORE destination, as
  // Redis's getkeys procs): finds every key. When set, command_keys() asks it alone.
  std::vector<std::size_t> (*find_keys)(std::span<const std::string_view> argv) = nullptr;
  std::string_view acl;        // "@read @string @fast"
  std::string_view key_flags;  // COMMAND INFO key-spec flags: "RO access"
  std::string_view group;      // COMMAND DOCS
  std::string_view summary;
  std::string_view since;
  std::string_view complexity;
  CommandHandler handler = nullptr;
  std::vector<CommandSpec> subcommands;

  // What follows the '|' for a subcommand, the whole name otherwise.
  std::string_view short_name() const;
  bool has_keys() const {
    return (flags & kRunsHere) == 0 && (first_key > 0 || numkeys_index > 0 || find_keys != nullptr);
  }
};

// Indices into argv of the command's keys: first_key..last_key by key_step (a negative
// last_key counts from the end), or the keys after the numkeys argument (numkeys_index). A
// key count that is not a positive integer no larger than what follows gives no keys.
std::vector<std::size_t> command_keys(const CommandSpec& spec,
                                      std::span<const std::string_view> argv);

class CommandTable {
 public:
  CommandTable() = default;
  CommandTable(const CommandTable&) = delete;
  CommandTable& operator=(const CommandTable&) = delete;

  // Adds a command (name in lower case). Replaces an existing one of the same name.
  void add(CommandSpec spec);

  // Case-insensitive; nullptr when unknown.
  const CommandSpec* find(std::string_view name) const;
  static const CommandSpec* find_subcommand(const CommandSpec& parent, std::string_view name);

  // All commands in a stable order (by name), for COMMAND and COMMAND COUNT.
  const std::vector<std::unique_ptr<CommandSpec>>& all() const { return commands_; }

 private:
  void rebuild_index();

  std::vector<std::unique_ptr<CommandSpec>> commands_;
  std::vector<const CommandSpec*> slots_;  // open addressing, power-of-two size
};

// A minimal spec (no keys, no docs): for tests and for embedders adding their own commands.
CommandSpec make_spec_for_test(std::string name, int arity, CommandHandler handler);

// The table with every command this server implements.
const CommandTable& default_command_table();

}  // namespace apiary::resp
