#include "apiary/resp/command_table.hpp"

#include <algorithm>

#include "commands/commands.hpp"

namespace apiary::resp {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::uint64_t hash_lower(std::string_view s) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a over the lower-cased bytes
  for (char c : s) {
    h ^= static_cast<unsigned char>(lower(c));
    h *= 1099511628211ULL;
  }
  return h;
}

bool equal_lower(std::string_view lowered, std::string_view any_case) {
  if (lowered.size() != any_case.size()) return false;
  for (std::size_t i = 0; i < lowered.size(); ++i) {
    if (lowered[i] != lower(any_case[i])) return false;
  }
  return true;
}

}  // namespace

std::vector<std::size_t> command_keys(const CommandSpec& spec,
                                      std::span<const std::string_view> argv) {
  if (spec.find_keys != nullptr) return spec.find_keys(argv);
  if (spec.numkeys_index <= 0) {
    std::vector<std::size_t> out;
    if (!spec.has_keys() || spec.key_step <= 0) return out;
    const auto n = static_cast<std::int64_t>(argv.size());
    const std::int64_t last = spec.last_key < 0 ? n + spec.last_key : spec.last_key;
    for (std::int64_t i = spec.first_key; i <= last && i < n; i += spec.key_step) {
      out.push_back(static_cast<std::size_t>(i));
    }
    return out;
  }
  std::vector<std::size_t> out;
  const auto at = static_cast<std::size_t>(spec.numkeys_index);
  // Keys before the count (ZUNIONSTORE's destination) are the legacy range.
  for (int i = spec.first_key; i > 0 && i <= spec.last_key && static_cast<std::size_t>(i) < at;
       ++i) {
    out.push_back(static_cast<std::size_t>(i));
  }
  std::uint64_t n = 0;
  if (at >= argv.size() || argv[at].empty() || argv[at].size() > 9) return out;
  for (char c : argv[at]) {
    if (c < '0' || c > '9') return out;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (n == 0 || n > argv.size() - at - 1) return {};
  for (std::size_t i = at + 1; i <= at + n; ++i) out.push_back(i);
  return out;
}

std::vector<std::string_view> flag_names(std::uint32_t flags) {
  static constexpr std::pair<std::uint32_t, std::string_view> kNames[] = {
      {kWrite, "write"},
      {kReadonly, "readonly"},
      {kDenyOom, "denyoom"},
      {kAdmin, "admin"},
      {kPubsub, "pubsub"},
      {kNoScript, "noscript"},
      {kBlocking, "blocking"},
      {kLoading, "loading"},
      {kStale, "stale"},
      {kSkipMonitor, "skip_monitor"},
      {kSkipSlowlog, "skip_slowlog"},
      {kFast, "fast"},
      {kNoAuth, "no_auth"},
      {kMayReplicate, "may_replicate"},
      {kSentinel, "sentinel"},
      {kNoMandatoryKeys, "no_mandatory_keys"},
      {kNoAsyncLoading, "no_async_loading"},
      {kMovableKeys, "movablekeys"},
      {kAllowBusy, "allow_busy"},
  };
  std::vector<std::string_view> out;
  for (const auto& [bit, name] : kNames) {
    if (flags & bit) out.push_back(name);
  }
  return out;
}

std::string_view CommandSpec::short_name() const {
  const auto bar = name.find('|');
  return bar == std::string::npos ? std::string_view(name) : std::string_view(name).substr(bar + 1);
}

void CommandTable::add(CommandSpec spec) {
  auto it = std::find_if(commands_.begin(), commands_.end(),
                         [&](const auto& c) { return c->name == spec.name; });
  if (it != commands_.end()) {
    **it = std::move(spec);
  } else {
    commands_.push_back(std::make_unique<CommandSpec>(std::move(spec)));
  }
  std::sort(commands_.begin(), commands_.end(),
            [](const auto& a, const auto& b) { return a->name < b->name; });
  rebuild_index();
}

void CommandTable::rebuild_index() {
  std::size_t size = 16;
  while (size < commands_.size() * 4) size *= 2;
  slots_.assign(size, nullptr);
  for (const auto& c : commands_) {
    std::size_t i = hash_lower(c->name) & (size - 1);
    while (slots_[i] != nullptr) i = (i + 1) & (size - 1);
    slots_[i] = c.get();
  }
}

const CommandSpec* CommandTable::find(std::string_view name) const {
  if (slots_.empty() || name.size() > 64) return nullptr;
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = hash_lower(name) & mask;; i = (i + 1) & mask) {
    const CommandSpec* c = slots_[i];
    if (c == nullptr) return nullptr;
    if (equal_lower(c->name, name)) return c;
  }
}

const CommandSpec* CommandTable::find_subcommand(const CommandSpec& parent, std::string_view name) {
  for (const auto& sub : parent.subcommands) {
    if (equal_lower(sub.short_name(), name)) return &sub;
  }
  return nullptr;
}

CommandSpec make_spec_for_test(std::string name, int arity, CommandHandler handler) {
  CommandSpec s;
  s.name = std::move(name);
  s.arity = arity;
  s.handler = handler;
  return s;
}

const CommandTable& default_command_table() {
  static const CommandTable* table = [] {
    auto* t = new CommandTable();
    register_connection_commands(*t);
    register_server_commands(*t);
    register_string_commands(*t);
    register_keyspace_commands(*t);
    register_introspection_commands(*t);
    register_version_commands(*t);
    register_persistence_commands(*t);
    register_backup_commands(*t);
    register_hash_commands(*t);
    register_set_commands(*t);
    register_zset_commands(*t);
    register_zset_algebra_commands(*t);
    register_zset_pick_commands(*t);
    register_list_commands(*t);
    register_list_move_commands(*t);
    register_zset_pop_commands(*t);
    register_bitmap_commands(*t);
    register_bitfield_commands(*t);
    register_lcs_commands(*t);
    register_dump_commands(*t);
    register_migrate_commands(*t);
    register_sort_commands(*t);
    register_transaction_commands(*t);
    register_script_commands(*t);
    register_pubsub_commands(*t);
    register_diagnostics_commands(*t);
    register_acl_commands(*t);
    return t;
  }();
  return *table;
}

}  // namespace apiary::resp
