// The Server's side of ACLs: which keys and channels a command touches (from Redis's key
// specs, as ACL checks them), the check behind NOPERM, and the ACL log.
#include <algorithm>
#include <map>

#include "apiary/resp/command_table.hpp"
#include "apiary/resp/connection.hpp"
#include "apiary/resp/server.hpp"
#include "apiary/store/store.hpp"
#include "command_docs.hpp"
#include "commands/commands.hpp"

namespace apiary::resp {

struct ServerAcl::AclKeySpecs {
  struct Entry {
    const CommandDocsEntry* docs = nullptr;
    std::vector<KeySpec> specs;
    std::size_t catalog_id = 0;
  };
  std::map<const CommandSpec*, Entry> by_spec;
};

namespace {

constexpr std::size_t kAclLogGroupScan = 10;    // entries Redis looks at
constexpr std::int64_t kAclLogGroupMs = 60000;  // ACL_LOG_GROUPING_MAX_TIME_DELTA
constexpr std::string_view kCommandDenied = "this user has no permissions to run the '";

bool has_flag(std::string_view resp3_set, std::string_view flag) {
  // "~2\r\n+RW\r\n+access\r\n": the flag names are simple strings.
  std::size_t at = 0;
  while ((at = resp3_set.find('+', at)) != std::string_view::npos) {
    const std::size_t end = resp3_set.find('\r', at);
    const std::string_view name = resp3_set.substr(at + 1, end - at - 1);
    if (name.size() == flag.size() &&
        std::equal(name.begin(), name.end(), flag.begin(),
                   [](char a, char b) { return (a | 0x20) == (b | 0x20); })) {
      return true;
    }
    at = end;
  }
  return false;
}

AclChannels channels_of(const CommandSpec& spec, std::size_t argc) {
  const std::string_view name = spec.name;
  if (name == "publish" || name == "spublish") return {1, argc > 1 ? 1u : 0u, false};
  if (name == "subscribe" || name == "ssubscribe") return {1, argc > 0 ? argc - 1 : 0, false};
  if (name == "psubscribe") return {1, argc > 0 ? argc - 1 : 0, true};
  return {};
}

std::string denial_text(AclVerdict verdict, std::string_view command) {
  switch (verdict) {
    case AclVerdict::key:
      return "-NOPERM this user has no permissions to access one of the keys used as arguments";
    case AclVerdict::channel:
      return "-NOPERM this user has no permissions to access one of the channels used as "
             "arguments";
    default:
      return std::string("-NOPERM ") + std::string(kCommandDenied) + std::string(command) +
             "' command";
  }
}

bool unrestricted(const AclUser& u) {
  const AclSelector& root = u.selectors.front();
  return root.allcommands && root.allkeys && root.allchannels;
}

}  // namespace

ServerAcl::ServerAcl(Server& server) : server_(server) {}
ServerAcl::~ServerAcl() = default;

void ServerAcl::init_acl() {
  std::vector<std::string_view> extra;
  for (const auto& spec : server_.commands().all()) {
    if (find_command_docs(spec->name) == nullptr) extra.push_back(spec->name);
    for (const CommandSpec& sub : spec->subcommands) {
      if (find_command_docs(sub.name) == nullptr) extra.push_back(sub.name);
    }
  }
  acl_catalog_ = std::make_unique<AclCatalog>(extra);
  acl_ = std::make_unique<AclUsers>(*acl_catalog_);
  acl_key_specs_ = std::make_unique<AclKeySpecs>();
}

bool ServerAcl::auth_required() const {
  const AclUser* def = acl_->find("default");
  return def == nullptr || !def->nopass || !def->enabled;
}

AclCheck ServerAcl::acl_check(const AclUser& user, const CommandSpec& spec,
                              std::span<const std::string_view> argv) {
  auto [it, added] = acl_key_specs_->by_spec.try_emplace(&spec);
  AclKeySpecs::Entry& entry = it->second;
  if (added) {
    entry.docs = find_command_docs(spec.name);
    if (entry.docs != nullptr) entry.specs = parse_key_specs(*entry.docs);
    entry.catalog_id = acl_catalog_->find(spec.name).value_or(0);
  }
  // Every selector sees the same keys: Redis's getKeysFromCommandWithSpecs, with each key's
  // flags (ACCESS reads; INSERT, DELETE, UPDATE write).
  std::vector<AclKeyRef> keys;
  const bool any_key_limits = std::any_of(user.selectors.begin(), user.selectors.end(),
                                          [](const AclSelector& s) { return !s.allkeys; });
  if (any_key_limits) {
    std::vector<FoundKey> found;
    if (auto by_code = keys_by_code(spec.name, argv)) {
      found = std::move(*by_code);
    } else if (entry.docs != nullptr) {
      if (auto by_specs = keys_by_specs(entry.specs, argv)) {
        found = std::move(*by_specs);
      } else if (auto by_count = keys_by_numkeys_code(spec.name, argv)) {
        found = std::move(*by_count);
      }
    } else {
      for (std::size_t k : command_keys(spec, argv)) found.push_back({k, {}});
    }
    for (const FoundKey& k : found) {
      const std::string_view flags =
          entry.docs != nullptr ? variable_key_flags(spec.name, k.flags, argv) : k.flags;
      AclKeyRef ref;
      ref.position = k.position;
      ref.read = has_flag(flags, "access");
      ref.write =
          has_flag(flags, "insert") || has_flag(flags, "delete") || has_flag(flags, "update");
      if (entry.docs == nullptr) {  // Apiary's own commands: by what they do
        ref.read = (spec.flags & kWrite) == 0;
        ref.write = (spec.flags & kWrite) != 0;
      }
      keys.push_back(ref);
    }
  }
  if ((spec.flags & kNoAuth) != 0) {
    // Redis never refuses a no-auth command (AUTH, HELLO) by its command bit.
    AclUser any = user;
    for (AclSelector& s : any.selectors) s.allcommands = true;
    return acl_->check(any, entry.catalog_id, argv, keys, channels_of(spec, argv.size()));
  }
  return acl_->check(user, entry.catalog_id, argv, keys, channels_of(spec, argv.size()));
}

std::string ServerAcl::acl_refusal(const Connection& client, const CommandSpec& spec,
                                   std::span<const std::string_view> argv, std::string_view context,
                                   TimePoint now, WallTime wall) {
  const AclVerdict verdict = acl_verdict(client, spec, argv, context, now, wall);
  return verdict == AclVerdict::ok ? std::string() : denial_text(verdict, spec.name);
}

AclVerdict ServerAcl::acl_verdict(const Connection& client, const CommandSpec& spec,
                                  std::span<const std::string_view> argv, std::string_view context,
                                  TimePoint now, WallTime wall) {
  const AclUser* user = acl_->find(client.user());
  if (user != nullptr && unrestricted(*user)) return AclVerdict::ok;
  if (user == nullptr) return AclVerdict::command;  // deleted meanwhile
  const AclCheck check = acl_check(*user, spec, argv);
  if (check.verdict == AclVerdict::ok) return AclVerdict::ok;
  AclLogEntry entry;
  entry.reason = check.verdict;
  entry.context = std::string(context);
  entry.username = user->name;
  entry.time = wall;
  entry.client_info = client_info_line(server_, client, now);
  if (!entry.client_info.empty() && entry.client_info.back() == '\n') entry.client_info.pop_back();
  const bool on_argument = check.verdict == AclVerdict::key || check.verdict == AclVerdict::channel;
  entry.object = on_argument ? std::string(argv[check.position]) : spec.name;
  acl_log_add(std::move(entry));
  return check.verdict;
}

std::string ServerAcl::acl_refusal_of(std::string_view user_name, const CommandSpec& spec,
                                      std::span<const std::string_view> argv) {
  const AclUser* user = acl_->find(user_name);
  if (user == nullptr) return denial_text(AclVerdict::command, spec.name);
  if (unrestricted(*user)) return {};
  const AclCheck check = acl_check(*user, spec, argv);
  return check.verdict == AclVerdict::ok ? std::string() : denial_text(check.verdict, spec.name);
}

void ServerAcl::acl_log_add(AclLogEntry entry) {
  const std::size_t scan = std::min(kAclLogGroupScan, acl_log_.size());
  for (std::size_t i = 0; i < scan; ++i) {
    AclLogEntry& e = acl_log_[i];
    const std::int64_t delta = e.time.ms - entry.time.ms;
    if (e.reason == entry.reason && e.context == entry.context && e.object == entry.object &&
        e.username == entry.username && (delta < 0 ? -delta : delta) <= kAclLogGroupMs) {
      AclLogEntry grouped = std::move(e);
      grouped.count += 1;
      grouped.time = entry.time;
      grouped.client_info = std::move(entry.client_info);
      acl_log_.erase(acl_log_.begin() + static_cast<std::ptrdiff_t>(i));
      acl_log_.push_front(std::move(grouped));
      return;
    }
  }
  acl_log_.push_front(std::move(entry));
  const auto max =
      static_cast<std::size_t>(std::max<std::int64_t>(server_.config().acllog_max_len(), 0));
  while (acl_log_.size() > max) acl_log_.pop_back();
}

void ServerAcl::random_bytes(std::span<std::uint8_t> out) {
  if (entropy_ != nullptr) {
    entropy_(out);
    return;
  }
  std::uint64_t word = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (i % 8 == 0)
      word =
          server_.store() != nullptr ? server_.store()->random() : 0x9e3779b97f4a7c15ULL * (i + 1);
    out[i] = static_cast<std::uint8_t>(word >> (8 * (i % 8)));
  }
}

