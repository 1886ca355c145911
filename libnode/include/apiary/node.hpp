// apiary::Node — one running Apiary member with its own event-loop thread, for the apiaryd
// daemon and for services that embed the cache (docs/embedding.md).
//
// Node::start() binds the sockets, starts the loop thread and begins joining through the
// seeds; it returns once the sockets are bound (joining continues in the background). A
// seeded node serves data once a seed's member list arrived (at most 10 s; after that it
// serves with the members it knows, maybe only itself). leave() hands every partition this node holds to the remaining
// owners (at most NodeConfig::handoff_timeout), announces the departure, waits until it has
// gone out (or NodeConfig::leave_timeout passes) and stops the loop; the destructor does the
// same if neither leave() nor stop() was called.
//
// Data calls go through the cluster exactly as a Redis client's commands do: a key this node
// owns is read and written here (a write waits for the write quorum W, a read for the read
// quorum R), a key owned elsewhere is forwarded to a live owner. What they promise:
//  - An ok write was acknowledged by at least W replicas (this node's defaults, or
//    CallOptions). A failed write (timeout, unavailable) may still have been applied on some
//    replicas; retrying it is safe for set/put/del/expire.
//  - get() sees the last-writer-wins value among the versions R replicas hold; with R + W >
//    replicas it sees every write acknowledged before it started.
//  - Every call completes exactly once: with a value, or with an error Status (timeout,
//    unavailable, out_of_memory, too_large, invalid_argument). Calls made after stop() or
//    still pending when the loop stops complete with `unavailable`.
//
// Thread safety: every public method may be called from any thread. The blocking data calls
// (get, set, ...) wait for the cluster; called on the node's own loop thread (that is, from
// inside a callback) they would deadlock, so there they return `invalid_argument` at once —
// use the *_async forms from callbacks. Callbacks (async completions and subscriptions) run
// on the node's loop thread, one at a time, in the order their events happened; they must
// return quickly and must not block (a slow callback delays gossip and every data call of
// this node). A callback may call any method except the blocking data calls, leave() and
// stop(), and may not throw. An async call refused before it reaches the loop (a bad
// argument, or the node has stopped) runs its callback at once on the calling thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/status.hpp"
#include "apiary/gossip/member.hpp"
#include "apiary/gossip/swim.hpp"
#include "apiary/node_config.hpp"
#include "apiary/replication/replication_stats.hpp"

namespace apiary {

// Per-call quorum overrides; 0 keeps the node's configured value. Each must be at most
// NodeConfig::replicas.
struct CallOptions {
  std::uint32_t write_quorum = 0;
  std::uint32_t read_quorum = 0;
};

// SET's options: expiry (Redis PX / KEEPTTL) and condition (NX / XX).
struct SetOptions {
  enum class Condition : unsigned char { always, if_absent, if_present };
  // > 0: the key expires after this long. 0: the key does not expire, unless keep_ttl.
  std::chrono::milliseconds ttl{0};
  bool keep_ttl = false;  // keep the key's current expiry (ignored when ttl > 0)
  Condition condition = Condition::always;
  CallOptions quorum;
};

// A key's remaining time to live as one replica sees it.
struct KeyTtl {
  bool exists = false;
  std::optional<std::chrono::milliseconds> remaining;  // none: no expiry (or no key)
};

// The causal context of a key as get_versions() saw it: which writes the caller has seen.
// Opaque; keep it and pass it back to put(). bytes()/from_bytes() let it travel through
// other systems (binary, about 10-20 bytes per node process that wrote the key).
class CausalContext {
 public:
  CausalContext() = default;  // covers nothing: a put with it supersedes no existing value
  static Result<CausalContext> from_bytes(std::string_view bytes);
  const std::string& bytes() const { return bytes_; }
  bool empty() const { return bytes_.empty(); }
  friend bool operator==(const CausalContext&, const CausalContext&) = default;

