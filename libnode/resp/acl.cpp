#include "apiary/resp/acl.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

#include "apiary/resp/server_config.hpp"
#include "command_docs.hpp"

namespace apiary::resp {

namespace {

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Redis's ACLStringHasSpaces: isspace() or NUL anywhere.
bool has_spaces(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    return c == '\0' || std::isspace(static_cast<unsigned char>(c)) != 0;
  });
}

bool valid_hash(std::string_view h) {
  return h.size() == 64 && std::all_of(h.begin(), h.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// Redis's time_independent_strcmp for two hashes of equal, fixed length.
bool same_hash(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned>(static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]));
  }
  return diff == 0;
}

constexpr std::string_view kErrUnknown = "Unknown command or category name in ACL";
constexpr std::string_view kErrSyntax = "Syntax error";
constexpr std::string_view kErrKeysAfterAll =
    "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not "
    "have any effect. Try 'resetkeys' to start with an empty list of patterns";
constexpr std::string_view kErrChannelsAfterAll =
    "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does "
    "not have any effect. Try 'resetchannels' to start with an empty list of channels";
constexpr std::string_view kErrNoSuchPassword =
    "The password you are trying to remove from the user does not exist";
constexpr std::string_view kErrBadHash =
    "The password hash must be exactly 64 characters and contain only lowercase hexadecimal "
    "characters";
constexpr std::string_view kErrSubcommandFirstArg =
    "Allowing first-arg of a subcommand is not supported";

// Redis's ACLMergeSelectorArguments: "(~a" "+get)" -> "(~a +get)". nullopt, with the index of
// the opening argument, when a parenthesis is not closed.
std::optional<std::vector<std::string>> merge_selectors(std::span<const std::string_view> rules,
                                                        std::size_t& open_at) {
  std::vector<std::string> out;
  std::string selector;
  bool open = false;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const std::string_view op = rules[i];
    if (!open && !op.empty() && op.front() == '(' && op.back() != ')') {
      selector = std::string(op);
      open = true;
      open_at = i;
      continue;
    }
    if (open) {
      selector += ' ';
      selector.append(op);
      if (!op.empty() && op.back() == ')') {
        open = false;
        out.push_back(std::move(selector));
      }
      continue;
    }
    out.emplace_back(op);
  }
  if (open) return std::nullopt;
  return out;
}

}  // namespace

std::uint32_t acl_category(std::string_view name) {
  for (std::size_t i = 0; i < kAclCategories.size(); ++i) {
    if (iequals(name, kAclCategories[i])) return std::uint32_t{1} << i;
  }
  return 0;
}

std::string acl_hash_password(std::string_view password) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(password.data(), password.size(), digest, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xF]);
  }
  return out;
}

// ---- The catalog ---------------------------------------------------------------------

AclCatalog::AclCatalog(std::span<const std::string_view> extra) {
  auto add = [this](std::string_view name, std::uint32_t categories) {
    const std::size_t id = commands_.size();
    AclCommand cmd;
    cmd.name = lowered(name);
    cmd.categories = categories;
    if (const auto bar = cmd.name.find('|'); bar != std::string::npos) {
      if (auto parent = by_name_.find(std::string_view(cmd.name).substr(0, bar));
          parent != by_name_.end()) {
        cmd.parent = static_cast<std::ptrdiff_t>(parent->second);
        commands_[parent->second].subcommands.push_back(id);
      }
    }
    by_name_.emplace(cmd.name, id);
    commands_.push_back(std::move(cmd));
  };
  // Sorted by name, so a container comes before its subcommands.
  for (const CommandDocsEntry& entry : redis_command_docs()) {
    std::uint32_t categories = 0;
    for (std::string_view word : split_spaces(entry.acl)) {
      if (!word.empty() && word.front() == '@') categories |= acl_category(word.substr(1));
    }
    add(entry.name, categories);
  }
  for (std::string_view name : extra) {
    if (!find(name)) add(name, 0);
  }
  for (std::size_t id = 0; id < commands_.size(); ++id) {
    if (commands_[id].parent < 0) top_level_.push_back(id);
  }
  std::sort(top_level_.begin(), top_level_.end(),
            [this](std::size_t a, std::size_t b) { return commands_[a].name < commands_[b].name; });
}

