// PubSub: publish/subscribe for one node's clients, and this node's share of the cluster's.
//
// Locally it is Redis's: channels, patterns (glob) and shard channels, each a set of
// clients; a message is written into each receiving connection's output as a RESP2 array or
// a RESP3 push, in the order PUBLISH ran here.
//
// Across the cluster every node keeps a registry of the other members' interest: for each
// member, how many of its clients subscribe to each channel, pattern and shard channel. A
// node sends its changes to every other live member (Server::cluster_members()->
// tell_member, one way, in order per member), and its whole interest to a member that became
// live (`pubsub.all`). PUBLISH delivers here and sends the message only to the members whose
// interest matches, and answers the cluster's receiver count from the registry at once. A
// SUBSCRIBE that adds a channel (or pattern) new to this node -- or one whose first
// subscriber here still waits -- waits for every live member to confirm it (ask_members)
// before it answers, so that a message published anywhere after the reply reaches the
// subscriber. Every 15 s each node tells the others a summary of its
// interest (entries and a hash); a member whose record differs asks for the whole again, so
// a lost message does not leave the registry wrong for ever. docs/pubsub.md.
//
// Sans-IO and deterministic (ordered containers only); used on the node's event-loop thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/time.hpp"
#include "apiary/resp/command.hpp"

namespace apiary::resp {

class Server;
class Connection;
class ReplyWriter;
using ClientId = std::uint64_t;

enum class SubKind : unsigned char { channel = 0, pattern = 1, shard = 2 };

struct PubSubStats {
  std::uint64_t published = 0;         // PUBLISH/SPUBLISH and keyspace events run here
  std::uint64_t delivered_local = 0;   // messages written to this node's clients
  std::uint64_t sent_to_members = 0;   // messages sent to other members
  std::uint64_t received_from_members = 0;
  std::uint64_t resyncs = 0;  // a member's summary differed from its record here
};

class PubSub {
 public:
  explicit PubSub(Server& server);
  ~PubSub();
  PubSub(const PubSub&) = delete;
  PubSub& operator=(const PubSub&) = delete;

  // (P|S)SUBSCRIBE: one confirmation per name, written into ctx.reply as Redis writes them.
  // Returns Outcome::pending while the other members confirm a new interest (the
  // confirmations are then delivered through Connection::complete).
  Outcome subscribe(CommandContext& ctx, SubKind kind, std::span<const std::string_view> names);
  // (P|S)UNSUBSCRIBE: names, or every subscription of that kind when empty. Pending, like
  // SUBSCRIBE, while the other members confirm that a name left this node.
  Outcome unsubscribe(CommandContext& ctx, SubKind kind, std::span<const std::string_view> names);
  // Every subscription of a client that went away or ran RESET; no replies.
  void drop_client(ClientId id);
  // Subscriptions of a client (channels + patterns + shard channels), or of one kind.
  std::size_t count(ClientId id) const;
  std::size_t count(ClientId id, SubKind kind) const;
  // The names client `id` subscribes to of `kind` (empty when none).
  std::vector<std::string> names(ClientId id, SubKind kind) const;

  // PUBLISH (kind channel) or SPUBLISH (kind shard): delivers to this node's subscribers and
  // to the other members with matching subscribers. Returns the receivers in the whole
  // cluster, as this node's registry knows them.
  std::int64_t publish(SubKind kind, std::string_view channel, std::string_view message);

  // PUBSUB CHANNELS / SHARDCHANNELS (sorted, optionally matching a glob), NUMSUB /
  // SHARDNUMSUB, NUMPAT: for the whole cluster, from the registry.
  std::vector<std::string> channels(SubKind kind, std::optional<std::string_view> pattern) const;
  std::int64_t numsub(SubKind kind, std::string_view channel) const;
  std::int64_t numpat() const;

  // The cluster: what other members tell or ask this node (ops "pubsub.*", args[0] is the
  // sender's name), the live members after a view change (a member new to the set gets
  // this node's whole interest; a member gone loses its record), and the periodic summary.
  std::vector<std::string> on_member_op(std::string_view op, std::span<const std::string> args);
  void on_members(TimePoint now, const std::vector<std::string>& live);
  void on_timer(TimePoint now);
  // Messages from `member` went missing: ask it for its whole interest again.
  void resync(std::string_view member);
  TimePoint next_deadline() const { return next_summary_; }

  const PubSubStats& stats() const { return stats_; }
  // Channels (patterns, shard channels) with a subscriber on this node: INFO's
  // pubsub_channels, pubsub_patterns, pubsubshard_channels.
  std::size_t local_count(SubKind kind) const { return subs_[static_cast<int>(kind)].size(); }

 private:
  // name -> subscribed clients, for one kind.
  using Subscribers = std::map<std::string, std::set<ClientId>, std::less<>>;
  // name -> how many of a member's clients subscribe, for one kind.
  using Counts = std::map<std::string, std::int64_t, std::less<>>;
  struct Interest {
    Counts kinds[3];
  };
  struct ClientSubs {
    std::set<std::string, std::less<>> names[3];
  };

  void deliver_local(SubKind kind, std::string_view channel, std::string_view message);
  // Receivers among one member's interest for a message on `channel`.
  static std::int64_t matching(const Interest& in, SubKind kind, std::string_view channel);
  std::vector<std::string> whole_interest() const;  // "pubsub.all" arguments after the sender
  void take_whole(Interest& into, std::span<const std::string> args);
  static std::uint64_t digest(const Interest& in);
  Interest local_interest() const;
  void send_summary(TimePoint now);
  void confirm(Connection& c, SubKind kind, bool subscribe, std::string_view name,
               ReplyWriter& reply);

  Server& server_;
  Subscribers subs_[3];
  std::map<ClientId, ClientSubs> clients_;
  std::map<std::string, Interest, std::less<>> members_;  // other live members' interest
  std::vector<std::string> live_;                         // other live members, sorted
  // Names whose first SUBSCRIBE here still waits for the members' confirmation (how many
  // asks are out): a second subscriber of such a name waits as well.
  std::map<std::string, int, std::less<>> unconfirmed_[3];
  TimePoint next_summary_ = kNever;
  PubSubStats stats_;
};

// The RESP bytes of a message as a client of `protocol` receives it: ["message", channel,
// payload], ["pmessage", pattern, channel, payload] or ["smessage", channel, payload].
std::string pubsub_message(int protocol, SubKind kind, std::string_view pattern,
                           std::string_view channel, std::string_view message);

}  // namespace apiary::resp
