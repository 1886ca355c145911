// ACL users as Redis 7.0 keeps them: the rules ACL SETUSER takes (on/off, passwords kept as
// SHA-256, command categories and single commands, key patterns with %R~/%W~, channel
// patterns, selectors), the text ACL LIST and ACL GETUSER show (command rules re-derived
// from the permission bitmap the way Redis derives them), and the permission check behind
// NOPERM and ACL DRYRUN.
//
// The universe of commands the rules name is Redis 7.0.15's command table with its
// categories (AclCatalog, from the recorded COMMAND INFO), so that "+@all -@write" denies
// and describes exactly what it does in Redis, plus Apiary's own commands (no categories:
// only +@all / allcommands or their name allow them, as Redis treats module commands).
//
// Sans-IO and deterministic: no clock, no randomness (ACL GENPASS belongs to the caller).
// Not thread-safe: one per node, on the loop thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/status.hpp"

namespace apiary::resp {

// Redis's categories in ACL CAT's order; a command's categories are bits in this order.
inline constexpr std::array<std::string_view, 21> kAclCategories = {
    "keyspace",  "read",  "write",      "set",      "sortedset",  "list",        "hash",
    "string",    "bitmap", "hyperloglog", "geo",    "stream",     "pubsub",      "admin",
    "fast",      "slow",  "blocking",   "dangerous", "connection", "transaction", "scripting"};

// The bit of category `name` (case-insensitive, without '@'); 0 when unknown.
std::uint32_t acl_category(std::string_view name);

// SHA-256 of `password`, as 64 lower-case hex digits (what users keep, what '#' takes).
std::string acl_hash_password(std::string_view password);

struct AclCommand {
  std::string name;  // lower case; "config|get" for a subcommand
  std::uint32_t categories = 0;
  std::ptrdiff_t parent = -1;  // index of the container, -1 for a top-level command
  std::vector<std::size_t> subcommands;
};

class AclCatalog {
 public:
  // Redis 7.0.15's commands and categories, plus `extra` command names (Apiary's own).
  explicit AclCatalog(std::span<const std::string_view> extra = {});

  // The command named `name` ("get", "config|get"; case-insensitive).
  std::optional<std::size_t> find(std::string_view name) const;
  const AclCommand& at(std::size_t id) const { return commands_[id]; }
  std::size_t size() const { return commands_.size(); }
  // Top-level commands in name order (the order single-command rules are described in).
  const std::vector<std::size_t>& top_level() const { return top_level_; }

 private:
  std::vector<AclCommand> commands_;
  std::map<std::string, std::size_t, std::less<>> by_name_;
  std::vector<std::size_t> top_level_;
};

struct AclKeyPattern {
  std::string pattern;
  bool read = true;
  bool write = true;
};

struct AclSelector {
  bool root = false;
  bool allkeys = false;
  bool allchannels = false;
  bool allcommands = false;  // every command, without looking at the bits
  bool future = false;       // +@all's bit for commands added later: rules start "+@all"
  std::vector<std::uint64_t> bits;  // per AclCatalog id
  std::map<std::size_t, std::vector<std::string>> firstargs;  // "+select|0"
  std::vector<AclKeyPattern> keys;
  std::vector<std::string> channels;

  bool allowed(std::size_t id) const {
    return id / 64 < bits.size() && (bits[id / 64] >> (id % 64) & 1U) != 0;
  }
};

struct AclUser {
  enum class Sanitize : unsigned char { unset, sanitize, skip };
  std::string name;
  bool enabled = false;
  bool nopass = false;
  Sanitize sanitize = Sanitize::unset;
  std::vector<std::string> passwords;  // SHA-256 hex, in the order they were added
  std::vector<AclSelector> selectors;  // [0] is the root selector
};

// Ordered as Redis's ACL_DENIED_*: when no selector allows a command, the greatest reason
// (and, for equal reasons, the furthest argument) is the one reported.
enum class AclVerdict : unsigned char { ok = 0, command = 1, key = 2, auth = 3, channel = 4 };

struct AclCheck {
  AclVerdict verdict = AclVerdict::ok;
  std::size_t position = 0;  // argv index of the key or channel that was refused
};

// A key the command touches: its argv index and how (from its key spec's flags: ACCESS
// reads; INSERT, DELETE, UPDATE write).
struct AclKeyRef {
  std::size_t position = 0;
  bool read = false;
  bool write = false;
};

// The channel arguments of PUBLISH/SPUBLISH (one), SUBSCRIBE/SSUBSCRIBE and PSUBSCRIBE (all
// after the name; `patterns`: PSUBSCRIBE's, matched literally against channel patterns).
struct AclChannels {
  std::size_t first = 0;
  std::size_t count = 0;
  bool patterns = false;
};

class AclUsers {
 public:
  // Starts with Redis's default user: on, nopass, ~*, &*, +@all.
  explicit AclUsers(const AclCatalog& catalog);

  // ACL SETUSER: creates the user if needed and applies every rule, or none on an error,
  // whose message is Redis's ("Error in ACL SETUSER modifier '...': Syntax error"). Rules
  // of a selector spread over several arguments ("(~a" "+get)") are joined first.
  Status set_user(std::string_view name, std::span<const std::string_view> rules);
  // ACL DELUSER of one user; false when there is none. The default user cannot be removed
  // (the caller refuses it first).
  bool del_user(std::string_view name);
  const AclUser* find(std::string_view name) const;
  // By name, in byte order (ACL LIST / ACL USERS order).
  const std::map<std::string, AclUser, std::less<>>& users() const { return users_; }
  const AclCatalog& catalog() const { return catalog_; }

  // requirepass: the default user's password (empty: nopass).
  void set_default_password(std::string_view password);
  // AUTH / HELLO AUTH: an enabled user whose password matches (any password for nopass).
  bool authenticate(std::string_view name, std::string_view password) const;

  // Whether `user` may run command `id` with `argv` touching `keys` and `channels`.
  AclCheck check(const AclUser& user, std::size_t id, std::span<const std::string_view> argv,
                 std::span<const AclKeyRef> keys, AclChannels channels) const;

  // ACL LIST's text after "user <name> ": flags, #hashes, the root selector, (selectors).
  std::string describe(const AclUser& user) const;
  // ACL GETUSER's "commands", "keys" and "channels" of one selector.
  std::string describe_commands(const AclSelector& selector) const;
  static std::string describe_keys(const AclSelector& selector);
  static std::string describe_channels(const AclSelector& selector);

  // ACL SAVE's file: one "user <name> <describe>" line per user, by name.
  std::string to_text() const;
  // ACL LOAD: replaces every user with the file's, or changes nothing and returns Redis's
  // one-line description of every problem (`file` names the file in it).
  Status load_text(std::string_view text, std::string_view file);

  // Bumped by every change (the cluster compares versions to converge).
  std::uint64_t version() const { return version_; }

 private:
  AclSelector new_selector(bool root) const;
  AclUser new_user(std::string_view name) const;
  // One rule; on failure the error detail Redis prints after the modifier.
  std::optional<std::string> apply(AclUser& user, std::string_view op) const;
  std::optional<std::string> apply(AclSelector& selector, std::string_view op) const;
  void set_command(AclSelector& selector, std::size_t id, bool allow) const;
  void change_perm(AclSelector& selector, std::size_t id, bool allow) const;
  void set_category(AclSelector& selector, std::uint32_t category, bool allow) const;

  const AclCatalog& catalog_;
  std::map<std::string, AclUser, std::less<>> users_;
  std::uint64_t version_ = 0;
};

}  // namespace apiary::resp
