// Tracking's state, shared by its files (internal to libnode/resp):
//   tracking.cpp          the local side: remembering reads, invalidating, flushes, NOLOOP
//   tracking_cluster.cpp  registrations of keys at their owners and the `tracking.*` ops
//   commands/tracking_commands.cpp  CLIENT TRACKING / CACHING / GETREDIR / TRACKINGINFO
// Every container is ordered: what reaches clients and members never depends on hashing.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "apiary/resp/command.hpp"
#include "apiary/resp/tracking.hpp"

namespace apiary::resp {

// Keys with a value each, evicted oldest-inserted first (Redis evicts tracked keys at random;
// a FIFO is as good a choice and deterministic).
template <class V>
class KeyedFifo {
 public:
  // The value of `key`, added at the back when it is new.
  V& at(std::string_view key) {
    auto it = items_.find(key);
    if (it == items_.end()) {
      it = items_.emplace(std::string(key), std::make_pair(next_, V{})).first;
      order_.emplace(next_++, it->first);
    }
    return it->second.second;
  }
  V* find(std::string_view key) {
    auto it = items_.find(key);
    return it == items_.end() ? nullptr : &it->second.second;
  }
  std::optional<V> take(std::string_view key) {
    auto it = items_.find(key);
    if (it == items_.end()) return std::nullopt;
    std::optional<V> out(std::move(it->second.second));
    order_.erase(it->second.first);
    items_.erase(it);
    return out;
  }
  std::optional<std::pair<std::string, V>> pop_oldest() {
    if (order_.empty()) return std::nullopt;
    auto it = items_.find(order_.begin()->second);
    std::pair<std::string, V> out(it->first, std::move(it->second.second));
    order_.erase(order_.begin());
    items_.erase(it);
    return out;
  }
  std::size_t size() const { return items_.size(); }
  void clear() {
    items_.clear();
    order_.clear();
  }
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [key, entry] : items_) f(key, entry.second);
  }

 private:
  std::map<std::string, std::pair<std::uint64_t, V>, std::less<>> items_;
  std::map<std::uint64_t, std::string> order_;
  std::uint64_t next_ = 0;
};

// One tracking client's state beyond the flags Connection shows (Connection::TrackingFlags).
struct TrackingClient {
  bool optin = false;
  bool optout = false;
  bool noloop = false;
  bool caching = false;                         // CLIENT CACHING given for the next command
  std::set<std::string, std::less<>> prefixes;  // BCAST
  // NOLOOP: keys this client's own writes changed whose change has not reached this node's
  // store yet (a forwarded write); each skips one change of its key. Dropped once the client
  // has no reply outstanding (its writes are then done and their changes merged here).
  std::map<std::string, int, std::less<>> own_writes;
  std::vector<std::string> writing;  // the keys of the command running now
  // Keys the running read-only command reads: remembered once it ran (as Redis does, after
  // the command), so that its own lazy expiry does not invalidate it.
  std::vector<std::string> reading;
  // Commands whose reply is still to come (forwarded, or waiting for their write quorum),
  // oldest first. An invalidation for the client itself waits behind the newest of them, so
  // that it follows the reply of the command that caused it as in Redis. An invalidation of a
  // key one of them reads is sent again after that reply when it goes to a redirect target:
  // the reply may carry the value from before the change.
  struct Pending {
    PendingToken token;
    std::vector<std::string> keys;    // the keys it reads
    std::string after;                // bytes for the client after the reply
    std::vector<std::string> resend;  // invalidation payloads to deliver again after it
  };
  std::deque<Pending> pending;
  // Between before_command and after_command: what the running command's changes send the
  // client itself, written after its reply.
  bool running = false;
  std::string during;
};

struct Tracking::Impl {
  explicit Impl(Server& s) : server(s) {}

  Server& server;
  TrackingStats stats;
  std::map<ClientId, TrackingClient> clients;  // clients with tracking on
  // key -> clients that read it (Redis's TrackingTable; entries of clients that went away or
  // turned tracking off stay until the key changes, as in Redis).
  KeyedFifo<std::set<ClientId>> table;
  std::size_t items = 0;  // sum of the table's set sizes (tracking_total_items)
  std::map<std::string, std::set<ClientId>, std::less<>> prefixes;  // BCAST prefix -> clients
  // The cluster: keys this node registered at other owners (key -> members), and keys other
  // members registered here (key -> members).
  KeyedFifo<std::set<std::string>> registered_at;
  KeyedFifo<std::set<std::string>> registrations;
  // BCAST across the cluster: the other live members, the prefixes of their BCAST clients
  // (member -> prefixes, as each last announced them), and what this node last announced.
  std::vector<std::string> live;
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>> remote_prefixes;
  std::vector<std::string> announced_prefixes;
  // The internal consumer (near cache).
  InternalListener listener;
  KeyedFifo<bool> internal;

  std::size_t max_keys() const;
  // The local side (tracking.cpp).
  void invalidate(std::string_view key);  // one change of `key`, whatever reported it
  void to_reader(ClientId id, std::string_view key);
  // One invalidation with payload `value` for tracking client `id` (to its redirect target
  // when it has one); appended to *self_out instead of pushed when it goes to the client
  // itself and self_out is given.
  void deliver(ClientId id, std::string_view value, std::string* self_out);
  std::string message_for(Connection& to, bool redirected, std::string_view value);
  std::string after_reply(ClientId id, PendingToken token, std::string_view reply);
  bool own_write(TrackingClient& st, std::string_view key);  // NOLOOP: consumes a note
  void remember(ClientId id, const std::vector<std::string>& keys);
  void null_to_everyone();
  void disable(ClientId id);  // CLIENT TRACKING off, RESET, a closed client
  // The cluster side (tracking_cluster.cpp).
  void register_remote(const std::vector<std::string>& keys);
  void tell_registered(std::string_view key);
  void tell_changed(const std::set<std::string>& members, std::string_view key);
  void flush_remote();  // this node's store was flushed
  void drop_remote();   // this node's view changed
  // BCAST: announces this node's prefixes to every live member when they changed; tells the
  // members whose prefixes match a key this node coordinates and they do not own.
  void announce_prefixes();
  void tell_prefix_members(std::string_view key);
};

}  // namespace apiary::resp