// ---- One set of users for the cluster -----------------------------------------------------

void ServerAcl::acl_bump() {
  acl_stamp_.counter += 1;
  acl_stamp_.member = server_.identity().node_name;
  acl_dirty_ = false;
}

// Redis's ACLKillPubsubClientsIfNeeded: a client subscribed to a channel (or pattern, compared
// literally) its user may no longer use is disconnected; so is one whose user is gone.
void ServerAcl::drop_revoked_clients(ClientId running) {
  auto allowed = [](const AclUser& u, const std::string& name, bool pattern) {
    for (const AclSelector& s : u.selectors) {
      if (s.allchannels) return true;
      for (const std::string& p : s.channels) {
        if (pattern ? p == name : glob_match(p, name)) return true;
      }
    }
    return false;
  };
  for (const auto& [id, c] : server_.clients()) {
    const AclUser* user = acl_->find(c->user());
    bool drop = user == nullptr;
    for (SubKind kind : {SubKind::channel, SubKind::pattern, SubKind::shard}) {
      if (drop || user == nullptr) break;
      for (const std::string& name : server_.pubsub().names(id, kind)) {
        if (!allowed(*user, name, kind == SubKind::pattern)) {
          drop = true;
          break;
        }
      }
    }
    if (!drop) continue;
    if (id == running) {
      c->close_after_reply();
    } else {
      c->kill();
      server_.mark_closing(id);
    }
  }
}