std::optional<std::size_t> AclCatalog::find(std::string_view name) const {
  auto it = by_name_.find(lowered(name));
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

// ---- Selectors ------------------------------------------------------------------------

AclSelector AclUsers::new_selector(bool root) const {
  AclSelector s;
  s.root = root;
  s.bits.assign((catalog_.size() + 63) / 64, 0);
  return s;  // acl-pubsub-default is resetchannels in Redis 7.0
}

AclUser AclUsers::new_user(std::string_view name) const {
  AclUser u;
  u.name = std::string(name);
  u.selectors.push_back(new_selector(true));
  return u;
}

void AclUsers::set_command(AclSelector& selector, std::size_t id, bool allow) const {
  std::uint64_t& word = selector.bits[id / 64];
  const std::uint64_t bit = std::uint64_t{1} << (id % 64);
  if (allow) {
    word |= bit;
  } else {
    word &= ~bit;
    selector.allcommands = false;
  }
}

// Redis's ACLChangeSelectorPerm: a container's subcommands follow it.
void AclUsers::change_perm(AclSelector& selector, std::size_t id, bool allow) const {
  set_command(selector, id, allow);
  selector.firstargs.erase(id);
  for (std::size_t sub : catalog_.at(id).subcommands) set_command(selector, sub, allow);
}

void AclUsers::set_category(AclSelector& selector, std::uint32_t category, bool allow) const {
  for (std::size_t id : catalog_.top_level()) {
    const AclCommand& cmd = catalog_.at(id);
    if ((cmd.categories & category) != 0) change_perm(selector, id, allow);
    for (std::size_t sub : cmd.subcommands) {
      if ((catalog_.at(sub).categories & category) != 0) change_perm(selector, sub, allow);
    }
  }
}

std::optional<std::string> AclUsers::apply(AclSelector& s, std::string_view op) const {
  if (iequals(op, "allkeys") || op == "~*") {
    s.allkeys = true;
    s.keys.clear();
  } else if (iequals(op, "resetkeys")) {
    s.allkeys = false;
    s.keys.clear();
  } else if (iequals(op, "allchannels") || op == "&*") {
    s.allchannels = true;
    s.channels.clear();
  } else if (iequals(op, "resetchannels")) {
    s.allchannels = false;
    s.channels.clear();
  } else if (iequals(op, "allcommands") || iequals(op, "+@all")) {
    std::fill(s.bits.begin(), s.bits.end(), ~std::uint64_t{0});
    s.allcommands = true;
    s.future = true;
    s.firstargs.clear();
  } else if (iequals(op, "nocommands") || iequals(op, "-@all")) {
    std::fill(s.bits.begin(), s.bits.end(), 0);
    s.allcommands = false;
    s.future = false;
    s.firstargs.clear();
  } else if (op.front() == '~' || op.front() == '%') {
    if (s.allkeys) return std::string(kErrKeysAfterAll);
    AclKeyPattern pattern;
    std::size_t offset = 1;
    if (op.front() == '%') {
      pattern.read = pattern.write = false;
      for (; offset < op.size(); ++offset) {
        const char c = static_cast<char>(std::toupper(static_cast<unsigned char>(op[offset])));
        if (c == 'R' && !pattern.read) {
          pattern.read = true;
        } else if (c == 'W' && !pattern.write) {
          pattern.write = true;
        } else if (op[offset] == '~') {
          ++offset;
          break;
        } else {
          return std::string(kErrSyntax);
        }
      }
    }
    const std::string_view text = op.substr(std::min(offset, op.size()));
    if (has_spaces(text)) return std::string(kErrSyntax);
    pattern.pattern = std::string(text);
    auto same = std::find_if(s.keys.begin(), s.keys.end(),
                             [&](const AclKeyPattern& k) { return k.pattern == pattern.pattern; });
    if (same == s.keys.end()) {
      s.keys.push_back(std::move(pattern));
    } else {
      same->read = same->read || pattern.read;
      same->write = same->write || pattern.write;
    }
    s.allkeys = false;
  } else if (op.front() == '&') {
    if (s.allchannels) return std::string(kErrChannelsAfterAll);
    const std::string_view text = op.substr(1);
    if (has_spaces(text)) return std::string(kErrSyntax);
    if (std::find(s.channels.begin(), s.channels.end(), text) == s.channels.end()) {
      s.channels.emplace_back(text);
    }
    s.allchannels = false;
  } else if (op.front() == '+' && (op.size() < 2 || op[1] != '@')) {
    const std::string_view name = op.substr(1);
    const std::size_t bar = name.rfind('|');
    if (bar == std::string_view::npos) {
      const auto id = catalog_.find(name);
      if (!id) return std::string(kErrUnknown);
      change_perm(s, *id, true);
      return std::nullopt;
    }
    const auto id = catalog_.find(name.substr(0, bar));
    if (!id) return std::string(kErrUnknown);
    if (catalog_.at(*id).parent >= 0) return std::string(kErrSubcommandFirstArg);
    const std::string_view sub = name.substr(bar + 1);
    if (sub.empty()) return std::string(kErrSyntax);
    if (!catalog_.at(*id).subcommands.empty()) {
      const auto sub_id = catalog_.find(name);
      if (!sub_id) return std::string(kErrUnknown);
      change_perm(s, *sub_id, true);
    } else {  // "+select|0": that first argument of an otherwise blocked command
      auto& args = s.firstargs[*id];
      if (std::none_of(args.begin(), args.end(),
                       [&](const std::string& a) { return iequals(a, sub); })) {
        args.emplace_back(sub);
      }
    }
  } else if (op.front() == '-' && (op.size() < 2 || op[1] != '@')) {
    const auto id = catalog_.find(op.substr(1));
    if (!id) return std::string(kErrUnknown);
    change_perm(s, *id, false);
  } else if ((op.front() == '+' || op.front() == '-') && op.size() >= 2 && op[1] == '@') {
    const std::uint32_t category = acl_category(op.substr(2));
    if (category == 0) return std::string(kErrUnknown);
    set_category(s, category, op.front() == '+');
  } else {
    return std::string(kErrSyntax);
  }
  return std::nullopt;
}

std::optional<std::string> AclUsers::apply(AclUser& u, std::string_view op) const {
  if (op.empty()) return std::nullopt;
  if (iequals(op, "on")) {
    u.enabled = true;
  } else if (iequals(op, "off")) {
    u.enabled = false;
  } else if (iequals(op, "skip-sanitize-payload")) {
    u.sanitize = AclUser::Sanitize::skip;
  } else if (iequals(op, "sanitize-payload")) {
    u.sanitize = AclUser::Sanitize::sanitize;
  } else if (iequals(op, "nopass")) {
    u.nopass = true;
    u.passwords.clear();
  } else if (iequals(op, "resetpass")) {
    u.nopass = false;
    u.passwords.clear();
  } else if (op.front() == '>' || op.front() == '#') {
    std::string hash;
    if (op.front() == '>') {
      hash = acl_hash_password(op.substr(1));
    } else {
      if (!valid_hash(op.substr(1))) return std::string(kErrBadHash);
      hash = std::string(op.substr(1));
    }
    if (std::find(u.passwords.begin(), u.passwords.end(), hash) == u.passwords.end()) {
      u.passwords.push_back(std::move(hash));
    }
    u.nopass = false;
  } else if (op.front() == '<' || op.front() == '!') {
    std::string hash;
    if (op.front() == '<') {
      hash = acl_hash_password(op.substr(1));
    } else {
      if (!valid_hash(op.substr(1))) return std::string(kErrBadHash);
      hash = std::string(op.substr(1));
    }
    auto it = std::find(u.passwords.begin(), u.passwords.end(), hash);
    if (it == u.passwords.end()) return std::string(kErrNoSuchPassword);
    u.passwords.erase(it);
  } else if (op.front() == '(' && op.back() == ')') {
    AclSelector selector = new_selector(false);
    for (std::string_view inner : split_spaces(op.substr(1, op.size() - 2))) {
      if (auto error = apply(selector, inner)) return error;
    }
    u.selectors.push_back(std::move(selector));
  } else if (iequals(op, "clearselectors")) {
    u.selectors.resize(1);
  } else if (iequals(op, "reset")) {
    for (std::string_view step : {"resetpass", "resetkeys", "resetchannels", "off",
                                  "sanitize-payload", "clearselectors", "-@all"}) {
      (void)apply(u, step);
    }
  } else {
    return apply(u.selectors.front(), op);
  }
  return std::nullopt;
}

// ---- Users ----------------------------------------------------------------------------

AclUsers::AclUsers(const AclCatalog& catalog) : catalog_(catalog) {
  AclUser def = new_user("default");
  for (std::string_view op : {"+@all", "~*", "&*", "on", "nopass"}) (void)apply(def, op);
  users_.emplace("default", std::move(def));
}

Status AclUsers::set_user(std::string_view name, std::span<const std::string_view> rules) {
  if (has_spaces(name)) {
    return make_error(StatusCode::invalid_argument,
                      "Usernames can't contain spaces or null characters");
  }
  std::size_t open_at = 0;
  const auto merged = merge_selectors(rules, open_at);
  if (!merged) {
    return make_error(StatusCode::invalid_argument,
                      "Unmatched parenthesis in acl selector starting at '" +
                          std::string(rules[open_at]) + "'.");
  }
  auto existing = users_.find(name);
  AclUser staged = existing != users_.end() ? existing->second : new_user(name);
  for (const std::string& op : *merged) {
    if (auto error = apply(staged, op)) {
      return make_error(StatusCode::invalid_argument,
                        "Error in ACL SETUSER modifier '" + op + "': " + *error);
    }
  }
  users_.insert_or_assign(std::string(name), std::move(staged));
  ++version_;
  return Status::Ok();
}

bool AclUsers::del_user(std::string_view name) {
  auto it = users_.find(name);
  if (it == users_.end() || name == "default") return false;
  users_.erase(it);
  ++version_;
  return true;
}

const AclUser* AclUsers::find(std::string_view name) const {
  auto it = users_.find(name);
  return it == users_.end() ? nullptr : &it->second;
}

void AclUsers::set_default_password(std::string_view password) {
  AclUser& def = users_.at("default");
  (void)apply(def, "resetpass");
  if (password.empty()) {
    (void)apply(def, "nopass");
  } else {
    def.passwords.push_back(acl_hash_password(password));
  }
  ++version_;
}

bool AclUsers::authenticate(std::string_view name, std::string_view password) const {
  const AclUser* u = find(name);
  if (u == nullptr || !u->enabled) return false;
  if (u->nopass) return true;
  const std::string hash = acl_hash_password(password);
  bool found = false;
  for (const std::string& p : u->passwords) found = same_hash(hash, p) || found;
  return found;
}

// ---- Checks ---------------------------------------------------------------------------

namespace {

AclCheck check_selector(const AclSelector& s, const AclCommand& cmd, std::size_t id,
                        std::span<const std::string_view> argv, std::span<const AclKeyRef> keys,
                        AclChannels channels) {
  if (!s.allcommands && !s.allowed(id)) {
    auto args = s.firstargs.find(id);
    const std::size_t at = cmd.parent >= 0 ? 2 : 1;
    if (args == s.firstargs.end() || argv.size() <= at ||
        std::none_of(args->second.begin(), args->second.end(),
                     [&](const std::string& a) { return iequals(a, argv[at]); })) {
      return {AclVerdict::command, 0};
    }
  }
  if (!s.allkeys) {
    for (const AclKeyRef& key : keys) {
      const bool matched = std::any_of(s.keys.begin(), s.keys.end(), [&](const AclKeyPattern& p) {
        return (!key.read || p.read) && (!key.write || p.write) &&
               glob_match(p.pattern, argv[key.position]);
      });
      if (!matched) return {AclVerdict::key, key.position};
    }
  }
  if (!s.allchannels) {
    for (std::size_t i = channels.first; i < channels.first + channels.count && i < argv.size();
         ++i) {
      const bool matched = std::any_of(s.channels.begin(), s.channels.end(),
                                       [&](const std::string& p) {
                                         return channels.patterns ? p == argv[i]
                                                                  : glob_match(p, argv[i]);
                                       });
      if (!matched) return {AclVerdict::channel, i};
    }
  }
  return {};
}

}  // namespace

AclCheck AclUsers::check(const AclUser& user, std::size_t id,
                         std::span<const std::string_view> argv, std::span<const AclKeyRef> keys,
                         AclChannels channels) const {
  AclCheck relevant{AclVerdict::command, 0};
  for (const AclSelector& s : user.selectors) {
    const AclCheck got = check_selector(s, catalog_.at(id), id, argv, keys, channels);
    if (got.verdict == AclVerdict::ok) return got;
    if (got.verdict > relevant.verdict ||
        (got.verdict == relevant.verdict && got.position > relevant.position)) {
      relevant = got;
    }
  }
  return relevant;
}

// ---- Descriptions ---------------------------------------------------------------------

std::string AclUsers::describe_commands(const AclSelector& selector) const {
  // Redis's ACLDescribeSelectorCommandRules: start from +@all or -@all, add the categories
  // that fit best one at a time (applied to a fake selector, and inverted on a temporary
  // copy so they are not chosen twice), then the single commands still different.
  AclSelector fake = new_selector(false);
  const bool additive = !selector.future;
  std::string rules = additive ? "-@all " : "+@all ";
  (void)apply(fake, additive ? "-@all" : "+@all");
  AclSelector temp = new_selector(false);
  temp.bits = selector.bits;
  std::array<bool, kAclCategories.size()> applied{};
  while (true) {
    std::ptrdiff_t best = -1;
    std::size_t min_diff = static_cast<std::size_t>(-1), max_same = 0;
    for (std::size_t j = 0; j < kAclCategories.size(); ++j) {
      if (applied[j]) continue;
      const std::uint32_t flag = std::uint32_t{1} << j;
      std::size_t on = 0, off = 0;
      for (std::size_t id = 0; id < catalog_.size(); ++id) {
        if ((catalog_.at(id).categories & flag) == 0) continue;
        (temp.allowed(id) ? on : off) += 1;
      }
      const std::size_t diff = additive ? off : on;
      const std::size_t same = additive ? on : off;
      if (same > diff && (diff < min_diff || (diff == min_diff && same > max_same))) {
        best = static_cast<std::ptrdiff_t>(j);
        min_diff = diff;
        max_same = same;
      }
    }
    if (best < 0) break;
    const std::uint32_t flag = std::uint32_t{1} << best;
    set_category(fake, flag, additive);
    set_category(temp, flag, !additive);
    rules += (additive ? "+@" : "-@");
    rules += kAclCategories[static_cast<std::size_t>(best)];
    rules += ' ';
    applied[static_cast<std::size_t>(best)] = true;
  }
  auto singles = [&](auto&& self, const std::vector<std::size_t>& ids) -> void {
    for (std::size_t id : ids) {
      const AclCommand& cmd = catalog_.at(id);
      const bool mine = selector.allowed(id);
      if (mine != fake.allowed(id)) {
        rules += mine ? '+' : '-';
        rules += cmd.name;
        rules += ' ';
        change_perm(fake, id, mine);
      }
      self(self, cmd.subcommands);
      if (auto args = selector.firstargs.find(id); !mine && args != selector.firstargs.end()) {
        for (const std::string& a : args->second) rules += "+" + cmd.name + "|" + a + " ";
      }
    }
  };
  singles(singles, catalog_.top_level());
  rules.pop_back();
  return rules;
}

std::string AclUsers::describe_keys(const AclSelector& s) {
  if (s.allkeys) return "~*";
  std::string out;
  for (const AclKeyPattern& k : s.keys) {
    if (!out.empty()) out += ' ';
    out += k.read && k.write ? "~" : k.read ? "%R~" : "%W~";
    out += k.pattern;
  }
  return out;
}

std::string AclUsers::describe_channels(const AclSelector& s) {
  if (s.allchannels) return "&*";
  std::string out;
  for (const std::string& c : s.channels) {
    if (!out.empty()) out += ' ';
    out += '&' + c;
  }
  return out;
}

std::string AclUsers::describe(const AclUser& u) const {
  std::string out;
  out += u.enabled ? "on " : "off ";
  if (u.nopass) out += "nopass ";
  if (u.sanitize == AclUser::Sanitize::skip) out += "skip-sanitize-payload ";
  if (u.sanitize == AclUser::Sanitize::sanitize) out += "sanitize-payload ";
  for (const std::string& p : u.passwords) out += "#" + p + " ";
  for (const AclSelector& s : u.selectors) {
    std::string d;
    if (s.allkeys) {
      d += "~* ";
    } else {
      for (const AclKeyPattern& k : s.keys) {
        d += k.read && k.write ? "~" : k.read ? "%R~" : "%W~";
        d += k.pattern + " ";
      }
    }
    if (s.allchannels) {
      d += "&* ";
    } else {
      d += "resetchannels ";
      for (const std::string& c : s.channels) d += "&" + c + " ";
    }
    d += describe_commands(s);
    out += s.root ? d : " (" + d + ")";
  }
  return out;
}

std::string AclUsers::to_text() const {
  std::string out;
  for (const auto& [name, u] : users_) out += "user " + name + " " + describe(u) + "\n";
  return out;
}

Status AclUsers::load_text(std::string_view text, std::string_view file) {
  AclUsers fresh(catalog_);
  fresh.users_.clear();
  std::string errors;
  std::size_t line_no = 0;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    while (!line.empty() && std::string_view(" \t\r\n").find(line.front()) != std::string_view::npos) {
      line.remove_prefix(1);
    }
    while (!line.empty() && std::string_view(" \t\r\n").find(line.back()) != std::string_view::npos) {
      line.remove_suffix(1);
    }
    if (line.empty()) continue;
    const std::vector<std::string_view> words = split_spaces(line);
    const std::string where = std::string(file) + ":" + std::to_string(line_no);
    if (words.size() < 2 || words[0] != "user") {
      errors += where + " should start with user keyword followed by the username. ";
      continue;
    }
    if (fresh.users_.count(words[1]) != 0) {
      errors += "WARNING: Duplicate user '" + std::string(words[1]) + "' found on line " +
                std::to_string(line_no) + ". ";
      continue;
    }
    AclUser u = new_user(words[1]);
    std::size_t open_at = 0;
    const auto merged =
        merge_selectors(std::span<const std::string_view>(words).subspan(2), open_at);
    if (!merged) {
      errors += where + ": Unmatched parenthesis in selector definition.";
      continue;
    }
    for (const std::string& op : *merged) {
      if (auto error = apply(u, op)) errors += where + ": " + *error + ". ";
    }
    fresh.users_.emplace(std::string(words[1]), std::move(u));
  }
  if (!errors.empty()) {
    errors += "WARNING: ACL errors detected, no change to the previously active ACL rules was "
              "performed";
    return make_error(StatusCode::invalid_argument, errors);
  }
  if (fresh.users_.count("default") == 0) {
    fresh.users_.emplace("default", AclUsers(catalog_).users_.at("default"));
  }
  users_ = std::move(fresh.users_);
  ++version_;
  return Status::Ok();
}

}  // namespace apiary::resp
