// Keyspace (internal to libnode/routing): the cluster's answers to the keyspace commands
// without keys -- DBSIZE, KEYS, SCAN, RANDOMKEY, FLUSHALL/FLUSHDB, INFO keyspace -- through
// any node (resp::ClusterKeyspace), and this node's answers to other members' keyspace
// queries (answer()).
//
// Every key lives on N replicas, so a member counts or lists only the partitions it
// coordinates (their first live owner) in the asking node's view; the asker sends each live
// member exactly its share (a PartitionSet) and adds up, concatenates or picks among the
// answers, so every key is seen once whatever the members' own views say:
//  - DBSIZE, INFO keyspace: the sum of every member's count of its share.
//  - KEYS: every member scans its share to the end, in bounded rounds; the keys are returned
//    in scan order.
//  - SCAN: a cursor is a position in the store's scan order, which is the same on every node
//    (Store::scan_keys). One SCAN asks every member to scan its share from the cursor, COUNT
//    entries each; the next cursor is the smallest position where a member stopped, and keys
//    at or after it are left for the next call. Every key present for the whole iteration is
//    returned exactly once while membership is stable; cursors are plain integers, 0 at the
//    start and at the end, as Redis promises.
//  - RANDOMKEY: a random key from every member, one of them picked with a weight by the
//    size of its share.
//  - FLUSHALL: first every live member's HLC, then a flush at a horizon above all of them
//    (Store::flush_before); the horizon then travels with every version-carrying message, so
//    members that missed the flush drop the flushed versions as soon as they hear from any
//    flushed member (docs/cluster.md, "FLUSHALL").
// A member that does not answer in time (ReplicationConfig::keyspace_timeout) makes the
// command answer CLUSTERDOWN, naming it; so does a partition without a live owner.
//
// Sans-IO and deterministic (its only randomness is an Rng seeded at construction). Not
// thread-safe: one per Router, on the node's event-loop thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apiary/base/rng.hpp"
#include "apiary/base/time.hpp"
#include "apiary/replication/keyspace_query.hpp"
#include "apiary/replication/replicator.hpp"
#include "apiary/resp/cluster_keyspace.hpp"
#include "apiary/resp/server.hpp"
#include "apiary/routing/router.hpp"

namespace apiary::routing {

// This node's answer to a keyspace query, from its store alone (an empty answer without a
// store). Bounded: a scan visits at most the query's count of entries and returns about
// kScanAnswerBytes of keys.
replication::KeyspaceAnswer answer_query(store::Store* store,
                                         const replication::KeyspaceQuery& query, WallTime wall,
                                         Rng& rng);
inline constexpr std::size_t kScanAnswerBytes = 1u << 20;

class Keyspace final : public resp::ClusterKeyspace {
 public:
  // Replies of commands that went pending are appended to `ready`.
  Keyspace(resp::Server& server, replication::Replicator& replicator,
           std::vector<ClientReply>& ready, RouterStats& stats);

  resp::Outcome dbsize(resp::CommandContext& ctx) override;
  resp::Outcome keys(resp::CommandContext& ctx, std::string_view pattern) override;
  resp::Outcome scan(resp::CommandContext& ctx, const resp::ScanRequest& request) override;
  resp::Outcome randomkey(resp::CommandContext& ctx) override;
  resp::Outcome flush(resp::CommandContext& ctx) override;
  resp::Outcome info(resp::CommandContext& ctx,
                     const std::vector<std::string_view>& sections) override;
  std::int64_t acknowledging_replicas() const override;
  void tell_members(TimePoint now, std::string op, std::vector<std::string> args) override;
  void ask_members(TimePoint now, std::string op, std::vector<std::string> args,
                   std::function<void(MemberAnswers)> done) override;
  void tell_member(std::string_view member, std::string op,
                   std::vector<std::string> args) override;
  KeyOwners key_owners(std::string_view key) const override;
  void complete(std::uint64_t client, resp::PendingToken token, std::string reply) override {
    ready_.push_back(ClientReply{client, token, std::move(reply)});
  }

  // Another member's query (the Replicator's KeyspaceHandler).
  replication::KeyspaceAnswer answer(const replication::KeyspaceQuery& query, WallTime wall);
  // A Replicator completion of kind keyspace.
  void on_completion(const replication::Completion& c, TimePoint now, WallTime wall);
  std::size_t pending() const { return requests_.size(); }

 private:
  enum class Kind : unsigned char { dbsize, info, keys, scan, randomkey, flush_clock, flush };
  // One client command waiting for members' answers.
  struct Request {
    Kind kind = Kind::dbsize;
    std::string command;  // as the client spelled it, upper case (for errors)
    resp::ClientId client = 0;
    resp::PendingToken token;
    int protocol = 2;
    std::size_t outstanding = 0;
    std::map<std::string, replication::PartitionSet> shares;  // member -> its partitions
    std::vector<std::string> failures;                        // "member (why)"
    std::size_t unowned = 0;                                  // partitions without a live owner
    // What the answers add up to.
    replication::CountAnswer count;
    std::vector<store::ScannedKey> keys;
    std::vector<std::uint64_t> stops;  // SCAN: where members that are not done stopped
    std::map<std::string, std::string> random_keys;  // member -> its random key
    HlcTimestamp horizon;
    // The arguments.
    resp::ScanRequest scan;
    std::string pattern;
    std::string type;  // SCAN TYPE, lower case; empty: any
    std::vector<std::string> sections;
  };

  // Starts a request: asks the members, answers this node's share at once. Returns the
  // command's outcome: done (with the reply written) if every answer is already in.
  resp::Outcome start(resp::CommandContext& ctx, Request request);
  // Sends one query of request `id` to `member` (or answers it here when it is this node).
  void ask(std::uint64_t id, const std::string& member, replication::KeyspaceQuery query,
           TimePoint now, WallTime wall);
  // Takes one member's answer (or failure) into request `id`. Returns the next query for
  // the same member when it has more to say (KEYS); may start the next phase (FLUSHALL);
  // replies once nothing is outstanding.
  std::optional<replication::KeyspaceQuery> take(std::uint64_t id, const std::string& member,
                                                 const Status& status,
                                                 const replication::KeyspaceAnswer& answer,
                                                 TimePoint now, WallTime wall);
  void finish(std::uint64_t id, TimePoint now);
  // The first query of a request for `member`.
  replication::KeyspaceQuery first_query(const Request& r, const std::string& member) const;
  std::string render(Request& r, TimePoint now);
  // Every live member and the partitions it coordinates in this node's view.
  void assign_shares(Request& r) const;

  resp::Server& server_;
  replication::Replicator& replicator_;
  std::vector<ClientReply>& ready_;
  RouterStats& stats_;
  Rng rng_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, Request> requests_;
  // Completion id -> (request, member asked).
  std::map<std::uint64_t, std::pair<std::uint64_t, std::string>> asks_;
  // ask_members(): completion id -> the collection it answers into.
  struct MemberAsk {
    std::size_t outstanding = 0;
    MemberAnswers answers;
    std::function<void(MemberAnswers)> done;
  };
  std::map<std::uint64_t, std::shared_ptr<MemberAsk>> member_asks_;
  // Set while start() runs: the reply of a request that finished at once goes to the
  // command's own writer instead of `ready_`.
  std::uint64_t starting_ = 0;
  std::optional<std::string> started_reply_;
};

}  // namespace apiary::routing
