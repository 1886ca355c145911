// Swim: the SWIM + Lifeguard membership protocol as a sans-IO state machine.
//
// Input: join(), set_seeds(), meet(), leave(), update_meta(), handle_message() and
// handle_timeout(), each with the current time. Output, drained by the driver after every
// input: poll_send() (destination gossip address and encoded bytes), poll_event() (member
// joined / suspect / alive / dead / left / updated), and next_deadline() (when to call
// handle_timeout next; calling it earlier or more often is harmless).
//
// Events are about other members, plus three about this node itself so that a consumer that
// mirrors the member list sees it too: `joined` on the first join(), `updated` on
// update_meta(), `left` on leave(). Refuting a suspicion raises no event here; peers report
// `alive` (or `joined` if they had declared this node dead).
//
// Deterministic: no clock, no sleeping, no threads, no sockets; randomness only from the
// Rng passed in. The same inputs at the same times produce the same outputs.
// Not thread-safe: one driver thread owns it. (Distinct instances may run on different
// threads: the only state they share is the interned-metadata pool, which locks.)
//
// Limits: names and addresses up to 255 bytes; metadata addresses up to 255 bytes, at most 64
// tags with keys up to 255 and values up to 1024 bytes (this node's own metadata is cut to
// fit). Messages are decoded with those caps and SwimConfig's; anything else is dropped and
// counted in stats().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/rng.hpp"
#include "apiary/base/status.hpp"
#include "apiary/base/time.hpp"
#include "apiary/gossip/member.hpp"
#include "apiary/gossip/swim_config.hpp"

namespace apiary::gossip {

struct Outgoing {
  std::string to;  // gossip host:port
  std::vector<std::uint8_t> bytes;
};

struct SwimStats {
  std::uint64_t messages_sent = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t messages_received = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t malformed_dropped = 0;  // undecodable or invalid payloads
  std::uint64_t foreign_cluster_dropped = 0;
  std::uint64_t unsupported_dropped = 0;  // unknown version or message type
  std::uint64_t probes = 0;
  std::uint64_t indirect_probes = 0;  // probes that needed the ping-req phase
  std::uint64_t refutations = 0;      // times this node bumped its incarnation
  std::uint64_t push_pulls = 0;       // exchanges answered or completed
  std::uint32_t local_health = 0;     // Lifeguard awareness score (0 = healthy)
  std::uint64_t stalls = 0;           // times this node noticed it had been stalled (Lifeguard)
  std::uint64_t suspicions = 0;       // members this node began to suspect (alive -> suspect)
};

struct LocalNode {
  std::string name;
  std::string addr;  // gossip host:port that peers can reach (the advertise address)
  MemberMeta meta;
};

class Swim {
 public:
  Swim(SwimConfig config, LocalNode self, Rng rng, TimePoint now);
  ~Swim();
  Swim(const Swim&) = delete;
  Swim& operator=(const Swim&) = delete;

  // Start contacting seeds (host:port) with a push-pull each; retried with backoff
  // (join_retry_initial doubling up to join_retry_max) until one answers or another member
  // contacts us. An empty list (or one holding only our own address) makes this node the
  // first member of a new cluster.
  // `seeds_pending`: the seeds come later through set_seeds() (a DNS name not resolved yet):
  // an empty list then means "keep trying", not "first member", until something answers.
  void join(TimePoint now, std::vector<std::string> seeds, bool seeds_pending = false);
  // Replaces the seed list (the driver re-resolved a DNS name); our own address is dropped.
  // A seed that was not in the previous list and is not a live member gets a push-pull at
  // once (a join request while joining): that is how two clusters that formed apart find
  // each other when the name starts listing both. Join retries and the per-round re-contact
  // use the new list from then on.
  void set_seeds(TimePoint now, std::vector<std::string> seeds);
  // Like Redis's CLUSTER MEET: a push-pull to `addr` now, repeated with the join backoff
  // until a member at `addr` is live here, and `addr` stays an extra seed (kept across
  // set_seeds) so that re-contact continues if the two sides lose each other later.
  void meet(TimePoint now, std::string addr);
  // The seeds in use: the last list given (without our own address), then the met addresses.
  std::vector<std::string> seeds() const;
  // True from join() with seeds until a seed's member list arrived (or, when no seed
  // answers, until another member contacted this node): until then the member list may hold
  // only nodes that are joining too, not the cluster.
  bool joining() const;
  // Announce a graceful leave (a `left` update at a bumped incarnation). The node stops
  // probing but keeps answering and gossiping: keep driving it until leave_done() (or a
  // timeout the driver chooses) so the announcement goes out. A Swim cannot rejoin after
  // leave(); a restarted node is a new Swim with the same name.
  void leave(TimePoint now);
  bool leave_done() const;

  // Publish new metadata for this node (bumps its incarnation; peers emit `updated`).
  void update_meta(TimePoint now, MemberMeta meta);

  // One datagram from the network. Malformed, foreign-cluster and unknown-version input, and
  // data-layer message types (>= 32), are counted in stats() and dropped; never throws.
  void handle_message(TimePoint now, std::span<const std::uint8_t> bytes);
  void handle_timeout(TimePoint now);

  std::optional<Outgoing> poll_send();
  std::optional<MemberEvent> poll_event();
  TimePoint next_deadline() const;

  // All known members including this node, sorted by name.
  std::vector<Member> members() const;
  std::optional<Member> find(std::string_view name) const;
  std::size_t alive_count() const;   // alive + suspect, including this node (until it leaves)
  std::size_t member_count() const;  // every member known, dead and left ones included
  const LocalNode& self() const;
  Incarnation incarnation() const;
  const SwimStats& stats() const;
  const SwimConfig& config() const;
  // Approximate bytes held by this instance's tables (not counting shared metadata or names
  // and addresses too long for the small-string buffer); for memory reports.
  std::size_t memory_bytes() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace apiary::gossip
