// Tracking: Redis's client-side caching support (CLIENT TRACKING) for one node's clients, and
// this node's share of it across the cluster.
//
// Locally as Redis 7.0 (tracking.c): in the default mode the keys a tracking client reads
// are remembered (key -> clients) and, when one of them changes, every client that read it
// gets one invalidation and is forgotten for that key until it reads it again; BCAST sends
// invalidations for every changed key under the client's prefixes; OPTIN/OPTOUT with CLIENT
// CACHING; NOLOOP; REDIRECT to another client (RESP2: the `__redis__:invalidate` channel);
// `tracking-redir-broken`; a null invalidation (flush everything) on FLUSHALL/FLUSHDB;
// tracking-table-max-keys.
//
// What counts as a change is every change to this node's store, whatever caused it (a write
// run here, a replicated write or merge from another member, anti-entropy, handoff, expiry,
// eviction): NodeCore wires the store's change feed to key_changed(). A key this node does
// not own is registered at its live owners before the read is sent there (one-way
// `tracking.*` member messages, which arrive before the forwarded read), and they tell this
// node when it changes. When the node's view of the cluster changes it may have missed
// changes it would have had to report: every tracking client is told to flush
// (lost_invalidations()). docs/tracking.md.
//
// Sans-IO and deterministic (ordered containers only); used on the node's event-loop thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/time.hpp"

namespace apiary::resp {

class Server;
class Connection;
struct CommandSpec;
using ClientId = std::uint64_t;

struct TrackingStats {
  std::uint64_t invalidations_sent = 0;       // invalidation messages written to clients
  std::uint64_t null_invalidations_sent = 0;  // "flush everything" messages
  std::uint64_t remote_registrations = 0;     // keys registered at other members
  std::uint64_t remote_invalidations = 0;     // invalidations other members sent here
};

class Tracking {
 public:
  explicit Tracking(Server& server);
  ~Tracking();
  Tracking(const Tracking&) = delete;
  Tracking& operator=(const Tracking&) = delete;

  // Connection::execute calls these for every command of a client with tracking on
  // (Connection::tracking()), around the command: before it runs (the keys a read-only
  // command reads are remembered now, and registered at their owners when this node does not
  // own them, so that the registration reaches them before a forwarded read does), and once
  // it ran (CLIENT CACHING applies to the next command only).
  void before_command(Connection& c, const CommandSpec& spec,
                      std::span<const std::string_view> argv);
  void after_command(Connection& c, const CommandSpec& spec);

  // The store's change feed: `key` changed in this node's store.
  void key_changed(std::string_view key);
  // The store was flushed (FLUSHALL, FLUSHDB, an adopted flush horizon): every tracking
  // client gets a null invalidation.
  void flushed();
  // This node may have missed changes it had to report (its view of the cluster changed):
  // every tracking client gets a null invalidation, and the remote registrations are dropped.
  void lost_invalidations();
  // The other live members after a view change (sorted): lost_invalidations(), then the BCAST
  // prefixes of this node's clients go to members new to the set (`tracking.bcast`), and the
  // prefixes of members gone are forgotten.
  void on_members(const std::vector<std::string>& live);
  // A client went away (or ran RESET): its tracking state goes, and clients redirecting to
  // it get `tracking-redir-broken`.
  void client_closed(ClientId id);

  // What other members tell this node (ops "tracking.*", args[0] is the sender's name).
  std::vector<std::string> on_member_op(std::string_view op, std::span<const std::string> args);

  // An internal consumer on this node (the embedding API's near cache, NodeConfig::
  // near_cache_keys): track_internal(key) remembers `key` as read by it -- registered at the
  // key's owners when this node does not own it, as for a client -- and the listener is
  // called once per change of a remembered key with the key (which is then forgotten until
  // tracked again), or with nullopt when everything must be dropped (flushed(),
  // lost_invalidations()).
  using InternalListener = std::function<void(std::optional<std::string_view> key)>;
  void set_internal_listener(InternalListener listener);
  void track_internal(std::string_view key);

  // INFO stats: tracking_total_keys, tracking_total_items, tracking_total_prefixes; INFO
  // clients: tracking_clients.
  std::size_t tracking_clients() const;
  std::size_t total_keys() const;
  std::size_t total_items() const;
  std::size_t total_prefixes() const;
  const TrackingStats& stats() const;

  // The state behind CLIENT TRACKING / CACHING / GETREDIR / TRACKINGINFO
  // (resp/commands/tracking_commands.cpp).
  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace apiary::resp