Outcome ServerAcl::acl_publish(CommandContext& ctx, std::string reply) {
  acl_bump();
  drop_revoked_clients(ctx.client.id());
  ClusterKeyspace* members = server_.cluster_members();
  if (members == nullptr || server_.local_only()) {
    if (members != nullptr) {
      members->tell_members(
          ctx.now, "acl.set",
          {std::to_string(acl_stamp_.counter), acl_stamp_.member, acl_->to_text()});
    }
    ctx.reply.raw(reply);
    return Outcome::done();
  }
  const PendingToken token = ctx.client.next_token();
  const ClientId client = ctx.client.id();
  members->ask_members(ctx.now, "acl.set",
                       {std::to_string(acl_stamp_.counter), acl_stamp_.member, acl_->to_text()},
                       [members, client, token, reply = std::move(reply)](auto) mutable {
                         members->complete(client, token, std::move(reply));
                       });
  return Outcome::pending(token);
}

void ServerAcl::spread_acl(TimePoint now) {
  acl_bump();
  if (ClusterKeyspace* members = server_.cluster_members()) {
    members->tell_members(now, "acl.set",
                          {std::to_string(acl_stamp_.counter), acl_stamp_.member, acl_->to_text()});
  }
}

void ServerAcl::acl_pull(TimePoint now) {
  ClusterKeyspace* members = server_.cluster_members();
  if (members == nullptr) return;
  members->ask_members(now, "acl.get", {}, [this](ClusterKeyspace::MemberAnswers answers) {
    for (const auto& a : answers) {
      if (a.size() == 4 && a[0] == "acl") (void)acl_member_op("acl.set", std::span(a).subspan(1));
    }
  });
}

// acl.set <counter> <member> <text>: keeps the newer state; acl.get: this node's state.
std::vector<std::string> ServerAcl::acl_member_op(std::string_view op,
                                                  std::span<const std::string> args) {
  if (op == "acl.get") {
    return {"acl", std::to_string(acl_stamp_.counter), acl_stamp_.member, acl_->to_text()};
  }
  if (op != "acl.set" || args.size() != 3) return {};
  std::uint64_t counter = 0;
  for (char c : args[0]) {
    if (c < '0' || c > '9' || counter > (UINT64_MAX - 9) / 10) return {};
    counter = counter * 10 + static_cast<std::uint64_t>(c - '0');
  }
  const bool newer = counter > acl_stamp_.counter ||
                     (counter == acl_stamp_.counter && args[1] > acl_stamp_.member);
  if (!newer) return {"ok"};
  if (!acl_->load_text(args[2], "cluster").ok()) return {};
  acl_stamp_ = {counter, args[1]};
  // Clients of users that are gone, or subscribed where they may no longer be, are
  // disconnected, as ACL DELUSER, LOAD and SETUSER do.
  drop_revoked_clients(kInternalClient);
  return {"ok"};
}

}  // namespace apiary::resp
