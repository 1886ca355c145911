// ServerAcl: the Server's side of client authentication and ACLs (docs/security.md) -- the
// users (acl.hpp), the checks behind NOAUTH and NOPERM, the ACL log, the ACL file and the
// users' one state across the cluster. A base of resp::Server (server.hpp), so that
// `server.acl()`, `server.acl_refusal(...)` read as the Server's own; implemented in
// libnode/resp/acl_access.cpp. Not thread-safe: the node's loop thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/status.hpp"
#include "apiary/base/time.hpp"
#include "apiary/resp/acl.hpp"
#include "apiary/resp/command.hpp"

namespace apiary::resp {

class Server;
class Connection;
struct CommandSpec;
using ClientId = std::uint64_t;

class ServerAcl {
 public:
  // ACL users (acl.hpp): who clients authenticate as and what each may run.
  AclUsers& acl() { return *acl_; }
  const AclUsers& acl() const { return *acl_; }
  // Redis's authRequired: the default user has a password (or is off), so a new connection
  // must AUTH before anything but the no-auth commands.
  bool auth_required() const;
  // The NOPERM error (Redis's text) when `client`'s user may not run `spec` with `argv`, and
  // an ACL LOG entry for it (`context`: "toplevel", "multi" or "lua"); empty when allowed.
  std::string acl_refusal(const Connection& client, const CommandSpec& spec,
                          std::span<const std::string_view> argv, std::string_view context,
                          TimePoint now, WallTime wall);
  // The verdict behind acl_refusal (a script's redis.call words its own error).
  AclVerdict acl_verdict(const Connection& client, const CommandSpec& spec,
                         std::span<const std::string_view> argv, std::string_view context,
                         TimePoint now, WallTime wall);
  // acl_refusal for a user by name, without a log entry (a command a member forwarded for
  // its client: the coordinator checks it again). A user this node does not know is refused.
  std::string acl_refusal_of(std::string_view user, const CommandSpec& spec,
                             std::span<const std::string_view> argv);
  // The check behind acl_refusal for any user (ACL DRYRUN).
  AclCheck acl_check(const AclUser& user, const CommandSpec& spec,
                     std::span<const std::string_view> argv);
  struct AclLogEntry {
    std::uint64_t count = 1;
    AclVerdict reason = AclVerdict::command;
    std::string context;  // toplevel, multi, lua
    std::string object;   // the command, key or channel refused; AUTH's command name
    std::string username;
    WallTime time{};  // of the last occurrence
    std::string client_info;
  };
  // ACL LOG, newest first (acllog-max-len entries at most); similar denials within a minute
  // are counted in one entry, as Redis groups them.
  const std::deque<AclLogEntry>& acl_log() const { return acl_log_; }
  // The users are one state for the whole cluster, versioned by a Lamport stamp (a counter,
  // then the member's name): every change here gets a stamp above any seen and goes to every
  // live member, which keeps the newest (acl.set); a member pulls the newest from the others
  // at every view change and when its messages from a member had a gap (acl.get).
  // acl_publish: after ACL SETUSER, DELUSER or LOAD changed the users; `reply` leaves once
  // every live member has confirmed the new state (at once on a single node or in MULTI).
  Outcome acl_publish(CommandContext& ctx, std::string reply);
  // After a change a command did not publish (CONFIG SET requirepass): sent at the end of
  // the command without waiting.
  void acl_changed() { acl_dirty_ = true; }
  // The driver's settings at start (requirepass, the ACL file) are not a change to spread:
  // the running members' users win over a restarted node's.
  void acl_settled() { acl_dirty_ = false; }
  bool acl_dirty() const { return acl_dirty_; }
  void spread_acl(TimePoint now);
  // ACL LOAD / ACL SAVE's file (aclfile), read and written by the driver; unset, they answer
  // that no ACL file is configured.
  struct AclFile {
    std::string path;
    std::function<Result<std::string>()> read;
    std::function<Status(std::string_view)> write;
  };
  void set_acl_file(AclFile file) { acl_file_ = std::move(file); }
  const std::optional<AclFile>& acl_file() const { return acl_file_; }
  void acl_log_add(AclLogEntry entry);
  void acl_log_reset() { acl_log_.clear(); }
  // Where ACL GENPASS gets its random bytes (the driver's CSPRNG); unset: the store's
  // seeded generator (the simulator).
  using Entropy = void (*)(std::span<std::uint8_t>);
  void set_entropy(Entropy entropy) { entropy_ = entropy; }
  void random_bytes(std::span<std::uint8_t> out);

 protected:
  explicit ServerAcl(Server& server);
  ~ServerAcl();
  ServerAcl(const ServerAcl&) = delete;
  ServerAcl& operator=(const ServerAcl&) = delete;
  // The catalog from the server's command table, the default user (the Server's constructor).
  void init_acl();
  // What other members tell or ask (Server::member_op, "acl.*"), and the pull of their state
  // (view changes, message gaps).
  std::vector<std::string> acl_member_op(std::string_view op, std::span<const std::string> args);
  void acl_pull(TimePoint now);

 private:
  struct AclStamp {
    std::uint64_t counter = 0;
    std::string member;
  };
  struct AclKeySpecs;  // each command's parsed key specs, filled on first use
  void acl_bump();
  void drop_revoked_clients(ClientId running);

  Server& server_;
  std::unique_ptr<AclCatalog> acl_catalog_;
  std::unique_ptr<AclUsers> acl_;
  std::deque<AclLogEntry> acl_log_;
  AclStamp acl_stamp_;
  bool acl_dirty_ = false;
  std::optional<AclFile> acl_file_;
  Entropy entropy_ = nullptr;
  std::unique_ptr<AclKeySpecs> acl_key_specs_;
};

}  // namespace apiary::resp
