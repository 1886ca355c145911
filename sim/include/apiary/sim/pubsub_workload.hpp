// PubSubWorkload: the data mode's publish/subscribe clients (WorkloadOptions::pubsub) and the
// checker of what they saw (docs/simulator.md, "Pub/sub"; the product: docs/pubsub.md).
//
// Subscribers (RESP2) each hold one connection ("session") on a random running node and keep
// a wanted set of subscriptions -- channels ch0..ch<K-1>, now and then a pattern -- which they
// (P)SUBSCRIBE one name per command; every few seconds one is dropped ((P)UNSUBSCRIBE) or one
// added. Publishers each hold a session too and PUBLISH to a random channel every few
// milliseconds a payload "<publisher client>:<seq>" (seq counts up from 1 per session). A
// session ends when its node crashes or leaves; the client then opens a new one on another
// node (a new connection: a new client index) and subscribes again; now and then a client
// also closes its connection and moves to another node by itself. One command is in flight
// per client; a subscriber's messages arrive as pushes on its connection, in stream order with
// its replies (NodeProcess marks them, ClientReply::push).
//
// Checks (check(); pubsub_checks.cpp), per (subscriber session, subscription, publisher
// session):
//  - order: the sequence numbers received are strictly increasing (no duplicate, no reorder);
//  - no phantom: every message was published, on the channel it names, before it arrived;
//  - only while subscribed: a message for a subscription arrives after its (P)SUBSCRIBE was
//    sent and before the reply of a later (P)UNSUBSCRIBE (in the connection's stream order: an
//    UNSUBSCRIBE runs at once, so nothing for that name may follow its reply; a SUBSCRIBE that
//    waits for the other members may let messages in ahead of its reply);
//  - PUBLISH answers an integer >= 0;
//  - no loss in stable windows: a message published (and answered) after the subscriber's
//    SUBSCRIBE reply, while it stays subscribed for `grace` more, with [sent, sent + grace]
//    inside a stable window and a lossless network, is delivered; elsewhere a missing one is
//    counted as lost near faults;
//  - receiver count: in a stable window, with no (un)subscribe of a matching name within
//    `grace` of the PUBLISH, its reply equals the deliveries the message had.
// Deterministic (its own Rng; ordered containers). Not thread-safe.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "apiary/base/rng.hpp"
#include "apiary/base/time.hpp"
#include "apiary/sim/node_process.hpp"
#include "apiary/sim/report.hpp"
#include "apiary/sim/workload_options.hpp"
#include "apiary/sim/world.hpp"

namespace apiary::sim {

class PubSubWorkload {
 public:
  // Client indexes on the nodes (past every other workload client's) and the wake-up tag bit.
  static constexpr std::uint32_t kClientBase = 1u << 24;
  static constexpr std::uint32_t kWakeBit = 1u << 27;

  struct Window {
    TimePoint from{};
    TimePoint to{};
  };

  PubSubWorkload(const WorkloadOptions& options, Rng rng);

  void start(World& world, TimePoint from, TimePoint stop);
  void on_wake(World& world, std::uint32_t tag);  // tag without kWakeBit
  void on_reply(World& world, const ClientReply& reply);
  void on_status(World& world, std::uint32_t node, NodeStatus status);
  static bool owns(std::uint32_t client) { return client >= kClientBase; }

  // The checks, over the stable windows of the run (Workload::stable_windows).
  void check(const std::vector<Window>& windows, PubSubReport& r) const;

 private:
  // A subscription: kind (0 channel, 1 pattern) and name.
  using Sub = std::pair<int, std::string>;
  static constexpr TimePoint kNever = TimePoint::max();

  struct Session {
    std::uint32_t actor = 0;
    std::uint32_t client = 0;
    std::uint32_t node = 0;
    bool open = true;
    TimePoint closed = kNever;
    std::uint64_t seq = 0;          // publisher: the last sequence number sent
    std::map<Sub, bool> listening;  // SUBSCRIBE sent, no UNSUBSCRIBE reply since
  };
  struct Actor {
    bool publisher = false;
    bool has_session = false;
    std::uint32_t session = 0;
    bool in_flight = false;
    TimePoint wake_at{};     // the wake-up that counts (earlier ones are stale)
    std::set<Sub> wanted;    // subscriber: what it wants to be subscribed to
    std::set<Sub> active;    // ... and what it asked for on its session
    TimePoint next_churn{};  // subscriber: when to change the wanted set
  };
  // One (P)SUBSCRIBE or (P)UNSUBSCRIBE.
  struct SubOp {
    std::uint32_t session = 0;
    bool subscribe = true;
    Sub sub;
    TimePoint sent{};
    TimePoint replied = kNever;
  };
  struct Publish {
    std::uint32_t session = 0;
    std::uint64_t seq = 0;
    std::string channel;
    TimePoint sent{};
    TimePoint replied = kNever;
    bool answered = false;
    bool error = false;
    std::int64_t count = -1;
    bool lossy = false;  // the network lost or duplicated messages when it was sent
  };
  struct Delivery {
    std::uint32_t session = 0;  // the subscriber's
    Sub sub;
    std::string channel;
    std::uint32_t publisher = 0;  // the publisher's session (kUnknown: not a payload of ours)
    std::uint64_t seq = 0;
    TimePoint at{};
  };
  static constexpr std::uint32_t kUnknown = std::numeric_limits<std::uint32_t>::max();
  // A request in flight: a SubOp (index) or a Publish (index).
  struct Pending {
    bool publish = false;
    std::size_t index = 0;
  };

  void act(World& world, std::uint32_t actor);
  bool open_session(World& world, std::uint32_t actor);
  void move(World& world, std::uint32_t actor);  // closes the session, opens one elsewhere
  void subscriber_step(World& world, std::uint32_t actor);
  void publisher_step(World& world, std::uint32_t actor);
  void send(World& world, std::uint32_t session, std::uint64_t request, const std::string& bytes);
  void wake(World& world, std::uint32_t actor, TimePoint at);
  void on_push(World& world, Session& s, const RespReply& reply);
  Sub random_sub();
  std::vector<std::uint32_t> ready_nodes(const World& world) const;
  std::string describe(const Publish& p) const;
  static std::string describe(const Sub& sub);

  WorkloadOptions options_;
  Rng rng_;
  TimePoint from_{};
  TimePoint stop_{};
  std::vector<std::string> channels_;
  std::vector<std::string> patterns_;
  std::vector<Actor> actors_;  // subscribers, then publishers
  std::vector<Session> sessions_;
  std::map<std::uint32_t, std::uint32_t> session_of_client_;
  std::vector<SubOp> sub_ops_;
  std::vector<Publish> publishes_;
  std::map<std::pair<std::uint32_t, std::uint64_t>, std::size_t> publish_index_;  // (session, seq)
  std::vector<Delivery> deliveries_;
  std::map<std::uint64_t, Pending> pending_;  // by request id
  std::uint64_t next_request_ = 1;
  // Counted as they happen (the stream-order checks need the session's state at the time).
  std::uint64_t unsubscribed_deliveries_ = 0;
  std::uint64_t unparsed_pushes_ = 0;
  std::uint64_t pushes_ = 0;  // messages received (the tests' controls count them)
  std::uint64_t sub_errors_ = 0;
  std::vector<std::string> live_samples_;  // a few of the above, spelled out
};

}  // namespace apiary::sim
