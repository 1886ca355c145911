// ChangeObserver: the store's change feed, second consumer (Store::set_change_observer),
// turned into what clients see: CLIENT TRACKING invalidations for every change to the node's
// store, whatever caused it, and the `expired` and `evicted` keyspace events. An expiry is
// reported by the key's coordinator only (every replica expires its own copy; one event per
// key for the cluster), an eviction by the node that evicted (each node evicts for its own
// memory). Internal to libnode/core.
#pragma once

#include <string_view>

#include "apiary/resp/keyspace_events.hpp"
#include "apiary/resp/server.hpp"
#include "apiary/store/store.hpp"

namespace apiary::core {

class ChangeObserver final : public store::ChangeListener {
 public:
  explicit ChangeObserver(resp::Server& server) : server_(server) {}

  void key_changed(std::string_view key) override { server_.tracking().key_changed(key); }
  void flushed(HlcTimestamp) override { server_.tracking().flushed(); }
  void key_expired(std::string_view key) override {
    if (events_on(resp::kNotifyExpired) && coordinates(key)) {
      resp::notify_keyspace_event(server_, resp::kNotifyExpired, "expired", key);
    }
  }
  void key_evicted(std::string_view key) override {
    if (events_on(resp::kNotifyEvicted)) {
      resp::notify_keyspace_event(server_, resp::kNotifyEvicted, "evicted", key);
    }
  }

 private:
  bool events_on(std::uint32_t type) const {
    return (server_.config().notify_keyspace_events() & type) != 0;
  }
  // This node coordinates `key` (or there is no cluster layer).
  bool coordinates(std::string_view key) const {
    const resp::ClusterKeyspace* cluster = server_.cluster_members();
    return cluster == nullptr || cluster->key_owners(key).coordinator;
  }
  resp::Server& server_;
};

}  // namespace apiary::core
