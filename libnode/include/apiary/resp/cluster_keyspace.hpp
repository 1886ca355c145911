// ClusterKeyspace: the seam through which the keyspace commands without keys (DBSIZE, KEYS,
// SCAN, RANDOMKEY, FLUSHALL/FLUSHDB, INFO keyspace) answer for a whole cluster instead of
// this node's store. The cluster layer (routing::Router) installs one with
// Server::set_cluster_keyspace(); without one they answer from the attached store, as a
// standalone redis-server does.
//
// The command handlers still parse and check their arguments, so errors are Redis's whatever
// answers them; they then hand the parsed request over. Each call either writes the reply
// into ctx.reply and returns Outcome::done(), or returns Outcome::pending(token) and the
// reply reaches the connection later (Connection::complete).
// Called on the node's event-loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/time.hpp"
#include "apiary/resp/command.hpp"

namespace apiary::resp {

// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type], parsed.
struct ScanRequest {
  std::uint64_t cursor = 0;
  std::size_t count = 10;
  std::optional<std::string> match;  // none: every key
  std::optional<std::string> type;   // TYPE, lower case (an unknown name matches no key)
};

class ClusterKeyspace {
 public:
  virtual ~ClusterKeyspace() = default;
  virtual Outcome dbsize(CommandContext& ctx) = 0;
  virtual Outcome keys(CommandContext& ctx, std::string_view pattern) = 0;
  virtual Outcome scan(CommandContext& ctx, const ScanRequest& request) = 0;
  virtual Outcome randomkey(CommandContext& ctx) = 0;
  // FLUSHALL and FLUSHDB, ASYNC or SYNC alike: the reply leaves once the flush is done.
  virtual Outcome flush(CommandContext& ctx) = 0;
  // INFO for `sections` when they include "keyspace": the text Server::info() renders, with
  // the cluster's keyspace in that section.
  virtual Outcome info(CommandContext& ctx, const std::vector<std::string_view>& sections) = 0;
  // WAIT: how many members besides this one hold every write acknowledged through it (the
  // write quorum W, counting the coordinator, capped at the live owners, minus one).
  virtual std::int64_t acknowledging_replicas() const { return 0; }

  // The scripting layer's messages about the scripts and function libraries every member
  // holds (Server::member_handler answers them): tell_members() sends `op args` to every
  // other live member and does not wait; ask_members() calls `done` once, later or at once,
  // with the answers that came back (members that failed or did not answer in time are left
  // out).
  using MemberAnswers = std::vector<std::vector<std::string>>;
  virtual void tell_members(TimePoint now, std::string op, std::vector<std::string> args) {
    (void)now, (void)op, (void)args;
  }
  virtual void ask_members(TimePoint now, std::string op, std::vector<std::string> args,
                           std::function<void(MemberAnswers)> done) {
    (void)now, (void)op, (void)args;
    done({});
  }

  // The messaging layer (pub/sub, tracking): `op args` to one other member, one way; messages
  // to one member arrive in the order they were told, or not at all.
  virtual void tell_member(std::string_view member, std::string op, std::vector<std::string> args) {
    (void)member, (void)op, (void)args;
  }
  // Delivers the reply of a command that went pending outside the cluster layer's own
  // operations (a SUBSCRIBE waiting for the members' confirmations), by the same path.
  virtual void complete(std::uint64_t client, PendingToken token, std::string reply) {
    (void)client, (void)token, (void)reply;
  }
  // Where `key` lives: whether this node is one of its owners, and its other live owners.
  struct KeyOwners {
    bool self = true;
    bool coordinator = true;  // this node is the first live owner (the key's coordinator)
    std::vector<std::string> others;
  };
  virtual KeyOwners key_owners(std::string_view key) const {
    (void)key;
    return {};
  }
};

}  // namespace apiary::resp