 private:
  explicit CausalContext(std::string bytes) : bytes_(std::move(bytes)) {}
  friend class Node;
  std::string bytes_;
};

// One sibling: a value written concurrently with the others (no write saw the others).
struct Version {
  std::string value;
  // The writing node's clock when it coordinated the write (hybrid logical clock, physical
  // part); the order get() uses to pick one sibling (last writer wins).
  std::chrono::system_clock::time_point written_at;
  std::uint64_t writer = 0;  // opaque id of the node process that coordinated the write
};

struct Versions {
  // Empty when the key does not exist. More than one: concurrent writes that nobody has
  // resolved yet, in a deterministic order; the last one is the one get() returns.
  std::vector<Version> siblings;
  CausalContext context;  // pass to put() to supersede exactly these siblings
};

// put()'s options.
struct PutOptions {
  std::chrono::milliseconds ttl{0};  // > 0: the key expires after this long
  CallOptions quorum;
};

// The owners of one partition, in preference order (the first is its primary).
struct PartitionOwners {
  std::uint32_t partition = 0;
  std::vector<std::string> owners;
  friend bool operator==(const PartitionOwners&, const PartitionOwners&) = default;
};

// Published after every change of the partition table (a member joined, left, or was out of
// the ring after its grace period). `gained`/`lost`: partitions this node owns now and did
// not before, and the reverse.
struct PartitionEvent {
  std::uint32_t partition_count = 0;
  std::uint32_t replicas = 0;
  std::vector<PartitionOwners> partitions;
  std::vector<std::uint32_t> gained;
  std::vector<std::uint32_t> lost;
};

struct NodeStats {
  std::size_t keys = 0;         // live keys held here (every replica counts its own)
  std::size_t used_memory = 0;  // bytes of stored data (what maxmemory limits)
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t expired = 0;
  std::uint64_t evicted = 0;
  std::size_t hints = 0;               // writes held for an owner that is down
  std::size_t pending_operations = 0;  // operations waiting for other nodes
  bool handoff_pending = false;
  std::uint64_t calls = 0;           // data calls made through this Node object
  std::uint64_t commands_local = 0;  // commands run here as an owner
  std::uint64_t commands_forwarded = 0;
  std::uint64_t write_quorum_failures = 0;
  // The near cache (NodeConfig::near_cache_keys): get() served from it, get() that had to
  // ask the cluster, keys dropped because they changed (a flush of everything counts once),
  // and the keys it holds now.
  std::uint64_t near_cache_hits = 0;
  std::uint64_t near_cache_misses = 0;
  std::uint64_t near_cache_invalidations = 0;
  std::size_t near_cache_entries = 0;
  replication::ReplicationStats replication;
  gossip::SwimStats gossip;
};

template <typename T>
using Callback = std::function<void(Result<T>)>;
using StatusCallback = std::function<void(Status)>;
using SubscriptionId = std::uint64_t;

class Node {
 public:
  static Result<std::unique_ptr<Node>> start(NodeConfig config);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // ---- Data (blocking forms; see the header comment for their guarantees) ------------------
  // The value, or nullopt when the key does not exist (or expired).
  Result<std::optional<std::string>> get(std::string_view key, CallOptions options = {});
  // True when written; false when the condition (if_absent / if_present) was not met.
  Result<bool> set(std::string_view key, std::string_view value, SetOptions options = {});
  // True when the key existed.
  Result<bool> del(std::string_view key, CallOptions options = {});
  // Sets the key's time to live (> 0); false when the key does not exist.
  Result<bool> expire(std::string_view key, std::chrono::milliseconds ttl,
                      CallOptions options = {});
  Result<KeyTtl> ttl(std::string_view key, CallOptions options = {});
  // Every sibling and the context to write back with (a quorum read as get() does).
  Result<Versions> get_versions(std::string_view key, CallOptions options = {});
  // Writes `value` superseding exactly the siblings `context` covers; siblings written
  // concurrently (not in the context) stay. An empty context supersedes nothing.
  Status put(std::string_view key, std::string_view value, const CausalContext& context,
             PutOptions options = {});

  // ---- Data (asynchronous forms: never block; `done` runs on the loop thread, or at once
  // on the calling thread when the call is refused up front) ----------------------------
  void get_async(std::string_view key, Callback<std::optional<std::string>> done,
                 CallOptions options = {});
  void set_async(std::string_view key, std::string_view value, Callback<bool> done,
                 SetOptions options = {});
  void del_async(std::string_view key, Callback<bool> done, CallOptions options = {});
  void expire_async(std::string_view key, std::chrono::milliseconds ttl, Callback<bool> done,
                    CallOptions options = {});
  void ttl_async(std::string_view key, Callback<KeyTtl> done, CallOptions options = {});
  void get_versions_async(std::string_view key, Callback<Versions> done, CallOptions options = {});
  void put_async(std::string_view key, std::string_view value, const CausalContext& context,
                 StatusCallback done, PutOptions options = {});

  // ---- Events (callbacks on the loop thread; see the header comment) -------------------
  // Every membership change this node sees, this node's own included.
  SubscriptionId on_member(std::function<void(const gossip::MemberEvent&)> callback);
  // Every change of the partition table; the current table is delivered at once (from the
  // loop thread) when the node already has one.
  SubscriptionId on_partitions(std::function<void(const PartitionEvent&)> callback);
  // After unsubscribe() returns, the callback is not called again (unless unsubscribe() was
  // called from inside a callback, where the current call finishes first).
  void unsubscribe(SubscriptionId id);

  // ---- Lifecycle -----------------------------------------------------------------------
  // Graceful leave: hands this member's data off, then peers see it as `left`. Returns when
  // done (ok), or timeout when the handoff or the announcement ran out of time. Idempotent.
  Status leave();
  // Drain before maintenance: the leave above (data handed off, then peers see `left`), but
  // the node keeps running afterwards, a member of nothing, until stop() (or leave(), which
  // then only stops): its admin port answers GET /readyz 503 "drained" and clients still
  // connected are forwarded to the owners. Returns when the leave is done; the result of the
  // leave already running, if any. Idempotent.
  Status drain();
  bool drained() const;  // a drain finished (the node is no longer a member)
  // Abrupt stop without telling anyone (peers will detect a failure). Idempotent.
  void stop();
  // Re-reads NodeConfig::cluster_key_file and installs its keys (key rotation; apiaryd calls
  // it on SIGHUP). A bad file is logged and refused (the error), and the keys in use stay.
  // invalid_argument when the node was not started with a key file. Not from a callback.
  Status reload_cluster_keys();
  // Joins another cluster by hand, like Redis's CLUSTER MEET: this node exchanges member
  // lists with the member at `gossip_addr` ("host:port", its gossip address) now and keeps the
  // address as a seed, so the two clusters become one within seconds and their data merges
  // by the usual version rules. Returns once asked (ok), invalid_argument for a bad address,
  // unavailable after stop().
  Status meet(std::string_view gossip_addr);

  // ---- Read-only views -------------------------------------------------------------------
  const std::string& name() const;
  const std::string& gossip_addr() const;  // advertised host:port
  const std::string& http_addr() const;    // bound host:port, "" when off
  const std::string& client_addr() const;  // bound RESP host:port, "" when off
  const std::string& data_addr() const;    // advertised node-to-node data host:port

  std::vector<gossip::Member> members() const;
  // The current partition table (empty before the node has joined).
  std::vector<PartitionOwners> partitions() const;
  NodeStats stats() const;
  gossip::SwimStats gossip_stats() const;

  // Opaque: defined inside the library (its admin-port renderers take it).
  struct Impl;

 private:
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace apiary
