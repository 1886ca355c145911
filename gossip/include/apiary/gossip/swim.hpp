// Swim: the SWIM + Lifeguard membership protocol as a sans-IO state machine.
//
// Input: join(), leave(), handle_message() and handle_timeout(), each with the current time.
// Output, drained by the driver after every input: poll_send() (destination gossip address
// and encoded bytes), poll_event() (member joined / suspect / alive / dead / left / updated),
// and next_deadline() (when to call handle_timeout next).
//
// Deterministic: no clock, no sleeping, no threads, no sockets; randomness only from the
// Rng passed in. The same inputs at the same times produce the same outputs.
// Not thread-safe: one driver thread owns it.
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
  std::uint64_t malformed_dropped = 0;      // undecodable or invalid payloads
  std::uint64_t foreign_cluster_dropped = 0;
  std::uint64_t unsupported_dropped = 0;    // unknown version or message type
  std::uint64_t probes = 0;
  std::uint64_t indirect_probes = 0;
  std::uint64_t refutations = 0;            // times this node bumped its incarnation
  std::uint64_t push_pulls = 0;
  std::uint32_t local_health = 0;           // Lifeguard awareness score (0 = healthy)
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

  // Start contacting seeds (host:port); retried with backoff until one answers. An empty
  // list makes this node the first member of a new cluster.
  void join(TimePoint now, std::vector<std::string> seeds);
  // Announce a graceful leave. Keep driving the core until leave_done() (or a timeout the
  // driver chooses) so the announcement goes out.
  void leave(TimePoint now);
  bool leave_done() const;

  // Publish new metadata for this node (bumps its incarnation).
  void update_meta(TimePoint now, MemberMeta meta);

  // One datagram from the network. Malformed, foreign-cluster and unknown-version input is
  // counted in stats() and dropped; never throws.
  void handle_message(TimePoint now, std::span<const std::uint8_t> bytes);
  void handle_timeout(TimePoint now);

  std::optional<Outgoing> poll_send();
  std::optional<MemberEvent> poll_event();
  TimePoint next_deadline() const;

  // All known members including this node, sorted by name.
  std::vector<Member> members() const;
  std::optional<Member> find(std::string_view name) const;
  std::size_t alive_count() const;  // alive + suspect, including this node
  const LocalNode& self() const;
  Incarnation incarnation() const;
  const SwimStats& stats() const;
  const SwimConfig& config() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace apiary::gossip
